"""The emulator's first factor: real SRP, passwords, SECRET_HASH, aliases, refresh tokens."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jwt
import pytest
from conftest import (
    PASSWORD,
    FakeClock,
    Harness,
    HarnessFor,
    secret_hash,
)

from cognito_mfa import _srp as srp
from cognito_mfa.testing.service import Emulator

VECTORS = Path(__file__).resolve().parents[1] / "vectors" / "srp_public.json"


def _vectors() -> list[dict[str, Any]]:
    cases: list[dict[str, Any]] = json.loads(VECTORS.read_text())["cases"]
    return cases


@pytest.mark.parametrize("case", _vectors(), ids=lambda c: c["id"])
def test_official_client_vectors_pass_the_server_check(
    case: dict[str, Any], harness_for: HarnessFor
) -> None:
    """The JS SDK's proofs verify against the vector's server b and v, via the wire path."""
    seed = harness_for(Emulator(clock=FakeClock()))
    pool_id = seed.pool()
    client_id, _ = seed.client(pool_id)
    seed.user(pool_id, case["username"])
    state = seed.emu.to_state()
    # re-home the pool under the vector's id, and give the user the vector's verifier
    pool = state["pools"][0]
    pool["id"] = case["pool_id"]
    for client in pool["clients"]:
        client["pool_id"] = case["pool_id"]
    user = pool["users"][0]
    user["verifier"] = case["server"]["v_hex"]
    user["salt"] = case["salt_hex"]
    # the vector's TIMESTAMP is checked against the emulator's clock: run at that moment
    signed_at = srp.parse_timestamp(case["timestamp"]).timestamp()
    emu = Emulator.from_state(state, clock=FakeClock(signed_at))
    wire = harness_for(emu)
    started = wire.ok(
        "InitiateAuth",
        AuthFlow="USER_SRP_AUTH",
        ClientId=client_id,
        AuthParameters={"USERNAME": case["username"], "SRP_A": case["A_hex"]},
    )
    # feed the vector's server secret b (and so B) and SECRET_BLOCK into the session
    session = emu._model.sessions[started["Session"]]
    assert session.srp is not None
    b = int(case["server"]["b_hex"], 16)
    assert srp.server_public(int(case["server"]["v_hex"], 16), b) == int(case["B_hex"], 16)
    emu._model.secret_blocks[case["secret_block_b64"]] = started["Session"]
    session.srp.b = b
    session.srp.big_b = int(case["B_hex"], 16)
    session.srp.secret_block = case["secret_block_b64"]
    answers = {
        "USERNAME": case["username"],
        "PASSWORD_CLAIM_SECRET_BLOCK": case["secret_block_b64"],
        "TIMESTAMP": case["timestamp"],
        "PASSWORD_CLAIM_SIGNATURE": case["signature_b64"],
    }
    done = wire.ok(
        "RespondToAuthChallenge",
        ClientId=client_id,
        ChallengeName="PASSWORD_VERIFIER",
        Session=started["Session"],
        ChallengeResponses=answers,
    )
    assert "AccessToken" in done["AuthenticationResult"]


def test_srp_sign_in_and_the_challenge_parameters(h: Harness) -> None:
    pool_id = h.pool()
    client_id, _ = h.client(pool_id)
    h.user(pool_id, "alice")
    started, a, big_a = h.srp_start(client_id, "alice")
    assert started["ChallengeName"] == "PASSWORD_VERIFIER"
    params = started["ChallengeParameters"]
    assert params["USERNAME"] == params["USER_ID_FOR_SRP"] == "alice"
    # SALT in canonical padHex form: what both the JS client and pycognito hash alike
    assert params["SALT"] == srp.pad_hex(int(params["SALT"], 16))
    assert len(started["Session"]) >= 20
    done = h.answer(client_id, started, **h.srp_answers(pool_id, started, a, big_a, PASSWORD))
    assert done["AuthenticationResult"]["TokenType"] == "Bearer"


def test_each_user_has_its_own_salt(h: Harness) -> None:
    pool_id = h.pool()
    client_id, _ = h.client(pool_id)
    h.user(pool_id, "alice")
    h.user(pool_id, "bob")
    salts = {h.srp_start(client_id, n)[0]["ChallengeParameters"]["SALT"] for n in ("alice", "bob")}
    assert len(salts) == 2


def test_wrong_password_over_srp(h: Harness) -> None:
    pool_id = h.pool()
    client_id, _ = h.client(pool_id)
    h.user(pool_id, "alice")
    started, a, big_a = h.srp_start(client_id, "alice")
    answers = h.srp_answers(pool_id, started, a, big_a, "Wrong-passw0rd")
    failure = h.answer_fail(client_id, started, **answers)
    assert (failure.code, failure.message) == (
        "NotAuthorizedException",
        "Incorrect username or password.",
    )
    # the attempt is over: the same session cannot be tried again
    again = h.answer_fail(client_id, started, **answers)
    assert again.message == "Invalid session for the user, session can only be used once."


def test_zero_padded_timestamp_day_is_refused(h: Harness, svc_clock: FakeClock) -> None:
    svc_clock.now = datetime(2026, 4, 5, 3, 4, 5, tzinfo=UTC).timestamp()
    pool_id = h.pool()
    client_id, _ = h.client(pool_id)
    h.user(pool_id, "alice")
    started, a, big_a = h.srp_start(client_id, "alice")
    good = srp.format_timestamp(datetime.fromtimestamp(h.emu.now(), UTC))
    assert good == "Sun Apr 5 03:04:05 UTC 2026"
    padded = good.replace("Apr 5", "Apr 05")
    # a correct signature over the padded string: only the format is wrong
    answers = h.srp_answers(pool_id, started, a, big_a, PASSWORD, timestamp=padded)
    failure = h.answer_fail(client_id, started, **answers)
    assert (failure.code, failure.message) == (
        "NotAuthorizedException",
        "Incorrect username or password.",
    )
    started, a, big_a = h.srp_start(client_id, "alice")
    answers = h.srp_answers(pool_id, started, a, big_a, PASSWORD, timestamp=good)
    assert "AuthenticationResult" in h.answer(client_id, started, **answers)


def test_tampered_signature_is_refused(h: Harness) -> None:
    pool_id = h.pool()
    client_id, _ = h.client(pool_id)
    h.user(pool_id, "alice")
    started, a, big_a = h.srp_start(client_id, "alice")
    answers = h.srp_answers(pool_id, started, a, big_a, PASSWORD)
    signature = answers["PASSWORD_CLAIM_SIGNATURE"]
    # a different first character, whatever the signature starts with (it may start with A)
    answers["PASSWORD_CLAIM_SIGNATURE"] = ("B" if signature[0] == "A" else "A") + signature[1:]
    assert answers["PASSWORD_CLAIM_SIGNATURE"] != signature
    assert h.answer_fail(client_id, started, **answers).code == "NotAuthorizedException"


def test_password_verifier_without_session_is_bound_to_the_secret_block(h: Harness) -> None:
    pool_id = h.pool()
    client_id, _ = h.client(pool_id)
    h.user(pool_id, "alice")
    started, a, big_a = h.srp_start(client_id, "alice")
    answers = h.srp_answers(pool_id, started, a, big_a, PASSWORD)
    done = h.ok(
        "RespondToAuthChallenge",
        ClientId=client_id,
        ChallengeName="PASSWORD_VERIFIER",
        ChallengeResponses=answers,
    )
    assert "AuthenticationResult" in done


def test_password_verifier_timeout_is_opt_in(svc_clock: FakeClock, harness_for: HarnessFor) -> None:
    h = harness_for(Emulator(clock=svc_clock, password_verifier_timeout=5.0))
    pool_id = h.pool()
    client_id, _ = h.client(pool_id)
    h.user(pool_id, "alice")
    started, a, big_a = h.srp_start(client_id, "alice")
    h.emu.advance(6)
    failure = h.answer_fail(
        client_id, started, **h.srp_answers(pool_id, started, a, big_a, PASSWORD)
    )
    assert failure.code == "NotAuthorizedException"


def test_sign_in_by_email_in_an_email_as_username_pool(h: Harness) -> None:
    pool_id = h.pool(UsernameAttributes=["email"])
    client_id, _ = h.client(pool_id)
    internal = h.user(pool_id, "alice@example.com")
    assert internal != "alice@example.com" and len(internal) == 36  # a UUID sub
    started, a, big_a = h.srp_start(client_id, "alice@example.com")
    params = started["ChallengeParameters"]
    assert params["USER_ID_FOR_SRP"] == params["USERNAME"] == internal
    answers = h.srp_answers(pool_id, started, a, big_a, PASSWORD)
    # answering with the typed alias is refused, as Cognito does (pycognito #193)
    aliased = dict(answers, USERNAME="alice@example.com")
    failure = h.answer_fail(client_id, started, **aliased)
    assert (failure.code, failure.message) == ("UserNotFoundException", "User does not exist.")
    started, a, big_a = h.srp_start(client_id, "alice@example.com")
    answers = h.srp_answers(pool_id, started, a, big_a, PASSWORD)
    done = h.answer(client_id, started, **answers)
    claims = jwt.decode(
        done["AuthenticationResult"]["IdToken"], options={"verify_signature": False}
    )
    assert claims["cognito:username"] == internal
    assert claims["email"] == "alice@example.com"


def test_sign_in_by_verified_alias(h: Harness) -> None:
    pool_id = h.pool(AliasAttributes=["email"])
    client_id, _ = h.client(pool_id)
    h.user(pool_id, "alice", email="alice@example.com", email_verified="true")
    h.user(pool_id, "bob", email="bob@example.com")
    assert "AuthenticationResult" in h.password_auth(client_id, "alice@example.com")
    # an unverified alias does not sign in
    failure = h.fail(
        "InitiateAuth",
        AuthFlow="USER_PASSWORD_AUTH",
        ClientId=client_id,
        AuthParameters={"USERNAME": "bob@example.com", "PASSWORD": PASSWORD},
    )
    assert failure.code == "UserNotFoundException"


def test_user_password_auth_needs_the_flow_enabled(h: Harness) -> None:
    pool_id = h.pool()
    client_id, _ = h.client(pool_id, ExplicitAuthFlows=["ALLOW_USER_SRP_AUTH"])
    h.user(pool_id, "alice")
    failure = h.fail(
        "InitiateAuth",
        AuthFlow="USER_PASSWORD_AUTH",
        ClientId=client_id,
        AuthParameters={"USERNAME": "alice", "PASSWORD": PASSWORD},
    )
    assert (failure.code, failure.message) == (
        "InvalidParameterException",
        "USER_PASSWORD_AUTH flow not enabled for this client",
    )
    # the default flows (no ExplicitAuthFlows) include SRP but not passwords
    default_id = h.ok("CreateUserPoolClient", UserPoolId=pool_id, ClientName="d")["UserPoolClient"][
        "ClientId"
    ]
    assert h.srp_sign_in(pool_id, default_id, "alice")["AuthenticationResult"]
    assert (
        h.fail(
            "InitiateAuth",
            AuthFlow="USER_PASSWORD_AUTH",
            ClientId=default_id,
            AuthParameters={"USERNAME": "alice", "PASSWORD": PASSWORD},
        ).code
        == "InvalidParameterException"
    )


def test_wrong_password_and_unknown_user(h: Harness) -> None:
    pool_id = h.pool()
    client_id, _ = h.client(pool_id)
    h.user(pool_id, "alice")
    wrong = h.fail(
        "InitiateAuth",
        AuthFlow="USER_PASSWORD_AUTH",
        ClientId=client_id,
        AuthParameters={"USERNAME": "alice", "PASSWORD": "Nope-1234"},
    )
    assert (wrong.code, wrong.message) == (
        "NotAuthorizedException",
        "Incorrect username or password.",
    )
    unknown = h.fail(
        "InitiateAuth",
        AuthFlow="USER_PASSWORD_AUTH",
        ClientId=client_id,
        AuthParameters={"USERNAME": "nobody", "PASSWORD": PASSWORD},
    )
    assert (unknown.code, unknown.message) == ("UserNotFoundException", "User does not exist.")
    no_client = h.fail(
        "InitiateAuth",
        AuthFlow="USER_PASSWORD_AUTH",
        ClientId="nosuchclient",
        AuthParameters={"USERNAME": "alice", "PASSWORD": PASSWORD},
    )
    assert no_client.code == "ResourceNotFoundException"


def test_secret_hash_missing_wrong_and_right(h: Harness) -> None:
    pool_id = h.pool(AliasAttributes=["email"])
    client_id, secret = h.client(pool_id, GenerateSecret=True)
    assert secret is not None and len(secret) == 51 and secret.isalnum() and secret.islower()
    h.user(pool_id, "alice", email="alice@example.com", email_verified="true")
    missing = h.fail(
        "InitiateAuth",
        AuthFlow="USER_SRP_AUTH",
        ClientId=client_id,
        AuthParameters={"USERNAME": "alice", "SRP_A": "abc"},
    )
    assert (missing.code, missing.message) == (
        "NotAuthorizedException",
        f"Client {client_id} is configured with secret but SECRET_HASH was not received",
    )
    wrong = h.fail(
        "InitiateAuth",
        AuthFlow="USER_SRP_AUTH",
        ClientId=client_id,
        AuthParameters={
            "USERNAME": "alice",
            "SRP_A": "abc",
            "SECRET_HASH": secret_hash(secret, "bob", client_id),
        },
    )
    assert wrong.message == f"Unable to verify secret hash for client {client_id}"
    # sign in by alias: InitiateAuth's hash is over the USERNAME sent (the alias) ...
    started, a, big_a = h.srp_start(
        client_id,
        "alice@example.com",
        SECRET_HASH=secret_hash(secret, "alice@example.com", client_id),
    )
    answers = h.srp_answers(pool_id, started, a, big_a, PASSWORD)
    # ... and every challenge response needs one too, over the USERNAME it sends
    no_hash = h.answer_fail(client_id, started, **answers)
    assert no_hash.message.endswith("SECRET_HASH was not received")
    alias_hash = h.answer_fail(
        client_id,
        started,
        **answers,
        SECRET_HASH=secret_hash(secret, "alice@example.com", client_id),
    )
    assert alias_hash.message == f"Unable to verify secret hash for client {client_id}"
    done = h.answer(
        client_id, started, **answers, SECRET_HASH=secret_hash(secret, "alice", client_id)
    )
    assert "AuthenticationResult" in done


def test_refresh_token_flow_and_secret_hash(h: Harness) -> None:
    pool_id = h.pool()
    client_id, secret = h.client(pool_id, GenerateSecret=True)
    assert secret is not None
    h.user(pool_id, "alice")
    first = h.password_auth(
        client_id, "alice", SECRET_HASH=secret_hash(secret, "alice", client_id)
    )["AuthenticationResult"]
    refresh = first["RefreshToken"]
    again = h.ok(
        "InitiateAuth",
        AuthFlow="REFRESH_TOKEN_AUTH",
        ClientId=client_id,
        AuthParameters={
            "REFRESH_TOKEN": refresh,
            "SECRET_HASH": secret_hash(secret, "alice", client_id),
        },
    )["AuthenticationResult"]
    assert "RefreshToken" not in again and again["AccessToken"] != first["AccessToken"]
    bogus = h.fail(
        "InitiateAuth",
        AuthFlow="REFRESH_TOKEN",
        ClientId=client_id,
        AuthParameters={"REFRESH_TOKEN": "x" + refresh[1:]},
    )
    assert (bogus.code, bogus.message) == ("NotAuthorizedException", "Invalid Refresh Token")


def test_admin_password_flow_and_admin_respond(h: Harness) -> None:
    pool_id = h.pool(MfaConfiguration="ON")
    client_id, _ = h.client(pool_id)
    h.user(pool_id, "alice", phone_number="+15555551234")
    step = h.ok(
        "AdminInitiateAuth",
        UserPoolId=pool_id,
        ClientId=client_id,
        AuthFlow="ADMIN_USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": "alice", "PASSWORD": PASSWORD},
    )
    assert step["ChallengeName"] == "SMS_MFA"
    done = h.ok(
        "AdminRespondToAuthChallenge",
        UserPoolId=pool_id,
        ClientId=client_id,
        ChallengeName="SMS_MFA",
        Session=step["Session"],
        ChallengeResponses={"USERNAME": "alice", "SMS_MFA_CODE": h.emu.last_code("alice")},
    )
    assert "AuthenticationResult" in done
    # USER_PASSWORD_AUTH is not an admin flow, and the admin flows are not user flows
    assert (
        h.fail(
            "AdminInitiateAuth",
            UserPoolId=pool_id,
            ClientId=client_id,
            AuthFlow="USER_PASSWORD_AUTH",
            AuthParameters={"USERNAME": "alice", "PASSWORD": PASSWORD},
        ).code
        == "InvalidParameterException"
    )
    assert (
        h.fail(
            "InitiateAuth",
            ClientId=client_id,
            AuthFlow="ADMIN_NO_SRP_AUTH",
            AuthParameters={"USERNAME": "alice", "PASSWORD": PASSWORD},
        ).code
        == "InvalidParameterException"
    )


def test_new_password_required_with_a_required_attribute(h: Harness) -> None:
    pool_id = h.pool(Schema=[{"Name": "name", "Required": True}])
    client_id, _ = h.client(pool_id)
    h.user(pool_id, "alice", password="Temp-pass1", permanent=False)
    step = h.password_auth(client_id, "alice", "Temp-pass1")
    assert step["ChallengeName"] == "NEW_PASSWORD_REQUIRED"
    params = step["ChallengeParameters"]
    assert json.loads(params["requiredAttributes"]) == ["userAttributes.name"]
    assert isinstance(json.loads(params["userAttributes"]), dict)
    weak = h.answer_fail(client_id, step, USERNAME="alice", NEW_PASSWORD="short")
    assert weak.code == "InvalidPasswordException"
    missing = h.answer_fail(client_id, step, USERNAME="alice", NEW_PASSWORD="New-passw0rd")
    assert missing.code == "InvalidParameterException"
    done = h.answer(
        client_id,
        step,
        USERNAME="alice",
        NEW_PASSWORD="New-passw0rd",
        **{"userAttributes.name": "A"},
    )
    assert "AuthenticationResult" in done
    assert "AuthenticationResult" in h.srp_sign_in(pool_id, client_id, "alice", "New-passw0rd")
    user = h.ok("AdminGetUser", UserPoolId=pool_id, Username="alice")
    assert user["UserStatus"] == "CONFIRMED"


def test_password_policy_is_enforced(h: Harness) -> None:
    pool_id = h.pool(Policies={"PasswordPolicy": {"MinimumLength": 12, "RequireSymbols": False}})
    failure = h.fail(
        "AdminCreateUser",
        UserPoolId=pool_id,
        Username="alice",
        TemporaryPassword="Short1a",
        MessageAction="SUPPRESS",
    )
    assert (failure.code, failure.message) == (
        "InvalidPasswordException",
        "Password did not conform with policy: Password not long enough",
    )
    h.user(pool_id, "alice", password="Longenough12")
    lower = h.fail(
        "AdminSetUserPassword",
        UserPoolId=pool_id,
        Username="alice",
        Password="alllowercase12",
        Permanent=True,
    )
    assert lower.message.endswith("Password must have uppercase characters")


def test_identifier_formats(h: Harness) -> None:
    pool_id = h.pool()
    region, _, name = pool_id.partition("_")
    assert region == "us-east-1" and len(name) == 9 and name.isalnum()
    client_id, _ = h.client(pool_id)
    assert len(client_id) == 26 and client_id.isalnum() and client_id == client_id.lower()


def test_legacy_explicit_auth_flows(h: Harness) -> None:
    pool_id = h.pool()
    client_id, _ = h.client(pool_id, ExplicitAuthFlows=["ADMIN_NO_SRP_AUTH"])
    h.user(pool_id, "alice")
    # legacy values add flows to SRP, which stays available
    assert "AuthenticationResult" in h.srp_sign_in(pool_id, client_id, "alice")
    admin = h.ok(
        "AdminInitiateAuth",
        UserPoolId=pool_id,
        ClientId=client_id,
        AuthFlow="ADMIN_NO_SRP_AUTH",
        AuthParameters={"USERNAME": "alice", "PASSWORD": PASSWORD},
    )
    assert "AuthenticationResult" in admin
    custom_only, _ = h.client(pool_id, ExplicitAuthFlows=["CUSTOM_AUTH_FLOW_ONLY"])
    failure = h.fail(
        "InitiateAuth",
        AuthFlow="USER_SRP_AUTH",
        ClientId=custom_only,
        AuthParameters={"USERNAME": "alice", "SRP_A": "ab"},
    )
    assert failure.message == "USER_SRP_AUTH flow not enabled for this client"
