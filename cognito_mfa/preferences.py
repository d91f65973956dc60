"""MFA management values, and the pure request builders and response parsers behind them.

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

Nothing here does I/O; :mod:`cognito_mfa.user` sends what these functions build.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, ValidationError, model_validator

from .errors import InvalidInput, ProtocolError
from .models import MfaType

__all__ = [
    "MfaOption",
    "MfaSettings",
    "UserData",
    "legacy_mfa_options",
    "mfa_preference_params",
    "parse_mfa_options",
    "parse_user_data",
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


# --- request builders ---------------------------------------------------------------------

_SETTINGS_KEYS: tuple[tuple[str, str], ...] = (
    ("sms", "SMSMfaSettings"),
    ("software_token", "SoftwareTokenMfaSettings"),
    ("email", "EmailMfaSettings"),
)


def mfa_preference_params(
    *,
    sms: MfaSettings | None,
    software_token: MfaSettings | None,
    email: MfaSettings | None,
) -> dict[str, Any]:
    """The settings blocks of a (Admin)SetUserMFAPreference request.

    ``None`` leaves a factor unchanged (its block is omitted). Raises
    :class:`~cognito_mfa.errors.InvalidInput` when an argument is not an :class:`MfaSettings`,
    when more than one factor is preferred, or when no factor is given at all.
    """
    given = {"sms": sms, "software_token": software_token, "email": email}
    params: dict[str, Any] = {}
    preferred: list[str] = []
    for name, wire_key in _SETTINGS_KEYS:
        setting = given[name]
        if setting is None:
            continue
        if not isinstance(setting, MfaSettings):
            raise InvalidInput(f"{name} must be an MfaSettings or None")
        if setting.preferred and not setting.enabled:
            # only reachable through model_construct / model_copy, which skip validation
            raise InvalidInput(f"{name}: a preferred MFA factor must also be enabled")
        if setting.preferred:
            preferred.append(name)
        params[wire_key] = {"Enabled": setting.enabled, "PreferredMfa": setting.preferred}
    if not params:
        raise InvalidInput("give at least one of sms, software_token, email")
    if len(preferred) > 1:
        raise InvalidInput(f"at most one MFA factor may be preferred, got {', '.join(preferred)}")
    return params


def legacy_mfa_options(*, enabled: bool) -> list[dict[str, str]]:
    """``MFAOptions`` for the legacy SetUserSettings: SMS to phone_number, or none."""
    return [{"DeliveryMedium": "SMS", "AttributeName": "phone_number"}] if enabled else []


# --- response parsers ---------------------------------------------------------------------


def parse_mfa_options(raw: Any) -> tuple[MfaOption, ...]:
    """Parse ``MFAOptions``; raises :class:`~cognito_mfa.errors.ProtocolError` if malformed."""
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise ProtocolError("MFAOptions is not a list")
    try:
        return tuple(
            MfaOption(
                delivery_medium=item.get("DeliveryMedium"),
                attribute_name=item.get("AttributeName"),
            )
            for item in raw
            if isinstance(item, Mapping)
        )
    except ValidationError as exc:
        raise ProtocolError(f"MFAOptions entry not understood: {exc.errors()[0]['msg']}") from None


def _mfa_type(name: str) -> MfaType | None:
    try:
        return MfaType(name)
    except ValueError:
        return None


def _epoch(value: Any) -> datetime | None:
    # botocore parses the JSON epoch seconds into aware datetimes; a raw number is accepted too
    if value is None:
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return datetime.fromtimestamp(value, tz=UTC)
    raise ProtocolError("a user date is neither a timestamp nor a number")


def parse_user_data(response: Mapping[str, Any]) -> UserData:
    """Parse a GetUser or AdminGetUser answer.

    Raises :class:`~cognito_mfa.errors.ProtocolError` when a field has the wrong shape.
    """
    username = response.get("Username")
    if not isinstance(username, str):
        raise ProtocolError("GetUser answer lacks Username")
    attributes: dict[str, str] = {}
    raw_attributes = response.get("UserAttributes", [])
    if not isinstance(raw_attributes, list):
        raise ProtocolError("UserAttributes is not a list")
    for item in raw_attributes:
        if not isinstance(item, Mapping) or not isinstance(item.get("Name"), str):
            raise ProtocolError("a UserAttributes entry lacks Name")
        attributes[item["Name"]] = str(item.get("Value", ""))

    raw_list = response.get("UserMFASettingList") or []
    if not isinstance(raw_list, list) or not all(isinstance(x, str) for x in raw_list):
        raise ProtocolError("UserMFASettingList is not a list of names")
    enabled = tuple(t for t in (_mfa_type(x) for x in raw_list) if t is not None)
    unknown = tuple(x for x in raw_list if _mfa_type(x) is None)

    raw_preferred = response.get("PreferredMfaSetting")
    preferred: MfaType | None = None
    if raw_preferred:
        if not isinstance(raw_preferred, str):
            raise ProtocolError("PreferredMfaSetting is not a string")
        preferred = _mfa_type(raw_preferred)
        if preferred is None and raw_preferred not in unknown:
            unknown = (*unknown, raw_preferred)

    raw_enabled = response.get("Enabled")
    status = response.get("UserStatus")
    return UserData(
        username=username,
        attributes=attributes,
        enabled_mfa=enabled,
        preferred_mfa=preferred,
        mfa_options=parse_mfa_options(response.get("MFAOptions")),
        unknown_mfa_settings=unknown,
        enabled=raw_enabled if isinstance(raw_enabled, bool) else None,
        user_status=status if isinstance(status, str) else None,
        created_at=_epoch(response.get("UserCreateDate")),
        last_modified_at=_epoch(response.get("UserLastModifiedDate")),
    )
