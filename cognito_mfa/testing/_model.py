"""The emulator's records: pools, app clients, users, auth sessions, refresh tokens, sign-ins.

Plain mutable dataclasses (the emulator owns them and the fronts serialise calls). Secret
fields (SRP verifiers, TOTP secrets, one-time codes, session strings, client secrets) are
``repr=False``. They are stored by the one generic converter of :mod:`._records` (field
metadata says what is stored as hex, what is never stored); nothing here converts by hand.

Sources: the CreateUserPool / CreateUserPoolClient / AdminGetUser shapes of the botocore
``cognito-idp`` model; password-policy messages as Cognito words them ("Password did not
conform with policy: Password not long enough"); sign-in names from "User pool attributes" in
the developer guide (aliases) and the API reference's UsernameConfigurationType (a pool with
``CaseSensitive: false`` matches the username and the email and preferred_username sign-in
names in any case).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any, Final, Literal

from ._jwt import SigningKey
from ._records import HEX, TRANSIENT, keyed_by

__all__ = [
    "CASELESS_ATTRIBUTES",
    "FACTORS",
    "VERIFIED_ALIASES",
    "AuthSession",
    "Client",
    "Device",
    "Lockout",
    "Origin",
    "PasswordPolicy",
    "Pool",
    "RefreshRecord",
    "SentMessage",
    "SrpState",
    "User",
    "fold",
]

# Cognito's order when it lists factors (MFAS_CAN_CHOOSE, UserMFASettingList)
FACTORS: Final = ("SMS_MFA", "SOFTWARE_TOKEN_MFA", "EMAIL_OTP")

DEFAULT_FLOWS: Final = ("ALLOW_REFRESH_TOKEN_AUTH", "ALLOW_USER_SRP_AUTH", "ALLOW_CUSTOM_AUTH")

# the sign-in attributes a case-insensitive pool compares in any case (UsernameConfigurationType);
# a phone number has no case
CASELESS_ATTRIBUTES: Final = frozenset({"email", "preferred_username"})

# the alias attributes that sign in only once verified; a preferred_username alias needs no
# verification (developer guide, "User pool attributes", aliases)
VERIFIED_ALIASES: Final = frozenset({"email", "phone_number"})

# the sign-in names an attribute can stand for, in the order they are tried after the username
_SIGN_IN_ATTRIBUTES: Final = ("email", "phone_number", "preferred_username")


def fold(name: str) -> str:
    """The spelling a case-insensitive pool compares names by.

    Cognito does not document its folding; ``str.lower`` is assumed (unlike ``casefold`` it
    never merges two different spellings such as "ß" and "ss").
    """
    return name.lower()


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
class Lockout:
    """Failed attempts across sessions and the exponential lockout they earn.

    From the ``after``-th failure in a row the user is locked out for 2^(n-after) seconds after
    the n-th (at most ``cap``); ``reset`` seconds without a failure start the count afresh;
    attempts during a lockout are refused unchecked and do not extend it.
    """

    failures: int = 0
    last_failure: float = 0.0
    locked_until: float = 0.0

    def locked(self, now: float) -> bool:
        return now < self.locked_until

    def fail(self, now: float, *, after: int = 5, cap: float = 900.0, reset: float = 900.0) -> None:
        if now - self.last_failure >= reset:
            self.failures = 0
        self.failures += 1
        self.last_failure = now
        if self.failures >= after:
            exponent = min(self.failures - after, 10)  # 2^10 s is past the cap already
            self.locked_until = now + min(2.0**exponent, cap)

    def clear(self) -> None:
        self.failures = 0
        self.locked_until = 0.0


@dataclass
class Device:
    """One device of a user: tracked from the sign-in that named it, usable once confirmed.

    ``salt`` and ``verifier`` are the device's SRP secret (from ConfirmDevice's
    DeviceSecretVerifierConfig); they stand in for the device password, as a user's do.
    """

    key: str
    group_key: str
    created: float
    modified: float
    last_authenticated: float
    name: str | None = None
    confirmed: bool = False
    remembered: bool = False
    salt: int = field(default=0, repr=False, metadata=HEX)
    verifier: int = field(default=0, repr=False, metadata=HEX)


@dataclass
class User:
    username: str  # the internal name: USER_ID_FOR_SRP
    sub: str
    attributes: dict[str, str]
    status: str  # FORCE_CHANGE_PASSWORD | CONFIRMED
    created: float
    modified: float
    enabled: bool = True
    salt: int = field(default=0, repr=False, metadata=HEX)
    verifier: int = field(default=0, repr=False, metadata=HEX)
    sms_enabled: bool = False
    totp_enabled: bool = False
    email_enabled: bool = False
    preferred: str | None = None
    totp_secret: str | None = field(default=None, repr=False)
    totp_pending: str | None = field(default=None, repr=False)
    totp_friendly_name: str | None = None
    # the last TOTP time step accepted, so a code is not accepted twice (RFC 6238 §5.2)
    totp_last_step: int = -1
    # wrong MFA codes and wrong passwords across sessions: each earns its own lockout
    mfa_lockout: Lockout = field(default_factory=Lockout)
    password_lockout: Lockout = field(default_factory=Lockout)
    # remembered devices: one group key per user, then the devices by key
    device_group_key: str | None = None
    devices: dict[str, Device] = field(default_factory=dict, metadata=keyed_by("key"))

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
    # RevokeToken works only while this is on (EnableTokenRevocation, on by default)
    token_revocation: bool = True
    # RefreshTokenRotation: GetTokensFromRefreshToken returns a new refresh token and the old
    # one stops working after the grace period
    rotation: bool = False
    rotation_grace_seconds: int = 0

    @staticmethod
    def default_flows() -> list[str]:
        return list(DEFAULT_FLOWS)

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
    # DeviceConfiguration as given (None: device tracking is off)
    device_configuration: dict[str, bool] | None = None
    # UsernameConfiguration.CaseSensitive as given to CreateUserPool (None: not given, which
    # Cognito treats as true); it cannot change afterwards
    case_sensitive: bool | None = None
    # add and remove users with add_user / remove_user, which keep the index below in step
    users: dict[str, User] = field(default_factory=dict, metadata=keyed_by("username"))
    clients: dict[str, Client] = field(default_factory=dict, metadata=keyed_by("id"))
    # case-insensitive pools only: the users by folded username, so a lookup in any case costs
    # one dict access as an exact one does
    _folded: dict[str, User] = field(
        default_factory=dict, init=False, repr=False, compare=False, metadata=TRANSIENT
    )
    # sign-in attribute -> value (folded where the pool ignores case) -> username, built at the
    # first lookup by that attribute. Attributes change in place, so an entry is only a hint:
    # it is trusted after checking the user it names, and a miss still scans
    _by_value: dict[str, dict[str, str]] = field(
        default_factory=dict, init=False, repr=False, compare=False, metadata=TRANSIENT
    )

    def __post_init__(self) -> None:
        self.reindex()

    @property
    def pool_name(self) -> str:
        return self.id.partition("_")[2]

    @property
    def ignores_case(self) -> bool:
        """Whether names match in any case (``UsernameConfiguration: {CaseSensitive: false}``)."""
        return self.case_sensitive is False

    def add_user(self, user: User) -> None:
        """Store ``user`` (replacing a record of the same username)."""
        self.users[user.username] = user
        if self.ignores_case:
            self._folded[fold(user.username)] = user

    def remove_user(self, username: str) -> None:
        """Forget the user of that (internal) username, if there is one."""
        user = self.users.pop(username, None)
        if user is not None and self.ignores_case:
            self._folded.pop(fold(username), None)

    def reindex(self) -> None:
        """Rebuild the folded index from :attr:`users` (after the dict was replaced)."""
        self._folded = (
            {fold(name): user for name, user in self.users.items()} if self.ignores_case else {}
        )
        self._by_value = {}

    def same_name(self, given: str, username: str) -> bool:
        """Whether ``given`` names the user ``username`` (in any case, when the pool ignores it)."""
        if self.ignores_case:
            return fold(given) == fold(username)
        return given == username

    def same_value(self, attribute: str, given: str, stored: str) -> bool:
        """Whether two values of a sign-in attribute are the same sign-in name."""
        if self.ignores_case and attribute in CASELESS_ATTRIBUTES:
            return fold(given) == fold(stored)
        return given == stored

    def find_user(self, name: str, *, aliases: bool = True) -> User | None:
        """Look a user up by internal username, or (``aliases``) by a sign-in attribute.

        The sign-in attributes: email and phone_number as the username (UsernameAttributes),
        or email, phone_number and preferred_username as aliases (AliasAttributes). An email or
        phone alias signs in only once verified; preferred_username has no verification
        (developer guide, "User pool attributes").
        """
        # the field, not the property: this is every request's path, kept as cheap as before
        user = self.users.get(name) if self.case_sensitive is not False else self._by_folded(name)
        if user is not None or not aliases:
            return user
        for attribute in _SIGN_IN_ATTRIBUTES:
            if attribute in self.username_attributes:
                found = self._by_attribute(attribute, name, verified=False)
            elif attribute in self.alias_attributes:
                verified = attribute != "preferred_username"
                found = self._by_attribute(attribute, name, verified=verified)
            else:
                continue
            if found is not None:
                return found
        return None

    def aliases_taken(
        self,
        attributes: Mapping[str, str],
        *,
        exclude: str | None,
        only: Collection[str] | None = None,
    ) -> list[tuple[str, User]]:
        """The aliases ``attributes`` would make sign-in names that another user holds.

        For each AliasAttributes attribute (of ``only``, when given) whose value ``attributes``
        makes a sign-in name (email and phone_number once verified, preferred_username as it
        is): the pair (attribute, the other user who signs in with that value), in the pool's
        comparison (any case for email and preferred_username in a case-insensitive pool).
        ``exclude`` is the internal username of the user the attributes are for.
        """
        taken: list[tuple[str, User]] = []
        for attribute in self.alias_attributes:
            value = attributes.get(attribute)
            if not value or (only is not None and attribute not in only):
                continue
            verified = attribute in VERIFIED_ALIASES
            if verified and attributes.get(f"{attribute}_verified") != "true":
                continue
            holder = self._alias_holder(attribute, value, verified=verified, exclude=exclude)
            if holder is not None:
                taken.append((attribute, holder))
        return taken

    def _alias_holder(
        self, attribute: str, value: str, *, verified: bool, exclude: str | None
    ) -> User | None:
        found = self._by_attribute(attribute, value, verified=verified)
        if found is None or found.username != exclude:
            return found
        # the user itself holds the value: another holder only where duplicates were made
        # before the rule was kept (a state file of an older version, users changed directly)
        caseless = self.case_sensitive is False and attribute in CASELESS_ATTRIBUTES
        wanted = fold(value) if caseless else value
        for candidate in self.users.values():
            if candidate.username != exclude and _holds(
                candidate, attribute, wanted, caseless, verified
            ):
                return candidate
        return None

    def _by_attribute(self, attribute: str, name: str, *, verified: bool) -> User | None:
        """A user whose ``attribute`` is ``name`` (and, ``verified``, is verified)."""
        caseless = self.case_sensitive is False and attribute in CASELESS_ATTRIBUTES
        wanted = fold(name) if caseless else name
        index = self._by_value.get(attribute)
        if index is None:
            index = self._by_value[attribute] = {}
            for candidate in self.users.values():
                value = candidate.attributes.get(attribute)
                if value is not None:
                    index.setdefault(fold(value) if caseless else value, candidate.username)
        username = index.get(wanted)
        if username is not None:
            hinted = self.users.get(username)
            if hinted is not None and _holds(hinted, attribute, wanted, caseless, verified):
                return hinted
        # not indexed, or the entry is stale: the scan decides, and its find is noted
        found = self._scan(attribute, wanted, caseless, verified)
        if found is not None:
            index[wanted] = found.username
        return found

    def _scan(self, attribute: str, wanted: str, caseless: bool, verified: bool) -> User | None:
        flag = f"{attribute}_verified"
        # two loops, so that an exact pool's scan costs what it did before case was emulated
        if caseless:
            for candidate in self.users.values():
                value = candidate.attributes.get(attribute)
                if (
                    value is not None
                    and fold(value) == wanted
                    and (not verified or candidate.attributes.get(flag) == "true")
                ):
                    return candidate
            return None
        for candidate in self.users.values():
            if candidate.attributes.get(attribute) == wanted and (
                not verified or candidate.attributes.get(flag) == "true"
            ):
                return candidate
        return None

    def _by_folded(self, name: str) -> User | None:
        user = self._folded.get(fold(name))
        if user is not None and self.users.get(user.username) is user:
            return user
        if user is not None or len(self._folded) != len(self.users):
            # the users dict was changed behind the index's back: rebuild it once
            self.reindex()
            return self._folded.get(fold(name))
        return None


def _holds(user: User, attribute: str, wanted: str, caseless: bool, verified: bool) -> bool:
    """Whether ``user`` still signs in with ``wanted`` as its ``attribute`` (an index check)."""
    value = user.attributes.get(attribute)
    if value is None or (fold(value) if caseless else value) != wanted:
        return False
    return not verified or user.attributes.get(f"{attribute}_verified") == "true"


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
    device_key: str | None = None  # the known device this sign-in names (DEVICE_KEY)
    srp_flow: bool = False  # the first factor was SRP (only then can a device stand in for MFA)


@dataclass
class RefreshRecord:
    """A refresh token, kept by the digest of the token (never the token itself).

    Whose it is (pool, app client, user) is its sign-in's: :class:`Origin`.
    """

    digest: str
    origin_jti: str
    expires: float
    auth_time: int
    # refresh-token rotation replaced it: refused from this moment (the end of the grace)
    retired_at: float | None = None


@dataclass
class Origin:
    """One sign-in: its refresh tokens and every access token issued from them share it.

    ``expires`` is the latest expiry of any token of the sign-in; after it the record serves
    no purpose and is pruned.
    """

    jti: str
    pool_id: str
    client_id: str
    username: str
    expires: float
    revoked: bool = False
    # the device the sign-in was bound to: refreshing its tokens must name it (DEVICE_KEY)
    device_key: str | None = None


@dataclass(frozen=True)
class SentMessage:
    """An SMS or email the emulator "sent"; the code is the test's to read."""

    pool_id: str
    username: str
    medium: Literal["SMS", "EMAIL"]
    destination: str
    code: str = field(repr=False)
    sent_at: float

    def to_json(self) -> dict[str, Any]:
        return {
            "pool_id": self.pool_id,
            "username": self.username,
            "medium": self.medium,
            "destination": self.destination,
            "code": self.code,
            "sent_at": self.sent_at,
        }
