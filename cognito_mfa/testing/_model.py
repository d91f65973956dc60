"""The emulator's records: pools, app clients, users, auth sessions, refresh tokens.

Plain mutable dataclasses (the emulator owns them and the fronts serialise calls). Secret
fields (SRP verifiers, TOTP secrets, one-time codes, session strings, client secrets) are
``repr=False``. ``*_to_state`` / ``*_from_state`` convert to and from JSON-ready dicts for
:meth:`Emulator.to_state`; big integers are stored as hex.

Sources: the CreateUserPool / CreateUserPoolClient / AdminGetUser shapes of the botocore
``cognito-idp`` model; password-policy messages as Cognito words them ("Password did not
conform with policy: Password not long enough").
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Final

from ._tokens import SigningKey

__all__ = [
    "FACTORS",
    "AuthSession",
    "Client",
    "PasswordPolicy",
    "Pool",
    "RefreshRecord",
    "SrpState",
    "User",
    "client_from_state",
    "client_to_state",
    "pool_from_state",
    "pool_to_state",
    "refresh_from_state",
    "refresh_to_state",
]

# Cognito's order when it lists factors (MFAS_CAN_CHOOSE, UserMFASettingList)
FACTORS: Final = ("SMS_MFA", "SOFTWARE_TOKEN_MFA", "EMAIL_OTP")

DEFAULT_FLOWS: Final = ("ALLOW_REFRESH_TOKEN_AUTH", "ALLOW_USER_SRP_AUTH", "ALLOW_CUSTOM_AUTH")


@dataclass
class PasswordPolicy:
    minimum_length: int = 8
    require_uppercase: bool = True
    require_lowercase: bool = True
    require_numbers: bool = True
    require_symbols: bool = True
    temporary_password_validity_days: int = 7

    def problem(self, password: str) -> str | None:
        """Cognito's complaint about ``password``, or None when it conforms."""
        prefix = "Password did not conform with policy: "
        if len(password) < self.minimum_length:
            return prefix + "Password not long enough"
        if self.require_uppercase and not any(c.isupper() for c in password):
            return prefix + "Password must have uppercase characters"
        if self.require_lowercase and not any(c.islower() for c in password):
            return prefix + "Password must have lowercase characters"
        if self.require_numbers and not any(c.isdigit() for c in password):
            return prefix + "Password must have numeric characters"
        if self.require_symbols and all(c.isalnum() or c.isspace() for c in password):
            return prefix + "Password must have symbol characters"
        return None

    def to_wire(self) -> dict[str, Any]:
        return {
            "MinimumLength": self.minimum_length,
            "RequireUppercase": self.require_uppercase,
            "RequireLowercase": self.require_lowercase,
            "RequireNumbers": self.require_numbers,
            "RequireSymbols": self.require_symbols,
            "TemporaryPasswordValidityDays": self.temporary_password_validity_days,
        }

    @classmethod
    def from_wire(cls, data: dict[str, Any]) -> PasswordPolicy:
        base = cls()
        return cls(
            minimum_length=int(data.get("MinimumLength", base.minimum_length)),
            require_uppercase=bool(data.get("RequireUppercase", base.require_uppercase)),
            require_lowercase=bool(data.get("RequireLowercase", base.require_lowercase)),
            require_numbers=bool(data.get("RequireNumbers", base.require_numbers)),
            require_symbols=bool(data.get("RequireSymbols", base.require_symbols)),
            temporary_password_validity_days=int(
                data.get("TemporaryPasswordValidityDays", base.temporary_password_validity_days)
            ),
        )


