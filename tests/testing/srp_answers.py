"""The client's side of the emulator's SRP challenges, computed in one place for every test.

PASSWORD_VERIFIER (the pool name and the user's SRP id) and DEVICE_PASSWORD_VERIFIER (the
device group key in their place, the device key as the user) share one proof: a key from
:func:`cognito_mfa._srp.client_key` and a signature over the secret block and a timestamp on
the emulator's clock. A test that builds a deliberately wrong proof does it through the
parameters (another password, another timestamp), never through a copy of the arithmetic.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from typing import Any

from cognito_mfa import _srp as srp


def ephemeral() -> tuple[int, int]:
    """A fresh client secret ``a`` and its public ``A``."""
    a = srp.secret_exponent(os.urandom(32))
    return a, srp.client_public(a)


def _proof(
    *,
    pool_name: str,
    user_id: str,
    password: str,
    a: int,
    big_a: int,
    parameters: dict[str, Any],
    now: float,
    timestamp: str | None,
) -> dict[str, str]:
    key = srp.client_key(
        pool_name=pool_name,
        user_id=user_id,
        password=password,
        a=a,
        big_a=big_a,
        srp_b_hex=parameters["SRP_B"],
        salt_hex=parameters["SALT"],
    )
    if timestamp is None:
        timestamp = srp.format_timestamp(datetime.fromtimestamp(now, UTC))
    return {
        "PASSWORD_CLAIM_SECRET_BLOCK": parameters["SECRET_BLOCK"],
        "TIMESTAMP": timestamp,
        "PASSWORD_CLAIM_SIGNATURE": srp.password_claim_signature(
            key, pool_name, user_id, parameters["SECRET_BLOCK"], timestamp
        ),
    }


def password_verifier(
    pool_id: str,
    parameters: dict[str, Any],
    a: int,
    big_a: int,
    password: str,
    *,
    now: float,
    timestamp: str | None = None,
) -> dict[str, str]:
    """The PASSWORD_VERIFIER ChallengeResponses for the challenge ``parameters``.

    ``timestamp`` replaces the one made from ``now`` (a test of the TIMESTAMP check).
    """
    user_id = parameters["USER_ID_FOR_SRP"]
    proof = _proof(
        pool_name=srp.pool_name_of(pool_id),
        user_id=user_id,
        password=password,
        a=a,
        big_a=big_a,
        parameters=parameters,
        now=now,
        timestamp=timestamp,
    )
    return {"USERNAME": user_id, **proof}


def device_password_verifier(
    group_key: str,
    device_key: str,
    parameters: dict[str, Any],
    a: int,
    big_a: int,
    password: str,
    *,
    username: str,
    now: float,
) -> dict[str, str]:
    """The DEVICE_PASSWORD_VERIFIER ChallengeResponses for the challenge ``parameters``."""
    proof = _proof(
        pool_name=group_key,
        user_id=device_key,
        password=password,
        a=a,
        big_a=big_a,
        parameters=parameters,
        now=now,
        timestamp=None,
    )
    return {"USERNAME": username, "DEVICE_KEY": device_key, **proof}
