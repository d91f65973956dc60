"""Tokens, JWKS, sign-out, persistence, faults and the test conveniences of the emulator."""

from __future__ import annotations

import json

import jwt
import pyotp
import pytest
from conftest import PASSWORD, FakeClock, Harness, HarnessFor, secret_hash

from cognito_mfa.testing.service import Emulator


def setup(h: Harness) -> tuple[str, str, dict[str, str]]:
    pool_id = h.pool()
    client_id, _ = h.client(pool_id)
    h.user(pool_id, "alice", email="alice@example.com", email_verified="true")
    result = h.password_auth(client_id, "alice")["AuthenticationResult"]
    return pool_id, client_id, result


def test_tokens_verify_against_the_jwks_with_cognito_claims(h: Harness) -> None:
    pool_id, client_id, result = setup(h)
    assert result["ExpiresIn"] == 3600 and result["TokenType"] == "Bearer"
    jwks = h.emu.jwks(pool_id)
    assert jwks is not None and h.emu.jwks("us-east-1_nosuchpool") is None
    keys = jwt.PyJWKSet.from_dict(json.loads(json.dumps(jwks)))
    iss = f"https://cognito-idp.us-east-1.amazonaws.com/{pool_id}"
    now = h.emu.now()

    def decode(token: str, **kwargs: object) -> dict[str, object]:
        kid = jwt.get_unverified_header(token)["kid"]
        key = next(k for k in keys.keys if k.key_id == kid)
        claims: dict[str, object] = jwt.decode(
            token,
            key,
            algorithms=["RS256"],
            issuer=iss,
            options={"verify_exp": False, "verify_iat": False},
            **kwargs,  # type: ignore[arg-type]
        )
        return claims

    id_claims = decode(result["IdToken"], audience=client_id)
    assert id_claims["token_use"] == "id"
    assert id_claims["cognito:username"] == "alice"
    assert id_claims["email"] == "alice@example.com" and id_claims["email_verified"] is True
    access = decode(result["AccessToken"])
    assert access["token_use"] == "access" and access["client_id"] == client_id
    assert access["scope"] == "aws.cognito.signin.user.admin"
    assert access["username"] == "alice" and access["sub"] == id_claims["sub"]
    for claims in (id_claims, access):
        assert claims["iat"] == int(now) and claims["exp"] == int(now) + 3600
        assert claims["auth_time"] == int(now)
        assert {"jti", "origin_jti", "event_id"} <= set(claims)
    assert id_claims["jti"] != access["jti"]
    assert id_claims["origin_jti"] == access["origin_jti"]


def test_access_token_checks(h: Harness) -> None:
    _pool_id, _client_id, result = setup(h)
    access = result["AccessToken"]
    assert h.ok("GetUser", AccessToken=access)["Username"] == "alice"
    forged = h.fail("GetUser", AccessToken=access[:-4] + "AAAA")
    assert (forged.code, forged.message) == ("NotAuthorizedException", "Invalid Access Token")
    # an id token is not an access token
    assert h.fail("GetUser", AccessToken=result["IdToken"]).message == "Invalid Access Token"
    assert h.fail("GetUser", AccessToken="abc.def.ghi").message == "Invalid Access Token"
    h.emu.advance(3600)
    expired = h.fail("GetUser", AccessToken=access)
    assert (expired.code, expired.message) == ("NotAuthorizedException", "Access Token has expired")


def test_global_sign_out_revokes_access_and_refresh_tokens(h: Harness) -> None:
    _pool_id, client_id, first = setup(h)
    second = h.password_auth(client_id, "alice")["AuthenticationResult"]
    assert h.ok("GlobalSignOut", AccessToken=second["AccessToken"]) == {}
    for result in (first, second):
        revoked = h.fail("GetUser", AccessToken=result["AccessToken"])
        assert (revoked.code, revoked.message) == (
            "NotAuthorizedException",
            "Access Token has been revoked",
        )
        refused = h.fail(
            "InitiateAuth",
            AuthFlow="REFRESH_TOKEN_AUTH",
            ClientId=client_id,
            AuthParameters={"REFRESH_TOKEN": result["RefreshToken"]},
        )
        assert refused.message == "Refresh Token has been revoked"
    # a new sign-in is unaffected
    third = h.password_auth(client_id, "alice")["AuthenticationResult"]
    assert h.ok("GetUser", AccessToken=third["AccessToken"])


def test_deleted_user(h: Harness) -> None:
    pool_id, _client_id, result = setup(h)
    h.ok("AdminDeleteUser", UserPoolId=pool_id, Username="alice")
    assert h.fail("GetUser", AccessToken=result["AccessToken"]).code == "UserNotFoundException"
    assert h.fail("AdminGetUser", UserPoolId=pool_id, Username="alice").code == (
        "UserNotFoundException"
    )


