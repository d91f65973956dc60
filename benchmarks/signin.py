"""Full sign-ins (USER_SRP_AUTH, then SOFTWARE_TOKEN_MFA) against the emulated Cognito.

Two drivers do the same work against the same server process:

* ours: ``cognito_mfa.UserPool.sign_in`` on asyncio, answering the TOTP challenge;
* the baseline, pycognito 2024.5.1: ``AWSSRP.authenticate_user`` on a boto3 client pointed at
  the same server, then the SOFTWARE_TOKEN_MFA answer exactly as pycognito's
  ``Cognito.respond_to_software_token_mfa_challenge`` sends it (that method also verifies
  the tokens against the pool's JWKS at AWS, which is unreachable here and which our client
  does not do either, so it is left out).

Both use the same connection-pool width and compute the TOTP code with pyotp. The cases:

* :func:`client_cpu` (benchmark 1): CPU per sequential sign-in, ``time.process_time``, which
  counts every thread of this process (our SRP worker threads included) and nothing of the
  server's;
* :func:`loop_latency` (benchmark 3): lateness of a 1 ms ticker on the event loop while many
  sign-ins run at once (pycognito, for comparison, in a thread pool under the same loop);
* :func:`throughput` (benchmark 4): sign-ins per second at a given concurrency;
* :func:`memory` (benchmark 5): traced bytes per flow parked at the MFA challenge.
"""

from __future__ import annotations

import asyncio
import gc
import os
import time
import tracemalloc
from collections.abc import Awaitable, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import pyotp

from benchmarks._stats import percentile

TICK_S = 0.001


@dataclass(frozen=True)
class User:
    username: str
    password: str
    totp: pyotp.TOTP


@dataclass(frozen=True)
class Target:
    """The emulated pool: where it listens and the users seeded in it for this command."""

    url: str
    pool_id: str
    client_id: str
    users: tuple[User, ...]

    @property
    def region(self) -> str:
        return self.pool_id.split("_", 1)[0]

    @classmethod
    def from_params(cls, params: dict[str, Any]) -> Target:
        users = tuple(
            User(u["username"], u["password"], pyotp.TOTP(u["totp_secret"]))
            for u in params["users"]
        )
        return cls(params["url"], params["pool_id"], params["client_id"], users)

    def cycle(self) -> Iterator[User]:
        while True:
            yield from self.users


# --- ours ----------------------------------------------------------------------------------


def _user_pool(target: Target, width: int) -> Any:
    from aiobotocore.config import AioConfig

    import cognito_mfa as cm

    return cm.UserPool(
        target.pool_id,
        target.client_id,
        endpoint_url=target.url,
        botocore_config=AioConfig(max_pool_connections=max(10, width)),
    )


async def ours_sign_in(pool: Any, user: User) -> None:
    import cognito_mfa as cm

    flow = pool.sign_in(user.username, user.password)
    async for challenge in flow:
        if not isinstance(challenge, cm.SoftwareTokenMfaChallenge):
            raise AssertionError(f"unexpected challenge {type(challenge).__name__}")
        await challenge.answer(user.totp.now())
    if not flow.session.id_token:
        raise AssertionError("signed in without an id token")


async def ours_park(pool: Any, user: User) -> tuple[Any, Any]:
    """Sign in up to the MFA challenge and stop there; returns (flow, challenge)."""
    import cognito_mfa as cm

    flow = pool.sign_in(user.username, user.password)
    challenge = await flow.__anext__()
    if not isinstance(challenge, cm.SoftwareTokenMfaChallenge):
        raise AssertionError(f"unexpected challenge {type(challenge).__name__}")
    return flow, challenge


# --- pycognito -----------------------------------------------------------------------------


def _boto3_client(target: Target, width: int) -> Any:
    import boto3
    from botocore.config import Config

    return boto3.session.Session().client(
        "cognito-idp",
        region_name=target.region,
        endpoint_url=target.url,
        config=Config(max_pool_connections=max(10, width)),
    )


