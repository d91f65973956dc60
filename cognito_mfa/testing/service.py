"""Compatibility module: the emulator's public names, from where they used to be defined.

The emulator is now split by operation family (see :mod:`cognito_mfa.testing._emulator`);
import :class:`Emulator`, :class:`SentMessage` and :class:`WireResponse` from
:mod:`cognito_mfa.testing`.
"""

from __future__ import annotations

from ._emulator import TARGET_PREFIX, Emulator, SentMessage, WireResponse
from ._shapes import CONTENT_TYPE
from ._wire import SHAPES, SIGNED_OPERATIONS

__all__ = [
    "CONTENT_TYPE",
    "SHAPES",
    "SIGNED_OPERATIONS",
    "TARGET_PREFIX",
    "Emulator",
    "SentMessage",
    "WireResponse",
]
