"""Where a full sign-in's client CPU goes, by cProfile: SRP, botocore, pydantic, the event loop.

Runs ``count`` sequential sign-ins (ours) under :mod:`cProfile` with a per-thread CPU timer
(``time.thread_time``), in the event-loop thread and in every worker thread started while
profiling (our SRP runs in anyio worker threads; ``threading.setprofile`` starts one profiler
in each). Self time is grouped by the file a function lives in; the self time of built-ins
(``pow``, ``gmpy2.powmod``, hashing, socket calls) goes to the group of whoever called them.

cProfile charges a fixed cost to every Python call, so code made of many small calls
(botocore's hooks and serialisers, pydantic's Python layer, asyncio) looks heavier than it
is, and one large ``pow`` looks lighter; the benchmarks' uninstrumented SRP and full-sign-in
CPU figures give the true split between SRP and the rest.
"""

from __future__ import annotations

import asyncio
import cProfile
import pstats
import sys
import threading
import time
from types import FrameType
from typing import Any

from benchmarks.signin import Target, _user_pool, ours_sign_in

# (group, substrings of a function's file); the first match wins
GROUPS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("SRP math (cognito_mfa/srp.py, pow, gmpy2)", ("cognito_mfa/srp.py", "gmpy2")),
    (
        "botocore / aiobotocore / aioboto3 (build, serialise, sign, parse, hooks)",
        ("botocore/", "aiobotocore/", "aioboto3/", "boto3/", "jmespath/", "dateutil/"),
    ),
    ("pydantic", ("pydantic/", "pydantic_core/")),
    (
        "event loop, HTTP and threads (asyncio, aiohttp, anyio, sockets)",
        (
            "asyncio/",
            "aiohttp/",
            "anyio/",
            "yarl/",
            "multidict/",
            "aiohappyeyeballs/",
            "propcache/",
            "frozenlist/",
            "aiosignal/",
            "selectors.py",
            "socket.py",
            "ssl.py",
            "threading.py",
            "queue.py",
            "concurrent/",
            "contextvars",
        ),
    ),
    ("cognito_mfa (flow, protocol, models, transport)", ("cognito_mfa/",)),
    ("pyotp (the TOTP code)", ("pyotp/",)),
)
OTHER = "other (stdlib: json, base64, hashlib, datetime, logging, ...)"

# built-ins that belong to a group whoever calls them
_BUILTIN_GROUPS: tuple[tuple[str, str], ...] = (
    ("gmpy2", GROUPS[0][0]),
    ("select.epoll", GROUPS[3][0]),
    ("_socket", GROUPS[3][0]),
    ("_asyncio", GROUPS[3][0]),
    ("_thread", GROUPS[3][0]),
    ("_contextvars", GROUPS[3][0]),
    ("pydantic_core", GROUPS[2][0]),
)


def _group_of_file(filename: str) -> str:
    path = filename.replace("\\", "/")
    for group, needles in GROUPS:
        if any(needle in path for needle in needles):
            return group
    return OTHER


def _builtin_group(name: str) -> str | None:
    for needle, group in _BUILTIN_GROUPS:
        if needle in name:
            return group
    return None


def group_stats(stats: pstats.Stats) -> dict[str, float]:
    """Seconds of self time per group."""
    totals: dict[str, float] = {}
    raw: dict[Any, Any] = stats.stats  # type: ignore[attr-defined]
    for (filename, _line, name), (_cc, _nc, tottime, _ct, callers) in raw.items():
        if filename != "~":
            group = _group_of_file(filename)
            totals[group] = totals.get(group, 0.0) + tottime
            continue
        fixed = _builtin_group(name)
        if fixed is not None or not callers:
            group = fixed or OTHER
            totals[group] = totals.get(group, 0.0) + tottime
            continue
        edge_total = sum(edge[2] for edge in callers.values())
        for caller, edge in callers.items():
            share = tottime * (edge[2] / edge_total) if edge_total else tottime / len(callers)
            caller_file = caller[0]
            group = _group_of_file(caller_file) if caller_file != "~" else OTHER
            totals[group] = totals.get(group, 0.0) + share
    return totals


def run(params: dict[str, Any]) -> dict[str, Any]:
    target = Target.from_params(params)
    warmup, count = int(params["warmup"]), int(params["count"])
    users = target.cycle()
    profilers: list[cProfile.Profile] = []
    lock = threading.Lock()

    def start_in_thread(frame: FrameType, event: str, arg: object) -> None:
        sys.setprofile(None)
        profiler = cProfile.Profile(time.thread_time)
        with lock:
            profilers.append(profiler)
        profiler.enable()

    async def main() -> float:
        # anyio keeps its worker threads per event loop: this fresh loop starts new ones,
        # after the hook is installed, so each gets its own profiler
        threading.setprofile(start_in_thread)
        try:
            async with _user_pool(target, 1) as pool:
                # first-use costs (the connection, aiohttp's session and SSL context, lazy
                # imports) are once per pool, not per sign-in: pay them before profiling
                for _ in range(warmup):
                    await ours_sign_in(pool, next(users))
                with lock:
                    for idle_thread in profilers:
                        # safe: those threads sit blocked in C, outside the profiler
                        idle_thread.clear()
                main_profiler = cProfile.Profile(time.thread_time)
                with lock:
                    profilers.append(main_profiler)
                cpu = time.process_time()
                main_profiler.enable()
                try:
                    for _ in range(count):
                        await ours_sign_in(pool, next(users))
                finally:
                    main_profiler.disable()
                return time.process_time() - cpu
        finally:
            threading.setprofile(None)

    profiled_cpu = asyncio.run(main())
    with lock:
        taken = list(profilers)
    stats = pstats.Stats(taken[0])
    for profiler in taken[1:]:
        stats.add(profiler)
    totals = group_stats(stats)
    seen = sum(totals.values())
    top = sorted(
        (
            (tottime, f"{filename}:{line}({name})")
            for (filename, line, name), (_cc, _nc, tottime, _ct, _callers) in stats.stats.items()  # type: ignore[attr-defined]
        ),
        reverse=True,
    )[:15]
    return {
        "count": count,
        "threads_profiled": len(taken),
        "profiled_cpu_ms_per_signin": profiled_cpu * 1e3 / count,
        "attributed_cpu_ms_per_signin": seen * 1e3 / count,
        "groups_ms_per_signin": {
            group: seconds * 1e3 / count
            for group, seconds in sorted(totals.items(), key=lambda kv: -kv[1])
        },
        "top_functions_ms_per_signin": [
            {"function": where, "ms": tottime * 1e3 / count} for tottime, where in top
        ],
    }
