"""Every answer the emulator gives, shaped as Cognito shapes it: one place for response shaping.

The operation families decide *what* happens; this module turns records into the response
structures of the botocore ``cognito-idp`` model (``UserPoolType``, ``UserPoolClientType``,
``AdminGetUserResponse``, ``AuthenticationResultType``, the challenge answer of InitiateAuth
and RespondToAuthChallenge) and turns a result or a :class:`CognitoError` into the HTTP answer
of the AWS JSON 1.1 protocol (``__type`` and ``message`` in the body, ``x-amzn-ErrorType`` and
``x-amzn-ErrorMessage`` headers).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Final

from ._model import AuthSession, Client, Device, Pool, User
from ._wire import CognitoError

__all__ = [
    "ACCOUNT_ID",
    "CONTENT_TYPE",
    "UNIT_SECONDS",
    "WireResponse",
    "admin_user_shape",
    "attribute_list",
    "authentication_result",
    "challenge",
    "client_description_shape",
    "client_shape",
    "device_shape",
    "error_response",
    "get_user_shape",
    "mfa_config_shape",
    "mfa_fields",
    "pool_description_shape",
    "pool_shape",
    "success_response",
    "user_shape",
]

CONTENT_TYPE: Final = "application/x-amz-json-1.1"
ACCOUNT_ID: Final = "123456789012"
UNIT_SECONDS: Final = {"seconds": 1, "minutes": 60, "hours": 3600, "days": 86400}


@dataclass(frozen=True)
class WireResponse:
    """One HTTP answer: status, JSON body, headers, and how long the front must wait first."""

    status: int
    body: bytes = field(repr=False)  # carries tokens and sessions
    headers: dict[str, str]
    delay: float = 0.0


def success_response(result: dict[str, Any], request_id: str, delay: float) -> WireResponse:
    return WireResponse(
        status=200,
        body=json.dumps(result).encode(),
        headers={"Content-Type": CONTENT_TYPE, "x-amzn-RequestId": request_id},
        delay=delay,
    )


def error_response(error: CognitoError, request_id: str, delay: float) -> WireResponse:
    body = json.dumps({"__type": error.code, "message": error.message}).encode()
    headers = {
        "Content-Type": CONTENT_TYPE,
        "x-amzn-RequestId": request_id,
        "x-amzn-ErrorType": f"{error.code}:",
        "x-amzn-ErrorMessage": error.message,
    }
    return WireResponse(status=error.status, body=body, headers=headers, delay=delay)


# --- sign-in ------------------------------------------------------------------------------------


def challenge(session: AuthSession, parameters: dict[str, str]) -> dict[str, Any]:
    return {
        "ChallengeName": session.challenge,
        "Session": session.token,
        "ChallengeParameters": parameters,
    }


def authentication_result(
    access: str, id_token: str, expires_in: int, refresh: str | None
) -> dict[str, Any]:
    result: dict[str, Any] = {
        "AccessToken": access,
        "ExpiresIn": expires_in,
        "TokenType": "Bearer",
        "IdToken": id_token,
    }
    if refresh is not None:
        result["RefreshToken"] = refresh
    return result


# --- devices ------------------------------------------------------------------------------------


def device_shape(device: Device) -> dict[str, Any]:
    """``DeviceType``: the key, its attributes and its three dates."""
    attributes = [{"Name": "device_status", "Value": "valid"}]
    if device.name is not None:
        attributes.append({"Name": "device_name", "Value": device.name})
    remembered = "remembered" if device.remembered else "not_remembered"
    attributes.append({"Name": "dev:device_remembered_status", "Value": remembered})
    return {
        "DeviceKey": device.key,
        "DeviceAttributes": attributes,
        "DeviceCreateDate": device.created,
        "DeviceLastModifiedDate": device.modified,
        "DeviceLastAuthenticatedDate": device.last_authenticated,
    }


# --- users --------------------------------------------------------------------------------------


def attribute_list(user: User) -> list[dict[str, str]]:
    listed = [{"Name": "sub", "Value": user.sub}]
    listed.extend(
        {"Name": name, "Value": value} for name, value in user.attributes.items() if name != "sub"
    )
    return listed


def mfa_fields(user: User) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if user.sms_enabled:
        out["MFAOptions"] = [{"DeliveryMedium": "SMS", "AttributeName": "phone_number"}]
    if user.preferred is not None:
        out["PreferredMfaSetting"] = user.preferred
    factors = user.enabled_factors()
    if factors:
        # omitted, not empty, when nothing is enabled
        out["UserMFASettingList"] = factors
    return out


def get_user_shape(user: User) -> dict[str, Any]:
    """GetUser's answer."""
    return {"Username": user.username, "UserAttributes": attribute_list(user), **mfa_fields(user)}


