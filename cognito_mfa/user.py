"""A signed-in user's MFA management: the rest of amazon-cognito-identity-js's ``CognitoUser``.

Ports ``associateSoftwareToken``, ``verifySoftwareToken``, ``setUserMfaPreference``,
``getUserData``, the deprecated ``enableMFA`` / ``disableMFA`` / ``getMFAOptions`` and
``globalSignOut`` and the remembered-device calls (``confirmDevice``, ``setDeviceStatusRemembered``
/ ``setDeviceStatusNotRemembered``, ``forgetDevice``, ``listDevices``, ``getDevice``;
``docs/protocol.md`` §8, ``docs/devices.md``) as coroutines with typed results, plus the
server-side ``AdminSetUserMFAPreference`` / ``AdminGetUser`` / ``Admin*Device*`` for services
holding IAM credentials. Operations: Cognito API reference, AssociateSoftwareToken,
VerifySoftwareToken, SetUserMFAPreference, SetUserSettings, GetUser, GlobalSignOut,
ConfirmDevice, UpdateDeviceStatus, ListDevices, GetDevice, ForgetDevice,
AdminSetUserMFAPreference, AdminGetUser, AdminListDevices, AdminGetDevice, AdminForgetDevice,
AdminUpdateDeviceStatus.

Every user operation is authorised by the session's access token. When Cognito says the
access token has expired, the session is renewed once through ``pool.refresh`` (the refresh
token) and the call is repeated; ``user.tokens`` then holds the new tokens, to be stored by
the caller. When the refresh token itself is expired or revoked, :class:`TokenRevoked` says
to sign in again.

Request building and answer parsing are pure (:mod:`cognito_mfa._protocol`, which owns every
wire key); this module only validates input, sends, and refreshes.

The admin functions (``admin_*``, also reached as ``pool.admin_*``) need IAM credentials and
share their common errors, stated here once: :class:`~cognito_mfa.errors.InvalidInput` before
sending (an empty username, bad settings), :class:`~cognito_mfa.errors.UserNotFound`,
:class:`~cognito_mfa.errors.NotAuthorized`, :class:`~cognito_mfa.errors.ResourceNotFound`,
:class:`~cognito_mfa.errors.CredentialsRequired`, other
:class:`~cognito_mfa.errors.ServiceError` subclasses,
:class:`~cognito_mfa.errors.TransportError`, :class:`~cognito_mfa.errors.ProtocolError` and
:class:`~cognito_mfa.errors.PoolClosed`. Each function lists only what it adds.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable
from functools import partial
from typing import Any, Final, Protocol

import anyio
import anyio.to_thread
from pydantic import SecretStr

from . import _protocol as protocol
from . import _srp as srp
from ._checks import check_code, check_device_key, check_device_name, check_encodable
from ._defaults import srp_limiter
from ._hidden import Hidden
from ._protocol import (
    AppClient,
    Call,
    VerifyStatus,
    parse_legacy_mfa_options,
    parse_software_token_secret,
    parse_user_data,
    parse_verify_software_token,
)
from ._transport import Transport
from .errors import (
    EnableSoftwareTokenMFA,
    InvalidInput,
    NotAuthorized,
    TokenRevoked,
)
from .models import CognitoUserSession, Device, DeviceCredentials, MfaType
from .preferences import MfaOption, MfaSettings, UserData
from .totp import SoftwareTokenSecret

__all__ = [
    "CognitoUser",
    "PoolLike",
    "admin_forget_device",
    "admin_get_device",
    "admin_get_user",
    "admin_list_devices",
    "admin_set_user_mfa_preference",
    "admin_update_device_status",
]

# Cognito's message for an access token past its ``exp`` (errors.py maps it to TokenRevoked,
# together with revoked tokens, which a refresh cannot help).
_ACCESS_TOKEN_EXPIRED: Final = re.compile(r"Access Token has expired", re.IGNORECASE)
_MAX_USERNAME: Final = 128  # UsernameType, 1-128


class PoolLike(Protocol):
    """What :class:`CognitoUser` needs from a :class:`~cognito_mfa.UserPool`."""

    @property
    def transport(self) -> Transport: ...

    @property
    def pool_id(self) -> str: ...

    @property
    def random_bytes(self) -> Callable[[int], bytes]: ...

    @property
    def app_client(self) -> AppClient: ...

    async def refresh(self, session: CognitoUserSession, /) -> CognitoUserSession: ...


def _check_username(username: str) -> str:
    if not isinstance(username, str) or not username.strip() or len(username) > _MAX_USERNAME:
        raise InvalidInput("username must be a non-empty string of at most 128 characters")
    return check_encodable(username, "username")


class CognitoUser:
    """A signed-in user: MFA enrolment and preferences, authorised by the session's tokens.

    Get one from ``pool.user(session)``. Methods are coroutines; the pool must be open.
    Several tasks may use one ``CognitoUser`` at once: a token refresh is done once for all.

    Every method may raise, besides the errors it lists itself:
    :class:`~cognito_mfa.errors.TokenRevoked` (the tokens are revoked or expired and could not
    be refreshed: sign in again), :class:`~cognito_mfa.errors.NotAuthorized`,
    :class:`~cognito_mfa.errors.TooManyRequests` and other
    :class:`~cognito_mfa.errors.ServiceError` subclasses,
    :class:`~cognito_mfa.errors.TransportError`, :class:`~cognito_mfa.errors.ProtocolError`
    (an answer that cannot be used) and :class:`~cognito_mfa.errors.PoolClosed`.
    """

    def __init__(self, pool: PoolLike, session: CognitoUserSession) -> None:
        if not isinstance(session, CognitoUserSession):
            raise InvalidInput("session must be a CognitoUserSession")
        self._pool = pool
        self._session = session
        self._refresh_lock = anyio.Lock()

    def __repr__(self) -> str:
        return f"<CognitoUser pool_id={self._pool.pool_id!r}>"

    @property
    def tokens(self) -> CognitoUserSession:
        """The current tokens; replaced after an automatic refresh (store them again then)."""
        return self._session

    @property
    def session(self) -> CognitoUserSession:
        """The current tokens: the same as :attr:`tokens`."""
        return self._session

    # --- the one authorised-call path -----------------------------------------------------

    async def _call(self, call: Call) -> dict[str, Any]:
        __tracebackhide__ = True  # keeps codes and tokens out of pytest's failure output
        session = self._session
        try:
            return await self._send(call, session)
        except TokenRevoked as exc:
            if not _ACCESS_TOKEN_EXPIRED.search(exc.message):
                raise  # revoked (e.g. after a global sign-out): a refresh would be refused too
            await self._refresh_after(session, exc)
        # once only: a second expiry right after a refresh is reported, not looped on
        return await self._send(call, self._session)

    async def _send(self, call: Call, session: CognitoUserSession) -> dict[str, Any]:
        __tracebackhide__ = True  # keeps codes and tokens out of pytest's failure output
        authorised = protocol.with_access_token(call, session.access_token)
        return await self._pool.transport.call(authorised.operation, authorised.params)

    async def _refresh_after(self, stale: CognitoUserSession, cause: TokenRevoked) -> None:
        async with self._refresh_lock:
            if self._session is not stale:
                return  # another task refreshed while we waited
            if stale.refresh_token is None:
                raise TokenRevoked(
                    "the access token has expired and the session has no refresh token: "
                    "sign in again",
                    code=cause.error_code,
                    operation=cause.operation,
                    request_id=cause.request_id,
                    status=cause.status,
                ) from cause
            try:
                self._session = await self._pool.refresh(stale)
            except NotAuthorized as exc:
                raise TokenRevoked(
                    "the access token has expired and the refresh token was refused "
                    f"({exc.message or exc.error_code}): sign in again",
                    code=exc.error_code,
                    operation=exc.operation,
                    request_id=exc.request_id,
                    status=exc.status,
                ) from exc

    # --- TOTP enrolment -------------------------------------------------------------------

    async def associate_software_token(self) -> SoftwareTokenSecret:
        """Start TOTP enrolment: Cognito creates a secret for the user's authenticator app.

        Show it with :meth:`SoftwareTokenSecret.provisioning_uri` or a ``qr_*`` method, then
        confirm with :meth:`verify_software_token`. The factor stays off until verified and
        enabled with :meth:`set_user_mfa_preference`.

        Raises, besides the class's common errors:
        :class:`~cognito_mfa.errors.SoftwareTokenMFANotFound` (TOTP not enabled on the pool),
        :class:`~cognito_mfa.errors.ConcurrentModification`,
        :class:`~cognito_mfa.errors.InvalidParameter`,
        :class:`~cognito_mfa.errors.ProtocolError` (no usable ``SecretCode`` in the answer).
        """
        response = await self._call(protocol.user_associate_software_token())
        secret, _ = parse_software_token_secret(response)
        return secret

    async def verify_software_token(
        self, code: str | SecretStr, friendly_device_name: str | None = None
    ) -> None:
        """Confirm TOTP enrolment with a code from the authenticator app.

        ``code`` is the 6-digit code (a ``str`` or ``SecretStr``); ``friendly_device_name``
        (optional, 1-1024 characters) names the authenticator in the user's settings.

        Raises, besides the class's common errors:
        :class:`~cognito_mfa.errors.InvalidInput` (before sending: the code is not 6 digits,
        an empty or too long device name),
        :class:`~cognito_mfa.errors.EnableSoftwareTokenMFA` (a wrong code, or Cognito answered
        ``Status: ERROR``, e.g. clock skew or too many tries),
        :class:`~cognito_mfa.errors.CodeMismatch`,
        :class:`~cognito_mfa.errors.SoftwareTokenMFANotFound` (no associated token),
        :class:`~cognito_mfa.errors.InvalidParameter`.
        """
        __tracebackhide__ = True  # keeps the code out of pytest's failure output
        user_code = check_code(code, MfaType.SOFTWARE_TOKEN_MFA.code_length)
        if friendly_device_name is not None:
            check_device_name(friendly_device_name)
        response = await self._call(
            protocol.user_verify_software_token(user_code, friendly_device_name)
        )
        status, _ = parse_verify_software_token(response)
        if status is VerifyStatus.ERROR:
            # Cognito's second failure form: HTTP 200 with Status ERROR (docs/protocol.md §7.2)
            raise EnableSoftwareTokenMFA(
                "VerifySoftwareToken answered Status ERROR (clock skew or too many attempts)",
                code="EnableSoftwareTokenMFAException",
                operation="VerifySoftwareToken",
            )

    # --- preferences ----------------------------------------------------------------------

    async def set_user_mfa_preference(
        self,
        sms: MfaSettings | None = None,
        software_token: MfaSettings | None = None,
        email: MfaSettings | None = None,
    ) -> None:
        """Enable, disable or prefer factors; ``None`` leaves a factor as it is.

        Checked before sending: each argument is an :class:`MfaSettings` or ``None``, at
        least one is given and at most one is preferred.

        Raises, besides the class's common errors:
        :class:`~cognito_mfa.errors.InvalidInput` (before sending),
        :class:`~cognito_mfa.errors.InvalidParameter` (e.g. enabling TOTP before
        :meth:`verify_software_token` succeeded: ``User does not have delivery config set to
        turn on SOFTWARE_TOKEN_MFA``), :class:`~cognito_mfa.errors.PasswordResetRequired`,
        :class:`~cognito_mfa.errors.UserNotFound`.
        """
        await self._call(
            protocol.set_user_mfa_preference(sms=sms, software_token=software_token, email=email)
        )

    async def get_user_data(self) -> UserData:
        """The user's attributes, enabled factors, preferred factor and legacy MFAOptions.

        Raises, besides the class's common errors:
        :class:`~cognito_mfa.errors.UserNotFound`.
        """
        return parse_user_data(await self._call(protocol.get_user()))

    async def global_sign_out(self) -> None:
        """Revoke all of the user's tokens everywhere; this user object is unusable after.

        Raises the class's common errors; :class:`~cognito_mfa.errors.TokenRevoked` when
        already signed out.
        """
        await self._call(protocol.global_sign_out())

    async def revoke_token(self) -> None:
        """Sign this session out: revoke its refresh token and the access tokens issued from it.

        Other sessions of the user stay signed in (unlike :meth:`global_sign_out`); this is
        what Amplify's ``signOut()`` does. The app client must allow token revocation (the
        default for clients created since 2021).

        Raises :class:`~cognito_mfa.errors.InvalidInput` when the session has no refresh
        token (nothing is sent); :class:`~cognito_mfa.errors.Unauthorized` when the app client
        may not revoke, :class:`~cognito_mfa.errors.UnsupportedOperation` when revocation is
        off for it; the transport's errors.
        """
        refresh_token = self._session.refresh_token
        if refresh_token is None:
            raise InvalidInput("this session has no refresh token to revoke")
        call = protocol.revoke_token(self._pool.app_client, refresh_token)
        await self._pool.transport.call(call.operation, call.params)

    # --- remembered devices ---------------------------------------------------------------

    async def confirm_device(self, device_name: str | None = None) -> DeviceCredentials:
        """Confirm the session's new device (``tokens.new_device``), to remember it.

        Makes a random device password and sends its SRP salt and verifier (never the
        password) with ConfirmDevice. Returns the device's credentials, to store (a bearer
        secret) and give to ``pool.sign_in(..., device=credentials)`` later. When the pool
        remembers devices only on the user's say-so, ``user_confirmation_necessary`` is True
        and the device is remembered once :meth:`remember_device` is called.

        ``device_name`` (optional, 1-1024 characters) is shown in device lists.

        Raises, besides the class's common errors:
        :class:`~cognito_mfa.errors.InvalidInput` (before sending: the session has no new
        device, a bad name), :class:`~cognito_mfa.errors.DeviceKeyExists` (already
        confirmed), :class:`~cognito_mfa.errors.ResourceNotFound` (unknown device),
        :class:`~cognito_mfa.errors.InvalidParameter`.
        """
        __tracebackhide__ = True  # keeps the device password out of pytest's failure output
        new = self._session.new_device_metadata
        if new is None:
            raise InvalidInput(
                "the session has no new device: the pool does not track devices, or the "
                "sign-in already used one"
            )
        if device_name is not None:
            check_device_name(device_name)
        random_bytes = self._pool.random_bytes
        password = SecretStr(srp.device_password(random_bytes(srp.DEVICE_PASSWORD_BYTES)))
        # boxed: the verifier is derived from the device password, so no plain local holds it
        config = Hidden(
            await anyio.to_thread.run_sync(
                partial(
                    srp.device_verifier_config,
                    new.device_group_key,
                    new.device_key,
                    password.get_secret_value(),
                    random_bytes(srp.DEVICE_SALT_BYTES),
                ),
                limiter=srp_limiter(),
            )
        )
        response = await self._call(
            protocol.confirm_device(
                device_key=new.device_key,
                device_name=device_name,
                salt_b64=config.value[0],
                verifier_b64=config.value[1],
            )
        )
        return DeviceCredentials(
            device_key=new.device_key,
            device_group_key=new.device_group_key,
            device_password=password,
            user_confirmation_necessary=protocol.parse_confirm_device(response),
        )

    def _device_key(self, device_key: str | None) -> str:
        if device_key is None:
            device_key = self._session.device_key
            if device_key is None:
                raise InvalidInput("the session is bound to no device: pass device_key")
        return check_device_key(device_key)

    async def set_device_status(self, device_key: str, remembered: bool) -> None:
        """UpdateDeviceStatus: remember the device (it may then stand in for MFA) or not.

        Raises, besides the class's common errors:
        :class:`~cognito_mfa.errors.InvalidInput` (before sending),
        :class:`~cognito_mfa.errors.ResourceNotFound` (unknown device),
        :class:`~cognito_mfa.errors.InvalidParameter`.
        """
        key = check_device_key(device_key)
        if not isinstance(remembered, bool):
            raise InvalidInput("remembered must be True or False")
        await self._call(protocol.update_device_status(key, remembered=remembered))

    async def remember_device(self, device_key: str | None = None) -> None:
        """Remember a device (``None``: this session's device). Raises as
        :meth:`set_device_status`, and InvalidInput when ``None`` and the session has no
        device."""
        await self.set_device_status(self._device_key(device_key), True)

    async def forget_device(self, device_key: str | None = None) -> None:
        """ForgetDevice (``None``: this session's device): its credentials stop working and
        its next sign-in gets the MFA challenge. Raises as :meth:`set_device_status`."""
        await self._call(protocol.forget_device(self._device_key(device_key)))

    async def list_devices(self) -> list[Device]:
        """ListDevices: every device Cognito remembers for the user, all pages.

        Raises, besides the class's common errors:
        :class:`~cognito_mfa.errors.InvalidParameter`.
        """
        devices: list[Device] = []
        token: str | None = None
        while True:
            page, token = protocol.parse_device_list(await self._call(protocol.list_devices(token)))
            devices += page
            if token is None:
                return devices

    async def get_device(self, device_key: str) -> Device:
        """GetDevice: one device of the user. Raises as :meth:`set_device_status`."""
        response = await self._call(protocol.get_device(check_device_key(device_key)))
        return protocol.parse_device(response.get("Device"))

    # --- legacy, deprecated as in amazon-cognito-identity-js ------------------------------

    async def enable_mfa(self) -> None:
        """Deprecated: turn SMS MFA on with the legacy SetUserSettings.

        Use ``set_user_mfa_preference(sms=MfaSettings(enabled=True))`` instead.

        Raises, besides the class's common errors:
        :class:`~cognito_mfa.errors.InvalidParameter` (e.g. no ``phone_number``).
        """
        warnings.warn(
            "enable_mfa() is deprecated: use "
            "set_user_mfa_preference(sms=MfaSettings(enabled=True, preferred=True))",
            DeprecationWarning,
            stacklevel=2,
        )
        await self._call(protocol.legacy_settings(enabled=True))

    async def disable_mfa(self) -> None:
        """Deprecated: turn SMS MFA off with the legacy SetUserSettings.

        Use ``set_user_mfa_preference(sms=MfaSettings(enabled=False))`` instead.

        Raises only the class's common errors.
        """
        warnings.warn(
            "disable_mfa() is deprecated: use "
            "set_user_mfa_preference(sms=MfaSettings(enabled=False))",
            DeprecationWarning,
            stacklevel=2,
        )
        await self._call(protocol.legacy_settings(enabled=False))

    async def get_mfa_options(self) -> tuple[MfaOption, ...]:
        """Deprecated: the legacy ``MFAOptions`` (SMS only). Use :meth:`get_user_data`.

        Raises only the class's common errors.
        """
        warnings.warn(
            "get_mfa_options() is deprecated: use get_user_data(), whose mfa_options, "
            "enabled_mfa and preferred_mfa fields cover it",
            DeprecationWarning,
            stacklevel=2,
        )
        return parse_legacy_mfa_options(await self._call(protocol.get_user()))


# --- server side (IAM credentials on the pool) ---------------------------------------------


async def admin_set_user_mfa_preference(
    pool: PoolLike,
    username: str,
    *,
    sms: MfaSettings | None = None,
    software_token: MfaSettings | None = None,
    email: MfaSettings | None = None,
) -> None:
    """AdminSetUserMFAPreference: set ``username``'s factors (same rules as the user method).

    Needs AWS credentials allowed to call ``cognito-idp:AdminSetUserMFAPreference``.

    Raises, besides the admin functions' common errors (module docstring):
    :class:`~cognito_mfa.errors.InvalidParameter` (e.g. TOTP not verified).
    """
    _check_username(username)
    call = protocol.admin_set_user_mfa_preference(
        pool.pool_id, username, sms=sms, software_token=software_token, email=email
    )
    await pool.transport.call(call.operation, call.params)


async def admin_get_user(pool: PoolLike, username: str) -> UserData:
    """AdminGetUser: ``username``'s attributes, status and MFA settings.

    Needs AWS credentials allowed to call ``cognito-idp:AdminGetUser``.

    Raises only the admin functions' common errors (module docstring).
    """
    _check_username(username)
    call = protocol.admin_get_user(pool.pool_id, username)
    return parse_user_data(await pool.transport.call(call.operation, call.params))


async def admin_list_devices(pool: PoolLike, username: str) -> list[Device]:
    """AdminListDevices: every device of ``username``, all pages. Raises as
    :func:`admin_get_user`."""
    _check_username(username)
    devices: list[Device] = []
    token: str | None = None
    while True:
        call = protocol.admin_list_devices(pool.pool_id, username, token)
        page, token = protocol.parse_device_list(
            await pool.transport.call(call.operation, call.params)
        )
        devices += page
        if token is None:
            return devices


async def admin_get_device(pool: PoolLike, username: str, device_key: str) -> Device:
    """AdminGetDevice. Raises ResourceNotFound for an unknown device, and as
    :func:`admin_get_user`."""
    _check_username(username)
    call = protocol.admin_get_device(pool.pool_id, username, check_device_key(device_key))
    response = await pool.transport.call(call.operation, call.params)
    return protocol.parse_device(response.get("Device"))


async def admin_forget_device(pool: PoolLike, username: str, device_key: str) -> None:
    """AdminForgetDevice. Raises ResourceNotFound for an unknown device, and as
    :func:`admin_get_user`."""
    _check_username(username)
    call = protocol.admin_forget_device(pool.pool_id, username, check_device_key(device_key))
    await pool.transport.call(call.operation, call.params)


async def admin_update_device_status(
    pool: PoolLike, username: str, device_key: str, *, remembered: bool
) -> None:
    """AdminUpdateDeviceStatus. Raises ResourceNotFound for an unknown device, and as
    :func:`admin_get_user`."""
    _check_username(username)
    key = check_device_key(device_key)
    if not isinstance(remembered, bool):
        raise InvalidInput("remembered must be True or False")
    call = protocol.admin_update_device_status(pool.pool_id, username, key, remembered=remembered)
    await pool.transport.call(call.operation, call.params)
