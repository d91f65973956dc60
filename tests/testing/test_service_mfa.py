"""The emulator's second factor: which challenge when, codes, TOTP, MFA_SETUP, sessions."""

from __future__ import annotations

import json
from typing import Any

import pyotp
import pytest
from conftest import (
    Failure,
    FakeClock,
    Harness,
    HarnessFor,
)

from cognito_mfa.testing.service import Emulator

PHONE = "+15555551234"


def signed_in(h: Harness, pool_id: str, client_id: str, username: str) -> str:
    """An access token for a user in a pool whose MFA is still OFF."""
    token: str = h.password_auth(client_id, username)["AuthenticationResult"]["AccessToken"]
    return token


def pool_with(h: Harness, mfa: str, **factors: bool) -> tuple[str, str]:
    pool_id = h.pool()
    client_id, _ = h.client(pool_id)
    if mfa != "OFF" or factors:
        h.mfa_config(pool_id, mfa, **factors)
    return pool_id, client_id


# --- which challenge when (§3.7) -------------------------------------------------------------


def test_off_pool_gives_tokens_even_with_factors(h: Harness) -> None:
    pool_id, client_id = pool_with(h, "OPTIONAL", totp=True)
    h.user(pool_id, "alice")
    h.enrol_totp(pool_id, signed_in(h, pool_id, client_id, "alice"), "alice")
    h.mfa_config(pool_id, "OFF", totp=True)
    assert "AuthenticationResult" in h.password_auth(client_id, "alice")


def test_optional_pool_without_factors_gives_tokens(h: Harness) -> None:
    pool_id, client_id = pool_with(h, "OPTIONAL", sms=True, totp=True)
    h.user(pool_id, "alice", phone_number=PHONE)
    assert "AuthenticationResult" in h.srp_sign_in(pool_id, client_id, "alice")


def test_the_only_enabled_factor_is_asked(h: Harness) -> None:
    pool_id, client_id = pool_with(h, "OPTIONAL", sms=True, totp=True)
    h.user(pool_id, "alice", phone_number=PHONE)
    token = signed_in(h, pool_id, client_id, "alice")
    h.ok("SetUserMFAPreference", AccessToken=token, SMSMfaSettings={"Enabled": True})
    step = h.srp_sign_in(pool_id, client_id, "alice")
    assert step["ChallengeName"] == "SMS_MFA"
    assert step["ChallengeParameters"]["CODE_DELIVERY_DELIVERY_MEDIUM"] == "SMS"
    assert step["ChallengeParameters"]["CODE_DELIVERY_DESTINATION"] == "+*******1234"


def test_several_factors_without_preference_select_mfa_type(h: Harness) -> None:
    pool_id, client_id = pool_with(h, "OPTIONAL", sms=True, totp=True)
    h.user(pool_id, "alice", phone_number=PHONE)
    token = signed_in(h, pool_id, client_id, "alice")
    h.enrol_totp(pool_id, token, "alice")
    h.ok("SetUserMFAPreference", AccessToken=token, SMSMfaSettings={"Enabled": True})
    step = h.srp_sign_in(pool_id, client_id, "alice")
    assert step["ChallengeName"] == "SELECT_MFA_TYPE"
    raw = step["ChallengeParameters"]["MFAS_CAN_CHOOSE"]
    assert json.loads(raw) == ["SMS_MFA", "SOFTWARE_TOKEN_MFA"]  # a JSON string, not a repr
    bad = h.answer_fail(client_id, step, USERNAME="alice", ANSWER="EMAIL_OTP")
    assert bad.code == "InvalidParameterException"
    chosen = h.answer(client_id, step, USERNAME="alice", ANSWER="SOFTWARE_TOKEN_MFA")
    assert chosen["ChallengeName"] == "SOFTWARE_TOKEN_MFA"
    assert chosen["Session"] != step["Session"]
    code = h.emu.totp_code(pool_id, "alice")
    # amazon-cognito-identity-js sends SMS_MFA_CODE alongside: extra keys are ignored
    done = h.answer(
        client_id, chosen, USERNAME="alice", SOFTWARE_TOKEN_MFA_CODE=code, SMS_MFA_CODE=code
    )
    assert "AuthenticationResult" in done


