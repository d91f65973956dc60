"""Benchmark 6: the emulator's own cost per sign-in, with and without gmpy2.

Drives :meth:`Emulator.handle <cognito_mfa.testing.service.Emulator.handle>` directly with
the JSON bodies a client sends (InitiateAuth USER_SRP_AUTH, RespondToAuthChallenge
PASSWORD_VERIFIER, RespondToAuthChallenge SOFTWARE_TOKEN_MFA), and times only those three
calls (``time.process_time``); the client's side of SRP is computed in between, untimed, with
gmpy2. The emulator's SRP backend is this process's default, so the runner calls this in the
gmpy2 worker and in the ``COGNITO_MFA_SRP_BACKEND=python`` worker. Request parsing, the
service model, SRP, and issuing the RS256-signed tokens are all counted; HTTP is not.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from datetime import UTC, datetime
from typing import Any

import pyotp

from benchmarks._stats import summary
from benchmarks.serve import seed
from cognito_mfa import _srp as srp
from cognito_mfa.testing.service import TARGET_PREFIX, Emulator


def _call(emulator: Emulator, operation: str, body: dict[str, Any]) -> dict[str, Any]:
    wire = emulator.handle(TARGET_PREFIX + operation, json.dumps(body).encode(), signed=False)
    if wire.status != 200:
        raise AssertionError(f"{operation}: HTTP {wire.status} {wire.body[:200]!r}")
    answer: dict[str, Any] = json.loads(wire.body)
    return answer


def run(params: dict[str, Any]) -> dict[str, Any]:
    count = int(params["signins"])
    emulator = Emulator()
    pool, users = asyncio.run(seed(emulator, count))
    pool_name = srp.pool_name_of(pool.pool_id)
    cpu_ms: list[float] = []
    for user in users:
        a = srp.secret_exponent(os.urandom(srp.SECRET_EXPONENT_BITS // 8))
        big_a = srp.client_public(a, fast=True)
        start = time.process_time()
        challenge = _call(
            emulator,
            "InitiateAuth",
            {
                "AuthFlow": "USER_SRP_AUTH",
                "ClientId": pool.client_id,
                "AuthParameters": {"USERNAME": user["username"], "SRP_A": format(big_a, "x")},
            },
        )
        server_cpu = time.process_time() - start
        parameters = challenge["ChallengeParameters"]
        user_id = parameters["USER_ID_FOR_SRP"]
        key = srp.client_key(
            pool_name=pool_name,
            user_id=user_id,
            password=user["password"],
            a=a,
            big_a=big_a,
            srp_b_hex=parameters["SRP_B"],
            salt_hex=parameters["SALT"],
            fast=True,
        )
        timestamp = srp.format_timestamp(datetime.now(UTC))
        signature = srp.password_claim_signature(
            key, pool_name, user_id, parameters["SECRET_BLOCK"], timestamp
        )
        start = time.process_time()
        mfa = _call(
            emulator,
            "RespondToAuthChallenge",
            {
                "ClientId": pool.client_id,
                "ChallengeName": "PASSWORD_VERIFIER",
                "ChallengeResponses": {
                    "USERNAME": parameters["USERNAME"],
                    "PASSWORD_CLAIM_SECRET_BLOCK": parameters["SECRET_BLOCK"],
                    "PASSWORD_CLAIM_SIGNATURE": signature,
                    "TIMESTAMP": timestamp,
                },
            },
        )
        server_cpu += time.process_time() - start
        if mfa.get("ChallengeName") != "SOFTWARE_TOKEN_MFA":
            raise AssertionError(f"expected SOFTWARE_TOKEN_MFA, got {mfa.get('ChallengeName')}")
        code = pyotp.TOTP(user["totp_secret"]).now()
        start = time.process_time()
        tokens = _call(
            emulator,
            "RespondToAuthChallenge",
            {
                "ClientId": pool.client_id,
                "ChallengeName": "SOFTWARE_TOKEN_MFA",
                "Session": mfa["Session"],
                "ChallengeResponses": {
                    "USERNAME": parameters["USERNAME"],
                    "SOFTWARE_TOKEN_MFA_CODE": code,
                },
            },
        )
        server_cpu += time.process_time() - start
        if "IdToken" not in tokens.get("AuthenticationResult", {}):
            raise AssertionError("the emulator issued no id token")
        cpu_ms.append(server_cpu * 1e3)
    return {
        "fast": srp.FAST,
        "signins": count,
        "ms_cpu": summary(cpu_ms),
        "per_s": count / (sum(cpu_ms) / 1e3),
    }
