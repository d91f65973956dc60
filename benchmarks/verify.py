"""Benchmark 7 (issue 13): ``TokenVerifier`` against PyJWT's ``PyJWKClient`` + ``jwt.decode``.

``python -m benchmarks.verify`` (``--quick`` for a smoke run, ``--out DIR`` for the JSON).
Everything runs in this one process, the variants interleaved round by round, on the same
tokens and the same key:

* **the key and tokens**: one RSA-2048 key with a ``kid``, ``tokens`` Cognito-shaped access
  tokens signed with it (distinct ``jti``), and a JWKS served on a loopback port by an
  ``http.server`` thread: our verifier (no ``http_client``: a client per fetch) and
  ``PyJWKClient`` fetch it from there;
* **one RS256 verify**: ``cryptography``'s ``RSAPublicKey.verify`` of one token's signature
  alone, the physical cost that bounds the lateness target;
* **throughput and CPU**: every variant verifies all the tokens with the keys loaded,
  sequentially: ours ``await verifier.verify(t)`` in one task, ours ``verify_cached(t)``
  (synchronous), ours with all tokens at once (``asyncio.gather``), and the baseline
  ``PyJWKClient.get_signing_key_from_jwt`` + ``jwt.decode`` (RS256, issuer, required claims)
  plus the same ``token_use`` and ``client_id`` checks ours does. Wall clock gives
  verifications per second, ``time.process_time`` the CPU per verification; medians over the
  rounds; ratios to the baseline;
* **event-loop lateness**: a task sleeping 1 ms at a time (``benchmarks.signin``'s ticker)
  while ``tokens`` verifications start at once with a cold cache (a fresh cache, so the first
  one fetches the JWKS and the others wait for it): ours; the baseline called in the
  coroutines (a fresh ``PyJWKClient``: its fetch and every decode block the loop); the
  baseline through ``asyncio.to_thread``. Also the idle ticker. The heap built by start-up and
  warm-up is frozen first (``gc.freeze``, as in benchmark 3) and the collections during the
  load are recorded. Target: no tick of ours late by more than one RS256 verify + 1 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # ``python benchmarks/verify.py``
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import jwt
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

import cognito_mfa as cm
from benchmarks._stats import machine, percentile, summary
from benchmarks.run import RESULTS, _row, table
from benchmarks.signin import _GcWatch, _lateness_summary, _steal_ticks, _ticked

POOL_ID = "us-east-1_BenchPool"
ISSUER = f"https://cognito-idp.us-east-1.amazonaws.com/{POOL_ID}"
CLIENT_ID = "bench-client"
KID = "bench-key-1"
PYJWT = f"PyJWT {jwt.__version__} PyJWKClient + jwt.decode"
OURS_ASYNC = "ours: await verify(), one task"
OURS_CACHED = "ours: verify_cached()"
OURS_GATHER = "ours: await verify(), all at once"
LATE_OURS = "spread: ours, cold cache"
LATE_FLOOR = "spread: no-op tasks (the floor)"
LATE_PYJWT = "spread: PyJWT in the coroutines, cold PyJWKClient"
LATE_THREAD = "spread: PyJWT via asyncio.to_thread, cold PyJWKClient"
LATE_OURS_BURST = "at once: ours, cold cache"
LATE_FLOOR_BURST = "at once: no-op tasks (the floor)"

FULL = {"tokens": 1000, "rounds": 5, "rs256": 2000, "late_rounds": 3}
QUICK = {"tokens": 40, "rounds": 1, "rs256": 50, "late_rounds": 1}


# --- the key, the tokens, the JWKS server ----------------------------------------------------


def make_tokens(key: rsa.RSAPrivateKey, count: int) -> list[str]:
    now = int(time.time())
    return [
        jwt.encode(
            {
                "sub": "7f3c2a9e-0d4b-4c51-9a7e-2b6f1e0c8d11",
                "iss": ISSUER,
                "client_id": CLIENT_ID,
                "origin_jti": f"origin-{i}",
                "event_id": f"event-{i}",
                "token_use": "access",
                "scope": "aws.cognito.signin.user.admin",
                "auth_time": now,
                "exp": now + 3600,
                "iat": now,
                "jti": f"jti-{i}",
                "username": "bench-user",
            },
            key,
            algorithm="RS256",
            headers={"kid": KID},
        )
        for i in range(count)
    ]


def serve_jwks(body: bytes) -> None:
    """Serve ``body`` at any path on a free loopback port; print the port; stop at EOF on stdin."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    print(server.server_address[1], flush=True)
    sys.stdin.read()
    server.shutdown()
    server.server_close()
    thread.join()


