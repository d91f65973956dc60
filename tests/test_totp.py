"""SoftwareTokenSecret: the otpauth Key URI, TOTP codes, QR rendering, secrecy."""

from __future__ import annotations

import base64
import io
import sys
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

import pyotp
import pytest
from cryptography.hazmat.primitives.hashes import SHA1
from cryptography.hazmat.primitives.twofactor.totp import TOTP
from hypothesis import given
from hypothesis import strategies as st
from pydantic import SecretStr, ValidationError

import cognito_mfa as cm
from cognito_mfa.errors import InvalidInput, UsageError
from cognito_mfa.totp import QrSupportMissing, SoftwareTokenSecret

# RFC 6238 appendix B: the SHA-1 key is the ASCII "12345678901234567890"
RFC6238_SECRET = base64.b32encode(b"12345678901234567890").decode().rstrip("=")
# a secret of Cognito's usual size: 32 bytes -> 52 base32 characters
SECRET = base64.b32encode(bytes(range(32))).decode().rstrip("=")


@pytest.fixture
def secret() -> SoftwareTokenSecret:
    return SoftwareTokenSecret(secret_code=SecretStr(SECRET))


# --- secrecy ------------------------------------------------------------------------------


def test_secret_never_in_repr_or_str(secret: SoftwareTokenSecret) -> None:
    for text in (repr(secret), str(secret), secret.model_dump_json(), f"{secret}"):
        assert SECRET not in text
    assert secret.secret_code.get_secret_value() == SECRET


def test_an_empty_secret_is_refused() -> None:
    with pytest.raises(ValidationError):
        SoftwareTokenSecret(secret_code=SecretStr(""))


@pytest.mark.parametrize(
    "value", ["ABCDEFGHIJKLMNO1", "ABCDEFGHIJKLMNO0", "ABCDEFGH IJKLMNOP", "not base32!"]
)
def test_any_secret_is_kept_but_only_base32_makes_codes_and_uris(value: str) -> None:
    # the service's secret is taken as it comes; an authenticator could not use this one
    secret = SoftwareTokenSecret(secret_code=SecretStr(value))
    assert not secret.is_base32
    for use in (
        lambda: secret.code_at(0),
        lambda: secret.provisioning_uri("alice"),
        lambda: secret.qr_svg("alice"),
    ):
        with pytest.raises(cm.ProtocolError) as info:
            use()
        assert value not in str(info.value)


@pytest.mark.parametrize("value", ["asdfasdfasdf", "ABCDEFGHIJKLMNO", "JBSWY3DPEHPK3PXP===="])
def test_short_and_padded_base32_secrets_make_codes_and_uris(value: str) -> None:
    # moto's server mode sends the 12-character "asdfasdfasdf"
    secret = SoftwareTokenSecret(secret_code=SecretStr(value))
    assert secret.is_base32
    assert len(secret.code_at(0)) == 6
    assert "secret=" + value.upper().rstrip("=") in secret.provisioning_uri("alice", "App")


def test_moto_secret_codes_match_moto() -> None:
    # moto computes its codes with cryptography's TOTP over the padded base32 secret
    key = base64.b32decode("asdfasdfasdf" + "====", casefold=True)
    reference = TOTP(key, 6, SHA1(), 30, enforce_key_length=False)
    secret = SoftwareTokenSecret(secret_code=SecretStr("asdfasdfasdf"))
    for when in (0, 59, 1_800_000_000):
        assert secret.code_at(when) == reference.generate(when).decode()


def test_shortest_secret_cognito_allows_is_usable() -> None:
    # 16 characters = 80 bits: below pyotp's default floor, but Cognito's model allows it
    short = SoftwareTokenSecret(secret_code=SecretStr("JBSWY3DPEHPK3PXP"))
    assert len(short.code_at(0)) == 6
    assert short.totp().verify(short.code_at(1_000_000), for_time=1_000_000)


def test_frozen(secret: SoftwareTokenSecret) -> None:
    with pytest.raises(ValidationError):
        secret.secret_code = SecretStr(SECRET)  # type: ignore[misc]


# --- codes --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("when", "code"),
    [(59, "287082"), (1111111109, "081804"), (1234567890, "005924"), (2000000000, "279037")],
)
def test_code_at_matches_rfc6238_vectors(when: int, code: str) -> None:
    secret = SoftwareTokenSecret(secret_code=SecretStr(RFC6238_SECRET))
    assert secret.code_at(when) == code
    assert secret.code_at(datetime.fromtimestamp(when, tz=UTC)) == code


def test_lower_case_secret_gives_the_same_codes() -> None:
    upper = SoftwareTokenSecret(secret_code=SecretStr(RFC6238_SECRET))
    lower = SoftwareTokenSecret(secret_code=SecretStr(RFC6238_SECRET.lower()))
    assert lower.code_at(59) == upper.code_at(59)
    assert f"secret={RFC6238_SECRET}" in lower.provisioning_uri("a")


def test_totp_uses_cognito_parameters(secret: SoftwareTokenSecret) -> None:
    totp = secret.totp()
    assert isinstance(totp, pyotp.TOTP)
    assert (totp.digits, totp.interval, totp.digest().name) == (6, 30, "sha1")


def test_now_code_is_the_current_step(secret: SoftwareTokenSecret) -> None:
    # valid_window=1 only absorbs a step boundary crossed between the two clock reads
    assert secret.totp().verify(secret.now_code(), valid_window=1)


# --- the Key URI --------------------------------------------------------------------------

