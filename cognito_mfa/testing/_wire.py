"""The AWS JSON 1.1 wire layer of the emulator: request shapes, decoding, validation, errors.

Source: the botocore ``cognito-idp`` 2016-04-18 service model (member names, required members,
length/enum/range constraints) and the AWS JSON 1.1 protocol as Cognito speaks it
(``docs/protocol.md`` §1-§2). Validation failures read like AWS's own
("1 validation error detected: Value at 'clientId' failed to satisfy constraint: Member must not
be null"); member values are never echoed, because many members are secrets (AWS omits the
value of sensitive members the same way).

Decoding is the only place that looks at raw JSON. A JSON type that does not match the model
is a ``SerializationException`` (what AWS's JSON deserializer answers, e.g. "Start of structure
or map found where not expected."), a value that breaks a constraint is an
``InvalidParameterException``. JSON ``null`` counts as absent, for members
and for map values alike (amazon-cognito-identity-js sends ``"DEVICE_KEY": null``).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any, Final, Literal

__all__ = [
    "SHAPES",
    "SIGNED_OPERATIONS",
    "CognitoError",
    "Member",
    "decode_body",
    "invalid",
    "validate",
]

Kind = Literal["string", "boolean", "integer", "map", "struct", "list", "string_list"]


class CognitoError(Exception):
    """A Cognito-shaped error: ``code`` is the wire ``__type``, ``message`` the wire message.

    Messages never contain secrets (codes, passwords, tokens, sessions): they are built from
    fixed texts and identifiers only.
    """

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message

    @property
    def status(self) -> int:
        # InternalErrorException is modelled as a server fault; everything else Cognito
        # answers with 400 (docs/protocol.md §1). MissingAuthenticationToken is AWS's common 403.
        if self.code == "InternalErrorException":
            return 500
        if self.code == "MissingAuthenticationTokenException":
            return 403
        return 400


def invalid(message: str) -> CognitoError:
    return CognitoError("InvalidParameterException", message)


@dataclass(frozen=True)
class Member:
    """One member of a request shape, with the model's constraints."""

    kind: Kind
    required: bool = False
    min_len: int | None = None
    max_len: int | None = None
    pattern: str | None = None
    enum: tuple[str, ...] | None = None
    min_value: int | None = None
    max_value: int | None = None
    # for "struct" and for "list" of structures
    members: dict[str, Member] = field(default_factory=dict)


# The JSON escape of a UTF-16 surrogate (\ud800-\udfff). A pair decodes to one character; a
# lone one decodes to a str that no UTF-8 text can hold.
_SURROGATE_ESCAPE: Final = re.compile(r"\\u[dD][89a-fA-F]")


def _unencodable(value: Any) -> bool:
    """Whether a decoded JSON value holds a string (key or value) that is not valid Unicode."""
    stack = [value]
    while stack:  # a loop, not recursion: json.loads accepts nesting deeper than our stack
        item = stack.pop()
        if isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                return True
        elif isinstance(item, dict):
            stack.extend(item)
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


def decode_body(body: bytes) -> dict[str, Any]:
    """Parse a request body into a JSON object, or raise SerializationException."""
    if not body.strip():
        # botocore always sends at least "{}"; an empty body is read as an empty structure
        return {}
    try:
        text = body.decode("utf-8")
        value = json.loads(text)
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise CognitoError("SerializationException", "Malformed request body") from None
    # a lone surrogate escape is not text: refused as malformed, before any handler sees it
    if _SURROGATE_ESCAPE.search(text) and _unencodable(value):
        raise CognitoError("SerializationException", "Malformed request body")
    if not isinstance(value, dict):
        raise CognitoError("SerializationException", "Request body must be a JSON object")
    return value


def _camel(name: str) -> str:
    # AWS names members in validation messages with a lower-case first letter
    return name[:1].lower() + name[1:]


