"""Cognito's sign-in wire messages: pure request builders and response parsers.

Every Cognito wire key the sign-in code uses (``AuthParameters``, ``ChallengeResponses``,
``SMS_MFA_CODE``, ``MFAS_CAN_CHOOSE``, ...) is spelled here and nowhere else. Nothing here does
I/O: a builder returns a :class:`Call` (an operation name and its botocore parameters) and a
parser takes the response dict botocore returned.

Sources: the botocore ``cognito-idp`` 2016-04-18 service model; the API reference pages of
InitiateAuth, RespondToAuthChallenge, AdminInitiateAuth, AdminRespondToAuthChallenge,
AssociateSoftwareToken and VerifySoftwareToken; "Computing secret hash values" in the Cognito
developer guide (SECRET_HASH). See ``reference/cognito-wire.md`` §2-§3 and §6.
"""

from __future__ import annotations

import ast
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Final

from pydantic import SecretStr, ValidationError

from ._wire_keys import MFA_CODE_KEYS, secret_hash
from .errors import ProtocolError
from .models import MfaType
from .totp import SoftwareTokenSecret

__all__ = [
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
    "answer_username",
    "associate_software_token",
    "mfa_code_responses",
    "mfa_setup_email_responses",
    "new_password_responses",
    "parse_associate_software_token",
    "parse_auth_response",
    "parse_code_delivery",
    "parse_mfa_list",
    "parse_new_password_required",
    "parse_password_verifier",
    "parse_software_token_secret",
    "parse_verify_software_token",
    "password_verifier_responses",
    "refresh_tokens",
    "respond_to_challenge",
    "secret_hash",
    "select_mfa_type_responses",
    "session_of",
    "start_password_auth",
    "start_srp_auth",
    "verify_software_token",
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
# Challenges the flow answers itself; the caller never sees them.
INTERNAL_CHALLENGES: Final = frozenset({"PASSWORD_VERIFIER"})

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
    """One operation to send. ``params`` can hold passwords and sessions: never in a repr."""

    operation: str
    params: Mapping[str, Any] = field(repr=False)


def _with_secret_hash(client: AppClient, username: str, params: dict[str, str]) -> dict[str, str]:
    if client.client_secret is not None:
        params["SECRET_HASH"] = secret_hash(
            username, client.client_id, client.client_secret.get_secret_value()
        )
    return params


def _initiate(
    client: AppClient,
    auth_flow: AuthFlowType,
    auth_parameters: dict[str, str],
    *,
    client_metadata: Mapping[str, str] | None,
    admin: bool,
) -> Call:
    params: dict[str, Any] = {
        "ClientId": client.client_id,
        "AuthFlow": auth_flow.value,
        "AuthParameters": auth_parameters,
    }
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
) -> Call:
    """InitiateAuth (or AdminInitiateAuth) USER_SRP_AUTH with SRP_A."""
    auth = _with_secret_hash(client, username, {"USERNAME": username, "SRP_A": srp_a_hex})
    return _initiate(
        client, AuthFlowType.USER_SRP_AUTH, auth, client_metadata=client_metadata, admin=admin
    )


def start_password_auth(
    client: AppClient,
    username: str,
    password: str,
    *,
    auth_flow: AuthFlowType,
    client_metadata: Mapping[str, str] | None = None,
) -> Call:
    """USER_PASSWORD_AUTH (InitiateAuth) or ADMIN_USER_PASSWORD_AUTH (AdminInitiateAuth)."""
    auth = _with_secret_hash(client, username, {"USERNAME": username, "PASSWORD": password})
    admin = auth_flow is AuthFlowType.ADMIN_USER_PASSWORD_AUTH
    return _initiate(client, auth_flow, auth, client_metadata=client_metadata, admin=admin)


def refresh_tokens(
    client: AppClient,
    refresh_token: str,
    *,
    username: str | None,
    client_metadata: Mapping[str, str] | None = None,
) -> Call:
    """InitiateAuth REFRESH_TOKEN_AUTH; SECRET_HASH (secret clients) is over ``username``."""
    auth: dict[str, str] = {"REFRESH_TOKEN": refresh_token}
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
    session: str | None,
    username: str,
    responses: Mapping[str, str],
    client_metadata: Mapping[str, str] | None = None,
    admin: bool = False,
) -> Call:
    """(Admin)RespondToAuthChallenge, with USERNAME and SECRET_HASH over that same name."""
    challenge_responses = _with_secret_hash(client, username, {"USERNAME": username, **responses})
    params: dict[str, Any] = {
        "ClientId": client.client_id,
        "ChallengeName": challenge_name,
        "ChallengeResponses": challenge_responses,
    }
    if session is not None:
        params["Session"] = session
    if client_metadata:
        params["ClientMetadata"] = dict(client_metadata)
    if admin:
        params["UserPoolId"] = client.pool_id
        return Call("AdminRespondToAuthChallenge", params)
    return Call("RespondToAuthChallenge", params)


