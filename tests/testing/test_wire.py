"""The emulator's JSON 1.1 wire layer: error shapes, validation, signing, and fuzzing."""

from __future__ import annotations

import json
from typing import Any

import pytest
from conftest import (
    PASSWORD,
    PREFIX,
    FakeClock,
    Harness,
    Reply,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cognito_mfa.testing.service import SHAPES, SIGNED_OPERATIONS, Emulator, WireResponse


def error_of(response: Reply | WireResponse) -> tuple[int, str, str]:
    data = json.loads(response.body)
    assert set(data) == {"__type", "message"}
    assert response.headers["Content-Type"] == "application/x-amz-json-1.1"
    assert response.headers["x-amzn-ErrorType"] == data["__type"] + ":"
    assert response.headers["x-amzn-ErrorMessage"] == data["message"]
    assert response.headers["x-amzn-RequestId"]
    return response.status, data["__type"], data["message"]


def test_success_headers(h: Harness) -> None:
    response = h.raw("CreateUserPool", {"PoolName": "p"})
    assert response.status == 200
    assert response.headers["Content-Type"] == "application/x-amz-json-1.1"
    assert len(response.headers["x-amzn-RequestId"]) == 36
    assert "x-amzn-ErrorType" not in response.headers
    assert "body" not in repr(response)  # bodies carry tokens and sessions


@pytest.mark.parametrize("body", [b"{", b"[1, 2]", b"\xff\xfe", b'"text"', b"null"])
def test_malformed_json_is_a_serialization_exception(h: Harness, body: bytes) -> None:
    status, code, _ = error_of(h.raw("InitiateAuth", body))
    assert (status, code) == (400, "SerializationException")


@pytest.mark.parametrize(
    "target", [None, "", "InitiateAuth", PREFIX + "NoSuchThing", "Other.InitiateAuth"]
)
def test_unknown_operation(h: Harness, target: str | None) -> None:
    status, code, _ = error_of(h.send(target, b"{}", signed=True))
    assert (status, code) == (400, "UnknownOperationException")


def test_missing_required_members(h: Harness) -> None:
    status, code, message = error_of(h.raw("InitiateAuth", {"AuthFlow": "USER_SRP_AUTH"}))
    assert (status, code) == (400, "InvalidParameterException")
    assert message == (
        "1 validation error detected: Value null at 'clientId' failed to satisfy constraint: "
        "Member must not be null"
    )
    _, _, message = error_of(h.raw("InitiateAuth", {}))
    assert message.startswith("2 validation errors detected: ")
    assert "'authFlow'" in message and "'clientId'" in message


def test_constraints_are_checked_without_echoing_values(h: Harness) -> None:
    response = h.raw("VerifySoftwareToken", {"AccessToken": "a.b.c", "UserCode": "1234567"})
    _status, code, message = error_of(response)
    assert code == "InvalidParameterException"
    assert message == (
        "1 validation error detected: Value at 'userCode' failed to satisfy constraint: "
        "Member must have length less than or equal to 6"
    )
    _, _, message = error_of(
        h.raw("InitiateAuth", {"AuthFlow": "MAGIC", "ClientId": "c", "Session": "short"})
    )
    assert "Member must satisfy enum value set" in message
    assert "Member must have length greater than or equal to 20" in message
    assert "MAGIC" not in message and "short" not in message


def test_wrong_json_types(h: Harness) -> None:
    status, code, _ = error_of(h.raw("InitiateAuth", {"AuthFlow": 1, "ClientId": "c"}))
    assert (status, code) == (400, "SerializationException")
    _, code, message = error_of(h.raw("GetUser", {"AccessToken": {"a": 1}}))
    assert (code, message) == (
        "SerializationException",
        "Start of structure or map found where not expected.",
    )
    status, code, _ = error_of(
        h.raw(
            "InitiateAuth",
            {"AuthFlow": "USER_SRP_AUTH", "ClientId": "c", "AuthParameters": {"USERNAME": 5}},
        )
    )
    assert (status, code) == (400, "SerializationException")


def test_null_members_and_map_values_count_as_absent(h: Harness) -> None:
    pool_id = h.pool()
    client_id, _ = h.client(pool_id)
    h.user(pool_id, "alice")
    response = h.raw(
        "InitiateAuth",
        {
            "AuthFlow": "USER_PASSWORD_AUTH",
            "ClientId": client_id,
            "Session": None,
            "ClientMetadata": None,
            "AuthParameters": {"USERNAME": "alice", "PASSWORD": PASSWORD, "DEVICE_KEY": None},
        },
    )
    assert response.status == 200


@pytest.mark.parametrize("operation", sorted(SIGNED_OPERATIONS))
def test_unsigned_admin_calls_are_refused(h: Harness, operation: str) -> None:
    status, code, message = error_of(h.raw(operation, {}, signed=False))
    assert (status, code, message) == (
        403,
        "MissingAuthenticationTokenException",
        "Request is missing Authentication Token",
    )


def test_user_operations_need_no_signature(h: Harness) -> None:
    status, code, _ = error_of(h.raw("GetUser", {"AccessToken": "a.b.c"}, signed=False))
    assert (status, code) == (400, "NotAuthorizedException")


# --- fuzzing: whatever arrives, the answer is Cognito-shaped, never a 500 ---------------------

_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=12,
)
_values = st.one_of(
    _json,
    st.sampled_from(["USER_SRP_AUTH", "USER_PASSWORD_AUTH", "SMS_MFA", "PASSWORD_VERIFIER"]),
    st.dictionaries(
        st.sampled_from(
            [
                "USERNAME",
                "PASSWORD",
                "SRP_A",
                "SECRET_HASH",
                "REFRESH_TOKEN",
                "SMS_MFA_CODE",
                "PASSWORD_CLAIM_SECRET_BLOCK",
                "TIMESTAMP",
                "PASSWORD_CLAIM_SIGNATURE",
                "ANSWER",
            ]
        ),
        st.none() | st.text(max_size=40),
    ),
)


