"""Process-wide defaults of the sign-in driver: the clock, randomness and the SRP thread limit.

The pure code takes time and randomness as parameters; these are what a :class:`UserPool`
passes when the caller gives none.
"""

from __future__ import annotations

import os
import secrets
from datetime import UTC, datetime

import anyio
from anyio.lowlevel import RunVar

__all__ = ["default_clock", "default_random_bytes", "srp_limiter"]

_SRP_LIMITER: RunVar[anyio.CapacityLimiter] = RunVar("cognito_mfa_srp_limiter")


def srp_limiter() -> anyio.CapacityLimiter:
    """The worker-thread limit for SRP math on the current event loop: one core fewer than
    the machine has (at least one), so the loop thread always finds a free core while many
    sign-ins compute at once (gmpy2 releases the GIL; anyio's default allows 40 threads)."""
    try:
        return _SRP_LIMITER.get()
    except LookupError:
        limiter = anyio.CapacityLimiter(max(1, (os.cpu_count() or 2) - 1))
        _SRP_LIMITER.set(limiter)
        return limiter


def default_random_bytes(count: int) -> bytes:
    """Randomness for SRP secret exponents: the OS CSPRNG."""
    return secrets.token_bytes(count)


def default_clock() -> datetime:
    """The time for SRP's TIMESTAMP and token expiry: the system clock, in UTC."""
    return datetime.now(UTC)