@dataclass
class User:
    username: str  # the internal name: USER_ID_FOR_SRP
    sub: str
    attributes: dict[str, str]
    status: str  # FORCE_CHANGE_PASSWORD | CONFIRMED
    created: float
    modified: float
    enabled: bool = True
    salt: int = field(default=0, repr=False)
    verifier: int = field(default=0, repr=False)
    sms_enabled: bool = False
    totp_enabled: bool = False
    email_enabled: bool = False
    preferred: str | None = None
    totp_secret: str | None = field(default=None, repr=False)
    totp_pending: str | None = field(default=None, repr=False)
    totp_friendly_name: str | None = None
    # the last TOTP time step accepted, so a code is not accepted twice (RFC 6238 §5.2)
    totp_last_step: int = -1
    # wrong MFA codes across sessions (§7.2 lockout): how many, the last one, locked until
    mfa_failures: int = 0
    mfa_last_failure: float = 0.0
    mfa_locked_until: float = 0.0
    # origin_jti -> revoked? (one per sign-in: its refresh token and access tokens)
    origins: dict[str, bool] = field(default_factory=dict)

    def enabled_factors(self) -> list[str]:
        flags = {
            "SMS_MFA": self.sms_enabled,
            "SOFTWARE_TOKEN_MFA": self.totp_enabled,
            "EMAIL_OTP": self.email_enabled,
        }
        return [name for name in FACTORS if flags[name]]


@dataclass
class Client:
    id: str
    pool_id: str
    name: str
    secret: str | None = field(default=None, repr=False)
    flows: list[str] = field(default_factory=lambda: list(DEFAULT_FLOWS))
    explicit_flows_given: bool = False
    session_validity_minutes: int = 3
    access_validity_seconds: int = 3600
    id_validity_seconds: int = 3600
    refresh_validity_seconds: int = 30 * 86400
    token_units: dict[str, str] = field(
        default_factory=lambda: {"AccessToken": "hours", "IdToken": "hours", "RefreshToken": "days"}
    )
    created: float = 0.0
    modified: float = 0.0

    def allows(self, flow: str) -> bool:
        """Whether ExplicitAuthFlows lets this client start ``flow``."""
        legacy = {
            "USER_PASSWORD_AUTH": "USER_PASSWORD_AUTH",
            "ADMIN_USER_PASSWORD_AUTH": "ADMIN_NO_SRP_AUTH",
            "ADMIN_NO_SRP_AUTH": "ADMIN_NO_SRP_AUTH",
        }
        allow = "ALLOW_ADMIN_USER_PASSWORD_AUTH" if flow == "ADMIN_NO_SRP_AUTH" else f"ALLOW_{flow}"
        if allow in self.flows:
            return True
        if flow == "USER_SRP_AUTH" and not any(f.startswith("ALLOW_") for f in self.flows):
            # the legacy values only added flows to SRP, unless "custom only" was chosen
            return "CUSTOM_AUTH_FLOW_ONLY" not in self.flows
        return flow in legacy and legacy[flow] in self.flows


@dataclass
class Pool:
    id: str
    name: str
    created: float
    modified: float
    key: SigningKey
    mfa: str = "OFF"
    sms_mfa: bool = False
    sms_message: str | None = None
    totp_mfa: bool = False
    email_mfa: bool = False
    email_message: str | None = None
    email_subject: str | None = None
    policy: PasswordPolicy = field(default_factory=PasswordPolicy)
    username_attributes: list[str] = field(default_factory=list)
    alias_attributes: list[str] = field(default_factory=list)
    auto_verified: list[str] = field(default_factory=list)
    required_attributes: list[str] = field(default_factory=list)
    users: dict[str, User] = field(default_factory=dict)
    clients: dict[str, Client] = field(default_factory=dict)

    @property
    def pool_name(self) -> str:
        return self.id.partition("_")[2]

    def find_user(self, name: str, *, aliases: bool = True) -> User | None:
        """Look a user up by internal username, or (``aliases``) by email/phone sign-in name."""
        user = self.users.get(name)
        if user is not None or not aliases:
            return user
        for attribute in ("email", "phone_number"):
            if attribute in self.username_attributes:
                for candidate in self.users.values():
                    if candidate.attributes.get(attribute) == name:
                        return candidate
            elif attribute in self.alias_attributes:
                # an alias signs in only once verified (developer guide, "User pool attributes")
                for candidate in self.users.values():
                    if (
                        candidate.attributes.get(attribute) == name
                        and candidate.attributes.get(f"{attribute}_verified") == "true"
                    ):
                        return candidate
        return None


