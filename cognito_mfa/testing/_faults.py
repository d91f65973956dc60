"""Fault injection: make the next N calls of an operation fail, or answer late.

For users' own reliability tests (issue 2): "make the next N calls of an operation fail with a
chosen error (e.g. TooManyRequestsException, InternalErrorException) or delay". Faults queue
per operation and are consumed in the order they were injected.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

__all__ = ["Fault", "FaultQueue"]


@dataclass
class Fault:
    error: str | None
    message: str | None
    remaining: int
    delay: float


_DEFAULT_MESSAGES = {
    "InternalErrorException": "Internal server error.",
    "TooManyRequestsException": "Rate exceeded",
}


class FaultQueue:
    def __init__(self) -> None:
        self._by_operation: dict[str, deque[Fault]] = {}

    def add(self, operation: str, fault: Fault) -> None:
        self._by_operation.setdefault(operation, deque()).append(fault)

    def clear(self) -> None:
        self._by_operation.clear()

    def take(self, operation: str) -> Fault | None:
        """The fault that applies to this call of ``operation``, consuming one use of it."""
        queue = self._by_operation.get(operation)
        if not queue:
            return None
        fault = queue[0]
        fault.remaining -= 1
        if fault.remaining <= 0:
            queue.popleft()
        return fault

    @staticmethod
    def message_of(fault: Fault) -> str:
        if fault.message is not None:
            return fault.message
        return _DEFAULT_MESSAGES.get(fault.error or "", "Injected fault.")
