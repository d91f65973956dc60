"""Where stored sign-ins live: the :class:`FlowStore` protocol and :class:`MemoryFlowStore`.

A store keeps opaque sealed records under handles, each for a time to live, and gives each
record out exactly once: :meth:`FlowStore.take` is atomic. A taken handle leaves a marker for
the rest of its life, so a second request for it is told "already answered", not "expired".
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import Final, Protocol, runtime_checkable

from ..errors import InvalidInput
from ._errors import SignInAlreadyAnswered, SignInExpired

__all__ = ["HANDLE_PATTERN", "FlowStore", "MemoryFlowStore", "check_handle"]

#: What ``secrets.token_urlsafe(32)`` makes: 43 base64url characters.
HANDLE_PATTERN: Final = re.compile(r"[A-Za-z0-9_-]{43}")
#: The value a taken handle keeps; a sealed record starts with its version byte, never 0.
TAKEN: Final = b"\x00taken"
_SWEEP_EVERY: Final = 60.0


def check_handle(handle: object) -> str:
    """The handle, when it has the shape this package makes; SignInExpired otherwise (a
    handle from a cookie that is not ours names no stored sign-in)."""
    if not isinstance(handle, str) or not HANDLE_PATTERN.fullmatch(handle):
        raise SignInExpired("no sign-in is stored under this handle")
    return handle


def check_ttl(ttl: float) -> float:
    if isinstance(ttl, bool) or not isinstance(ttl, int | float) or not 0 < ttl <= 86_400:
        raise InvalidInput("ttl must be a number of seconds, above 0 and at most a day")
    return float(ttl)


@runtime_checkable
class FlowStore(Protocol):
    """Keeps sealed sign-in records under handles. Implementations must make :meth:`take`
    atomic across every process sharing the store."""

    async def put(self, handle: str, record: bytes, *, ttl: float) -> None:
        """Store ``record`` under ``handle`` for ``ttl`` seconds (replacing what was there)."""
        ...

    async def take(self, handle: str) -> bytes:
        """The record under ``handle``, removed so that no other request gets it.

        Raises SignInAlreadyAnswered when it was taken already (within its time to live), and
        SignInExpired when nothing is stored under it.
        """
        ...

    async def discard(self, handle: str) -> None:
        """Forget ``handle`` (sign-in abandoned); nothing happens when it is not there."""
        ...

    async def aclose(self) -> None:
        """Release the store's resources."""
        ...


class MemoryFlowStore:
    """A :class:`FlowStore` in this process's memory: for one process (tests, a single
    replica). asyncio-safe: no method awaits between reading and changing an entry, so a take
    cannot interleave with another. ``max_entries`` bounds it; the oldest entries go first.
    """

    def __init__(
        self, *, max_entries: int = 100_000, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if isinstance(max_entries, bool) or not isinstance(max_entries, int) or max_entries < 1:
            raise InvalidInput("max_entries must be a positive integer")
        self._entries: dict[str, tuple[bytes, float]] = {}
        self._max = max_entries
        self._clock = clock
        self._next_sweep = clock() + _SWEEP_EVERY

    def __repr__(self) -> str:
        return f"<MemoryFlowStore entries={len(self._entries)}>"

    def __len__(self) -> int:
        self._sweep()
        return len(self._entries)

    def _sweep(self) -> None:
        now = self._clock()
        for handle in [h for h, (_, expires) in self._entries.items() if expires <= now]:
            del self._entries[handle]

    async def put(self, handle: str, record: bytes, *, ttl: float) -> None:
        check_handle(handle)
        now = self._clock()
        expires = now + check_ttl(ttl)
        if now >= self._next_sweep:  # expired entries go in bulk now and then, not on each call
            self._sweep()
            self._next_sweep = now + _SWEEP_EVERY
        self._entries.pop(handle, None)
        if len(self._entries) >= self._max:
            self._sweep()
            while len(self._entries) >= self._max:  # dicts keep insertion order: oldest first
                del self._entries[next(iter(self._entries))]
        self._entries[handle] = (bytes(record), expires)

    async def take(self, handle: str) -> bytes:
        check_handle(handle)
        entry = self._entries.get(handle)
        if entry is None or entry[1] <= self._clock():
            self._entries.pop(handle, None)
            raise SignInExpired("no sign-in is stored under this handle")
        record, expires = entry
        if record == TAKEN:
            raise SignInAlreadyAnswered("this step of the sign-in was already answered")
        self._entries[handle] = (TAKEN, expires)
        return record

    async def discard(self, handle: str) -> None:
        self._entries.pop(check_handle(handle), None)

    async def aclose(self) -> None:
        self._entries.clear()
