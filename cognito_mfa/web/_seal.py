"""Sealing a saved sign-in: AES-256-GCM under a key derived from the application key.

The record is ``version byte || 12-byte nonce || ciphertext+tag``. The associated data binds the
record to its handle, pool id and app client id, so a record copied to another handle, or
replayed against another pool or client, fails authentication. The AES key is HKDF-SHA256 of
the application key (RFC 5869) with a purpose label, so one application key can serve other
purposes without reusing the AES key. Pure: the nonce is a parameter.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
from typing import Final

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from ..errors import InvalidInput
from ._errors import SignInStateRefused

__all__ = ["APP_KEY_ENV", "MIN_KEY_BYTES", "AppKey"]

#: The environment variable :meth:`AppKey.from_env` reads (base64 or base64url).
APP_KEY_ENV: Final = "COGNITO_MFA_APP_KEY"
MIN_KEY_BYTES: Final = 32
_VERSION: Final = b"\x01"
_NONCE_BYTES: Final = 12
_PURPOSE: Final = b"cognito_mfa.web sign-in state v1"


class AppKey:
    """The application's secret key for stored sign-ins (at least 32 random bytes).

    Every replica of a service must use the same key. ``repr`` never shows it.
    """

    __slots__ = ("_aead",)

    def __init__(self, key: bytes) -> None:
        if not isinstance(key, bytes) or len(key) < MIN_KEY_BYTES:
            raise InvalidInput(f"the application key must be at least {MIN_KEY_BYTES} bytes")
        derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_PURPOSE).derive(key)
        self._aead = AESGCM(derived)

    def __repr__(self) -> str:
        return "AppKey(<hidden>)"

    @classmethod
    def from_base64(cls, text: str) -> AppKey:
        """A key written in base64 or base64url (padding optional)."""
        if not isinstance(text, str):
            raise InvalidInput("the application key must be base64 text")
        cleaned = text.strip().replace("-", "+").replace("_", "/")
        try:
            raw = base64.b64decode(cleaned + "=" * (-len(cleaned) % 4), validate=True)
        except (binascii.Error, ValueError):
            raise InvalidInput("the application key is not base64") from None
        return cls(raw)

    @classmethod
    def from_env(cls, name: str = APP_KEY_ENV) -> AppKey:
        """The key in environment variable ``name``; InvalidInput when unset or malformed."""
        value = os.environ.get(name)
        if not value:
            raise InvalidInput(f"the environment variable {name} is not set")
        return cls.from_base64(value)

    @staticmethod
    def generate() -> str:
        """A fresh random key, base64url-encoded (for ``COGNITO_MFA_APP_KEY``)."""
        return base64.urlsafe_b64encode(os.urandom(MIN_KEY_BYTES)).decode("ascii").rstrip("=")

    def seal(self, plaintext: bytes, *, binding: tuple[str, ...], nonce: bytes) -> bytes:
        """Encrypt and authenticate ``plaintext``, bound to ``binding`` (handle, pool, client)."""
        if len(nonce) != _NONCE_BYTES:
            raise ValueError("the nonce must be 12 bytes")
        return _VERSION + nonce + self._aead.encrypt(nonce, plaintext, _associated(binding))

    def open(self, record: bytes, *, binding: tuple[str, ...]) -> bytes:
        """The plaintext of a sealed record; SignInStateRefused when it does not authenticate."""
        if len(record) <= 1 + _NONCE_BYTES or record[:1] != _VERSION:
            raise SignInStateRefused("the stored sign-in is not a sealed record")
        nonce, body = record[1 : 1 + _NONCE_BYTES], record[1 + _NONCE_BYTES :]
        try:
            return self._aead.decrypt(nonce, body, _associated(binding))
        except InvalidTag:
            raise SignInStateRefused("the stored sign-in failed authentication") from None


def _associated(binding: tuple[str, ...]) -> bytes:
    # JSON: an unambiguous encoding of the parts, whatever characters they hold
    return _PURPOSE + b"\x00" + json.dumps(list(binding)).encode("utf-8")


def new_nonce() -> bytes:
    return os.urandom(_NONCE_BYTES)
