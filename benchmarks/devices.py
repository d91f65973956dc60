"""Benchmark 8 (issue 12): client CPU of a remembered-device sign-in against a password+TOTP one.

``python -m benchmarks.devices`` (``--quick`` for a smoke run, ``--out DIR`` for the JSON).

* **The server** runs in a process of its own (``python -m benchmarks.devices --serve N``), so
  ``time.process_time`` here counts none of its CPU: an :class:`Emulator` with one pool that
  tracks devices (``ChallengeRequiredOnNewDevice``), ``N`` users with TOTP enrolled and
  preferred, and for each user a device confirmed and remembered through the library
  (``confirm_device``), all seeded on the in-process front before the
  :class:`EmulatorServer` starts. It prints one JSON line (URL, pool, client, users with their
  passwords, TOTP secrets and device credentials: benchmark data) and serves until its stdin
  closes.
* **The two sign-ins**, with one :class:`UserPool` in this process, alternating one of each
  per round: *password + TOTP* is USER_SRP_AUTH, PASSWORD_VERIFIER and the
  SOFTWARE_TOKEN_MFA answer (each such sign-in uses a user no earlier one used: a TOTP code is
  accepted once per 30-second step); *remembered device* is USER_SRP_AUTH,
  PASSWORD_VERIFIER, DEVICE_SRP_AUTH and DEVICE_PASSWORD_VERIFIER, so two SRP computations
  and one more round trip than the TOTP sign-in's code answer.
* **CPU** is ``time.process_time()`` of this process per sign-in (the SRP worker threads
  included); medians; the ratio is device / TOTP, from the same run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyotp

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "Bench-passw0rd-1"
TRACKING = {"ChallengeRequiredOnNewDevice": True, "DeviceOnlyRememberedOnUserPrompt": False}


# --- the server process ------------------------------------------------------------------------


async def _seed(emulator: Any, users: int) -> dict[str, Any]:
    import cognito_mfa as cm
    from cognito_mfa.testing.inprocess import (
        EMULATOR_ENDPOINT,
        emulator_client,
        httpx_client_config,
    )
    from cognito_mfa.testing.seed import Seeder

    async with emulator_client(emulator) as client:
        seeder = Seeder(client, clock=emulator.now)
        seeded = await seeder.create_pool_and_client("devices", mfa="OPTIONAL")
        created = [
            await seeder.create_user(seeded, f"dev{i:04d}", PASSWORD, preferred="TOTP")
            for i in range(users)
        ]
        await client.update_user_pool(
            UserPoolId=seeded.pool_id, MfaConfiguration="OPTIONAL", DeviceConfiguration=TRACKING
        )
    emulator.advance(30)  # past the enrolment codes
    out: list[dict[str, Any]] = []
    async with cm.UserPool(
        seeded.pool_id,
        seeded.client_id,
        endpoint_url=EMULATOR_ENDPOINT,
        botocore_config=httpx_client_config(emulator),
        clock=lambda: datetime.fromtimestamp(emulator.now(), UTC),
    ) as pool:
        for user in created:
            assert user.totp_secret is not None
            flow = pool.sign_in(user.username, PASSWORD)
            async for challenge in flow:
                assert isinstance(challenge, cm.SoftwareTokenMfaChallenge), challenge
                await challenge.answer(user.totp_code(emulator.now()))
            device = await pool.user(flow.tokens).confirm_device(device_name="bench")
            out.append(
                {
                    "username": user.username,
                    "totp_secret": user.totp_secret,
                    "device": json.loads(device.model_dump_json()),
                }
            )
    emulator.advance(30)  # the codes used above are spent: the client starts afresh
    return {
        "pool_id": seeded.pool_id,
        "client_id": seeded.client_id,
        "users": out,
        # the emulator's clock runs ahead of this machine's by what seeding advanced it
        "clock_offset": emulator.now() - time.time(),
    }


def serve(users: int) -> None:
    from cognito_mfa.testing.server import EmulatorServer
    from cognito_mfa.testing.service import Emulator

    emulator = Emulator()
    seeded = asyncio.run(_seed(emulator, users))
    with EmulatorServer(emulator) as server:
        sys.stdout.write(json.dumps({"url": server.url, **seeded}) + "\n")
        sys.stdout.flush()
        sys.stdin.read()  # serve until the runner closes our stdin


# --- the client (this process) -------------------------------------------------------------------


async def _measure(hello: dict[str, Any], rounds: int, warmup: int) -> dict[str, list[float]]:
    import cognito_mfa as cm

    users = hello["users"]
    totp_users = iter(users)  # one fresh user per TOTP sign-in
    device_users = [(u["username"], cm.DeviceCredentials(**u["device"])) for u in users]
    cpu: dict[str, list[float]] = {"password + TOTP": [], "remembered device": []}

    async def totp_sign_in() -> None:
        user = next(totp_users)
        flow = pool.sign_in(user["username"], PASSWORD)
        async for challenge in flow:
            if not isinstance(challenge, cm.SoftwareTokenMfaChallenge):
                raise AssertionError(f"unexpected {challenge.challenge_name}")
            now = time.time() + hello["clock_offset"]
            await challenge.answer(pyotp.TOTP(user["totp_secret"]).at(now))
        if flow.tokens.new_device is None:
            raise AssertionError("a TOTP sign-in in a tracking pool makes a new device")

    async def device_sign_in(n: int) -> None:
        username, device = device_users[n % len(device_users)]
        flow = pool.sign_in(username, PASSWORD, device=device)
        async for challenge in flow:
            raise AssertionError(f"a remembered device got {challenge.challenge_name}")
        if flow.tokens.device_key != device.device_key:
            raise AssertionError("the sign-in is not bound to the device")

    async with cm.UserPool(hello["pool_id"], hello["client_id"], endpoint_url=hello["url"]) as pool:
        for n in range(warmup + rounds):
            order = [("password + TOTP", totp_sign_in), ("remembered device", None)]
            if n % 2:
                order.reverse()  # neither variant always runs first
            for name, _ in order:
                start = time.process_time()
                if name == "password + TOTP":
                    await totp_sign_in()
                else:
                    await device_sign_in(n)
                if n >= warmup:
                    cpu[name].append((time.process_time() - start) * 1e3)
    return cpu


def run(quick: bool, out_dir: Path) -> dict[str, Any]:
    rounds, warmup = (5, 1) if quick else (60, 5)
    server = subprocess.Popen(
        [sys.executable, "-m", "benchmarks.devices", "--serve", str(rounds + warmup)],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None
        line = server.stdout.readline()
        if not line:
            raise RuntimeError("the benchmark server exited before it was ready")
        hello = json.loads(line)
        cpu = asyncio.run(_measure(hello, rounds, warmup))
    finally:
        assert server.stdin is not None
        server.stdin.close()
        server.wait(timeout=60)
        if server.stdout is not None:
            server.stdout.close()
    from cognito_mfa import _srp as srp

    medians = {name: statistics.median(values) for name, values in cpu.items()}
    base = medians["password + TOTP"]
    rows = [
        {
            "case": name,
            "ms_cpu_median": medians[name],
            "ratio_vs_password_totp": medians[name] / base,
            "samples": len(values),
        }
        for name, values in cpu.items()
    ]
    result = {
        "benchmark": "devices",
        "command": " ".join(["python -m benchmarks.devices", *(["--quick"] if quick else [])]),
        "started": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "cores": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
            "srp_fast": srp.FAST,
        },
        "rows": rows,
        "ms_cpu": cpu,
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "devices.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return result


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.devices")
    parser.add_argument("--quick", action="store_true", help="a smoke run: 5 rounds")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    parser.add_argument("--serve", type=int, metavar="USERS", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve is not None:
        serve(args.serve)
        return 0
    result = run(args.quick, args.out)
    print("| case | client CPU per sign-in (median) | ratio to password + TOTP |")
    print("|---|---|---|")
    for row in result["rows"]:
        print(
            f"| {row['case']} | {row['ms_cpu_median']:.2f} ms | "
            f"{row['ratio_vs_password_totp']:.2f} |"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
