"""Cognito's sign-in wire messages: pure request builders and response parsers.

Every Cognito wire key the sign-in code uses (``AuthParameters``, ``ChallengeResponses``,
``SMS_MFA_CODE``, ``MFAS_CAN_CHOOSE``, ...) is spelled here and nowhere else. Nothing here does
I/O: a builder returns a :class:`Call` (an operation name and its botocore parameters) and a
parser takes the response dict botocore returned.

Sources: the botocore ``cognito-idp`` 2016-04-18 service model; the API reference pages of
InitiateAuth, RespondToAuthChallenge, AdminInitiateAuth, AdminRespondToAuthChallenge,
AssociateSoftwareToken and VerifySoftwareToken; "Computing secret hash values" in the Cognito
developer guide (SECRET_HASH). See ``docs/protocol.md`` §2-§3 and §6.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any, Final

from pydantic import SecretStr, ValidationError

from ._hidden import HiddenDict
from ._limits import check_tree, loads
from ._wire_keys import MFA_CODE_KEYS
from ._wire_keys import secret_hash as _secret_hash
from .client_settings import AppClientSettings
from .errors import InvalidInput, ProtocolError, ResourceNotFound
from .models import CognitoUserSession, Device, MfaType, NewDeviceMetadata
from .preferences import MfaOption, MfaSettings, UserData
from .totp import SoftwareTokenSecret

__all__ = [
    "DEVICE_CHALLENGES",
    "INTERNAL_CHALLENGES",
    "SESSION_MAX_LENGTH",
    "SESSION_MIN_LENGTH",
    "SUPPORTED_CHALLENGES",
    "AppClient",
    "AuthFlowType",
    "Call",
    "ChallengeStep",
    "PasswordVerifierParameters",
    "TokensStep",
    "VerifyStatus",
    "admin_forget_device",
    "admin_get_device",
    "admin_get_user",
    "admin_list_devices",
    "admin_set_user_mfa_preference",
    "admin_update_device_status",
    "answer_username",
    "associate_software_token",
    "confirm_device",
    "describe_user_pool_client",
    "device_password_verifier_responses",
    "device_srp_auth_responses",
    "forget_device",
    "get_device",
    "get_user",
    "global_sign_out",
    "is_device_not_found",
    "legacy_mfa_options",
    "legacy_settings",
    "list_devices",
    "mfa_code_responses",
    "mfa_preference_params",
    "mfa_setup_email_responses",
    "new_password_responses",
    "parse_app_client_settings",
    "parse_associate_software_token",
    "parse_auth_response",
    "parse_authentication_result",
    "parse_code_delivery",
    "parse_confirm_device",
    "parse_device",
    "parse_device_list",
    "parse_friendly_device_name",
    "parse_legacy_mfa_options",
    "parse_mfa_list",
    "parse_mfa_options",
    "parse_mfas_can_choose",
    "parse_mfas_can_setup",
    "parse_new_password_required",
    "parse_password_verifier",
    "parse_software_token_secret",
    "parse_user_data",
    "parse_verify_software_token",
    "password_verifier_responses",
    "refresh_tokens",
    "respond_to_challenge",
    "revoke_token",
    "secret_hash",
    "select_mfa_type_responses",
    "session_of",
    "set_user_mfa_preference",
    "start_password_auth",
    "start_srp_auth",
    "unsupported_challenge_of",
    "update_device_status",
    "user_associate_software_token",
    "user_verify_software_token",
    "verify_software_token",
    "with_access_token",
]


class AuthFlowType(StrEnum):
    """The ``AuthFlow`` values this library starts a sign-in with."""

    USER_SRP_AUTH = "USER_SRP_AUTH"
    USER_PASSWORD_AUTH = "USER_PASSWORD_AUTH"
    ADMIN_USER_PASSWORD_AUTH = "ADMIN_USER_PASSWORD_AUTH"
    REFRESH_TOKEN_AUTH = "REFRESH_TOKEN_AUTH"


# Challenges handed to the caller as typed models (cognito_mfa.challenges).
SUPPORTED_CHALLENGES: Final = frozenset(
    {
        "SMS_MFA",
        "SOFTWARE_TOKEN_MFA",
        "EMAIL_OTP",
        "SELECT_MFA_TYPE",
        "MFA_SETUP",
        "NEW_PASSWORD_REQUIRED",
    }
)
# The device SRP steps a remembered device answers in place of the MFA challenge.
DEVICE_CHALLENGES: Final = frozenset({"DEVICE_SRP_AUTH", "DEVICE_PASSWORD_VERIFIER"})
# Challenges the flow answers itself; the caller never sees them.
INTERNAL_CHALLENGES: Final = frozenset({"PASSWORD_VERIFIER"}) | DEVICE_CHALLENGES

_CODE_KEY: Final = {MfaType(name): key for name, key in MFA_CODE_KEYS.items()}
_USER_ATTRIBUTE_PREFIX: Final = "userAttributes."


@dataclass(frozen=True)
class AppClient:
    """The app client requests are built for. The secret never shows in a repr."""

    pool_id: str
    client_id: str
    client_secret: SecretStr | None = None


@dataclass(frozen=True)
class Call:
    """One operation to send. ``params`` can hold passwords and sessions: never in a repr
    (a :class:`~cognito_mfa._hidden.HiddenDict` also keeps them out of captured locals)."""

    operation: str
    params: Mapping[str, Any] = field(repr=False)


def secret_hash(username: str, client_id: str, client_secret: str | SecretStr) -> str:
    """SECRET_HASH = base64(HMAC-SHA256(key=client secret, msg=username + client id)).

    Raises ProtocolError when ``username`` is not valid Unicode (it comes from Cognito's
    answer); the secret itself was checked when the pool was made.
    """
    check_tree(username, "the USERNAME to answer with")
    key = client_secret if isinstance(client_secret, SecretStr) else SecretStr(client_secret)
    return _secret_hash(username, client_id, key.get_secret_value())


def _reveal(value: str | SecretStr) -> str:
    # the last step before a value goes into the request: builders take either form
    return value.get_secret_value() if isinstance(value, SecretStr) else value


def _with_secret_hash(client: AppClient, username: str, params: Mapping[str, Any]) -> HiddenDict:
    hidden = HiddenDict(params)
    if client.client_secret is not None:
        hidden["SECRET_HASH"] = secret_hash(username, client.client_id, client.client_secret)
    return hidden


def _initiate(
    client: AppClient,
    auth_flow: AuthFlowType,
    auth_parameters: Mapping[str, Any],
    *,
    client_metadata: Mapping[str, str] | None,
    admin: bool,
) -> Call:
    params = HiddenDict(
        {
            "ClientId": client.client_id,
            "AuthFlow": auth_flow.value,
            "AuthParameters": auth_parameters,
        }
    )
    if client_metadata:
        params["ClientMetadata"] = dict(client_metadata)
    if admin:
        params["UserPoolId"] = client.pool_id
        return Call("AdminInitiateAuth", params)
    return Call("InitiateAuth", params)


def start_srp_auth(
    client: AppClient,
    username: str,
    srp_a_hex: str,
    *,
    client_metadata: Mapping[str, str] | None = None,
    admin: bool = False,
    device_key: str | None = None,
) -> Call:
    """InitiateAuth (or AdminInitiateAuth) USER_SRP_AUTH with SRP_A (and DEVICE_KEY)."""
    params = {"USERNAME": username, "SRP_A": srp_a_hex}
    if device_key is not None:
        params["DEVICE_KEY"] = device_key
    auth = _with_secret_hash(client, username, params)
    return _initiate(
        client, AuthFlowType.USER_SRP_AUTH, auth, client_metadata=client_metadata, admin=admin
    )


def start_password_auth(
    client: AppClient,
    username: str,
    password: str | SecretStr,
    *,
    auth_flow: AuthFlowType,
    client_metadata: Mapping[str, str] | None = None,
) -> Call:
    """USER_PASSWORD_AUTH (InitiateAuth) or ADMIN_USER_PASSWORD_AUTH (AdminInitiateAuth)."""
    auth = _with_secret_hash(
        client, username, {"USERNAME": username, "PASSWORD": _reveal(password)}
    )
    admin = auth_flow is AuthFlowType.ADMIN_USER_PASSWORD_AUTH
    return _initiate(client, auth_flow, auth, client_metadata=client_metadata, admin=admin)


def refresh_tokens(
    client: AppClient,
    refresh_token: str | SecretStr,
    *,
    username: str | None,
    client_metadata: Mapping[str, str] | None = None,
    device_key: str | None = None,
) -> Call:
    """InitiateAuth REFRESH_TOKEN_AUTH; SECRET_HASH (secret clients) is over ``username``.

    ``device_key``: the device the tokens are bound to; a device-tracking pool refuses the
    refresh of a device-bound sign-in without it ("Invalid Refresh Token").
    """
    auth = HiddenDict({"REFRESH_TOKEN": _reveal(refresh_token)})
    if device_key is not None:
        auth["DEVICE_KEY"] = device_key
    if client.client_secret is not None:
        if not username:
            raise ProtocolError("cannot compute SECRET_HASH: the tokens name no username")
        auth = _with_secret_hash(client, username, auth)
    return _initiate(
        client,
        AuthFlowType.REFRESH_TOKEN_AUTH,
        auth,
        client_metadata=client_metadata,
        admin=False,
    )


def respond_to_challenge(
    client: AppClient,
    challenge_name: str,
    *,
    session: str | SecretStr | None,
    username: str,
    responses: Mapping[str, str],
    client_metadata: Mapping[str, str] | None = None,
    admin: bool = False,
) -> Call:
    """(Admin)RespondToAuthChallenge, with USERNAME and SECRET_HASH over that same name."""
    challenge_responses = _with_secret_hash(client, username, {"USERNAME": username, **responses})
    params = HiddenDict(
        {
            "ClientId": client.client_id,
            "ChallengeName": challenge_name,
            "ChallengeResponses": challenge_responses,
        }
    )
    if session is not None:
        params["Session"] = _reveal(session)
    if client_metadata:
        params["ClientMetadata"] = dict(client_metadata)
    if admin:
        params["UserPoolId"] = client.pool_id
        return Call("AdminRespondToAuthChallenge", params)
    return Call("RespondToAuthChallenge", params)


def password_verifier_responses(
    *, secret_block: str, signature: str, timestamp: str, device_key: str | None = None
) -> HiddenDict:
    """ChallengeResponses of PASSWORD_VERIFIER (besides USERNAME and SECRET_HASH).

    Also of DEVICE_PASSWORD_VERIFIER, whose answer has the same members plus DEVICE_KEY.
    ``device_key`` names the device signing in (a remembered one may stand in for MFA).
    """
    responses = HiddenDict(
        {
            "PASSWORD_CLAIM_SECRET_BLOCK": secret_block,
            "PASSWORD_CLAIM_SIGNATURE": signature,
            "TIMESTAMP": timestamp,
        }
    )
    if device_key is not None:
        responses["DEVICE_KEY"] = device_key
    return responses


def device_srp_auth_responses(*, device_key: str, srp_a_hex: str) -> HiddenDict:
    """DEVICE_SRP_AUTH's answer: the device key and a fresh SRP_A."""
    return HiddenDict({"DEVICE_KEY": device_key, "SRP_A": srp_a_hex})


