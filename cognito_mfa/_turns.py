"""Turns on the event loop: at most one sign-in step's CPU work per loop iteration.

botocore builds and parses every request synchronously on the event loop, about half a
millisecond to a millisecond of CPU each. When many sign-ins run at once, several of their
responses arrive together and asyncio runs every ready callback of an iteration before it
looks at its timers again, so those steps add up into one long stall for every other task
on the loop. A task that is about to do such a step first takes a turn: turns are handed
out first come, first served, one per loop iteration, so other tasks and timers run between
any two of these steps.

An uncontended turn costs nothing: the first task of an iteration goes straight on.
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import Final

from anyio.lowlevel import RunVar

__all__ = ["LoopTurns", "take_turn"]


class LoopTurns:
    """First-come, first-served turns, one per iteration of one asyncio loop."""

    __slots__ = ("_handing", "_loop", "_waiter_runs_now", "_waiters")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._waiters: deque[asyncio.Future[None]] = deque()
        # True from a turn's iteration until _hand_next finds the turns free again
        self._handing = False
        # True while the waiter woken by the last _hand_next runs in the current iteration
        self._waiter_runs_now = False

    @property
    def waiting(self) -> int:
        """How many tasks are waiting for a turn."""
        return sum(1 for waiter in self._waiters if not waiter.done())

    async def take(self) -> None:
        if not self._handing:
            self._handing = True
            self._loop.call_soon(self._hand_next)
            return
        waiter: asyncio.Future[None] = self._loop.create_future()
        self._waiters.append(waiter)
        # a waiter cancelled here is skipped (and dropped) by _hand_next
        await waiter

    def _hand_next(self) -> None:
        # Scheduled with call_soon, so it runs early in the iteration after the one it was
        # scheduled in, before that iteration's I/O callbacks and timers. A waiter woken here
        # runs in the next iteration, and the _hand_next scheduled with it runs there too,
        # after it: one turn per iteration, in arrival order.
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                self._waiter_runs_now = True
                self._loop.call_soon(self._hand_next)
                return
        if self._waiter_runs_now:
            # this iteration's turn went to the waiter that just ran: keep the turns taken
            # until the next iteration, or a task arriving later in this one would get a
            # second turn in it
            self._waiter_runs_now = False
            self._loop.call_soon(self._hand_next)
            return
        self._handing = False


_TURNS: Final[RunVar[LoopTurns]] = RunVar("cognito_mfa_loop_turns")


async def take_turn() -> None:
    """Wait for this loop's next free turn (at once when no other step is queued)."""
    try:
        turns = _TURNS.get()
    except LookupError:
        turns = LoopTurns(asyncio.get_running_loop())
        _TURNS.set(turns)
    await turns.take()