def password_verifier_responses(
    *, secret_block: str, signature: str, timestamp: str
) -> dict[str, str]:
    """ChallengeResponses of PASSWORD_VERIFIER (besides USERNAME and SECRET_HASH)."""
    return {
        "PASSWORD_CLAIM_SECRET_BLOCK": secret_block,
        "PASSWORD_CLAIM_SIGNATURE": signature,
        "TIMESTAMP": timestamp,
    }


def mfa_code_responses(mfa_type: MfaType, code: str) -> dict[str, str]:
    """SMS_MFA_CODE, SOFTWARE_TOKEN_MFA_CODE or EMAIL_OTP_CODE."""
    return {_CODE_KEY[mfa_type]: code}


def select_mfa_type_responses(mfa_type: MfaType) -> dict[str, str]:
    """SELECT_MFA_TYPE's ANSWER: the wire name of the chosen factor."""
    return {"ANSWER": mfa_type.value}


def mfa_setup_email_responses(email: str) -> dict[str, str]:
    """MFA_SETUP answered with an email address (when MFAS_CAN_SETUP lists EMAIL_OTP)."""
    return {"EMAIL": email}


def new_password_responses(
    new_password: str, attributes: Mapping[str, str] | None = None
) -> dict[str, str]:
    """NEW_PASSWORD plus ``userAttributes.<name>`` for each attribute given."""
    responses = {"NEW_PASSWORD": new_password}
    for name, value in (attributes or {}).items():
        responses[_USER_ATTRIBUTE_PREFIX + name.removeprefix(_USER_ATTRIBUTE_PREFIX)] = value
    return responses


def associate_software_token(session: str) -> Call:
    """AssociateSoftwareToken during MFA_SETUP (Session, not AccessToken)."""
    return Call("AssociateSoftwareToken", {"Session": session})


def verify_software_token(session: str, code: str, friendly_device_name: str | None) -> Call:
    """VerifySoftwareToken during MFA_SETUP, with the Session AssociateSoftwareToken returned."""
    params: dict[str, Any] = {"Session": session, "UserCode": code}
    if friendly_device_name:
        params["FriendlyDeviceName"] = friendly_device_name
    return Call("VerifySoftwareToken", params)


# --- responses ------------------------------------------------------------------------------


@dataclass(frozen=True)
class TokensStep:
    """The sign-in finished: ``result`` is Cognito's ``AuthenticationResult``."""

    result: Mapping[str, Any] = field(repr=False)


@dataclass(frozen=True)
class ChallengeStep:
    """Cognito asks for a challenge. ``session`` is a bearer secret: not in the repr."""

    name: str
    session: str | None = field(repr=False)
    parameters: Mapping[str, str] = field(repr=False)


# Cognito's SessionType: 20 to 2048 characters. A Session outside that would only fail later,
# in botocore's validation of the request that sends it back.
SESSION_MIN_LENGTH: Final = 20
SESSION_MAX_LENGTH: Final = 2048


def session_of(response: Mapping[str, Any], operation: str) -> str | None:
    """The response's Session, checked against SessionType; None when there is none."""
    session = response.get("Session")
    if session is None:
        return None
    if not isinstance(session, str):
        raise ProtocolError(f"{operation}: Session is not a string")
    if not SESSION_MIN_LENGTH <= len(session) <= SESSION_MAX_LENGTH:
        # the length only: the value is a secret
        raise ProtocolError(
            f"{operation}: Session has {len(session)} characters, not "
            f"{SESSION_MIN_LENGTH} to {SESSION_MAX_LENGTH}"
        )
    return session


def parse_auth_response(response: Mapping[str, Any]) -> TokensStep | ChallengeStep:
    """Classify an (Admin)InitiateAuth / (Admin)RespondToAuthChallenge response."""
    result = response.get("AuthenticationResult")
    if isinstance(result, Mapping) and result:
        return TokensStep(result)
    name = response.get("ChallengeName")
    if not isinstance(name, str) or not name:
        raise ProtocolError("response has neither AuthenticationResult nor ChallengeName")
    if name in SUPPORTED_CHALLENGES or name in INTERNAL_CHALLENGES:
        session = session_of(response, name)
    else:
        # reported as UnsupportedChallenge whatever its Session; we never send that one back
        raw_session = response.get("Session")
        session = raw_session if isinstance(raw_session, str) else None
    raw = response.get("ChallengeParameters") or {}
    if not isinstance(raw, Mapping):
        raise ProtocolError("ChallengeParameters is not an object")
    parameters = {str(k): str(v) for k, v in raw.items() if v is not None}
    return ChallengeStep(name, session, parameters)