def test_state_round_trip(svc_clock: FakeClock, harness_for: HarnessFor) -> None:
    h = harness_for(Emulator(clock=svc_clock))
    pool_id = h.pool(UsernameAttributes=["email"])
    h.mfa_config(pool_id, "OPTIONAL", totp=True)
    client_id, secret = h.client(pool_id, GenerateSecret=True)
    assert secret is not None
    internal = h.user(pool_id, "alice@example.com")
    first = h.password_auth(
        client_id,
        "alice@example.com",
        SECRET_HASH=secret_hash(secret, "alice@example.com", client_id),
    )["AuthenticationResult"]
    h.enrol_totp(pool_id, first["AccessToken"], internal)
    state = json.loads(json.dumps(h.emu.to_state()))  # JSON-serialisable
    text = json.dumps(state)
    assert PASSWORD not in text and first["RefreshToken"] not in text
    restored = harness_for(Emulator.from_state(state, clock=svc_clock))
    restored.emu.advance(h.emu.now() - restored.emu.now())
    # old tokens still verify (same key), the TOTP secret and settings survived
    assert restored.ok("GetUser", AccessToken=first["AccessToken"])["UserMFASettingList"] == [
        "SOFTWARE_TOKEN_MFA"
    ]
    assert restored.emu.jwks(pool_id) == h.emu.jwks(pool_id)
    step = restored.password_auth(
        client_id,
        "alice@example.com",
        SECRET_HASH=secret_hash(secret, "alice@example.com", client_id),
    )
    assert step["ChallengeName"] == "SOFTWARE_TOKEN_MFA"
    restored.emu.advance(30)
    code = restored.emu.totp_code(pool_id, "alice@example.com")
    done = restored.answer(
        client_id,
        step,
        USERNAME=internal,
        SOFTWARE_TOKEN_MFA_CODE=code,
        SECRET_HASH=secret_hash(secret, internal, client_id),
    )
    assert "AuthenticationResult" in done
    refreshed = restored.ok(
        "InitiateAuth",
        AuthFlow="REFRESH_TOKEN_AUTH",
        ClientId=client_id,
        AuthParameters={
            "REFRESH_TOKEN": first["RefreshToken"],
            "SECRET_HASH": secret_hash(secret, internal, client_id),
        },
    )
    assert "AccessToken" in refreshed["AuthenticationResult"]


def test_fault_injection(direct_h: Harness) -> None:
    # the model's side: each answer carries the delay its front must wait (the fronts' waiting
    # is test_app.py's and test_server.py's)
    h = direct_h
    _pool_id, client_id, _ = setup(h)
    h.emu.inject_fault("InitiateAuth", error="TooManyRequestsException", count=2, delay=0.5)
    for _ in range(2):
        response = h.raw(
            "InitiateAuth",
            {
                "AuthFlow": "USER_PASSWORD_AUTH",
                "ClientId": client_id,
                "AuthParameters": {"USERNAME": "alice", "PASSWORD": PASSWORD},
            },
        )
        assert response.status == 400 and response.delay == 0.5
        assert json.loads(response.body)["__type"] == "TooManyRequestsException"
    assert h.password_auth(client_id, "alice")
    h.emu.inject_fault("GetUser")
    response = h.raw("GetUser", {"AccessToken": "x"})
    assert response.status == 500
    assert json.loads(response.body)["__type"] == "InternalErrorException"
    h.emu.inject_fault("InitiateAuth", error=None, delay=2.0)
    slow = h.raw(
        "InitiateAuth",
        {
            "AuthFlow": "USER_PASSWORD_AUTH",
            "ClientId": client_id,
            "AuthParameters": {"USERNAME": "alice", "PASSWORD": PASSWORD},
        },
    )
    assert slow.status == 200 and slow.delay == 2.0
    h.emu.inject_fault("InitiateAuth", error="InternalErrorException", message="boom", count=5)
    h.emu.clear_faults()
    assert h.password_auth(client_id, "alice")
    with pytest.raises(ValueError):
        h.emu.inject_fault("NoSuchOperation")


def test_conveniences(h: Harness) -> None:
    pool_id = h.pool()
    h.mfa_config(pool_id, "ON", sms=True, totp=True)
    client_id, _ = h.client(pool_id)
    h.user(pool_id, "alice", phone_number="+15555551234")
    with pytest.raises(LookupError):
        h.emu.last_code("alice")
    with pytest.raises(LookupError):
        h.emu.totp_code(pool_id, "alice")
    h.password_auth(client_id, "alice")
    assert h.emu.last_code("alice") == h.emu.last_code("+15555551234", "SMS")
    with pytest.raises(LookupError):
        h.emu.last_code("alice", "EMAIL")
    start = h.emu.now()
    h.emu.advance(12.5)
    assert h.emu.now() == start + 12.5
    with pytest.raises(ValueError):
        h.emu.advance(-1)


def test_totp_code_helper_matches_pyotp(h: Harness) -> None:
    pool_id = h.pool()
    h.mfa_config(pool_id, "OPTIONAL", totp=True)
    client_id, _ = h.client(pool_id)
    h.user(pool_id, "alice")
    token = h.password_auth(client_id, "alice")["AuthenticationResult"]["AccessToken"]
    secret = h.ok("AssociateSoftwareToken", AccessToken=token)["SecretCode"]
    at = h.emu.now() + 90
    assert h.emu.totp_code(pool_id, "alice", at) == pyotp.TOTP(secret).at(at)


