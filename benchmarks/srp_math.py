"""Benchmark 2: the client's SRP computation alone, ours (both backends) vs pycognito's AWSSRP.

One "computation" is what a client does for PASSWORD_VERIFIER: draw a, compute A = g^a, then
x, u, S = (B - k·g^x)^(a + u·x), the HKDF key and PASSWORD_CLAIM_SIGNATURE. Rows:

* ours, gmpy2 and pure Python (``fast=True``/``False``), 256-bit secret exponent;
* pycognito 2024.5.1 ``AWSSRP`` (constructor draws a 1024-bit a and computes A;
  ``process_challenge`` does the rest), the baseline;
* plain ``pow`` with a 1024-bit exponent: the three exponentiations pycognito does, alone;
* plain ``gmpy2.powmod`` with a 1024-bit exponent: the same, to separate what gmpy2 buys from
  what the shorter exponent buys.

Timing is ``time.process_time_ns`` around each computation, in one thread, with the variants
interleaved round by round. Before timing, each variant's signature is checked against the
server side (:func:`cognito_mfa._srp.server_key`), so all rows do the same, correct work.
"""

from __future__ import annotations

import base64
import os
import secrets
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from benchmarks._stats import summary
from cognito_mfa import _srp as srp

POOL_ID = "us-east-1_BenchPool"
POOL_NAME = srp.pool_name_of(POOL_ID)
USER_ID = "7f3c2a9e-0d4b-4c51-9a7e-2b6f1e0c8d11"
PASSWORD = "Correct-horse-battery-1"
_NO_CLIENT = object()  # AWSSRP only needs a client to send; its math never touches it


class _Server:
    """A fixed server side: verifier, B, salt and secret block, as Cognito would send them."""

    def __init__(self) -> None:
        self.salt = int.from_bytes(os.urandom(16), "big") | 1
        self.v = srp.verifier(POOL_NAME, USER_ID, PASSWORD, self.salt)
        self.b = srp.secret_exponent(os.urandom(32))
        self.big_b = srp.server_public(self.v, self.b)
        self.b_hex = format(self.big_b, "x")
        self.salt_hex = format(self.salt, "x")
        self.secret_block = base64.b64encode(os.urandom(64)).decode()
        self.timestamp = srp.format_timestamp(datetime.now(UTC))

    def accepts(self, a_hex: str, timestamp: str, signature: str) -> bool:
        key = srp.server_key(srp_a_hex=a_hex, v=self.v, b=self.b, big_b=self.big_b)
        return srp.verify_password_claim(
            key, POOL_NAME, USER_ID, self.secret_block, timestamp, signature
        )


def _ours(server: _Server, fast: bool) -> Callable[[], tuple[str, str, str]]:
    def compute() -> tuple[str, str, str]:
        a = srp.secret_exponent(secrets.token_bytes(srp.SECRET_EXPONENT_BITS // 8))
        big_a = srp.client_public(a, fast=fast)
        key = srp.client_key(
            pool_name=POOL_NAME,
            user_id=USER_ID,
            password=PASSWORD,
            a=a,
            big_a=big_a,
            srp_b_hex=server.b_hex,
            salt_hex=server.salt_hex,
            fast=fast,
        )
        signature = srp.password_claim_signature(
            key, POOL_NAME, USER_ID, server.secret_block, server.timestamp
        )
        return format(big_a, "x"), server.timestamp, signature

    return compute


def _pycognito(server: _Server) -> Callable[[], tuple[str, str, str]]:
    from pycognito.aws_srp import AWSSRP

    challenge = {
        "USER_ID_FOR_SRP": USER_ID,
        "USERNAME": USER_ID,
        "SALT": server.salt_hex,
        "SRP_B": server.b_hex,
        "SECRET_BLOCK": server.secret_block,
    }

    def compute() -> tuple[str, str, str]:
        aws = AWSSRP(
            username=USER_ID,
            password=PASSWORD,
            pool_id=POOL_ID,
            client_id="bench-client",
            client=_NO_CLIENT,
        )
        response = aws.process_challenge(challenge, {"USERNAME": USER_ID})
        return (
            format(aws.large_a_value, "x"),
            response["TIMESTAMP"],
            response["PASSWORD_CLAIM_SIGNATURE"],
        )

    return compute


def _plain(server: _Server, power: Callable[[int, int, int], int]) -> Callable[[], None]:
    n, g = srp.N, srp.G
    x = srp.compute_x(POOL_NAME, USER_ID, PASSWORD, server.salt)

    def compute() -> None:
        a = int.from_bytes(os.urandom(128), "big") % n  # 1024 bits, as AWSSRP draws it
        big_a = power(g, a, n)
        u = srp.compute_u(big_a, server.big_b)
        base = (server.big_b - srp.K * power(g, x, n)) % n
        power(base, a + u * x, n)

    return compute


def run(params: dict[str, Any]) -> dict[str, Any]:
    iterations = int(params["iterations"])
    server = _Server()
    checked = {
        "ours (gmpy2)": _ours(server, fast=True),
        "ours (pure Python)": _ours(server, fast=False),
        "pycognito AWSSRP": _pycognito(server),
    }
    for name, client in checked.items():
        a_hex, timestamp, signature = client()
        if not server.accepts(a_hex, timestamp, signature):
            raise AssertionError(f"{name}: the server rejected the password claim")
    variants: dict[str, Callable[[], object]] = {
        **checked,
        "plain pow, 1024-bit a": _plain(server, pow),
    }
    try:
        import gmpy2

        def gmpy2_powmod(b: int, e: int, m: int) -> int:
            return int(gmpy2.powmod(b, e, m))

        variants["plain gmpy2.powmod, 1024-bit a"] = _plain(server, gmpy2_powmod)
    except ImportError:  # pragma: no cover - gmpy2 is part of the bench extra
        pass

    samples: dict[str, list[float]] = {name: [] for name in variants}
    names = list(variants)
    for i in range(iterations):
        # rotate the order each round so no variant always runs first (cache, frequency)
        for name in names[i % len(names) :] + names[: i % len(names)]:
            compute = variants[name]
            start = time.process_time_ns()
            compute()
            samples[name].append((time.process_time_ns() - start) / 1e6)
    return {"ms_cpu": {name: summary(values) for name, values in samples.items()}}