def _check_type(kind: Kind, value: Any) -> None:
    ok: bool
    if kind == "string":
        ok = isinstance(value, str)
    elif kind == "boolean":
        ok = isinstance(value, bool)
    elif kind == "integer":
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif kind in ("map", "struct"):
        ok = isinstance(value, dict)
    else:
        ok = isinstance(value, list)
    if not ok:
        # AWS's JSON deserializer answers a type mismatch itself, before validation
        # (amazon-cognito-identity-js #485, amplify-js #5165); these are its texts
        if isinstance(value, dict):
            message = "Start of structure or map found where not expected."
        elif isinstance(value, list):
            message = "Start of list found where not expected"
        else:
            message = "Unexpected field type"
        raise CognitoError("SerializationException", message)


def _clean(members: dict[str, Member], raw: dict[str, Any], prefix: str) -> dict[str, Any]:
    """Drop nulls and unknown members, check JSON types (SerializationException)."""
    out: dict[str, Any] = {}
    for name, spec in members.items():
        value = raw.get(name)
        if value is None:
            continue
        path = prefix + _camel(name)
        _check_type(spec.kind, value)
        if spec.kind == "map":
            cleaned: dict[str, str] = {}
            for key, item in value.items():
                if item is None:
                    continue
                _check_type("string", item)
                cleaned[key] = item
            out[name] = cleaned
        elif spec.kind == "struct":
            out[name] = _clean(spec.members, value, path + ".")
        elif spec.kind == "list":
            items = []
            for index, item in enumerate(value):
                if item is None:
                    continue
                item_path = f"{path}.{index + 1}.member"
                _check_type("struct", item)
                items.append(_clean(spec.members, item, item_path + "."))
            out[name] = items
        elif spec.kind == "string_list":
            strings = []
            for item in value:
                if item is None:
                    continue
                _check_type("string", item)
                strings.append(item)
            out[name] = strings
        else:
            out[name] = value
    return out


def _constraint_errors(members: dict[str, Member], data: dict[str, Any], prefix: str) -> list[str]:
    errors: list[str] = []
    for name, spec in members.items():
        path = prefix + _camel(name)
        if name not in data:
            if spec.required:
                errors.append(
                    f"Value null at '{path}' failed to satisfy constraint: Member must not be null"
                )
            continue
        value = data[name]
        at = f"Value at '{path}' failed to satisfy constraint: "
        if spec.kind == "string":
            if spec.min_len is not None and len(value) < spec.min_len:
                errors.append(
                    at + f"Member must have length greater than or equal to {spec.min_len}"
                )
            if spec.max_len is not None and len(value) > spec.max_len:
                errors.append(at + f"Member must have length less than or equal to {spec.max_len}")
            if spec.enum is not None and value not in spec.enum:
                errors.append(at + f"Member must satisfy enum value set: [{', '.join(spec.enum)}]")
            if spec.pattern is not None and re.fullmatch(spec.pattern, value) is None:
                errors.append(
                    at + f"Member must satisfy regular expression pattern: {spec.pattern}"
                )
        elif spec.kind == "integer":
            if spec.min_value is not None and value < spec.min_value:
                errors.append(
                    at + f"Member must have value greater than or equal to {spec.min_value}"
                )
            if spec.max_value is not None and value > spec.max_value:
                errors.append(at + f"Member must have value less than or equal to {spec.max_value}")
        elif spec.kind == "struct":
            errors.extend(_constraint_errors(spec.members, value, path + "."))
        elif spec.kind == "list":
            for index, item in enumerate(value):
                errors.extend(_constraint_errors(spec.members, item, f"{path}.{index + 1}.member."))
        elif spec.kind == "string_list" and spec.enum is not None:
            for item in value:
                if item not in spec.enum:
                    errors.append(
                        at + "Member must satisfy constraint: "
                        f"[Member must satisfy enum value set: [{', '.join(spec.enum)}]]"
                    )
                    break
        elif spec.kind == "map":
            for key, item in value.items():
                if len(key) > 131072 or len(item) > 131072:
                    errors.append(at + "Map keys and values must have length <= 131072")
                    break
    return errors


