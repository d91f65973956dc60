"""Benchmarks of the emulator's ways in: served (uvicorn vs the old stdlib server), in-process.

``python -m benchmarks.fronts`` runs three measurements and prints a Markdown table (and writes
``benchmarks/results/fronts.json``):

(a) **burst**: ``--burst`` clients (200) connect at once to a served emulator, each sends one
    request (``GET /_emulator/messages``) and reads the answer; every client's time from
    ``connect()`` to the last byte of its answer is recorded. Reported: how many were answered,
    the maximum and the median. Each front is measured the same way in the same run.
(b) **served sign-ins/s**: ``--clients`` (50) concurrent clients, split over ``--procs``
    client processes, each repeating an SRP sign-in (``UserPool.sign_in``: InitiateAuth
    USER_SRP_AUTH + PASSWORD_VERIFIER, aioboto3's aiohttp transport) for ``--seconds``;
    sign-ins per second of wall clock, new front vs old front, one after the other.
(c) **in-process sign-in wall time**: the same SRP sign-in, sequential, through the in-process
    transport (``httpx_client_config(emulator)``), vs moto's ``mock_aws`` with pycognito
    (``Cognito.authenticate``, which runs the same two requests through boto3 against moto).
    Median wall time per sign-in over ``--signins`` after a warm-up.

The served emulator runs in a process of its own (``python -m benchmarks.fronts serve``), so the
clients' CPU is not the server's. The *old front* is ``cognito_mfa/testing/server.py`` as it
was at commit :data:`OLD_FRONT_COMMIT` (the stdlib ``ThreadingHTTPServer``, listen backlog 5),
read from git at run time and run on today's model, so both fronts serve the same emulator
code; the new front is :class:`~cognito_mfa.testing.EmulatorServer` (uvicorn).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import multiprocessing
import os
import platform
import socket
import statistics
import subprocess
import sys
import time
import types
from pathlib import Path
from typing import Any, Final

ROOT: Final = Path(__file__).resolve().parent.parent
OLD_FRONT_COMMIT: Final = "27932344fe1ed9b437a2cbe024071035bb5aa6da"
PASSWORD: Final = "Bench-passw0rd-1"


# --- the server process ----------------------------------------------------------------------


def old_front_available() -> bool:
    """Whether git can read the old front (not in a shallow clone without that commit)."""
    try:
        found = subprocess.run(
            ["git", "cat-file", "-e", f"{OLD_FRONT_COMMIT}:cognito_mfa/testing/server.py"],
            cwd=ROOT,
            capture_output=True,
            check=False,
        )
    except OSError:
        return False
    return found.returncode == 0


def _old_front_class() -> Any:
    """The old front's EmulatorServer, loaded from git and bound to today's model."""
    source = subprocess.run(
        ["git", "show", f"{OLD_FRONT_COMMIT}:cognito_mfa/testing/server.py"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    source = source.replace("from .service import", "from cognito_mfa.testing.service import")
    module = types.ModuleType("benchmarks._old_front")
    sys.modules[module.__name__] = module
    exec(compile(source, f"{OLD_FRONT_COMMIT[:7]}:server.py", "exec"), module.__dict__)
    return module.EmulatorServer


async def _seed(emulator: Any, users: int) -> dict[str, Any]:
    from cognito_mfa.testing import Seeder, emulator_client

    async with emulator_client(emulator) as client:
        seeder = Seeder(client)
        pool = await seeder.create_pool_and_client("fronts", mfa="OFF")
        for i in range(users):
            await seeder.create_user(pool, f"user{i:04d}", PASSWORD)
    return {"pool_id": pool.pool_id, "client_id": pool.client_id}


def serve(front: str, users: int) -> None:
    """Seed ``users`` users (no MFA), serve with ``front``, print a JSON line, serve until EOF."""
    from cognito_mfa.testing import Emulator, EmulatorServer

    emulator = Emulator()
    seeded = asyncio.run(_seed(emulator, users))
    server_class = EmulatorServer if front == "new" else _old_front_class()
    with server_class(emulator) as server:
        sys.stdout.write(json.dumps({"url": server.url, **seeded}) + "\n")
        sys.stdout.flush()
        sys.stdin.read()


class ServerProcess:
    def __init__(self, front: str, users: int) -> None:
        self.front = front
        self.process = subprocess.Popen(
            [sys.executable, "-m", "benchmarks.fronts", "serve", front, str(users)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            cwd=ROOT,
            text=True,
        )
        assert self.process.stdout is not None
        self.hello: dict[str, Any] = json.loads(self.process.stdout.readline())

    def close(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()
        self.process.wait(timeout=60)


# --- (a) the burst ---------------------------------------------------------------------------


async def _one_client(host: str, port: int, limit: float) -> float | None:
    started = time.perf_counter()
    try:
        async with asyncio.timeout(limit):
            reader, writer = await asyncio.open_connection(host, port)
            writer.write(
                b"GET /_emulator/messages HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n"
            )
            await writer.drain()
            answer = await reader.read()
            writer.close()
            await writer.wait_closed()
    except (TimeoutError, OSError):
        return None
    if not answer.startswith(b"HTTP/1.1 200"):
        return None
    return time.perf_counter() - started


async def _burst_async(url: str, clients: int, limit: float) -> list[float | None]:
    host, port = url.removeprefix("http://").rsplit(":", 1)
    return list(
        await asyncio.gather(*(_one_client(host, int(port), limit) for _ in range(clients)))
    )


def burst(url: str, clients: int, timeout: float = 20.0) -> dict[str, Any]:
    """``clients`` connections at once; each answer's connect-to-last-byte time."""
    times = asyncio.run(_burst_async(url, clients, timeout))
    answered = [t for t in times if t is not None]
    return {
        "clients": clients,
        "answered": len(answered),
        "max_s": max(answered) if answered else None,
        "median_s": statistics.median(answered) if answered else None,
        "timeout_s": timeout,
    }


