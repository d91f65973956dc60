"""Cancelling a sign-in anywhere leaves nothing behind, and the sign-in can go on or start over.

Callers set deadlines with cancel scopes (``anyio.CancelScope``, ``anyio.move_on_after``,
``asyncio.timeout``); the library has no ``timeout=`` of its own. Cancelled at any await point,
a sign-in must leave:

* no half-updated flow: the phase is never one of the "request in flight" phases; a flow
  cancelled while a request was in flight is FAILED (Cognito may have consumed its session),
  one cancelled while waiting for the caller can still be answered;
* no pending task (``asyncio.all_tasks()`` is the test's own task only);
* no open connection once the pool is closed (counted as socket file descriptors, against the
  served emulator), and no ResourceWarning or unraisable exception (``filterwarnings=error``
  makes both fail the test; ``gc.collect()`` makes them fire inside it).

Cancellation is placed (a) exactly while each operation of the sign-in is at the emulator
(its answer delayed by fault injection, the scope cancelled once the request has arrived),
and (b) after every number of event-loop turns from 0 up to a whole sign-in, as a sweep.
"""

from __future__ import annotations

import asyncio
import gc
import os
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import anyio
import pytest
from aiobotocore.config import AioConfig

import cognito_mfa as cm
from cognito_mfa.testing import (
    EMULATOR_ENDPOINT,
    Emulator,
    EmulatorServer,
    SeededPool,
    SeededUser,
    Seeder,
)
from cognito_mfa.testing.app import emulator_lock

pytestmark = pytest.mark.filterwarnings("error::ResourceWarning")

PASSWORD = "Correct-Horse-9"
PHONE = "+15555550100"
PREFIX = "AWSCognitoIdentityProviderService."
IN_FLIGHT = frozenset(
    {
        cm.Phase.STARTING,
        cm.Phase.VERIFYING_PASSWORD,
        cm.Phase.ANSWERING,
        cm.Phase.ASSOCIATING,
        cm.Phase.VERIFYING,
    }
)


class SignalingEmulator(Emulator):
    """Sets ``arrived`` when a request for ``watch`` reaches it (from any thread)."""

    def __init__(self) -> None:
        super().__init__()
        self.watch: str | None = None
        self.arrived = threading.Event()

    def handle(self, target: str | None, body: bytes, *, signed: bool) -> Any:
        if self.watch is not None and target == PREFIX + self.watch:
            self.arrived.set()
        return super().handle(target, body, signed=signed)

    def expect(self, operation: str) -> None:
        self.watch = operation
        self.arrived.clear()


@dataclass
class Env:
    emulator: SignalingEmulator
    seeder: Seeder
    seeded: SeededPool
    user: SeededUser
    endpoint: str
    config: AioConfig | None
    lock: Any

    def pool(self) -> cm.UserPool:
        return cm.UserPool(
            self.seeded.pool_id,
            self.seeded.client_id,
            endpoint_url=self.endpoint,
            botocore_config=self.config,
            retry_policy=cm.RetryPolicy(max_attempts=1),
            clock=lambda: datetime.fromtimestamp(self.emulator.now(), UTC),
        )

    def sms_code(self) -> str:
        with self.lock:
            return self.emulator.last_code(self.user.username, "SMS")

    def inject_delay(self, operation: str, seconds: float) -> None:
        with self.lock:
            self.emulator.expect(operation)
            self.emulator.inject_fault(operation, error=None, delay=seconds)


@pytest.fixture
def cognito_emulator() -> SignalingEmulator:
    """The shipped fixtures (client, seeder, server) run on this emulator."""
    return SignalingEmulator()


@pytest.fixture
async def env(
    cognito_emulator: SignalingEmulator,
    cognito_seeder: Seeder,
    cognito_pool: SeededPool,
    cognito_client_config: AioConfig,
) -> Env:
    user = await cognito_seeder.create_user(
        cognito_pool, "alice", PASSWORD, phone=PHONE, mfa=["SMS"]
    )
    return Env(
        cognito_emulator,
        cognito_seeder,
        cognito_pool,
        user,
        EMULATOR_ENDPOINT,
        cognito_client_config,
        emulator_lock(cognito_emulator),
    )


def _connections_to(port: int) -> int:
    """How many of this process's sockets are connected to ``port`` (the client side)."""
    inodes = set()
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[len("socket:[") : -1])
    count = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            remote_port = int(fields[2].rsplit(":", 1)[1], 16)
            if remote_port == port and fields[9] in inodes:
                count += 1
    return count


async def _assert_no_task_left() -> None:
    await asyncio.sleep(0)  # let finished tasks be collected
    assert asyncio.all_tasks() == {asyncio.current_task()}


def _assert_not_half_updated(flow: cm.AuthFlow) -> None:
    assert flow.phase not in IN_FLIGHT, flow.phase
    if flow.phase in (cm.Phase.CHALLENGED, cm.Phase.WAITING):
        assert flow.challenge is not None
        flow.state  # noqa: B018 - resumable: the state can be taken
    if flow.phase is cm.Phase.DONE:
        assert flow.session.access_token.get_secret_value()


