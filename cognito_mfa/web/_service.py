"""A sign-in spread over several HTTP requests: :class:`WebSignIn`, and its typed outcomes.

Each step of a sign-in ends with the flow's state sealed (:class:`~cognito_mfa.web.AppKey`)
and stored (:class:`~cognito_mfa.web.FlowStore`) under a fresh random handle, which the caller
hands to the browser; the next request takes the record (exactly one request can), resumes the
flow with ``pool.resume`` and answers it. Whatever the answer leads to is stored under a new
handle, so a late duplicate of an old request finds its handle already answered rather than
answering the next challenge with a stale value.
"""

from __future__ import annotations

import base64
import json
import secrets
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

from pydantic import SecretStr, ValidationError

from .. import AuthFlow, FlowState, Phase
from ..challenges import (
    Challenge,
    EmailOtpChallenge,
    MfaCodeChallenge,
    MfaSetupChallenge,
    NewPasswordRequiredChallenge,
    SelectMfaTypeChallenge,
    SmsMfaChallenge,
    SoftwareTokenMfaChallenge,
)
from ..errors import CognitoError, FlowStateError, InvalidInput
from ..models import CognitoUserSession, DeviceCredentials, MfaType
from ..totp import SoftwareTokenSecret
from ._errors import SignInExpired, SignInStateRefused
from ._seal import AppKey, new_nonce
from ._store import FlowStore, MemoryFlowStore, check_handle, check_ttl

if TYPE_CHECKING:
    from ..client_settings import AppClientSettings
    from ..pool import UserPool

__all__ = [
    "DEFAULT_TTL",
    "ChallengePending",
    "Outcome",
    "SignedIn",
    "TotpSetup",
    "WebSignIn",
    "login_names",
    "public_challenge",
]

_DEVICE_BINDING: Final = "remembered device"

#: Cognito's default AuthSessionValidity: 3 minutes.
DEFAULT_TTL: Final = 180.0


@dataclass(frozen=True, repr=False)
class SignedIn:
    """The sign-in is complete: ``tokens`` are the user's (bearer secrets, masked in reprs)."""

    tokens: CognitoUserSession

    def __repr__(self) -> str:
        return "SignedIn(tokens=<hidden>)"


@dataclass(frozen=True)
class ChallengePending:
    """The sign-in waits for an answer to ``challenge``, stored under ``handle``.

    ``rejected`` is set when the answer just given was refused but the same challenge is still
    open (a wrong code, a malformed value, a password the policy refuses): show it and ask
    again. ``handle`` is a bearer secret (not in the repr): an HttpOnly cookie, never a URL.
    """

    handle: str = field(repr=False)
    challenge: Challenge
    rejected: CognitoError | None = None

    def public(self) -> dict[str, Any]:
        """The challenge's public fields as JSON-ready data (:func:`public_challenge`)."""
        return public_challenge(self.challenge)


@dataclass(frozen=True)
class TotpSetup:
    """MFA_SETUP with TOTP: ``secret`` to show (QR code), then answer with a code from the app.

    The sign-in is stored under ``handle`` (a bearer secret, not in the repr).
    """

    handle: str = field(repr=False)
    secret: SoftwareTokenSecret
    username: str


Outcome = SignedIn | ChallengePending
"""What a step of a web sign-in leads to."""


#: The ID token's claims that hold the other names a user may sign in with (aliases).
_ALIAS_CLAIMS: Final = ("email", "phone_number", "preferred_username")


def login_names(tokens: CognitoUserSession) -> tuple[str, ...]:
    """The names a signed-in user may type at the next sign-in: the user name, then the
    ID token's ``email``, ``phone_number`` and ``preferred_username`` when present (the
    aliases a pool may allow). Read from the tokens Cognito just issued, unverified: they
    only label a remembered device, they grant nothing."""
    claims = tokens.unverified_id_claims
    names = [tokens.username or ""]
    names += [value for key in _ALIAS_CLAIMS if isinstance(value := claims.get(key), str)]
    return tuple(name for name in dict.fromkeys(names) if name)