def pycognito_sign_in(client: Any, target: Target, user: User) -> None:
    from pycognito.aws_srp import AWSSRP
    from pycognito.exceptions import SoftwareTokenMFAChallengeException

    aws = AWSSRP(
        username=user.username,
        password=user.password,
        pool_id=target.pool_id,
        client_id=target.client_id,
        client=client,
    )
    try:
        aws.authenticate_user()
    except SoftwareTokenMFAChallengeException as challenge:
        mfa_tokens = challenge.get_tokens()
    else:
        raise AssertionError("pycognito: expected a SOFTWARE_TOKEN_MFA challenge")
    # the body of Cognito.respond_to_software_token_mfa_challenge, minus _set_tokens
    tokens = client.respond_to_auth_challenge(
        ClientId=target.client_id,
        Session=mfa_tokens["Session"],
        ChallengeName="SOFTWARE_TOKEN_MFA",
        ChallengeResponses={
            "USERNAME": user.username,
            "SOFTWARE_TOKEN_MFA_CODE": str(user.totp.now()),
        },
    )
    if not tokens["AuthenticationResult"]["IdToken"]:
        raise AssertionError("pycognito signed in without an id token")


# --- benchmark 1: client CPU per sign-in ---------------------------------------------------


def client_cpu(params: dict[str, Any]) -> dict[str, Any]:
    """CPU and wall milliseconds of each of ``count`` sequential sign-ins (after ``warmup``)."""
    target = Target.from_params(params)
    warmup, count = int(params["warmup"]), int(params["count"])
    users = target.cycle()
    cpu: list[float] = []
    wall: list[float] = []

    def record(start_cpu: float, start_wall: float) -> None:
        cpu.append((time.process_time() - start_cpu) * 1e3)
        wall.append((time.perf_counter() - start_wall) * 1e3)

    if params["client"] == "pycognito":
        client = _boto3_client(target, 1)
        try:
            for _ in range(warmup):
                pycognito_sign_in(client, target, next(users))
            for _ in range(count):
                c, w = time.process_time(), time.perf_counter()
                pycognito_sign_in(client, target, next(users))
                record(c, w)
        finally:
            client.close()
    else:

        async def ours() -> None:
            async with _user_pool(target, 1) as pool:
                for _ in range(warmup):
                    await ours_sign_in(pool, next(users))
                for _ in range(count):
                    c, w = time.process_time(), time.perf_counter()
                    await ours_sign_in(pool, next(users))
                    record(c, w)

        asyncio.run(ours())
    return {"ms_cpu": cpu, "ms_wall": wall, "call_ms_cpu": _call_floor(params, target)}


def _call_floor(params: dict[str, Any], target: Target) -> list[float]:
    """CPU of one bare InitiateAuth through the same client stack, no library code around it.

    ours: an aioboto3 client (aiobotocore + aiohttp + asyncio), as our transport holds;
    pycognito: a boto3 client (botocore + urllib3). A sign-in makes three such calls, so
    three times this is the floor the client stack sets under any sign-in.
    """
    from cognito_mfa import _srp as srp

    count = int(params.get("floor_calls", 0))
    srp_a = format(srp.client_public(srp.secret_exponent(b"\x5a" * 32)), "x")
    request = {
        "AuthFlow": "USER_SRP_AUTH",
        "ClientId": target.client_id,
        "AuthParameters": {"USERNAME": target.users[0].username, "SRP_A": srp_a},
    }
    out: list[float] = []
    if params["client"] == "pycognito":
        client = _boto3_client(target, 1)
        try:
            client.initiate_auth(**request)
            for _ in range(count):
                c = time.process_time()
                client.initiate_auth(**request)
                out.append((time.process_time() - c) * 1e3)
        finally:
            client.close()
        return out

    async def ours() -> None:
        import aioboto3
        from aiobotocore.config import AioConfig

        async with aioboto3.Session().client(
            "cognito-idp",
            region_name=target.region,
            endpoint_url=target.url,
            config=AioConfig(retries={"max_attempts": 1, "mode": "standard"}),
        ) as client:
            await client.initiate_auth(**request)
            for _ in range(count):
                c = time.process_time()
                await client.initiate_auth(**request)
                out.append((time.process_time() - c) * 1e3)

    asyncio.run(ours())
    return out