async def _finish(env: Env, flow: cm.AuthFlow) -> None:
    async for challenge in flow:
        assert isinstance(challenge, cm.SmsMfaChallenge)
        await challenge.answer(env.sms_code())
    assert flow.done


async def _cancel_when_arrived(env: Env, scope: anyio.CancelScope) -> None:
    arrived = await anyio.to_thread.run_sync(env.emulator.arrived.wait, 10.0)
    assert arrived, "the request never reached the emulator"
    scope.cancel()


# --- (a) cancelled while each request is at the emulator ----------------------------------------

STEPS = ["InitiateAuth", "PASSWORD_VERIFIER", "SMS_MFA answer"]


async def _cancel_at(
    env: Env, pool: cm.UserPool, step: str, delay: float = 30.0
) -> tuple[cm.AuthFlow, Any]:
    """Run the sign-in up to ``step``, cancel it there; returns the flow and a saved state."""
    flow = pool.sign_in(env.user.username, PASSWORD)
    saved = None
    if step == "SMS_MFA answer":
        await anext(aiter(flow))
        saved = flow.state
    operation = "InitiateAuth" if step == "InitiateAuth" else "RespondToAuthChallenge"
    env.inject_delay(operation, delay)
    with anyio.CancelScope() as scope:
        async with anyio.create_task_group() as tg:
            tg.start_soon(_cancel_when_arrived, env, scope)
            if step == "SMS_MFA answer":
                await flow.send_mfa_code(env.sms_code())
            else:
                await anext(aiter(flow))
            raise AssertionError("the step was not cancelled")
    assert scope.cancelled_caught
    with env.lock:
        env.emulator.clear_faults()
    return flow, saved


@pytest.mark.parametrize("step", STEPS)
async def test_cancelled_mid_request_in_process(env: Env, step: str) -> None:
    async with env.pool() as pool:
        flow, saved = await _cancel_at(env, pool, step)
        # a request was in flight: Cognito may have consumed the session, so the flow is closed
        assert flow.phase is cm.Phase.FAILED
        _assert_not_half_updated(flow)
        await _assert_no_task_left()
        with pytest.raises(cm.FlowStateError):
            await anext(aiter(flow))
        if saved is not None:
            # the answer reached Cognito before the cancellation: its session is spent
            with pytest.raises(cm.InvalidSession):
                await pool.resume(saved).send_mfa_code(env.sms_code())
        # starting over works on the same pool
        await _finish(env, pool.sign_in(env.user.username, PASSWORD))
    await _assert_no_task_left()


async def test_cancelled_while_waiting_for_the_caller_can_be_answered_or_resumed(
    env: Env,
) -> None:
    async with env.pool() as pool:
        flow = pool.sign_in(env.user.username, PASSWORD)
        challenge = await anext(aiter(flow))
        # the caller's own deadline expires while it waits for the user: nothing was in flight
        with anyio.move_on_after(0) as scope:
            await anyio.sleep_forever()
        assert scope.cancelled_caught
        assert flow.phase is cm.Phase.WAITING
        saved = flow.state
        # the answer can come later, here or (from the state) elsewhere
        async with env.pool() as other:
            resumed = other.resume(saved.model_dump_json())
            await resumed.send_mfa_code(env.sms_code())
            assert resumed.done
        with pytest.raises(cm.InvalidSession):
            await challenge.answer(env.sms_code())
    await _assert_no_task_left()


@pytest.mark.parametrize("operation", ["InitiateAuth", "RespondToAuthChallenge"])
async def test_asyncio_timeout(env: Env, operation: str) -> None:
    async with env.pool() as pool:
        flow = pool.sign_in(env.user.username, PASSWORD)
        env.inject_delay(operation, 30.0)
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.2):
                await anext(aiter(flow))
        assert flow.phase is cm.Phase.FAILED
        await _assert_no_task_left()
        with env.lock:
            env.emulator.clear_faults()
        await _finish(env, pool.sign_in(env.user.username, PASSWORD))


async def test_cancelled_during_mfa_setup(env: Env) -> None:
    pool_id = await env.seeder.create_pool("setup", mfa="ON", sms=False, email=False)
    env.seeded = await env.seeder.create_client(pool_id)
    await env.seeder.create_user(env.seeded, "frank", PASSWORD)
    async with env.pool() as pool:
        for operation in ("AssociateSoftwareToken", "VerifySoftwareToken"):
            flow = pool.sign_in("frank", PASSWORD)
            setup = await anext(aiter(flow))
            assert isinstance(setup, cm.MfaSetupChallenge)
            secret = None
            if operation == "VerifySoftwareToken":
                secret = await setup.associate_software_token()
            env.inject_delay(operation, 30.0)
            with anyio.CancelScope() as scope:
                async with anyio.create_task_group() as tg:
                    tg.start_soon(_cancel_when_arrived, env, scope)
                    if secret is None:
                        await setup.associate_software_token()
                    else:
                        await setup.verify_software_token(secret.code_at(env.emulator.now()))
            assert scope.cancelled_caught
            assert flow.phase is cm.Phase.FAILED
            await _assert_no_task_left()
            with env.lock:
                env.emulator.clear_faults()
        # a new sign-in sets MFA up from scratch
        flow = pool.sign_in("frank", PASSWORD)
        setup = await anext(aiter(flow))
        assert isinstance(setup, cm.MfaSetupChallenge)
        secret = await setup.associate_software_token()
        env.emulator.advance(30)
        await setup.verify_software_token(secret.code_at(env.emulator.now()))
        assert flow.done


