"""Turns on the event loop: one sign-in step's CPU work per loop iteration, first come first served.

Loop iterations are counted by a callback that re-schedules itself with ``call_soon``: asyncio
runs the callbacks that were ready when an iteration began, so the counter moves by one per
iteration. No test here measures time.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import pytest

import cognito_mfa as cm
from cognito_mfa import _turns
from cognito_mfa._turns import LoopTurns, take_turn
from cognito_mfa.testing.seed import SeededPool, SeededUser

if TYPE_CHECKING:
    from conftest import Front  # the shared fixtures' type (tests/conftest.py)

PASSWORD = "Correct-Horse-9"


class IterationCounter:
    """Counts event-loop iterations while started."""

    def __init__(self) -> None:
        self.value = 0
        self._running = False

    def _tick(self) -> None:
        if self._running:
            self.value += 1
            asyncio.get_running_loop().call_soon(self._tick)

    def start(self) -> None:
        self._running = True
        asyncio.get_running_loop().call_soon(self._tick)

    def stop(self) -> None:
        self._running = False


@pytest.fixture
async def iterations() -> AsyncIterator[IterationCounter]:
    counter = IterationCounter()
    counter.start()
    yield counter
    counter.stop()
    await asyncio.sleep(0)


async def test_an_uncontended_turn_does_not_yield(iterations: IterationCounter) -> None:
    turns = LoopTurns(asyncio.get_running_loop())
    before = iterations.value
    await turns.take()
    assert iterations.value == before  # went straight on, in the same iteration


async def test_contended_turns_come_one_per_iteration_in_arrival_order(
    iterations: IterationCounter,
) -> None:
    turns = LoopTurns(asyncio.get_running_loop())
    granted: list[tuple[int, int]] = []

    async def step(n: int) -> None:
        await turns.take()
        granted.append((n, iterations.value))

    await asyncio.gather(*(step(n) for n in range(10)))
    assert [n for n, _ in granted] == list(range(10))
    at = [i for _, i in granted]
    assert len(set(at)) == len(at), f"two turns in one iteration: {at}"
    assert turns.waiting == 0


async def test_late_arrivals_never_share_an_iteration_with_a_woken_waiter(
    iterations: IterationCounter,
) -> None:
    # tasks arrive over several iterations, some in the very iteration a waiter is woken in
    turns = LoopTurns(asyncio.get_running_loop())
    granted: list[int] = []

    async def step(delay: int) -> None:
        for _ in range(delay):
            await asyncio.sleep(0)
        await turns.take()
        granted.append(iterations.value)

    await asyncio.gather(*(step(n % 5) for n in range(25)))
    assert len(granted) == 25
    assert len(set(granted)) == 25, f"two turns in one iteration: {sorted(granted)}"
    # the sharpest case: the only waiter is woken, and a task arrives in the iteration it
    # runs in, after it (delays 0, 0, 2: holder, waiter, late arrival)
    granted.clear()
    await asyncio.gather(step(0), step(0), step(2))
    assert len(set(granted)) == 3, f"two turns in one iteration: {granted}"


async def test_a_cancelled_waiter_is_skipped_and_the_rest_go_on() -> None:
    turns = LoopTurns(asyncio.get_running_loop())
    order: list[str] = []

    async def step(name: str) -> None:
        await turns.take()
        order.append(name)

    tasks = {n: asyncio.create_task(step(n)) for n in ("first", "cancelled", "last")}
    await asyncio.sleep(0)  # "first" took this iteration's turn; the other two wait
    assert order == ["first"]
    assert turns.waiting == 2
    tasks["cancelled"].cancel()
    await asyncio.gather(tasks["first"], tasks["last"])
    assert order == ["first", "last"]
    assert tasks["cancelled"].cancelled()
    assert turns.waiting == 0
    for _ in range(3):
        await asyncio.sleep(0)
    assert not turns._waiters and not turns._handing  # nothing left behind


async def test_a_waiter_cancelled_after_its_turn_came_does_not_stall_the_others() -> None:
    turns = LoopTurns(asyncio.get_running_loop())
    reached: list[str] = []

    async def step(name: str) -> None:
        await turns.take()
        reached.append(name)

    holder = asyncio.create_task(step("holder"))
    unlucky = asyncio.create_task(step("unlucky"))
    other = asyncio.create_task(step("other"))
    await asyncio.sleep(0)  # "holder" has this iteration's turn; the other two wait
    await asyncio.sleep(0)  # the next iteration hands "unlucky" its turn
    assert turns.waiting == 1 and not unlucky.done()
    unlucky.cancel()  # its turn was handed out, but it has not run yet
    await asyncio.gather(holder, other)
    assert reached == ["holder", "other"]
    assert unlucky.cancelled()


def test_each_event_loop_has_its_own_turns() -> None:
    seen: list[LoopTurns] = []

    async def one_loop() -> None:
        await take_turn()
        seen.append(_turns._TURNS.get())
        await take_turn()  # the second turn of the iteration waits for the next one

    asyncio.run(one_loop())
    asyncio.run(one_loop())
    assert len(seen) == 2 and seen[0] is not seen[1]


@contextmanager
def granted_turns(iterations: IterationCounter) -> Iterator[list[int]]:
    """Records the loop iteration at which every turn of the library is granted."""
    granted: list[int] = []
    original = LoopTurns.take

    async def take(self: LoopTurns) -> None:
        await original(self)
        granted.append(iterations.value)

    LoopTurns.take = take  # type: ignore[method-assign]
    try:
        yield granted
    finally:
        LoopTurns.take = original  # type: ignore[method-assign]


async def test_concurrent_sign_ins_do_one_step_per_loop_iteration(
    front: Front, seeded: SeededPool, iterations: IterationCounter
) -> None:
    users: list[SeededUser] = [
        await front.seeder.create_user(
            seeded, f"turns{i}", PASSWORD, mfa=["TOTP"], preferred="TOTP"
        )
        for i in range(12)
    ]

    async def sign_in(pool: cm.UserPool, user: SeededUser) -> None:
        assert user.totp_secret is not None
        flow = pool.sign_in(user.username, PASSWORD)
        async for challenge in flow:
            assert isinstance(challenge, cm.SoftwareTokenMfaChallenge)
            await challenge.answer(front.totp_code(user.totp_secret))
        assert flow.session.id_token

    async with front.user_pool(seeded) as pool:
        with granted_turns(iterations) as granted:
            await asyncio.gather(*(sign_in(pool, u) for u in users))
    # three requests per sign-in, each with a turn to send and a turn to parse the answer
    assert len(granted) == 12 * 3 * 2
    busiest = Counter(granted).most_common(1)[0]
    assert busiest[1] == 1, f"{busiest[1]} steps in loop iteration {busiest[0]}"
