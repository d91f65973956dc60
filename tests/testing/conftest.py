"""Drivers for the emulator's service and wire tests: JSON in, JSON out, no HTTP.

test_service*.py and test_wire*.py use the fixtures and import the helpers. The client side
of SRP is computed with :mod:`cognito_mfa._srp`, TOTP codes with pyotp, so every test drives
the emulator exactly as a real client would over the wire. (The fronts' fixtures live in
fronts.py.)
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest

from cognito_mfa import _srp as srp
from cognito_mfa.testing.service import SIGNED_OPERATIONS, Emulator, WireResponse

PREFIX = "AWSCognitoIdentityProviderService."
PASSWORD = "Passw0rd!"
START = 1_800_000_000.0


class FakeClock:
    def __init__(self, start: float = START) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now


def secret_hash(secret: str, username: str, client_id: str) -> str:
    digest = hmac.new(secret.encode(), (username + client_id).encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


@dataclass
class Failure:
    status: int
    code: str
    message: str


class Harness:
    """Drives :meth:`Emulator.handle` with Python dicts."""

    def __init__(self, emulator: Emulator) -> None:
        self.emu = emulator

    def raw(
        self, op: str, body: dict[str, Any] | bytes, *, signed: bool | None = None
    ) -> WireResponse:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        if signed is None:
            signed = op in SIGNED_OPERATIONS
        return self.emu.handle(PREFIX + op, data, signed=signed)

    def ok(self, op: str, **body: Any) -> dict[str, Any]:
        response = self.raw(op, body)
        assert response.status == 200, response.body
        result: dict[str, Any] = json.loads(response.body)
        return result

    def fail(self, op: str, **body: Any) -> Failure:
        response = self.raw(op, body)
        assert response.status != 200, response.body
        data = json.loads(response.body)
        assert set(data) == {"__type", "message"}
        return Failure(response.status, data["__type"], data["message"])

    # --- seeding ----------------------------------------------------------------------------

    def pool(self, **kwargs: Any) -> str:
        kwargs.setdefault("PoolName", "pool")
        pool_id: str = self.ok("CreateUserPool", **kwargs)["UserPool"]["Id"]
        return pool_id

    def mfa_config(
        self, pool_id: str, mfa: str, *, sms: bool = False, totp: bool = False, email: bool = False
    ) -> None:
        body: dict[str, Any] = {"UserPoolId": pool_id, "MfaConfiguration": mfa}
        if sms:
            body["SmsMfaConfiguration"] = {"SmsAuthenticationMessage": "Code {####}"}
        body["SoftwareTokenMfaConfiguration"] = {"Enabled": totp}
        if email:
            body["EmailMfaConfiguration"] = {"Message": "Code {####}", "Subject": "Code"}
        self.ok("SetUserPoolMfaConfig", **body)

    def client(self, pool_id: str, **kwargs: Any) -> tuple[str, str | None]:
        kwargs.setdefault("ClientName", "app")
        kwargs.setdefault(
            "ExplicitAuthFlows",
            [
                "ALLOW_USER_SRP_AUTH",
                "ALLOW_USER_PASSWORD_AUTH",
                "ALLOW_ADMIN_USER_PASSWORD_AUTH",
                "ALLOW_REFRESH_TOKEN_AUTH",
            ],
        )
        shape = self.ok("CreateUserPoolClient", UserPoolId=pool_id, **kwargs)["UserPoolClient"]
        return shape["ClientId"], shape.get("ClientSecret")

    def user(
        self,
        pool_id: str,
        username: str,
        *,
        password: str = PASSWORD,
        permanent: bool = True,
        **attributes: str,
    ) -> str:
        """Create a user; return the internal username (a UUID in email-as-username pools)."""
        created = self.ok(
            "AdminCreateUser",
            UserPoolId=pool_id,
            Username=username,
            MessageAction="SUPPRESS",
            TemporaryPassword=password,
            UserAttributes=[{"Name": k, "Value": v} for k, v in attributes.items()],
        )
        internal: str = created["User"]["Username"]
        if permanent:
            self.ok(
                "AdminSetUserPassword",
                UserPoolId=pool_id,
                Username=internal,
                Password=password,
                Permanent=True,
            )
        return internal

    # --- sign-in ----------------------------------------------------------------------------

    def password_auth(
        self, client_id: str, username: str, password: str = PASSWORD, **extra: str
    ) -> dict[str, Any]:
        return self.ok(
            "InitiateAuth",
            AuthFlow="USER_PASSWORD_AUTH",
            ClientId=client_id,
            AuthParameters={"USERNAME": username, "PASSWORD": password, **extra},
        )

    def srp_start(
        self, client_id: str, username: str, **extra: str
    ) -> tuple[dict[str, Any], int, int]:
        a = srp.secret_exponent(os.urandom(32))
        big_a = srp.client_public(a)
        started = self.ok(
            "InitiateAuth",
            AuthFlow="USER_SRP_AUTH",
            ClientId=client_id,
            AuthParameters={"USERNAME": username, "SRP_A": format(big_a, "x"), **extra},
        )
        return started, a, big_a

    def srp_answers(
        self,
        pool_id: str,
        started: dict[str, Any],
        a: int,
        big_a: int,
        password: str,
        *,
        timestamp: str | None = None,
    ) -> dict[str, str]:
        params = started["ChallengeParameters"]
        pool_name = srp.pool_name_of(pool_id)
        user_id = params["USER_ID_FOR_SRP"]
        key = srp.client_key(
            pool_name=pool_name,
            user_id=user_id,
            password=password,
            a=a,
            big_a=big_a,
            srp_b_hex=params["SRP_B"],
            salt_hex=params["SALT"],
        )
        if timestamp is None:
            timestamp = srp.format_timestamp(datetime.fromtimestamp(self.emu.now(), UTC))
        signature = srp.password_claim_signature(
            key, pool_name, user_id, params["SECRET_BLOCK"], timestamp
        )
        return {
            "USERNAME": user_id,
            "PASSWORD_CLAIM_SECRET_BLOCK": params["SECRET_BLOCK"],
            "TIMESTAMP": timestamp,
            "PASSWORD_CLAIM_SIGNATURE": signature,
        }

    def srp_sign_in(
        self, pool_id: str, client_id: str, username: str, password: str = PASSWORD
    ) -> dict[str, Any]:
        """USER_SRP_AUTH then PASSWORD_VERIFIER; returns the second response (200 only)."""
        started, a, big_a = self.srp_start(client_id, username)
        answers = self.srp_answers(pool_id, started, a, big_a, password)
        return self.ok(
            "RespondToAuthChallenge",
            ClientId=client_id,
            ChallengeName="PASSWORD_VERIFIER",
            Session=started["Session"],
            ChallengeResponses=answers,
        )

    def answer(self, client_id: str, step: dict[str, Any], **responses: str) -> dict[str, Any]:
        return self.ok(
            "RespondToAuthChallenge",
            ClientId=client_id,
            ChallengeName=step["ChallengeName"],
            Session=step["Session"],
            ChallengeResponses=responses,
        )

    def answer_fail(self, client_id: str, step: dict[str, Any], **responses: str) -> Failure:
        return self.fail(
            "RespondToAuthChallenge",
            ClientId=client_id,
            ChallengeName=step["ChallengeName"],
            Session=step["Session"],
            ChallengeResponses=responses,
        )

    def enrol_totp(self, pool_id: str, access_token: str, username: str) -> str:
        """Associate and verify TOTP with an access token, then enable it; returns the secret."""
        secret: str = self.ok("AssociateSoftwareToken", AccessToken=access_token)["SecretCode"]
        code = self.emu.totp_code(pool_id, username)
        assert (
            self.ok("VerifySoftwareToken", AccessToken=access_token, UserCode=code)["Status"]
            == "SUCCESS"
        )
        self.ok(
            "SetUserMFAPreference",
            AccessToken=access_token,
            SoftwareTokenMfaSettings={"Enabled": True},
        )
        # the verifying code's 30 s step is spent; move on so the next code is fresh
        self.emu.advance(30)
        return secret


@pytest.fixture
def svc_clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def svc_emulator(svc_clock: FakeClock) -> Emulator:
    return Emulator(clock=svc_clock)


@pytest.fixture
def h(svc_emulator: Emulator) -> Harness:
    return Harness(svc_emulator)