def validate(members: dict[str, Member], raw: dict[str, Any]) -> dict[str, Any]:
    """Check a decoded body against a shape; return it without nulls and unknown members."""
    data = _clean(members, raw, "")
    errors = _constraint_errors(members, data, "")
    if errors:
        count = len(errors)
        noun = "validation error" if count == 1 else "validation errors"
        raise invalid(f"{count} {noun} detected: " + "; ".join(errors))
    return data


# --- request shapes (botocore cognito-idp model) -------------------------------------------------

_POOL_ID = Member("string", required=True, min_len=1, max_len=55, pattern=r"[\w-]+_[0-9a-zA-Z]+")
_CLIENT_ID = Member("string", required=True, min_len=1, max_len=128, pattern=r"[\w+]+")
_USERNAME = Member("string", required=True, min_len=1, max_len=128)
_SESSION = Member("string", min_len=20, max_len=2048)
_TOKEN_PATTERN = r"[A-Za-z0-9-_=.]+"
_ACCESS = Member("string", required=True, pattern=_TOKEN_PATTERN)
_MAP = Member("map")
_AUTH_FLOWS = (
    "USER_SRP_AUTH",
    "REFRESH_TOKEN_AUTH",
    "REFRESH_TOKEN",
    "CUSTOM_AUTH",
    "ADMIN_NO_SRP_AUTH",
    "USER_PASSWORD_AUTH",
    "ADMIN_USER_PASSWORD_AUTH",
    "USER_AUTH",
)
_CHALLENGES = (
    "SMS_MFA",
    "EMAIL_OTP",
    "SOFTWARE_TOKEN_MFA",
    "SELECT_MFA_TYPE",
    "MFA_SETUP",
    "PASSWORD_VERIFIER",
    "CUSTOM_CHALLENGE",
    "SELECT_CHALLENGE",
    "DEVICE_SRP_AUTH",
    "DEVICE_PASSWORD_VERIFIER",
    "ADMIN_NO_SRP_AUTH",
    "NEW_PASSWORD_REQUIRED",
    "SMS_OTP",
    "PASSWORD",
    "WEB_AUTHN",
    "PASSWORD_SRP",
)
_FLOW_NAMES = (
    "ADMIN_NO_SRP_AUTH",
    "CUSTOM_AUTH_FLOW_ONLY",
    "USER_PASSWORD_AUTH",
    "ALLOW_ADMIN_USER_PASSWORD_AUTH",
    "ALLOW_CUSTOM_AUTH",
    "ALLOW_USER_PASSWORD_AUTH",
    "ALLOW_USER_SRP_AUTH",
    "ALLOW_REFRESH_TOKEN_AUTH",
    "ALLOW_USER_AUTH",
)
_MFA_SETTINGS = Member(
    "struct", members={"Enabled": Member("boolean"), "PreferredMfa": Member("boolean")}
)
_ATTRIBUTES = Member(
    "list",
    members={
        "Name": Member("string", required=True, min_len=1, max_len=32),
        "Value": Member("string", max_len=2048),
    },
)
_MFA_OPTIONS = Member(
    "list",
    required=True,
    members={
        "DeliveryMedium": Member("string", enum=("SMS", "EMAIL")),
        "AttributeName": Member("string", min_len=1, max_len=32),
    },
)
_UNIT = Member("string", enum=("seconds", "minutes", "hours", "days"))
_CLIENT_SECRET = Member("string", min_len=1, max_len=64, pattern=r"[\w+]+")
_DEVICE_CONFIGURATION = Member(
    "struct",
    members={
        "ChallengeRequiredOnNewDevice": Member("boolean"),
        "DeviceOnlyRememberedOnUserPrompt": Member("boolean"),
    },
)
# UsernameConfigurationType: CaseSensitive is required (service model)
_USERNAME_CONFIGURATION = Member(
    "struct", members={"CaseSensitive": Member("boolean", required=True)}
)
_CLIENT_SETTINGS = {
    "ExplicitAuthFlows": Member("string_list", enum=_FLOW_NAMES),
    "AuthSessionValidity": Member("integer", min_value=3, max_value=15),
    "RefreshTokenValidity": Member("integer", min_value=0, max_value=315360000),
    "AccessTokenValidity": Member("integer", min_value=1, max_value=86400),
    "IdTokenValidity": Member("integer", min_value=1, max_value=86400),
    "TokenValidityUnits": Member(
        "struct", members={"AccessToken": _UNIT, "IdToken": _UNIT, "RefreshToken": _UNIT}
    ),
    "EnableTokenRevocation": Member("boolean"),
    "RefreshTokenRotation": Member(
        "struct",
        members={
            "Feature": Member("string", required=True, enum=("ENABLED", "DISABLED")),
            "RetryGracePeriodSeconds": Member("integer", min_value=0, max_value=60),
        },
    ),
}

