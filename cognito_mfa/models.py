"""Result values of a sign-in: the MFA factor names and the token session.

:class:`MfaType` names the three second factors Cognito user pools offer, with the wire names
of the botocore ``cognito-idp`` model (``SMS_MFA``, ``SOFTWARE_TOKEN_MFA``, ``EMAIL_OTP``);
:meth:`MfaType.parse` also takes the short names amazon-cognito-identity-js users write
(``SMS``, ``SOFTWARE_TOKEN``) and Amplify's (``TOTP``, ``EMAIL``).

:class:`CognitoUserSession` ports amazon-cognito-identity-js's ``CognitoUserSession``: the three
tokens of an ``AuthenticationResult`` plus their expiry. The ID and access token claims are
decoded **without verifying the signature** (hence the ``unverified_`` names): they are fine
for showing a user's name, never for an authorisation decision; verify against the pool's JWKS
for that.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, SecretStr, field_serializer

from ._limits import MAX_TEXT, loads
from .errors import InvalidInput, ProtocolError

__all__ = [
    "CognitoUserSession",
    "Device",
    "DeviceCredentials",
    "MfaType",
    "NewDeviceMetadata",
    "decode_jwt_claims_unverified",
]


class MfaType(StrEnum):
    """A second factor, by its Cognito wire name."""

    SMS_MFA = "SMS_MFA"
    SOFTWARE_TOKEN_MFA = "SOFTWARE_TOKEN_MFA"
    EMAIL_OTP = "EMAIL_OTP"

    @classmethod
    def parse(cls, value: MfaType | str) -> MfaType:
        """The factor named by ``value``: the enum, a wire name or a short name.

        Accepted (case-insensitive): ``SMS_MFA``/``SMS``, ``SOFTWARE_TOKEN_MFA``/
        ``SOFTWARE_TOKEN``/``TOTP``, ``EMAIL_OTP``/``EMAIL``/``EMAIL_MFA`` (the last is how
        parts of the AWS docs spell it). Raises :class:`~cognito_mfa.errors.InvalidInput`.
        """
        if isinstance(value, MfaType):
            return value
        if not isinstance(value, str):
            raise InvalidInput(f"an MFA type must be a string, not {type(value).__name__}")
        found = _MFA_ALIASES.get(value.strip().upper())
        if found is None:
            allowed = ", ".join(sorted(_MFA_ALIASES))
            # the value is not echoed: a code typed into the wrong place could land here
            raise InvalidInput(f"unknown MFA type; expected one of {allowed}")
        return found

    @property
    def code_length(self) -> int:
        """Digits in this factor's code: 6 for SMS and TOTP, 8 for email (docs/protocol.md §9.6)."""
        return 8 if self is MfaType.EMAIL_OTP else 6


_MFA_ALIASES: dict[str, MfaType] = {
    "SMS_MFA": MfaType.SMS_MFA,
    "SMS": MfaType.SMS_MFA,
    "SOFTWARE_TOKEN_MFA": MfaType.SOFTWARE_TOKEN_MFA,
    "SOFTWARE_TOKEN": MfaType.SOFTWARE_TOKEN_MFA,
    "TOTP": MfaType.SOFTWARE_TOKEN_MFA,
    "EMAIL_OTP": MfaType.EMAIL_OTP,
    "EMAIL": MfaType.EMAIL_OTP,
    "EMAIL_MFA": MfaType.EMAIL_OTP,
}


def decode_jwt_claims_unverified(token: str | SecretStr) -> dict[str, Any]:
    """The claims of a JWT, decoded WITHOUT checking its signature or expiry.

    Raises :class:`~cognito_mfa.errors.ProtocolError` when the token is not a JWT, or is
    longer or nested deeper than anything Cognito issues. The message never includes the token.
    """
    if isinstance(token, str):
        token = SecretStr(token)  # from here on no frame holds the token in clear
    if not isinstance(token, SecretStr) or len(token.get_secret_value()) > MAX_TEXT:
        raise ProtocolError(f"token is not a JWT of at most {MAX_TEXT} characters")
    if token.get_secret_value().count(".") != 2:
        raise ProtocolError("token is not a JWT (expected three dot-separated parts)")
    try:
        text = base64.urlsafe_b64decode(
            _padded(token.get_secret_value().split(".")[1]).encode("ascii")
        ).decode("utf-8")
    except (binascii.Error, ValueError, UnicodeError):
        raise ProtocolError("token payload is not base64url JSON") from None
    claims = loads(text, "token payload")
    if not isinstance(claims, dict):
        raise ProtocolError("token payload is not a JSON object")
    return claims


def _padded(part: str) -> str:
    return part + "=" * (-len(part) % 4)


class NewDeviceMetadata(BaseModel):
    """``AuthenticationResult.NewDeviceMetadata``: the device Cognito made for this sign-in.

    Present when the pool tracks devices and the sign-in named no known device. Confirm it
    with :meth:`CognitoUser.confirm_device <cognito_mfa.CognitoUser.confirm_device>` to
    remember it.
    """

    model_config = ConfigDict(frozen=True)

    device_key: str
    device_group_key: str


