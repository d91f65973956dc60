"""Where a full sign-in's client CPU goes, by cProfile: SRP, botocore, pydantic, the event loop.

Runs ``count`` sequential sign-ins (ours) under :mod:`cProfile` with a per-thread CPU timer
(``time.thread_time``), in the event-loop thread and in every worker thread started while
profiling (our SRP runs in anyio worker threads; ``threading.setprofile`` starts one profiler
in each). Self time is grouped by the file a function lives in; the self time of built-ins
(``pow``, hashing, ...) and of the generic stdlib (json, logging, ...) goes to the group of
whoever called them, up the call graph.

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
    ("SRP math (cognito_mfa/_srp.py, pow, gmpy2)", ("cognito_mfa/_srp.py", "gmpy2")),
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
OTHER = "other (stdlib not called from one of the groups above)"

# built-ins that block the thread: waiting, not CPU
WAITS: frozenset[str] = frozenset(
    {
        "<method 'acquire' of '_thread.lock' objects>",
        "<method 'acquire' of '_thread.RLock' objects>",
        "<method 'poll' of 'select.epoll' objects>",
        "<built-in method time.sleep>",
    }
)

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
    """Seconds of self time per group.

    A library function's self time stays in its library's group. Built-ins and the generic
    stdlib (``OTHER``: json, logging, email headers, ...) are charged to whoever called them,
    following callers up until a library is reached, split by cProfile's per-caller times, so
    botocore's logging and header handling count as botocore.
    """
    raw: dict[Any, Any] = stats.stats  # type: ignore[attr-defined]
    memo: dict[Any, dict[str, float]] = {}

    def own_group(func: Any) -> str | None:
        filename, _line, name = func
        if filename == "~":
            return _builtin_group(name)
        group = _group_of_file(filename)
        return None if group == OTHER else group

    def shares(func: Any, depth: int = 0) -> dict[str, float]:
        """How a unit of ``func``'s self time splits among groups."""
        if func in memo:
            return memo[func]
        group = own_group(func)
        if group is not None:
            result = {group: 1.0}
        else:
            callers = raw.get(func, (0, 0, 0.0, 0.0, {}))[4]
            weights = {c: e[2] for c, e in callers.items()} if callers else {}
            total = sum(weights.values())
            if depth > 30 or not weights:
                result = {OTHER: 1.0}
            else:
                memo[func] = {OTHER: 1.0}  # a cycle through the stdlib stays OTHER
                result = {}
                for caller, weight in weights.items():
                    fraction = weight / total if total else 1 / len(weights)
                    for g, part in shares(caller, depth + 1).items():
                        result[g] = result.get(g, 0.0) + fraction * part
        memo[func] = result
        return result

    totals: dict[str, float] = {}
    for func, (_cc, _nc, tottime, _ct, _callers) in raw.items():
        if func[0] == "~" and func[2] in WAITS:
            continue  # blocked, not computing (the thread-CPU timer should give ~0 anyway)
        for group, part in shares(func).items():
            totals[group] = totals.get(group, 0.0) + tottime * part
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
    by_group: dict[str, list[tuple[float, str]]] = {}
    raw_stats: dict[Any, Any] = stats.stats  # type: ignore[attr-defined]
    for (filename, line, name), (_cc, _nc, tottime, _ct, _callers) in raw_stats.items():
        if filename != "~":
            where = f"{filename.rsplit('site-packages/', 1)[-1]}:{line}({name})"
            by_group.setdefault(_group_of_file(filename), []).append((tottime, where))
    top_by_group = {
        group: [{"function": w, "ms": t * 1e3 / count} for t, w in sorted(items, reverse=True)[:6]]
        for group, items in by_group.items()
    }
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
        "top_python_functions_by_group": top_by_group,
        "top_functions_ms_per_signin": [
            {"function": where, "ms": tottime * 1e3 / count} for tottime, where in top
        ],
    }
