"""MFA web logins per second through a FastAPI app with Redis, ours vs pycognito (issue 14).

``python -m benchmarks.web`` (``--quick`` for the smoke run) starts, each in a process of its
own on loopback ports: a real ``redis-server``, the served emulator (``benchmarks/serve.py``:
one pool, users with TOTP enrolled and preferred) and the two apps of
``benchmarks/web_apps.py`` (uvicorn, one process each): ``ours`` (the library's FastAPI router,
:class:`~cognito_mfa.web.WebSignIn`, :class:`~cognito_mfa.web.RedisFlowStore`) and
``pycognito`` (the same endpoints on pycognito in a thread pool). Both use the same Redis and
the same emulator.

A login is what a browser does: ``POST /auth/login {username, password}`` (the app runs
USER_SRP_AUTH and PASSWORD_VERIFIER and parks the sign-in in Redis), then
``POST /auth/login/answer {code}`` with the user's TOTP code (the app takes the sign-in back
and answers SOFTWARE_TOKEN_MFA). ``--concurrency`` browsers (50) each sign in again and again,
every login with a user that no earlier login of the run used (the emulator, like Cognito,
refuses a TOTP code already used in its 30-second step), until the round's ``--logins`` are
done. Each browser gets its CSRF cookie once, before the clock starts.

Measured per round: logins per second (wall clock, first request to last answer), every
request's latency (p50, p99), every login's latency, and the CPU time the app's process used
(``/proc/PID/stat``: all its threads). The apps take turns, ABBA by default, after a warm-up
round each; figures are the mean (throughput, CPU) or the pooled samples (latency) of a
variant's rounds, and the ratio is ours over pycognito's from the same run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pyotp

from benchmarks._stats import load_average, machine, percentile
from cognito_mfa.web import AppKey

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).resolve().parent / "results"
VARIANTS = ("ours", "pycognito")
LABELS = {
    "ours": "ours: cognito_mfa.fastapi + RedisFlowStore",
    "pycognito": "pycognito 2024.5.1 in a thread pool",
}


class BenchmarkError(RuntimeError):
    """A part of the benchmark did not start or a login went wrong."""


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _stop(process: subprocess.Popen[Any]) -> None:
    if process.poll() is None:
        process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:  # a stuck process
        process.kill()
        process.wait()


@contextmanager
def redis_server() -> Iterator[str]:
    """A fresh ``redis-server`` on a free loopback port (no persistence); its URL."""
    program = shutil.which("redis-server")
    if program is None:
        raise BenchmarkError("redis-server is not installed (apt-get install redis-server)")
    port = _free_port()
    command = [program, "--port", str(port), "--bind", "127.0.0.1", "--save", ""]
    process = subprocess.Popen(
        [*command, "--appendonly", "no"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5) as conn:
                    conn.sendall(b"PING\r\n")
                    if conn.recv(16).startswith(b"+PONG"):
                        break
            except OSError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise BenchmarkError("redis-server did not start")
            time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        _stop(process)


@contextmanager
def emulator(users: int) -> Iterator[dict[str, Any]]:
    """The served emulator (benchmarks/serve.py) with ``users`` TOTP users; its hello line."""
    process = subprocess.Popen(
        [sys.executable, "-m", "benchmarks.serve", "--users", str(users)],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdin is not None and process.stdout is not None
    try:
        line = process.stdout.readline()
        if not line:
            raise BenchmarkError(f"the emulator exited with {process.wait()}")
        hello: dict[str, Any] = json.loads(line)
        hello["pid"] = process.pid
        yield hello
    finally:
        process.stdin.close()  # serve.py serves until its stdin closes
        _stop(process)


@contextmanager
def app(variant: str, env: dict[str, str]) -> Iterator[tuple[str, int]]:
    """One app served by uvicorn in its own process; its URL and pid."""
    port = _free_port()
    command = [sys.executable, "-m", "uvicorn", "--factory", f"benchmarks.web_apps:{variant}"]
    command += ["--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"]
    process = subprocess.Popen([*command, "--no-access-log"], cwd=ROOT, env=env)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise BenchmarkError(f"the {variant} app exited with {process.returncode}")
            try:
                if httpx.get(f"{url}/auth/csrf", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise BenchmarkError(f"the {variant} app did not start")
            time.sleep(0.1)
        yield url, process.pid
    finally:
        _stop(process)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process, all its threads (Linux ``/proc``)."""
    with open(f"/proc/{pid}/stat", encoding="ascii") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Browser:
    """One browser: its own connection and cookies, the CSRF token sent back in a header."""

    def __init__(self, url: str) -> None:
        self.client = httpx.AsyncClient(
            base_url=url, timeout=60, limits=httpx.Limits(max_connections=1)
        )
        self.cookies: dict[str, str] = {}

    async def post(self, path: str, body: dict[str, str]) -> tuple[httpx.Response, float]:
        headers = {"X-CSRF-Token": self.cookies.get("cm_csrf", "")}
        headers["Cookie"] = "; ".join(f"{name}={value}" for name, value in self.cookies.items())
        started = time.perf_counter()
        response = await self.client.post(path, json=body, headers=headers)
        elapsed = time.perf_counter() - started
        self._keep(response)
        return response, elapsed

    def _keep(self, response: httpx.Response) -> None:
        for header in response.headers.get_list("set-cookie"):
            name, _, rest = header.partition("=")
            value = rest.split(";", 1)[0].strip('"')
            if "max-age=0" in header.lower() or not value:
                self.cookies.pop(name, None)
            else:
                self.cookies[name] = value

    async def csrf(self) -> None:
        self._keep(await self.client.get("/auth/csrf"))

    async def aclose(self) -> None:
        await self.client.aclose()