def answer_username(parameters: Mapping[str, str], fallback: str) -> str:
    """The USERNAME to send back: the challenge's USERNAME, else USER_ID_FOR_SRP, else ours.

    Cognito wants its internal name here, not the alias typed (wire ref §3). moto's server
    mode returns a UUID as USER_ID_FOR_SRP but expects the USERNAME parameter, so that wins.
    """
    return parameters.get("USERNAME") or parameters.get("USER_ID_FOR_SRP") or fallback


@dataclass(frozen=True)
class PasswordVerifierParameters:
    """What PASSWORD_VERIFIER carries. SRP values are secret-derived: not in the repr."""

    user_id_for_srp: str
    salt_hex: str = field(repr=False)
    srp_b_hex: str = field(repr=False)
    secret_block: str = field(repr=False)


def parse_password_verifier(parameters: Mapping[str, str]) -> PasswordVerifierParameters:
    """The SRP values of a PASSWORD_VERIFIER challenge (ProtocolError names a missing one)."""
    missing = [k for k in ("SALT", "SRP_B", "SECRET_BLOCK") if not parameters.get(k)]
    user_id = parameters.get("USER_ID_FOR_SRP") or parameters.get("USERNAME")
    if not user_id:
        missing.append("USER_ID_FOR_SRP")
    if missing:
        raise ProtocolError(f"PASSWORD_VERIFIER lacks {', '.join(missing)}")
    assert user_id is not None
    return PasswordVerifierParameters(
        user_id_for_srp=user_id,
        salt_hex=parameters["SALT"],
        srp_b_hex=parameters["SRP_B"],
        secret_block=parameters["SECRET_BLOCK"],
    )


def _parse_list(text: str, what: str) -> list[Any]:
    try:
        value = json.loads(text)
    except ValueError:
        # moto's server mode sends the Python repr ("['SOFTWARE_TOKEN_MFA']"), not JSON
        try:
            value = ast.literal_eval(text)
        except (ValueError, SyntaxError):
            raise ProtocolError(f"{what} is not a JSON list") from None
    if not isinstance(value, list | tuple):
        raise ProtocolError(f"{what} is not a JSON list")
    return list(value)


def parse_mfa_list(parameters: Mapping[str, str], key: str) -> tuple[MfaType, ...]:
    """MFAS_CAN_CHOOSE / MFAS_CAN_SETUP as factors; names this library cannot answer drop out."""
    text = parameters.get(key)
    if text is None:
        raise ProtocolError(f"challenge lacks {key}")
    known = {t.value: t for t in MfaType}
    found: list[MfaType] = []
    for item in _parse_list(text, key):
        mfa = known.get(str(item))
        if mfa is not None and mfa not in found:
            found.append(mfa)
    return tuple(found)


def parse_code_delivery(parameters: Mapping[str, str]) -> tuple[str | None, str | None]:
    """(CODE_DELIVERY_DESTINATION, CODE_DELIVERY_DELIVERY_MEDIUM), each None when absent."""
    return (
        parameters.get("CODE_DELIVERY_DESTINATION"),
        parameters.get("CODE_DELIVERY_DELIVERY_MEDIUM"),
    )


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
        try:
            value = json.loads(attributes_raw)
        except ValueError:
            raise ProtocolError("userAttributes is not a JSON object") from None
        if not isinstance(value, dict):
            raise ProtocolError("userAttributes is not a JSON object")
        attributes = {
            str(k).removeprefix(_USER_ATTRIBUTE_PREFIX): str(v)
            for k, v in value.items()
            if v is not None
        }
    return required, attributes


def parse_associate_software_token(response: Mapping[str, Any]) -> tuple[str, str | None]:
    """(SecretCode, Session) of AssociateSoftwareToken."""
    secret = response.get("SecretCode")
    if not isinstance(secret, str) or not secret:
        raise ProtocolError("AssociateSoftwareToken returned no SecretCode")
    return secret, session_of(response, "AssociateSoftwareToken")


def parse_software_token_secret(
    response: Mapping[str, Any],
) -> tuple[SoftwareTokenSecret, str | None]:
    """(the TOTP secret, Session) of AssociateSoftwareToken, the secret checked.

    Raises ProtocolError when SecretCode is missing or is not base32 (an authenticator app
    could not take it).
    """
    secret_code, session = parse_associate_software_token(response)
    try:
        secret = SoftwareTokenSecret(secret_code=SecretStr(secret_code))
    except ValidationError:
        raise ProtocolError("AssociateSoftwareToken SecretCode is not base32") from None
    return secret, session


def parse_verify_software_token(response: Mapping[str, Any]) -> tuple[bool, str | None]:
    """(Status == SUCCESS, Session) of VerifySoftwareToken."""
    session = session_of(response, "VerifySoftwareToken")
    return response.get("Status") == "SUCCESS", session
