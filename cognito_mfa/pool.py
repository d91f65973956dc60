"""The public async face of a Cognito user pool app client: :class:`UserPool`.

Ports the entry points of amazon-cognito-identity-js's ``CognitoUserPool`` / ``CognitoUser``
(``authenticateUser``, ``refreshSession``) onto one shared
:class:`~cognito_mfa._transport.Transport`.
The pool holds configuration and the transport only, never a sign-in's state: any number of
concurrent :class:`~cognito_mfa.AuthFlow` objects share one pool.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Final
from urllib.parse import urlsplit

from aiobotocore.config import AioConfig
from botocore.utils import is_valid_endpoint_url, is_valid_ipv6_endpoint_url
from pydantic import SecretStr

from . import _protocol as protocol
from ._checks import check_device_key, check_secret, check_string_map, check_text
from ._defaults import default_clock, default_random_bytes
from ._flow import AuthFlow, FlowState
from ._protocol import AppClient, AuthFlowType, TokensStep
from ._transport import NOT_OPEN, RetryPolicy, Transport
from .client_settings import AppClientSettings
from .errors import InvalidInput, PoolClosed, ProtocolError
from .models import CognitoUserSession, Device, DeviceCredentials

if TYPE_CHECKING:
    from .preferences import MfaSettings, UserData
    from .user import CognitoUser

__all__ = ["UserPool"]

_POOL_ID: Final = re.compile(r"([\w-]+)_[0-9a-zA-Z]+")
# botocore's rule for a region (a host label, utils.validate_region_name), anchored at both
# ends and non-empty: anything else fails inside botocore when the pool opens
_REGION: Final = re.compile(r"(?![0-9]+\Z)(?!-)[a-zA-Z0-9-]{1,63}(?<!-)")


def _check_metadata(value: object) -> dict[str, str] | None:
    return check_string_map(value, "client_metadata")


def _check_region(region: object, pool_region: str) -> str:
    if region is None:
        if not _REGION.fullmatch(pool_region):
            raise InvalidInput("the pool id does not start with a region: pass region=")
        return pool_region
    if not isinstance(region, str) or not _REGION.fullmatch(region):
        raise InvalidInput("region must be an AWS region name, e.g. 'us-east-1'")
    return region


def _check_endpoint_url(url: object) -> str | None:
    # botocore's own URL checks, done here so a bad URL fails at once, typed, not at open
    if url is None:
        return None
    if not isinstance(url, str):
        raise InvalidInput("endpoint_url must be a string")
    try:
        valid = urlsplit(url).scheme in ("http", "https") and bool(
            is_valid_endpoint_url(url) or is_valid_ipv6_endpoint_url(url)
        )
    except ValueError:  # urlsplit refuses e.g. an unclosed '[' in the host
        valid = False
    if not valid:
        raise InvalidInput("endpoint_url must be an http(s) URL with a host")
    return url


class UserPool:
    """A Cognito user pool seen through one app client.

    ``async with UserPool(pool_id, client_id) as pool:`` (or ``await pool.open()`` ...
    ``await pool.aclose()`` where a block cannot span the pool's life, as in a notebook) opens
    the one ``cognito-idp`` client the pool owns for its lifetime, shared by every flow started
    from it. The region comes from
    the pool id (``us-east-1_Abc123``) unless given. ``endpoint_url`` points at the emulator or
    any compatible server. No AWS credentials are needed to sign users in; the ``admin_*``
    methods need IAM credentials (the ``aws_*`` arguments, a profile, or the environment).

    ``clock`` and ``random_bytes`` are the time (SRP TIMESTAMP, token expiry) and randomness
    (SRP secret exponents) the pool's flows use; tests inject them, everyone else keeps the
    defaults (the system UTC clock, the OS CSPRNG).

    Raises InvalidInput at once for a malformed pool id, client id or client secret, a region
    that is not a region name, or an ``endpoint_url`` that is not an http(s) URL with a host.
    """

    def __init__(
        self,
        pool_id: str,
        client_id: str,
        client_secret: str | SecretStr | None = None,
        *,
        region: str | None = None,
        endpoint_url: str | None = None,
        botocore_config: AioConfig | None = None,
        aws_access_key_id: str | None = None,
        aws_secret_access_key: str | None = None,
        aws_session_token: str | None = None,
        profile_name: str | None = None,
        retry_policy: RetryPolicy | None = None,
        clock: Callable[[], datetime] | None = None,
        random_bytes: Callable[[int], bytes] | None = None,
    ) -> None:
        match = _POOL_ID.fullmatch(check_text(pool_id, "pool_id"))
        if match is None:
            raise InvalidInput("pool_id must look like '<region>_<id>', e.g. 'us-east-1_Abc123'")
        check_text(client_id, "client_id")
        if client_secret is not None:
            if not isinstance(client_secret, str | SecretStr):
                raise InvalidInput("client_secret must be a str or SecretStr")
            client_secret = check_secret(client_secret, "client_secret")
        for what, value in {"clock": clock, "random_bytes": random_bytes}.items():
            if value is not None and not callable(value):
                raise InvalidInput(f"{what} must be callable")
        self.pool_id = pool_id
        self.client_id = client_id
        self.client_secret: SecretStr | None = client_secret
        self.region = _check_region(region, match.group(1))
        self.endpoint_url = _check_endpoint_url(endpoint_url)
        self.clock: Callable[[], datetime] = clock or default_clock
        self.random_bytes: Callable[[int], bytes] = random_bytes or default_random_bytes
        self.app_client = AppClient(pool_id, client_id, client_secret)
        self.transport = Transport(
            region=self.region,
            endpoint_url=endpoint_url,
            botocore_config=botocore_config,
            aws_access_key_id=aws_access_key_id,
            aws_secret_access_key=aws_secret_access_key,
            aws_session_token=aws_session_token,
            profile_name=profile_name,
            retry_policy=retry_policy,
        )

    def __repr__(self) -> str:
        return f"<UserPool {self.pool_id} client={self.client_id} region={self.region}>"

    async def __aenter__(self) -> UserPool:
        await self.open()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def open(self) -> UserPool:
        """Open the pool's ``cognito-idp`` client; returns the pool. Opening an open pool does
        nothing.

        For code that cannot wrap the pool's lifetime in ``async with`` (a notebook, a REPL, a
        service's start-up and shutdown hooks); pair it with :meth:`aclose`. Raises PoolClosed
        when the pool was closed (a closed pool stays closed: make a new one).
        """
        await self.transport.open()
        return self

    async def aclose(self) -> None:
        """Close the pool's client (closing twice does nothing). Flows still in progress fail
        with PoolClosed."""
        await self.transport.aclose()

    @property
    def is_open(self) -> bool:
        return self.transport.is_open

    def _require_open(self) -> None:
        if not self.transport.is_open:
            raise PoolClosed(NOT_OPEN)

    # --- sign-in -------------------------------------------------------------------------

    def sign_in(
        self,
        username: str,
        password: str | SecretStr,
        *,
        auth_flow: AuthFlowType | str = AuthFlowType.USER_SRP_AUTH,
        client_metadata: Mapping[str, str] | None = None,
        device: DeviceCredentials | None = None,
    ) -> AuthFlow:
        """Start a sign-in (nothing is sent until the flow is iterated).

        ``username`` may be any alias the pool accepts (email, phone, preferred username).
        ``auth_flow`` is ``USER_SRP_AUTH`` (default; the password never leaves the process) or
        ``USER_PASSWORD_AUTH``. ``client_metadata`` goes to every call that accepts it.

        ``device``: the credentials of a device confirmed earlier
        (:meth:`CognitoUser.confirm_device <cognito_mfa.CognitoUser.confirm_device>`), SRP
        sign-ins only. Its key goes with the password; when Cognito remembers the device, the
        device proves its password (device SRP, inside the flow) and no MFA challenge is asked.
        Iterating raises :class:`~cognito_mfa.errors.DeviceNotFound` when Cognito no longer
        knows the device: drop the credentials and sign in again without them.

        Raises InvalidInput (empty username or password, text that is not valid Unicode,
        another auth flow, ``device`` that is not DeviceCredentials or comes with
        USER_PASSWORD_AUTH) and PoolClosed at once; the flow's iteration raises the rest.
        """
        __tracebackhide__ = True  # keeps the password out of pytest's failure output
        secret = check_secret(password, "password")
        flow = AuthFlowType(auth_flow) if _is_flow(auth_flow) else None
        if flow not in (AuthFlowType.USER_SRP_AUTH, AuthFlowType.USER_PASSWORD_AUTH):
            raise InvalidInput("auth_flow must be USER_SRP_AUTH or USER_PASSWORD_AUTH")
        if device is not None:
            if not isinstance(device, DeviceCredentials):
                raise InvalidInput("device must be DeviceCredentials")
            if flow is not AuthFlowType.USER_SRP_AUTH:
                # a remembered device stands in for MFA only after an SRP password proof
                raise InvalidInput("a device sign-in needs auth_flow USER_SRP_AUTH")
            # credentials come from storage: text that cannot be sent fails here, typed
            check_device_key(device.device_key)
            check_text(device.device_group_key, "device_group_key")
            check_secret(device.device_password, "device_password")
        return self._flow(
            username, secret, flow, admin=False, client_metadata=client_metadata, device=device
        )

    def admin_sign_in(
        self,
        username: str,
        password: str | SecretStr,
        *,
        client_metadata: Mapping[str, str] | None = None,
    ) -> AuthFlow:
        """Start an ADMIN_USER_PASSWORD_AUTH sign-in (AdminInitiateAuth; needs IAM credentials).

        The same challenges follow, answered with AdminRespondToAuthChallenge. Raises as
        :meth:`sign_in`.
        """
        __tracebackhide__ = True  # keeps the password out of pytest's failure output
        return self._flow(
            username,
            check_secret(password, "password"),
            AuthFlowType.ADMIN_USER_PASSWORD_AUTH,
            admin=True,
            client_metadata=client_metadata,
        )

    def _flow(
        self,
        username: str,
        password: SecretStr,
        auth_flow: AuthFlowType,
        *,
        admin: bool,
        client_metadata: Mapping[str, str] | None,
        device: DeviceCredentials | None = None,
    ) -> AuthFlow:
        check_text(username, "username")
        metadata = _check_metadata(client_metadata)
        self._require_open()
        return AuthFlow(
            self,
            username=username,
            password=password,
            auth_flow=auth_flow,
            admin=admin,
            client_metadata=metadata,
            device=device,
        )

    def resume(self, state: FlowState | str | bytes) -> AuthFlow:
        """Continue a flow saved with ``flow.state`` (the model or its JSON).

        Raises InvalidInput when the state is malformed or belongs to another pool or app
        client, PoolClosed when the pool is not open. An expired state fails on its first
        answer with SessionExpired.
        """
        if isinstance(state, str | bytes):
            if len(state) > FlowState.MAX_JSON:
                raise InvalidInput(f"a saved sign-in state is at most {FlowState.MAX_JSON} long")
            try:
                state = FlowState.model_validate_json(state)
            except (ValueError, RecursionError):
                raise InvalidInput("not a saved sign-in state") from None
        if not isinstance(state, FlowState):
            raise InvalidInput("not a saved sign-in state")
        if state.pool_id != self.pool_id or state.client_id != self.client_id:
            raise InvalidInput("the saved state belongs to another pool or app client")
        self._require_open()
        return AuthFlow._from_state(self, state)

    async def refresh(
        self,
        session: CognitoUserSession,
        *,
        client_metadata: Mapping[str, str] | None = None,
    ) -> CognitoUserSession:
        """New ID and access tokens from the session's refresh token (REFRESH_TOKEN_AUTH).

        The refresh token is kept (Cognito does not send a new one). The session's device
        (:attr:`CognitoUserSession.device_key`, else the access token's ``device_key`` claim)
        is sent as DEVICE_KEY: a device-tracking pool refuses to refresh a device-bound
        sign-in without it. Raises InvalidInput (no refresh token), TokenRevoked (refresh
        token expired or revoked: sign in again), NotAuthorized, other service and transport
        errors, PoolClosed.
        """
        if not isinstance(session, CognitoUserSession):
            raise InvalidInput("session must be a CognitoUserSession")
        if session.refresh_token is None:
            raise InvalidInput("the session has no refresh token")
        self._require_open()
        username = session.username if self.client_secret is not None else None
        device_key = _device_key_of(session)
        call = protocol.refresh_tokens(
            self.app_client,
            session.refresh_token,
            username=username,
            client_metadata=_check_metadata(client_metadata),
            device_key=device_key,
        )
        response = await self.transport.call(call.operation, call.params)
        step = protocol.parse_auth_response(response)
        if not isinstance(step, TokensStep):
            raise ProtocolError(f"refresh answered with a challenge ({step.name})")
        return protocol.parse_authentication_result(
            step.result,
            issued_at=self.clock(),
            previous_refresh_token=session.refresh_token,
            device_key=device_key,
        )

    # --- the app client (IAM credentials) ------------------------------------------------

    async def describe_app_client(self) -> AppClientSettings:
        """DescribeUserPoolClient (needs IAM credentials allowed
        ``cognito-idp:DescribeUserPoolClient``): the app client's settings, among them
        ``auth_session_validity``, how long each step of a sign-in may wait.

        The client secret is not returned, only whether there is one. Raises
        CredentialsRequired (no AWS credentials), NotAuthorized, ResourceNotFound (no such
        pool or app client), AccessDenied (IAM does not allow the call, or does not accept
        the credentials), other service errors, transport errors,
        ProtocolError (an answer that cannot be read) and PoolClosed.
        """
        self._require_open()
        call = protocol.describe_user_pool_client(self.pool_id, self.client_id)
        response = await self.transport.call(call.operation, call.params)
        return protocol.parse_app_client_settings(response)

    # --- users ---------------------------------------------------------------------------

    def user(self, session: CognitoUserSession) -> CognitoUser:
        """The signed-in user of ``session`` (MFA preferences, TOTP setup, user data)."""
        from .user import CognitoUser

        return CognitoUser(self, session)

    async def admin_set_user_mfa_preference(
        self,
        username: str,
        *,
        sms: MfaSettings | None = None,
        software_token: MfaSettings | None = None,
        email: MfaSettings | None = None,
    ) -> None:
        """AdminSetUserMFAPreference (needs IAM credentials); see
        :func:`cognito_mfa.user.admin_set_user_mfa_preference` for the settings accepted."""
        from .user import admin_set_user_mfa_preference

        await admin_set_user_mfa_preference(
            self, username, sms=sms, software_token=software_token, email=email
        )

    async def admin_get_user(self, username: str) -> UserData:
        """AdminGetUser (needs IAM credentials): attributes, status and MFA settings."""
        from .user import admin_get_user

        return await admin_get_user(self, username)

    # --- devices (IAM credentials) -------------------------------------------------------

    async def admin_list_devices(self, username: str) -> list[Device]:
        """AdminListDevices (needs IAM credentials): every device Cognito remembers for
        ``username``, all pages. Raises as :meth:`admin_get_user`."""
        from .user import admin_list_devices

        return await admin_list_devices(self, username)

    async def admin_get_device(self, username: str, device_key: str) -> Device:
        """AdminGetDevice (needs IAM credentials). Raises ResourceNotFound for an unknown
        device, and as :meth:`admin_get_user`."""
        from .user import admin_get_device

        return await admin_get_device(self, username, device_key)

    async def admin_forget_device(self, username: str, device_key: str) -> None:
        """AdminForgetDevice (needs IAM credentials): the device signs in as a new one after.
        Raises ResourceNotFound for an unknown device, and as :meth:`admin_get_user`."""
        from .user import admin_forget_device

        await admin_forget_device(self, username, device_key)

    async def admin_update_device_status(
        self, username: str, device_key: str, *, remembered: bool
    ) -> None:
        """AdminUpdateDeviceStatus (needs IAM credentials): remember or stop remembering.
        Raises ResourceNotFound for an unknown device, and as :meth:`admin_get_user`."""
        from .user import admin_update_device_status

        await admin_update_device_status(self, username, device_key, remembered=remembered)


def _device_key_of(session: CognitoUserSession) -> str | None:
    """The device the session's tokens are bound to: its own record, else the claim."""
    if session.device_key is not None:
        return session.device_key
    try:
        claim = session.unverified_access_claims.get("device_key")
    except ProtocolError:
        return None  # not a JWT we can read: Cognito judges the refresh token alone
    return claim if isinstance(claim, str) and claim else None


def _is_flow(value: object) -> bool:
    return isinstance(value, str) and value in AuthFlowType.__members__
