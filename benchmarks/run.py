"""The benchmark runner: ``python -m benchmarks`` (or ``python benchmarks/run.py``).

Starts the emulated Cognito in its own process (:mod:`benchmarks.serve`), one worker process per
variant (:mod:`benchmarks.worker`): ours with gmpy2, ours forced to pure Python
(``COGNITO_MFA_SRP_BACKEND=python``) and pycognito 2024.5.1. It sends them the same commands in
turn, round by round, so every ratio compares figures taken side by side in the same run. It
writes one JSON file per benchmark to ``benchmarks/results/<name>.json`` and prints a table.
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

if __package__ in (None, ""):  # ``python benchmarks/run.py``
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._stats import machine, percentile, summary

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
BENCHMARKS = ("srp_math", "client_cpu", "loop_latency", "throughput", "memory", "emulator")
EXTRA = ("profile",)

OURS_FAST = "ours (gmpy2)"
OURS_PURE = "ours (pure Python)"
PYCOGNITO = "pycognito 2024.5.1"
MEMORY = "memory"


@dataclass(frozen=True)
class Sizes:
    srp_iterations: int
    cpu_rounds: int
    cpu_per_round: int
    warmup: int
    loop_rounds: int
    loop_flows: int
    loop_idle_s: float
    widths: tuple[int, ...]
    per_width: Callable[[int], int]
    memory_flows: int
    memory_concurrency: int
    memory_warmup: int
    emulator_signins: int
    profile_signins: int


FULL = Sizes(
    srp_iterations=40,
    cpu_rounds=6,
    cpu_per_round=10,
    warmup=2,
    loop_rounds=3,
    loop_flows=50,
    loop_idle_s=0.5,
    widths=(1, 10, 100),
    per_width=lambda w: max(30, 3 * w),
    memory_flows=10_000,
    memory_concurrency=50,
    memory_warmup=50,
    emulator_signins=100,
    profile_signins=30,
)
QUICK = Sizes(
    srp_iterations=3,
    cpu_rounds=1,
    cpu_per_round=2,
    warmup=1,
    loop_rounds=1,
    loop_flows=5,
    loop_idle_s=0.05,
    widths=(1, 4),
    per_width=lambda w: w,
    memory_flows=200,
    memory_concurrency=20,
    memory_warmup=5,
    emulator_signins=3,
    profile_signins=3,
)


# --- child processes -----------------------------------------------------------------------


def _child_env(extra: dict[str, str]) -> dict[str, str]:
    env = dict(os.environ)
    env.pop("COGNITO_MFA_SRP_BACKEND", None)
    # no AWS account is involved: keep botocore from probing instance metadata for credentials
    env.setdefault("AWS_EC2_METADATA_DISABLED", "true")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env.update(extra)
    return env


class _Child:
    """A child process speaking one JSON object per line on stdout."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str]) -> None:
        self.name = name
        self.proc = subprocess.Popen(
            [sys.executable, *argv],
            cwd=ROOT,
            env=_child_env(env),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        self._lines: queue.Queue[str | None] = queue.Queue()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        stdout = self.proc.stdout
        assert stdout is not None
        for line in stdout:
            self._lines.put(line)
        self._lines.put(None)

    def receive(self, timeout: float) -> dict[str, Any]:
        try:
            line = self._lines.get(timeout=timeout)
        except queue.Empty:
            raise TimeoutError(f"{self.name}: no answer within {timeout:.0f} s") from None
        if line is None:
            raise RuntimeError(f"{self.name}: exited with {self.proc.wait()}")
        answer: dict[str, Any] = json.loads(line)
        return answer

    def close(self) -> None:
        stdin: IO[str] | None = self.proc.stdin
        if stdin is not None and not stdin.closed:
            stdin.close()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


class Worker(_Child):
    def __init__(self, name: str, env: dict[str, str]) -> None:
        super().__init__(name, ["-m", "benchmarks.worker"], env)

    def call(self, case: str, timeout: float = 600, **params: Any) -> Any:
        stdin = self.proc.stdin
        assert stdin is not None
        stdin.write(json.dumps({"case": case, "params": params}) + "\n")
        stdin.flush()
        answer = self.receive(timeout)
        if not answer["ok"]:
            raise RuntimeError(f"{self.name} failed in {case}:\n{answer['error']}")
        return answer["result"]


class Server(_Child):
    """The emulated Cognito (``benchmarks.serve``), seeded with ``users`` MFA users."""

    def __init__(self, users: int, priority: str = "normal") -> None:
        argv = ["-m", "benchmarks.serve", "--users", str(users), "--priority", priority]
        super().__init__(f"server ({priority} priority)", argv, {})
        try:
            hello = self.receive(timeout=300)
        except BaseException:
            self.close()
            raise
        self.url: str = hello["url"]
        self.pool_id: str = hello["pool_id"]
        self.client_id: str = hello["client_id"]
        self.users: list[dict[str, str]] = hello["users"]
        self.priority: str = hello["priority"]
        self._next = 0

    def take(self, count: int) -> dict[str, Any]:
        """Target parameters with ``count`` users no earlier command has signed in."""
        if self._next + count > len(self.users):
            raise RuntimeError("the server was seeded with too few users for this run")
        users = self.users[self._next : self._next + count]
        self._next += count
        return {
            "url": self.url,
            "pool_id": self.pool_id,
            "client_id": self.client_id,
            "users": users,
        }

    def reuse(self, count: int) -> dict[str, Any]:
        """Target parameters with ``count`` users that may have been used (no TOTP answered)."""
        return {
            "url": self.url,
            "pool_id": self.pool_id,
            "client_id": self.client_id,
            "users": self.users[:count],
        }


def loop_users(sizes: Sizes) -> int:
    """Users one server needs for ``loop_latency`` (three variants, every round)."""
    return 3 * sizes.loop_rounds * (sizes.warmup + sizes.loop_flows)


def users_needed(sizes: Sizes, selected: Sequence[str]) -> int:
    n = 0
    if "client_cpu" in selected:
        n += 3 * sizes.cpu_rounds * (sizes.warmup + sizes.cpu_per_round)
    if "loop_latency" in selected:
        n += loop_users(sizes)
    if "throughput" in selected:
        n += 3 * sum(sizes.warmup + sizes.per_width(w) for w in sizes.widths)
    if "profile" in selected:
        n += 2 * (sizes.warmup + sizes.profile_signins)
    if "memory" in selected:
        n += 1
    return max(n, 64)


# --- the benchmarks ------------------------------------------------------------------------


@dataclass
class Context:
    sizes: Sizes
    server: Server
    workers: dict[str, Worker]
    # the same emulator at idle CPU priority, standing in for a remote Cognito (loop_latency)
    remote: Server | None = None


def _row(
    case: str,
    value: float,
    unit: str,
    *,
    ratio: float | None = None,
    vs: str | None = None,
    target: str | None = None,
    met: bool | None = None,
    **extra: Any,
) -> dict[str, Any]:
    return {
        "case": case,
        "value": value,
        "unit": unit,
        "ratio": ratio,
        "vs": vs,
        "target": target,
        "met": met,
        **extra,
    }


def bench_srp_math(ctx: Context) -> dict[str, Any]:
    raw = ctx.workers[OURS_FAST].call("srp_math", iterations=ctx.sizes.srp_iterations)["ms_cpu"]
    base = raw["pycognito AWSSRP"]["median"]
    rows = [
        _row(
            name,
            s["median"],
            "ms CPU (median)",
            ratio=s["median"] / base,
            vs="pycognito AWSSRP",
            n=s["n"],
            p90=s["p90"],
        )
        for name, s in raw.items()
    ]
    return {"title": "2. SRP math alone (one client computation)", "rows": rows, "raw": raw}


def bench_client_cpu(ctx: Context) -> dict[str, Any]:
    sizes = ctx.sizes
    variants = {OURS_FAST: "ours", OURS_PURE: "ours", PYCOGNITO: "pycognito"}
    cpu: dict[str, list[float]] = {v: [] for v in variants}
    wall: dict[str, list[float]] = {v: [] for v in variants}
    calls: dict[str, list[float]] = {v: [] for v in variants}
    order = list(variants)
    for r in range(sizes.cpu_rounds):
        for name in order[r % 3 :] + order[: r % 3]:
            result = ctx.workers[name].call(
                "client_cpu",
                client=variants[name],
                warmup=sizes.warmup,
                count=sizes.cpu_per_round,
                floor_calls=sizes.cpu_per_round,
                **ctx.server.take(sizes.warmup + sizes.cpu_per_round),
            )
            cpu[name] += result["ms_cpu"]
            wall[name] += result["ms_wall"]
            calls[name] += result["call_ms_cpu"]
    base = summary(cpu[PYCOGNITO])["median"]
    targets = {OURS_FAST: 0.15, OURS_PURE: 0.5}
    rows = []
    for name in variants:
        s = summary(cpu[name])
        ratio = s["median"] / base
        target = targets.get(name)
        rows.append(
            _row(
                name,
                s["median"],
                "ms CPU per sign-in (median)",
                ratio=ratio,
                vs=PYCOGNITO,
                target=f"ratio <= {target}" if target else None,
                met=(ratio <= target) if target else None,
                n=s["n"],
                p90=s["p90"],
                wall_ms_median=summary(wall[name])["median"],
            )
        )
    # the client stack's own floor: one bare InitiateAuth, no library code (see signin.py)
    stacks = {OURS_FAST: "aioboto3 (ours)", PYCOGNITO: "boto3 (pycognito)"}
    floor_base = 3 * summary(calls[PYCOGNITO])["median"]
    for name, stack in stacks.items():
        floor = 3 * summary(calls[name])["median"]
        rows.append(
            _row(
                f"floor: 3 bare InitiateAuth calls via {stack}",
                floor,
                "ms CPU (3 x median)",
                ratio=floor / floor_base,
                vs="boto3 (pycognito)",
                n=len(calls[name]),
            )
        )
    return {
        "title": "1. Client CPU per full sign-in (SRP + SOFTWARE_TOKEN_MFA)",
        "rows": rows,
        "raw": {"ms_cpu": cpu, "ms_wall": wall, "call_ms_cpu": calls},
    }


def bench_loop_latency(ctx: Context) -> dict[str, Any]:
    """The ticker against two servers: the emulator at idle CPU priority (a remote Cognito:
    the target is judged here) and the same emulator at normal priority, competing with the
    client for the cores (reported alongside)."""
    sizes = ctx.sizes
    assert ctx.remote is not None
    servers = {"remote": ctx.remote, "co-located": ctx.server}
    variants = {OURS_FAST: "ours", OURS_PURE: "ours", PYCOGNITO: "pycognito"}
    keys = [(where, name) for where in servers for name in variants]
    load: dict[tuple[str, str], list[float]] = {k: [] for k in keys}
    rounds: dict[tuple[str, str], list[dict[str, Any]]] = {k: [] for k in keys}
    order = list(variants)
    for r in range(sizes.loop_rounds):
        for where, server in servers.items():
            for name in order[r % 3 :] + order[: r % 3]:
                result = ctx.workers[name].call(
                    "loop_latency",
                    client=variants[name],
                    warmup=sizes.warmup,
                    flows=sizes.loop_flows,
                    idle_s=sizes.loop_idle_s,
                    **server.take(sizes.warmup + sizes.loop_flows),
                )
                load[where, name] += result.pop("load_lateness_ms")
                rounds[where, name].append(result)
    rows = []
    for where, server in servers.items():
        suffix = "" if where == "remote" else f", emulator at {server.priority} priority"
        base_max = max(load[where, PYCOGNITO])
        for name in variants:
            worst = max(load[where, name])
            judged = name == OURS_FAST and where == "remote"
            rows.append(
                _row(
                    f"{name}{suffix}: max lateness",
                    worst,
                    "ms",
                    ratio=worst / base_max,
                    vs=f"{PYCOGNITO} in a thread pool",
                    target="< 5 ms" if judged else None,
                    met=(worst < 5) if judged else None,
                    server_priority=server.priority,
                    rounds_max_ms=[x["load"]["max_ms"] for x in rounds[where, name]],
                    rounds_steal_ms=[x["steal_ms_during_load"] for x in rounds[where, name]],
                    rounds_longest_gc_ms=[
                        x["gc_during_load"]["longest_ms"] for x in rounds[where, name]
                    ],
                    # while ticks were >= 5 ms late, the share of that time the loop computed
                    late_ticks_loop_busy_share=[
                        x["load"]["late_5ms_loop_busy_share"] for x in rounds[where, name]
                    ],
                )
            )
            rows.append(
                _row(
                    f"{name}{suffix}: p99 lateness",
                    percentile(load[where, name], 99),
                    "ms",
                    ticks=len(load[where, name]),
                    elapsed_s=[x["elapsed_s"] for x in rounds[where, name]],
                )
            )
    gc_rounds = [x["gc_during_load"] for x in rounds["remote", OURS_FAST]]
    rows.append(
        _row(
            f"{OURS_FAST}: longest garbage-collection pause during the load",
            max(x["longest_ms"] for x in gc_rounds),
            "ms",
            collections_per_round=[x["collections"] for x in gc_rounds],
        )
    )
    rows.append(
        _row(
            f"{OURS_FAST}: one full collection of the unfrozen heap (not during the load)",
            max(x["unfrozen_full_collection_ms"] for x in gc_rounds),
            "ms",
        )
    )
    all_idle = [x["idle"] for v in rounds.values() for x in v]
    rows.append(
        _row(
            "idle loop (no sign-ins): max lateness",
            max(x["max_ms"] for x in all_idle),
            "ms",
            p99_ms=max(x["p99_ms"] for x in all_idle),
        )
    )
    return {
        "title": (
            f"3. Event loop: 1 ms ticker lateness, {sizes.loop_flows} concurrent sign-ins "
            f"x {sizes.loop_rounds} rounds"
        ),
        "rows": rows,
        "raw": {f"{name} ({where})": v for (where, name), v in rounds.items()},
        "server_priority": {where: server.priority for where, server in servers.items()},
    }


def bench_throughput(ctx: Context) -> dict[str, Any]:
    sizes = ctx.sizes
    variants = {OURS_FAST: "ours", OURS_PURE: "ours", PYCOGNITO: "pycognito"}
    order = list(variants)
    raw: dict[str, dict[str, Any]] = {}
    rows = []
    for i, width in enumerate(sizes.widths):
        count = sizes.per_width(width)
        results = {}
        for name in order[i % 3 :] + order[: i % 3]:
            results[name] = ctx.workers[name].call(
                "throughput",
                client=variants[name],
                width=width,
                count=count,
                warmup=sizes.warmup,
                **ctx.server.take(sizes.warmup + count),
            )
        raw[str(width)] = results
        base = results[PYCOGNITO]["per_s"]
        for name in variants:
            r = results[name]
            rows.append(
                _row(
                    f"width {width}: {name}",
                    r["per_s"],
                    "sign-ins/s",
                    ratio=r["per_s"] / base,
                    vs=f"{PYCOGNITO}, {width} threads",
                    count=count,
                    elapsed_s=r["elapsed_s"],
                    cpu_ms_per_signin=r["cpu_ms_per_signin"],
                )
            )
    return {
        "title": "4. Throughput: sign-ins per second at a given number of flows in flight",
        "rows": rows,
        "raw": raw,
    }


def bench_memory(ctx: Context) -> dict[str, Any]:
    sizes = ctx.sizes
    # a process of its own (started with the others), so no earlier benchmark's heap is around
    r = ctx.workers[MEMORY].call(
        "memory",
        timeout=1800,
        flows=sizes.memory_flows,
        concurrency=sizes.memory_concurrency,
        warmup_flows=sizes.memory_warmup,
        **ctx.server.reuse(50),
    )
    base = ctx.workers[PYCOGNITO].call(
        "memory_baseline", flows=sizes.memory_flows, **ctx.server.take(1)
    )
    vs = "pycognito's mfa_tokens dict (freed)"
    rows = [
        _row(
            f"ours: freed when {r['flows']} parked flows are dropped",
            r["bytes_per_flow_freed"],
            "bytes per flow",
            ratio=r["bytes_per_flow_freed"] / base["bytes_per_flow_freed"],
            vs=vs,
            target="<= 4096",
            met=r["bytes_per_flow_freed"] <= 4096,
        ),
        _row(
            "ours: growth from before parking to all parked",
            r["bytes_per_flow_growth"],
            "bytes per flow",
            ratio=r["bytes_per_flow_growth"] / base["bytes_per_flow_freed"],
            vs=vs,
            target="<= 4096",
            met=r["bytes_per_flow_growth"] <= 4096,
        ),
        _row(
            "pycognito: the mfa_tokens dict it keeps per parked sign-in (a lower bound)",
            base["bytes_per_flow_freed"],
            "bytes per flow",
            ratio=1.0,
            vs=vs,
        ),
        _row("the challenge's Session string (from the emulator)", r["session_chars"], "chars"),
        _row("the flow's saved state (flow.state as JSON)", r["state_json_bytes"], "bytes"),
    ]
    return {
        "title": f"5. Memory: flows parked at SOFTWARE_TOKEN_MFA ({r['flows']} flows, tracemalloc)",
        "rows": rows,
        "raw": {"ours": r, "pycognito": base},
    }


def bench_emulator(ctx: Context) -> dict[str, Any]:
    n = ctx.sizes.emulator_signins
    raw = {}
    for name in (OURS_FAST, OURS_PURE):
        raw[name] = ctx.workers[name].call("emulator", signins=n)
    base = raw[OURS_PURE]["per_s"]
    rows = [
        _row(
            f"emulator, {'gmpy2' if name == OURS_FAST else 'pure Python'}",
            r["per_s"],
            "sign-ins/s of server CPU",
            ratio=r["per_s"] / base,
            vs="emulator, pure Python",
            ms_cpu_median=r["ms_cpu"]["median"],
        )
        for name, r in raw.items()
    ]
    return {"title": "6. Emulator: server-side sign-ins per second", "rows": rows, "raw": raw}


def bench_profile(ctx: Context) -> dict[str, Any]:
    sizes = ctx.sizes
    raw = {}
    rows = []
    for name in (OURS_FAST, OURS_PURE):
        # a process of its own (started with the others): only threads started under the
        # profiling hook exist there, so every SRP worker thread is profiled from its start
        r = ctx.workers[f"profile {name}"].call(
            "profile",
            warmup=sizes.warmup,
            count=sizes.profile_signins,
            **ctx.server.take(sizes.warmup + sizes.profile_signins),
        )
        raw[name] = r
        total = r["attributed_cpu_ms_per_signin"]
        for group, ms in r["groups_ms_per_signin"].items():
            rows.append(_row(f"{name}: {group}", ms, "ms CPU per sign-in", share=ms / total))
    return {
        "title": "Profile: where a sign-in's client CPU goes (cProfile)",
        "rows": rows,
        "raw": raw,
    }


RUNNERS: dict[str, Callable[[Context], dict[str, Any]]] = {
    "srp_math": bench_srp_math,
    "client_cpu": bench_client_cpu,
    "loop_latency": bench_loop_latency,
    "throughput": bench_throughput,
    "memory": bench_memory,
    "emulator": bench_emulator,
    "profile": bench_profile,
}

_PURE_ENV = {"COGNITO_MFA_SRP_BACKEND": "python"}


# --- output --------------------------------------------------------------------------------


def _fmt(value: float | None) -> str:
    if value is None:
        return ""
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def table(results: dict[str, dict[str, Any]]) -> str:
    """A Markdown table of every row (the README pastes it as is)."""
    lines = [
        "| benchmark | case | value | unit | ratio | vs | target | met |",
        "|---|---|---:|---|---:|---|---|---|",
    ]
    for name, result in results.items():
        for row in result["rows"]:
            met = {True: "yes", False: "**NO**", None: ""}[row["met"]]
            lines.append(
                f"| {name} | {row['case']} | {_fmt(row['value'])} | {row['unit']} | "
                f"{_fmt(row['ratio'])} | {row['vs'] or ''} | {row['target'] or ''} | {met} |"
            )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smallest sizes: a smoke run")
    parser.add_argument(
        "--only",
        default=",".join(BENCHMARKS + EXTRA),
        help=f"comma-separated subset of {','.join(BENCHMARKS + EXTRA)} (default: all)",
    )
    parser.add_argument("--out", type=Path, default=RESULTS, help="where the JSON files go")
    args = parser.parse_args(argv)
    selected = [name.strip() for name in args.only.split(",") if name.strip()]
    unknown = sorted(set(selected) - set(RUNNERS))
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(unknown)}")
    sizes = QUICK if args.quick else FULL
    command = "python -m benchmarks" + (" --quick" if args.quick else "")
    if args.only != parser.get_default("only"):
        command += f" --only {args.only}"
    started = datetime.now(UTC)
    about = machine()
    args.out.mkdir(parents=True, exist_ok=True)

    server = Server(users_needed(sizes, selected))
    remote: Server | None = None
    workers: dict[str, Worker] = {}
    results: dict[str, dict[str, Any]] = {}
    try:
        if "loop_latency" in selected:
            remote = Server(loop_users(sizes), priority="idle")
        workers[OURS_FAST] = Worker(OURS_FAST, {})
        workers[OURS_PURE] = Worker(OURS_PURE, _PURE_ENV)
        workers[PYCOGNITO] = Worker(PYCOGNITO, {})
        if "memory" in selected:
            workers[MEMORY] = Worker(MEMORY, {})
        if "profile" in selected:
            workers[f"profile {OURS_FAST}"] = Worker(f"profile {OURS_FAST}", {})
            workers[f"profile {OURS_PURE}"] = Worker(f"profile {OURS_PURE}", _PURE_ENV)
        if workers[OURS_FAST].call("hello", timeout=120)["fast"] is not True:
            raise RuntimeError("gmpy2 is not in use in the gmpy2 worker: install the bench extra")
        if workers[OURS_PURE].call("hello", timeout=120)["fast"] is not False:
            raise RuntimeError("COGNITO_MFA_SRP_BACKEND=python did not take effect")
        ctx = Context(sizes, server, workers, remote)
        for name in selected:
            t0 = time.perf_counter()
            print(f"running {name} ...", file=sys.stderr, flush=True)
            result = RUNNERS[name](ctx)
            result.update(
                name=name,
                seconds=time.perf_counter() - t0,
                command=command,
                quick=args.quick,
                started_at=started.isoformat(timespec="seconds"),
                machine=about,
            )
            results[name] = result
            path = args.out / f"{name}.json"
            # allow_nan=False: a NaN or an infinity is a bug to surface, not JSON to write
            path.write_text(json.dumps(result, indent=2, allow_nan=False) + "\n", encoding="utf-8")
            print(f"  {name}: {result['seconds']:.1f} s -> {path}", file=sys.stderr, flush=True)
    finally:
        for worker in workers.values():
            worker.close()
        if remote is not None:
            remote.close()
        server.close()
    print(
        f"\n{command}  ({started:%Y-%m-%d %H:%M} UTC; {about['nproc']} cores, "
        f"{about['cpu_model']}, Python {about['python']}, load {about['load_average_at_start']})\n"
    )
    print(table(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