def admin_user_shape(user: User) -> dict[str, Any]:
    """AdminGetUser's answer."""
    return {
        "Username": user.username,
        "UserAttributes": attribute_list(user),
        "UserCreateDate": user.created,
        "UserLastModifiedDate": user.modified,
        "Enabled": user.enabled,
        "UserStatus": user.status,
        **mfa_fields(user),
    }


def user_shape(user: User) -> dict[str, Any]:
    """``UserType`` (AdminCreateUser's ``User``)."""
    shape: dict[str, Any] = {
        "Username": user.username,
        "Attributes": attribute_list(user),
        "UserCreateDate": user.created,
        "UserLastModifiedDate": user.modified,
        "Enabled": user.enabled,
        "UserStatus": user.status,
    }
    if user.sms_enabled:
        shape["MFAOptions"] = mfa_fields(user)["MFAOptions"]
    return shape


# --- pools and clients --------------------------------------------------------------------------


def pool_shape(pool: Pool, region: str) -> dict[str, Any]:
    shape: dict[str, Any] = {
        "Id": pool.id,
        "Name": pool.name,
        "Arn": f"arn:aws:cognito-idp:{region}:{ACCOUNT_ID}:userpool/{pool.id}",
        "Policies": {"PasswordPolicy": pool.policy.to_wire()},
        "MfaConfiguration": pool.mfa,
        "CreationDate": pool.created,
        "LastModifiedDate": pool.modified,
        "EstimatedNumberOfUsers": len(pool.users),
        "AutoVerifiedAttributes": list(pool.auto_verified),
    }
    if pool.username_attributes:
        shape["UsernameAttributes"] = list(pool.username_attributes)
    if pool.alias_attributes:
        shape["AliasAttributes"] = list(pool.alias_attributes)
    if pool.sms_message:
        shape["SmsAuthenticationMessage"] = pool.sms_message
    if pool.device_configuration is not None:
        shape["DeviceConfiguration"] = dict(pool.device_configuration)
    if pool.case_sensitive is not None:
        # only when CreateUserPool was given it (assumed: Cognito omits it otherwise)
        shape["UsernameConfiguration"] = {"CaseSensitive": pool.case_sensitive}
    return shape


def pool_description_shape(pool: Pool) -> dict[str, Any]:
    """``UserPoolDescriptionType``, one entry of ListUserPools (no Lambda triggers emulated)."""
    return {
        "Id": pool.id,
        "Name": pool.name,
        "LambdaConfig": {},
        "LastModifiedDate": pool.modified,
        "CreationDate": pool.created,
    }


def client_description_shape(client: Client) -> dict[str, Any]:
    """``UserPoolClientDescription``, one entry of ListUserPoolClients."""
    return {"ClientId": client.id, "UserPoolId": client.pool_id, "ClientName": client.name}


def client_shape(client: Client) -> dict[str, Any]:
    shape: dict[str, Any] = {
        "UserPoolId": client.pool_id,
        "ClientName": client.name,
        "ClientId": client.id,
        "LastModifiedDate": client.modified,
        "CreationDate": client.created,
        "AuthSessionValidity": client.session_validity_minutes,
        "AccessTokenValidity": client.access_validity_seconds
        // UNIT_SECONDS[client.token_units["AccessToken"]],
        "IdTokenValidity": client.id_validity_seconds
        // UNIT_SECONDS[client.token_units["IdToken"]],
        "RefreshTokenValidity": client.refresh_validity_seconds
        // UNIT_SECONDS[client.token_units["RefreshToken"]],
        "TokenValidityUnits": dict(client.token_units),
        "EnableTokenRevocation": client.token_revocation,
        "RefreshTokenRotation": {
            "Feature": "ENABLED" if client.rotation else "DISABLED",
            "RetryGracePeriodSeconds": client.rotation_grace_seconds,
        },
    }
    if client.secret is not None:
        shape["ClientSecret"] = client.secret
    if client.explicit_flows_given:
        shape["ExplicitAuthFlows"] = list(client.flows)
    return shape


def mfa_config_shape(pool: Pool) -> dict[str, Any]:
    shape: dict[str, Any] = {
        "SoftwareTokenMfaConfiguration": {"Enabled": pool.totp_mfa},
        "MfaConfiguration": pool.mfa,
    }
    if pool.sms_mfa:
        sms: dict[str, Any] = {}
        if pool.sms_message:
            sms["SmsAuthenticationMessage"] = pool.sms_message
        shape["SmsMfaConfiguration"] = sms
    if pool.email_mfa:
        email: dict[str, Any] = {}
        if pool.email_message:
            email["Message"] = pool.email_message
        if pool.email_subject:
            email["Subject"] = pool.email_subject
        shape["EmailMfaConfiguration"] = email
    return shape