# --- benchmark 3: event-loop responsiveness ------------------------------------------------


async def _ticker(stop: asyncio.Event, ticks: list[tuple[float, float]]) -> None:
    """Sleep 1 ms at a time; record (lateness, loop-thread CPU while asleep) in ms per tick.

    The loop thread's own CPU (``time.thread_time``) tells why a tick was late: close to the
    lateness, the loop was busy running callbacks (code on the loop: botocore, aiohttp, ours);
    near zero, the thread was waiting (for the GIL held by another thread, or for a core).
    """
    clock, cpu = time.perf_counter, time.thread_time
    while not stop.is_set():
        due = clock() + TICK_S
        cpu_start = cpu()
        await asyncio.sleep(TICK_S)
        ticks.append((max(0.0, clock() - due) * 1e3, (cpu() - cpu_start) * 1e3))


async def _ticked(work: Callable[[], Awaitable[object]]) -> tuple[list[tuple[float, float]], float]:
    stop = asyncio.Event()
    ticks: list[tuple[float, float]] = []
    ticker = asyncio.create_task(_ticker(stop, ticks))
    await asyncio.sleep(0)  # let the ticker take its first step before the load starts
    start = time.perf_counter()
    try:
        await work()
    finally:
        elapsed = time.perf_counter() - start
        stop.set()
        await ticker
    return ticks, elapsed


def _lateness_summary(ticks: list[tuple[float, float]]) -> dict[str, Any]:
    lateness = [late for late, _ in ticks]
    worst = max(ticks)
    late = [(t, c) for t, c in ticks if t >= 5.0]
    return {
        "ticks": len(ticks),
        "max_ms": worst[0],
        "max_tick_loop_cpu_ms": worst[1],
        "p99_ms": percentile(lateness, 99),
        "median_ms": percentile(lateness, 50),
        "ticks_late_5ms": len(late),
        # of the time those late ticks slept, how much the loop thread itself was computing
        "late_5ms_loop_busy_share": (
            sum(c for _, c in late) / sum(t + TICK_S * 1e3 for t, _ in late) if late else None
        ),
    }


def _steal_ticks() -> int | None:
    """The machine's stolen CPU time so far (``/proc/stat``, clock ticks), or None off Linux.

    On a virtual machine the host may run other guests on our cores: the loop then stalls
    with no program of ours running, which only this counter shows.
    """
    try:
        with open("/proc/stat", encoding="ascii") as stat:
            fields = stat.readline().split()
        return int(fields[8])
    except (OSError, IndexError, ValueError):
        return None