async def _login(browser: Browser, user: dict[str, str]) -> tuple[list[float], str | None]:
    """One password-then-TOTP login; the request latencies and what went wrong, if anything."""
    response, first = await browser.post(
        "/auth/login", {"username": user["username"], "password": user["password"]}
    )
    body = response.json() if response.status_code == 200 else {}
    if body.get("status") != "challenge" or body["challenge"]["name"] != "SOFTWARE_TOKEN_MFA":
        return [first], f"login: HTTP {response.status_code} {body.get('status')}"
    code = pyotp.TOTP(user["totp_secret"]).now()
    response, second = await browser.post("/auth/login/answer", {"code": code})
    body = response.json() if response.status_code == 200 else {}
    if body.get("status") != "signed_in":
        return [first, second], f"answer: HTTP {response.status_code} {body.get('title')}"
    return [first, second], None


async def one_round(
    url: str, users: list[dict[str, str]], concurrency: int, pid: int, emulator_pid: int
) -> dict[str, Any]:
    browsers = [Browser(url) for _ in range(concurrency)]
    try:
        await asyncio.gather(*(browser.csrf() for browser in browsers))
        queue = iter(users)
        requests: list[float] = []
        logins: list[float] = []
        steps: tuple[list[float], list[float]] = ([], [])  # the password step, the code step
        errors: list[str] = []

        async def browse(browser: Browser) -> None:
            for user in queue:
                started = time.perf_counter()
                latencies, error = await _login(browser, user)
                logins.append(time.perf_counter() - started)
                requests.extend(latencies)
                for step, latency in zip(steps, latencies, strict=False):
                    step.append(latency)
                if error is not None:
                    errors.append(error)

        app_cpu, emulator_cpu = cpu_seconds(pid), cpu_seconds(emulator_pid)
        browsers_cpu = time.process_time()
        load = load_average()
        started = time.perf_counter()
        await asyncio.gather(*(browse(browser) for browser in browsers))
        wall = time.perf_counter() - started
        return {
            "logins": len(logins),
            "errors": len(errors),
            "error_kinds": sorted(set(errors)),
            "wall_s": wall,
            "logins_per_s": len(logins) / wall,
            "app_cpu_s": cpu_seconds(pid) - app_cpu,
            "emulator_cpu_s": cpu_seconds(emulator_pid) - emulator_cpu,
            "browsers_cpu_s": time.process_time() - browsers_cpu,
            "request_latency_s": requests,
            "login_latency_s": logins,
            "password_step_latency_s": steps[0],
            "code_step_latency_s": steps[1],
            "load_average": load,
        }
    finally:
        await asyncio.gather(*(browser.aclose() for browser in browsers))


def summarise(rounds: list[dict[str, Any]]) -> dict[str, Any]:
    requests = [x for r in rounds for x in r["request_latency_s"]]
    logins = [x for r in rounds for x in r["login_latency_s"]]
    count = sum(r["logins"] for r in rounds)
    return {
        "rounds": len(rounds),
        "logins": count,
        "errors": sum(r["errors"] for r in rounds),
        "logins_per_s": sum(r["logins_per_s"] for r in rounds) / len(rounds),
        "logins_per_s_by_round": [round(r["logins_per_s"], 1) for r in rounds],
        "request_p50_ms": percentile(requests, 50) * 1000,
        "request_p99_ms": percentile(requests, 99) * 1000,
        "request_max_ms": max(requests) * 1000,
        "login_p50_ms": percentile(logins, 50) * 1000,
        "password_step_p99_ms": percentile(
            [x for r in rounds for x in r["password_step_latency_s"]], 99
        )
        * 1000,
        "code_step_p99_ms": percentile([x for r in rounds for x in r["code_step_latency_s"]], 99)
        * 1000,
        "login_p99_ms": percentile(logins, 99) * 1000,
        "app_cpu_ms_per_login": sum(r["app_cpu_s"] for r in rounds) / count * 1000,
        "emulator_cpu_ms_per_login": sum(r["emulator_cpu_s"] for r in rounds) / count * 1000,
        "browsers_cpu_ms_per_login": sum(r["browsers_cpu_s"] for r in rounds) / count * 1000,
    }