def device_password_verifier_responses(
    *, device_key: str, secret_block: str, signature: str, timestamp: str
) -> HiddenDict:
    """DEVICE_PASSWORD_VERIFIER's answer: the device's password claim and its key."""
    return password_verifier_responses(
        secret_block=secret_block, signature=signature, timestamp=timestamp, device_key=device_key
    )


def mfa_code_responses(mfa_type: MfaType, code: str | SecretStr) -> HiddenDict:
    """SMS_MFA_CODE, SOFTWARE_TOKEN_MFA_CODE or EMAIL_OTP_CODE."""
    return HiddenDict({_CODE_KEY[mfa_type]: _reveal(code)})


def select_mfa_type_responses(mfa_type: MfaType) -> HiddenDict:
    """SELECT_MFA_TYPE's ANSWER: the wire name of the chosen factor."""
    return HiddenDict({"ANSWER": mfa_type.value})


def mfa_setup_email_responses(email: str) -> HiddenDict:
    """MFA_SETUP answered with an email address (when MFAS_CAN_SETUP lists EMAIL_OTP)."""
    return HiddenDict({"EMAIL": email})


def new_password_responses(
    new_password: str | SecretStr, attributes: Mapping[str, str] | None = None
) -> HiddenDict:
    """NEW_PASSWORD plus ``userAttributes.<name>`` for each attribute given."""
    responses = HiddenDict({"NEW_PASSWORD": _reveal(new_password)})
    for name, value in (attributes or {}).items():
        responses[_USER_ATTRIBUTE_PREFIX + name.removeprefix(_USER_ATTRIBUTE_PREFIX)] = value
    return responses


