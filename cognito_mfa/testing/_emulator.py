"""The Cognito user-pool emulator: one object behind Cognito's JSON 1.1 wire protocol.

:class:`Emulator` consumes one request (the ``X-Amz-Target`` value, the body bytes, whether a
SigV4 ``Authorization`` header was present) and returns a :class:`WireResponse`; it never
raises. The request is decoded and validated by :mod:`._wire`, dispatched through
:data:`OPERATIONS` (operation name -> the handler of one family: :mod:`._signin`,
:mod:`._mfa`, :mod:`._admin`, :mod:`._pools`, :mod:`._tokens`, :mod:`._devices`), and the
result or error is shaped by :mod:`._shapes`. Time and randomness are injected (``clock``,
``random_bytes``); the emulator keeps an offset that :meth:`Emulator.advance` moves so tests
expire sessions and walk TOTP windows without sleeping.

Not thread-safe by design: the fronts serialise calls. An emulator made by
:func:`cognito_mfa.testing._state_file.load_emulator` persists its own changes after each call
(see :meth:`Emulator.attach`).
"""

from __future__ import annotations

import base64
import contextlib
import json
import math
import secrets
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Final, Protocol

import pyotp

from . import _admin, _codes, _devices, _mfa, _pools, _signin, _tokens
from ._faults import Fault, FaultQueue
from ._model import Client, Origin, PasswordPolicy, Pool, RefreshRecord, SentMessage, User
from ._records import StateError, from_plain, to_plain
from ._shapes import WireResponse, error_response, success_response
from ._state import Key, Model, Settings
from ._wire import SHAPES, SIGNED_OPERATIONS, CognitoError, decode_body, validate

__all__ = [
    "OPERATIONS",
    "READ_ONLY_OPERATIONS",
    "TARGET_PREFIX",
    "Emulator",
    "Journal",
    "SentMessage",
    "WireResponse",
]

TARGET_PREFIX: Final = "AWSCognitoIdentityProviderService."
STATE_VERSION: Final = 2
_PRUNE_EVERY: Final = 1024  # state-changing calls between two sweeps for expired tokens

Handler = Callable[[Model, dict[str, Any]], dict[str, Any]]

#: Operation name -> handler, one family per module.
OPERATIONS: Final[dict[str, Handler]] = {
    **_signin.HANDLERS,
    **_mfa.HANDLERS,
    **_admin.HANDLERS,
    **_pools.HANDLERS,
    **_tokens.HANDLERS,
    **_devices.HANDLERS,
}

#: Operations that never change a stored record: nothing to persist after them.
READ_ONLY_OPERATIONS: Final = frozenset(
    {
        "DescribeUserPool",
        "DescribeUserPoolClient",
        "ListUserPools",
        "ListUserPoolClients",
        "GetUserPoolMfaConfig",
        "GetUser",
        "AdminGetUser",
        "ListDevices",
        "GetDevice",
        "AdminListDevices",
        "AdminGetDevice",
    }
)


class Journal(Protocol):
    """Where an emulator sends the records a call changed (see :mod:`._state_file`)."""

    path: Path

    def record(self, changes: list[tuple[Key, dict[str, Any] | None]]) -> None: ...

    def needs_compaction(self) -> bool: ...

    def compact(self, region: str, records: list[tuple[Key, dict[str, Any]]]) -> None: ...

    def close(self) -> None: ...


