"""A small device client for the emulator's tests: what an official client does with devices.

The device password, the salt and verifier ConfirmDevice stores, and the DEVICE_SRP_AUTH and
DEVICE_PASSWORD_VERIFIER answers (srp_answers.py) are computed with :mod:`cognito_mfa._srp`
as amazon-cognito-identity-js computes them (the device group key in place of the pool name, the
device key in place of the user name). Used by test_service_devices.py and test_js_sdk.py.
"""

from __future__ import annotations

import base64
import os
from dataclasses import dataclass, field
from typing import Any

import jwt
import srp_answers
from conftest import PASSWORD, Harness

from cognito_mfa import _srp as srp
from cognito_mfa.testing import Emulator


@dataclass(frozen=True)
class DeviceCredentials:
    key: str
    group_key: str
    password: str = field(repr=False)


def device_secret(key: str, group_key: str) -> tuple[DeviceCredentials, dict[str, str]]:
    """A random device password and the DeviceSecretVerifierConfig that goes with it."""
    password = base64.b64encode(os.urandom(40)).decode()
    salt = int.from_bytes(os.urandom(16), "big") or 1
    verifier = srp.verifier(group_key, key, password, salt)
    config = {
        "Salt": base64.b64encode(bytes.fromhex(srp.pad_hex(salt))).decode(),
        "PasswordVerifier": base64.b64encode(bytes.fromhex(srp.pad_hex(verifier))).decode(),
    }
    return DeviceCredentials(key, group_key, password), config


def access_claims(tokens: dict[str, Any]) -> dict[str, Any]:
    claims: dict[str, Any] = jwt.decode(tokens["AccessToken"], options={"verify_signature": False})
    return claims


@dataclass
class World:
    h: Harness
    pool_id: str
    client_id: str
    password: str = field(default=PASSWORD, repr=False)  # every user's

    @property
    def emu(self) -> Emulator:
        return self.h.emu

    def totp(self, step: dict[str, Any], username: str = "alice") -> dict[str, Any]:
        assert step["ChallengeName"] == "SOFTWARE_TOKEN_MFA", step
        code = self.emu.totp_code(self.pool_id, username)
        done = self.h.answer(self.client_id, step, USERNAME=username, SOFTWARE_TOKEN_MFA_CODE=code)
        self.emu.advance(30)  # the code's step is spent
        return done

    def password_step(
        self,
        username: str = "alice",
        *,
        device: str | None = None,
        in_initiate: bool = False,
        password: str | None = None,
    ) -> dict[str, Any]:
        """USER_SRP_AUTH then PASSWORD_VERIFIER, naming ``device`` in the answer (or in
        InitiateAuth); returns what follows the password."""
        extra = {"DEVICE_KEY": device} if device is not None and in_initiate else {}
        started, a, big_a = self.h.srp_start(self.client_id, username, **extra)
        answers = self.h.srp_answers(
            self.pool_id, started, a, big_a, self.password if password is None else password
        )
        if device is not None and not in_initiate:
            answers["DEVICE_KEY"] = device
        return self.h.answer(self.client_id, started, **answers)

    def device_challenge(
        self,
        step: dict[str, Any],
        creds: DeviceCredentials,
        *,
        password: str | None = None,
        with_session: bool = True,
        username: str = "alice",
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """Answer DEVICE_SRP_AUTH; returns (DEVICE_PASSWORD_VERIFIER request, its answer)."""
        assert step["ChallengeName"] == "DEVICE_SRP_AUTH", step
        a, big_a = srp_answers.ephemeral()
        body: dict[str, Any] = {
            "ClientId": self.client_id,
            "ChallengeName": "DEVICE_SRP_AUTH",
            "ChallengeResponses": {
                "USERNAME": username,
                "DEVICE_KEY": creds.key,
                "SRP_A": format(big_a, "x"),
            },
        }
        if with_session:
            body["Session"] = step["Session"]
        verifier_step = self.h.ok("RespondToAuthChallenge", **body)
        assert verifier_step["ChallengeName"] == "DEVICE_PASSWORD_VERIFIER"
        responses = srp_answers.device_password_verifier(
            creds.group_key,
            creds.key,
            verifier_step["ChallengeParameters"],
            a,
            big_a,
            creds.password if password is None else password,
            username=username,
            now=self.emu.now(),
        )
        answer: dict[str, Any] = {
            "ClientId": self.client_id,
            "ChallengeName": "DEVICE_PASSWORD_VERIFIER",
            "ChallengeResponses": responses,
        }
        if with_session:
            answer["Session"] = verifier_step["Session"]
        return verifier_step, answer

    def device_sign_in(
        self, creds: DeviceCredentials, *, username: str = "alice", **kwargs: Any
    ) -> dict[str, Any]:
        step = self.password_step(username, device=creds.key)
        _, answer = self.device_challenge(step, creds, username=username, **kwargs)
        return self.h.ok("RespondToAuthChallenge", **answer)

    def new_device(self) -> tuple[dict[str, Any], DeviceCredentials, dict[str, str]]:
        """Sign in with TOTP; returns the tokens, the new device's credentials and config."""
        tokens = self.totp(self.password_step())["AuthenticationResult"]
        meta = tokens["NewDeviceMetadata"]
        creds, config = device_secret(meta["DeviceKey"], meta["DeviceGroupKey"])
        return tokens, creds, config

    def remembered_device(self, name: str = "laptop") -> tuple[dict[str, Any], DeviceCredentials]:
        tokens, creds, config = self.new_device()
        confirmed = self.h.ok(
            "ConfirmDevice",
            AccessToken=tokens["AccessToken"],
            DeviceKey=creds.key,
            DeviceName=name,
            DeviceSecretVerifierConfig=config,
        )
        assert confirmed == {"UserConfirmationNecessary": False}
        return tokens, creds