def test_the_preferred_factor_wins(h: Harness) -> None:
    pool_id, client_id = pool_with(h, "OPTIONAL", sms=True, totp=True)
    h.user(pool_id, "alice", phone_number=PHONE)
    token = signed_in(h, pool_id, client_id, "alice")
    h.enrol_totp(pool_id, token, "alice")
    h.ok(
        "SetUserMFAPreference",
        AccessToken=token,
        SMSMfaSettings={"Enabled": True, "PreferredMfa": True},
    )
    assert h.srp_sign_in(pool_id, client_id, "alice")["ChallengeName"] == "SMS_MFA"
    h.ok(
        "SetUserMFAPreference",
        AccessToken=token,
        SoftwareTokenMfaSettings={"Enabled": True, "PreferredMfa": True},
    )
    assert h.srp_sign_in(pool_id, client_id, "alice")["ChallengeName"] == "SOFTWARE_TOKEN_MFA"


def test_on_pool_uses_sms_for_a_user_with_a_phone_and_no_preference(h: Harness) -> None:
    pool_id, client_id = pool_with(h, "ON", sms=True, totp=True)
    h.user(pool_id, "alice", phone_number=PHONE)
    step = h.srp_sign_in(pool_id, client_id, "alice")
    assert step["ChallengeName"] == "SMS_MFA"
    # implicit SMS is not listed as a user setting (amplify-js #11258)
    user = h.ok("AdminGetUser", UserPoolId=pool_id, Username="alice")
    assert "UserMFASettingList" not in user


def test_on_pool_asks_a_user_without_factors_to_set_up(h: Harness) -> None:
    pool_id, client_id = pool_with(h, "ON", sms=True, totp=True, email=True)
    h.user(pool_id, "alice")
    step = h.srp_sign_in(pool_id, client_id, "alice")
    assert step["ChallengeName"] == "MFA_SETUP"
    assert json.loads(step["ChallengeParameters"]["MFAS_CAN_SETUP"]) == [
        "SOFTWARE_TOKEN_MFA",
        "EMAIL_OTP",
    ]


# --- codes ---------------------------------------------------------------------------------------


def test_sms_codes_are_random_recorded_and_checked(h: Harness) -> None:
    pool_id, client_id = pool_with(h, "ON", sms=True)
    h.user(pool_id, "alice", phone_number=PHONE)
    first = h.password_auth(client_id, "alice")
    second = h.password_auth(client_id, "alice")
    codes = [m.code for m in h.emu.messages]
    assert len(codes) == 2 and codes[0] != codes[1]
    assert all(len(c) == 6 and c.isdigit() for c in codes)
    message = h.emu.messages[-1]
    assert message.to_json()["destination"] == PHONE and message.medium == "SMS"
    assert {"username", "medium", "destination", "code"} <= set(message.to_json())
    assert message.code not in repr(message)
    wrong = h.answer_fail(client_id, second, USERNAME="alice", SMS_MFA_CODE=codes[0])
    assert (wrong.code, wrong.message) == (
        "CodeMismatchException",
        "Invalid code or auth state for the user.",
    )
    # the session survives a wrong code
    done = h.answer(client_id, second, USERNAME="alice", SMS_MFA_CODE=h.emu.last_code("alice"))
    assert "AuthenticationResult" in done
    # codes belong to their own session
    stale = h.answer_fail(client_id, first, USERNAME="alice", SMS_MFA_CODE=codes[1])
    assert stale.code == "CodeMismatchException"