def test_invitation_message_unless_suppressed(h: Harness) -> None:
    pool_id = h.pool()
    h.ok(
        "AdminCreateUser",
        UserPoolId=pool_id,
        Username="alice",
        TemporaryPassword="Temp-pass1",
        DesiredDeliveryMediums=["EMAIL"],
        UserAttributes=[{"Name": "email", "Value": "alice@example.com"}],
    )
    assert h.emu.last_code("alice", "EMAIL") == "Temp-pass1"
    h.user(pool_id, "bob", email="bob@example.com")
    with pytest.raises(LookupError):
        h.emu.last_code("bob")
    exists = h.fail(
        "AdminCreateUser", UserPoolId=pool_id, Username="alice", MessageAction="SUPPRESS"
    )
    assert exists.code == "UsernameExistsException"


def test_pool_and_client_admin(h: Harness) -> None:
    pool_id = h.pool(UsernameAttributes=["email"])
    described = h.ok("DescribeUserPool", UserPoolId=pool_id)["UserPool"]
    assert described["Id"] == pool_id and described["UsernameAttributes"] == ["email"]
    client_id, _ = h.client(pool_id)
    shape = h.ok("DescribeUserPoolClient", UserPoolId=pool_id, ClientId=client_id)
    assert shape["UserPoolClient"]["AuthSessionValidity"] == 3
    assert "ClientSecret" not in shape["UserPoolClient"]
    too_long = h.fail(
        "CreateUserPoolClient", UserPoolId=pool_id, ClientName="x", AuthSessionValidity=16
    )
    assert too_long.code == "InvalidParameterException"
    assert "Member must have value less than or equal to 15" in too_long.message
    not_email = h.fail("AdminCreateUser", UserPoolId=pool_id, Username="alice")
    assert not_email.code == "InvalidParameterException"
    h.user(pool_id, "alice@example.com")
    dup = h.fail(
        "AdminCreateUser",
        UserPoolId=pool_id,
        Username="alice@example.com",
        MessageAction="SUPPRESS",
    )
    assert (dup.code, dup.message) == (
        "UsernameExistsException",
        "An account with the given email already exists.",
    )
    assert h.ok("AdminGetUser", UserPoolId=pool_id, Username="alice@example.com")["UserStatus"] == (
        "CONFIRMED"
    )
    h.ok("DeleteUserPool", UserPoolId=pool_id)
    gone = h.fail("DescribeUserPool", UserPoolId=pool_id)
    assert (gone.code, gone.message) == (
        "ResourceNotFoundException",
        f"User pool {pool_id} does not exist.",
    )


def test_secrets_stay_out_of_reprs(h: Harness) -> None:
    pool_id = h.pool()
    h.mfa_config(pool_id, "ON", sms=True, totp=True)
    client_id, secret = h.client(pool_id, GenerateSecret=True)
    assert secret is not None
    h.user(pool_id, "alice", phone_number="+15555551234")
    step = h.password_auth(client_id, "alice", SECRET_HASH=secret_hash(secret, "alice", client_id))
    pool = h.emu._model.pools[pool_id]
    user = pool.users["alice"]
    session = h.emu._model.sessions[step["Session"]]
    text = repr(pool) + repr(session) + repr(h.emu.messages)
    for value in (secret, step["Session"], h.emu.last_code("alice"), format(user.verifier, "x")):
        assert value not in text


def test_answering_totp_without_one(h: Harness) -> None:
    pool_id = h.pool()
    h.mfa_config(pool_id, "ON", sms=True, totp=True)
    client_id, _ = h.client(pool_id)
    h.user(pool_id, "alice", phone_number="+15555551234")
    step = h.password_auth(client_id, "alice")
    assert step["ChallengeName"] == "SMS_MFA"
    failure = h.fail(
        "RespondToAuthChallenge",
        ClientId=client_id,
        ChallengeName="SOFTWARE_TOKEN_MFA",
        Session=step["Session"],
        ChallengeResponses={"USERNAME": "alice", "SOFTWARE_TOKEN_MFA_CODE": "123456"},
    )
    assert failure.code == "SoftwareTokenMFANotFoundException"


def test_admin_refresh_and_unknown_pool(h: Harness) -> None:
    pool_id, client_id, result = setup(h)
    refreshed = h.ok(
        "AdminInitiateAuth",
        UserPoolId=pool_id,
        ClientId=client_id,
        AuthFlow="REFRESH_TOKEN_AUTH",
        AuthParameters={"REFRESH_TOKEN": result["RefreshToken"]},
    )
    assert "IdToken" in refreshed["AuthenticationResult"]
    missing = h.fail(
        "AdminInitiateAuth",
        UserPoolId="us-east-1_Missing1",
        ClientId=client_id,
        AuthFlow="REFRESH_TOKEN_AUTH",
        AuthParameters={"REFRESH_TOKEN": result["RefreshToken"]},
    )
    assert (missing.code, missing.message) == (
        "ResourceNotFoundException",
        "User pool us-east-1_Missing1 does not exist.",
    )