def associate_software_token(session: str | SecretStr) -> Call:
    """AssociateSoftwareToken during MFA_SETUP (Session, not AccessToken)."""
    return Call("AssociateSoftwareToken", HiddenDict({"Session": _reveal(session)}))


def verify_software_token(
    session: str | SecretStr, code: str | SecretStr, friendly_device_name: str | None
) -> Call:
    """VerifySoftwareToken during MFA_SETUP, with the Session AssociateSoftwareToken returned."""
    params = HiddenDict({"Session": _reveal(session), "UserCode": _reveal(code)})
    if friendly_device_name:
        params["FriendlyDeviceName"] = friendly_device_name
    return Call("VerifySoftwareToken", params)


def user_verify_software_token_params(
    code: str | SecretStr, friendly_device_name: str | None
) -> HiddenDict:
    """VerifySoftwareToken for a signed-in user (the AccessToken is added by the sender)."""
    params = HiddenDict({"UserCode": _reveal(code)})
    if friendly_device_name is not None:
        params["FriendlyDeviceName"] = friendly_device_name
    return params


# --- responses ------------------------------------------------------------------------------


@dataclass(frozen=True)
class TokensStep:
    """The sign-in finished: ``result`` is Cognito's ``AuthenticationResult``."""

    result: Mapping[str, Any] = field(repr=False)


@dataclass(frozen=True)
class ChallengeStep:
    """Cognito asks for a challenge. ``session`` is the challenge Session, a bearer secret."""

    name: str
    session: SecretStr | None = field(repr=False)
    parameters: Mapping[str, str] = field(repr=False)


# Cognito's challenge names are short upper-case words; a longer one is not a name.
MAX_CHALLENGE_NAME: Final = 128

# Cognito's SessionType: 20 to 2048 characters. A Session outside that would only fail later,
# in botocore's validation of the request that sends it back.
SESSION_MIN_LENGTH: Final = 20
SESSION_MAX_LENGTH: Final = 2048


def session_of(response: Mapping[str, Any], operation: str) -> SecretStr | None:
    """The response's challenge Session, checked against SessionType; None when there is none."""
    if response.get("Session") is None:
        return None
    # wrapped at once: the value is a bearer secret and must not sit in a plain local
    session = SecretStr(response["Session"]) if isinstance(response["Session"], str) else None
    if session is None:
        raise ProtocolError(f"{operation}: Session is not a string")
    if not SESSION_MIN_LENGTH <= len(_reveal(session)) <= SESSION_MAX_LENGTH:
        # the length only: the value is a secret
        raise ProtocolError(
            f"{operation}: Session has {len(_reveal(session))} characters, not "
            f"{SESSION_MIN_LENGTH} to {SESSION_MAX_LENGTH}"
        )
    return session