def test_five_wrong_codes_kill_the_session(h: Harness) -> None:
    pool_id, client_id = pool_with(h, "ON", sms=True)
    h.user(pool_id, "alice", phone_number=PHONE)
    step = h.password_auth(client_id, "alice")
    right = h.emu.last_code("alice")
    wrong = "000000" if right != "000000" else "111111"
    for _ in range(5):
        assert h.answer_fail(client_id, step, USERNAME="alice", SMS_MFA_CODE=wrong).code == (
            "CodeMismatchException"
        )
    dead = h.answer_fail(client_id, step, USERNAME="alice", SMS_MFA_CODE=right)
    assert dead.code == "NotAuthorizedException"


def test_attempt_limit_is_configurable(svc_clock: FakeClock, harness_for: HarnessFor) -> None:
    h = harness_for(Emulator(clock=svc_clock, mfa_attempt_limit=2))
    pool_id, client_id = pool_with(h, "ON", sms=True)
    h.user(pool_id, "alice", phone_number=PHONE)
    step = h.password_auth(client_id, "alice")
    wrong = "000000" if h.emu.last_code("alice") != "000000" else "111111"
    for _ in range(2):
        h.answer_fail(client_id, step, USERNAME="alice", SMS_MFA_CODE=wrong)
    assert (
        h.answer_fail(client_id, step, USERNAME="alice", SMS_MFA_CODE=h.emu.last_code("alice")).code
        == "NotAuthorizedException"
    )


def test_the_outbox_keeps_the_newest_messages(
    svc_clock: FakeClock, harness_for: HarnessFor
) -> None:
    h = harness_for(Emulator(clock=svc_clock, outbox_limit=2))
    pool_id, client_id = pool_with(h, "ON", sms=True)
    h.user(pool_id, "alice", phone_number=PHONE)
    steps = [h.password_auth(client_id, "alice") for _ in range(3)]
    assert len(h.emu.messages) == 2
    newest = h.emu.last_code("alice")
    assert h.emu.messages[-1].code == newest
    # trimming the outbox changes what is shown, not what a session accepts
    done = h.answer(client_id, steps[-1], USERNAME="alice", SMS_MFA_CODE=newest)
    assert "AuthenticationResult" in done
    for bad in (0, -1, True, 1.5):
        with pytest.raises(ValueError, match="outbox_limit"):
            Emulator(outbox_limit=bad)  # type: ignore[arg-type]


def _wrong_sms_answers(h: Harness, client_id: str, count: int) -> list[Failure]:
    """``count`` wrong SMS codes, each in a fresh sign-in (so no session dies of them)."""
    failures = []
    for _ in range(count):
        step = h.password_auth(client_id, "alice")
        wrong = "000000" if h.emu.last_code("alice") != "000000" else "111111"
        failures.append(h.answer_fail(client_id, step, USERNAME="alice", SMS_MFA_CODE=wrong))
    return failures


def _right_sms_answer(h: Harness, client_id: str) -> dict[str, Any] | Failure:
    step = h.password_auth(client_id, "alice")
    body = {
        "ClientId": client_id,
        "ChallengeName": step["ChallengeName"],
        "Session": step["Session"],
        "ChallengeResponses": {"USERNAME": "alice", "SMS_MFA_CODE": h.emu.last_code("alice")},
    }
    response = h.raw("RespondToAuthChallenge", body)
    data: dict[str, Any] = json.loads(response.body)
    if response.status == 200:
        return data
    return Failure(response.status, data["__type"], data["message"])


def test_wrong_codes_across_sessions_lock_the_user_out_exponentially(h: Harness) -> None:
    # §7.2 [DOC]: from the fifth wrong code, locked for 2^(n-5) s after the n-th
    pool_id, client_id = pool_with(h, "ON", sms=True)
    h.user(pool_id, "alice", phone_number=PHONE)
    failures = _wrong_sms_answers(h, client_id, 5)
    assert {f.code for f in failures} == {"CodeMismatchException"}
    locked = _right_sms_answer(h, client_id)  # even the right code, within 1 s
    assert isinstance(locked, Failure)
    assert (locked.code, locked.message) == ("NotAuthorizedException", "Password attempts exceeded")
    h.emu.advance(1)
    # the sixth wrong code locks for 2 s; attempts during a lockout do not extend it
    assert _wrong_sms_answers(h, client_id, 1)[0].code == "CodeMismatchException"
    h.emu.advance(1)
    assert _wrong_sms_answers(h, client_id, 1)[0].message == "Password attempts exceeded"
    h.emu.advance(1)
    # a successful sign-in ends the lockout process: the count starts afresh
    assert "AuthenticationResult" in _right_sms_answer(h, client_id)
    assert {f.code for f in _wrong_sms_answers(h, client_id, 4)} == {"CodeMismatchException"}
    assert "AuthenticationResult" in _right_sms_answer(h, client_id)