_DEVICE_KEY = Member("string", required=True, min_len=1, max_len=55, pattern=r"[\w-]+_[0-9a-f-]+")
_REMEMBERED = Member("string", enum=("remembered", "not_remembered"))
_PAGE = {
    "Limit": Member("integer", min_value=0, max_value=60),
    "PaginationToken": Member("string", min_len=1, pattern=r"[\S]+"),
}
_ADMIN_USER = {"UserPoolId": _POOL_ID, "Username": _USERNAME}
_OPTIONAL_ACCESS = Member("string", pattern=_TOKEN_PATTERN)

_AUTH_START = {
    "AuthFlow": Member("string", required=True, enum=_AUTH_FLOWS),
    "ClientId": _CLIENT_ID,
    "AuthParameters": _MAP,
    "ClientMetadata": _MAP,
    "Session": _SESSION,
}
_AUTH_ANSWER = {
    "ClientId": _CLIENT_ID,
    "ChallengeName": Member("string", required=True, enum=_CHALLENGES),
    "Session": _SESSION,
    "ChallengeResponses": _MAP,
    "ClientMetadata": _MAP,
}
_PREFERENCES = {
    "SMSMfaSettings": _MFA_SETTINGS,
    "SoftwareTokenMfaSettings": _MFA_SETTINGS,
    "EmailMfaSettings": _MFA_SETTINGS,
    "WebAuthnMfaSettings": Member("struct", members={"Enabled": Member("boolean")}),
}

