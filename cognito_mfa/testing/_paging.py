"""Opaque pagination tokens for the emulator's listings (ListDevices, ListUserPools,
ListUserPoolClients): a JSON payload naming where the next page starts, with an HMAC under a
key the emulator draws at first use, bound to a scope (the listing and whose it is) so a token
is good only for the listing that issued it.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from typing import Any

from ._state import Model
from ._wire import invalid

__all__ = ["open_token", "sign_token"]

_MAC_BYTES = 16


def _key(model: Model) -> bytes:
    if model.page_key is None:
        model.page_key = model.random(32)
    return model.page_key


def _mac(model: Model, scope: bytes, payload: bytes) -> bytes:
    return hmac.new(_key(model), scope + payload, hashlib.sha256).digest()[:_MAC_BYTES]


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def sign_token(model: Model, scope: bytes, payload: list[Any]) -> str:
    """A token carrying ``payload`` (JSON), good for ``scope`` only."""
    raw = json.dumps(payload).encode()
    return f"{_b64(raw)}.{_b64(_mac(model, scope, raw))}"


def open_token(model: Model, scope: bytes, token: str) -> list[Any]:
    """The payload of a token :func:`sign_token` made for ``scope``; InvalidParameterException
    for anything else (forged, damaged, another listing's)."""
    bad = invalid("Invalid pagination token")  # UNCONFIRMED text
    payload_text, _, mac_text = token.partition(".")
    try:
        raw, mac = _unb64(payload_text), _unb64(mac_text)
    except (binascii.Error, ValueError):
        raise bad from None
    if not hmac.compare_digest(_mac(model, scope, raw), mac):
        raise bad
    payload = json.loads(raw)
    if not isinstance(payload, list):
        raise bad
    return payload