def test_the_lockout_is_capped_at_fifteen_minutes(h: Harness) -> None:
    pool_id, client_id = pool_with(h, "ON", sms=True)
    h.user(pool_id, "alice", phone_number=PHONE)
    for n in range(1, 15):  # each lockout waited out exactly: 1, 2, 4, ... 512 s
        assert _wrong_sms_answers(h, client_id, 1)[0].code == "CodeMismatchException"
        if n >= 5:
            h.emu.advance(2 ** (n - 5))
    _wrong_sms_answers(h, client_id, 1)  # the 15th: 2^10 s, capped at 900 s
    h.emu.advance(899)
    locked = _right_sms_answer(h, client_id)
    assert isinstance(locked, Failure) and locked.message == "Password attempts exceeded"
    h.emu.advance(1)
    assert "AuthenticationResult" in _right_sms_answer(h, client_id)


def test_the_count_is_forgotten_after_fifteen_quiet_minutes(h: Harness) -> None:
    pool_id, client_id = pool_with(h, "ON", sms=True)
    h.user(pool_id, "alice", phone_number=PHONE)
    _wrong_sms_answers(h, client_id, 4)
    h.emu.advance(15 * 60)
    # counted on, the fifth would lock and the sixth be refused unchecked
    assert {f.code for f in _wrong_sms_answers(h, client_id, 4)} == {"CodeMismatchException"}
    h.emu.advance(14 * 60)  # not quiet for long enough: the count goes on
    _wrong_sms_answers(h, client_id, 1)  # the fifth in a row
    assert _wrong_sms_answers(h, client_id, 1)[0].message == "Password attempts exceeded"


def test_the_lockout_can_be_turned_off(svc_clock: FakeClock, harness_for: HarnessFor) -> None:
    h = harness_for(Emulator(clock=svc_clock, mfa_lockout=False))
    pool_id, client_id = pool_with(h, "ON", sms=True)
    h.user(pool_id, "alice", phone_number=PHONE)
    assert {f.code for f in _wrong_sms_answers(h, client_id, 8)} == {"CodeMismatchException"}
    assert "AuthenticationResult" in _right_sms_answer(h, client_id)


def test_email_otp_factor(h: Harness) -> None:
    pool_id, client_id = pool_with(h, "OPTIONAL", email=True)
    h.user(pool_id, "alice", email="alice@example.com")
    token = signed_in(h, pool_id, client_id, "alice")
    h.ok("SetUserMFAPreference", AccessToken=token, EmailMfaSettings={"Enabled": True})
    step = h.password_auth(client_id, "alice")
    assert step["ChallengeName"] == "EMAIL_OTP"
    assert step["ChallengeParameters"]["CODE_DELIVERY_DESTINATION"] == "a***@e***"
    code = h.emu.last_code("alice", "EMAIL")
    assert len(code) == 8 and code.isdigit()
    assert "AuthenticationResult" in h.answer(
        client_id, step, USERNAME="alice", EMAIL_OTP_CODE=code
    )


# --- TOTP ----------------------------------------------------------------------------------------


def totp_step(h: Harness, pool_id: str, client_id: str) -> dict[str, Any]:
    step = h.srp_sign_in(pool_id, client_id, "alice")
    assert step["ChallengeName"] == "SOFTWARE_TOKEN_MFA"
    return step