# --- (b) a sweep over every await point ----------------------------------------------------------


async def _cancel_after_turns(turns: int, scope: anyio.CancelScope) -> None:
    for _ in range(turns):
        await anyio.lowlevel.checkpoint()
    scope.cancel()


async def _sweep(env: Env) -> dict[str, int]:
    """Cancel a sign-in after 0, 1, 2, ... loop turns until one finishes first."""
    outcomes: dict[str, int] = {}
    async with env.pool() as pool:
        turns = 0
        while True:
            flow = pool.sign_in(env.user.username, PASSWORD)
            with anyio.CancelScope() as scope:
                async with anyio.create_task_group() as tg:
                    tg.start_soon(_cancel_after_turns, turns, scope)
                    await _finish(env, flow)
                    scope.cancel()  # done before the deadline: stop the canceller
            _assert_not_half_updated(flow)
            await _assert_no_task_left()
            outcomes[flow.phase.value] = outcomes.get(flow.phase.value, 0) + 1
            if flow.done:
                break
            if flow.phase in (cm.Phase.CHALLENGED, cm.Phase.WAITING):
                await _finish(env, flow)  # cancelled between steps: it goes on
            else:
                assert flow.phase is cm.Phase.FAILED
                await _finish(env, pool.sign_in(env.user.username, PASSWORD))
            # every turn through the start, bigger steps later
            turns += 1 if turns < 40 else 5
            assert turns < 5000, "the sign-in never finished"
    await _assert_no_task_left()
    return outcomes


async def test_cancelled_after_any_number_of_loop_turns(env: Env) -> None:
    # In-process, most awaits complete without suspending (the answers are already there), so
    # a cancellation lands only where the task really suspends: the SRP worker threads.
    outcomes = await _sweep(env)
    assert outcomes.get("FAILED", 0) >= 3


# --- served: real sockets -----------------------------------------------------------------------


@pytest.fixture
async def served(env: Env, cognito_server: EmulatorServer) -> tuple[Env, EmulatorServer]:
    """The same emulator and pool, reached over a loopback socket (uvicorn)."""
    served_env = Env(
        env.emulator,
        env.seeder,
        env.seeded,
        env.user,
        cognito_server.url,
        None,
        cognito_server.lock,
    )
    return served_env, cognito_server


@pytest.mark.parametrize("step", STEPS)
async def test_cancelled_mid_request_leaves_no_connection_open(
    served: tuple[Env, EmulatorServer], step: str
) -> None:
    env, server = served
    port = int(server.url.rsplit(":", 1)[1])
    baseline = _connections_to(port)  # the seeding client's
    async with env.pool() as pool:
        await _finish(env, pool.sign_in(env.user.username, PASSWORD))  # a kept-alive connection
        assert _connections_to(port) > baseline
        # (a short delay: the server's thread sleeps it out before the fixture can stop)
        flow, _ = await _cancel_at(env, pool, step, delay=1.5)
        assert flow.phase is cm.Phase.FAILED
        await _assert_no_task_left()
        await _finish(env, pool.sign_in(env.user.username, PASSWORD))
    await _assert_no_task_left()
    gc.collect()  # an unclosed transport would warn (an error here) now
    assert _connections_to(port) == baseline


async def test_deadlines_swept_over_a_served_sign_in(served: tuple[Env, EmulatorServer]) -> None:
    # Over real sockets a loop turn says nothing about progress (the loop spins while the
    # answer travels), so the sweep moves the deadline instead: 0 to 1.25x a whole sign-in.
    env, server = served
    port = int(server.url.rsplit(":", 1)[1])
    baseline = _connections_to(port)
    outcomes: dict[str, int] = {}
    async with env.pool() as pool:
        # the fastest of a few warm sign-ins: a first one pays one-off costs (connections,
        # tables) and would put most deadlines past the end
        durations = []
        for _ in range(3):
            started = anyio.current_time()
            await _finish(env, pool.sign_in(env.user.username, PASSWORD))
            durations.append(anyio.current_time() - started)
        whole = min(durations)
        for step in range(26):
            flow = pool.sign_in(env.user.username, PASSWORD)
            with anyio.move_on_after(whole * step / 20):
                await _finish(env, flow)
            _assert_not_half_updated(flow)
            await _assert_no_task_left()
            outcomes[flow.phase.value] = outcomes.get(flow.phase.value, 0) + 1
            if flow.phase in (cm.Phase.CHALLENGED, cm.Phase.WAITING):
                await _finish(env, flow)
            elif flow.phase is cm.Phase.FAILED:
                await _finish(env, pool.sign_in(env.user.username, PASSWORD))
    assert outcomes.get("FAILED", 0) >= 5, outcomes
    gc.collect()
    assert _connections_to(port) == baseline
