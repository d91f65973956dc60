"""The Cognito user-pool emulator: a pure service model behind Cognito's JSON 1.1 wire protocol.

:class:`Emulator` consumes one request (the ``X-Amz-Target`` value, the body bytes, whether a
SigV4 ``Authorization`` header was present) and returns a :class:`WireResponse`; it never does
I/O and never raises. The fronts (respx mount, loopback server) only move bytes, and serialise
calls with a lock. Time and randomness are injected (``clock``, ``random_bytes``); the emulator
keeps an offset that :meth:`Emulator.advance` moves so tests expire sessions and walk TOTP
windows without sleeping.

Behaviour follows ``reference/cognito-wire.md`` (cited as §n below): real SRP (§4), SECRET_HASH
(§6), the challenge-selection table (§3.7), MFA_SETUP (§3.4), sessions (§7.1), wrong codes,
the attempt limit and the exponential lockout across sessions (§7.2; ``mfa_lockout``), TOTP
(§7.3), GetUser MFA fields (§7.4), preferences (§7.5-7.7), tokens (§7.8).
Choices made where the reference is UNCONFIRMED are marked "UNCONFIRMED:".
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Final, Literal

import pyotp

from .. import srp
from . import _codes
from ._faults import Fault, FaultQueue
from ._model import (
    AuthSession,
    Client,
    PasswordPolicy,
    Pool,
    RefreshRecord,
    SrpState,
    User,
    pool_from_state,
    pool_to_state,
    refresh_from_state,
    refresh_to_state,
)
from ._tokens import ACCESS_SCOPE, SigningKey, TokenError, issuer, unverified_issuer
from ._wire import SHAPES, SIGNED_OPERATIONS, CognitoError, decode_body, invalid, validate

__all__ = ["SHAPES", "SIGNED_OPERATIONS", "Emulator", "SentMessage", "WireResponse"]

TARGET_PREFIX: Final = "AWSCognitoIdentityProviderService."
CONTENT_TYPE: Final = "application/x-amz-json-1.1"
ACCOUNT_ID: Final = "123456789012"


@dataclass(frozen=True)
class WireResponse:
    """One HTTP answer: status, JSON body, headers, and how long the front must wait first."""

    status: int
    body: bytes = field(repr=False)  # carries tokens and sessions
    headers: dict[str, str]
    delay: float = 0.0


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


_MSG_BAD_PASSWORD: Final = "Incorrect username or password."
_MSG_SESSION: Final = "Invalid session for the user."
_MSG_SESSION_USED: Final = "Invalid session for the user, session can only be used once."
_MSG_SESSION_EXPIRED: Final = "Invalid session for the user, session is expired."
# UNCONFIRMED (§7.2, §9.3): the error type of the MFA lockout; the message is documented
_MSG_ATTEMPTS_EXCEEDED: Final = "Password attempts exceeded"
# §7.2 [DOC]: the exponential MFA lockout
_MFA_LOCKOUT_AFTER: Final = 5
_MFA_LOCKOUT_CAP: Final = 15 * 60.0
_MFA_LOCKOUT_RESET: Final = 15 * 60.0
_MSG_NO_USER: Final = "User does not exist."
_MSG_TOTP_POOL: Final = "Software Token MFA has not been enabled by the userPool"
_MSG_VERIFY_MISMATCH: Final = "Code mismatch and fail enable Software Token MFA"
_WRONG_CODE: Final = {
    "SMS_MFA": "Invalid code or auth state for the user.",
    "SOFTWARE_TOKEN_MFA": "Invalid code received for user",
    # UNCONFIRMED: the EMAIL_OTP text; SMS's wording is the closest observed one
    "EMAIL_OTP": "Invalid code or auth state for the user.",
}
_CODE_KEYS: Final = {
    "SMS_MFA": "SMS_MFA_CODE",
    "SOFTWARE_TOKEN_MFA": "SOFTWARE_TOKEN_MFA_CODE",
    "EMAIL_OTP": "EMAIL_OTP_CODE",
}
_TOTP_STEP: Final = 30
_UNIT_SECONDS: Final = {"seconds": 1, "minutes": 60, "hours": 3600, "days": 86400}
_REFRESH_HEADER: Final = "eyJjdHkiOiJKV1QiLCJlbmMiOiJBMjU2R0NNIiwiYWxnIjoiUlNBLU9BRVAifQ"


def _not_authorized(message: str) -> CognitoError:
    return CognitoError("NotAuthorizedException", message)


def _digest(token: str) -> str:
    # refresh tokens are kept by digest only, so state files and reprs never hold them
    return hashlib.sha256(token.encode()).hexdigest()


class Emulator:
    """A Cognito user-pool service: call :meth:`handle` with each request's target and body.

    Not thread-safe by design: the fronts serialise calls. No per-request state lives outside
    the records the requests change.
    """

    def __init__(
        self,
        *,
        clock: Callable[[], float] = time.time,
        random_bytes: Callable[[int], bytes] = secrets.token_bytes,
        region: str = "us-east-1",
        totp_reuse: bool = False,
        mfa_attempt_limit: int = 5,
        password_verifier_timeout: float | None = None,
        mfa_lockout: bool = True,
    ) -> None:
        if mfa_attempt_limit < 1:
            raise ValueError("mfa_attempt_limit must be at least 1")
        self._clock = clock
        self._random = random_bytes
        self._offset = 0.0
        self.region = region
        self.totp_reuse = totp_reuse
        self.mfa_attempt_limit = mfa_attempt_limit
        self.mfa_lockout = mfa_lockout
        self.password_verifier_timeout = password_verifier_timeout
        self.messages: list[SentMessage] = []
        self._pools: dict[str, Pool] = {}
        self._sessions: dict[str, AuthSession] = {}
        self._secret_blocks: dict[str, str] = {}  # SECRET_BLOCK -> session token
        self._refresh: dict[str, RefreshRecord] = {}  # digest -> record
        self._faults = FaultQueue()
        self._handlers: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
            "InitiateAuth": lambda d: self._initiate(d, admin=False),
            "AdminInitiateAuth": lambda d: self._initiate(d, admin=True),
            "RespondToAuthChallenge": lambda d: self._respond(d, admin=False),
            "AdminRespondToAuthChallenge": lambda d: self._respond(d, admin=True),
            "AssociateSoftwareToken": self._associate_software_token,
            "VerifySoftwareToken": self._verify_software_token,
            "SetUserMFAPreference": self._set_user_mfa_preference,
            "AdminSetUserMFAPreference": self._admin_set_user_mfa_preference,
            "SetUserSettings": self._set_user_settings,
            "AdminSetUserSettings": self._admin_set_user_settings,
            "GetUser": self._get_user,
            "AdminGetUser": self._admin_get_user,
            "GlobalSignOut": self._global_sign_out,
            "AdminCreateUser": self._admin_create_user,
            "AdminSetUserPassword": self._admin_set_user_password,
            "AdminUpdateUserAttributes": self._admin_update_user_attributes,
            "AdminDeleteUser": self._admin_delete_user,
            "CreateUserPool": self._create_user_pool,
            "DescribeUserPool": self._describe_user_pool,
            "DeleteUserPool": self._delete_user_pool,
            "CreateUserPoolClient": self._create_user_pool_client,
            "DescribeUserPoolClient": self._describe_user_pool_client,
            "SetUserPoolMfaConfig": self._set_user_pool_mfa_config,
            "GetUserPoolMfaConfig": self._get_user_pool_mfa_config,
        }

    # --- time ---------------------------------------------------------------------------------

    def now(self) -> float:
        """The emulator's current time: the injected clock plus every :meth:`advance`."""
        return self._clock() + self._offset

    def advance(self, seconds: float) -> None:
        """Move the emulator's clock forward (expire sessions, move TOTP windows)."""
        if seconds < 0:
            raise ValueError("the emulator's clock only moves forward")
        self._offset += seconds

    # --- faults -------------------------------------------------------------------------------

    def inject_fault(
        self,
        operation: str,
        *,
        error: str | None = "InternalErrorException",
        message: str | None = None,
        count: int = 1,
        delay: float = 0.0,
    ) -> None:
        """Make the next ``count`` calls of ``operation`` fail with ``error`` (after ``delay``).

        ``error=None`` only delays the answer. InternalErrorException answers with status 500,
        any other error with 400.
        """
        if operation not in self._handlers:
            raise ValueError(f"unknown operation {operation!r}")
        if count < 1:
            raise ValueError("count must be at least 1")
        if delay < 0:
            raise ValueError("delay must not be negative")
        self._faults.add(
            operation, Fault(error=error, message=message, remaining=count, delay=delay)
        )

    def clear_faults(self) -> None:
        self._faults.clear()

    # --- the wire -----------------------------------------------------------------------------

    def handle(self, target: str | None, body: bytes, *, signed: bool) -> WireResponse:
        """Answer one JSON 1.1 request. Never raises: failures are Cognito-shaped errors."""
        delay = 0.0
        try:
            operation = self._operation_of(target)
            fault = self._faults.take(operation)
            if fault is not None:
                delay = fault.delay
                if fault.error is not None:
                    raise CognitoError(fault.error, FaultQueue.message_of(fault))
            if operation in SIGNED_OPERATIONS and not signed:
                # AWS's common error for an unsigned call to an IAM-authorised action:
                # MissingAuthenticationToken, HTTP 403 ("Common Errors" in the AWS API
                # references), with the SigV4 layer's text "Request is missing Authentication
                # Token". UNCONFIRMED for cognito-idp itself (AWS is not reachable from here);
                # the JSON 1.1 "__type" is spelled "<name>Exception" as other JSON services do.
                raise CognitoError(
                    "MissingAuthenticationTokenException", "Request is missing Authentication Token"
                )
            data = validate(SHAPES[operation], decode_body(body))
            result = self._handlers[operation](data)
        except CognitoError as error:
            return self._error(error, delay)
        except Exception:  # a bug must still look like Cognito, never a traceback
            return self._error(
                CognitoError("InternalErrorException", "Internal server error."), delay
            )
        return WireResponse(
            status=200,
            body=json.dumps(result).encode(),
            headers={"Content-Type": CONTENT_TYPE, "x-amzn-RequestId": self._request_id()},
            delay=delay,
        )

    def _operation_of(self, target: str | None) -> str:
        if target is None or not target.startswith(TARGET_PREFIX):
            raise CognitoError("UnknownOperationException", "Unknown operation")
        operation = target[len(TARGET_PREFIX) :]
        if operation not in self._handlers:
            raise CognitoError("UnknownOperationException", "Unknown operation")
        return operation

    def _request_id(self) -> str:
        return _codes.random_uuid(self._random)

    def _error(self, error: CognitoError, delay: float) -> WireResponse:
        body = json.dumps({"__type": error.code, "message": error.message}).encode()
        headers = {
            "Content-Type": CONTENT_TYPE,
            "x-amzn-RequestId": self._request_id(),
            "x-amzn-ErrorType": f"{error.code}:",
            "x-amzn-ErrorMessage": error.message,
        }
        return WireResponse(status=error.status, body=body, headers=headers, delay=delay)

    # --- conveniences for tests ---------------------------------------------------------------

    def last_code(self, username: str, medium: str | None = None) -> str:
        """The code of the newest message to ``username`` (internal name or destination)."""
        for message in reversed(self.messages):
            if username in (message.username, message.destination) and (
                medium is None or message.medium == medium
            ):
                return message.code
        raise LookupError(f"no message was sent to {username!r}")

    def jwks(self, pool_id: str) -> dict[str, Any] | None:
        """The JWKS document served at ``/{pool_id}/.well-known/jwks.json`` (None: no pool)."""
        pool = self._pools.get(pool_id)
        if pool is None:
            return None
        return {"keys": pool.key.jwks_keys()}

    def rotate_signing_key(self, pool_id: str, *, keep_old: bool = True) -> str:
        """Sign the pool's new tokens with a new key; return its ``kid``.

        ``keep_old``: the JWKS keeps serving the old keys, and tokens signed with them stay
        valid, until :meth:`retire_old_keys` (a key rollover, for testing token verifiers
        across one); otherwise they are dropped at once.
        """
        pool = self._pools.get(pool_id)
        if pool is None:
            raise LookupError(f"no pool {pool_id!r}")
        kid = base64.b64encode(self._random(32)).decode()
        pool.key.rotate(kid, keep_old=keep_old)
        return kid

    def retire_old_keys(self, pool_id: str) -> None:
        """Drop the pool's rotated-out keys from its JWKS: tokens signed with them stop verifying.

        Raises ``LookupError`` for an unknown pool, as :meth:`rotate_signing_key` does.
        """
        pool = self._pools.get(pool_id)
        if pool is None:
            raise LookupError(f"no pool {pool_id!r}")
        pool.key.retire_old()

    def totp_code(self, pool_id: str, username: str, at: float | None = None) -> str:
        """The TOTP code of a user's secret at ``at`` (default: now).

        Uses the pending (associated, not yet verified) secret when there is one, since that is
        the secret the next VerifySoftwareToken checks; otherwise the verified one.
        """
        pool = self._pools.get(pool_id)
        user = pool.find_user(username) if pool is not None else None
        if user is None:
            raise LookupError(f"no user {username!r} in pool {pool_id!r}")
        secret = user.totp_pending or user.totp_secret
        if secret is None:
            raise LookupError(f"user {username!r} has no TOTP secret")
        return pyotp.TOTP(secret).at(self.now() if at is None else at)

    # --- persistence --------------------------------------------------------------------------

    def to_state(self) -> dict[str, Any]:
        """Pools, clients, users (verifiers, TOTP secrets, settings), keys and refresh tokens.

        Challenge sessions, the outbox and faults are not kept: they are short-lived.
        """
        return {
            "version": 1,
            "region": self.region,
            "pools": [pool_to_state(pool) for pool in self._pools.values()],
            "refresh_tokens": [refresh_to_state(k, r) for k, r in self._refresh.items()],
        }

    @classmethod
    def from_state(cls, state: dict[str, Any], **kwargs: Any) -> Emulator:
        if state.get("version") != 1:
            raise ValueError("unsupported emulator state version")
        kwargs.setdefault("region", state.get("region", "us-east-1"))
        emulator = cls(**kwargs)
        for pool_data in state["pools"]:
            pool = pool_from_state(pool_data)
            emulator._pools[pool.id] = pool
        for record_data in state.get("refresh_tokens", []):
            key, record = refresh_from_state(record_data)
            emulator._refresh[key] = record
        return emulator

    # --- lookups ------------------------------------------------------------------------------

    def _pool(self, pool_id: str) -> Pool:
        pool = self._pools.get(pool_id)
        if pool is None:
            raise CognitoError("ResourceNotFoundException", f"User pool {pool_id} does not exist.")
        return pool

    def _client(self, client_id: str, pool_id: str | None = None) -> tuple[Pool, Client]:
        pools = [self._pool(pool_id)] if pool_id is not None else list(self._pools.values())
        for pool in pools:
            client = pool.clients.get(client_id)
            if client is not None:
                return pool, client
        raise CognitoError(
            "ResourceNotFoundException", f"User pool client {client_id} does not exist."
        )

    def _admin_user(self, data: dict[str, Any]) -> tuple[Pool, User]:
        pool = self._pool(data["UserPoolId"])
        user = pool.find_user(data["Username"])
        if user is None:
            raise CognitoError("UserNotFoundException", _MSG_NO_USER)
        return pool, user

    def _access(self, token: str) -> tuple[Pool, User, dict[str, Any]]:
        """Verify an access token (signature, expiry, revocation) and find its user."""
        iss = unverified_issuer(token)
        pool_id = iss.rsplit("/", 1)[-1] if iss else ""
        pool = self._pools.get(pool_id)
        if pool is None or iss != issuer(self.region, pool_id):
            raise _not_authorized("Invalid Access Token")
        try:
            claims = pool.key.verify(token, now=self.now(), token_use="access")
        except TokenError as error:
            if error.reason == "expired":
                raise _not_authorized("Access Token has expired") from None
            raise _not_authorized("Invalid Access Token") from None
        user = pool.users.get(str(claims.get("username", "")))
        if user is None or user.sub != claims.get("sub"):
            raise CognitoError("UserNotFoundException", _MSG_NO_USER)
        if user.origins.get(str(claims.get("origin_jti")), True):
            raise _not_authorized("Access Token has been revoked")
        return pool, user, claims

    # --- secrets and passwords ----------------------------------------------------------------

    def _check_secret_hash(self, client: Client, username: str, given: str | None) -> None:
        """SECRET_HASH = base64(HMAC-SHA256(secret, username + client_id)) (§6)."""
        if client.secret is None:
            return
        if given is None:
            raise _not_authorized(
                f"Client {client.id} is configured with secret but SECRET_HASH was not received"
            )
        expected = base64.b64encode(
            hmac.new(
                client.secret.encode(), (username + client.id).encode(), hashlib.sha256
            ).digest()
        ).decode()
        if not hmac.compare_digest(expected.encode(), given.encode()):
            raise _not_authorized(f"Unable to verify secret hash for client {client.id}")

    def _set_password(self, pool: Pool, user: User, password: str) -> None:
        salt = 0
        while salt == 0:
            salt = int.from_bytes(self._random(16), "big")
        user.salt = salt
        user.verifier = srp.verifier(pool.pool_name, user.username, password, salt)

    def _password_matches(self, pool: Pool, user: User, password: str) -> bool:
        if user.salt == 0:
            return False
        candidate = srp.verifier(pool.pool_name, user.username, password, user.salt)
        return hmac.compare_digest(
            srp.pad_hex(candidate).encode(), srp.pad_hex(user.verifier).encode()
        )

    @staticmethod
    def _check_policy(pool: Pool, password: str) -> None:
        problem = pool.policy.problem(password)
        if problem is not None:
            raise CognitoError("InvalidPasswordException", problem)

    # --- sessions -----------------------------------------------------------------------------

    def _new_session(
        self,
        pool: Pool,
        client: Client,
        user: User,
        challenge: str,
        *,
        admin: bool,
        **extra: Any,
    ) -> AuthSession:
        now = self.now()
        session = AuthSession(
            token=_codes.session_token(self._random),
            pool_id=pool.id,
            client_id=client.id,
            username=user.username,
            challenge=challenge,
            created=now,
            expires=now + 60 * client.session_validity_minutes,
            admin=admin,
            **extra,
        )
        self._sessions[session.token] = session
        self._prune_sessions(now)
        return session

    def _prune_sessions(self, now: float) -> None:
        # keep dead sessions for a while so their reuse is reported precisely, then drop them
        stale = [t for t, s in self._sessions.items() if now > s.expires + 3600]
        for token in stale:
            session = self._sessions.pop(token)
            if session.srp is not None:
                self._secret_blocks.pop(session.srp.secret_block, None)

    def _session(self, token: str) -> AuthSession:
        session = self._sessions.get(token)
        if session is None:
            raise _not_authorized(_MSG_SESSION)
        if session.used:
            raise _not_authorized(_MSG_SESSION_USED)
        if self.now() >= session.expires:
            raise _not_authorized(_MSG_SESSION_EXPIRED)
        if session.dead:
            # UNCONFIRMED (§9.3): the in-session lockout error after too many wrong codes
            raise _not_authorized(_MSG_ATTEMPTS_EXCEEDED)
        return session

    def _session_user(self, session: AuthSession) -> tuple[Pool, Client, User]:
        pool = self._pools.get(session.pool_id)
        client = pool.clients.get(session.client_id) if pool is not None else None
        user = pool.users.get(session.username) if pool is not None else None
        if pool is None or client is None or user is None:
            raise _not_authorized(_MSG_SESSION)
        return pool, client, user

    # --- tokens -------------------------------------------------------------------------------

    def _tokens(
        self,
        pool: Pool,
        client: Client,
        user: User,
        *,
        origin: str | None = None,
        auth_time: int | None = None,
    ) -> dict[str, Any]:
        now = self.now()
        iat = int(now)
        fresh = origin is None
        if origin is None:
            origin = _codes.random_uuid(self._random)
            user.origins[origin] = False
        auth_time = iat if auth_time is None else auth_time
        event_id = _codes.random_uuid(self._random)
        iss = issuer(self.region, pool.id)
        access = {
            "sub": user.sub,
            "iss": iss,
            "client_id": client.id,
            "origin_jti": origin,
            "event_id": event_id,
            "token_use": "access",
            "scope": ACCESS_SCOPE,
            "auth_time": auth_time,
            "exp": iat + client.access_validity_seconds,
            "iat": iat,
            "jti": _codes.random_uuid(self._random),
            "username": user.username,
        }
        id_claims: dict[str, Any] = {"sub": user.sub}
        for name, value in user.attributes.items():
            if name in ("email_verified", "phone_number_verified"):
                id_claims[name] = value == "true"
            elif name != "sub":
                id_claims[name] = value
        id_claims.update(
            {
                "iss": iss,
                "cognito:username": user.username,
                "origin_jti": origin,
                "aud": client.id,
                "event_id": event_id,
                "token_use": "id",
                "auth_time": auth_time,
                "exp": iat + client.id_validity_seconds,
                "iat": iat,
                "jti": _codes.random_uuid(self._random),
            }
        )
        result: dict[str, Any] = {
            "AccessToken": pool.key.sign(access),
            "ExpiresIn": client.access_validity_seconds,
            "TokenType": "Bearer",
            "IdToken": pool.key.sign(id_claims),
        }
        if fresh:
            # §7.8: a REFRESH_TOKEN_AUTH answer omits RefreshToken
            refresh = ".".join(
                [
                    _REFRESH_HEADER,
                    _codes.opaque_token(self._random, 192),
                    _codes.opaque_token(self._random, 12),
                    _codes.opaque_token(self._random, 288),
                    _codes.opaque_token(self._random, 16),
                ]
            )
            self._refresh[_digest(refresh)] = RefreshRecord(
                pool_id=pool.id,
                client_id=client.id,
                username=user.username,
                origin_jti=origin,
                expires=now + client.refresh_validity_seconds,
                auth_time=auth_time,
            )
            result["RefreshToken"] = refresh
        return {"ChallengeParameters": {}, "AuthenticationResult": result}

    # --- messages -----------------------------------------------------------------------------

    def _send(self, pool: Pool, user: User, medium: Literal["SMS", "EMAIL"], to: str) -> str:
        code = _codes.digits(self._random, 6 if medium == "SMS" else 8)
        self.messages.append(
            SentMessage(
                pool_id=pool.id,
                username=user.username,
                medium=medium,
                destination=to,
                code=code,
                sent_at=self.now(),
            )
        )
        return code

    # --- sign-in: first factor ----------------------------------------------------------------

    def _initiate(self, data: dict[str, Any], *, admin: bool) -> dict[str, Any]:
        pool, client = self._client(data["ClientId"], data["UserPoolId"] if admin else None)
        flow = data["AuthFlow"]
        params: dict[str, str] = data.get("AuthParameters", {})
        user_flows = {"USER_SRP_AUTH", "USER_PASSWORD_AUTH", "REFRESH_TOKEN_AUTH", "REFRESH_TOKEN"}
        admin_flows = {
            "USER_SRP_AUTH",
            "ADMIN_USER_PASSWORD_AUTH",
            "ADMIN_NO_SRP_AUTH",
            "REFRESH_TOKEN_AUTH",
            "REFRESH_TOKEN",
        }
        if flow not in (admin_flows if admin else user_flows):
            # CUSTOM_AUTH and USER_AUTH are not emulated; the admin/user flows are disjoint
            raise invalid("Initiate Auth method not supported.")
        if flow in ("REFRESH_TOKEN_AUTH", "REFRESH_TOKEN"):
            return self._refresh_flow(pool, client, params)
        if not client.allows(flow):
            raise invalid(f"{flow} flow not enabled for this client")
        username = params.get("USERNAME")
        if username is None:
            raise invalid("Missing required parameter USERNAME")
        self._check_secret_hash(client, username, params.get("SECRET_HASH"))
        user = pool.find_user(username)
        if user is None:
            raise CognitoError("UserNotFoundException", _MSG_NO_USER)
        if not user.enabled:
            raise _not_authorized("User is disabled.")
        if flow == "USER_SRP_AUTH":
            return self._start_srp(pool, client, user, params, admin=admin)
        password = params.get("PASSWORD")
        if password is None:
            raise invalid("Missing required parameter PASSWORD")
        if not self._password_matches(pool, user, password):
            raise _not_authorized(_MSG_BAD_PASSWORD)
        return self._after_password(pool, client, user, admin=admin)

    def _start_srp(
        self, pool: Pool, client: Client, user: User, params: dict[str, str], *, admin: bool
    ) -> dict[str, Any]:
        srp_a = params.get("SRP_A")
        if srp_a is None:
            raise invalid("Missing required parameter SRP_A")
        try:
            big_a = int(srp_a, 16)
        except ValueError:
            big_a = 0
        if big_a <= 0 or big_a % srp.N == 0:
            # UNCONFIRMED: Cognito's answer to an unusable SRP_A
            raise invalid("Invalid SRP_A")
        if user.salt == 0:
            raise _not_authorized(_MSG_BAD_PASSWORD)
        b = srp.secret_exponent(self._random(srp.SECRET_EXPONENT_BITS // 8))
        big_b = srp.server_public(user.verifier, b)
        block = base64.b64encode(self._random(96)).decode()
        session = self._new_session(
            pool,
            client,
            user,
            "PASSWORD_VERIFIER",
            admin=admin,
            srp=SrpState(b=b, big_b=big_b, secret_block=block, srp_a=srp_a),
        )
        self._secret_blocks[block] = session.token
        return {
            "ChallengeName": "PASSWORD_VERIFIER",
            # §3.3: current Cognito's Session here is UNCONFIRMED; sending one is harmless and
            # the answer is accepted with or without it
            "Session": session.token,
            "ChallengeParameters": {
                "SALT": srp.pad_hex(user.salt),
                "SECRET_BLOCK": block,
                "SRP_B": format(big_b, "x"),
                "USERNAME": user.username,
                "USER_ID_FOR_SRP": user.username,
            },
        }

    def _refresh_flow(self, pool: Pool, client: Client, params: dict[str, str]) -> dict[str, Any]:
        token = params.get("REFRESH_TOKEN")
        if token is None:
            raise invalid("Missing required parameter REFRESH_TOKEN")
        record = self._refresh.get(_digest(token))
        if record is None or record.client_id != client.id or record.pool_id != pool.id:
            raise _not_authorized("Invalid Refresh Token")
        user = pool.users.get(record.username)
        if user is None or user.origins.get(record.origin_jti, True):
            raise _not_authorized("Refresh Token has been revoked")
        if self.now() >= record.expires:
            raise _not_authorized("Refresh Token has expired")
        # the hash is over the USERNAME sent, or the internal name when none is sent
        self._check_secret_hash(
            client, params.get("USERNAME", user.username), params.get("SECRET_HASH")
        )
        if not user.enabled:
            raise _not_authorized("User is disabled.")
        return self._tokens(
            pool, client, user, origin=record.origin_jti, auth_time=record.auth_time
        )

    # --- sign-in: what comes after the password ----------------------------------------------

    def _after_password(
        self, pool: Pool, client: Client, user: User, *, admin: bool
    ) -> dict[str, Any]:
        if user.status == "FORCE_CHANGE_PASSWORD":
            attributes = {k: v for k, v in user.attributes.items() if k != "sub"}
            missing = [
                f"userAttributes.{name}"
                for name in pool.required_attributes
                if name not in user.attributes
            ]
            session = self._new_session(pool, client, user, "NEW_PASSWORD_REQUIRED", admin=admin)
            return self._challenge(
                session,
                {
                    "USER_ID_FOR_SRP": user.username,
                    "requiredAttributes": json.dumps(missing),
                    "userAttributes": json.dumps(attributes),
                },
            )
        return self._mfa_or_tokens(pool, client, user, admin=admin)

    @staticmethod
    def _challenge(session: AuthSession, parameters: dict[str, str]) -> dict[str, Any]:
        return {
            "ChallengeName": session.challenge,
            "Session": session.token,
            "ChallengeParameters": parameters,
        }

    def _usable_factors(self, pool: Pool, user: User) -> list[str]:
        usable = []
        for name in user.enabled_factors():
            if name == "SMS_MFA" and pool.sms_mfa and "phone_number" in user.attributes:
                usable.append(name)
            elif name == "SOFTWARE_TOKEN_MFA" and user.totp_secret is not None:
                # §3.7: a user keeps TOTP even after the pool turns TOTP off
                usable.append(name)
            elif name == "EMAIL_OTP" and pool.email_mfa and "email" in user.attributes:
                usable.append(name)
        return usable

    def _mfa_or_tokens(
        self, pool: Pool, client: Client, user: User, *, admin: bool
    ) -> dict[str, Any]:
        """The §3.7 table: which challenge (or tokens) follows the first factor."""
        if pool.mfa == "OFF":
            return self._tokens(pool, client, user)
        enabled = self._usable_factors(pool, user)
        if enabled:
            if user.preferred in enabled:
                return self._start_factor(pool, client, user, user.preferred, admin=admin)
            if len(enabled) == 1:
                return self._start_factor(pool, client, user, enabled[0], admin=admin)
            session = self._new_session(
                pool, client, user, "SELECT_MFA_TYPE", admin=admin, options=enabled
            )
            return self._challenge(
                session,
                {"MFAS_CAN_CHOOSE": json.dumps(enabled), "USER_ID_FOR_SRP": user.username},
            )
        if pool.mfa == "OPTIONAL":
            return self._tokens(pool, client, user)
        if pool.sms_mfa and "phone_number" in user.attributes:
            # ON + a phone + no preference: Cognito uses SMS implicitly (amplify-js #11258)
            return self._start_factor(pool, client, user, "SMS_MFA", admin=admin)
        can_setup = [
            name
            for name, allowed in (
                ("SOFTWARE_TOKEN_MFA", pool.totp_mfa),
                ("EMAIL_OTP", pool.email_mfa),
            )
            if allowed
        ]
        if not can_setup:
            # UNCONFIRMED: an ON pool whose only factor is SMS, for a user without a phone
            can_setup = ["SMS_MFA"]
        session = self._new_session(pool, client, user, "MFA_SETUP", admin=admin, options=can_setup)
        return self._challenge(
            session, {"MFAS_CAN_SETUP": json.dumps(can_setup), "USER_ID_FOR_SRP": user.username}
        )

    def _start_factor(
        self,
        pool: Pool,
        client: Client,
        user: User,
        name: str,
        *,
        admin: bool,
        email: str | None = None,
    ) -> dict[str, Any]:
        if name == "SOFTWARE_TOKEN_MFA":
            session = self._new_session(pool, client, user, name, admin=admin)
            parameters = {"USER_ID_FOR_SRP": user.username}
            if user.totp_friendly_name:
                parameters["FRIENDLY_DEVICE_NAME"] = user.totp_friendly_name
            return self._challenge(session, parameters)
        if name == "SMS_MFA":
            to = user.attributes["phone_number"]
            code = self._send(pool, user, "SMS", to)
            medium, masked = "SMS", _codes.mask_phone(to)
        else:
            to = email if email is not None else user.attributes["email"]
            code = self._send(pool, user, "EMAIL", to)
            medium, masked = "EMAIL", _codes.mask_email(to)
        session = self._new_session(
            pool, client, user, name, admin=admin, code=code, pending_email=email
        )
        return self._challenge(
            session,
            {
                "CODE_DELIVERY_DELIVERY_MEDIUM": medium,
                "CODE_DELIVERY_DESTINATION": masked,
                "USER_ID_FOR_SRP": user.username,
            },
        )

    # --- sign-in: challenge answers -----------------------------------------------------------

    def _respond(self, data: dict[str, Any], *, admin: bool) -> dict[str, Any]:
        pool, client = self._client(data["ClientId"], data["UserPoolId"] if admin else None)
        name = data["ChallengeName"]
        responses: dict[str, str] = data.get("ChallengeResponses", {})
        token = data.get("Session")
        if name == "PASSWORD_VERIFIER" and token is None:
            # §3.3: pycognito answers without Session; the state is bound to SECRET_BLOCK
            block = responses.get("PASSWORD_CLAIM_SECRET_BLOCK")
            if block is None:
                raise invalid("Missing required parameter PASSWORD_CLAIM_SECRET_BLOCK")
            token = self._secret_blocks.get(block)
            if token is None:
                raise _not_authorized(_MSG_SESSION)
        if token is None:
            raise invalid("Missing required parameter Session")
        session = self._session(token)
        if session.client_id != client.id or session.pool_id != pool.id:
            raise _not_authorized(_MSG_SESSION)
        username = responses.get("USERNAME")
        if username is None:
            raise invalid("Missing required parameter USERNAME")
        if username != session.username:
            # later steps must name the internal user (USER_ID_FOR_SRP); an alias is not
            # resolved here (pycognito #193: "User does not exist." for the email)
            if pool.users.get(username) is None:
                raise CognitoError("UserNotFoundException", _MSG_NO_USER)
            raise _not_authorized(_MSG_SESSION)
        pool, client, user = self._session_user(session)
        self._check_secret_hash(client, username, responses.get("SECRET_HASH"))
        if name != session.challenge:
            if name == "SOFTWARE_TOKEN_MFA" and user.totp_secret is None:
                raise CognitoError(
                    "SoftwareTokenMFANotFoundException",
                    "Software Token MFA has not been enabled for the user",
                )
            # UNCONFIRMED: Cognito's text for answering a different challenge than was asked
            raise invalid(f"Invalid challenge name {name} for this session")
        if name == "PASSWORD_VERIFIER":
            return self._answer_password_verifier(pool, client, user, session, responses)
        if name in _CODE_KEYS:
            return self._answer_code(pool, client, user, session, responses)
        if name == "SELECT_MFA_TYPE":
            answer = responses.get("ANSWER")
            if answer is None:
                raise invalid("Missing required parameter ANSWER")
            if answer not in session.options:
                # UNCONFIRMED: the text for an answer not in MFAS_CAN_CHOOSE
                raise invalid("Invalid MFA type selected")
            session.used = True
            return self._start_factor(pool, client, user, answer, admin=session.admin)
        if name == "MFA_SETUP":
            return self._answer_mfa_setup(pool, client, user, session, responses)
        return self._answer_new_password(pool, client, user, session, responses)

    def _answer_password_verifier(
        self,
        pool: Pool,
        client: Client,
        user: User,
        session: AuthSession,
        responses: dict[str, str],
    ) -> dict[str, Any]:
        state = session.srp
        if state is None:  # pragma: no cover - PASSWORD_VERIFIER sessions always carry it
            raise _not_authorized(_MSG_SESSION)
        for needed in ("PASSWORD_CLAIM_SECRET_BLOCK", "PASSWORD_CLAIM_SIGNATURE", "TIMESTAMP"):
            if needed not in responses:
                raise invalid(f"Missing required parameter {needed}")
        if (
            self.password_verifier_timeout is not None
            and self.now() - session.created > self.password_verifier_timeout
        ):
            # §3.3: "respond ... within a few seconds"; the limit is UNCONFIRMED (opt-in here)
            session.used = True
            raise _not_authorized(_MSG_SESSION_EXPIRED)
        # a failed proof ends the attempt: the client must start the sign-in again
        session.used = True
        block = responses["PASSWORD_CLAIM_SECRET_BLOCK"]
        timestamp = responses["TIMESTAMP"]
        ok = hmac.compare_digest(block.encode(), state.secret_block.encode())
        try:
            # strict format: a zero-padded day is refused as Cognito refuses it (§4 TIMESTAMP);
            # UNCONFIRMED whether Cognito compares it with its clock, so it is not compared
            srp.parse_timestamp(timestamp)
            key = srp.server_key(
                srp_a_hex=state.srp_a,
                v=user.verifier,
                b=state.b,
                big_b=state.big_b,
            )
        except srp.SrpError:
            raise _not_authorized(_MSG_BAD_PASSWORD) from None
        ok = (
            srp.verify_password_claim(
                key,
                pool.pool_name,
                user.username,
                state.secret_block,
                timestamp,
                responses["PASSWORD_CLAIM_SIGNATURE"],
            )
            and ok
        )
        if not ok:
            raise _not_authorized(_MSG_BAD_PASSWORD)
        return self._after_password(pool, client, user, admin=session.admin)

    def _totp_accepts(self, user: User, secret: str, code: str) -> bool:
        """±1 step of 30 s (§7.3); a step's code is accepted once unless ``totp_reuse``."""
        totp = pyotp.TOTP(secret)
        current = int(self.now() // _TOTP_STEP)
        for step in (current - 1, current, current + 1):
            if step < 0:
                continue
            if hmac.compare_digest(totp.at(step * _TOTP_STEP).encode(), code.encode()):
                if not self.totp_reuse and step <= user.totp_last_step:
                    return False
                user.totp_last_step = max(user.totp_last_step, step)
                return True
        return False

    def _answer_code(
        self,
        pool: Pool,
        client: Client,
        user: User,
        session: AuthSession,
        responses: dict[str, str],
    ) -> dict[str, Any]:
        name = session.challenge
        key = _CODE_KEYS[name]
        code = responses.get(key)
        if code is None:
            raise invalid(f"Missing required parameter {key}")
        now = self.now()
        if self.mfa_lockout and now < user.mfa_locked_until:
            # §7.2: refused unchecked during a lockout, and the lockout is not extended
            raise _not_authorized(_MSG_ATTEMPTS_EXCEEDED)
        if name == "SOFTWARE_TOKEN_MFA":
            if user.totp_secret is None:
                raise CognitoError(
                    "SoftwareTokenMFANotFoundException",
                    "Software Token MFA has not been enabled for the user",
                )
            ok = self._totp_accepts(user, user.totp_secret, code)
        else:
            expected = session.code or ""
            ok = hmac.compare_digest(expected.encode(), code.encode())
        if not ok:
            # §7.2: the session survives a wrong code, up to the attempt limit
            session.attempts += 1
            if session.attempts >= self.mfa_attempt_limit:
                session.dead = True
            self._count_mfa_failure(user, now)
            raise CognitoError("CodeMismatchException", _WRONG_CODE[name])
        # §7.2: a successful sign-in ends the lockout process
        user.mfa_failures = 0
        user.mfa_locked_until = 0.0
        session.used = True
        if session.pending_email is not None:
            # MFA_SETUP answered with EMAIL: the confirmed address becomes the user's factor
            user.attributes["email"] = session.pending_email
            user.attributes["email_verified"] = "true"
            user.email_enabled = True
            user.modified = self.now()
        return self._tokens(pool, client, user)

    def _count_mfa_failure(self, user: User, now: float) -> None:
        """§7.2 [DOC]: from the fifth wrong code in a row, across sessions, the user is locked
        out for 2^(n-5) s after the n-th (at most 15 minutes); 15 minutes without an attempt
        start the count afresh."""
        if now - user.mfa_last_failure >= _MFA_LOCKOUT_RESET:
            user.mfa_failures = 0
        user.mfa_failures += 1
        user.mfa_last_failure = now
        if self.mfa_lockout and user.mfa_failures >= _MFA_LOCKOUT_AFTER:
            exponent = min(user.mfa_failures - _MFA_LOCKOUT_AFTER, 10)  # 2^10 s > the cap
            user.mfa_locked_until = now + min(2.0**exponent, _MFA_LOCKOUT_CAP)

    def _answer_mfa_setup(
        self,
        pool: Pool,
        client: Client,
        user: User,
        session: AuthSession,
        responses: dict[str, str],
    ) -> dict[str, Any]:
        if session.setup_state == "verified":
            session.used = True
            user.totp_enabled = True
            user.modified = self.now()
            return self._tokens(pool, client, user)
        email = responses.get("EMAIL")
        if email is not None and "EMAIL_OTP" in session.options and session.setup_state == "":
            # Amplify v6 answers MFA_SETUP with EMAIL; UNCONFIRMED what follows (§3.4): an
            # EMAIL_OTP challenge to that address, whose answer enables email MFA
            session.used = True
            return self._start_factor(
                pool, client, user, "EMAIL_OTP", admin=session.admin, email=email
            )
        # UNCONFIRMED: answering MFA_SETUP before any factor was set up
        raise CognitoError("MFAMethodNotFoundException", "No MFA method has been set up.")

    def _answer_new_password(
        self,
        pool: Pool,
        client: Client,
        user: User,
        session: AuthSession,
        responses: dict[str, str],
    ) -> dict[str, Any]:
        password = responses.get("NEW_PASSWORD")
        if password is None:
            raise invalid("Missing required parameter NEW_PASSWORD")
        self._check_policy(pool, password)
        given = {
            key.removeprefix("userAttributes."): value
            for key, value in responses.items()
            if key.startswith("userAttributes.")
        }
        for name in pool.required_attributes:
            if name not in user.attributes and not given.get(name):
                raise invalid(
                    f"Attributes did not conform to the schema: {name}: The attribute is required"
                )
        for name, value in given.items():
            if name != "sub":
                user.attributes[name] = value
        self._set_password(pool, user, password)
        user.status = "CONFIRMED"
        user.modified = self.now()
        session.used = True
        return self._mfa_or_tokens(pool, client, user, admin=session.admin)

    # --- software tokens ----------------------------------------------------------------------

    def _token_or_session(self, data: dict[str, Any]) -> tuple[Pool, User, AuthSession | None]:
        access, token = data.get("AccessToken"), data.get("Session")
        if access is not None and token is not None:
            # §2.2: "either AccessToken or Session, not both"; UNCONFIRMED text
            raise invalid("Only one of AccessToken or Session should be provided.")
        if access is not None:
            pool, user, _ = self._access(access)
            return pool, user, None
        if token is None:
            raise invalid("Missing required parameter AccessToken or Session")
        session = self._session(token)
        if session.challenge != "MFA_SETUP":
            raise _not_authorized(_MSG_SESSION)
        pool, _, user = self._session_user(session)
        return pool, user, session

    def _associate_software_token(self, data: dict[str, Any]) -> dict[str, Any]:
        pool, user, session = self._token_or_session(data)
        if not pool.totp_mfa:
            raise CognitoError("SoftwareTokenMFANotFoundException", _MSG_TOTP_POOL)
        if session is not None and session.setup_state != "":
            raise _not_authorized(_MSG_SESSION)
        user.totp_pending = _codes.totp_secret(self._random)
        result: dict[str, Any] = {"SecretCode": user.totp_pending}
        if session is not None:
            session.used = True
            result["Session"] = self._follow_on(session, "associated").token
        return result

    def _follow_on(self, session: AuthSession, state: str) -> AuthSession:
        pool, client, user = self._session_user(session)
        follow = self._new_session(
            pool, client, user, "MFA_SETUP", admin=session.admin, options=list(session.options)
        )
        follow.setup_state = state
        return follow

    def _verify_software_token(self, data: dict[str, Any]) -> dict[str, Any]:
        pool, user, session = self._token_or_session(data)
        if not pool.totp_mfa:
            raise CognitoError("SoftwareTokenMFANotFoundException", _MSG_TOTP_POOL)
        if session is not None and session.setup_state != "associated":
            raise _not_authorized(_MSG_SESSION)
        if user.totp_pending is None:
            # UNCONFIRMED text: verifying before AssociateSoftwareToken
            raise CognitoError(
                "SoftwareTokenMFANotFoundException", "User has not set up software token mfa"
            )
        if not self._totp_accepts(user, user.totp_pending, data["UserCode"]):
            raise CognitoError("EnableSoftwareTokenMFAException", _MSG_VERIFY_MISMATCH)
        # §7.3: the new secret replaces the old one only now, once verified
        user.totp_secret = user.totp_pending
        user.totp_pending = None
        user.totp_friendly_name = data.get("FriendlyDeviceName")
        user.modified = self.now()
        result: dict[str, Any] = {"Status": "SUCCESS"}
        if session is not None:
            session.used = True
            result["Session"] = self._follow_on(session, "verified").token
        return result

    # --- MFA preferences and user data --------------------------------------------------------

    def _apply_preferences(self, pool: Pool, user: User, data: dict[str, Any]) -> None:
        """SetUserMFAPreference semantics (§7.5): absent blocks and fields mean "no change"."""
        blocks = {
            "SMS_MFA": data.get("SMSMfaSettings"),
            "SOFTWARE_TOKEN_MFA": data.get("SoftwareTokenMfaSettings"),
            "EMAIL_OTP": data.get("EmailMfaSettings"),
        }
        enabled = {
            "SMS_MFA": user.sms_enabled,
            "SOFTWARE_TOKEN_MFA": user.totp_enabled,
            "EMAIL_OTP": user.email_enabled,
        }
        preferred = user.preferred
        wants_preferred = [n for n, b in blocks.items() if b and b.get("PreferredMfa") is True]
        if len(wants_preferred) > 1:
            # UNCONFIRMED text; only one factor may be preferred [DOC]
            raise invalid("Only one MFA method can be set as preferred.")
        for name, block in blocks.items():
            if not block:
                continue
            if "Enabled" in block:
                enabled[name] = block["Enabled"]
            if block.get("PreferredMfa") is True:
                if not enabled[name]:
                    # UNCONFIRMED text (§7.5, an Amplify maintainer reports the exception)
                    raise invalid(f"Cannot set {name} as preferred when it is not enabled.")
                preferred = name
            elif block.get("PreferredMfa") is False and preferred == name:
                preferred = None
            if enabled[name] and not self._has_delivery(user, name):
                raise invalid(f"User does not have delivery config set to turn on {name}")
        if preferred is not None and not enabled[preferred]:
            preferred = None
        user.sms_enabled = enabled["SMS_MFA"]
        user.totp_enabled = enabled["SOFTWARE_TOKEN_MFA"]
        user.email_enabled = enabled["EMAIL_OTP"]
        user.preferred = preferred
        user.modified = self.now()

    @staticmethod
    def _has_delivery(user: User, name: str) -> bool:
        if name == "SMS_MFA":
            return "phone_number" in user.attributes
        if name == "SOFTWARE_TOKEN_MFA":
            return user.totp_secret is not None
        return "email" in user.attributes

    def _set_user_mfa_preference(self, data: dict[str, Any]) -> dict[str, Any]:
        pool, user, _ = self._access(data["AccessToken"])
        self._apply_preferences(pool, user, data)
        return {}

    def _admin_set_user_mfa_preference(self, data: dict[str, Any]) -> dict[str, Any]:
        pool, user = self._admin_user(data)
        self._apply_preferences(pool, user, data)
        return {}

    def _apply_settings(self, user: User, options: list[dict[str, Any]]) -> None:
        """Legacy MFAOptions (§7.6): SMS on phone_number turns SMS MFA on, [] turns it off."""
        sms = False
        for option in options:
            if option.get("DeliveryMedium") != "SMS" or option.get("AttributeName") not in (
                None,
                "phone_number",
            ):
                # UNCONFIRMED text: the docs allow only SMS to phone_number
                raise invalid("Only SMS to phone_number is supported in MFAOptions.")
            sms = True
        if sms and "phone_number" not in user.attributes:
            raise invalid("User does not have delivery config set to turn on SMS_MFA")
        user.sms_enabled = sms
        if not sms and user.preferred == "SMS_MFA":
            user.preferred = None
        user.modified = self.now()

    def _set_user_settings(self, data: dict[str, Any]) -> dict[str, Any]:
        _, user, _ = self._access(data["AccessToken"])
        self._apply_settings(user, data["MFAOptions"])
        return {}

    def _admin_set_user_settings(self, data: dict[str, Any]) -> dict[str, Any]:
        _, user = self._admin_user(data)
        self._apply_settings(user, data["MFAOptions"])
        return {}

    @staticmethod
    def _attribute_list(user: User) -> list[dict[str, str]]:
        listed = [{"Name": "sub", "Value": user.sub}]
        listed.extend(
            {"Name": name, "Value": value}
            for name, value in user.attributes.items()
            if name != "sub"
        )
        return listed

    def _mfa_fields(self, user: User) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if user.sms_enabled:
            out["MFAOptions"] = [{"DeliveryMedium": "SMS", "AttributeName": "phone_number"}]
        if user.preferred is not None:
            out["PreferredMfaSetting"] = user.preferred
        factors = user.enabled_factors()
        if factors:
            # §7.4: omitted, not empty, when nothing is enabled
            out["UserMFASettingList"] = factors
        return out

    def _get_user(self, data: dict[str, Any]) -> dict[str, Any]:
        _, user, _ = self._access(data["AccessToken"])
        return {
            "Username": user.username,
            "UserAttributes": self._attribute_list(user),
            **self._mfa_fields(user),
        }

    def _admin_get_user(self, data: dict[str, Any]) -> dict[str, Any]:
        _, user = self._admin_user(data)
        return {
            "Username": user.username,
            "UserAttributes": self._attribute_list(user),
            "UserCreateDate": user.created,
            "UserLastModifiedDate": user.modified,
            "Enabled": user.enabled,
            "UserStatus": user.status,
            **self._mfa_fields(user),
        }

    def _global_sign_out(self, data: dict[str, Any]) -> dict[str, Any]:
        _, user, _ = self._access(data["AccessToken"])
        for origin in user.origins:
            user.origins[origin] = True
        return {}

    # --- users (admin) ------------------------------------------------------------------------

    @staticmethod
    def _attributes_of(items: list[dict[str, Any]]) -> dict[str, str]:
        out: dict[str, str] = {}
        for item in items:
            name = item["Name"]
            if name == "sub":
                raise invalid("Cannot modify an immutable attribute: sub")
            out[name] = item.get("Value", "")
        return out

    def _check_unique(
        self, pool: Pool, attributes: dict[str, str], exclude: str | None, code: str
    ) -> None:
        """Sign-in attributes (email/phone as username) must be unique in the pool."""
        for name in pool.username_attributes:
            value = attributes.get(name)
            if value is None:
                continue
            for other in pool.users.values():
                if other.username != exclude and other.attributes.get(name) == value:
                    label = "email" if name == "email" else "phone number"
                    raise CognitoError(code, f"An account with the given {label} already exists.")

    def _user_shape(self, user: User) -> dict[str, Any]:
        return {
            "Username": user.username,
            "Attributes": self._attribute_list(user),
            "UserCreateDate": user.created,
            "UserLastModifiedDate": user.modified,
            "Enabled": user.enabled,
            "UserStatus": user.status,
            **({"MFAOptions": self._mfa_fields(user)["MFAOptions"]} if user.sms_enabled else {}),
        }

    def _admin_create_user(self, data: dict[str, Any]) -> dict[str, Any]:
        pool = self._pool(data["UserPoolId"])
        given_name = data["Username"]
        attributes = self._attributes_of(data.get("UserAttributes", []))
        if pool.username_attributes:
            # email/phone as username: the sign-in name is an attribute, the internal
            # username a UUID (§3: USER_ID_FOR_SRP is that UUID)
            if "@" in given_name and "email" in pool.username_attributes:
                attributes.setdefault("email", given_name)
            elif given_name.startswith("+") and "phone_number" in pool.username_attributes:
                attributes.setdefault("phone_number", given_name)
            else:
                kinds = " or ".join(
                    "an email" if n == "email" else "a phone number"
                    for n in pool.username_attributes
                )
                raise invalid(f"Username should be {kinds}.")
            sub = _codes.random_uuid(self._random)
            username = sub
        else:
            if pool.find_user(given_name, aliases=False) is not None:
                raise CognitoError("UsernameExistsException", "User account already exists")
            sub = _codes.random_uuid(self._random)
            username = given_name
        self._check_unique(pool, attributes, None, "UsernameExistsException")
        temporary = data.get("TemporaryPassword")
        if temporary is None:
            # Cognito makes one up and sends it in the invitation
            temporary = "Aa1!" + _codes.choose(
                self._random, "abcdefghijkmnpqrstuvwxyz23456789", max(pool.policy.minimum_length, 8)
            )
        else:
            self._check_policy(pool, temporary)
        now = self.now()
        user = User(
            username=username,
            sub=sub,
            attributes=attributes,
            status="FORCE_CHANGE_PASSWORD",
            created=now,
            modified=now,
        )
        self._set_password(pool, user, temporary)
        pool.users[username] = user
        if data.get("MessageAction") != "SUPPRESS":
            # the invitation; its "code" is the temporary password
            for medium in data.get("DesiredDeliveryMediums", ["SMS"]):
                key = "phone_number" if medium == "SMS" else "email"
                to = attributes.get(key)
                if to is not None:
                    self.messages.append(
                        SentMessage(pool.id, user.username, medium, to, temporary, now)
                    )
        return {"User": self._user_shape(user)}

    def _admin_set_user_password(self, data: dict[str, Any]) -> dict[str, Any]:
        pool, user = self._admin_user(data)
        self._check_policy(pool, data["Password"])
        self._set_password(pool, user, data["Password"])
        user.status = "CONFIRMED" if data.get("Permanent") else "FORCE_CHANGE_PASSWORD"
        user.modified = self.now()
        return {}

    def _admin_update_user_attributes(self, data: dict[str, Any]) -> dict[str, Any]:
        pool, user = self._admin_user(data)
        changes = self._attributes_of(data["UserAttributes"])
        self._check_unique(pool, changes, user.username, "AliasExistsException")
        user.attributes.update(changes)
        user.modified = self.now()
        return {}

    def _admin_delete_user(self, data: dict[str, Any]) -> dict[str, Any]:
        pool, user = self._admin_user(data)
        del pool.users[user.username]
        for key in [k for k, r in self._refresh.items() if r.username == user.username]:
            del self._refresh[key]
        return {}

    # --- pools and clients (admin) ------------------------------------------------------------

    def _pool_shape(self, pool: Pool) -> dict[str, Any]:
        shape: dict[str, Any] = {
            "Id": pool.id,
            "Name": pool.name,
            "Arn": f"arn:aws:cognito-idp:{self.region}:{ACCOUNT_ID}:userpool/{pool.id}",
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
        return shape

    def _create_user_pool(self, data: dict[str, Any]) -> dict[str, Any]:
        if data.get("UsernameAttributes") and data.get("AliasAttributes"):
            raise invalid("Only one of UsernameAttributes or AliasAttributes can be specified.")
        message = data.get("SmsAuthenticationMessage")
        if message is not None and "{####}" not in message:
            raise invalid("SmsAuthenticationMessage must contain {####}")
        now = self.now()
        pool_id = _codes.pool_id(self._random, self.region)
        while pool_id in self._pools:
            pool_id = _codes.pool_id(self._random, self.region)
        mfa = data.get("MfaConfiguration", "OFF")
        pool = Pool(
            id=pool_id,
            name=data["PoolName"],
            created=now,
            modified=now,
            key=SigningKey(kid=base64.b64encode(self._random(32)).decode()),
            mfa=mfa,
            # CreateUserPool can only configure SMS as a factor; TOTP and email MFA are turned
            # on with SetUserPoolMfaConfig
            sms_mfa=mfa != "OFF",
            sms_message=message,
            policy=PasswordPolicy.from_wire(data.get("Policies", {}).get("PasswordPolicy", {})),
            username_attributes=list(data.get("UsernameAttributes", [])),
            alias_attributes=list(data.get("AliasAttributes", [])),
            auto_verified=list(data.get("AutoVerifiedAttributes", [])),
            required_attributes=[
                item["Name"]
                for item in data.get("Schema", [])
                if item.get("Required") and "Name" in item
            ],
        )
        self._pools[pool.id] = pool
        return {"UserPool": self._pool_shape(pool)}

    def _describe_user_pool(self, data: dict[str, Any]) -> dict[str, Any]:
        return {"UserPool": self._pool_shape(self._pool(data["UserPoolId"]))}

    def _delete_user_pool(self, data: dict[str, Any]) -> dict[str, Any]:
        pool = self._pool(data["UserPoolId"])
        del self._pools[pool.id]
        for key in [k for k, r in self._refresh.items() if r.pool_id == pool.id]:
            del self._refresh[key]
        for token in [t for t, s in self._sessions.items() if s.pool_id == pool.id]:
            del self._sessions[token]
        return {}

    @staticmethod
    def _client_shape(client: Client) -> dict[str, Any]:
        shape: dict[str, Any] = {
            "UserPoolId": client.pool_id,
            "ClientName": client.name,
            "ClientId": client.id,
            "LastModifiedDate": client.modified,
            "CreationDate": client.created,
            "AuthSessionValidity": client.session_validity_minutes,
            "AccessTokenValidity": client.access_validity_seconds
            // _UNIT_SECONDS[client.token_units["AccessToken"]],
            "IdTokenValidity": client.id_validity_seconds
            // _UNIT_SECONDS[client.token_units["IdToken"]],
            "RefreshTokenValidity": client.refresh_validity_seconds
            // _UNIT_SECONDS[client.token_units["RefreshToken"]],
            "TokenValidityUnits": dict(client.token_units),
        }
        if client.secret is not None:
            shape["ClientSecret"] = client.secret
        if client.explicit_flows_given:
            shape["ExplicitAuthFlows"] = list(client.flows)
        return shape

    def _create_user_pool_client(self, data: dict[str, Any]) -> dict[str, Any]:
        pool = self._pool(data["UserPoolId"])
        units = {"AccessToken": "hours", "IdToken": "hours", "RefreshToken": "days"}
        units.update(data.get("TokenValidityUnits", {}))
        access = data.get("AccessTokenValidity")
        id_valid = data.get("IdTokenValidity")
        refresh = data.get("RefreshTokenValidity")
        now = self.now()
        client = Client(
            id=_codes.client_id(self._random),
            pool_id=pool.id,
            name=data["ClientName"],
            secret=_codes.client_secret(self._random) if data.get("GenerateSecret") else None,
            session_validity_minutes=data.get("AuthSessionValidity", 3),
            # defaults: 1 hour access and id tokens (ExpiresIn 3600), 30-day refresh tokens
            access_validity_seconds=3600
            if access is None
            else access * _UNIT_SECONDS[units["AccessToken"]],
            id_validity_seconds=3600
            if id_valid is None
            else id_valid * _UNIT_SECONDS[units["IdToken"]],
            refresh_validity_seconds=30 * 86400
            if refresh is None
            else refresh * _UNIT_SECONDS[units["RefreshToken"]],
            token_units=units,
            created=now,
            modified=now,
        )
        if "ExplicitAuthFlows" in data:
            client.flows = list(data["ExplicitAuthFlows"])
            client.explicit_flows_given = True
        pool.clients[client.id] = client
        return {"UserPoolClient": self._client_shape(client)}

    def _describe_user_pool_client(self, data: dict[str, Any]) -> dict[str, Any]:
        _, client = self._client(data["ClientId"], data["UserPoolId"])
        return {"UserPoolClient": self._client_shape(client)}

    def _mfa_config_shape(self, pool: Pool) -> dict[str, Any]:
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

    def _set_user_pool_mfa_config(self, data: dict[str, Any]) -> dict[str, Any]:
        pool = self._pool(data["UserPoolId"])
        mfa = data.get("MfaConfiguration", pool.mfa)
        # UNCONFIRMED: the call replaces the factor configuration, so an absent block turns
        # that factor off (as the console's single "save" does)
        sms_block = data.get("SmsMfaConfiguration")
        email_block = data.get("EmailMfaConfiguration")
        totp = bool(data.get("SoftwareTokenMfaConfiguration", {}).get("Enabled", False))
        if mfa != "OFF" and sms_block is None and not totp and email_block is None:
            raise invalid(
                "Invalid MFA configuration given, can't disable all MFAs with a required or "
                "optional configuration."
            )
        for block, key in ((sms_block, "SmsAuthenticationMessage"), (email_block, "Message")):
            if block is not None and key in block and "{####}" not in block[key]:
                raise invalid(f"{key} must contain {{####}}")
        pool.mfa = mfa
        pool.sms_mfa = sms_block is not None
        pool.sms_message = (sms_block or {}).get("SmsAuthenticationMessage", pool.sms_message)
        pool.totp_mfa = totp
        pool.email_mfa = email_block is not None
        pool.email_message = (email_block or {}).get("Message")
        pool.email_subject = (email_block or {}).get("Subject")
        pool.modified = self.now()
        return self._mfa_config_shape(pool)

    def _get_user_pool_mfa_config(self, data: dict[str, Any]) -> dict[str, Any]:
        return self._mfa_config_shape(self._pool(data["UserPoolId"]))
