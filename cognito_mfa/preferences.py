"""MFA management values: the settings a caller passes and the user data Cognito returns.

Sources (Cognito API reference, botocore ``cognito-idp`` model 2016-04-18;
``docs/protocol.md`` §2.2, §7.4-7.6):

* ``SetUserMFAPreference`` / ``AdminSetUserMFAPreference``: ``SMSMfaSettings``,
  ``SoftwareTokenMfaSettings`` and ``EmailMfaSettings``, each ``{Enabled, PreferredMfa}``. Only
  one factor may be preferred; a block left out leaves that factor as it is.
* ``GetUser`` / ``AdminGetUser``: ``UserAttributes``, ``UserMFASettingList`` (the enabled
  factors, omitted when none), ``PreferredMfaSetting`` and the legacy SMS-only ``MFAOptions``.
* ``SetUserSettings`` (legacy): ``MFAOptions`` ``[{DeliveryMedium: SMS, AttributeName:
  phone_number}]`` turns SMS MFA on, ``[]`` turns it off (amazon-cognito-identity-js
  ``enableMFA``/``disableMFA``).

The request builders and response parsers behind them (``mfa_preference_params``,
``legacy_mfa_options``, ``parse_mfa_options``, ``parse_user_data``) live with every other wire
key in :mod:`cognito_mfa._protocol`; the names stay importable from here.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, model_validator

from .errors import InvalidInput
from .models import MfaType

__all__ = [
    "MfaOption",
    "MfaSettings",
    "UserData",
]


class MfaSettings(BaseModel):
    """One factor's setting for ``set_user_mfa_preference`` (the seed's ``IMfaSettings``).

    ``preferred`` implies ``enabled``: ``MfaSettings(enabled=False, preferred=True)`` raises
    :class:`~cognito_mfa.errors.InvalidInput` at once, before anything is sent.
    """

    model_config = ConfigDict(frozen=True)

    enabled: bool
    preferred: bool = False

    def __init__(self, *, enabled: bool, preferred: bool = False) -> None:
        # checked here too so that the direct constructor raises our typed error (pydantic
        # would wrap it in a ValidationError); model_validate goes through the validator below
        if not isinstance(enabled, bool) or not isinstance(preferred, bool):
            raise InvalidInput("MfaSettings takes booleans for enabled and preferred")
        if preferred and not enabled:
            raise InvalidInput("a preferred MFA factor must also be enabled")
        super().__init__(enabled=enabled, preferred=preferred)

    @model_validator(mode="after")
    def _preferred_implies_enabled(self) -> MfaSettings:
        if self.preferred and not self.enabled:
            raise ValueError("a preferred MFA factor must also be enabled")
        return self


class MfaOption(BaseModel):
    """A legacy ``MFAOptions`` entry (the seed's ``MFAOption``): SMS to ``phone_number``."""

    model_config = ConfigDict(frozen=True)

    delivery_medium: Literal["SMS", "EMAIL"]
    attribute_name: str


class UserData(BaseModel):
    """What ``GetUser`` / ``AdminGetUser`` say about a user, MFA first.

    ``enabled_mfa`` is Cognito's ``UserMFASettingList``; Cognito lists only factors set through
    SetUserMFAPreference (an SMS factor an ``ON`` pool uses implicitly is not listed).
    ``unknown_mfa_settings`` keeps any factor name this library does not know yet.
    The ``user_status``/``enabled``/dates fields are only filled by ``admin_get_user``.
    """

    model_config = ConfigDict(frozen=True)

    username: str
    attributes: dict[str, str]
    enabled_mfa: tuple[MfaType, ...] = ()
    preferred_mfa: MfaType | None = None
    mfa_options: tuple[MfaOption, ...] = ()
    unknown_mfa_settings: tuple[str, ...] = ()
    enabled: bool | None = None
    user_status: str | None = None
    created_at: datetime | None = None
    last_modified_at: datetime | None = None

    @property
    def mfa_enabled(self) -> bool:
        """Whether any factor is enabled, by the new settings or the legacy ``MFAOptions``."""
        return bool(self.enabled_mfa or self.mfa_options)


_MOVED = frozenset(
    {"legacy_mfa_options", "mfa_preference_params", "parse_mfa_options", "parse_user_data"}
)


def __getattr__(name: str) -> Any:
    # the wire functions moved to protocol (one module owns every key); old imports still work
    if name in _MOVED:
        from . import _protocol as protocol

        return getattr(protocol, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