@pytest.fixture
def totp_user(h: Harness) -> tuple[str, str, str]:
    pool_id, client_id = pool_with(h, "OPTIONAL", totp=True)
    h.user(pool_id, "alice")
    secret = h.enrol_totp(pool_id, signed_in(h, pool_id, client_id, "alice"), "alice")
    # one more step, so the step before "now" was never used either
    h.emu.advance(30)
    return pool_id, client_id, secret


def test_totp_secret_shape_and_per_user(h: Harness) -> None:
    pool_id, client_id = pool_with(h, "OPTIONAL", totp=True)
    h.user(pool_id, "alice")
    h.user(pool_id, "bob")
    secrets = [
        h.ok("AssociateSoftwareToken", AccessToken=signed_in(h, pool_id, client_id, n))[
            "SecretCode"
        ]
        for n in ("alice", "bob")
    ]
    assert secrets[0] != secrets[1]
    assert all(len(s) == 52 and "=" not in s for s in secrets)
    pyotp.TOTP(secrets[0]).now()  # pyotp accepts it (>= 128 bits)


@pytest.mark.parametrize(
    ("offset", "accepted"), [(-60, False), (-30, True), (0, True), (30, True), (60, False)]
)
def test_totp_window_edges(
    h: Harness, totp_user: tuple[str, str, str], offset: int, accepted: bool
) -> None:
    pool_id, client_id, secret = totp_user
    step = totp_step(h, pool_id, client_id)
    code = pyotp.TOTP(secret).at(h.emu.now() + offset)
    if accepted:
        assert "AuthenticationResult" in h.answer(
            client_id, step, USERNAME="alice", SOFTWARE_TOKEN_MFA_CODE=code
        )
    else:
        failure = h.answer_fail(client_id, step, USERNAME="alice", SOFTWARE_TOKEN_MFA_CODE=code)
        assert (failure.code, failure.message) == (
            "CodeMismatchException",
            "Invalid code received for user",
        )


def test_totp_code_is_accepted_once(h: Harness, totp_user: tuple[str, str, str]) -> None:
    pool_id, client_id, _ = totp_user
    code = h.emu.totp_code(pool_id, "alice")
    step = totp_step(h, pool_id, client_id)
    assert h.answer(client_id, step, USERNAME="alice", SOFTWARE_TOKEN_MFA_CODE=code)
    step = totp_step(h, pool_id, client_id)
    reused = h.answer_fail(client_id, step, USERNAME="alice", SOFTWARE_TOKEN_MFA_CODE=code)
    assert reused.code == "CodeMismatchException"
    h.emu.advance(30)
    fresh = h.emu.totp_code(pool_id, "alice")
    assert h.answer(client_id, step, USERNAME="alice", SOFTWARE_TOKEN_MFA_CODE=fresh)


def test_totp_reuse_can_be_allowed(svc_clock: FakeClock, harness_for: HarnessFor) -> None:
    h = harness_for(Emulator(clock=svc_clock, totp_reuse=True))
    pool_id, client_id = pool_with(h, "OPTIONAL", totp=True)
    h.user(pool_id, "alice")
    h.enrol_totp(pool_id, signed_in(h, pool_id, client_id, "alice"), "alice")
    code = h.emu.totp_code(pool_id, "alice")
    for _ in range(2):
        step = totp_step(h, pool_id, client_id)
        assert h.answer(client_id, step, USERNAME="alice", SOFTWARE_TOKEN_MFA_CODE=code)


def test_verify_software_token_wrong_code(h: Harness) -> None:
    pool_id, client_id = pool_with(h, "OPTIONAL", totp=True)
    h.user(pool_id, "alice")
    token = signed_in(h, pool_id, client_id, "alice")
    secret = h.ok("AssociateSoftwareToken", AccessToken=token)["SecretCode"]
    wrong = pyotp.TOTP(secret).at(h.emu.now() + 600)
    failure = h.fail("VerifySoftwareToken", AccessToken=token, UserCode=wrong)
    assert (failure.code, failure.message) == (
        "EnableSoftwareTokenMFAException",
        "Code mismatch and fail enable Software Token MFA",
    )


