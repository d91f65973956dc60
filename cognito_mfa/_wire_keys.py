"""Cognito wire definitions shared by the client (:mod:`cognito_mfa._protocol`) and the emulator.

SECRET_HASH as the Cognito developer guide defines it ("Computing secret hash values"): base64
of HMAC-SHA256 keyed with the app client's secret over the username followed by the client id.
The ChallengeResponses key that carries each MFA factor's code, as the RespondToAuthChallenge
API reference names them. Pure: no I/O, no clock.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

__all__ = ["MFA_CODE_KEYS", "secret_hash"]

#: ChallengeName of an MFA factor -> the ChallengeResponses key that carries its code.
MFA_CODE_KEYS: Final[Mapping[str, str]] = MappingProxyType(
    {
        "SMS_MFA": "SMS_MFA_CODE",
        "SOFTWARE_TOKEN_MFA": "SOFTWARE_TOKEN_MFA_CODE",
        "EMAIL_OTP": "EMAIL_OTP_CODE",
    }
)


def secret_hash(username: str, client_id: str, client_secret: str) -> str:
    """SECRET_HASH = base64(HMAC-SHA256(key=client secret, msg=username + client id))."""
    digest = hmac.new(
        client_secret.encode(), (username + client_id).encode(), hashlib.sha256
    ).digest()
    return base64.b64encode(digest).decode()