class Emulator:
    """A Cognito user-pool service: call :meth:`handle` with each request's target and body.

    ``timestamp_tolerance``: how far (seconds) PASSWORD_VERIFIER's TIMESTAMP may be from the
    emulator's clock (None: not compared). ``password_lockout`` / ``mfa_lockout``: the per-user
    lockouts after repeated wrong passwords / MFA codes. ``device_skips_email_mfa``: whether a
    remembered device stands in for email MFA as it does for SMS and TOTP (assumed off).
    ``outbox_limit``: how many sent SMS and e-mail messages :attr:`messages` keeps, the newest
    (a long-running emulator would otherwise keep every code it ever sent).
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
        password_lockout: bool = True,
        timestamp_tolerance: float | None = 900.0,
        device_skips_email_mfa: bool = False,
        outbox_limit: int = 10_000,
    ) -> None:
        if mfa_attempt_limit < 1:
            raise ValueError("mfa_attempt_limit must be at least 1")
        if isinstance(outbox_limit, bool) or not isinstance(outbox_limit, int) or outbox_limit < 1:
            raise ValueError("outbox_limit must be a whole number of messages, at least 1")
        if timestamp_tolerance is not None and not timestamp_tolerance >= 0:
            raise ValueError("timestamp_tolerance must be a number of seconds, or None")
        settings = Settings(
            region=region,
            totp_reuse=totp_reuse,
            mfa_attempt_limit=mfa_attempt_limit,
            mfa_lockout=mfa_lockout,
            password_lockout=password_lockout,
            password_verifier_timeout=password_verifier_timeout,
            timestamp_tolerance=timestamp_tolerance,
            device_skips_email_mfa=device_skips_email_mfa,
            outbox_limit=outbox_limit,
        )
        self._model = Model(settings, clock, random_bytes)
        self._faults = FaultQueue()
        self._journal: Journal | None = None
        # the JSON of each record as last handed to the journal: only real changes go out
        self._written: dict[Key, str] = {}
        self._changes = 0

    # --- settings (read-only views) -----------------------------------------------------------

    @property
    def region(self) -> str:
        return self._model.settings.region

    @property
    def messages(self) -> list[SentMessage]:
        """The SMS and email messages "sent", oldest first: the newest ``outbox_limit``."""
        return self._model.messages

    # --- time ---------------------------------------------------------------------------------

    def now(self) -> float:
        """The emulator's current time: the injected clock plus every :meth:`advance`."""
        return self._model.now()

    def advance(self, seconds: float) -> None:
        """Move the emulator's clock forward (expire sessions, move TOTP windows)."""
        if not math.isfinite(seconds):
            raise ValueError("the clock advances by a finite number of seconds")
        if seconds < 0:
            raise ValueError("the emulator's clock only moves forward")
        self._model.offset += seconds

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
        if operation not in OPERATIONS:
            raise ValueError(f"unknown operation {operation!r}")
        if count < 1:
            raise ValueError("count must be at least 1")
        if not math.isfinite(delay) or delay < 0:
            raise ValueError("delay must be a finite, non-negative number of seconds")
        self._faults.add(
            operation, Fault(error=error, message=message, remaining=count, delay=delay)
        )

    def clear_faults(self) -> None:
        self._faults.clear()

    # --- the wire -----------------------------------------------------------------------------

    def handle(self, target: str | None, body: bytes, *, signed: bool) -> WireResponse:
        """Answer one JSON 1.1 request. Never raises: failures are Cognito-shaped errors."""
        delay = 0.0
        operation: str | None = None
        self._model.touched.clear()
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
                # Token". UNCONFIRMED for cognito-idp itself; the JSON 1.1 "__type" is spelled
                # "<name>Exception" as other JSON services do.
                raise CognitoError(
                    "MissingAuthenticationTokenException", "Request is missing Authentication Token"
                )
            data = validate(SHAPES[operation], decode_body(body))
            result = OPERATIONS[operation](self._model, data)
        except CognitoError as error:
            response = error_response(error, self._request_id(), delay)
        except Exception:  # a bug must still look like Cognito, never a traceback
            bug = CognitoError("InternalErrorException", "Internal server error.")
            response = error_response(bug, self._request_id(), delay)
        else:
            response = success_response(result, self._request_id(), delay)
        if operation is not None and operation not in READ_ONLY_OPERATIONS:
            # a failed call can change state too (a lockout counter, a spent session)
            try:
                failure = self._persist()
            except Exception:  # never a traceback, even from the state file's code
                failure = CognitoError("InternalErrorException", "Internal server error.")
            if failure is not None:
                return error_response(failure, self._request_id(), delay)
        return response

    def _operation_of(self, target: str | None) -> str:
        if target is None or not target.startswith(TARGET_PREFIX):
            raise CognitoError("UnknownOperationException", "Unknown operation")
        operation = target[len(TARGET_PREFIX) :]
        if operation not in OPERATIONS:
            raise CognitoError("UnknownOperationException", "Unknown operation")
        return operation

    def _request_id(self) -> str:
        return _codes.random_uuid(self._model.random)

    # --- conveniences for tests ---------------------------------------------------------------

    def last_code(self, username: str, medium: str | None = None) -> str:
        """The code of the newest message to ``username`` (internal name or destination; in
        a case-insensitive pool, in any case, as the pool signs its users in)."""
        for message in reversed(self._model.messages):
            if medium is not None and message.medium != medium:
                continue
            if username in (message.username, message.destination):
                return message.code
            pool = self._model.pools.get(message.pool_id)
            if pool is None or not pool.ignores_case:
                continue
            if pool.same_name(username, message.username) or (
                message.medium == "EMAIL"
                and pool.same_value("email", username, message.destination)
            ):
                return message.code
        raise LookupError(f"no message was sent to {username!r}")

    def jwks(self, pool_id: str) -> dict[str, Any] | None:
        """The JWKS document served at ``/{pool_id}/.well-known/jwks.json`` (None: no pool)."""
        pool = self._model.pools.get(pool_id)
        if pool is None:
            return None
        made = not pool.key.pem
        keys = {"keys": pool.key.jwks_keys()}
        if made:
            # the key was made just now: keep it, so the keys served stay the keys used
            self._changed_pool(pool_id)
        return keys

    def rotate_signing_key(self, pool_id: str, *, keep_old: bool = True) -> str:
        """Sign the pool's new tokens with a new key; return its ``kid``.

        ``keep_old``: the JWKS keeps serving the old keys, and tokens signed with them stay
        valid, until :meth:`retire_old_keys` (a key rollover, for testing token verifiers
        across one); otherwise they are dropped at once. ``LookupError`` for an unknown pool.
        """
        pool = self._model.pools.get(pool_id)
        if pool is None:
            raise LookupError(f"no pool {pool_id!r}")
        kid = base64.b64encode(self._model.random(32)).decode()
        pool.key.rotate(kid, keep_old=keep_old)
        self._changed_pool(pool_id)
        return kid

    def retire_old_keys(self, pool_id: str) -> None:
        """Drop the pool's rotated-out keys from its JWKS: tokens signed with them stop verifying.

        ``LookupError`` for an unknown pool, as :meth:`rotate_signing_key` raises.
        """
        pool = self._model.pools.get(pool_id)
        if pool is None:
            raise LookupError(f"no pool {pool_id!r}")
        pool.key.retire_old()
        self._changed_pool(pool_id)

    def _changed_pool(self, pool_id: str) -> None:
        """Journal a pool changed outside :meth:`handle` (its signing keys)."""
        if self._journal is not None:
            self._model.touched = {("pool", pool_id)}
            self._persist()

    def totp_code(self, pool_id: str, username: str, at: float | None = None) -> str:
        """The TOTP code of a user's secret at ``at`` (default: now).

        Uses the pending (associated, not yet verified) secret when there is one, since that is
        the secret the next VerifySoftwareToken checks; otherwise the verified one.
        """
        pool = self._model.pools.get(pool_id)
        user = pool.find_user(username) if pool is not None else None
        if user is None:
            raise LookupError(f"no user {username!r} in pool {pool_id!r}")
        secret = user.totp_pending or user.totp_secret
        if secret is None:
            raise LookupError(f"user {username!r} has no TOTP secret")
        return pyotp.TOTP(secret).at(self.now() if at is None else at)

    # --- persistence --------------------------------------------------------------------------

    def attach(self, journal: Journal) -> None:
        """Send every later change of a stored record to ``journal``.

        The journal is assumed to hold the emulator's current records already (it was just
        loaded from or compacted to them).
        """
        self._journal = journal
        self._written = {key: _json(plain) for key, plain in self.plain_records()}

    @property
    def journal_path(self) -> Path | None:
        """The state file this emulator keeps (see :func:`load_emulator`), or None."""
        return None if self._journal is None else self._journal.path

    def compact(self) -> None:
        """Rewrite the state file as a snapshot of the live records now (no-op without one)."""
        if self._journal is not None:
            self._compact(self._journal)

    def close(self) -> None:
        """Flush and close the journal, if any (the emulator keeps working, unpersisted)."""
        journal, self._journal = self._journal, None
        if journal is not None:
            journal.close()

    def plain_records(self) -> list[tuple[Key, dict[str, Any]]]:
        """Every stored record as ``(key, JSON-ready dict)``, pools before their contents."""
        return [(key, _plain(key, record)) for key, record in self._model.records()]

    def prune(self) -> None:
        """Drop refresh tokens, sign-ins and sessions whose time is over."""
        self._model.touched.clear()
        self._model.prune()
        self._persist()

    def _persist(self) -> CognitoError | None:
        self._changes += 1
        if self._changes % _PRUNE_EVERY == 0:
            # expired tokens go, journal or not, so memory stays bounded by live state
            self._model.prune()
        touched, self._model.touched = self._model.touched, set()
        if self._journal is None or not touched:
            return None
        changes: list[tuple[Key, dict[str, Any] | None]] = []
        texts: dict[Key, str | None] = {}
        for key in sorted(touched, key=_key_order):
            record = self._model.record(key)
            if record is None:
                if key in self._written:
                    changes.append((key, None))
                    texts[key] = None
                continue
            plain = _plain(key, record)
            text = _json(plain)
            if self._written.get(key) != text:
                changes.append((key, plain))
                texts[key] = text
        if not changes:
            return None
        try:
            self._journal.record(changes)
        except OSError:
            # the change is made but not durable: say so, as a server fault (and offer the
            # same records again with the next change)
            return CognitoError(
                "InternalErrorException", "The emulator could not write its state file."
            )
        for key, new_text in texts.items():
            if new_text is None:
                del self._written[key]
            else:
                self._written[key] = new_text
        if self._journal.needs_compaction():
            # the change is durable already; a snapshot that fails is tried again later
            with contextlib.suppress(OSError):
                self._compact(self._journal)
        return None

    def _compact(self, journal: Journal) -> None:
        """Rewrite the journal as a snapshot of the live records."""
        self._model.prune()
        self._model.touched.clear()  # the snapshot supersedes these changes
        records = self.plain_records()
        journal.compact(self.region, records)
        self._written = {key: _json(plain) for key, plain in records}

    def to_state(self) -> dict[str, Any]:
        """Pools, clients, users (verifiers, TOTP secrets, settings), keys and token records.

        Challenge sessions, the outbox and faults are not kept: they are short-lived.
        """
        model = self._model
        return {
            "version": STATE_VERSION,
            "region": model.settings.region,
            "pools": [to_plain(pool) for pool in model.pools.values()],
            "refresh_tokens": [to_plain(record) for record in model.refresh.values()],
            "origins": [to_plain(origin) for origin in model.origins.values()],
        }

    @classmethod
    def from_state(cls, state: dict[str, Any], **kwargs: Any) -> Emulator:
        """An emulator holding :meth:`to_state`'s records (version 2, or version 1 files).

        Raises ``ValueError`` (a :class:`StateError` naming where) for unusable state.
        """
        version = state.get("version")
        if version == 1:
            state = _upgrade_from_v1(state)
        elif version != STATE_VERSION:
            raise ValueError("unsupported emulator state version")
        region = state.get("region", "us-east-1")
        if not isinstance(region, str):
            raise StateError("region", "expected a string")
        kwargs.setdefault("region", region)
        emulator = cls(**kwargs)
        model = emulator._model
        for index, plain in enumerate(_list_of(state, "pools")):
            pool = from_plain(Pool, plain, f"pools[{index}]")
            model.pools[pool.id] = pool
        for index, plain in enumerate(_list_of(state, "refresh_tokens")):
            record = from_plain(RefreshRecord, plain, f"refresh_tokens[{index}]")
            model.refresh[record.digest] = record
        for index, plain in enumerate(_list_of(state, "origins")):
            origin = from_plain(Origin, plain, f"origins[{index}]")
            model.origins[origin.jti] = origin
        return emulator

    def restore(self, key: Key, plain: dict[str, Any] | None, where: str) -> None:
        """Apply one journal entry: ``plain`` is the record behind ``key`` (None: gone)."""
        model = self._model
        kind = key[0]
        if kind == "pool" and len(key) == 2:
            if plain is None:
                model.pools.pop(key[1], None)
                return
            pool = from_plain(Pool, plain, where)
            old = model.pools.get(pool.id)
            if old is not None:
                pool.users, pool.clients = old.users, old.clients
                pool.reindex()
            model.pools[pool.id] = pool
        elif kind in ("client", "user") and len(key) == 3:
            owner = model.pools.get(key[1])
            if owner is None:
                return  # its pool was deleted later in the journal's history
            if kind == "client":
                if plain is None:
                    owner.clients.pop(key[2], None)
                else:
                    client = from_plain(Client, plain, where)
                    owner.clients[client.id] = client
            elif plain is None:
                owner.remove_user(key[2])
            else:
                owner.add_user(from_plain(User, plain, where))
        elif kind == "refresh" and len(key) == 2:
            if plain is None:
                model.refresh.pop(key[1], None)
            else:
                record = from_plain(RefreshRecord, plain, where)
                model.refresh[record.digest] = record
        elif kind == "origin" and len(key) == 2:
            if plain is None:
                model.origins.pop(key[1], None)
            else:
                origin = from_plain(Origin, plain, where)
                model.origins[origin.jti] = origin
        else:
            raise StateError(where, "unknown record kind")