def test_totp_disabled_in_the_pool(h: Harness) -> None:
    pool_id, client_id = pool_with(h, "OPTIONAL", sms=True)
    h.user(pool_id, "alice")
    failure = h.fail(
        "AssociateSoftwareToken", AccessToken=signed_in(h, pool_id, client_id, "alice")
    )
    assert (failure.code, failure.message) == (
        "SoftwareTokenMFANotFoundException",
        "Software Token MFA has not been enabled by the userPool",
    )


def test_associate_wants_token_or_session_not_both(h: Harness) -> None:
    pool_id, client_id = pool_with(h, "ON", totp=True)
    h.user(pool_id, "alice")
    step = h.srp_sign_in(pool_id, client_id, "alice")
    h.mfa_config(pool_id, "OFF", totp=True)
    token = signed_in(h, pool_id, client_id, "alice")
    both = h.fail("AssociateSoftwareToken", AccessToken=token, Session=step["Session"])
    assert both.code == "InvalidParameterException"
    assert h.fail("AssociateSoftwareToken").code == "InvalidParameterException"


# --- MFA_SETUP (§3.4) ----------------------------------------------------------------------------


def test_mfa_setup_with_totp_takes_a_new_session_each_step(h: Harness) -> None:
    pool_id, client_id = pool_with(h, "ON", totp=True)
    h.user(pool_id, "alice")
    s1 = h.srp_sign_in(pool_id, client_id, "alice")
    assert s1["ChallengeName"] == "MFA_SETUP"
    assert json.loads(s1["ChallengeParameters"]["MFAS_CAN_SETUP"]) == ["SOFTWARE_TOKEN_MFA"]
    # answering before setting anything up is refused
    assert h.answer_fail(client_id, s1, USERNAME="alice").code == "MFAMethodNotFoundException"
    associated = h.ok("AssociateSoftwareToken", Session=s1["Session"])
    s2 = associated["Session"]
    assert s2 != s1["Session"]
    reuse = h.fail("AssociateSoftwareToken", Session=s1["Session"])
    assert reuse.message == "Invalid session for the user, session can only be used once."
    secret = associated["SecretCode"]
    wrong = pyotp.TOTP(secret).at(h.emu.now() + 600)
    mismatch = h.fail("VerifySoftwareToken", Session=s2, UserCode=wrong)
    assert mismatch.code == "EnableSoftwareTokenMFAException"
    verified = h.ok(
        "VerifySoftwareToken",
        Session=s2,
        UserCode=pyotp.TOTP(secret).at(h.emu.now()),
        FriendlyDeviceName="phone",
    )
    assert verified["Status"] == "SUCCESS"
    s3 = verified["Session"]
    assert s3 not in (s1["Session"], s2)
    # shaped like Cognito's (wire reference §7.1): "AYAB" and base64, about 1,500 characters
    for session in (s1["Session"], s2, s3):
        assert len(session) == 1_500 and session.startswith("AYAB")
    done = h.ok(
        "RespondToAuthChallenge",
        ClientId=client_id,
        ChallengeName="MFA_SETUP",
        Session=s3,
        ChallengeResponses={"USERNAME": "alice"},
    )
    assert "AuthenticationResult" in done
    again = h.fail(
        "RespondToAuthChallenge",
        ClientId=client_id,
        ChallengeName="MFA_SETUP",
        Session=s3,
        ChallengeResponses={"USERNAME": "alice"},
    )
    assert again.message == "Invalid session for the user, session can only be used once."
    # from now on, TOTP is asked at sign-in
    h.emu.advance(30)
    step = h.srp_sign_in(pool_id, client_id, "alice")
    assert step["ChallengeName"] == "SOFTWARE_TOKEN_MFA"
    assert step["ChallengeParameters"]["FRIENDLY_DEVICE_NAME"] == "phone"


