"""One behaviour suite, run over both fronts (the ``front`` fixture of fronts.py)."""

from __future__ import annotations

import json
from typing import Any

import fronts
import jwt
import pyotp
import pytest
from botocore.exceptions import ClientError, NoCredentialsError
from conftest import FAKE_SIGNATURE
from fronts import Front, srp_sign_in

PASSWORD = "Correct-Horse-9"

front = fronts.front  # the shared fixture


def error_of(info: pytest.ExceptionInfo[ClientError]) -> tuple[str, str]:
    error = info.value.response["Error"]
    return error["Code"], error["Message"]


async def test_password_sign_in_and_wrong_password(front: Front) -> None:
    client, seeder, pool = await front.seeded()
    await seeder.create_user(pool, "alice", PASSWORD)
    response = await client.initiate_auth(
        AuthFlow="USER_PASSWORD_AUTH",
        ClientId=pool.client_id,
        AuthParameters={"USERNAME": "alice", "PASSWORD": PASSWORD},
    )
    assert set(response["AuthenticationResult"]) >= {"AccessToken", "IdToken", "RefreshToken"}

    with pytest.raises(ClientError) as info:
        await client.initiate_auth(
            AuthFlow="USER_PASSWORD_AUTH",
            ClientId=pool.client_id,
            AuthParameters={"USERNAME": "alice", "PASSWORD": PASSWORD + "x"},
        )
    assert error_of(info) == ("NotAuthorizedException", "Incorrect username or password.")


async def test_srp_sign_in_and_wrong_password(front: Front) -> None:
    client, seeder, pool = await front.seeded()
    await seeder.create_user(pool, "alice", PASSWORD)
    response = await srp_sign_in(client, pool, "alice", PASSWORD, now=front.emulator.now())
    access = jwt.decode(
        response["AuthenticationResult"]["AccessToken"], options={"verify_signature": False}
    )
    assert access["username"] == "alice"
    assert access["token_use"] == "access"

    with pytest.raises(ClientError) as info:
        await srp_sign_in(client, pool, "alice", "Wrong-Horse-9", now=front.emulator.now())
    assert error_of(info) == ("NotAuthorizedException", "Incorrect username or password.")


async def test_sms_code_from_the_outbox(front: Front) -> None:
    client, seeder, pool = await front.seeded()
    await seeder.create_user(pool, "bob", PASSWORD, phone="+15555550123", mfa=["SMS"])
    started = await client.initiate_auth(
        AuthFlow="USER_PASSWORD_AUTH",
        ClientId=pool.client_id,
        AuthParameters={"USERNAME": "bob", "PASSWORD": PASSWORD},
    )
    assert started["ChallengeName"] == "SMS_MFA"
    assert started["ChallengeParameters"]["CODE_DELIVERY_DELIVERY_MEDIUM"] == "SMS"
    assert "0123" in started["ChallengeParameters"]["CODE_DELIVERY_DESTINATION"]
    sent = [m for m in await front.messages() if m["username"] == "bob"]
    assert [(m["medium"], m["destination"]) for m in sent] == [("SMS", "+15555550123")]
    code = sent[-1]["code"]
    assert code == front.emulator.last_code("bob", "SMS")

    wrong = "000000" if code != "000000" else "111111"
    with pytest.raises(ClientError) as info:
        await client.respond_to_auth_challenge(
            ClientId=pool.client_id,
            ChallengeName="SMS_MFA",
            Session=started["Session"],
            ChallengeResponses={"USERNAME": "bob", "SMS_MFA_CODE": wrong},
        )
    assert error_of(info)[0] == "CodeMismatchException"
    # The session survives a wrong code.
    done = await client.respond_to_auth_challenge(
        ClientId=pool.client_id,
        ChallengeName="SMS_MFA",
        Session=started["Session"],
        ChallengeResponses={"USERNAME": "bob", "SMS_MFA_CODE": code},
    )
    assert "AccessToken" in done["AuthenticationResult"]


async def test_totp_sign_in_with_a_seeded_secret(front: Front) -> None:
    client, seeder, pool = await front.seeded()
    user = await seeder.create_user(pool, "carol", PASSWORD, totp=True, preferred="TOTP")
    assert user.totp_secret is not None and len(user.totp_secret) == 52
    started = await client.initiate_auth(
        AuthFlow="USER_PASSWORD_AUTH",
        ClientId=pool.client_id,
        AuthParameters={"USERNAME": "carol", "PASSWORD": PASSWORD},
    )
    assert started["ChallengeName"] == "SOFTWARE_TOKEN_MFA"
    done = await client.respond_to_auth_challenge(
        ClientId=pool.client_id,
        ChallengeName="SOFTWARE_TOKEN_MFA",
        Session=started["Session"],
        ChallengeResponses={
            "USERNAME": "carol",
            "SOFTWARE_TOKEN_MFA_CODE": pyotp.TOTP(user.totp_secret).at(int(front.emulator.now())),
        },
    )
    assert "IdToken" in done["AuthenticationResult"]


async def test_select_mfa_type_lists_json(front: Front) -> None:
    client, seeder, pool = await front.seeded()
    await seeder.create_user(
        pool, "dave", PASSWORD, phone="+15555550124", totp=True, mfa=["SMS", "TOTP"]
    )
    started = await client.initiate_auth(
        AuthFlow="USER_PASSWORD_AUTH",
        ClientId=pool.client_id,
        AuthParameters={"USERNAME": "dave", "PASSWORD": PASSWORD},
    )
    assert started["ChallengeName"] == "SELECT_MFA_TYPE"
    assert sorted(json.loads(started["ChallengeParameters"]["MFAS_CAN_CHOOSE"])) == [
        "SMS_MFA",
        "SOFTWARE_TOKEN_MFA",
    ]