LABELS = [
    ("alice smith", "Example Co"),  # spaces
    ("alice@example.com", "Example"),  # '@'
    ("team:alice", "Acme:Prod"),  # ':' inside both parts
    ("Jürgen Müller", "Bücher & Söhne"),  # non-ASCII, '&'
    ("山田太郎", "例え"),  # non-Latin
    ("a+b%c#d?e/f", "x=y&z"),  # URI delimiters
]


@pytest.mark.parametrize(("account", "issuer"), LABELS)
def test_uri_round_trips_through_pyotp_parser(
    secret: SoftwareTokenSecret, account: str, issuer: str
) -> None:
    uri = secret.provisioning_uri(account_name=account, issuer=issuer)
    parsed = pyotp.parse_uri(uri)
    assert isinstance(parsed, pyotp.TOTP)
    assert (parsed.name, parsed.issuer, parsed.secret) == (account, issuer, SECRET)
    assert parsed.at(1_700_000_000) == secret.code_at(1_700_000_000)


@pytest.mark.parametrize(("account", "issuer"), LABELS)
def test_uri_shape_follows_key_uri_format(
    secret: SoftwareTokenSecret, account: str, issuer: str
) -> None:
    uri = secret.provisioning_uri(account_name=account, issuer=issuer)
    parts = urlsplit(uri)
    assert (parts.scheme, parts.netloc) == ("otpauth", "totp")
    label = parts.path[1:]
    assert uri.isascii() and " " not in uri
    # exactly one literal ':' separates issuer and account; colons inside them are %3A
    assert label.count(":") == 1
    assert "@" not in label
    query = parse_qs(parts.query, strict_parsing=True)
    assert query == {"secret": [SECRET], "issuer": [issuer]}
    # Cognito's parameters are the defaults: nothing else is sent
    assert not {"algorithm", "digits", "period"} & set(query)


def test_uri_without_issuer(secret: SoftwareTokenSecret) -> None:
    uri = secret.provisioning_uri("bob smith@example.com")
    assert uri == f"otpauth://totp/bob%20smith%40example.com?secret={SECRET}"
    parsed = pyotp.parse_uri(uri)
    assert (parsed.name, parsed.issuer) == ("bob smith@example.com", None)


def test_uri_exact_text_for_the_seed_example(secret: SoftwareTokenSecret) -> None:
    uri = secret.provisioning_uri(account_name="alice@example.com", issuer="Your App")
    assert uri == (
        f"otpauth://totp/Your%20App:alice%40example.com?secret={SECRET}&issuer=Your%20App"
    )


@given(
    account=st.text(st.characters(exclude_categories=["Cs"]), min_size=1).filter(str.strip),
    issuer=st.text(st.characters(exclude_categories=["Cs"]), min_size=1).filter(str.strip),
)
def test_any_label_round_trips(account: str, issuer: str) -> None:
    secret = SoftwareTokenSecret(secret_code=SecretStr(SECRET))
    parsed = pyotp.parse_uri(secret.provisioning_uri(account, issuer))
    assert (parsed.name, parsed.issuer) == (account, issuer)


@pytest.mark.parametrize(("account", "issuer"), [("", None), ("   ", None), ("a", ""), ("a", " ")])
def test_empty_names_are_refused(
    secret: SoftwareTokenSecret, account: str, issuer: str | None
) -> None:
    with pytest.raises(InvalidInput):
        secret.provisioning_uri(account, issuer)


# --- QR -----------------------------------------------------------------------------------


def test_qr_terminal_is_compact_text(secret: SoftwareTokenSecret) -> None:
    text = secret.qr_terminal("alice@example.com", "Example")
    lines = text.rstrip("\n").split("\n")
    assert len({len(line) for line in lines}) == 1  # a rectangle
    assert set(text) <= {"█", "▀", "▄", " ", "\n"}  # half blocks: two modules per line
    assert len(lines) < len(lines[0])  # compact: about half as many lines as columns
    assert "\x1b" not in text


def test_qr_svg(secret: SoftwareTokenSecret) -> None:
    svg = secret.qr_svg("alice@example.com", "Example", scale=2)
    assert svg.startswith("<svg") and svg.rstrip().endswith("</svg>")
    assert SECRET not in svg  # the secret is in the modules, not in any text


def test_qr_png(secret: SoftwareTokenSecret) -> None:
    png = secret.qr_png("alice@example.com", "Example", scale=3)
    assert png.startswith(b"\x89PNG\r\n\x1a\n")


def test_qr_encodes_the_provisioning_uri(secret: SoftwareTokenSecret) -> None:
    import segno

    expected = segno.make_qr(secret.provisioning_uri("a b", "I"), error="m")
    # same symbol: the terminal rendering of the expected code matches ours
    out = io.StringIO()
    expected.terminal(out=out, compact=True, border=2)
    assert secret.qr_terminal("a b", "I") == out.getvalue()


def test_qr_without_segno_is_a_typed_error(
    secret: SoftwareTokenSecret, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "segno", None)  # what an absent package looks like
    for render in (secret.qr_terminal, secret.qr_svg, secret.qr_png):
        with pytest.raises(QrSupportMissing, match=r"cognito-mfa\[qr\]") as info:
            render("alice")
        assert isinstance(info.value, UsageError) and isinstance(info.value, ImportError)
    # the URI itself needs no extra
    assert secret.provisioning_uri("alice").startswith("otpauth://")


def test_qr_checks_names_first(secret: SoftwareTokenSecret) -> None:
    with pytest.raises(InvalidInput):
        secret.qr_svg("")