def _bodies(operation: str) -> st.SearchStrategy[dict[str, Any]]:
    members = sorted(SHAPES[operation])
    return st.dictionaries(st.sampled_from(members), _values, max_size=len(members))


def _check(response: WireResponse) -> None:
    assert response.status in (200, 400, 403)
    data = json.loads(response.body)
    assert isinstance(data, dict)
    if response.status != 200:
        assert set(data) == {"__type", "message"}


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(operation=st.sampled_from(sorted(SHAPES)), data=st.data())
def test_fuzz_structured_bodies(operation: str, data: st.DataObject) -> None:
    emu = Emulator(clock=FakeClock())
    body = data.draw(_bodies(operation))
    _check(emu.handle(PREFIX + operation, json.dumps(body).encode(), signed=True))
    _check(emu.handle(PREFIX + operation, json.dumps(body).encode(), signed=False))


@settings(max_examples=100, deadline=None)
@given(body=st.binary(max_size=200), operation=st.sampled_from(sorted(SHAPES)))
def test_fuzz_raw_bytes(body: bytes, operation: str) -> None:
    _check(Emulator(clock=FakeClock()).handle(PREFIX + operation, body, signed=True))


_seeded: dict[str, Any] = {}


def _seeded_emulator() -> tuple[Emulator, str, str]:
    """One pool with a user, reused by the fuzzer so it reaches past the lookups."""
    if not _seeded:
        h = Harness(Emulator(clock=FakeClock()))
        pool_id = h.pool()
        h.mfa_config(pool_id, "ON", sms=True, totp=True)
        client_id, _ = h.client(pool_id)
        h.user(pool_id, "alice", phone_number="+15555551234")
        _seeded.update(emu=h.emu, pool=pool_id, client=client_id)
    return _seeded["emu"], _seeded["pool"], _seeded["client"]


@settings(max_examples=150, deadline=None)
@given(
    flow=st.sampled_from(["USER_SRP_AUTH", "USER_PASSWORD_AUTH", "REFRESH_TOKEN_AUTH"]),
    challenge=st.sampled_from(["PASSWORD_VERIFIER", "SMS_MFA", "MFA_SETUP", "SELECT_MFA_TYPE"]),
    params=st.dictionaries(
        st.sampled_from(
            [
                "USERNAME",
                "PASSWORD",
                "SRP_A",
                "REFRESH_TOKEN",
                "SMS_MFA_CODE",
                "TIMESTAMP",
                "PASSWORD_CLAIM_SECRET_BLOCK",
                "PASSWORD_CLAIM_SIGNATURE",
                "ANSWER",
                "EMAIL",
            ]
        ),
        st.one_of(st.just("alice"), st.just(PASSWORD), st.text(max_size=60)),
    ),
    use_session=st.booleans(),
)
def test_fuzz_sign_in_parameters(
    flow: str, challenge: str, params: dict[str, str], use_session: bool
) -> None:
    emu, _pool_id, client_id = _seeded_emulator()
    started = emu.handle(
        PREFIX + "InitiateAuth",
        json.dumps({"AuthFlow": flow, "ClientId": client_id, "AuthParameters": params}).encode(),
        signed=False,
    )
    _check(started)
    body: dict[str, Any] = {
        "ClientId": client_id,
        "ChallengeName": challenge,
        "ChallengeResponses": params,
    }
    session = json.loads(started.body).get("Session")
    if use_session and session:
        body["Session"] = session
    _check(emu.handle(PREFIX + "RespondToAuthChallenge", json.dumps(body).encode(), signed=False))