@contextmanager
def jwks_server(key: rsa.RSAPrivateKey) -> Iterator[str]:
    """The JWKS on a loopback port, served by a process of its own (as a remote JWKS would be:
    a server thread in this process would take the GIL from the loop); yields its URL."""
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
    body = json.dumps({"keys": [{**jwk, "kid": KID, "alg": "RS256", "use": "sig"}]})
    root = Path(__file__).resolve().parent.parent
    server = subprocess.Popen(
        [sys.executable, "-m", "benchmarks.verify", "--serve-jwks", body],
        cwd=root,
        env={
            **os.environ,
            "PYTHONPATH": os.pathsep.join(filter(None, [str(root), os.environ.get("PYTHONPATH")])),
        },
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None and server.stdin is not None
        port = int(server.stdout.readline())
        yield f"http://127.0.0.1:{port}/{POOL_ID}/.well-known/jwks.json"
    finally:
        if server.stdin is not None:
            server.stdin.close()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        if server.stdout is not None:
            server.stdout.close()


def ours(url: str) -> cm.TokenVerifier:
    """A verifier with a cache of its own (cold)."""
    return cm.TokenVerifier(
        POOL_ID, client_id=CLIENT_ID, jwks_url=url, jwks_cache=cm.JwksCache(ISSUER, url)
    )


def pyjwt_verifier(url: str) -> Callable[[str], dict[str, Any]]:
    """The baseline: a fresh PyJWKClient (cold) and jwt.decode with the same checks as ours."""
    client = jwt.PyJWKClient(url)

    def verify(token: str) -> dict[str, Any]:
        key = client.get_signing_key_from_jwt(token)
        claims: dict[str, Any] = jwt.decode(
            token,
            key.key,
            algorithms=["RS256"],
            issuer=ISSUER,
            options={"require": ["exp", "iat", "iss", "sub", "token_use"]},
        )
        if claims["token_use"] != "access" or claims.get("client_id") != CLIENT_ID:
            raise ValueError("claims refused")
        return claims

    return verify


# --- measurements ------------------------------------------------------------------------------


def rs256_cost(key: rsa.RSAPrivateKey, token: str, iterations: int) -> dict[str, float]:
    """One RS256 signature check alone (``cryptography``), in ms."""
    signing_input, _, signature_b64 = token.rpartition(".")
    signature = jwt.utils.base64url_decode(signature_b64)
    public = key.public_key()
    samples = []
    for _ in range(iterations):
        start = time.perf_counter()
        public.verify(signature, signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
        samples.append((time.perf_counter() - start) * 1e3)
    return summary(samples)


def _timed(run: Callable[[], None], count: int) -> tuple[float, float]:
    """(verifications per second of wall clock, µs of CPU per verification)."""
    wall, cpu = time.perf_counter(), time.process_time()
    run()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return count / wall, cpu / count * 1e6


def throughput(url: str, tokens: list[str], rounds: int) -> dict[str, dict[str, list[float]]]:
    loop = asyncio.new_event_loop()
    try:
        verifier = ours(url)
        loop.run_until_complete(verifier.hydrate())
        baseline = pyjwt_verifier(url)
        baseline(tokens[0])  # its JWKS fetched and its key cached too

        async def one_task() -> None:
            for token in tokens:
                await verifier.verify(token)

        async def gathered() -> None:
            await asyncio.gather(*(verifier.verify(token) for token in tokens))

        def cached() -> None:
            for token in tokens:
                verifier.verify_cached(token)

        def pyjwt() -> None:
            for token in tokens:
                baseline(token)

        variants: dict[str, Callable[[], None]] = {
            OURS_ASYNC: lambda: loop.run_until_complete(one_task()),
            OURS_CACHED: cached,
            OURS_GATHER: lambda: loop.run_until_complete(gathered()),
            PYJWT: pyjwt,
        }
        for run in variants.values():  # warm-up
            run()
        raw: dict[str, dict[str, list[float]]] = {
            name: {"per_s": [], "cpu_us": []} for name in variants
        }
        order = list(variants)
        for r in range(rounds):
            for name in order[r % len(order) :] + order[: r % len(order)]:
                per_s, cpu_us = _timed(variants[name], len(tokens))
                raw[name]["per_s"].append(per_s)
                raw[name]["cpu_us"].append(cpu_us)
        return raw
    finally:
        loop.close()


# Two shapes of load. "Spread": the verifications start BATCH per loop iteration (as requests
# come in from many connections), so what the ticker sees is the verification itself. "At
# once": all start in one iteration (one gather); creating and first-stepping 1,000 tasks is
# then itself a stall of several ms whatever the tasks do, shown by the no-op floor.
BATCH = 10


async def _spread(work: Callable[[str], Awaitable[object]], tokens: list[str]) -> None:
    remaining = len(tokens)
    done = asyncio.Event()
    tasks = set()

    async def one(token: str) -> None:
        nonlocal remaining
        try:
            await work(token)
        finally:
            remaining -= 1
            if not remaining:
                done.set()

    for i in range(0, len(tokens), BATCH):
        for token in tokens[i : i + BATCH]:
            task = asyncio.ensure_future(one(token))
            tasks.add(task)  # kept until the end: only a weak reference is held by the loop
        await asyncio.sleep(0)
    await done.wait()
    for task in tasks:
        task.result()  # a failed verification fails the benchmark


async def _at_once(work: Callable[[str], Awaitable[object]], tokens: list[str]) -> None:
    await asyncio.gather(*(work(token) for token in tokens))


async def _noop(token: str) -> None:
    await asyncio.sleep(0)


def _ours_cold(url: str) -> Callable[[str], Awaitable[object]]:
    return ours(url).verify


def _pyjwt_in_loop(url: str) -> Callable[[str], Awaitable[object]]:
    verify = pyjwt_verifier(url)

    async def one(token: str) -> None:
        verify(token)

    return one


def _pyjwt_threads(url: str) -> Callable[[str], Awaitable[object]]:
    verify = pyjwt_verifier(url)

    async def one(token: str) -> None:
        await asyncio.to_thread(verify, token)

    return one


def lateness(url: str, tokens: list[str], rounds: int) -> dict[str, list[dict[str, Any]]]:
    # each work is made afresh per run: a cold cache (a new verifier or PyJWKClient) each time
    variants: dict[str, Callable[[], Awaitable[None]]] = {
        LATE_OURS: lambda: _spread(_ours_cold(url), tokens),
        LATE_FLOOR: lambda: _spread(_noop, tokens),
        LATE_PYJWT: lambda: _spread(_pyjwt_in_loop(url), tokens),
        LATE_THREAD: lambda: _spread(_pyjwt_threads(url), tokens),
        LATE_OURS_BURST: lambda: _at_once(_ours_cold(url), tokens),
        LATE_FLOOR_BURST: lambda: _at_once(_noop, tokens),
    }

    async def measure(work: Callable[[], Awaitable[None]]) -> dict[str, Any]:
        await work()  # warm-up: imports, the thread pool, connections to the loopback server
        with _GcWatch():
            idle, _ = await _ticked(lambda: asyncio.sleep(0.2))
        with _GcWatch() as collections:
            steal = _steal_ticks()
            ticks, elapsed = await _ticked(work)
            steal_after = _steal_ticks()
        return {
            **_lateness_summary(ticks),
            "lateness_ms": [late for late, _ in ticks],
            "elapsed_ms": elapsed * 1e3,
            "idle": _lateness_summary(idle),
            "gc_during_load": collections.summary(),
            "steal_ticks": None if steal is None or steal_after is None else steal_after - steal,
        }

    raw: dict[str, list[dict[str, Any]]] = {name: [] for name in variants}
    order = list(variants)
    for r in range(rounds):
        for name in order[r % len(order) :] + order[: r % len(order)]:
            raw[name].append(asyncio.run(measure(variants[name])))
    return raw


# --- the run -----------------------------------------------------------------------------------


def rows_of(
    rs256: dict[str, float],
    speed: dict[str, dict[str, list[float]]],
    late: dict[str, list[dict[str, Any]]],
) -> list[dict[str, Any]]:
    rows = [
        _row(
            "one RS256 verify (cryptography, alone)",
            rs256["median"],
            "ms (median)",
            p90=rs256["p90"],
        )
    ]
    base_rate = statistics.median(speed[PYJWT]["per_s"])
    base_cpu = statistics.median(speed[PYJWT]["cpu_us"])
    for name, samples in speed.items():
        rate = statistics.median(samples["per_s"])
        cpu = statistics.median(samples["cpu_us"])
        rows.append(
            _row(
                f"{name}: rate", rate, "verifications/s (median)", ratio=rate / base_rate, vs=PYJWT
            )
        )
        rows.append(
            _row(
                f"{name}: CPU",
                cpu,
                "µs CPU per verification (median)",
                ratio=cpu / base_cpu,
                vs=PYJWT,
            )
        )
    bound = rs256["median"] + 1.0
    for name, runs in late.items():
        worst = max(x["max_ms"] for x in runs)
        is_ours = name == LATE_OURS
        vs = LATE_FLOOR_BURST if name.startswith("at once") else LATE_PYJWT
        base_late = max(x["max_ms"] for x in late[vs])
        rows.append(
            _row(
                f"{name}: max lateness",
                worst,
                "ms",
                ratio=worst / base_late if base_late else None,
                vs=vs,
                target=f"<= {bound:.2f} ms (one RS256 verify + 1 ms)" if is_ours else None,
                met=(worst <= bound) if is_ours else None,
                rounds_max_ms=[x["max_ms"] for x in runs],
            )
        )
        rows.append(
            _row(f"{name}: p99 lateness", percentile([x["p99_ms"] for x in runs], 50), "ms")
        )
        rows.append(
            _row(
                f"{name}: wall time for all",
                statistics.median(x["elapsed_ms"] for x in runs),
                "ms (median)",
            )
        )
    idle = max(x["idle"]["max_ms"] for runs in late.values() for x in runs)
    rows.append(_row("idle loop (no verifications): max lateness", idle, "ms"))
    gc_longest = max(x["gc_during_load"]["longest_ms"] for x in late[LATE_OURS])
    late_ticks = sum(1 for x in late[LATE_OURS] for value in x["lateness_ms"] if value > bound)
    worst_round = max(late[LATE_OURS], key=lambda x: x["max_ms"])
    rows.append(
        _row(
            f"{LATE_OURS}: the loop thread's own CPU during the latest tick",
            worst_round["max_tick_loop_cpu_ms"],
            "ms (of 1 ms + its lateness)",
        )
    )
    rows.append(
        _row(
            f"{LATE_OURS}: ticks later than the bound, of all rounds' ticks",
            late_ticks,
            "ticks",
            ticks=sum(x["ticks"] for x in late[LATE_OURS]),
        )
    )
    rows.append(
        _row(f"{LATE_OURS}: longest garbage-collection pause during the load", gc_longest, "ms")
    )
    return rows


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.verify", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smallest sizes: a smoke run")
    parser.add_argument("--out", type=Path, default=RESULTS, help="where the JSON goes")
    parser.add_argument("--serve-jwks", metavar="JSON", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve_jwks is not None:  # the JWKS server's own process (jwks_server)
        serve_jwks(args.serve_jwks.encode())
        return 0
    sizes = QUICK if args.quick else FULL
    started = datetime.now(UTC)
    about = machine()
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    tokens = make_tokens(key, sizes["tokens"])
    with jwks_server(key) as url:
        rs256 = rs256_cost(key, tokens[0], sizes["rs256"])
        speed = throughput(url, tokens, sizes["rounds"])
        late = lateness(url, tokens, sizes["late_rounds"])
    command = "python -m benchmarks.verify" + (" --quick" if args.quick else "")
    result = {
        "name": "verify",
        "title": "7. Token verification: TokenVerifier vs PyJWT",
        "rows": rows_of(rs256, speed, late),
        "raw": {"rs256_ms": rs256, "throughput": speed, "lateness": late},
        "sizes": sizes,
        "command": command,
        "quick": args.quick,
        "started_at": started.isoformat(timespec="seconds"),
        "machine": about,
    }
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / "verify.json"
    path.write_text(json.dumps(result, indent=2, allow_nan=False) + "\n", encoding="utf-8")
    print(
        f"{command}  ({started:%Y-%m-%d %H:%M} UTC; {about['nproc']} cores, "
        f"{about['cpu_model']}, Python {about['python']}, load {about['load_average_at_start']})\n"
    )
    print(table({"verify": result}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