class _GcWatch:
    """Freezes the heap built so far (imports, clients, warm-up) and records every garbage
    collection from then on: generation and pause in ms.

    ``gc.freeze()`` after start-up is what a latency-sensitive service does (the ``gc`` docs
    suggest it for long-lived processes): with botocore, aiohttp and pydantic loaded, a full
    collection of the unfrozen heap pauses the loop for tens of milliseconds on our machine,
    whichever client library made the requests. The collections that still happen (of what
    the sign-ins allocate) are recorded, since they pause the loop too.
    """

    def __init__(self) -> None:
        self.pauses: list[tuple[int, float]] = []
        self.full_collection_ms = 0.0
        self._start = 0.0

    def _callback(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._start = time.perf_counter()
        else:
            self.pauses.append((int(info["generation"]), (time.perf_counter() - self._start) * 1e3))

    def __enter__(self) -> _GcWatch:
        gc.collect()  # the garbage first, so that only live objects are frozen
        start = time.perf_counter()
        gc.collect()  # what a full collection of the unfrozen heap costs
        self.full_collection_ms = (time.perf_counter() - start) * 1e3
        gc.freeze()
        gc.callbacks.append(self._callback)
        return self

    def __exit__(self, *exc_info: object) -> None:
        gc.callbacks.remove(self._callback)
        gc.unfreeze()

    def summary(self) -> dict[str, Any]:
        return {
            "unfrozen_full_collection_ms": self.full_collection_ms,
            "collections": [sum(1 for g, _ in self.pauses if g == gen) for gen in range(3)],
            "longest_ms": max((ms for _, ms in self.pauses), default=0.0),
            "longest_by_generation_ms": [
                max((ms for g, ms in self.pauses if g == gen), default=0.0) for gen in range(3)
            ],
        }


async def _measure(
    idle: Callable[[], Awaitable[object]], load: Callable[[], Awaitable[object]]
) -> dict[str, Any]:
    """The ticker through ``idle`` then ``load``, each with the start-up heap frozen."""
    with _GcWatch():
        idle_lateness, _ = await _ticked(idle)
    with _GcWatch() as collections:
        steal_before = _steal_ticks()
        lateness, elapsed = await _ticked(load)
        steal_after = _steal_ticks()
    return {
        "idle": _lateness_summary(idle_lateness),
        "load": _lateness_summary(lateness),
        "load_lateness_ms": [late for late, _ in lateness],
        "elapsed_s": elapsed,
        "gc_during_load": collections.summary(),
        "steal_ms_during_load": (
            None
            if steal_before is None or steal_after is None
            else (steal_after - steal_before) * 1e3 / os.sysconf("SC_CLK_TCK")
        ),
    }


def loop_latency(params: dict[str, Any]) -> dict[str, Any]:
    """A 1 ms ticker on the loop: idle for ``idle_s``, then while ``flows`` sign-ins run.

    Both phases run with the start-up heap frozen (:class:`_GcWatch`); the collections during
    the load are reported with the lateness.
    """
    target = Target.from_params(params)
    flows, warmup = int(params["flows"]), int(params["warmup"])
    users = target.cycle()
    idle_s = float(params["idle_s"])

    async def idle() -> None:
        await asyncio.sleep(idle_s)

    async def main() -> dict[str, Any]:
        if params["client"] == "pycognito":
            client = _boto3_client(target, flows)
            executor = ThreadPoolExecutor(max_workers=flows)
            loop = asyncio.get_running_loop()
            try:
                for _ in range(warmup):
                    pycognito_sign_in(client, target, next(users))
                batch = [next(users) for _ in range(flows)]

                async def load() -> None:
                    await asyncio.gather(
                        *(
                            loop.run_in_executor(executor, pycognito_sign_in, client, target, u)
                            for u in batch
                        )
                    )

                measured = await _measure(idle, load)
            finally:
                executor.shutdown(wait=True)
                client.close()
        else:
            async with _user_pool(target, flows) as pool:
                for _ in range(warmup):
                    await ours_sign_in(pool, next(users))
                batch = [next(users) for _ in range(flows)]

                async def load() -> None:
                    await asyncio.gather(*(ours_sign_in(pool, u) for u in batch))

                measured = await _measure(idle, load)
        return measured

    return asyncio.run(main())


# --- benchmark 4: throughput ---------------------------------------------------------------


def throughput(params: dict[str, Any]) -> dict[str, Any]:
    """``count`` sign-ins with ``width`` in flight at once; sign-ins per second (wall clock)."""
    target = Target.from_params(params)
    width, count, warmup = int(params["width"]), int(params["count"]), int(params["warmup"])
    users = target.cycle()
    warm = [next(users) for _ in range(warmup)]
    batch = [next(users) for _ in range(count)]

    if params["client"] == "pycognito":
        client = _boto3_client(target, width)
        try:
            for u in warm:
                pycognito_sign_in(client, target, u)
            with ThreadPoolExecutor(max_workers=width) as executor:
                cpu, start = time.process_time(), time.perf_counter()
                for _ in executor.map(lambda u: pycognito_sign_in(client, target, u), batch):
                    pass
                elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
        finally:
            client.close()
    else:

        async def ours() -> tuple[float, float]:
            async with _user_pool(target, width) as pool:
                for u in warm:
                    await ours_sign_in(pool, u)
                pending = iter(batch)

                async def lane() -> None:
                    for u in pending:  # lanes share one iterator: width flows in flight
                        await ours_sign_in(pool, u)

                cpu, start = time.process_time(), time.perf_counter()
                await asyncio.gather(*(lane() for _ in range(width)))
                return time.perf_counter() - start, time.process_time() - cpu

        elapsed, cpu = asyncio.run(ours())
    return {
        "width": width,
        "count": count,
        "elapsed_s": elapsed,
        "per_s": count / elapsed,
        "cpu_ms_per_signin": cpu * 1e3 / count,
    }


# --- benchmark 5: memory per parked flow ---------------------------------------------------


def memory(params: dict[str, Any]) -> dict[str, Any]:
    """Traced bytes held by ``flows`` sign-ins parked at SOFTWARE_TOKEN_MFA (ours).

    Measured twice: growth from before parking to all parked, and what is freed when the
    parked flows are dropped (the flows' own footprint, without caches that stay warm).
    """
    target = Target.from_params(params)
    flows, concurrency = int(params["flows"]), int(params["concurrency"])
    users = target.cycle()

    async def main() -> dict[str, Any]:
        async with _user_pool(target, concurrency) as pool:
            # warm every cache and the connection pool, then let the warm-up flows go
            warm = await asyncio.gather(
                *(ours_park(pool, next(users)) for _ in range(int(params["warmup_flows"])))
            )
            del warm
            gc.collect()
            before = tracemalloc.get_traced_memory()[0]
            snap_before = tracemalloc.take_snapshot()
            parked: list[tuple[Any, Any]] = []
            pending = iter(range(flows))

            async def lane() -> None:
                for _ in pending:
                    parked.append(await ours_park(pool, next(users)))

            await asyncio.gather(*(lane() for _ in range(concurrency)))
            gc.collect()
            held = tracemalloc.get_traced_memory()[0]
            snap_held = tracemalloc.take_snapshot()
            session_chars = len(parked[0][0].state.session.get_secret_value())
            state_json_bytes = len(parked[0][0].state.model_dump_json())
            parked.clear()
            gc.collect()
            after = tracemalloc.get_traced_memory()[0]
        top = [
            {"where": str(stat.traceback), "bytes_per_flow": stat.size_diff / flows}
            for stat in snap_held.compare_to(snap_before, "lineno")[:12]
        ]
        return {
            "flows": flows,
            "bytes_per_flow_growth": (held - before) / flows,
            "bytes_per_flow_freed": (held - after) / flows,
            "session_chars": session_chars,
            "state_json_bytes": state_json_bytes,
            "top": top,
        }

    import aiobotocore.config  # noqa: F401 - imported before tracing: modules are not flows

    import cognito_mfa  # noqa: F401

    tracemalloc.start()
    try:
        return asyncio.run(main())
    finally:
        tracemalloc.stop()


def memory_baseline(params: dict[str, Any]) -> dict[str, Any]:
    """What pycognito keeps per parked sign-in, at the least: its ``mfa_tokens`` dict.

    pycognito hands the SOFTWARE_TOKEN_MFA challenge over as an exception carrying boto3's
    response dict, which the application keeps (``Cognito.mfa_tokens``) until the code comes.
    One real such dict is taken from a sign-in against the same server, then ``flows`` distinct
    copies (a JSON round trip, so no string is shared) are traced: a lower bound, as an
    application would usually keep a ``Cognito`` object per user as well.
    """
    import json

    from pycognito.aws_srp import AWSSRP
    from pycognito.exceptions import SoftwareTokenMFAChallengeException

    target = Target.from_params(params)
    flows = int(params["flows"])
    user = target.users[0]
    client = _boto3_client(target, 1)
    try:
        aws = AWSSRP(
            username=user.username,
            password=user.password,
            pool_id=target.pool_id,
            client_id=target.client_id,
            client=client,
        )
        try:
            aws.authenticate_user()
        except SoftwareTokenMFAChallengeException as challenge:
            text = json.dumps(challenge.get_tokens(), default=str)
        else:
            raise AssertionError("pycognito: expected a SOFTWARE_TOKEN_MFA challenge")
    finally:
        client.close()
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        parked = [json.loads(text) for _ in range(flows)]
        gc.collect()
        held = tracemalloc.get_traced_memory()[0]
        parked.clear()
        gc.collect()
        after = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    return {
        "flows": flows,
        "bytes_per_flow_growth": (held - before) / flows,
        "bytes_per_flow_freed": (held - after) / flows,
    }
