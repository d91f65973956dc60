"""One generic converter between the emulator's record dataclasses and JSON-ready values.

Records are plain dataclasses; their type hints say how each field is stored, so no record has
hand-written to/from-state code. Supported hints: ``str``, ``int``, ``float``, ``bool``,
``X | None``, ``list[X]``, ``dict[str, X]``, ``Literal[...]`` and nested dataclasses. Field
metadata refines a field:

* ``HEX``: an ``int`` stored as a hex string (SRP salts and verifiers are 3072-bit numbers);
* ``TRANSIENT``: never stored (a cached key object); it comes back as its default;
* ``keyed_by(name)``: a ``dict[str, Record]`` stored as a list and rebuilt keyed by the
  records' ``name`` field.

A missing field takes its default (files written before the field existed still load);
unknown keys are ignored. :func:`from_plain` raises :class:`StateError` naming the path of
the first bad value and what was expected, never the value itself (many fields are secrets).
"""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from collections.abc import Mapping
from typing import Any, Final, TypeVar

__all__ = ["HEX", "TRANSIENT", "StateError", "from_plain", "keyed_by", "to_plain"]

T = TypeVar("T")

HEX: Final[Mapping[str, Any]] = types.MappingProxyType({"hex": True})
TRANSIENT: Final[Mapping[str, Any]] = types.MappingProxyType({"transient": True})


def keyed_by(name: str) -> Mapping[str, Any]:
    return types.MappingProxyType({"keyed_by": name})


class StateError(ValueError):
    """A stored value does not fit its record; the message names where, never the value."""

    def __init__(self, where: str, problem: str) -> None:
        super().__init__(f"{where}: {problem}" if where else problem)
        self.where = where
        self.problem = problem


_HINTS: dict[type, dict[str, Any]] = {}


def _hints(cls: type) -> dict[str, Any]:
    hints = _HINTS.get(cls)
    if hints is None:
        hints = _HINTS[cls] = typing.get_type_hints(cls)
    return hints


def _stored_fields(cls: type) -> list[dataclasses.Field[Any]]:
    return [f for f in dataclasses.fields(cls) if not f.metadata.get("transient")]


def to_plain(record: Any, *, exclude: frozenset[str] = frozenset()) -> dict[str, Any]:
    """A record as a JSON-ready dict (``exclude``: top-level fields to leave out)."""
    out: dict[str, Any] = {}
    for f in _stored_fields(type(record)):
        if f.name in exclude:
            continue
        out[f.name] = _plain_value(getattr(record, f.name), f.metadata)
    return out


def _plain_value(value: Any, metadata: Mapping[str, Any]) -> Any:
    if value is None or isinstance(value, str | bool | float):
        return value
    if isinstance(value, int):
        return format(value, "x") if metadata.get("hex") else value
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return to_plain(value)
    if isinstance(value, list):
        return [_plain_value(item, {}) for item in value]
    if isinstance(value, dict):
        if metadata.get("keyed_by"):
            return [_plain_value(item, {}) for item in value.values()]
        return {str(key): _plain_value(item, {}) for key, item in value.items()}
    raise TypeError(f"cannot store a {type(value).__name__}")


def from_plain(cls: type[T], data: Any, where: str = "") -> T:
    """Build a ``cls`` record from :func:`to_plain`'s output, checking every type."""
    if not isinstance(data, dict):
        raise StateError(where, "expected a JSON object")
    hints = _hints(cls)
    values: dict[str, Any] = {}
    for f in _stored_fields(cls):
        if f.name not in data:
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                raise StateError(_join(where, f.name), "missing")
            continue
        values[f.name] = _typed(hints[f.name], data[f.name], _join(where, f.name), f.metadata)
    try:
        return cls(**values)
    except (TypeError, ValueError) as exc:  # a record's own __post_init__ check
        raise StateError(where, f"not a valid {cls.__name__} ({type(exc).__name__})") from None


def _join(where: str, name: str | int) -> str:
    if isinstance(name, int):
        return f"{where}[{name}]"
    return f"{where}.{name}" if where else name


def _typed(hint: Any, value: Any, where: str, metadata: Mapping[str, Any]) -> Any:
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin in (types.UnionType, typing.Union):
        if value is None and type(None) in args:
            return None
        (inner,) = [a for a in args if a is not type(None)]
        return _typed(inner, value, where, metadata)
    if origin is typing.Literal:
        if value not in args:
            raise StateError(where, "not one of the allowed values")
        return value
    if origin is list:
        if not isinstance(value, list):
            raise StateError(where, "expected a list")
        return [_typed(args[0], item, _join(where, i), {}) for i, item in enumerate(value)]
    if origin is dict:
        key_field = metadata.get("keyed_by")
        if key_field:
            if not isinstance(value, list):
                raise StateError(where, "expected a list")
            records = [_typed(args[1], item, _join(where, i), {}) for i, item in enumerate(value)]
            return {getattr(record, key_field): record for record in records}
        if not isinstance(value, dict):
            raise StateError(where, "expected a JSON object")
        return {
            str(k): _typed(args[1], item, _join(where, str(k)), {}) for k, item in value.items()
        }
    if dataclasses.is_dataclass(hint) and isinstance(hint, type):
        return from_plain(hint, value, where)
    return _scalar(hint, value, where, metadata)


def _scalar(hint: Any, value: Any, where: str, metadata: Mapping[str, Any]) -> Any:
    if hint is bool:
        if not isinstance(value, bool):
            raise StateError(where, "expected true or false")
        return value
    if hint is int:
        if metadata.get("hex"):
            if not isinstance(value, str):
                raise StateError(where, "expected a hex string")
            try:
                return int(value, 16)
            except ValueError:
                raise StateError(where, "expected a hex string") from None
        if not isinstance(value, int) or isinstance(value, bool):
            raise StateError(where, "expected an integer")
        return value
    if hint is float:
        if not isinstance(value, int | float) or isinstance(value, bool):
            raise StateError(where, "expected a number")
        if not math.isfinite(value):
            raise StateError(where, "expected a finite number")
        return float(value)
    if hint is str:
        if not isinstance(value, str):
            raise StateError(where, "expected a string")
        return value
    raise TypeError(f"no conversion for {hint!r}")  # a programming error in a record