def test_mfa_setup_with_email(h: Harness) -> None:
    pool_id, client_id = pool_with(h, "ON", email=True)
    h.user(pool_id, "alice")
    s1 = h.password_auth(client_id, "alice")
    assert json.loads(s1["ChallengeParameters"]["MFAS_CAN_SETUP"]) == ["EMAIL_OTP"]
    step = h.answer(client_id, s1, USERNAME="alice", EMAIL="alice@example.com")
    assert step["ChallengeName"] == "EMAIL_OTP"
    code = h.emu.last_code("alice@example.com", "EMAIL")
    assert h.answer(client_id, step, USERNAME="alice", EMAIL_OTP_CODE=code)
    user = h.ok("AdminGetUser", UserPoolId=pool_id, Username="alice")
    assert user["UserMFASettingList"] == ["EMAIL_OTP"]
    assert {"Name": "email", "Value": "alice@example.com"} in user["UserAttributes"]


# --- sessions (§7.1) -----------------------------------------------------------------------------


def test_session_expires_after_auth_session_validity(h: Harness) -> None:
    pool_id, client_id = pool_with(h, "ON", sms=True)
    h.user(pool_id, "alice", phone_number=PHONE)
    step = h.password_auth(client_id, "alice")
    h.emu.advance(179)
    wrong = "000000" if h.emu.last_code("alice") != "000000" else "111111"
    assert h.answer_fail(client_id, step, USERNAME="alice", SMS_MFA_CODE=wrong).code == (
        "CodeMismatchException"
    )
    h.emu.advance(2)
    expired = h.answer_fail(
        client_id, step, USERNAME="alice", SMS_MFA_CODE=h.emu.last_code("alice")
    )
    assert (expired.code, expired.message) == (
        "NotAuthorizedException",
        "Invalid session for the user, session is expired.",
    )


def test_longer_auth_session_validity(h: Harness) -> None:
    pool_id, _ = pool_with(h, "ON", sms=True)
    client_id, _ = h.client(pool_id, AuthSessionValidity=10)
    h.user(pool_id, "alice", phone_number=PHONE)
    step = h.password_auth(client_id, "alice")
    h.emu.advance(9 * 60)
    assert h.answer(client_id, step, USERNAME="alice", SMS_MFA_CODE=h.emu.last_code("alice"))


def test_session_errors(h: Harness) -> None:
    pool_id, client_id = pool_with(h, "ON", sms=True)
    h.user(pool_id, "alice", phone_number=PHONE)
    step = h.password_auth(client_id, "alice")
    code = h.emu.last_code("alice")
    missing = h.fail(
        "RespondToAuthChallenge",
        ClientId=client_id,
        ChallengeName="SMS_MFA",
        ChallengeResponses={"USERNAME": "alice", "SMS_MFA_CODE": code},
    )
    assert (missing.code, missing.message) == (
        "InvalidParameterException",
        "Missing required parameter Session",
    )
    unknown = h.fail(
        "RespondToAuthChallenge",
        ClientId=client_id,
        ChallengeName="SMS_MFA",
        Session="A" * 40,
        ChallengeResponses={"USERNAME": "alice", "SMS_MFA_CODE": code},
    )
    assert (unknown.code, unknown.message) == (
        "NotAuthorizedException",
        "Invalid session for the user.",
    )
    assert h.answer(client_id, step, USERNAME="alice", SMS_MFA_CODE=code)
    used = h.answer_fail(client_id, step, USERNAME="alice", SMS_MFA_CODE=code)
    assert used.message == "Invalid session for the user, session can only be used once."


# --- preferences and user data (§7.4-7.6) --------------------------------------------------------