@dataclass
class SrpState:
    b: int = field(repr=False)
    big_b: int = field(repr=False)
    secret_block: str = field(repr=False)
    srp_a: str = field(repr=False)


@dataclass
class AuthSession:
    """Server-side state behind one opaque Session string (one challenge step)."""

    token: str = field(repr=False)
    pool_id: str
    client_id: str
    username: str
    challenge: str
    created: float
    expires: float
    admin: bool = False
    used: bool = False
    dead: bool = False  # too many wrong codes
    attempts: int = 0
    code: str | None = field(default=None, repr=False)
    srp: SrpState | None = None
    options: list[str] = field(default_factory=list)  # MFAS_CAN_CHOOSE / MFAS_CAN_SETUP
    setup_state: str = ""  # MFA_SETUP: "", "associated", "verified"
    pending_email: str | None = None  # MFA_SETUP answered with EMAIL


@dataclass
class RefreshRecord:
    pool_id: str
    client_id: str
    username: str
    origin_jti: str
    expires: float
    auth_time: int


# --- state conversion -------------------------------------------------------------------------


def _user_to_state(user: User) -> dict[str, Any]:
    return {
        "username": user.username,
        "sub": user.sub,
        "attributes": dict(user.attributes),
        "status": user.status,
        "created": user.created,
        "modified": user.modified,
        "enabled": user.enabled,
        "salt": format(user.salt, "x"),
        "verifier": format(user.verifier, "x"),
        "sms_enabled": user.sms_enabled,
        "totp_enabled": user.totp_enabled,
        "email_enabled": user.email_enabled,
        "preferred": user.preferred,
        "totp_secret": user.totp_secret,
        "totp_pending": user.totp_pending,
        "totp_friendly_name": user.totp_friendly_name,
        "totp_last_step": user.totp_last_step,
        "mfa_failures": user.mfa_failures,
        "mfa_last_failure": user.mfa_last_failure,
        "mfa_locked_until": user.mfa_locked_until,
        "origins": dict(user.origins),
    }


def _user_from_state(data: dict[str, Any]) -> User:
    return User(
        username=data["username"],
        sub=data["sub"],
        attributes=dict(data["attributes"]),
        status=data["status"],
        created=float(data["created"]),
        modified=float(data["modified"]),
        enabled=bool(data["enabled"]),
        salt=int(data["salt"], 16),
        verifier=int(data["verifier"], 16),
        sms_enabled=bool(data["sms_enabled"]),
        totp_enabled=bool(data["totp_enabled"]),
        email_enabled=bool(data["email_enabled"]),
        preferred=data.get("preferred"),
        totp_secret=data.get("totp_secret"),
        totp_pending=data.get("totp_pending"),
        totp_friendly_name=data.get("totp_friendly_name"),
        totp_last_step=int(data.get("totp_last_step", -1)),
        mfa_failures=int(data.get("mfa_failures", 0)),
        mfa_last_failure=float(data.get("mfa_last_failure", 0.0)),
        mfa_locked_until=float(data.get("mfa_locked_until", 0.0)),
        origins={str(k): bool(v) for k, v in data.get("origins", {}).items()},
    )


def client_to_state(client: Client) -> dict[str, Any]:
    return {
        "id": client.id,
        "pool_id": client.pool_id,
        "name": client.name,
        "secret": client.secret,
        "flows": list(client.flows),
        "explicit_flows_given": client.explicit_flows_given,
        "session_validity_minutes": client.session_validity_minutes,
        "access_validity_seconds": client.access_validity_seconds,
        "id_validity_seconds": client.id_validity_seconds,
        "refresh_validity_seconds": client.refresh_validity_seconds,
        "token_units": dict(client.token_units),
        "created": client.created,
        "modified": client.modified,
    }


