"""Identifiers, one-time codes and masked destinations, drawn from injected randomness.

Every function takes the ``random_bytes`` callable the emulator was built with, so a test can
make the emulator deterministic. Formats follow what Cognito emits (docs/protocol.md §2.1, §3.1,
§7.3): pool ids ``<region>_<9 alphanumerics>``, client ids of 26 lower-case alphanumerics,
client secrets of 51, UUID ``sub`` values, device keys ``<region>_<uuid>``, 6-digit SMS
codes, 8-digit email OTP codes, TOTP secrets of 32 random bytes as unpadded RFC 4648 base32
(52 characters).
"""

from __future__ import annotations

import base64
import uuid
from collections.abc import Callable
from typing import Final

__all__ = [
    "RandomBytes",
    "choose",
    "client_id",
    "client_secret",
    "device_group_key",
    "device_key",
    "digits",
    "mask_email",
    "mask_phone",
    "opaque_token",
    "pool_id",
    "random_uuid",
    "session_token",
    "totp_secret",
]

RandomBytes = Callable[[int], bytes]

_ALNUM: Final = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_LOWER_ALNUM: Final = "0123456789abcdefghijklmnopqrstuvwxyz"


def choose(random_bytes: RandomBytes, alphabet: str, length: int) -> str:
    """``length`` characters drawn uniformly from ``alphabet`` (rejection sampling)."""
    limit = 256 - (256 % len(alphabet))
    out: list[str] = []
    while len(out) < length:
        for byte in random_bytes(length * 2):
            if byte < limit:
                out.append(alphabet[byte % len(alphabet)])
                if len(out) == length:
                    break
    return "".join(out)


def digits(random_bytes: RandomBytes, count: int) -> str:
    """A one-time code of ``count`` decimal digits (leading zeros kept)."""
    return choose(random_bytes, "0123456789", count)


def pool_id(random_bytes: RandomBytes, region: str) -> str:
    return f"{region}_{choose(random_bytes, _ALNUM, 9)}"


def client_id(random_bytes: RandomBytes) -> str:
    return choose(random_bytes, _LOWER_ALNUM, 26)


def client_secret(random_bytes: RandomBytes) -> str:
    return choose(random_bytes, _LOWER_ALNUM, 51)


def random_uuid(random_bytes: RandomBytes) -> str:
    return str(uuid.UUID(bytes=random_bytes(16), version=4))


def device_key(random_bytes: RandomBytes, region: str) -> str:
    """A DeviceKey: ``<region>_<uuid>``."""
    return f"{region}_{random_uuid(random_bytes)}"


def device_group_key(random_bytes: RandomBytes) -> str:
    """A DeviceGroupKey: 9 characters, which may start with ``-`` as Cognito's can."""
    return choose(random_bytes, _ALNUM + "-", 9)


def opaque_token(random_bytes: RandomBytes, size: int = 96) -> str:
    """A long URL-safe base64 string (sessions, secret blocks' handles, refresh tokens)."""
    return base64.urlsafe_b64encode(random_bytes(size)).decode().rstrip("=")


SESSION_PREFIX: Final = "AYAB"
SESSION_LENGTH: Final = 1_500


def session_token(random_bytes: RandomBytes) -> str:
    """A challenge Session shaped like Cognito's: ``AYAB`` and base64, 1,500 characters.

    Real Sessions are about this long (docs/protocol.md §7.1); a client that keeps one per
    parked sign-in should be measured with the real size.
    """
    body = SESSION_LENGTH - len(SESSION_PREFIX)
    return SESSION_PREFIX + opaque_token(random_bytes, body * 3 // 4)[:body]


def totp_secret(random_bytes: RandomBytes) -> str:
    """32 random bytes as base32 without padding: 52 characters, as Cognito's SecretCode."""
    return base64.b32encode(random_bytes(32)).decode().rstrip("=")


def mask_phone(phone: str) -> str:
    """``+15555551234`` -> ``+*******1234`` (the last four digits kept)."""
    if len(phone) <= 5:
        return "+" + "*" * max(len(phone) - 1, 0)
    return phone[0] + "*" * (len(phone) - 5) + phone[-4:]


def mask_email(email: str) -> str:
    """``alice@example.com`` -> ``a***@e***``."""
    local, _, domain = email.partition("@")
    return f"{local[:1]}***@{domain[:1]}***"
