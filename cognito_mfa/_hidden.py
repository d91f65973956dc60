"""Keeping secrets out of tracebacks that record local variables.

Error reporters (rich's traceback, Sentry, ``traceback.TracebackException(capture_locals=
True)``) record the ``repr`` of every local of every frame an exception passed through. A
password, code, session or token held in a plain ``str`` or ``dict`` local shows up there. So
the library keeps them wrapped until the last call that needs them:

* :class:`HiddenDict`, a ``dict`` whose ``repr`` names its keys only, for request parameters
  and Cognito's answers (botocore takes it as the dict it is);
* :class:`Hidden`, a box with a masked ``repr`` for other values (the SRP secret exponent);
* :func:`without_frames`, which drops the frames (and so the locals) of the exceptions an
  error was raised from: botocore's and aiohttp's frames hold the request being sent.
"""

from __future__ import annotations

from typing import Any, Generic, TypeVar

__all__ = ["Hidden", "HiddenDict", "hide_tree", "without_frames"]

T = TypeVar("T")
E = TypeVar("E", bound=BaseException)


class HiddenDict(dict[str, Any]):
    """A dict whose ``repr`` shows its keys, never its values."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "{" + ", ".join(f"{key!r}: ..." for key in self) + "}"

    __str__ = __repr__


class Hidden(Generic[T]):
    """A value whose ``repr`` is masked; ``value`` reads it."""

    __slots__ = ("value",)

    def __init__(self, value: T) -> None:
        self.value = value

    def __repr__(self) -> str:
        return "Hidden(...)"

    __str__ = __repr__


def hide_tree(value: Any) -> Any:
    """``value`` with every dict, at any depth, turned into a :class:`HiddenDict`."""
    if isinstance(value, dict):
        return HiddenDict({key: hide_tree(item) for key, item in value.items()})
    if isinstance(value, list):
        return [hide_tree(item) for item in value]
    return value


def without_frames(error: E) -> E:
    """``error`` with its traceback, and those of its causes and contexts, removed.

    Type and message stay for debugging; the frames, whose locals hold the request that was
    being sent, go.
    """
    seen: set[int] = set()
    pending: list[BaseException | None] = [error]
    while pending:
        current = pending.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        current.__traceback__ = None
        pending += [current.__cause__, current.__context__]
    return error