def client_from_state(data: dict[str, Any]) -> Client:
    return Client(
        id=data["id"],
        pool_id=data["pool_id"],
        name=data["name"],
        secret=data.get("secret"),
        flows=list(data["flows"]),
        explicit_flows_given=bool(data.get("explicit_flows_given", False)),
        session_validity_minutes=int(data["session_validity_minutes"]),
        access_validity_seconds=int(data["access_validity_seconds"]),
        id_validity_seconds=int(data["id_validity_seconds"]),
        refresh_validity_seconds=int(data["refresh_validity_seconds"]),
        token_units=dict(data.get("token_units", {})),
        created=float(data["created"]),
        modified=float(data["modified"]),
    )


def pool_to_state(pool: Pool) -> dict[str, Any]:
    return {
        "id": pool.id,
        "name": pool.name,
        "created": pool.created,
        "modified": pool.modified,
        "kid": pool.key.kid,
        # made at first use (a token or the JWKS); until then nothing depends on it
        "key_pem": pool.key.pem,
        "retired_keys": [{"kid": old.kid, "key_pem": old.pem} for old in pool.key.retired],
        "mfa": pool.mfa,
        "sms_mfa": pool.sms_mfa,
        "sms_message": pool.sms_message,
        "totp_mfa": pool.totp_mfa,
        "email_mfa": pool.email_mfa,
        "email_message": pool.email_message,
        "email_subject": pool.email_subject,
        "policy": pool.policy.to_wire(),
        "username_attributes": list(pool.username_attributes),
        "alias_attributes": list(pool.alias_attributes),
        "auto_verified": list(pool.auto_verified),
        "required_attributes": list(pool.required_attributes),
        "users": [_user_to_state(user) for user in pool.users.values()],
        "clients": [client_to_state(client) for client in pool.clients.values()],
    }


def pool_from_state(data: dict[str, Any]) -> Pool:
    pool = Pool(
        id=data["id"],
        name=data["name"],
        created=float(data["created"]),
        modified=float(data["modified"]),
        key=SigningKey(
            kid=data["kid"],
            pem=data["key_pem"],
            retired=[
                SigningKey(kid=k["kid"], pem=k["key_pem"]) for k in data.get("retired_keys", [])
            ],
        ),
        mfa=data["mfa"],
        sms_mfa=bool(data["sms_mfa"]),
        sms_message=data.get("sms_message"),
        totp_mfa=bool(data["totp_mfa"]),
        email_mfa=bool(data["email_mfa"]),
        email_message=data.get("email_message"),
        email_subject=data.get("email_subject"),
        policy=PasswordPolicy.from_wire(data["policy"]),
        username_attributes=list(data["username_attributes"]),
        alias_attributes=list(data["alias_attributes"]),
        auto_verified=list(data["auto_verified"]),
        required_attributes=list(data["required_attributes"]),
    )
    for user_data in data["users"]:
        user = _user_from_state(user_data)
        pool.users[user.username] = user
    for client_data in data["clients"]:
        client = client_from_state(client_data)
        pool.clients[client.id] = client
    return pool


def refresh_to_state(key: str, record: RefreshRecord) -> dict[str, Any]:
    return {
        "key": key,
        "pool_id": record.pool_id,
        "client_id": record.client_id,
        "username": record.username,
        "origin_jti": record.origin_jti,
        "expires": record.expires,
        "auth_time": record.auth_time,
    }


def refresh_from_state(data: dict[str, Any]) -> tuple[str, RefreshRecord]:
    return data["key"], RefreshRecord(
        pool_id=data["pool_id"],
        client_id=data["client_id"],
        username=data["username"],
        origin_jti=data["origin_jti"],
        expires=float(data["expires"]),
        auth_time=int(data["auth_time"]),
    )
