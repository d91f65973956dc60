"""Many users signing in at once (SRP + TOTP MFA) through one UserPool, against the emulator.

Every user must get their own tokens (the ID token's ``cognito:username`` and ``sub``, the
access token's ``username``), no sign-in may fail, and memory must stay bounded: the
tracemalloc peak of the whole concurrent run, divided by the number of users, stays under
:data:`PEAK_BYTES_PER_FLOW`. The test suite runs :data:`USERS` users; the full size runs as::

    python -m tests.test_load --users 1000

which prints the figures (wall time, sign-ins per second, peak memory per flow).
"""

from __future__ import annotations

import argparse
import sys
import time
import tracemalloc
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import anyio
import anyio.lowlevel
import pyotp

import cognito_mfa as cm
from cognito_mfa.testing import (
    EMULATOR_ENDPOINT,
    Emulator,
    SeededUser,
    Seeder,
    emulator_client,
    httpx_client_config,
)

USERS = 100
"""Users signing in at once in the test suite (the benchmark runs 1,000)."""

PEAK_BYTES_PER_FLOW = 128 * 1024
"""Bound on a concurrent run's tracemalloc peak per sign-in (measured: 29-35 KiB)."""

PASSWORD = "Correct-Horse-9"
START = 1_800_000_015.0  # a fixed clock: every code of the run is in the same TOTP step


@dataclass
class LoadReport:
    users: int
    seconds: float
    peak_bytes: int
    sessions: dict[str, cm.CognitoUserSession]

    @property
    def peak_per_flow(self) -> float:
        return self.peak_bytes / self.users


async def run_load(users: int, *, trace_memory: bool = True) -> tuple[LoadReport, list[SeededUser]]:
    """Seed ``users`` TOTP users, then sign them all in at once through one pool."""
    emulator = Emulator(clock=lambda: START)
    async with emulator_client(emulator) as client:
        seeder = Seeder(client, clock=emulator.now)
        seeded = await seeder.create_pool_and_client()
        people = [
            await seeder.create_user(seeded, f"user{i:04d}", PASSWORD, preferred="TOTP")
            for i in range(users)
        ]
    sessions: dict[str, cm.CognitoUserSession] = {}
    pool = cm.UserPool(
        seeded.pool_id,
        seeded.client_id,
        endpoint_url=EMULATOR_ENDPOINT,
        botocore_config=httpx_client_config(emulator),
        clock=lambda: datetime.fromtimestamp(emulator.now(), UTC),
    )
    async with pool:

        async def one(user: SeededUser) -> None:
            assert user.totp_secret is not None
            flow = pool.sign_in(user.username, PASSWORD)
            async for challenge in flow:
                assert isinstance(challenge, cm.SoftwareTokenMfaChallenge)
                assert challenge.username == user.username
                await anyio.lowlevel.checkpoint()  # let the other sign-ins interleave here too
                await challenge.answer(pyotp.TOTP(user.totp_secret).at(int(START)))
            sessions[user.username] = flow.session

        if trace_memory:
            tracemalloc.start()
            tracemalloc.reset_peak()
            baseline = tracemalloc.get_traced_memory()[0]
        started = time.perf_counter()
        async with anyio.create_task_group() as tg:
            for user in people:
                tg.start_soon(one, user)
        seconds = time.perf_counter() - started
        peak = 0
        if trace_memory:
            peak = tracemalloc.get_traced_memory()[1] - baseline
            tracemalloc.stop()
    return LoadReport(users, seconds, peak, sessions), people


def check(report: LoadReport, people: Sequence[SeededUser]) -> None:
    """Everyone signed in, each with their own tokens."""
    assert len(report.sessions) == len(people)
    for user in people:
        session = report.sessions[user.username]
        id_claims = session.unverified_id_claims
        assert id_claims["cognito:username"] == user.username
        assert id_claims["sub"] == user.sub
        assert session.unverified_access_claims["username"] == user.username
        assert session.unverified_access_claims["sub"] == user.sub
    for token in ("id_token", "access_token", "refresh_token"):
        values = {getattr(s, token).get_secret_value() for s in report.sessions.values()}
        assert len(values) == len(people), f"two users share an {token}"


async def test_concurrent_sign_ins_through_one_pool() -> None:
    report, people = await run_load(USERS)
    check(report, people)
    assert report.peak_per_flow < PEAK_BYTES_PER_FLOW, f"{report.peak_per_flow:.0f} B per flow"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--users", type=int, default=1000)
    parser.add_argument("--no-trace", action="store_true", help="skip tracemalloc (faster)")
    args = parser.parse_args(argv)
    report, people = anyio.run(lambda: run_load(args.users, trace_memory=not args.no_trace))
    check(report, people)
    print(f"users:            {report.users}")
    print(f"wall time:        {report.seconds:.2f} s")
    print(f"sign-ins/second:  {report.users / report.seconds:.1f}")
    if not args.no_trace:
        print(f"peak memory:      {report.peak_bytes / 2**20:.1f} MiB")
        print(f"peak per flow:    {report.peak_per_flow / 1024:.1f} KiB")
    print("every user got their own tokens; no error")
    return 0


if __name__ == "__main__":
    sys.exit(main())