def public_challenge(challenge: Challenge) -> dict[str, Any]:
    """A challenge's fields that may be shown to the user: ``name``, and per challenge the
    masked ``destination``, the ``options`` (wire names), ``code_length``,
    ``required_attributes``. Never the session."""
    out: dict[str, Any] = {"name": challenge.challenge_name}
    if isinstance(challenge, SmsMfaChallenge | EmailOtpChallenge):
        out["destination"] = challenge.destination
        out["delivery_medium"] = challenge.delivery_medium
    if isinstance(challenge, SoftwareTokenMfaChallenge):
        out["friendly_device_name"] = challenge.friendly_device_name
    if isinstance(challenge, MfaCodeChallenge):
        out["code_length"] = challenge.code_length
    if isinstance(challenge, SelectMfaTypeChallenge | MfaSetupChallenge):
        out["options"] = [option.value for option in challenge.options]
    if isinstance(challenge, NewPasswordRequiredChallenge):
        out["required_attributes"] = list(challenge.required_attributes)
    return out


class WebSignIn:
    """Sign-ins across requests and replicas, over one open :class:`~cognito_mfa.UserPool`.

    ``key``: the application key every replica shares. ``store``: where sealed states live
    (default: a :class:`~cognito_mfa.web.MemoryFlowStore`, for one process). ``ttl``: how long
    a step may wait, in seconds: the app client's AuthSessionValidity, which Cognito gives
    each challenge session (3 minutes by default, :data:`DEFAULT_TTL`). ``clock`` (seconds
    since the epoch) and ``new_handle`` are for tests.

    ``await WebSignIn.for_app_client(pool, key, store)`` reads the TTL from the app client
    itself (DescribeUserPoolClient, which needs IAM credentials); a service without that
    permission builds ``WebSignIn(..., ttl=...)`` with the value set on the app client.
    ``client_settings`` holds what :meth:`for_app_client` read (None otherwise).
    """

    def __init__(
        self,
        pool: UserPool,
        key: AppKey,
        store: FlowStore | None = None,
        *,
        ttl: float = DEFAULT_TTL,
        clock: Callable[[], float] = time.time,
        new_handle: Callable[[], str] | None = None,
    ) -> None:
        if not isinstance(key, AppKey):
            raise InvalidInput("key must be an AppKey (AppKey.from_env() or AppKey(bytes))")
        self.pool = pool
        self.store: FlowStore = store if store is not None else MemoryFlowStore()
        self.ttl = check_ttl(ttl)
        self._key = key
        self._clock = clock
        self._new_handle = new_handle or (lambda: secrets.token_urlsafe(32))
        self.client_settings: AppClientSettings | None = None

    @classmethod
    async def for_app_client(
        cls,
        pool: UserPool,
        key: AppKey,
        store: FlowStore | None = None,
        *,
        clock: Callable[[], float] = time.time,
        new_handle: Callable[[], str] | None = None,
    ) -> WebSignIn:
        """A :class:`WebSignIn` whose ``ttl`` is the app client's AuthSessionValidity, read
        with :meth:`UserPool.describe_app_client <cognito_mfa.UserPool.describe_app_client>`
        (the pool must be open; the call needs IAM credentials allowed
        ``cognito-idp:DescribeUserPoolClient``). The settings read stay in
        ``client_settings`` (e.g. the refresh token's validity, for the token cookies).

        Takes the arguments of the constructor except ``ttl``. Raises InvalidInput (a bad
        argument, before anything is sent) and the errors of ``describe_app_client``
        (CredentialsRequired, NotAuthorized, AccessDenied, ResourceNotFound, transport
        errors, PoolClosed): a caller without the permission falls back to the constructor
        with ``ttl=``.
        """
        web = cls(pool, key, store, clock=clock, new_handle=new_handle)
        settings = await pool.describe_app_client()
        web.ttl = check_ttl(settings.auth_session_validity.total_seconds())
        web.client_settings = settings
        return web

    def __repr__(self) -> str:
        return f"<WebSignIn pool={self.pool.pool_id} store={self.store!r}>"

    # --- the steps ------------------------------------------------------------------------

    async def start(
        self,
        username: str,
        password: str | SecretStr,
        *,
        client_metadata: Mapping[str, str] | None = None,
        device: DeviceCredentials | None = None,
    ) -> Outcome:
        """Check the password; returns :class:`SignedIn` or the first :class:`ChallengePending`.

        ``device``: the browser's remembered device (:meth:`open_device`); a device Cognito
        still remembers signs in with no MFA challenge.

        Raises InvalidInput (before anything is sent) and whatever the sign-in raises
        (NotAuthorized for a wrong password, PasswordAttemptsExceeded, DeviceNotFound when
        Cognito no longer knows ``device``: drop it and start again without it, ...).
        """
        __tracebackhide__ = True  # keeps the password out of pytest's failure output
        flow = self.pool.sign_in(username, password, client_metadata=client_metadata, device=device)
        return await self._next(flow)

    async def answer(
        self,
        handle: str,
        *,
        code: str | SecretStr | None = None,
        mfa_type: MfaType | str | None = None,
        new_password: str | SecretStr | None = None,
        attributes: Mapping[str, str] | None = None,
        friendly_device_name: str | None = None,
    ) -> Outcome:
        """Answer the sign-in stored under ``handle`` with exactly one of ``code`` (SMS, TOTP,
        e-mail, or the TOTP set-up's first code), ``mfa_type`` (SELECT_MFA_TYPE) or
        ``new_password`` (NEW_PASSWORD_REQUIRED, with ``attributes`` when required).

        The old handle is used up. A refused answer that leaves the challenge open returns
        :class:`ChallengePending` with ``rejected`` set and a new handle. Raises InvalidInput
        (not exactly one answer; nothing taken), SignInExpired, SignInAlreadyAnswered,
        SignInStateRefused (nothing sent), and any error that ends the sign-in
        (SessionExpired, PasswordAttemptsExceeded, ...).
        """
        __tracebackhide__ = True  # keeps the answer out of pytest's failure output
        given = [value for value in (code, mfa_type, new_password) if value is not None]
        if len(given) != 1:
            raise InvalidInput("give exactly one of code, mfa_type and new_password")
        flow, secret, expires = await self._resume(handle)
        session = flow.state.session
        challenge = flow.challenge
        try:
            if code is not None:
                if isinstance(challenge, MfaCodeChallenge):
                    await challenge.answer(code)
                elif isinstance(challenge, MfaSetupChallenge) and flow.phase is Phase.ASSOCIATED:
                    await challenge.verify_software_token(code, friendly_device_name)
                else:
                    raise FlowStateError("this step of the sign-in does not take a code")
            elif mfa_type is not None:
                if not isinstance(challenge, SelectMfaTypeChallenge):
                    raise FlowStateError("this step of the sign-in does not take an MFA type")
                await challenge.select(mfa_type)
            else:
                assert new_password is not None
                if not isinstance(challenge, NewPasswordRequiredChallenge):
                    raise FlowStateError("this step of the sign-in does not take a new password")
                await challenge.answer(new_password, attributes)
        except CognitoError as exc:
            pending = flow.challenge
            if pending is None:  # the sign-in is over: nothing to store again
                raise
            # the same Cognito session still runs on its own clock: keep its deadline
            same = secrets.compare_digest(
                flow.state.session.get_secret_value().encode(), session.get_secret_value().encode()
            )
            kept = expires if same else None
            handle = await self._save(flow, secret, expires=kept)
            return ChallengePending(handle, pending, rejected=exc)
        return await self._next(flow)

    async def totp_setup(self, handle: str) -> TotpSetup | ChallengePending:
        """MFA_SETUP with TOTP: get the secret to show (AssociateSoftwareToken, once; asked
        again, the same secret is returned). Then :meth:`answer` with ``code``.

        When the step is not an MFA_SETUP offering TOTP, nothing is sent and the result is
        :class:`ChallengePending` with ``rejected`` a FlowStateError. Raises SignInExpired,
        SignInAlreadyAnswered, SignInStateRefused, and the errors of
        :meth:`~cognito_mfa.MfaSetupChallenge.associate_software_token` (which end it).
        """
        flow, secret, stored_deadline = await self._resume(handle)
        expires: float | None = stored_deadline
        challenge = flow.challenge
        if secret is None:
            if not (
                isinstance(challenge, MfaSetupChallenge)
                and MfaType.SOFTWARE_TOKEN_MFA in challenge.options
                and flow.phase is not Phase.ASSOCIATED
            ):
                # nothing was sent: the sign-in stays usable under a new handle
                assert challenge is not None
                refused = FlowStateError("this step of the sign-in is not a TOTP set-up")
                kept = await self._save(flow, None, expires=expires)
                return ChallengePending(kept, challenge, rejected=refused)
            secret = await challenge.associate_software_token()
            expires = None  # AssociateSoftwareToken answered with a new session
        assert challenge is not None
        return TotpSetup(
            await self._save(flow, secret, expires=expires), secret, challenge.username
        )

    async def discard(self, handle: str) -> None:
        """Forget the sign-in stored under ``handle`` (the user gave up)."""
        try:
            await self.store.discard(check_handle(handle))
        except SignInExpired:
            return

    # --- remembered devices ---------------------------------------------------------------

    async def remember_device(
        self, tokens: CognitoUserSession, device_name: str | None = None
    ) -> DeviceCredentials:
        """Confirm the device of a finished sign-in (``tokens.new_device``) and remember it
        (ConfirmDevice, then UpdateDeviceStatus when the pool waits for the user's say-so).

        Returns the device's credentials: seal them with :meth:`seal_device` for the browser.
        Raises InvalidInput (before sending: the sign-in made no new device, because the pool
        does not track devices or the sign-in used a remembered one) and the errors of
        :meth:`~cognito_mfa.CognitoUser.confirm_device`.
        """
        user = self.pool.user(tokens)
        credentials = await user.confirm_device(device_name)
        if credentials.user_confirmation_necessary:
            await user.remember_device(credentials.device_key)
        return credentials

    def seal_device(
        self, credentials: DeviceCredentials, username: str, *, aliases: Iterable[str] = ()
    ) -> str:
        """The device's credentials for ``username`` sealed with the application key
        (AES-256-GCM, bound to this pool and app client), as cookie-safe text.

        ``aliases``: other names the user signs in with (e-mail address, phone number,
        preferred user name: :func:`login_names` reads them from the tokens); the device is
        used when the name typed is ``username`` or one of them."""
        if not isinstance(credentials, DeviceCredentials):
            raise InvalidInput("credentials must be DeviceCredentials")
        if isinstance(aliases, str) or not all(isinstance(a, str) for a in aliases):
            raise InvalidInput("aliases must be an iterable of strings")
        names = [name for name in dict.fromkeys(aliases) if name and name != username]
        payload: dict[str, Any] = {
            "username": username,
            "device": json.loads(credentials.model_dump_json()),
        }
        if names:
            payload["aliases"] = names
        record = self._key.seal(
            json.dumps(payload, separators=(",", ":")).encode("utf-8"),
            binding=(_DEVICE_BINDING, self.pool.pool_id, self.pool.client_id),
            nonce=new_nonce(),
        )
        return base64.urlsafe_b64encode(record).decode("ascii").rstrip("=")

    def open_device(
        self, sealed: str, username: str, *, ignore_case: bool = True
    ) -> DeviceCredentials | None:
        """The credentials :meth:`seal_device` sealed for ``username`` (the user's name or one
        of the aliases it was sealed with); None when ``sealed`` was sealed for another user
        (keep it: it is that user's), and SignInStateRefused when it is not an intact record
        of this application, pool and app client (drop it).

        ``ignore_case`` (the default): a name typed in another case matches too, as it signs
        in to the same user in a case-insensitive pool (``UsernameConfiguration.CaseSensitive``
        false, what AWS recommends). In a case-sensitive pool it may be another user: Cognito
        then answers that the device does not exist (DeviceNotFound), and the cookie is still
        its owner's. :meth:`open_device` with ``ignore_case=False`` tells the two apart.
        """
        try:
            record = base64.urlsafe_b64decode(sealed + "=" * (-len(sealed) % 4))
        except (ValueError, TypeError):
            raise SignInStateRefused("the device record is not base64") from None
        plain = self._key.open(
            record, binding=(_DEVICE_BINDING, self.pool.pool_id, self.pool.client_id)
        )
        try:
            payload = json.loads(plain)
            names = [payload["username"], *payload.get("aliases", ())]
            credentials = DeviceCredentials.model_validate(payload["device"])
        except (ValueError, KeyError, TypeError, ValidationError):
            raise SignInStateRefused("the device record could not be read") from None
        if not all(isinstance(name, str) for name in names):
            raise SignInStateRefused("the device record could not be read")
        typed = username.encode("utf-8", "replace")
        folded = username.lower().encode("utf-8", "replace")
        # every name compared, both ways, in constant time each: which one matched, and how,
        # is not timed
        exact = [secrets.compare_digest(name.encode("utf-8", "replace"), typed) for name in names]
        caseless = [
            secrets.compare_digest(name.lower().encode("utf-8", "replace"), folded)
            for name in names
        ]
        return credentials if any(exact) or (ignore_case and any(caseless)) else None

    # --- storing and resuming -------------------------------------------------------------

    async def _next(self, flow: AuthFlow) -> Outcome:
        try:
            challenge = await anext(aiter(flow))
        except StopAsyncIteration:
            return SignedIn(flow.tokens)
        return ChallengePending(await self._save(flow, None), challenge)

    async def _save(
        self, flow: AuthFlow, secret: SoftwareTokenSecret | None, *, expires: float | None = None
    ) -> str:
        """Seal and store the flow under a new handle. ``expires``: the deadline of a Cognito
        session that was stored before (a refused answer keeps its session, and the session
        its clock); None for a session Cognito just issued (the full TTL)."""
        state = flow.state
        handle = check_handle(self._new_handle())
        now = self._clock()
        deadline = now + self.ttl if expires is None else expires
        if deadline <= now:
            raise SignInExpired("the sign-in expired")
        payload: dict[str, Any] = {
            "expires": deadline,
            "state": json.loads(state.model_dump_json()),
        }
        if secret is not None:
            payload["totp"] = secret.secret_code.get_secret_value()
        record = self._key.seal(
            json.dumps(payload, separators=(",", ":")).encode("utf-8"),
            binding=(handle, self.pool.pool_id, self.pool.client_id),
            nonce=new_nonce(),
        )
        await self.store.put(handle, record, ttl=deadline - now)
        return handle

    async def _resume(self, handle: str) -> tuple[AuthFlow, SoftwareTokenSecret | None, float]:
        record = await self.store.take(check_handle(handle))
        plain = self._key.open(record, binding=(handle, self.pool.pool_id, self.pool.client_id))
        try:
            payload = json.loads(plain)
            expires = float(payload["expires"])
            state = FlowState.model_validate(payload["state"])
            totp = payload.get("totp")
            secret = None if totp is None else SoftwareTokenSecret(secret_code=SecretStr(totp))
        except (ValueError, KeyError, TypeError, ValidationError):
            # authenticated yet unreadable: written by another version; refuse, send nothing
            raise SignInStateRefused("the stored sign-in could not be read") from None
        if expires <= self._clock():
            raise SignInExpired("the sign-in expired")
        try:
            return self.pool.resume(state), secret, expires
        except InvalidInput:
            raise SignInStateRefused("the stored sign-in does not fit this pool") from None