def parse_auth_response(response: Mapping[str, Any]) -> TokensStep | ChallengeStep:
    """Classify an (Admin)InitiateAuth / (Admin)RespondToAuthChallenge response.

    A challenge this library does not answer comes back with its name only (its parameters
    are never read, so their shape does not matter); the machine reports it as
    UnsupportedChallenge.
    """
    result = response.get("AuthenticationResult")
    if isinstance(result, Mapping) and result:
        return TokensStep(result)
    name = response.get("ChallengeName")
    if not isinstance(name, str) or not name:
        raise ProtocolError("response has neither AuthenticationResult nor ChallengeName")
    if len(name) > MAX_CHALLENGE_NAME:
        # the name goes into UnsupportedChallenge's message: keep it a name
        raise ProtocolError(f"ChallengeName is longer than {MAX_CHALLENGE_NAME} characters")
    if name not in SUPPORTED_CHALLENGES and name not in INTERNAL_CHALLENGES:
        return ChallengeStep(name, None, {})
    session = session_of(response, name)
    raw = response.get("ChallengeParameters") or {}
    if not isinstance(raw, Mapping):
        raise ProtocolError("ChallengeParameters is not an object")
    check_tree(raw, "ChallengeParameters")
    parameters = {str(k): str(v) for k, v in raw.items() if v is not None}
    return ChallengeStep(name, session, parameters)


def unsupported_challenge_of(answer: object) -> str | None:
    """The ChallengeName of a raw answer (any JSON value) asking for a challenge this library
    never answers, else None. Such an answer's other members are never read."""
    if not isinstance(answer, Mapping) or answer.get("AuthenticationResult"):
        return None
    name = answer.get("ChallengeName")
    known = SUPPORTED_CHALLENGES | INTERNAL_CHALLENGES
    if isinstance(name, str) and 0 < len(name) <= MAX_CHALLENGE_NAME and name not in known:
        return name
    return None


def answer_username(parameters: Mapping[str, str], fallback: str) -> str:
    """The USERNAME to send back: the challenge's USERNAME, else USER_ID_FOR_SRP, else ours.

    Cognito wants its internal name here, not the alias typed (docs/protocol.md §3). moto's
    server mode returns a UUID as USER_ID_FOR_SRP but expects the USERNAME parameter, so that
    wins. Raises ProtocolError for a name that is not valid Unicode (nothing can be sent then).
    """
    name = parameters.get("USERNAME") or parameters.get("USER_ID_FOR_SRP") or fallback
    check_tree(name, "USERNAME")
    return name


@dataclass(frozen=True)
class PasswordVerifierParameters:
    """What PASSWORD_VERIFIER carries. SRP values are secret-derived: not in the repr."""

    user_id_for_srp: str
    salt_hex: str = field(repr=False)
    srp_b_hex: str = field(repr=False)
    secret_block: str = field(repr=False)


def parse_password_verifier(
    parameters: Mapping[str, str], *, device_key: str | None = None
) -> PasswordVerifierParameters:
    """The SRP values of a PASSWORD_VERIFIER challenge (ProtocolError names a missing one).

    With ``device_key``, those of DEVICE_PASSWORD_VERIFIER: the device key stands for the
    user id in the proof.
    """
    name = "PASSWORD_VERIFIER" if device_key is None else "DEVICE_PASSWORD_VERIFIER"
    missing = [k for k in ("SALT", "SRP_B", "SECRET_BLOCK") if not parameters.get(k)]
    user_id = device_key or parameters.get("USER_ID_FOR_SRP") or parameters.get("USERNAME")
    if not user_id:
        missing.append("USER_ID_FOR_SRP")
    if missing:
        raise ProtocolError(f"{name} lacks {', '.join(missing)}")
    assert user_id is not None
    check_tree(user_id, "USER_ID_FOR_SRP")
    return PasswordVerifierParameters(
        user_id_for_srp=user_id,
        salt_hex=parameters["SALT"],
        srp_b_hex=parameters["SRP_B"],
        secret_block=parameters["SECRET_BLOCK"],
    )


# moto's server mode sends MFAS_CAN_CHOOSE as a Python repr (['SOFTWARE_TOKEN_MFA']), not
# JSON: a flat list of quoted names is all that is accepted in that form.
_PYTHON_NAME_LIST: Final = re.compile(
    r"\[\s*(?:'[A-Za-z0-9_]*'\s*(?:,\s*'[A-Za-z0-9_]*'\s*)*,?\s*)?\]"
)
_QUOTED: Final = re.compile(r"'([A-Za-z0-9_]*)'")


def _parse_list(text: str, what: str) -> list[Any]:
    if _PYTHON_NAME_LIST.fullmatch(text):
        return _QUOTED.findall(text)
    value = loads(text, what)
    if not isinstance(value, list):
        raise ProtocolError(f"{what} is not a JSON list")
    return value


def parse_mfa_list(parameters: Mapping[str, str], key: str) -> tuple[MfaType, ...]:
    """MFAS_CAN_CHOOSE / MFAS_CAN_SETUP as factors; names this library cannot answer drop out."""
    text = parameters.get(key)
    if text is None:
        raise ProtocolError(f"challenge lacks {key}")
    known = {t.value: t for t in MfaType}
    found: list[MfaType] = []
    for item in _parse_list(text, key):
        mfa = known.get(item) if isinstance(item, str) else None
        if mfa is not None and mfa not in found:
            found.append(mfa)
    return tuple(found)


