"""The MFA family: TOTP association and verification, MFA preferences, legacy MFA settings.

Operations: AssociateSoftwareToken, VerifySoftwareToken (with an access token, or with the
Session of an MFA_SETUP challenge), SetUserMFAPreference, AdminSetUserMFAPreference,
SetUserSettings, AdminSetUserSettings. Also the TOTP check the sign-in family uses.

TOTP is RFC 6238 with Cognito's parameters: 6 digits, 30-second steps, the step before and
after accepted; a step's code is accepted once unless the emulator allows reuse. A newly
associated secret replaces the old one only once verified. SetUserMFAPreference changes only
the factors and fields it is given. Sources: the API reference pages of these operations and
"Adding MFA to a user pool" in the Cognito developer guide.
"""

from __future__ import annotations

import hmac
from typing import Any, Final

import pyotp

from . import _codes
from ._model import AuthSession, Pool, User
from ._state import MSG_SESSION, Model, not_authorized
from ._tokens import verify_access
from ._wire import CognitoError, invalid

__all__ = ["HANDLERS", "totp_accepts"]

_TOTP_STEP: Final = 30
_MSG_TOTP_POOL: Final = "Software Token MFA has not been enabled by the userPool"
_MSG_VERIFY_MISMATCH: Final = "Code mismatch and fail enable Software Token MFA"