async def test_tokens_verify_against_the_jwks(front: Front) -> None:
    client, seeder, pool = await front.seeded()
    await seeder.create_user(pool, "erin", PASSWORD)
    tokens = (
        await client.initiate_auth(
            AuthFlow="USER_PASSWORD_AUTH",
            ClientId=pool.client_id,
            AuthParameters={"USERNAME": "erin", "PASSWORD": PASSWORD},
        )
    )["AuthenticationResult"]
    unverified = jwt.decode(tokens["IdToken"], options={"verify_signature": False})
    http = await front.http()
    response = await http.get(f"/{pool.pool_id}/.well-known/jwks.json")
    assert response.status_code == 200
    keys = jwt.PyJWKSet.from_dict(response.json())
    kid = jwt.get_unverified_header(tokens["IdToken"])["kid"]
    key = next(k for k in keys.keys if k.key_id == kid)
    claims = jwt.decode(
        tokens["IdToken"],
        key.key,
        algorithms=["RS256"],
        audience=pool.client_id,
        issuer=unverified["iss"],
        options={"verify_exp": False, "verify_iat": False},
    )
    assert claims["cognito:username"] == "erin"
    assert claims["token_use"] == "id"
    missing = await http.get("/us-east-1_Missing/.well-known/jwks.json")
    assert missing.status_code == 404


async def test_unsigned_admin_call_is_refused(front: Front) -> None:
    _, _, pool = await front.seeded()
    unsigned = await front.client(signed=False)
    # botocore itself refuses to send an Admin call without credentials ...
    with pytest.raises(NoCredentialsError):
        await unsigned.admin_get_user(UserPoolId=pool.pool_id, Username="nobody")
    # ... so send one raw, as a hand-written client could.
    http = await front.http()
    response = await http.post(
        "/",
        content=b'{"UserPoolId": "%s", "Username": "nobody"}' % pool.pool_id.encode(),
        headers={
            "X-Amz-Target": "AWSCognitoIdentityProviderService.AdminGetUser",
            "Content-Type": "application/x-amz-json-1.1",
        },
    )
    assert response.status_code == 403
    assert response.json()["__type"] == "MissingAuthenticationTokenException"
    # The same call with a SigV4 Authorization header gets through to the model.
    signed = await http.post(
        "/",
        content=b'{"UserPoolId": "%s", "Username": "nobody"}' % pool.pool_id.encode(),
        headers={
            "X-Amz-Target": "AWSCognitoIdentityProviderService.AdminGetUser",
            "Content-Type": "application/x-amz-json-1.1",
            "Authorization": FAKE_SIGNATURE,
        },
    )
    assert signed.json()["__type"] == "UserNotFoundException"


async def test_wire_errors(front: Front) -> None:
    http = await front.http()
    headers = {"Content-Type": "application/x-amz-json-1.1"}
    malformed = await http.post(
        "/",
        content=b"{not json",
        headers={**headers, "X-Amz-Target": "AWSCognitoIdentityProviderService.InitiateAuth"},
    )
    assert malformed.status_code == 400
    assert malformed.json()["__type"] == "SerializationException"
    unknown = await http.post(
        "/",
        content=b"{}",
        headers={**headers, "X-Amz-Target": "AWSCognitoIdentityProviderService.NoSuchThing"},
    )
    assert unknown.status_code == 400
    assert unknown.json()["__type"] == "UnknownOperationException"


async def test_injected_fault_then_recovery(front: Front) -> None:
    client, seeder, pool = await front.seeded()
    await seeder.create_user(pool, "frank", PASSWORD)
    front.inject_fault("InitiateAuth", error="TooManyRequestsException", message="Rate exceeded")
    request: dict[str, Any] = {
        "AuthFlow": "USER_PASSWORD_AUTH",
        "ClientId": pool.client_id,
        "AuthParameters": {"USERNAME": "frank", "PASSWORD": PASSWORD},
    }
    with pytest.raises(ClientError) as info:
        await client.initiate_auth(**request)
    assert error_of(info) == ("TooManyRequestsException", "Rate exceeded")
    assert "AuthenticationResult" in await client.initiate_auth(**request)

    front.inject_fault("InitiateAuth")  # InternalErrorException by default: a 500
    with pytest.raises(ClientError) as info:
        await client.initiate_auth(**request)
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 500
    assert error_of(info)[0] == "InternalErrorException"


async def test_sessions_expire_with_the_emulator_clock(front: Front) -> None:
    client, seeder, pool = await front.seeded()
    await seeder.create_user(pool, "gina", PASSWORD, phone="+15555550125", mfa=["SMS"])
    started = await client.initiate_auth(
        AuthFlow="USER_PASSWORD_AUTH",
        ClientId=pool.client_id,
        AuthParameters={"USERNAME": "gina", "PASSWORD": PASSWORD},
    )
    with front.lock:
        front.emulator.advance(3 * 60 + 1)
    with pytest.raises(ClientError) as info:
        await client.respond_to_auth_challenge(
            ClientId=pool.client_id,
            ChallengeName="SMS_MFA",
            Session=started["Session"],
            ChallengeResponses={
                "USERNAME": "gina",
                "SMS_MFA_CODE": front.emulator.last_code("gina", "SMS"),
            },
        )
    assert error_of(info)[0] == "NotAuthorizedException"