def parse_mfas_can_choose(parameters: Mapping[str, str]) -> tuple[MfaType, ...]:
    """SELECT_MFA_TYPE's MFAS_CAN_CHOOSE (ProtocolError when missing or malformed)."""
    return parse_mfa_list(parameters, "MFAS_CAN_CHOOSE")


def parse_mfas_can_setup(parameters: Mapping[str, str]) -> tuple[MfaType, ...]:
    """MFA_SETUP's MFAS_CAN_SETUP (ProtocolError when missing or malformed)."""
    return parse_mfa_list(parameters, "MFAS_CAN_SETUP")


def parse_code_delivery(parameters: Mapping[str, str]) -> tuple[str | None, str | None]:
    """(CODE_DELIVERY_DESTINATION, CODE_DELIVERY_DELIVERY_MEDIUM), each None when absent."""
    return (
        parameters.get("CODE_DELIVERY_DESTINATION"),
        parameters.get("CODE_DELIVERY_DELIVERY_MEDIUM"),
    )


def parse_friendly_device_name(parameters: Mapping[str, str]) -> str | None:
    """SOFTWARE_TOKEN_MFA's FRIENDLY_DEVICE_NAME, None when absent."""
    return parameters.get("FRIENDLY_DEVICE_NAME")


def parse_new_password_required(
    parameters: Mapping[str, str],
) -> tuple[tuple[str, ...], dict[str, str]]:
    """(required attribute names without ``userAttributes.``, current attributes)."""
    required_raw = parameters.get("requiredAttributes")
    required = (
        tuple(
            str(name).removeprefix(_USER_ATTRIBUTE_PREFIX)
            for name in _parse_list(required_raw, "requiredAttributes")
        )
        if required_raw
        else ()
    )
    attributes: dict[str, str] = {}
    attributes_raw = parameters.get("userAttributes")
    if attributes_raw:
        value = loads(attributes_raw, "userAttributes")
        if not isinstance(value, dict):
            raise ProtocolError("userAttributes is not a JSON object")
        attributes = {
            str(k).removeprefix(_USER_ATTRIBUTE_PREFIX): str(v)
            for k, v in value.items()
            if v is not None
        }
    return required, attributes


def parse_associate_software_token(
    response: Mapping[str, Any],
) -> tuple[SecretStr, SecretStr | None]:
    """(SecretCode, Session) of AssociateSoftwareToken, both wrapped."""
    if not isinstance(response.get("SecretCode"), str) or not response["SecretCode"]:
        raise ProtocolError("AssociateSoftwareToken returned no SecretCode")
    return SecretStr(response["SecretCode"]), session_of(response, "AssociateSoftwareToken")


def parse_software_token_secret(
    response: Mapping[str, Any],
) -> tuple[SoftwareTokenSecret, SecretStr | None]:
    """(the TOTP secret, Session) of AssociateSoftwareToken.

    Any non-empty secret is accepted, as the service chose it (moto's server mode sends 12
    characters); whether an authenticator app can take it is checked where one needs it
    (:meth:`SoftwareTokenSecret.provisioning_uri`). Raises ProtocolError when SecretCode is
    missing.
    """
    secret_code, session = parse_associate_software_token(response)
    try:
        secret = SoftwareTokenSecret(secret_code=secret_code)
    except ValidationError:  # pragma: no cover - any non-empty string is accepted
        raise ProtocolError("AssociateSoftwareToken SecretCode is unusable") from None
    return secret, session


class VerifyStatus(StrEnum):
    """VerifySoftwareToken's ``Status``."""

    SUCCESS = "SUCCESS"
    ERROR = "ERROR"


def parse_verify_software_token(
    response: Mapping[str, Any],
) -> tuple[VerifyStatus, SecretStr | None]:
    """(Status, Session) of VerifySoftwareToken; ProtocolError for any other Status.

    ``ERROR`` is Cognito's second way of refusing a code (HTTP 200): the caller raises
    :class:`~cognito_mfa.errors.EnableSoftwareTokenMFA` for it.
    """
    session = session_of(response, "VerifySoftwareToken")
    status = response.get("Status")
    if status == VerifyStatus.SUCCESS:
        return VerifyStatus.SUCCESS, session
    if status == VerifyStatus.ERROR:
        return VerifyStatus.ERROR, session
    raise ProtocolError("VerifySoftwareToken answered no known Status")


# --- MFA settings and user data (SetUserMFAPreference, GetUser, SetUserSettings) ------------

