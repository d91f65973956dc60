"""RevokeToken, GetTokensFromRefreshToken (with rotation), TIMESTAMP against the clock, the
password lockout, and DeviceConfiguration: the emulator's behaviour, over the wire."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from conftest import PASSWORD, FakeClock, Harness, HarnessFor, Reply, secret_hash

from cognito_mfa import _srp as srp
from cognito_mfa.testing import Emulator


def _signed_in(h: Harness, **client: Any) -> tuple[str, str, dict[str, Any]]:
    pool_id = h.pool()
    client_id, _ = h.client(pool_id, **client)
    h.user(pool_id, "alice")
    tokens = h.password_auth(client_id, "alice")["AuthenticationResult"]
    return pool_id, client_id, tokens


def _refresh(h: Harness, client_id: str, token: str) -> dict[str, Any]:
    return h.ok(
        "InitiateAuth",
        AuthFlow="REFRESH_TOKEN_AUTH",
        ClientId=client_id,
        AuthParameters={"REFRESH_TOKEN": token},
    )


# --- RevokeToken ----------------------------------------------------------------------------------


def test_a_revoked_refresh_token_and_its_access_tokens_are_refused(h: Harness) -> None:
    _, client_id, tokens = _signed_in(h)
    other = h.password_auth(client_id, "alice")["AuthenticationResult"]
    refreshed = _refresh(h, client_id, tokens["RefreshToken"])["AuthenticationResult"]
    assert h.ok("RevokeToken", Token=tokens["RefreshToken"], ClientId=client_id) == {}

    failure = h.fail(
        "InitiateAuth",
        AuthFlow="REFRESH_TOKEN_AUTH",
        ClientId=client_id,
        AuthParameters={"REFRESH_TOKEN": tokens["RefreshToken"]},
    )
    assert (failure.code, failure.message) == (
        "NotAuthorizedException",
        "Refresh Token has been revoked",
    )
    for access in (tokens["AccessToken"], refreshed["AccessToken"]):
        failure = h.fail("GetUser", AccessToken=access)
        assert (failure.code, failure.message) == (
            "NotAuthorizedException",
            "Access Token has been revoked",
        )
    # another sign-in of the same user is untouched
    assert h.ok("GetUser", AccessToken=other["AccessToken"])["Username"] == "alice"
    # revoking again, or an unknown token, is not an error
    assert h.ok("RevokeToken", Token=tokens["RefreshToken"], ClientId=client_id) == {}
    assert h.ok("RevokeToken", Token="a.b.c.d.e", ClientId=client_id) == {}


def test_only_refresh_tokens_can_be_revoked(h: Harness) -> None:
    _, client_id, tokens = _signed_in(h)
    failure = h.fail("RevokeToken", Token=tokens["AccessToken"], ClientId=client_id)
    assert failure.code == "UnsupportedTokenTypeException"
    assert h.ok("GetUser", AccessToken=tokens["AccessToken"])["Username"] == "alice"


def test_revoke_token_needs_the_client_secret(h: Harness) -> None:
    pool_id = h.pool()
    client_id, secret = h.client(
        pool_id,
        GenerateSecret=True,
        ExplicitAuthFlows=["ALLOW_ADMIN_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
    )
    assert secret is not None
    h.user(pool_id, "alice")
    tokens = h.ok(
        "AdminInitiateAuth",
        UserPoolId=pool_id,
        ClientId=client_id,
        AuthFlow="ADMIN_USER_PASSWORD_AUTH",
        AuthParameters={
            "USERNAME": "alice",
            "PASSWORD": PASSWORD,
            "SECRET_HASH": secret_hash(secret, "alice", client_id),
        },
    )["AuthenticationResult"]
    missing = h.fail("RevokeToken", Token=tokens["RefreshToken"], ClientId=client_id)
    assert missing.code == "NotAuthorizedException"
    wrong = h.fail(
        "RevokeToken", Token=tokens["RefreshToken"], ClientId=client_id, ClientSecret="x" * 51
    )
    assert wrong.code == "NotAuthorizedException"
    assert secret not in wrong.message
    h.ok("RevokeToken", Token=tokens["RefreshToken"], ClientId=client_id, ClientSecret=secret)
    assert h.fail("GetUser", AccessToken=tokens["AccessToken"]).code == "NotAuthorizedException"


def test_revocation_can_be_turned_off_per_client(h: Harness) -> None:
    _, client_id, tokens = _signed_in(h, EnableTokenRevocation=False)
    failure = h.fail("RevokeToken", Token=tokens["RefreshToken"], ClientId=client_id)
    assert failure.code == "UnsupportedOperationException"
    assert "AuthenticationResult" in _refresh(h, client_id, tokens["RefreshToken"])


def test_global_sign_out_revokes_every_sign_in(h: Harness) -> None:
    _, client_id, tokens = _signed_in(h)
    other = h.password_auth(client_id, "alice")["AuthenticationResult"]
    h.ok("GlobalSignOut", AccessToken=tokens["AccessToken"])
    for access in (tokens["AccessToken"], other["AccessToken"]):
        assert h.fail("GetUser", AccessToken=access).message == "Access Token has been revoked"
    assert h.fail(
        "GetTokensFromRefreshToken", RefreshToken=other["RefreshToken"], ClientId=client_id
    ).message == ("Refresh Token has been revoked")


# --- GetTokensFromRefreshToken ------------------------------------------------------------------


def test_get_tokens_from_refresh_token_without_rotation(h: Harness) -> None:
    _, client_id, tokens = _signed_in(h)
    result = h.ok(
        "GetTokensFromRefreshToken", RefreshToken=tokens["RefreshToken"], ClientId=client_id
    )
    fresh = result["AuthenticationResult"]
    assert set(fresh) == {"AccessToken", "IdToken", "ExpiresIn", "TokenType"}
    assert h.ok("GetUser", AccessToken=fresh["AccessToken"])["Username"] == "alice"
    # the same refresh token keeps working
    again = h.ok(
        "GetTokensFromRefreshToken", RefreshToken=tokens["RefreshToken"], ClientId=client_id
    )
    assert "AccessToken" in again["AuthenticationResult"]
    wrong_client, _ = h.client(h.pool())
    failure = h.fail(
        "GetTokensFromRefreshToken", RefreshToken=tokens["RefreshToken"], ClientId=wrong_client
    )
    assert (failure.code, failure.message) == ("NotAuthorizedException", "Invalid Refresh Token")


def test_rotation_returns_a_new_refresh_token_and_retires_the_old(h: Harness) -> None:
    pool_id, client_id, tokens = _signed_in(h)
    updated = h.ok(
        "UpdateUserPoolClient",
        UserPoolId=pool_id,
        ClientId=client_id,
        ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
        RefreshTokenRotation={"Feature": "ENABLED", "RetryGracePeriodSeconds": 10},
    )["UserPoolClient"]
    assert updated["RefreshTokenRotation"] == {"Feature": "ENABLED", "RetryGracePeriodSeconds": 10}
    described = h.ok("DescribeUserPoolClient", UserPoolId=pool_id, ClientId=client_id)
    assert described["UserPoolClient"]["RefreshTokenRotation"]["Feature"] == "ENABLED"

    old = tokens["RefreshToken"]
    first = h.ok("GetTokensFromRefreshToken", RefreshToken=old, ClientId=client_id)
    new = first["AuthenticationResult"]["RefreshToken"]
    assert new != old
    # within the grace period the old token still works (a client may retry)
    h.emu.advance(9)
    assert (
        "RefreshToken"
        in h.ok("GetTokensFromRefreshToken", RefreshToken=old, ClientId=client_id)[
            "AuthenticationResult"
        ]
    )
    h.emu.advance(1)
    failure = h.fail("GetTokensFromRefreshToken", RefreshToken=old, ClientId=client_id)
    assert failure.code == "RefreshTokenReuseException"
    # the new one carries on, and revoking it ends the whole sign-in
    newer = h.ok("GetTokensFromRefreshToken", RefreshToken=new, ClientId=client_id)
    assert newer["AuthenticationResult"]["RefreshToken"] not in (old, new)
    h.ok("RevokeToken", Token=new, ClientId=client_id)
    assert h.fail("GetUser", AccessToken=tokens["AccessToken"]).code == "NotAuthorizedException"


def test_rotation_without_grace_retires_at_once(h: Harness) -> None:
    _, client_id, tokens = _signed_in(
        h, RefreshTokenRotation={"Feature": "ENABLED", "RetryGracePeriodSeconds": 0}
    )
    h.ok("GetTokensFromRefreshToken", RefreshToken=tokens["RefreshToken"], ClientId=client_id)
    failure = h.fail(
        "GetTokensFromRefreshToken", RefreshToken=tokens["RefreshToken"], ClientId=client_id
    )
    assert failure.code == "RefreshTokenReuseException"


def test_rotation_settings_are_checked(h: Harness) -> None:
    pool_id = h.pool()
    failure = h.fail(
        "CreateUserPoolClient",
        UserPoolId=pool_id,
        ClientName="app",
        RefreshTokenRotation={"Feature": "ENABLED", "RetryGracePeriodSeconds": 61},
    )
    assert failure.code == "InvalidParameterException"
    assert "retryGracePeriodSeconds" in failure.message


def test_update_user_pool_client_resets_what_it_is_not_given(h: Harness) -> None:
    pool_id = h.pool()
    client_id, _ = h.client(pool_id, AccessTokenValidity=5, AuthSessionValidity=10)
    shape = h.ok("UpdateUserPoolClient", UserPoolId=pool_id, ClientId=client_id)["UserPoolClient"]
    assert (shape["AccessTokenValidity"], shape["AuthSessionValidity"]) == (1, 3)
    assert shape["ClientName"] == "app"
    assert "ExplicitAuthFlows" not in shape


# --- TIMESTAMP --------------------------------------------------------------------------------


def _verifier_answer(h: Harness, pool_id: str, client_id: str, moment: float) -> Reply:
    started, a, big_a = h.srp_start(client_id, "alice")
    timestamp = srp.format_timestamp(datetime.fromtimestamp(moment, UTC))
    answers = h.srp_answers(pool_id, started, a, big_a, PASSWORD, timestamp=timestamp)
    return h.raw(
        "RespondToAuthChallenge",
        {
            "ClientId": client_id,
            "ChallengeName": "PASSWORD_VERIFIER",
            "Session": started["Session"],
            "ChallengeResponses": answers,
        },
    )


@pytest.mark.parametrize(("offset", "status"), [(-900, 200), (900, 200), (-901, 400), (901, 400)])
def test_timestamp_is_checked_against_the_clock(h: Harness, offset: int, status: int) -> None:
    pool_id = h.pool()
    client_id, _ = h.client(pool_id)
    h.user(pool_id, "alice")
    answer = _verifier_answer(h, pool_id, client_id, h.emu.now() + offset)
    assert answer.status == status
    if status == 400:
        assert b"Incorrect username or password." in answer.body


def test_timestamp_tolerance_can_be_turned_off(
    svc_clock: FakeClock, harness_for: HarnessFor
) -> None:
    h = harness_for(Emulator(clock=svc_clock, timestamp_tolerance=None))
    pool_id = h.pool()
    client_id, _ = h.client(pool_id)
    h.user(pool_id, "alice")
    assert _verifier_answer(h, pool_id, client_id, h.emu.now() - 86400 * 365).status == 200


def test_a_zero_padded_day_is_refused(svc_clock: FakeClock, harness_for: HarnessFor) -> None:
    svc_clock.now = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC).timestamp()
    h = harness_for(Emulator(clock=svc_clock))
    pool_id = h.pool()
    client_id, _ = h.client(pool_id)
    h.user(pool_id, "alice")
    started, a, big_a = h.srp_start(client_id, "alice")
    padded = "Wed Jan 02 03:04:05 UTC 2030"
    answers = h.srp_answers(pool_id, started, a, big_a, PASSWORD, timestamp=padded)
    failure = h.answer_fail(client_id, started, **answers)
    assert (failure.code, failure.message) == (
        "NotAuthorizedException",
        "Incorrect username or password.",
    )
    started, a, big_a = h.srp_start(client_id, "alice")
    answers = h.srp_answers(
        pool_id, started, a, big_a, PASSWORD, timestamp="Wed Jan 2 03:04:05 UTC 2030"
    )
    assert "AuthenticationResult" in h.answer(client_id, started, **answers)


# --- the password lockout ---------------------------------------------------------------------


def _password(h: Harness, client_id: str, password: str) -> tuple[int, str]:
    response = h.raw(
        "InitiateAuth",
        {
            "AuthFlow": "USER_PASSWORD_AUTH",
            "ClientId": client_id,
            "AuthParameters": {"USERNAME": "alice", "PASSWORD": password},
        },
    )
    return response.status, response.body.decode()


def test_five_wrong_passwords_lock_the_user_out_exponentially(h: Harness) -> None:
    pool_id = h.pool()
    client_id, _ = h.client(pool_id)
    h.user(pool_id, "alice")
    for _ in range(5):
        assert "Incorrect username or password." in _password(h, client_id, "Wrong-pass-1")[1]
    # locked for 1 s after the 5th: even the right password is refused unchecked
    status, body = _password(h, client_id, PASSWORD)
    assert status == 400 and "Password attempts exceeded" in body
    h.emu.advance(1)
    assert "Incorrect username or password." in _password(h, client_id, "Wrong-pass-1")[1]
    # the 6th failure: 2 s
    h.emu.advance(1.5)
    assert "Password attempts exceeded" in _password(h, client_id, PASSWORD)[1]
    h.emu.advance(0.5)
    assert _password(h, client_id, PASSWORD)[0] == 200
    # a success starts the count afresh
    for _ in range(4):
        _password(h, client_id, "Wrong-pass-1")
    assert _password(h, client_id, PASSWORD)[0] == 200


def test_a_wrong_srp_proof_counts_towards_the_lockout(h: Harness) -> None:
    pool_id = h.pool()
    client_id, _ = h.client(pool_id)
    h.user(pool_id, "alice")
    for _ in range(5):
        started, a, big_a = h.srp_start(client_id, "alice")
        answers = h.srp_answers(pool_id, started, a, big_a, "Wrong-pass-1")
        assert h.answer_fail(client_id, started, **answers).message == (
            "Incorrect username or password."
        )
    started, a, big_a = h.srp_start(client_id, "alice")
    answers = h.srp_answers(pool_id, started, a, big_a, PASSWORD)
    assert h.answer_fail(client_id, started, **answers).message == "Password attempts exceeded"


def test_quiet_for_fifteen_minutes_resets_the_count(h: Harness) -> None:
    pool_id = h.pool()
    client_id, _ = h.client(pool_id)
    h.user(pool_id, "alice")
    for _ in range(4):
        _password(h, client_id, "Wrong-pass-1")
    h.emu.advance(15 * 60)
    _password(h, client_id, "Wrong-pass-1")  # the first of a new count
    assert _password(h, client_id, PASSWORD)[0] == 200


def test_the_password_lockout_can_be_turned_off(
    svc_clock: FakeClock, harness_for: HarnessFor
) -> None:
    h = harness_for(Emulator(clock=svc_clock, password_lockout=False))
    pool_id = h.pool()
    client_id, _ = h.client(pool_id)
    h.user(pool_id, "alice")
    for _ in range(12):
        _password(h, client_id, "Wrong-pass-1")
    assert _password(h, client_id, PASSWORD)[0] == 200


# --- DeviceConfiguration --------------------------------------------------------------------


def test_device_configuration_is_stored_and_echoed(h: Harness, harness_for: HarnessFor) -> None:
    devices = {"ChallengeRequiredOnNewDevice": True, "DeviceOnlyRememberedOnUserPrompt": False}
    created = h.ok("CreateUserPool", PoolName="p", DeviceConfiguration=devices)["UserPool"]
    assert created["DeviceConfiguration"] == devices
    described = h.ok("DescribeUserPool", UserPoolId=created["Id"])["UserPool"]
    assert described["DeviceConfiguration"] == devices
    restored = Emulator.from_state(h.emu.to_state())
    assert (
        harness_for(restored).ok("DescribeUserPool", UserPoolId=created["Id"])["UserPool"][
            "DeviceConfiguration"
        ]
        == devices
    )
    plain = h.ok("CreateUserPool", PoolName="q")["UserPool"]
    assert "DeviceConfiguration" not in plain


# --- numbers the model refuses --------------------------------------------------------------


@pytest.mark.parametrize("value", [float("nan"), float("inf"), -1.0])
def test_the_clock_and_fault_delays_take_finite_numbers_only(h: Harness, value: float) -> None:
    before = h.emu.now()
    with pytest.raises(ValueError):
        h.emu.advance(value)
    with pytest.raises(ValueError):
        h.emu.inject_fault("InitiateAuth", delay=value)
    assert h.emu.now() == before
    assert h.pool()  # still answering


def test_spent_and_expired_sessions_are_pruned(h: Harness) -> None:
    pool_id = h.pool()
    h.mfa_config(pool_id, "ON", sms=True)
    client_id, _ = h.client(pool_id)
    h.user(pool_id, "alice", phone_number="+15555550100")
    step = h.password_auth(client_id, "alice")
    h.answer(client_id, step, USERNAME="alice", SMS_MFA_CODE=h.emu.last_code("alice", "SMS"))
    sessions = h.emu._model.sessions
    assert sessions[step["Session"]].code is None  # spent: its code is gone at once
    # kept a while to report its reuse precisely, then dropped
    assert h.answer_fail(client_id, step, USERNAME="alice", SMS_MFA_CODE="123456").message == (
        "Invalid session for the user, session can only be used once."
    )
    h.emu.advance(3 * 60 + 15 * 60 + 1)
    h.password_auth(client_id, "alice")  # a new session sweeps the stale ones
    assert step["Session"] not in sessions
    assert len(sessions) == 1
