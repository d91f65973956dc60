"""Bounded parsing of what comes in from outside: Cognito's answers and saved sign-in states.

Cognito nests JSON inside its answers' strings (``MFAS_CAN_CHOOSE``, ``userAttributes``, a
token's payload) and botocore hands back whatever the body held. Parsed naively, a crafted
answer costs unbounded memory or ends in ``RecursionError`` deep inside ``json``; a lone
surrogate in a string fails later, in whatever encodes it. Everything from outside therefore
goes through here first:

* :func:`loads` parses JSON text only when it is short enough and nested shallowly enough
  (checked by a linear scan before the parser runs), and raises the caller's error class;
* :func:`check_tree` walks a parsed answer once, refusing deep nesting and text that is not
  valid Unicode, so the rest of the library only meets values it can encode.

The bounds are far above anything Cognito sends (its largest documented string, a token, is a
few kilobytes; its JSON-in-strings are flat lists and maps).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any, Final

from .errors import CognitoError, ProtocolError

__all__ = ["MAX_DEPTH", "MAX_TEXT", "check_tree", "json_depth", "loads"]

MAX_TEXT: Final = 64 * 1024
"""The longest JSON text (in characters) parsed from an answer or a saved state."""
MAX_DEPTH: Final = 32
"""The deepest nesting of lists and objects accepted anywhere."""

# a JSON string with its escapes; what is left after removing these holds the structure
_STRING: Final = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_BRACKETS: Final = re.compile(r"[\[\]{}]")


def json_depth(text: str) -> int:
    """The deepest nesting of ``[``/``{`` in ``text``, brackets inside strings ignored.

    An upper bound for malformed text (unbalanced closers never go below zero): enough to
    refuse text before the parser recurses into it.
    """
    depth = deepest = 0
    for bracket in _BRACKETS.findall(_STRING.sub("", text)):
        if bracket in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif depth:
            depth -= 1
    return deepest


def loads(
    text: str,
    what: str,
    *,
    error: type[CognitoError] = ProtocolError,
    max_text: int = MAX_TEXT,
) -> Any:
    """``json.loads(text)`` within the bounds, else ``error`` naming ``what`` (never the text)."""
    if not isinstance(text, str):
        raise error(f"{what} is not text")
    if len(text) > max_text:
        raise error(f"{what} is longer than {max_text} characters")
    if json_depth(text) > MAX_DEPTH:
        raise error(f"{what} is nested more than {MAX_DEPTH} levels deep")
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):
        # from None: the JSON error quotes the text, which may be a secret
        raise error(f"{what} is not valid JSON") from None
    check_tree(value, what, error=error)
    return value


def check_tree(
    value: Any, what: str, *, error: type[CognitoError] = ProtocolError, _depth: int = 0
) -> None:
    """Refuse (``error``) nesting deeper than :data:`MAX_DEPTH` or a string with a lone
    surrogate, anywhere in ``value`` (dict keys included)."""
    if isinstance(value, str):
        if not value.isascii():
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                raise error(f"{what} holds text that is not valid Unicode") from None
        return
    if _depth >= MAX_DEPTH:
        raise error(f"{what} is nested more than {MAX_DEPTH} levels deep")
    if isinstance(value, Mapping):
        for key, item in value.items():
            check_tree(key, what, error=error, _depth=_depth + 1)
            check_tree(item, what, error=error, _depth=_depth + 1)
    elif isinstance(value, list | tuple):
        for item in value:
            check_tree(item, what, error=error, _depth=_depth + 1)