_SETTINGS_KEYS: Final[tuple[tuple[str, str], ...]] = (
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


def legacy_settings(*, enabled: bool) -> Call:
    """SetUserSettings turning SMS MFA on or off the legacy way (``MFAOptions``)."""
    return Call("SetUserSettings", HiddenDict({"MFAOptions": legacy_mfa_options(enabled=enabled)}))


def parse_legacy_mfa_options(response: Mapping[str, Any]) -> tuple[MfaOption, ...]:
    """The legacy ``MFAOptions`` of a GetUser answer."""
    return parse_mfa_options(response.get("MFAOptions"))


# --- a signed-in user's calls (authorised by the access token) ------------------------------


def with_access_token(call: Call, access_token: SecretStr) -> Call:
    """``call`` authorised by the user's access token (the ``AccessToken`` member)."""
    params = HiddenDict(call.params)
    params["AccessToken"] = access_token.get_secret_value()
    return Call(call.operation, params)


def user_associate_software_token() -> Call:
    """AssociateSoftwareToken for a signed-in user (add the access token)."""
    return Call("AssociateSoftwareToken", HiddenDict())


def user_verify_software_token(code: str | SecretStr, friendly_device_name: str | None) -> Call:
    """VerifySoftwareToken for a signed-in user (add the access token)."""
    return Call(
        "VerifySoftwareToken", user_verify_software_token_params(code, friendly_device_name)
    )


def set_user_mfa_preference(
    *, sms: MfaSettings | None, software_token: MfaSettings | None, email: MfaSettings | None
) -> Call:
    """SetUserMFAPreference (add the access token); raises InvalidInput as
    :func:`mfa_preference_params`."""
    params = mfa_preference_params(sms=sms, software_token=software_token, email=email)
    return Call("SetUserMFAPreference", HiddenDict(params))


def get_user() -> Call:
    """GetUser (add the access token)."""
    return Call("GetUser", HiddenDict())


def global_sign_out() -> Call:
    """GlobalSignOut (add the access token)."""
    return Call("GlobalSignOut", HiddenDict())


def revoke_token(client: AppClient, refresh_token: SecretStr) -> Call:
    """RevokeToken: the refresh token and the access tokens issued from it stop working.

    A client with a secret sends the secret itself (``ClientSecret``), not a SECRET_HASH.
    """
    params = HiddenDict({"Token": refresh_token.get_secret_value(), "ClientId": client.client_id})
    if client.client_secret is not None:
        params["ClientSecret"] = client.client_secret.get_secret_value()
    return Call("RevokeToken", params)


def admin_set_user_mfa_preference(
    pool_id: str,
    username: str,
    *,
    sms: MfaSettings | None,
    software_token: MfaSettings | None,
    email: MfaSettings | None,
) -> Call:
    """AdminSetUserMFAPreference for ``username`` (signed with IAM credentials)."""
    params = mfa_preference_params(sms=sms, software_token=software_token, email=email)
    return Call(
        "AdminSetUserMFAPreference",
        HiddenDict({**params, "UserPoolId": pool_id, "Username": username}),
    )


def admin_get_user(pool_id: str, username: str) -> Call:
    """AdminGetUser for ``username`` (signed with IAM credentials)."""
    return Call("AdminGetUser", HiddenDict({"UserPoolId": pool_id, "Username": username}))


# --- the app client's settings -----------------------------------------------------------------

# DescribeUserPoolClient's defaults for what a client leaves unset (UserPoolClientType): the
# unit of each validity when TokenValidityUnits does not name one, and the durations
_DEFAULT_UNITS: Final = {"AccessToken": "hours", "IdToken": "hours", "RefreshToken": "days"}
_UNIT_SECONDS: Final = {"seconds": 1, "minutes": 60, "hours": 3600, "days": 86400}
_DEFAULT_AUTH_SESSION: Final = timedelta(minutes=3)
# a sanity bound, far above the model's 15 minutes: a future longer setting still reads
_MAX_AUTH_SESSION_MINUTES: Final = 24 * 60
_DEFAULT_ACCESS: Final = timedelta(hours=1)
_DEFAULT_ID: Final = timedelta(hours=1)
_DEFAULT_REFRESH: Final = timedelta(days=30)
_DEFAULT_FLOWS: Final = ("ALLOW_CUSTOM_AUTH", "ALLOW_REFRESH_TOKEN_AUTH", "ALLOW_USER_SRP_AUTH")


def describe_user_pool_client(pool_id: str, client_id: str) -> Call:
    """DescribeUserPoolClient for the app client (signed with IAM credentials)."""
    return Call(
        "DescribeUserPoolClient", HiddenDict({"UserPoolId": pool_id, "ClientId": client_id})
    )


def _count(raw: Mapping[str, Any], key: str, *, least: int) -> int | None:
    value = raw.get(key)
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or value < least:
        raise ProtocolError(f"UserPoolClient.{key} is not an integer of at least {least}")
    return value


def _validity(
    raw: Mapping[str, Any], key: str, unit_key: str, units: Mapping[str, Any], default: timedelta
) -> timedelta:
    # RefreshTokenValidity 0 stands for the default (its API reference says so); the others
    # are at least 1
    value = _count(raw, key, least=0 if unit_key == "RefreshToken" else 1)
    if not value:
        return default
    unit = units.get(unit_key, _DEFAULT_UNITS[unit_key])
    if unit not in _UNIT_SECONDS:
        raise ProtocolError(f"TokenValidityUnits.{unit_key} is not a time unit")
    try:
        return timedelta(seconds=value * _UNIT_SECONDS[unit])
    except OverflowError:
        raise ProtocolError(f"UserPoolClient.{key} is out of range") from None


def parse_app_client_settings(response: Mapping[str, Any]) -> AppClientSettings:
    """The app client's settings from a DescribeUserPoolClient answer.

    Durations become timedeltas in their ``TokenValidityUnits`` (default: hours for the access
    and ID tokens, days for the refresh token); what is absent gets Cognito's default. Only
    the presence of ``ClientSecret`` is read. Raises ProtocolError when ``UserPoolClient``
    or its ``ClientId`` is missing or a field has the wrong shape.
    """
    raw = response.get("UserPoolClient")
    if not isinstance(raw, Mapping):
        raise ProtocolError("DescribeUserPoolClient answer lacks UserPoolClient")
    for key in ("UserPoolId", "ClientId"):
        if not isinstance(raw.get(key), str) or not raw[key]:
            raise ProtocolError(f"UserPoolClient lacks {key}")
    name = raw.get("ClientName")
    if name is not None and not isinstance(name, str):
        raise ProtocolError("UserPoolClient.ClientName is not a string")
    units = raw.get("TokenValidityUnits") or {}
    if not isinstance(units, Mapping):
        raise ProtocolError("UserPoolClient.TokenValidityUnits is not a structure")
    session = _count(raw, "AuthSessionValidity", least=1)
    if session is not None and session > _MAX_AUTH_SESSION_MINUTES:
        raise ProtocolError("UserPoolClient.AuthSessionValidity is out of range")
    flows = raw.get("ExplicitAuthFlows")
    if flows is not None and (
        not isinstance(flows, list) or not all(isinstance(flow, str) for flow in flows)
    ):
        raise ProtocolError("UserPoolClient.ExplicitAuthFlows is not a list of names")
    revocation = raw.get("EnableTokenRevocation", True)
    if not isinstance(revocation, bool):
        raise ProtocolError("UserPoolClient.EnableTokenRevocation is not a boolean")
    return AppClientSettings(
        pool_id=raw["UserPoolId"],
        client_id=raw["ClientId"],
        client_name=name,
        auth_session_validity=(
            _DEFAULT_AUTH_SESSION if session is None else timedelta(minutes=session)
        ),
        access_token_validity=_validity(
            raw, "AccessTokenValidity", "AccessToken", units, _DEFAULT_ACCESS
        ),
        id_token_validity=_validity(raw, "IdTokenValidity", "IdToken", units, _DEFAULT_ID),
        refresh_token_validity=_validity(
            raw, "RefreshTokenValidity", "RefreshToken", units, _DEFAULT_REFRESH
        ),
        explicit_auth_flows=_DEFAULT_FLOWS if flows is None else tuple(flows),
        enable_token_revocation=revocation,
        has_secret=bool(raw.get("ClientSecret")),
        created_at=_epoch(raw.get("CreationDate")),
        last_modified_at=_epoch(raw.get("LastModifiedDate")),
    )


# --- tokens -----------------------------------------------------------------------------------


def parse_authentication_result(
    result: Mapping[str, Any],
    *,
    issued_at: datetime,
    previous_refresh_token: SecretStr | None = None,
    device_key: str | None = None,
) -> CognitoUserSession:
    """The tokens of Cognito's ``AuthenticationResult``; ``issued_at`` is the caller's clock.

    A refresh answer omits ``RefreshToken``; ``previous_refresh_token`` is kept then, as
    amazon-cognito-identity-js does. ``device_key`` is the device the sign-in used; a new
    device (``NewDeviceMetadata``) takes its place. Raises ProtocolError when a token is
    missing or a field has the wrong type.
    """
    for key in ("IdToken", "AccessToken"):
        if not isinstance(result.get(key), str) or not result[key]:
            raise ProtocolError(f"AuthenticationResult lacks {key}")
    expires_in = result.get("ExpiresIn", 3600)
    if not isinstance(expires_in, int) or isinstance(expires_in, bool):
        raise ProtocolError("AuthenticationResult.ExpiresIn is not an integer")
    try:
        expires_at = issued_at + timedelta(seconds=expires_in)
    except OverflowError:
        raise ProtocolError("AuthenticationResult.ExpiresIn is out of range") from None
    device = result.get("NewDeviceMetadata")
    new_device = None
    if isinstance(device, Mapping) and "DeviceKey" in device and "DeviceGroupKey" in device:
        new_device = NewDeviceMetadata(
            device_key=str(device["DeviceKey"]), device_group_key=str(device["DeviceGroupKey"])
        )
        device_key = new_device.device_key
    # tokens go straight into SecretStr: never a plain local a traceback could record
    return CognitoUserSession(
        id_token=SecretStr(result["IdToken"]),
        access_token=SecretStr(result["AccessToken"]),
        refresh_token=(
            SecretStr(str(result["RefreshToken"]))
            if result.get("RefreshToken")
            else previous_refresh_token
        ),
        token_type=str(result.get("TokenType") or "Bearer"),
        expires_at=expires_at,
        new_device_metadata=new_device,
        device_key=device_key,
    )


# --- remembered devices -------------------------------------------------------------------------

# ListDevices' and AdminListDevices' largest page (the service model's QueryLimitType)
DEVICE_PAGE_LIMIT: Final = 60
_REMEMBERED_ATTRIBUTE: Final = "dev:device_remembered_status"
_NAME_ATTRIBUTE: Final = "device_name"
_DEVICE_MESSAGE: Final = re.compile(r"device", re.IGNORECASE)


def is_device_not_found(error: Exception) -> bool:
    """Whether ``error`` is Cognito saying a device it was told about does not exist.

    ResourceNotFoundException naming a device ("Device does not exist."), the rule the
    official JavaScript client applies before it drops its stored device.
    """
    return isinstance(error, ResourceNotFound) and bool(_DEVICE_MESSAGE.search(error.message))


def confirm_device(
    *, device_key: str, device_name: str | None, salt_b64: str, verifier_b64: str
) -> Call:
    """ConfirmDevice (add the access token) with the device's SRP salt and verifier."""
    params = HiddenDict(
        {
            "DeviceKey": device_key,
            "DeviceSecretVerifierConfig": {"Salt": salt_b64, "PasswordVerifier": verifier_b64},
        }
    )
    if device_name is not None:
        params["DeviceName"] = device_name
    return Call("ConfirmDevice", params)


def parse_confirm_device(response: Mapping[str, Any]) -> bool:
    """ConfirmDevice's ``UserConfirmationNecessary`` (absent: False)."""
    value = response.get("UserConfirmationNecessary", False)
    if not isinstance(value, bool):
        raise ProtocolError("ConfirmDevice: UserConfirmationNecessary is not a boolean")
    return value


def _status_value(remembered: bool) -> str:
    return "remembered" if remembered else "not_remembered"


def update_device_status(device_key: str, *, remembered: bool) -> Call:
    """UpdateDeviceStatus (add the access token)."""
    return Call(
        "UpdateDeviceStatus",
        HiddenDict({"DeviceKey": device_key, "DeviceRememberedStatus": _status_value(remembered)}),
    )


def list_devices(pagination_token: str | None = None) -> Call:
    """ListDevices (add the access token): one page of at most 60 devices."""
    params = HiddenDict({"Limit": DEVICE_PAGE_LIMIT})
    if pagination_token is not None:
        params["PaginationToken"] = pagination_token
    return Call("ListDevices", params)


def get_device(device_key: str) -> Call:
    """GetDevice (add the access token)."""
    return Call("GetDevice", HiddenDict({"DeviceKey": device_key}))


def forget_device(device_key: str) -> Call:
    """ForgetDevice (add the access token)."""
    return Call("ForgetDevice", HiddenDict({"DeviceKey": device_key}))


def admin_update_device_status(
    pool_id: str, username: str, device_key: str, *, remembered: bool
) -> Call:
    """AdminUpdateDeviceStatus (signed with IAM credentials)."""
    return Call(
        "AdminUpdateDeviceStatus",
        HiddenDict(
            {
                "UserPoolId": pool_id,
                "Username": username,
                "DeviceKey": device_key,
                "DeviceRememberedStatus": _status_value(remembered),
            }
        ),
    )


def admin_list_devices(pool_id: str, username: str, pagination_token: str | None = None) -> Call:
    """AdminListDevices (signed with IAM credentials): one page of at most 60 devices."""
    params = HiddenDict({"UserPoolId": pool_id, "Username": username, "Limit": DEVICE_PAGE_LIMIT})
    if pagination_token is not None:
        params["PaginationToken"] = pagination_token
    return Call("AdminListDevices", params)


def admin_get_device(pool_id: str, username: str, device_key: str) -> Call:
    """AdminGetDevice (signed with IAM credentials)."""
    return Call(
        "AdminGetDevice",
        HiddenDict({"UserPoolId": pool_id, "Username": username, "DeviceKey": device_key}),
    )


def admin_forget_device(pool_id: str, username: str, device_key: str) -> Call:
    """AdminForgetDevice (signed with IAM credentials)."""
    return Call(
        "AdminForgetDevice",
        HiddenDict({"UserPoolId": pool_id, "Username": username, "DeviceKey": device_key}),
    )


def parse_device(raw: Any) -> Device:
    """One ``DeviceType``; ProtocolError when it has no key or a field has the wrong shape."""
    if not isinstance(raw, Mapping) or not isinstance(raw.get("DeviceKey"), str):
        raise ProtocolError("a device lacks DeviceKey")
    attributes: dict[str, str] = {}
    raw_attributes = raw.get("DeviceAttributes") or []
    if not isinstance(raw_attributes, list):
        raise ProtocolError("DeviceAttributes is not a list")
    for item in raw_attributes:
        if not isinstance(item, Mapping) or not isinstance(item.get("Name"), str):
            raise ProtocolError("a DeviceAttributes entry lacks Name")
        attributes[item["Name"]] = str(item.get("Value", ""))
    status = attributes.get(_REMEMBERED_ATTRIBUTE)
    check_tree(attributes, "DeviceAttributes")
    return Device(
        device_key=raw["DeviceKey"],
        name=attributes.get(_NAME_ATTRIBUTE),
        remembered=None if status is None else status == "remembered",
        attributes=attributes,
        created_at=_epoch(raw.get("DeviceCreateDate")),
        last_modified_at=_epoch(raw.get("DeviceLastModifiedDate")),
        last_authenticated_at=_epoch(raw.get("DeviceLastAuthenticatedDate")),
    )


def parse_device_list(response: Mapping[str, Any]) -> tuple[list[Device], str | None]:
    """One page of (Admin)ListDevices: its devices and the next PaginationToken (or None)."""
    raw = response.get("Devices") or []
    if not isinstance(raw, list):
        raise ProtocolError("Devices is not a list")
    token = response.get("PaginationToken")
    if token is not None and (not isinstance(token, str) or not token):
        raise ProtocolError("PaginationToken is not a string")
    return [parse_device(item) for item in raw], token
