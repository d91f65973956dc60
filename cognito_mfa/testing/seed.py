"""Seeding user pools, app clients and users through Cognito's own admin and user API.

:class:`Seeder` wraps an aioboto3 ``cognito-idp`` client (with any credentials: the emulator
accepts any SigV4 signature) and calls only real Cognito operations (CreateUserPool,
SetUserPoolMfaConfig, CreateUserPoolClient, AdminCreateUser, AdminSetUserPassword,
AdminInitiateAuth, AssociateSoftwareToken, VerifySoftwareToken, AdminSetUserMFAPreference, ...),
so the same seeding works against the emulator (either front), moto or AWS itself. Source: the
Cognito API reference for each operation and ``docs/protocol.md``. Its lookups
(:meth:`Seeder.find_pool`, :meth:`Seeder.find_client`, :meth:`Seeder.user_exists`: ListUserPools,
ListUserPoolClients, DescribeUserPoolClient, AdminGetUser) let a seed be applied again without
making anything twice (see :func:`~cognito_mfa.testing.seedfile.apply_seed`).

The TOTP code that verifies an enrolment is computed from the ``clock`` given to the seeder
(pass ``emulator.now`` when the emulator's clock is not the wall clock) and taken from the
*previous* 30-second step, which Cognito accepts (±1 step): a test that signs in right after
seeding can then use the current step's code without it counting as a reused code. If the
step turns between computing that code and the server checking it, the seeder verifies once
more with a code from the new step.

Usage::

    seeder = Seeder(client, clock=emulator.now)
    pool = await seeder.create_pool_and_client()
    user = await seeder.create_user(pool, "alice", "Passw0rd!", phone="+15555550100", totp=True)
    user.totp_secret  # base32, for pyotp
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Literal

import pyotp
from botocore.exceptions import ClientError

from .._protocol import secret_hash

__all__ = ["DEFAULT_AUTH_FLOWS", "SeededPool", "SeededUser", "Seeder"]

MfaFactor = Literal["SMS", "TOTP", "EMAIL"]

#: Every flow the library and the tests use.
DEFAULT_AUTH_FLOWS: Final = (
    "ALLOW_USER_SRP_AUTH",
    "ALLOW_USER_PASSWORD_AUTH",
    "ALLOW_ADMIN_USER_PASSWORD_AUTH",
    "ALLOW_REFRESH_TOKEN_AUTH",
)
_TOTP_STEP: Final = 30
_LIST_PAGE: Final = 60  # the most ListUserPools and ListUserPoolClients return at once
# Any role ARN will do for the emulator and moto; AWS needs a real one (pass sms_role_arn).
_SMS_ROLE_ARN: Final = "arn:aws:iam::123456789012:role/cognito-mfa-sms"


@dataclass(frozen=True)
class SeededPool:
    """A user pool and one app client in it."""

    pool_id: str
    client_id: str
    client_secret: str | None = field(default=None, repr=False)

    @property
    def region(self) -> str:
        """The region part of the pool id (``us-east-1_AbC`` → ``us-east-1``)."""
        return self.pool_id.split("_", 1)[0]


@dataclass(frozen=True)
class SeededUser:
    """A confirmed user with a permanent password (and, when asked, an enrolled TOTP)."""

    username: str
    password: str = field(repr=False)
    sub: str | None = None
    phone: str | None = None
    email: str | None = None
    totp_secret: str | None = field(default=None, repr=False)

    def totp_code(self, at: float) -> str:
        """The TOTP code at time ``at`` (seconds since the epoch)."""
        if self.totp_secret is None:
            raise ValueError(f"user {self.username!r} has no TOTP enrolled")
        return pyotp.TOTP(self.totp_secret).at(int(at))


class Seeder:
    """Create pools, clients and users over the Cognito API (see the module docstring)."""

    def __init__(self, client: Any, *, clock: Callable[[], float] = time.time) -> None:
        self.client = client
        self.clock = clock

    async def create_pool(
        self,
        name: str = "cognito-mfa-test",
        *,
        mfa: Literal["OFF", "ON", "OPTIONAL"] = "OPTIONAL",
        sms: bool = True,
        totp: bool = True,
        email: bool = True,
        username_attributes: Sequence[str] = (),
        alias_attributes: Sequence[str] = (),
        case_sensitive: bool | None = None,
        sms_role_arn: str = _SMS_ROLE_ARN,
        device_configuration: Mapping[str, bool] | None = None,
    ) -> str:
        """CreateUserPool then SetUserPoolMfaConfig; returns the pool id.

        Defaults: MFA OPTIONAL with SMS, TOTP and e-mail codes all available.
        ``username_attributes`` / ``alias_attributes`` are CreateUserPool's
        ``UsernameAttributes`` / ``AliasAttributes`` (at most one of them).
        ``case_sensitive`` is sent as ``UsernameConfiguration: {CaseSensitive: ...}`` unless
        None (Cognito's default then: case-sensitive); ``False`` makes the username, email and
        preferred_username match in any case, as pools made in the AWS console do.
        ``device_configuration`` is passed to CreateUserPool as ``DeviceConfiguration``.
        """
        create: dict[str, Any] = {"PoolName": name, "MfaConfiguration": "OFF"}
        if username_attributes:
            create["UsernameAttributes"] = list(username_attributes)
        if alias_attributes:
            create["AliasAttributes"] = list(alias_attributes)
        if case_sensitive is not None:
            create["UsernameConfiguration"] = {"CaseSensitive": case_sensitive}
        if device_configuration is not None:
            create["DeviceConfiguration"] = dict(device_configuration)
        response = await self.client.create_user_pool(**create)
        pool_id: str = response["UserPool"]["Id"]
        config: dict[str, Any] = {"UserPoolId": pool_id, "MfaConfiguration": mfa}
        if sms:
            config["SmsMfaConfiguration"] = {
                "SmsAuthenticationMessage": "Your sign-in code is {####}",
                "SmsConfiguration": {"SnsCallerArn": sms_role_arn, "ExternalId": "cognito-mfa"},
            }
        config["SoftwareTokenMfaConfiguration"] = {"Enabled": totp}
        if email:
            config["EmailMfaConfiguration"] = {
                "Message": "Your sign-in code is {####}",
                "Subject": "Your sign-in code",
            }
        if mfa != "OFF" or sms or totp or email:
            await self.client.set_user_pool_mfa_config(**config)
        return pool_id

    async def find_pool(self, name: str) -> str | None:
        """The id of the pool named ``name`` (ListUserPools), or None when there is none.

        Pool names need not be unique: of several, the first created is chosen.
        """
        pools = await self._list_all(self.client.list_user_pools, "UserPools")
        found = [pool for pool in pools if pool.get("Name") == name]
        if not found:
            return None
        # min() keeps the listing's order among equal dates (the emulator lists by creation)
        first = min(found, key=lambda pool: pool["CreationDate"])
        pool_id: str = first["Id"]
        return pool_id

    async def find_client(self, pool_id: str, name: str) -> SeededPool | None:
        """The app client named ``name`` in the pool, with its secret, or None without one.

        ListUserPoolClients finds it, DescribeUserPoolClient gives its secret; of several with
        the name, the first created is chosen.
        """
        apps = await self._list_all(
            self.client.list_user_pool_clients, "UserPoolClients", UserPoolId=pool_id
        )
        ids = [app["ClientId"] for app in apps if app.get("ClientName") == name]
        if not ids:
            return None
        described = [
            (await self.client.describe_user_pool_client(UserPoolId=pool_id, ClientId=client_id))[
                "UserPoolClient"
            ]
            for client_id in ids
        ]
        app = min(described, key=lambda shape: shape["CreationDate"])
        return SeededPool(pool_id, app["ClientId"], app.get("ClientSecret"))

    @staticmethod
    async def _list_all(
        operation: Callable[..., Awaitable[dict[str, Any]]], key: str, **request: Any
    ) -> list[dict[str, Any]]:
        """Every item of a NextToken-paged listing, in the order listed."""
        items: list[dict[str, Any]] = []
        request["MaxResults"] = _LIST_PAGE
        while True:
            page = await operation(**request)
            items += page.get(key, [])
            if not page.get("NextToken"):
                return items
            request["NextToken"] = page["NextToken"]

    async def user_exists(self, pool_id: str, username: str) -> bool:
        """Whether the pool has a user of that name (AdminGetUser; UserNotFoundException: no)."""
        try:
            await self.client.admin_get_user(UserPoolId=pool_id, Username=username)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "UserNotFoundException":
                return False
            raise
        return True

    async def create_client(
        self,
        pool_id: str,
        name: str = "app",
        *,
        generate_secret: bool = False,
        auth_flows: Sequence[str] = DEFAULT_AUTH_FLOWS,
        session_validity_minutes: int = 3,
    ) -> SeededPool:
        """CreateUserPoolClient; returns the pool id with the client's id (and secret)."""
        response = await self.client.create_user_pool_client(
            UserPoolId=pool_id,
            ClientName=name,
            GenerateSecret=generate_secret,
            ExplicitAuthFlows=list(auth_flows),
            AuthSessionValidity=session_validity_minutes,
        )
        app = response["UserPoolClient"]
        return SeededPool(pool_id, app["ClientId"], app.get("ClientSecret"))

    async def create_pool_and_client(
        self,
        name: str = "cognito-mfa-test",
        *,
        mfa: Literal["OFF", "ON", "OPTIONAL"] = "OPTIONAL",
        generate_secret: bool = False,
        **pool_options: Any,
    ) -> SeededPool:
        """:meth:`create_pool` then :meth:`create_client` with their defaults."""
        pool_id = await self.create_pool(name, mfa=mfa, **pool_options)
        return await self.create_client(pool_id, generate_secret=generate_secret)

    async def create_user(
        self,
        pool: SeededPool,
        username: str,
        password: str,
        *,
        phone: str | None = None,
        email: str | None = None,
        attributes: Mapping[str, str] | None = None,
        totp: bool = False,
        mfa: Sequence[MfaFactor] = (),
        preferred: MfaFactor | None = None,
    ) -> SeededUser:
        """A confirmed user with a permanent password.

        ``phone``/``email`` are set as verified attributes. ``totp=True`` enrols and verifies a
        software token (see :meth:`enrol_totp`) and enables it. ``mfa`` enables the listed
        factors with AdminSetUserMFAPreference, and ``preferred`` marks one of them preferred;
        ``"TOTP"`` in either implies ``totp=True``. With several factors enabled and none
        preferred, the user gets SELECT_MFA_TYPE at sign-in.
        """
        user_attributes = [{"Name": k, "Value": v} for k, v in (attributes or {}).items()]
        if phone is not None:
            user_attributes += [
                {"Name": "phone_number", "Value": phone},
                {"Name": "phone_number_verified", "Value": "true"},
            ]
        if email is not None:
            user_attributes += [
                {"Name": "email", "Value": email},
                {"Name": "email_verified", "Value": "true"},
            ]
        created = await self.client.admin_create_user(
            UserPoolId=pool.pool_id,
            Username=username,
            UserAttributes=user_attributes,
            MessageAction="SUPPRESS",
        )
        sub = next(
            (a["Value"] for a in created["User"].get("Attributes", []) if a["Name"] == "sub"),
            None,
        )
        await self.client.admin_set_user_password(
            UserPoolId=pool.pool_id, Username=username, Password=password, Permanent=True
        )
        factors: set[MfaFactor] = set(mfa)
        if preferred is not None:
            factors.add(preferred)
        if totp:
            factors.add("TOTP")
        secret = None
        if "TOTP" in factors:
            secret = await self.enrol_totp(pool, username, password)
        if factors:
            await self.set_mfa(pool, username, enabled=factors, preferred=preferred)
        return SeededUser(username, password, sub, phone, email, secret)

    async def set_mfa(
        self,
        pool: SeededPool,
        username: str,
        *,
        enabled: Sequence[MfaFactor] | set[MfaFactor],
        preferred: MfaFactor | None = None,
    ) -> None:
        """AdminSetUserMFAPreference: enable exactly ``enabled``, mark ``preferred``."""
        settings = {
            "SMS": "SMSMfaSettings",
            "TOTP": "SoftwareTokenMfaSettings",
            "EMAIL": "EmailMfaSettings",
        }
        request: dict[str, Any] = {"UserPoolId": pool.pool_id, "Username": username}
        for factor, key in settings.items():
            request[key] = {"Enabled": factor in enabled, "PreferredMfa": factor == preferred}
        await self.client.admin_set_user_mfa_preference(**request)

    async def enrol_totp(self, pool: SeededPool, username: str, password: str) -> str:
        """Associate and verify a software token for the user; returns its base32 secret.

        Signs in with ADMIN_USER_PASSWORD_AUTH: with tokens it uses the access token; when the
        pool requires MFA the sign-in answers MFA_SETUP and the Session path is used. It does
        not make TOTP enabled or preferred (see :meth:`set_mfa`).
        """
        parameters = {"USERNAME": username, "PASSWORD": password}
        if pool.client_secret is not None:
            parameters["SECRET_HASH"] = secret_hash(username, pool.client_id, pool.client_secret)
        signed_in = await self.client.admin_initiate_auth(
            UserPoolId=pool.pool_id,
            ClientId=pool.client_id,
            AuthFlow="ADMIN_USER_PASSWORD_AUTH",
            AuthParameters=parameters,
        )
        if "AuthenticationResult" in signed_in:
            access_token = signed_in["AuthenticationResult"]["AccessToken"]
            associated = await self.client.associate_software_token(AccessToken=access_token)
            secret: str = associated["SecretCode"]
            verified = await self._verify_enrolment(secret, AccessToken=access_token)
            _check_verified(verified)
            return secret
        if signed_in.get("ChallengeName") != "MFA_SETUP":
            raise RuntimeError(
                f"cannot enrol TOTP for {username!r}: sign-in answered "
                f"{signed_in.get('ChallengeName')!r} instead of tokens or MFA_SETUP"
            )
        associated = await self.client.associate_software_token(Session=signed_in["Session"])
        secret = associated["SecretCode"]
        verified = await self._verify_enrolment(secret, Session=associated["Session"])
        _check_verified(verified)
        responses = {"USERNAME": username}
        if pool.client_secret is not None:
            responses["SECRET_HASH"] = parameters["SECRET_HASH"]
        await self.client.admin_respond_to_auth_challenge(
            UserPoolId=pool.pool_id,
            ClientId=pool.client_id,
            ChallengeName="MFA_SETUP",
            Session=verified["Session"],
            ChallengeResponses=responses,
        )
        return secret

    def _enrolment_code(self, secret: str) -> tuple[str, int]:
        # The previous step: accepted (±1 step), and leaves the current step unused.
        now = int(self.clock())
        return pyotp.TOTP(secret).at(now - _TOTP_STEP), now // _TOTP_STEP

    async def _verify_enrolment(self, secret: str, **where: str) -> Any:
        """VerifySoftwareToken with the previous step's code, once more if the step turned.

        The previous step's code is two steps old if the 30-second step turns between
        computing it and the server checking it (under load that happens to some user of a
        large seeding run). A mismatch keeps the association and the session, so the seeder
        tries once more with a code from the new step; any other refusal is raised as is.
        """
        code, step = self._enrolment_code(secret)
        try:
            return await self.client.verify_software_token(UserCode=code, **where)
        except Exception as exc:
            code_name = getattr(exc, "response", {}).get("Error", {}).get("Code")
            retry, retry_step = self._enrolment_code(secret)
            if code_name != "EnableSoftwareTokenMFAException" or retry_step == step:
                raise
        return await self.client.verify_software_token(UserCode=retry, **where)


def _check_verified(response: Mapping[str, Any]) -> None:
    if response.get("Status") != "SUCCESS":
        raise RuntimeError("VerifySoftwareToken did not answer SUCCESS")
