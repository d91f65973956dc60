"""Checks on what callers pass to the public face, shared so every entry point refuses alike.

Each check raises :class:`~cognito_mfa.errors.InvalidInput` before anything is sent, naming
the argument and never echoing its value (it may be a password or a code). Text must also be
encodable as UTF-8: botocore sends JSON in UTF-8 and SRP hashes the password's UTF-8 bytes, so
a lone surrogate would otherwise fail deep inside either, possibly after part of a sign-in was
sent. Bounds come from botocore's ``cognito-idp`` service model (``DeviceNameType`` 1-1024).

The functions that may receive a secret set ``__tracebackhide__``: pytest then leaves their
frames, and the arguments it would print with them, out of a failing test's traceback.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Final

from pydantic import SecretStr

from .errors import InvalidInput

__all__ = [
    "check_code",
    "check_device_name",
    "check_encodable",
    "check_secret",
    "check_string_map",
    "check_text",
]

_DIGITS: Final = re.compile(r"[0-9]+")
_MAX_DEVICE_NAME: Final = 1024  # DeviceNameType, 1-1024


def check_encodable(value: str, what: str) -> str:
    """``value`` if it can be encoded as UTF-8 (no lone surrogate); else InvalidInput."""
    __tracebackhide__ = True  # keeps secrets out of pytest's failure output
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        # from None: the UnicodeEncodeError holds the whole value
        raise InvalidInput(f"{what} must be valid Unicode text (no lone surrogates)") from None
    return value


def check_text(value: object, what: str) -> str:
    """``value`` if it is a non-empty, UTF-8 encodable string; else InvalidInput."""
    __tracebackhide__ = True  # keeps secrets out of pytest's failure output
    if not isinstance(value, str) or not value:
        raise InvalidInput(f"{what} must be a non-empty string")
    return check_encodable(value, what)


def check_secret(value: object, what: str) -> SecretStr:
    """A password given as ``str`` or :class:`~pydantic.SecretStr`, checked as
    :func:`check_text` and returned as a ``SecretStr``."""
    __tracebackhide__ = True  # keeps secrets out of pytest's failure output
    if isinstance(value, str):
        value = SecretStr(value)  # wrapped first: no frame below holds it in clear
    if not isinstance(value, SecretStr) or not value.get_secret_value():
        raise InvalidInput(f"{what} must be a non-empty string")
    if not value.get_secret_value().isascii():
        try:
            value.get_secret_value().encode("utf-8")
        except UnicodeEncodeError:
            raise InvalidInput(f"{what} must be valid Unicode text (no lone surrogates)") from None
    return value


def check_code(code: object, length: int) -> SecretStr:
    """``code`` (a ``str`` or :class:`~pydantic.SecretStr`) as a ``SecretStr`` if it is exactly
    ``length`` ASCII digits; else InvalidInput (the value is not echoed).

    The value stays wrapped here and in what it returns: a traceback that records local
    variables must not show a code.
    """
    __tracebackhide__ = True  # keeps secrets out of pytest's failure output
    if isinstance(code, str):
        code = SecretStr(code)
    if (
        not isinstance(code, SecretStr)
        or len(code.get_secret_value()) != length
        or not _DIGITS.fullmatch(code.get_secret_value())
    ):
        raise InvalidInput(f"the code must be exactly {length} digits")
    return code


def check_device_name(value: object) -> str:
    """A friendly device name for VerifySoftwareToken: 1 to 1024 characters, not blank."""
    if not isinstance(value, str) or not value.strip() or len(value) > _MAX_DEVICE_NAME:
        raise InvalidInput("friendly_device_name must be 1 to 1024 characters")
    return check_encodable(value, "friendly_device_name")


_MAX_DEVICE_KEY = 55  # DeviceKeyType


def check_device_key(value: object) -> str:
    """A device key (``<region>_<uuid>``): 1 to 55 characters, not blank."""
    if not isinstance(value, str) or not value.strip() or len(value) > _MAX_DEVICE_KEY:
        raise InvalidInput("device_key must be 1 to 55 characters")
    return check_encodable(value, "device_key")


def check_string_map(
    value: object, what: str, *, non_empty_keys: bool = False
) -> dict[str, str] | None:
    """``value`` as a dict if it maps strings to strings (``None`` stays ``None``)."""
    if value is None:
        return None
    if not isinstance(value, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str) and (k or not non_empty_keys)
        for k, v in value.items()
    ):
        keys = "non-empty strings" if non_empty_keys else "strings"
        raise InvalidInput(f"{what} must map {keys} to strings")
    for key, item in value.items():
        check_encodable(key, what)
        check_encodable(item, what)
    return dict(value)
