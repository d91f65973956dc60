"""The emulated Cognito for the benchmarks, in its own process.

Builds an :class:`~cognito_mfa.testing.service.Emulator`, seeds one pool (MFA optional) with
``--users`` users who have TOTP enrolled and preferred, through
:class:`~cognito_mfa.testing.seed.Seeder` on the in-process front (no sockets, so seeding is
quick), then serves that same emulator on a loopback port with
:class:`~cognito_mfa.testing.server.EmulatorServer`, the server behind
``python -m cognito_mfa.testing serve``. It prints one JSON line (URL, pool, client, users with
their passwords and TOTP secrets: benchmark data, nothing else) and serves until its stdin
closes.

Running the server in another process keeps its CPU out of the client's
``time.process_time``. With ``--priority idle`` it runs under Linux's ``SCHED_IDLE`` policy
(every thread it starts inherits it): it then gets a core only when no client thread wants
one, the way a remote Cognito takes nothing from the client's machine. The loop-latency
benchmark uses such a server; where ``SCHED_IDLE`` is not available it falls back to nice 19,
and the hello line says which was applied. Every user signs in at most once per run: the
emulator, like Cognito, refuses a TOTP code already used in its 30-second step.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from typing import Any

from cognito_mfa.testing.inprocess import emulator_client
from cognito_mfa.testing.seed import SeededPool, Seeder
from cognito_mfa.testing.server import EmulatorServer
from cognito_mfa.testing.service import Emulator

PASSWORD = "Bench-passw0rd-1"
SEED_CONCURRENCY = 32


async def seed(emulator: Emulator, users: int) -> tuple[SeededPool, list[dict[str, Any]]]:
    async with emulator_client(emulator, retries={"total_max_attempts": 3}) as client:
        seeder = Seeder(client)
        pool = await seeder.create_pool_and_client("benchmarks", mfa="OPTIONAL")
        names = iter(range(users))
        out: list[dict[str, Any]] = []

        async def lane() -> None:
            for i in names:
                user = await seeder.create_user(
                    pool, f"bench{i:05d}", PASSWORD, mfa=["TOTP"], preferred="TOTP"
                )
                out.append(
                    {
                        "username": user.username,
                        "password": user.password,
                        "totp_secret": user.totp_secret,
                    }
                )

        await asyncio.gather(*(lane() for _ in range(SEED_CONCURRENCY)))
    out.sort(key=lambda u: str(u["username"]))
    return pool, out


def lower_priority() -> str:
    """Put this process at idle CPU priority; returns what was applied."""
    try:
        os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
        return "SCHED_IDLE"
    except (AttributeError, OSError):  # not Linux, or not allowed here
        pass
    try:
        os.nice(19)
        return "nice 19"
    except OSError:
        return "normal (could not lower it)"


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.serve")
    parser.add_argument("--users", type=int, required=True)
    parser.add_argument("--priority", choices=("normal", "idle"), default="normal")
    args = parser.parse_args()
    # before seeding, so the server's threads inherit it
    priority = lower_priority() if args.priority == "idle" else "normal"
    emulator = Emulator()
    pool, users = asyncio.run(seed(emulator, args.users))
    with EmulatorServer(emulator) as server:
        hello = {
            "url": server.url,
            "pool_id": pool.pool_id,
            "client_id": pool.client_id,
            "users": users,
            "priority": priority,
        }
        sys.stdout.write(json.dumps(hello) + "\n")
        sys.stdout.flush()
        sys.stdin.read()  # serve until the runner closes our stdin


if __name__ == "__main__":
    main()