def run(args: argparse.Namespace) -> dict[str, Any]:
    order = ["ours", "pycognito"] * args.pairs
    if not args.quick:  # ABBA...: each variant as often first as second, against drift
        order = [v for i in range(args.pairs) for v in (VARIANTS if i % 2 == 0 else VARIANTS[::-1])]
    warmup = args.concurrency
    needed = 2 * warmup + len(order) * args.logins
    with ExitStack() as stack:
        redis_url = stack.enter_context(redis_server())
        hello = stack.enter_context(emulator(needed))
        users = iter(hello["users"])
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
            "BENCH_ENDPOINT": hello["url"],
            "BENCH_POOL_ID": hello["pool_id"],
            "BENCH_CLIENT_ID": hello["client_id"],
            "BENCH_REDIS_URL": redis_url,
            "COGNITO_MFA_APP_KEY": AppKey.generate(),
        }
        apps = {variant: stack.enter_context(app(variant, env)) for variant in VARIANTS}
        warmups = {}
        for variant in VARIANTS:
            url, pid = apps[variant]
            batch = [next(users) for _ in range(warmup)]
            warmups[variant] = asyncio.run(
                one_round(url, batch, args.concurrency, pid, hello["pid"])
            )
        rounds: dict[str, list[dict[str, Any]]] = {variant: [] for variant in VARIANTS}
        for variant in order:
            url, pid = apps[variant]
            batch = [next(users) for _ in range(args.logins)]
            result = asyncio.run(one_round(url, batch, args.concurrency, pid, hello["pid"]))
            rounds[variant].append(result)
            print(
                f"{variant}: {result['logins_per_s']:.1f} logins/s, {result['errors']} errors",
                file=sys.stderr,
            )
    summary = {variant: summarise(rounds[variant]) for variant in VARIANTS}
    baseline = summary["pycognito"]
    for variant in VARIANTS:
        summary[variant]["logins_per_s_ratio"] = (
            summary[variant]["logins_per_s"] / baseline["logins_per_s"]
        )
        summary[variant]["request_p99_ratio"] = (
            summary[variant]["request_p99_ms"] / baseline["request_p99_ms"]
        )
    return {
        "benchmark": "web",
        "started": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": " ".join(["python -m benchmarks.web", *sys.argv[1:]]),
        "settings": {
            "concurrency": args.concurrency,
            "logins_per_round": args.logins,
            "order": order,
            "warmup_logins": warmup,
        },
        "machine": machine(),
        "summary": summary,
        "warmup_errors": {v: warmups[v]["errors"] for v in VARIANTS},
        "rounds": rounds,
    }


def table(results: dict[str, Any]) -> str:
    summary = results["summary"]
    settings = results["settings"]
    lines = [
        f"| at {settings['concurrency']} concurrent logins | {LABELS['ours']} "
        f"| {LABELS['pycognito']} | ratio |",
        "|---|---:|---:|---:|",
    ]
    rows = [
        ("MFA logins/s (mean of rounds)", "logins_per_s", "{:.1f}"),
        ("request latency p99", "request_p99_ms", "{:.0f} ms"),
        ("request latency p50", "request_p50_ms", "{:.0f} ms"),
        ("password step (POST /auth/login) p99", "password_step_p99_ms", "{:.0f} ms"),
        ("code step (POST /auth/login/answer) p99", "code_step_p99_ms", "{:.0f} ms"),
        ("login (both requests) p99", "login_p99_ms", "{:.0f} ms"),
        ("app CPU per login", "app_cpu_ms_per_login", "{:.1f} ms"),
        ("emulator CPU per login", "emulator_cpu_ms_per_login", "{:.1f} ms"),
        ("browsers' CPU per login (the load generator)", "browsers_cpu_ms_per_login", "{:.1f} ms"),
    ]
    ours, base = summary["ours"], summary["pycognito"]
    for label, key, fmt in rows:
        ratio = ours[key] / base[key] if base[key] else float("nan")
        lines.append(
            f"| {label} | {fmt.format(ours[key])} | {fmt.format(base[key])} | {ratio:.2f} |"
        )
    lines.append(
        f"| logins (errors) | {ours['logins']} ({ours['errors']}) "
        f"| {base['logins']} ({base['errors']}) | |"
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.web", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smoke run: 5 browsers, 10 logins")
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--logins", type=int, default=600, help="logins per round")
    parser.add_argument("--pairs", type=int, default=2, help="rounds per variant")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    if args.quick:
        args.concurrency, args.logins, args.pairs = 5, 10, 1
    if args.concurrency < 1 or args.logins < 1 or args.pairs < 1:
        parser.error("--concurrency, --logins and --pairs must be at least 1")
    results = run(args)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "web.json").write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")
    print(table(results))
    errors = sum(results["summary"][v]["errors"] + results["warmup_errors"][v] for v in VARIANTS)
    return 1 if errors else 0


if __name__ == "__main__":
    raise SystemExit(main())