def totp_accepts(model: Model, user: User, secret: str, code: str) -> bool:
    """±1 step of 30 s; a step's code is accepted once unless ``totp_reuse``."""
    totp = pyotp.TOTP(secret)
    current = int(model.now() // _TOTP_STEP)
    for step in (current - 1, current, current + 1):
        if step < 0:
            continue
        if hmac.compare_digest(totp.at(step * _TOTP_STEP).encode(), code.encode()):
            if not model.settings.totp_reuse and step <= user.totp_last_step:
                return False
            user.totp_last_step = max(user.totp_last_step, step)
            return True
    return False


# --- software tokens ----------------------------------------------------------------------------


def _token_or_session(model: Model, data: dict[str, Any]) -> tuple[Pool, User, AuthSession | None]:
    access, token = data.get("AccessToken"), data.get("Session")
    if access is not None and token is not None:
        # "either AccessToken or Session, not both"; UNCONFIRMED text
        raise invalid("Only one of AccessToken or Session should be provided.")
    if access is not None:
        pool, user, _ = verify_access(model, access)
        return pool, user, None
    if token is None:
        raise invalid("Missing required parameter AccessToken or Session")
    session = model.session(token)
    if session.challenge != "MFA_SETUP":
        raise not_authorized(MSG_SESSION)
    pool, _, user = model.session_user(session)
    return pool, user, session


def _follow_on(model: Model, session: AuthSession, state: str) -> AuthSession:
    """The next MFA_SETUP session after a step of TOTP set-up during sign-in."""
    pool, client, user = model.session_user(session)
    follow = model.new_session(
        pool, client, user, "MFA_SETUP", admin=session.admin, options=list(session.options)
    )
    follow.setup_state = state
    return follow


def associate_software_token(model: Model, data: dict[str, Any]) -> dict[str, Any]:
    pool, user, session = _token_or_session(model, data)
    if not pool.totp_mfa:
        raise CognitoError("SoftwareTokenMFANotFoundException", _MSG_TOTP_POOL)
    if session is not None and session.setup_state != "":
        raise not_authorized(MSG_SESSION)
    user.totp_pending = _codes.totp_secret(model.random)
    result: dict[str, Any] = {"SecretCode": user.totp_pending}
    if session is not None:
        model.spend(session)
        result["Session"] = _follow_on(model, session, "associated").token
    return result


def verify_software_token(model: Model, data: dict[str, Any]) -> dict[str, Any]:
    pool, user, session = _token_or_session(model, data)
    if not pool.totp_mfa:
        raise CognitoError("SoftwareTokenMFANotFoundException", _MSG_TOTP_POOL)
    if session is not None and session.setup_state != "associated":
        raise not_authorized(MSG_SESSION)
    if user.totp_pending is None:
        # UNCONFIRMED text: verifying before AssociateSoftwareToken
        raise CognitoError(
            "SoftwareTokenMFANotFoundException", "User has not set up software token mfa"
        )
    if not totp_accepts(model, user, user.totp_pending, data["UserCode"]):
        raise CognitoError("EnableSoftwareTokenMFAException", _MSG_VERIFY_MISMATCH)
    # the new secret replaces the old one only now, once verified
    user.totp_secret = user.totp_pending
    user.totp_pending = None
    user.totp_friendly_name = data.get("FriendlyDeviceName")
    user.modified = model.now()
    result: dict[str, Any] = {"Status": "SUCCESS"}
    if session is not None:
        model.spend(session)
        result["Session"] = _follow_on(model, session, "verified").token
    return result


# --- preferences and legacy settings ------------------------------------------------------------


def _has_delivery(user: User, name: str) -> bool:
    if name == "SMS_MFA":
        return "phone_number" in user.attributes
    if name == "SOFTWARE_TOKEN_MFA":
        return user.totp_secret is not None
    return "email" in user.attributes


def _apply_preferences(model: Model, user: User, data: dict[str, Any]) -> None:
    """SetUserMFAPreference semantics: absent blocks and fields mean "no change"."""
    blocks = {
        "SMS_MFA": data.get("SMSMfaSettings"),
        "SOFTWARE_TOKEN_MFA": data.get("SoftwareTokenMfaSettings"),
        "EMAIL_OTP": data.get("EmailMfaSettings"),
    }
    enabled = {
        "SMS_MFA": user.sms_enabled,
        "SOFTWARE_TOKEN_MFA": user.totp_enabled,
        "EMAIL_OTP": user.email_enabled,
    }
    preferred = user.preferred
    wants_preferred = [n for n, b in blocks.items() if b and b.get("PreferredMfa") is True]
    if len(wants_preferred) > 1:
        # UNCONFIRMED text; only one factor may be preferred (documented)
        raise invalid("Only one MFA method can be set as preferred.")
    for name, block in blocks.items():
        if not block:
            continue
        if "Enabled" in block:
            enabled[name] = block["Enabled"]
        if block.get("PreferredMfa") is True:
            if not enabled[name]:
                # UNCONFIRMED text (an Amplify maintainer reports the exception)
                raise invalid(f"Cannot set {name} as preferred when it is not enabled.")
            preferred = name
        elif block.get("PreferredMfa") is False and preferred == name:
            preferred = None
        if enabled[name] and not _has_delivery(user, name):
            raise invalid(f"User does not have delivery config set to turn on {name}")
    if preferred is not None and not enabled[preferred]:
        preferred = None
    user.sms_enabled = enabled["SMS_MFA"]
    user.totp_enabled = enabled["SOFTWARE_TOKEN_MFA"]
    user.email_enabled = enabled["EMAIL_OTP"]
    user.preferred = preferred
    user.modified = model.now()


def set_user_mfa_preference(model: Model, data: dict[str, Any]) -> dict[str, Any]:
    _, user, _ = verify_access(model, data["AccessToken"])
    _apply_preferences(model, user, data)
    return {}


def admin_set_user_mfa_preference(model: Model, data: dict[str, Any]) -> dict[str, Any]:
    _, user = model.admin_user(data)
    _apply_preferences(model, user, data)
    return {}


def _apply_settings(model: Model, user: User, options: list[dict[str, Any]]) -> None:
    """Legacy MFAOptions: SMS on phone_number turns SMS MFA on, [] turns it off."""
    sms = False
    for option in options:
        if option.get("DeliveryMedium") != "SMS" or option.get("AttributeName") not in (
            None,
            "phone_number",
        ):
            # UNCONFIRMED text: the docs allow only SMS to phone_number
            raise invalid("Only SMS to phone_number is supported in MFAOptions.")
        sms = True
    if sms and "phone_number" not in user.attributes:
        raise invalid("User does not have delivery config set to turn on SMS_MFA")
    user.sms_enabled = sms
    if not sms and user.preferred == "SMS_MFA":
        user.preferred = None
    user.modified = model.now()


def set_user_settings(model: Model, data: dict[str, Any]) -> dict[str, Any]:
    _, user, _ = verify_access(model, data["AccessToken"])
    _apply_settings(model, user, data["MFAOptions"])
    return {}


def admin_set_user_settings(model: Model, data: dict[str, Any]) -> dict[str, Any]:
    _, user = model.admin_user(data)
    _apply_settings(model, user, data["MFAOptions"])
    return {}


HANDLERS: Final = {
    "AssociateSoftwareToken": associate_software_token,
    "VerifySoftwareToken": verify_software_token,
    "SetUserMFAPreference": set_user_mfa_preference,
    "AdminSetUserMFAPreference": admin_set_user_mfa_preference,
    "SetUserSettings": set_user_settings,
    "AdminSetUserSettings": admin_set_user_settings,
}