_KIND_ORDER: Final = {"pool": 0, "client": 1, "user": 2, "origin": 3, "refresh": 4}


def _key_order(key: Key) -> tuple[int, Key]:
    # a pool before its clients and users, so a journal replays in a valid order
    return _KIND_ORDER.get(key[0], 9), key


def _plain(key: Key, record: Any) -> dict[str, Any]:
    if key[0] == "pool":
        return to_plain(record, exclude=frozenset({"users", "clients"}))
    return to_plain(record)


def _json(plain: dict[str, Any]) -> str:
    return json.dumps(plain, sort_keys=True, separators=(",", ":"))


def _list_of(state: dict[str, Any], name: str) -> list[Any]:
    value = state.get(name, [])
    if not isinstance(value, list):
        raise StateError(name, "expected a list")
    return value


def _upgrade_from_v1(state: dict[str, Any]) -> dict[str, Any]:
    """Version 1 (whole-file state of earlier releases) -> version 2's layout."""
    pools = []
    origins: dict[str, dict[str, Any]] = {}
    refresh = []
    for index, old in enumerate(_list_of(state, "pools")):
        if not isinstance(old, dict):
            raise StateError(f"pools[{index}]", "expected a JSON object")
        pool = {k: v for k, v in old.items() if k not in ("kid", "key_pem", "policy", "users")}
        pool["key"] = {"kid": old.get("kid"), "pem": old.get("key_pem", "")}
        policy = old.get("policy", {})
        if not isinstance(policy, dict):
            raise StateError(f"pools[{index}].policy", "expected a JSON object")
        try:
            pool["policy"] = to_plain(PasswordPolicy.from_wire(policy))
        except (TypeError, ValueError):
            raise StateError(f"pools[{index}].policy", "not a password policy") from None
        users = []
        for user_index, old_user in enumerate(old.get("users", [])):
            where = f"pools[{index}].users[{user_index}]"
            if not isinstance(old_user, dict):
                raise StateError(where, "expected a JSON object")
            user = {
                k: v for k, v in old_user.items() if not k.startswith("mfa_") and k != "origins"
            }
            user["mfa_lockout"] = {
                "failures": old_user.get("mfa_failures", 0),
                "last_failure": old_user.get("mfa_last_failure", 0.0),
                "locked_until": old_user.get("mfa_locked_until", 0.0),
            }
            revoked = old_user.get("origins", {})
            if not isinstance(revoked, dict):
                raise StateError(f"{where}.origins", "expected a JSON object")
            for jti, is_revoked in revoked.items():
                origins[jti] = {"jti": jti, "revoked": bool(is_revoked)}
            users.append(user)
        pool["users"] = users
        pools.append(pool)
    for index, old_record in enumerate(_list_of(state, "refresh_tokens")):
        if not isinstance(old_record, dict):
            raise StateError(f"refresh_tokens[{index}]", "expected a JSON object")
        record = {
            "digest": old_record.get("key"),
            "origin_jti": old_record.get("origin_jti"),
            "expires": old_record.get("expires"),
            "auth_time": old_record.get("auth_time"),
        }
        refresh.append(record)
        origin = origins.get(str(old_record.get("origin_jti")))
        if origin is not None:
            origin.update(
                pool_id=old_record.get("pool_id"),
                client_id=old_record.get("client_id"),
                username=old_record.get("username"),
                expires=old_record.get("expires"),
            )
    # a sign-in whose refresh token is gone has no tokens left to check
    live = [o for o in origins.values() if "expires" in o]
    return {
        "version": STATE_VERSION,
        "region": state.get("region", "us-east-1"),
        "pools": pools,
        "refresh_tokens": refresh,
        "origins": live,
    }
