"""The AWS JSON 1.1 wire layer of the emulator: request decoding, input validation, errors.

Source: the botocore ``cognito-idp`` 2016-04-18 service model (member names, required members,
length/enum/range constraints) and the AWS JSON 1.1 protocol as Cognito speaks it
(``reference/cognito-wire.md`` §1-§2). Validation failures read like AWS's own
("1 validation error detected: Value at 'clientId' failed to satisfy constraint: Member must not
be null"); member values are never echoed, because many members are secrets (AWS omits the
value of sensitive members the same way).

Decoding is the only place that looks at raw JSON. A JSON type that does not match the model
is a ``SerializationException`` (what AWS's JSON deserializer answers), a value that breaks a
constraint is an ``InvalidParameterException``. JSON ``null`` counts as absent, for members
and for map values alike (amazon-cognito-identity-js sends ``"DEVICE_KEY": null``).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any, Final, Literal

__all__ = [
    "CognitoError",
    "Member",
    "decode_body",
    "validate",
]

Kind = Literal["string", "boolean", "integer", "map", "struct", "list", "string_list"]


class CognitoError(Exception):
    """A Cognito-shaped error: ``code`` is the wire ``__type``, ``message`` the wire message.

    Messages never contain secrets (codes, passwords, tokens, sessions): they are built from
    fixed texts and identifiers only.
    """

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message

    @property
    def status(self) -> int:
        # InternalErrorException is modelled as a server fault; everything else Cognito
        # answers with 400 (reference §1). MissingAuthenticationToken is AWS's common 403.
        if self.code == "InternalErrorException":
            return 500
        if self.code == "MissingAuthenticationTokenException":
            return 403
        return 400


def invalid(message: str) -> CognitoError:
    return CognitoError("InvalidParameterException", message)


@dataclass(frozen=True)
class Member:
    """One member of a request shape, with the model's constraints."""

    kind: Kind
    required: bool = False
    min_len: int | None = None
    max_len: int | None = None
    pattern: str | None = None
    enum: tuple[str, ...] | None = None
    min_value: int | None = None
    max_value: int | None = None
    # for "struct" and for "list" of structures
    members: dict[str, Member] = field(default_factory=dict)


def decode_body(body: bytes) -> dict[str, Any]:
    """Parse a request body into a JSON object, or raise SerializationException."""
    if not body.strip():
        # botocore always sends at least "{}"; an empty body is read as an empty structure
        return {}
    try:
        value = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise CognitoError("SerializationException", "Malformed request body") from None
    if not isinstance(value, dict):
        raise CognitoError("SerializationException", "Request body must be a JSON object")
    return value


def _camel(name: str) -> str:
    # AWS names members in validation messages with a lower-case first letter
    return name[:1].lower() + name[1:]


_TYPE_WORDS: Final = {
    "string": "a string",
    "boolean": "a boolean",
    "integer": "an integer",
    "map": "a map",
    "struct": "a structure",
    "list": "a list",
    "string_list": "a list",
}


def _check_type(kind: Kind, value: Any, path: str) -> None:
    ok: bool
    if kind == "string":
        ok = isinstance(value, str)
    elif kind == "boolean":
        ok = isinstance(value, bool)
    elif kind == "integer":
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif kind in ("map", "struct"):
        ok = isinstance(value, dict)
    else:
        ok = isinstance(value, list)
    if not ok:
        raise CognitoError(
            "SerializationException", f"Value at '{path}' must be {_TYPE_WORDS[kind]}"
        )


def _clean(members: dict[str, Member], raw: dict[str, Any], prefix: str) -> dict[str, Any]:
    """Drop nulls and unknown members, check JSON types (SerializationException)."""
    out: dict[str, Any] = {}
    for name, spec in members.items():
        value = raw.get(name)
        if value is None:
            continue
        path = prefix + _camel(name)
        _check_type(spec.kind, value, path)
        if spec.kind == "map":
            cleaned: dict[str, str] = {}
            for key, item in value.items():
                if item is None:
                    continue
                if not isinstance(item, str):
                    raise CognitoError(
                        "SerializationException", f"Map values at '{path}' must be strings"
                    )
                cleaned[key] = item
            out[name] = cleaned
        elif spec.kind == "struct":
            out[name] = _clean(spec.members, value, path + ".")
        elif spec.kind == "list":
            items = []
            for index, item in enumerate(value):
                if item is None:
                    continue
                item_path = f"{path}.{index + 1}.member"
                _check_type("struct", item, item_path)
                items.append(_clean(spec.members, item, item_path + "."))
            out[name] = items
        elif spec.kind == "string_list":
            strings = []
            for item in value:
                if item is None:
                    continue
                _check_type("string", item, path)
                strings.append(item)
            out[name] = strings
        else:
            out[name] = value
    return out


def _constraint_errors(members: dict[str, Member], data: dict[str, Any], prefix: str) -> list[str]:
    errors: list[str] = []
    for name, spec in members.items():
        path = prefix + _camel(name)
        if name not in data:
            if spec.required:
                errors.append(
                    f"Value null at '{path}' failed to satisfy constraint: Member must not be null"
                )
            continue
        value = data[name]
        at = f"Value at '{path}' failed to satisfy constraint: "
        if spec.kind == "string":
            if spec.min_len is not None and len(value) < spec.min_len:
                errors.append(
                    at + f"Member must have length greater than or equal to {spec.min_len}"
                )
            if spec.max_len is not None and len(value) > spec.max_len:
                errors.append(at + f"Member must have length less than or equal to {spec.max_len}")
            if spec.enum is not None and value not in spec.enum:
                errors.append(at + f"Member must satisfy enum value set: [{', '.join(spec.enum)}]")
            if spec.pattern is not None and re.fullmatch(spec.pattern, value) is None:
                errors.append(
                    at + f"Member must satisfy regular expression pattern: {spec.pattern}"
                )
        elif spec.kind == "integer":
            if spec.min_value is not None and value < spec.min_value:
                errors.append(
                    at + f"Member must have value greater than or equal to {spec.min_value}"
                )
            if spec.max_value is not None and value > spec.max_value:
                errors.append(at + f"Member must have value less than or equal to {spec.max_value}")
        elif spec.kind == "struct":
            errors.extend(_constraint_errors(spec.members, value, path + "."))
        elif spec.kind == "list":
            for index, item in enumerate(value):
                errors.extend(_constraint_errors(spec.members, item, f"{path}.{index + 1}.member."))
        elif spec.kind == "string_list" and spec.enum is not None:
            for item in value:
                if item not in spec.enum:
                    errors.append(
                        at + "Member must satisfy constraint: "
                        f"[Member must satisfy enum value set: [{', '.join(spec.enum)}]]"
                    )
                    break
        elif spec.kind == "map":
            for key, item in value.items():
                if len(key) > 131072 or len(item) > 131072:
                    errors.append(at + "Map keys and values must have length <= 131072")
                    break
    return errors


def validate(members: dict[str, Member], raw: dict[str, Any]) -> dict[str, Any]:
    """Check a decoded body against a shape; return it without nulls and unknown members."""
    data = _clean(members, raw, "")
    errors = _constraint_errors(members, data, "")
    if errors:
        count = len(errors)
        noun = "validation error" if count == 1 else "validation errors"
        raise invalid(f"{count} {noun} detected: " + "; ".join(errors))
    return data