# --- (b) served sign-ins per second ---------------------------------------------------------


def _signin_worker(
    hello: dict[str, Any], first_user: int, clients: int, seconds: float, queue: Any
) -> None:
    queue.put(asyncio.run(_signin_loop(hello, first_user, clients, seconds)))


async def _signin_loop(
    hello: dict[str, Any], first_user: int, clients: int, seconds: float
) -> dict[str, Any]:
    from aiobotocore.config import AioConfig

    import cognito_mfa as cm

    done = 0
    failed = 0
    async with cm.UserPool(
        hello["pool_id"],
        hello["client_id"],
        endpoint_url=hello["url"],
        botocore_config=AioConfig(max_pool_connections=clients),
        aws_access_key_id="bench",
        aws_secret_access_key="bench",
        retry_policy=cm.RetryPolicy(max_attempts=1),
    ) as pool:
        # one warm-up sign-in per client (connections, tables), not counted
        for i in range(clients):
            await _drain(pool.sign_in(f"user{first_user + i:04d}", PASSWORD))
        deadline = time.perf_counter() + seconds

        async def client(index: int) -> None:
            nonlocal done, failed
            username = f"user{first_user + index:04d}"
            while time.perf_counter() < deadline:
                try:
                    await _drain(pool.sign_in(username, PASSWORD))
                    done += 1
                except cm.CognitoError:
                    failed += 1

        started = time.perf_counter()
        await asyncio.gather(*(client(i) for i in range(clients)))
        elapsed = time.perf_counter() - started
    return {"signins": done, "failed": failed, "seconds": elapsed}


async def _drain(flow: Any) -> None:
    async for _ in flow:
        raise AssertionError("a user without MFA was asked a challenge")


