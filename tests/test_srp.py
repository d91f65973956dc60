"""cognito_mfa.srp against the official client's vectors, plus the edge cases it must refuse."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cognito_mfa import _srp as srp

# From amazon-cognito-identity-js 6.3.21; the file's "generated_by" says how they were made.
VECTORS: dict[str, Any] = json.loads(
    (Path(__file__).parent / "vectors" / "srp_public.json").read_text()
)
CASES: list[dict[str, Any]] = VECTORS["cases"]


def test_all_twenty_vectors_are_loaded() -> None:
    assert len(CASES) == 20
    assert len({c["id"] for c in CASES}) == 20


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_client_side_matches_official_client(case: dict[str, Any]) -> None:
    pool_name = srp.pool_name_of(case["pool_id"])
    a = int(case["a_hex"], 16)
    big_a = srp.client_public(a)
    assert format(big_a, "x") == case["A_hex"]

    big_b = int(case["B_hex"], 16)
    u = srp.compute_u(big_a, big_b)
    assert format(u, "064x") == case["u_hex"]
    assert srp.pad_hex(u) == case["hkdf_salt_hex"]

    x = srp.compute_x(pool_name, case["username"], case["password"], int(case["salt_hex"], 16))
    assert format(x, "064x") == case["x_hex"]

    premaster = pow((big_b - srp.K * pow(srp.G, x, srp.N)) % srp.N, a + u * x, srp.N)
    assert srp.pad_hex(premaster) == case["S_hex"]

    key = srp.client_key(
        pool_name=pool_name,
        user_id=case["username"],
        password=case["password"],
        a=a,
        big_a=big_a,
        srp_b_hex=case["B_hex"],
        salt_hex=case["salt_hex"],
    )
    assert key.hex() == case["hkdf_key_hex"]
    signature = srp.password_claim_signature(
        key, pool_name, case["username"], case["secret_block_b64"], case["timestamp"]
    )
    assert signature == case["signature_b64"]


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_server_side_agrees(case: dict[str, Any]) -> None:
    pool_name = srp.pool_name_of(case["pool_id"])
    v = int(case["server"]["v_hex"], 16)
    b = int(case["server"]["b_hex"], 16)
    big_b = int(case["B_hex"], 16)
    salt = int(case["salt_hex"], 16)
    assert srp.verifier(pool_name, case["username"], case["password"], salt) == v
    assert srp.server_public(v, b) == big_b
    key = srp.server_key(srp_a_hex=case["A_hex"], v=v, b=b, big_b=big_b)
    assert key.hex() == case["hkdf_key_hex"]
    assert srp.verify_password_claim(
        key,
        pool_name,
        case["username"],
        case["secret_block_b64"],
        case["timestamp"],
        case["signature_b64"],
    )
    assert not srp.verify_password_claim(
        key,
        pool_name,
        case["username"],
        case["secret_block_b64"],
        case["timestamp"],
        "A" + case["signature_b64"][1:],
    )


@pytest.mark.parametrize("fast", [False, True] if srp.FAST else [False])
def test_pure_python_and_gmpy2_paths_agree(fast: bool) -> None:
    case = CASES[0]
    a = int(case["a_hex"], 16)
    big_a = srp.client_public(a, fast=fast)
    assert format(big_a, "x") == case["A_hex"]
    key = srp.client_key(
        pool_name=srp.pool_name_of(case["pool_id"]),
        user_id=case["username"],
        password=case["password"],
        a=a,
        big_a=big_a,
        srp_b_hex=case["B_hex"],
        salt_hex=case["salt_hex"],
        fast=fast,
    )
    assert key.hex() == case["hkdf_key_hex"]


def _key_for(srp_b_hex: str) -> bytes:
    case = CASES[0]
    a = int(case["a_hex"], 16)
    return srp.client_key(
        pool_name="Abc123",
        user_id="alice",
        password="pw",
        a=a,
        big_a=srp.client_public(a),
        srp_b_hex=srp_b_hex,
        salt_hex=case["salt_hex"],
    )


@pytest.mark.parametrize("b_hex", ["0", "00", srp.N_HEX, format(2 * srp.N, "x")])
def test_b_congruent_to_zero_is_refused(b_hex: str) -> None:
    with pytest.raises(srp.SrpError, match="SRP_B is zero"):
        _key_for(b_hex)


@pytest.mark.parametrize("b_hex", ["", "xyz", "-5"])
def test_malformed_b_is_refused(b_hex: str) -> None:
    with pytest.raises(srp.SrpError):
        _key_for(b_hex)


def test_u_zero_is_refused_on_both_sides(monkeypatch: pytest.MonkeyPatch) -> None:
    # u = H(A|B) = 0 needs a SHA-256 preimage; force it to exercise the guard
    monkeypatch.setattr(srp, "compute_u", lambda big_a, big_b: 0)
    with pytest.raises(srp.SrpError, match="u is zero"):
        _key_for(CASES[0]["B_hex"])
    case = CASES[0]
    with pytest.raises(srp.SrpError, match="u is zero"):
        srp.server_key(
            srp_a_hex=case["A_hex"],
            v=int(case["server"]["v_hex"], 16),
            b=int(case["server"]["b_hex"], 16),
            big_b=int(case["B_hex"], 16),
        )


@pytest.mark.parametrize("a_hex", ["0", srp.N_HEX])
def test_server_refuses_a_congruent_to_zero(a_hex: str) -> None:
    with pytest.raises(srp.SrpError, match="SRP_A is zero"):
        srp.server_key(srp_a_hex=a_hex, v=5, b=7, big_b=11)


def test_errors_never_carry_the_value() -> None:
    with pytest.raises(srp.SrpError) as info:
        _key_for("not-hex-secretish")
    assert "secretish" not in str(info.value)


def test_secret_exponent_needs_256_bits_and_is_nonzero() -> None:
    assert srp.SECRET_EXPONENT_BITS >= 256
    with pytest.raises(srp.SrpError):
        srp.secret_exponent(b"\x01" * 31)
    with pytest.raises(srp.SrpError):
        srp.secret_exponent(b"\x00" * 32)
    assert srp.secret_exponent(b"\x00" * 31 + b"\x01") == 1


def test_pool_name() -> None:
    assert srp.pool_name_of("us-east-1_AbCdEf123") == "AbCdEf123"
    for bad in ("nounderscore", "us-east-1_"):
        with pytest.raises(srp.SrpError):
            srp.pool_name_of(bad)


@pytest.mark.parametrize(
    ("value", "expected"),
    [(236, "00ec"), (200, "00c8"), (-236, "ff14"), (-56, "c8"), (1, "01"), (0x7F, "7f")],
)
def test_pad_hex_matches_java_biginteger(value: int, expected: str) -> None:
    assert srp.pad_hex(value) == expected


# --- timestamps ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("moment", "text"),
    [
        (datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC), "Tue Jan 2 03:04:05 UTC 2024"),
        (datetime(2018, 2, 4, 11, 8, 36, tzinfo=UTC), "Sun Feb 4 11:08:36 UTC 2018"),
        (datetime(2029, 5, 11, 20, 10, 0, tzinfo=UTC), "Fri May 11 20:10:00 UTC 2029"),
        (datetime(2030, 1, 1, 0, 0, 0, tzinfo=UTC), "Tue Jan 1 00:00:00 UTC 2030"),
        # another zone is converted to UTC (the date can change)
        (
            datetime(2024, 3, 1, 1, 30, tzinfo=timezone(timedelta(hours=2))),
            "Thu Feb 29 23:30:00 UTC 2024",
        ),
    ],
)
def test_format_timestamp(moment: datetime, text: str) -> None:
    assert srp.format_timestamp(moment) == text
    assert srp.parse_timestamp(text) == moment


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_vector_timestamps_round_trip(case: dict[str, Any]) -> None:
    assert srp.format_timestamp(srp.parse_timestamp(case["timestamp"])) == case["timestamp"]


@pytest.mark.parametrize(
    "text",
    [
        "Wed Apr 05 10:00:00 UTC 2023",  # zero-padded day: Cognito refuses it
        "Thu Apr 5 10:00:00 UTC 2023",  # wrong weekday
        "Fri Feb 30 10:00:00 UTC 2024",  # no such date
        "Wed Apr 5 10:00:00 GMT 2023",
        "Wed Apr 5 1:00:00 UTC 2023",
        "Wed Apr  5 10:00:00 UTC 2023",
        "",
    ],
)
def test_parse_timestamp_is_strict(text: str) -> None:
    with pytest.raises(srp.SrpError):
        srp.parse_timestamp(text)


@given(
    st.datetimes(
        min_value=datetime(1970, 1, 1), max_value=datetime(9999, 12, 31), timezones=st.just(UTC)
    )
)
def test_timestamp_round_trips(moment: datetime) -> None:
    text = srp.format_timestamp(moment)
    assert srp.parse_timestamp(text) == moment.replace(microsecond=0)
    day = text.split(" ")[2]
    assert not day.startswith("0")


@pytest.mark.parametrize(
    "exp",
    [0, 1, 2, 15, 16, 17, 2**255, 2**256 - 1, 2**256, 2**256 + 1, 2**1024 - 3, 0xF0F0 << 200],
)
def test_fixed_base_g_pow_matches_pow(exp: int) -> None:
    assert srp.g_pow(exp, fast=False) == pow(srp.G, exp, srp.N)


@settings(max_examples=50, deadline=None)
@given(st.integers(min_value=0, max_value=2**300))
def test_fixed_base_g_pow_matches_pow_everywhere(exp: int) -> None:
    assert srp.g_pow(exp, fast=False) == pow(srp.G, exp, srp.N)


def test_secret_block_is_decoded_as_leniently_as_the_official_client() -> None:
    # moto sends a UUID as SECRET_BLOCK; Node's Buffer.from(block, "base64") skips the dashes
    uuid_block = "0097425b-00a9-424d-8b55-13ea71dd1cf0"
    key = bytes(16)
    lenient = srp.password_claim_signature(
        key, "Abc", "u", uuid_block, "Tue Jan 2 03:04:05 UTC 2024"
    )
    plain = srp.password_claim_signature(
        key, "Abc", "u", uuid_block.replace("-", ""), "Tue Jan 2 03:04:05 UTC 2024"
    )
    assert lenient == plain
    with pytest.raises(srp.SrpError, match="SECRET_BLOCK is not base64"):
        srp.password_claim_signature(key, "Abc", "u", "abc", "Tue Jan 2 03:04:05 UTC 2024")