SHAPES: Final[dict[str, dict[str, Member]]] = {
    "InitiateAuth": _AUTH_START,
    "RespondToAuthChallenge": _AUTH_ANSWER,
    "AdminInitiateAuth": {"UserPoolId": _POOL_ID, **_AUTH_START},
    "AdminRespondToAuthChallenge": {"UserPoolId": _POOL_ID, **_AUTH_ANSWER},
    "AssociateSoftwareToken": {
        "AccessToken": Member("string", pattern=_TOKEN_PATTERN),
        "Session": _SESSION,
    },
    "VerifySoftwareToken": {
        "AccessToken": Member("string", pattern=_TOKEN_PATTERN),
        "Session": _SESSION,
        "UserCode": Member("string", required=True, min_len=6, max_len=6, pattern="[0-9]+"),
        "FriendlyDeviceName": Member("string"),
    },
    "SetUserMFAPreference": {**_PREFERENCES, "AccessToken": _ACCESS},
    "AdminSetUserMFAPreference": {**_PREFERENCES, "Username": _USERNAME, "UserPoolId": _POOL_ID},
    "SetUserSettings": {"AccessToken": _ACCESS, "MFAOptions": _MFA_OPTIONS},
    "AdminSetUserSettings": {
        "UserPoolId": _POOL_ID,
        "Username": _USERNAME,
        "MFAOptions": _MFA_OPTIONS,
    },
    "GetUser": {"AccessToken": _ACCESS},
    "GlobalSignOut": {"AccessToken": _ACCESS},
    "AdminGetUser": {"UserPoolId": _POOL_ID, "Username": _USERNAME},
    "AdminDeleteUser": {"UserPoolId": _POOL_ID, "Username": _USERNAME},
    "AdminCreateUser": {
        "UserPoolId": _POOL_ID,
        "Username": _USERNAME,
        "UserAttributes": _ATTRIBUTES,
        "ValidationData": _ATTRIBUTES,
        "TemporaryPassword": Member("string", max_len=256),
        "ForceAliasCreation": Member("boolean"),
        "MessageAction": Member("string", enum=("RESEND", "SUPPRESS")),
        "DesiredDeliveryMediums": Member("string_list", enum=("SMS", "EMAIL")),
        "ClientMetadata": _MAP,
    },
    "AdminSetUserPassword": {
        "UserPoolId": _POOL_ID,
        "Username": _USERNAME,
        "Password": Member("string", required=True, max_len=256),
        "Permanent": Member("boolean"),
    },
    "AdminUpdateUserAttributes": {
        "UserPoolId": _POOL_ID,
        "Username": _USERNAME,
        "UserAttributes": Member("list", required=True, members=_ATTRIBUTES.members),
        "ClientMetadata": _MAP,
    },
    "CreateUserPool": {
        "PoolName": Member("string", required=True, min_len=1, max_len=128),
        "Policies": Member(
            "struct",
            members={
                "PasswordPolicy": Member(
                    "struct",
                    members={
                        "MinimumLength": Member("integer", min_value=6, max_value=99),
                        "RequireUppercase": Member("boolean"),
                        "RequireLowercase": Member("boolean"),
                        "RequireNumbers": Member("boolean"),
                        "RequireSymbols": Member("boolean"),
                        "TemporaryPasswordValidityDays": Member(
                            "integer", min_value=0, max_value=365
                        ),
                    },
                )
            },
        ),
        "MfaConfiguration": Member("string", enum=("OFF", "ON", "OPTIONAL")),
        "UsernameAttributes": Member("string_list", enum=("phone_number", "email")),
        "AliasAttributes": Member(
            "string_list", enum=("phone_number", "email", "preferred_username")
        ),
        "AutoVerifiedAttributes": Member("string_list", enum=("phone_number", "email")),
        "Schema": Member(
            "list",
            members={
                "Name": Member("string", min_len=1, max_len=20),
                "Required": Member("boolean"),
            },
        ),
        "SmsAuthenticationMessage": Member("string", min_len=6, max_len=140),
        "SmsConfiguration": Member("struct"),
        "EmailConfiguration": Member("struct"),
        "DeviceConfiguration": _DEVICE_CONFIGURATION,
        "UsernameConfiguration": _USERNAME_CONFIGURATION,
        "UserPoolTags": _MAP,
    },
    "UpdateUserPool": {
        "UserPoolId": _POOL_ID,
        "Policies": Member(
            "struct",
            members={
                "PasswordPolicy": Member(
                    "struct",
                    members={
                        "MinimumLength": Member("integer", min_value=6, max_value=99),
                        "RequireUppercase": Member("boolean"),
                        "RequireLowercase": Member("boolean"),
                        "RequireNumbers": Member("boolean"),
                        "RequireSymbols": Member("boolean"),
                        "TemporaryPasswordValidityDays": Member(
                            "integer", min_value=0, max_value=365
                        ),
                    },
                )
            },
        ),
        "MfaConfiguration": Member("string", enum=("OFF", "ON", "OPTIONAL")),
        "DeviceConfiguration": _DEVICE_CONFIGURATION,
        # not a member of UpdateUserPool: kept only so that the handler can refuse it
        "UsernameConfiguration": _USERNAME_CONFIGURATION,
    },
    "DescribeUserPool": {"UserPoolId": _POOL_ID},
    "ListUserPools": {
        "NextToken": Member("string", min_len=1, pattern=r"[\S]+"),
        "MaxResults": Member("integer", required=True, min_value=1, max_value=60),
    },
    "ListUserPoolClients": {
        "UserPoolId": _POOL_ID,
        "MaxResults": Member("integer", min_value=1, max_value=60),
        "NextToken": Member("string", min_len=1, max_len=131072, pattern=r"[\S]+"),
    },
    "DeleteUserPool": {"UserPoolId": _POOL_ID},
    "CreateUserPoolClient": {
        "UserPoolId": _POOL_ID,
        "ClientName": Member("string", required=True, min_len=1, max_len=128),
        "GenerateSecret": Member("boolean"),
        **_CLIENT_SETTINGS,
    },
    "UpdateUserPoolClient": {
        "UserPoolId": _POOL_ID,
        "ClientId": _CLIENT_ID,
        "ClientName": Member("string", min_len=1, max_len=128),
        **_CLIENT_SETTINGS,
    },
    "DescribeUserPoolClient": {"UserPoolId": _POOL_ID, "ClientId": _CLIENT_ID},
    "SetUserPoolMfaConfig": {
        "UserPoolId": _POOL_ID,
        "SmsMfaConfiguration": Member(
            "struct",
            members={
                "SmsAuthenticationMessage": Member("string", min_len=6, max_len=140),
                "SmsConfiguration": Member("struct"),
            },
        ),
        "SoftwareTokenMfaConfiguration": Member("struct", members={"Enabled": Member("boolean")}),
        "EmailMfaConfiguration": Member(
            "struct",
            members={
                "Message": Member("string", min_len=6, max_len=20000),
                "Subject": Member("string", min_len=1, max_len=140),
            },
        ),
        "MfaConfiguration": Member("string", enum=("OFF", "ON", "OPTIONAL")),
    },
    "GetUserPoolMfaConfig": {"UserPoolId": _POOL_ID},
    "RevokeToken": {
        "Token": Member("string", required=True, pattern=_TOKEN_PATTERN),
        "ClientId": _CLIENT_ID,
        "ClientSecret": _CLIENT_SECRET,
    },
    "GetTokensFromRefreshToken": {
        "RefreshToken": Member("string", required=True, pattern=_TOKEN_PATTERN),
        "ClientId": _CLIENT_ID,
        "ClientSecret": _CLIENT_SECRET,
        "DeviceKey": Member("string", min_len=1, max_len=55, pattern=r"[\w-]+_[0-9a-f-]+"),
        "ClientMetadata": _MAP,
    },
    "ConfirmDevice": {
        "AccessToken": _ACCESS,
        "DeviceKey": _DEVICE_KEY,
        "DeviceSecretVerifierConfig": Member(
            "struct",
            members={
                "PasswordVerifier": Member("string", max_len=131072),
                "Salt": Member("string", max_len=131072),
            },
        ),
        "DeviceName": Member("string", min_len=1, max_len=1024),
    },
    "UpdateDeviceStatus": {
        "AccessToken": _ACCESS,
        "DeviceKey": _DEVICE_KEY,
        "DeviceRememberedStatus": _REMEMBERED,
    },
    "ListDevices": {"AccessToken": _ACCESS, **_PAGE},
    "GetDevice": {"DeviceKey": _DEVICE_KEY, "AccessToken": _OPTIONAL_ACCESS},
    "ForgetDevice": {"AccessToken": _OPTIONAL_ACCESS, "DeviceKey": _DEVICE_KEY},
    "AdminListDevices": {**_ADMIN_USER, **_PAGE},
    "AdminGetDevice": {"DeviceKey": _DEVICE_KEY, **_ADMIN_USER},
    "AdminForgetDevice": {**_ADMIN_USER, "DeviceKey": _DEVICE_KEY},
    "AdminUpdateDeviceStatus": {
        **_ADMIN_USER,
        "DeviceKey": _DEVICE_KEY,
        "DeviceRememberedStatus": _REMEMBERED,
    },
}

# Operations that need SigV4 (the model's non-"noAuth" operations among those served here).
SIGNED_OPERATIONS: Final = frozenset(
    name
    for name in SHAPES
    if name.startswith("Admin")
    or name
    in {
        "CreateUserPool",
        "UpdateUserPool",
        "DescribeUserPool",
        "DeleteUserPool",
        "ListUserPools",
        "CreateUserPoolClient",
        "UpdateUserPoolClient",
        "DescribeUserPoolClient",
        "ListUserPoolClients",
        "SetUserPoolMfaConfig",
        "GetUserPoolMfaConfig",
    }
)