class DeviceCredentials(BaseModel):
    """A confirmed device's credentials, from :meth:`CognitoUser.confirm_device
    <cognito_mfa.CognitoUser.confirm_device>`, to sign in with later
    (``pool.sign_in(username, password, device=credentials)``).

    **A long-lived bearer secret**: with the user's password, the device password stands in
    for the second factor of a remembered device. ``repr`` masks it; ``model_dump_json()``
    writes it in clear so the credentials can be stored (keep that JSON as you keep a
    password: a file only the user can read, a keychain). ``user_confirmation_necessary`` is
    what ConfirmDevice answered: True when the pool remembers devices only on the user's
    say-so (then call ``remember_device``).
    """

    model_config = ConfigDict(frozen=True, hide_input_in_errors=True)

    device_key: str = Field(min_length=1, max_length=55)
    device_group_key: str = Field(min_length=1, max_length=MAX_TEXT)
    device_password: SecretStr = Field(min_length=1, max_length=MAX_TEXT)
    user_confirmation_necessary: bool = False

    @field_serializer("device_password", when_used="json")
    def _reveal(self, value: SecretStr) -> str:
        return value.get_secret_value()


class Device(BaseModel):
    """A device Cognito remembers for a user (``DeviceType`` of ListDevices / GetDevice).

    ``remembered`` is the ``dev:device_remembered_status`` attribute (None when absent);
    ``attributes`` holds every attribute as Cognito sent it.
    """

    model_config = ConfigDict(frozen=True)

    device_key: str
    name: str | None = None
    remembered: bool | None = None
    attributes: dict[str, str] = Field(default_factory=dict)
    created_at: AwareDatetime | None = None
    last_modified_at: AwareDatetime | None = None
    last_authenticated_at: AwareDatetime | None = None


class CognitoUserSession(BaseModel):
    """The tokens of a completed sign-in.

    The tokens are bearer secrets: they are :class:`~pydantic.SecretStr`, so ``repr`` and
    ``str`` mask them; ``model_dump_json()`` writes them out in clear so a session can be stored
    and reloaded with ``model_validate_json`` (store that JSON as you would a password).
    """

    # hide_input_in_errors: a validation error must not echo a token
    model_config = ConfigDict(frozen=True, hide_input_in_errors=True)

    id_token: SecretStr
    access_token: SecretStr
    refresh_token: SecretStr | None = None
    token_type: str = "Bearer"
    expires_at: AwareDatetime
    """When the access token stops being accepted (issue time + ``ExpiresIn``)."""
    new_device_metadata: NewDeviceMetadata | None = None
    device_key: str | None = None
    """The device this sign-in is bound to: the remembered device it signed in with, or the
    new device Cognito made for it. :meth:`UserPool.refresh <cognito_mfa.UserPool.refresh>`
    sends it (a device-tracking pool refuses the refresh without it)."""

    @property
    def new_device(self) -> NewDeviceMetadata | None:
        """The device Cognito made for this sign-in (same as :attr:`new_device_metadata`)."""
        return self.new_device_metadata

    @field_serializer("id_token", "access_token", "refresh_token", when_used="json")
    def _reveal(self, value: SecretStr | None) -> str | None:
        return None if value is None else value.get_secret_value()

    @classmethod
    def from_authentication_result(
        cls,
        result: Mapping[str, Any],
        *,
        issued_at: datetime,
        previous_refresh_token: SecretStr | None = None,
    ) -> CognitoUserSession:
        """Build from Cognito's ``AuthenticationResult``; ``issued_at`` is the caller's clock.

        A refresh answer omits ``RefreshToken``; ``previous_refresh_token`` is kept then, as
        amazon-cognito-identity-js does. Raises ProtocolError when a token is missing. (The
        wire parsing is :func:`cognito_mfa._protocol.parse_authentication_result`.)
        """
        from ._protocol import parse_authentication_result

        return parse_authentication_result(
            result, issued_at=issued_at, previous_refresh_token=previous_refresh_token
        )

    @property
    def unverified_id_claims(self) -> dict[str, Any]:
        """The ID token's claims, decoded WITHOUT signature verification."""
        return decode_jwt_claims_unverified(self.id_token)

    @property
    def unverified_access_claims(self) -> dict[str, Any]:
        """The access token's claims, decoded WITHOUT signature verification."""
        return decode_jwt_claims_unverified(self.access_token)

    @property
    def username(self) -> str | None:
        """The user's internal name (``cognito:username`` / ``username`` claim), unverified."""
        for claims, key in (
            (self.unverified_access_claims, "username"),
            (self.unverified_id_claims, "cognito:username"),
        ):
            value = claims.get(key)
            if isinstance(value, str):
                return value
        return None

    def is_valid(self, now: datetime) -> bool:
        """Whether the access token is still within its lifetime at ``now`` (caller's clock)."""
        return now < self.expires_at