def test_preference_validation(h: Harness) -> None:
    pool_id, client_id = pool_with(h, "OPTIONAL", sms=True, totp=True, email=True)
    h.user(pool_id, "alice")
    token = signed_in(h, pool_id, client_id, "alice")
    for block, name in (
        ("SoftwareTokenMfaSettings", "SOFTWARE_TOKEN_MFA"),
        ("SMSMfaSettings", "SMS_MFA"),
        ("EmailMfaSettings", "EMAIL_OTP"),
    ):
        failure = h.fail("SetUserMFAPreference", AccessToken=token, **{block: {"Enabled": True}})
        assert (failure.code, failure.message) == (
            "InvalidParameterException",
            f"User does not have delivery config set to turn on {name}",
        )
    h.ok(
        "AdminUpdateUserAttributes",
        UserPoolId=pool_id,
        Username="alice",
        UserAttributes=[{"Name": "phone_number", "Value": PHONE}],
    )
    preferred_off = h.fail(
        "SetUserMFAPreference",
        AccessToken=token,
        SMSMfaSettings={"Enabled": False, "PreferredMfa": True},
    )
    assert preferred_off.code == "InvalidParameterException"
    assert "UserMFASettingList" not in h.ok("GetUser", AccessToken=token)


def test_get_user_reports_mfa_settings(h: Harness) -> None:
    pool_id, client_id = pool_with(h, "OPTIONAL", sms=True, totp=True)
    h.user(pool_id, "alice", phone_number=PHONE, email="alice@example.com")
    token = signed_in(h, pool_id, client_id, "alice")
    plain = h.ok("GetUser", AccessToken=token)
    assert plain["Username"] == "alice"
    assert plain["UserAttributes"][0]["Name"] == "sub"
    assert not {"UserMFASettingList", "PreferredMfaSetting", "MFAOptions"} & set(plain)
    h.enrol_totp(pool_id, token, "alice")
    h.ok(
        "AdminSetUserMFAPreference",
        UserPoolId=pool_id,
        Username="alice",
        SMSMfaSettings={"Enabled": True},
        SoftwareTokenMfaSettings={"Enabled": True, "PreferredMfa": True},
    )
    for shape in (
        h.ok("GetUser", AccessToken=token),
        h.ok("AdminGetUser", UserPoolId=pool_id, Username="alice"),
    ):
        assert shape["UserMFASettingList"] == ["SMS_MFA", "SOFTWARE_TOKEN_MFA"]
        assert shape["PreferredMfaSetting"] == "SOFTWARE_TOKEN_MFA"
        assert shape["MFAOptions"] == [{"DeliveryMedium": "SMS", "AttributeName": "phone_number"}]


def test_legacy_set_user_settings(h: Harness) -> None:
    pool_id, client_id = pool_with(h, "OPTIONAL", sms=True)
    h.user(pool_id, "alice", phone_number=PHONE)
    token = signed_in(h, pool_id, client_id, "alice")
    h.ok(
        "SetUserSettings",
        AccessToken=token,
        MFAOptions=[{"DeliveryMedium": "SMS", "AttributeName": "phone_number"}],
    )
    assert h.ok("GetUser", AccessToken=token)["UserMFASettingList"] == ["SMS_MFA"]
    assert h.password_auth(client_id, "alice")["ChallengeName"] == "SMS_MFA"
    h.ok("AdminSetUserSettings", UserPoolId=pool_id, Username="alice", MFAOptions=[])
    assert "MFAOptions" not in h.ok("GetUser", AccessToken=token)
    assert "AuthenticationResult" in h.password_auth(client_id, "alice")


def test_pool_mfa_config_rules(h: Harness) -> None:
    pool_id = h.pool()
    failure = h.fail(
        "SetUserPoolMfaConfig",
        UserPoolId=pool_id,
        MfaConfiguration="ON",
        SoftwareTokenMfaConfiguration={"Enabled": False},
    )
    assert failure.message == (
        "Invalid MFA configuration given, can't disable all MFAs with a required or optional "
        "configuration."
    )
    h.mfa_config(pool_id, "OPTIONAL", totp=True, email=True)
    config = h.ok("GetUserPoolMfaConfig", UserPoolId=pool_id)
    assert config["MfaConfiguration"] == "OPTIONAL"
    assert config["SoftwareTokenMfaConfiguration"] == {"Enabled": True}
    assert "EmailMfaConfiguration" in config and "SmsMfaConfiguration" not in config
    assert (
        h.ok("DescribeUserPool", UserPoolId=pool_id)["UserPool"]["MfaConfiguration"] == "OPTIONAL"
    )