def signins_per_second(
    hello: dict[str, Any], clients: int, procs: int, seconds: float
) -> dict[str, Any]:
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    share = [clients // procs + (1 if i < clients % procs else 0) for i in range(procs)]
    starts = [sum(share[:i]) for i in range(procs)]
    workers = [
        context.Process(target=_signin_worker, args=(hello, starts[i], share[i], seconds, queue))
        for i in range(procs)
    ]
    for worker in workers:
        worker.start()
    results = [queue.get(timeout=seconds + 600) for _ in workers]
    for worker in workers:
        worker.join()
    total = sum(r["signins"] for r in results)
    wall = max(r["seconds"] for r in results)
    return {
        "clients": clients,
        "procs": procs,
        "signins": total,
        "failed": sum(r["failed"] for r in results),
        "seconds": wall,
        "per_second": total / wall,
    }


# --- (c) in-process vs moto -----------------------------------------------------------------


async def _ours(signins: int, warmup: int) -> list[float]:
    import cognito_mfa as cm
    from cognito_mfa.testing import EMULATOR_ENDPOINT, Emulator, httpx_client_config

    emulator = Emulator()
    seeded = await _seed(emulator, 1)
    times: list[float] = []
    async with cm.UserPool(
        seeded["pool_id"],
        seeded["client_id"],
        endpoint_url=EMULATOR_ENDPOINT,
        botocore_config=httpx_client_config(emulator),
        aws_access_key_id="bench",
        aws_secret_access_key="bench",
    ) as pool:
        for i in range(warmup + signins):
            started = time.perf_counter()
            await _drain(pool.sign_in("user0000", PASSWORD))
            if i >= warmup:
                times.append(time.perf_counter() - started)
    return times


def _moto(signins: int, warmup: int) -> list[float]:
    import boto3
    from moto import mock_aws
    from pycognito import Cognito

    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    times: list[float] = []
    with mock_aws():
        cognito = boto3.client(
            "cognito-idp",
            region_name="us-east-1",
            aws_access_key_id="bench",
            aws_secret_access_key="bench",
        )
        pool_id = cognito.create_user_pool(PoolName="fronts")["UserPool"]["Id"]
        client_id = cognito.create_user_pool_client(
            UserPoolId=pool_id,
            ClientName="app",
            ExplicitAuthFlows=["ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
        )["UserPoolClient"]["ClientId"]
        cognito.admin_create_user(UserPoolId=pool_id, Username="user0000", MessageAction="SUPPRESS")
        cognito.admin_set_user_password(
            UserPoolId=pool_id, Username="user0000", Password=PASSWORD, Permanent=True
        )
        for i in range(warmup + signins):
            user = Cognito(pool_id, client_id, username="user0000", botocore_config=None)
            user.client = cognito  # the same client as the seeding, inside mock_aws
            started = time.perf_counter()
            _moto_sign_in(user, pool_id, client_id)
            if i >= warmup:
                times.append(time.perf_counter() - started)
    return times


def _moto_sign_in(user: Any, pool_id: str, client_id: str) -> None:
    from pycognito.aws_srp import AWSSRP

    # Cognito.authenticate() = AWSSRP.authenticate_user() then _set_tokens(), which verifies
    # the tokens against the pool's JWKS fetched from AWS itself (unreachable, and not part of
    # a sign-in): the SRP exchange is what is timed, as in the other benchmarks
    aws = AWSSRP(
        username="user0000",
        password=PASSWORD,
        pool_id=pool_id,
        client_id=client_id,
        client=user.client,
    )
    tokens = aws.authenticate_user()
    assert "AuthenticationResult" in tokens


def in_process_vs_moto(signins: int, warmup: int) -> dict[str, Any]:
    ours = asyncio.run(_ours(signins, warmup))
    moto = _moto(signins, warmup)
    ours_ms = statistics.median(ours) * 1000
    moto_ms = statistics.median(moto) * 1000
    return {
        "signins": signins,
        "ours_median_ms": ours_ms,
        "moto_median_ms": moto_ms,
        "ratio": ours_ms / moto_ms,
    }


# --- the run ---------------------------------------------------------------------------------


def run(args: argparse.Namespace) -> dict[str, Any]:
    results: dict[str, Any] = {"burst": {}, "throughput": {}}
    users = max(args.clients, 1)
    fronts = ("new", "old") if old_front_available() else ("new",)
    rounds: dict[str, list[dict[str, Any]]] = {front: [] for front in fronts}
    for number in range(args.rounds):
        # the order alternates, so neither front always runs on the warmer (or busier) machine
        for front in fronts if number % 2 == 0 else fronts[::-1]:
            server = ServerProcess(front, users)
            try:
                if number == 0:
                    results["burst"][front] = burst(
                        server.hello["url"], args.burst, args.burst_timeout
                    )
                rounds[front].append(
                    signins_per_second(server.hello, args.clients, args.procs, args.seconds)
                )
            finally:
                server.close()
    for front, measured in rounds.items():
        results["throughput"][front] = {
            "clients": args.clients,
            "rounds": measured,
            "per_second": statistics.mean(r["per_second"] for r in measured),
            "failed": sum(r["failed"] for r in measured),
        }
    new, old = results["throughput"]["new"], results["throughput"].get("old")
    results["throughput"]["ratio"] = new["per_second"] / old["per_second"] if old else None
    results["in_process"] = in_process_vs_moto(args.signins, args.warmup)
    results["machine"] = {
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "host": socket.gethostname(),
    }
    results["command"] = " ".join(["python -m benchmarks.fronts", *sys.argv[1:]])
    return results


def table(results: dict[str, Any]) -> str:
    def ms(value: float | None) -> str:
        return "-" if value is None else f"{value * 1000:.0f} ms"

    b, t, p = results["burst"], results["throughput"], results["in_process"]
    if "old" not in t:  # git could not read the old front: the new one alone
        missing = {"answered": "-", "max_s": None, "median_s": None, "timeout_s": 0}
        b = {**b, "old": missing}
        t = {**t, "old": {"per_second": math.nan}, "ratio": math.nan}
    rows = [
        "| measurement | new front (uvicorn) | old front (ThreadingHTTPServer) | ratio |",
        "|---|---|---|---|",
        f"| (a) {b['new']['clients']} clients at once: answered | {b['new']['answered']} | "
        f"{b['old']['answered']} (within {b['old']['timeout_s']:.0f} s) | |",
        f"| (a) max connect+answer | {ms(b['new']['max_s'])} | {ms(b['old']['max_s'])} | |",
        f"| (a) median connect+answer | {ms(b['new']['median_s'])} | "
        f"{ms(b['old']['median_s'])} | |",
        f"| (b) SRP sign-ins/s, {t['new']['clients']} concurrent clients (mean of "
        f"{len(t['new']['rounds'])} rounds) | "
        f"{t['new']['per_second']:.1f} | {t['old']['per_second']:.1f} | "
        f"**{t['ratio']:.2f}x** |",
        "",
        "| measurement | ours, in-process | moto mock_aws + pycognito | ratio |",
        "|---|---|---|---|",
        f"| (c) SRP sign-in wall time, median of {p['signins']} | {p['ours_median_ms']:.1f} ms | "
        f"{p['moto_median_ms']:.1f} ms | **{p['ratio']:.2f}** |",
    ]
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["serve"]:
        serve(argv[1], int(argv[2]))
        return 0
    parser = argparse.ArgumentParser(prog="python -m benchmarks.fronts")
    parser.add_argument("--burst", type=int, default=200)
    parser.add_argument("--burst-timeout", type=float, default=20.0)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--procs", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--rounds", type=int, default=2, help="throughput rounds per front")
    parser.add_argument("--signins", type=int, default=100)
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results"))
    args = parser.parse_args(argv)
    results = run(args)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "fronts.json").write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(table(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
