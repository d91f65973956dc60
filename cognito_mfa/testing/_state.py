"""The emulator's shared state: records, sessions, the clock, randomness, and change tracking.

Every operation family (:mod:`._signin`, :mod:`._mfa`, :mod:`._admin`, :mod:`._pools`,
:mod:`._tokens`) is a set of functions over one :class:`Model`. The model is the only way to
reach a stored record: each lookup, addition or removal notes the record's key in
:attr:`Model.touched`, so after a call the state file needs to look only at those records
(see :mod:`._state_file`).

Stored records and their keys: ``("pool", pool_id)`` (the pool's settings, without its users
and clients), ``("client", pool_id, client_id)``, ``("user", pool_id, username)``,
``("refresh", digest)`` and ``("origin", origin_jti)``. Challenge sessions, the outbox and faults
are short-lived and never stored.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Final, Literal

from . import _codes
from ._model import AuthSession, Client, Origin, Pool, RefreshRecord, SentMessage, User
from ._wire import CognitoError

__all__ = [
    "MSG_ATTEMPTS_EXCEEDED",
    "MSG_BAD_PASSWORD",
    "MSG_NO_USER",
    "MSG_SESSION",
    "Key",
    "Model",
    "Settings",
    "not_authorized",
]

Key = tuple[str, ...]

MSG_BAD_PASSWORD: Final = "Incorrect username or password."
MSG_NO_USER: Final = "User does not exist."
MSG_SESSION: Final = "Invalid session for the user."
MSG_SESSION_USED: Final = "Invalid session for the user, session can only be used once."
MSG_SESSION_EXPIRED: Final = "Invalid session for the user, session is expired."
# UNCONFIRMED: the error type of the lockouts; the message is documented
MSG_ATTEMPTS_EXCEEDED: Final = "Password attempts exceeded"

# spent and expired sessions are kept this long past their expiry, so that their reuse is
# reported precisely ("can only be used once", "is expired"), then dropped
_SESSION_KEEP: Final = 15 * 60.0


def not_authorized(message: str) -> CognitoError:
    return CognitoError("NotAuthorizedException", message)


@dataclass(frozen=True)
class Settings:
    """How the emulator behaves where Cognito's behaviour is unknown or a test wants a switch."""

    region: str = "us-east-1"
    totp_reuse: bool = False
    mfa_attempt_limit: int = 5
    mfa_lockout: bool = True
    password_lockout: bool = True
    password_verifier_timeout: float | None = None
    timestamp_tolerance: float | None = 900.0
    # whether a remembered device stands in for email MFA too (SMS and TOTP: always)
    device_skips_email_mfa: bool = False
    # the newest messages the outbox keeps
    outbox_limit: int = 10_000


class Model:
    """Pools, clients, users, sessions and tokens, plus the services every family needs."""

    def __init__(
        self,
        settings: Settings,
        clock: Callable[[], float],
        random_bytes: Callable[[int], bytes],
    ) -> None:
        self.settings = settings
        self.clock = clock
        self.random = random_bytes
        self.offset = 0.0
        self.pools: dict[str, Pool] = {}
        self.sessions: dict[str, AuthSession] = {}
        self.secret_blocks: dict[str, str] = {}  # SECRET_BLOCK -> session token
        self.refresh: dict[str, RefreshRecord] = {}  # digest -> record
        self.origins: dict[str, Origin] = {}  # origin_jti -> record
        self.messages: list[SentMessage] = []
        self.page_key: bytes | None = (
            None  # signs ListDevices pagination tokens (made at first use)
        )
        self.touched: set[Key] = set()

    # --- time ---------------------------------------------------------------------------------

    def now(self) -> float:
        return self.clock() + self.offset

    # --- pools and clients --------------------------------------------------------------------

    def pool(self, pool_id: str) -> Pool:
        pool = self.pools.get(pool_id)
        if pool is None:
            raise CognitoError("ResourceNotFoundException", f"User pool {pool_id} does not exist.")
        self.touched.add(("pool", pool.id))
        return pool

    def add_pool(self, pool: Pool) -> None:
        self.pools[pool.id] = pool
        self.touched.add(("pool", pool.id))

    def drop_pool(self, pool: Pool) -> None:
        """Remove a pool with everything that belongs to it."""
        del self.pools[pool.id]
        self.touched.add(("pool", pool.id))
        for client_id in pool.clients:
            self.touched.add(("client", pool.id, client_id))
        for username in pool.users:
            self.touched.add(("user", pool.id, username))
        self._drop_tokens(lambda pool_id, _: pool_id == pool.id)
        for token in [t for t, s in self.sessions.items() if s.pool_id == pool.id]:
            self._forget_session(token)

    def client(self, client_id: str, pool_id: str | None = None) -> tuple[Pool, Client]:
        pools = [self.pool(pool_id)] if pool_id is not None else list(self.pools.values())
        for pool in pools:
            client = pool.clients.get(client_id)
            if client is not None:
                self.touched.add(("client", pool.id, client.id))
                return pool, client
        raise CognitoError(
            "ResourceNotFoundException", f"User pool client {client_id} does not exist."
        )

    def add_client(self, pool: Pool, client: Client) -> None:
        pool.clients[client.id] = client
        self.touched.add(("client", pool.id, client.id))

    # --- users --------------------------------------------------------------------------------

    def user(self, pool: Pool, name: str, *, aliases: bool = True) -> User | None:
        """A user by internal name or (``aliases``) by a sign-in name (:meth:`Pool.find_user`)."""
        user = pool.find_user(name, aliases=aliases)
        if user is not None:
            self.touched.add(("user", pool.id, user.username))
        return user

    def aliases_taken(
        self,
        pool: Pool,
        attributes: Mapping[str, str],
        *,
        exclude: str | None,
        only: Collection[str] | None = None,
    ) -> list[tuple[str, User]]:
        """The other users holding the aliases ``attributes`` make (:meth:`Pool.aliases_taken`).

        They are noted as touched: moving an alias changes them.
        """
        taken = pool.aliases_taken(attributes, exclude=exclude, only=only)
        self.touched.update(("user", pool.id, holder.username) for _, holder in taken)
        return taken

    def admin_user(self, data: dict[str, Any]) -> tuple[Pool, User]:
        pool = self.pool(data["UserPoolId"])
        user = self.user(pool, data["Username"])
        if user is None:
            raise CognitoError("UserNotFoundException", MSG_NO_USER)
        return pool, user

    def add_user(self, pool: Pool, user: User) -> None:
        pool.add_user(user)
        self.touched.add(("user", pool.id, user.username))

    def drop_user(self, pool: Pool, user: User) -> None:
        pool.remove_user(user.username)
        self.touched.add(("user", pool.id, user.username))
        self._drop_tokens(lambda pool_id, name: pool_id == pool.id and name == user.username)

    # --- tokens -------------------------------------------------------------------------------

    def add_origin(self, origin: Origin) -> None:
        self.origins[origin.jti] = origin
        self.touched.add(("origin", origin.jti))

    def origin(self, jti: str) -> Origin | None:
        origin = self.origins.get(jti)
        if origin is not None:
            self.touched.add(("origin", jti))
        return origin

    def user_origins(self, pool: Pool, user: User) -> list[Origin]:
        found = [
            o for o in self.origins.values() if o.pool_id == pool.id and o.username == user.username
        ]
        self.touched.update(("origin", o.jti) for o in found)
        return found

    def add_refresh(self, record: RefreshRecord) -> None:
        self.refresh[record.digest] = record
        self.touched.add(("refresh", record.digest))

    def refresh_record(self, digest: str) -> RefreshRecord | None:
        record = self.refresh.get(digest)
        if record is not None:
            self.touched.add(("refresh", digest))
        return record

    def _drop_tokens(self, belongs: Callable[[str, str], bool]) -> None:
        gone = {j for j, o in self.origins.items() if belongs(o.pool_id, o.username)}
        for jti in gone:
            del self.origins[jti]
            self.touched.add(("origin", jti))
        for digest in [d for d, r in self.refresh.items() if r.origin_jti in gone]:
            del self.refresh[digest]
            self.touched.add(("refresh", digest))

    # --- sessions -----------------------------------------------------------------------------

    def new_session(
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
            token=_codes.session_token(self.random),
            pool_id=pool.id,
            client_id=client.id,
            username=user.username,
            challenge=challenge,
            created=now,
            expires=now + 60 * client.session_validity_minutes,
            admin=admin,
            **extra,
        )
        self._prune_sessions(now)
        self.sessions[session.token] = session
        if session.srp is not None:
            self.secret_blocks[session.srp.secret_block] = session.token
        return session

    def _prune_sessions(self, now: float) -> None:
        # sessions are kept in creation order: the stale ones are at the front (a later
        # session with a shorter validity waits its turn, which only keeps it a little longer)
        while self.sessions:
            token, session = next(iter(self.sessions.items()))
            if now <= session.expires + _SESSION_KEEP:
                break
            self._forget_session(token)

    def _forget_session(self, token: str) -> None:
        session = self.sessions.pop(token)
        if session.srp is not None:
            self.secret_blocks.pop(session.srp.secret_block, None)

    def session(self, token: str) -> AuthSession:
        """A live session, or the NotAuthorizedException Cognito answers for it."""
        session = self.sessions.get(token)
        if session is None:
            raise not_authorized(MSG_SESSION)
        if session.used:
            raise not_authorized(MSG_SESSION_USED)
        if self.now() >= session.expires:
            raise not_authorized(MSG_SESSION_EXPIRED)
        if session.dead:
            # UNCONFIRMED: the in-session lockout error after too many wrong codes
            raise not_authorized(MSG_ATTEMPTS_EXCEEDED)
        return session

    def spend(self, session: AuthSession) -> None:
        """Mark a session used and drop what only its answer needed (code, SRP secrets).

        A spent session is kept (small) so its reuse is reported as such, until pruned.
        """
        session.used = True
        session.code = None
        if session.srp is not None:
            self.secret_blocks.pop(session.srp.secret_block, None)
            session.srp = None

    def session_user(self, session: AuthSession) -> tuple[Pool, Client, User]:
        pool = self.pools.get(session.pool_id)
        client = pool.clients.get(session.client_id) if pool is not None else None
        user = pool.users.get(session.username) if pool is not None else None
        if pool is None or client is None or user is None:
            raise not_authorized(MSG_SESSION)
        self.touched.add(("user", pool.id, user.username))
        return pool, client, user

    # --- messages -----------------------------------------------------------------------------

    def send(self, pool: Pool, user: User, medium: Literal["SMS", "EMAIL"], to: str) -> str:
        """Deliver a one-time code to the outbox; returns the code."""
        code = _codes.digits(self.random, 6 if medium == "SMS" else 8)
        self.messages.append(SentMessage(pool.id, user.username, medium, to, code, self.now()))
        excess = len(self.messages) - self.settings.outbox_limit
        if excess > 0:
            del self.messages[:excess]
        return code

    # --- upkeep and persistence ---------------------------------------------------------------

    def prune(self) -> None:
        """Drop refresh tokens and sign-ins whose every token has expired."""
        now = self.now()
        for digest in [d for d, r in self.refresh.items() if now >= r.expires]:
            del self.refresh[digest]
            self.touched.add(("refresh", digest))
        for jti in [j for j, o in self.origins.items() if now >= o.expires]:
            del self.origins[jti]
            self.touched.add(("origin", jti))
        self._prune_sessions(now)

    def record(self, key: Key) -> Any:
        """The stored record behind ``key``, or None when it no longer exists."""
        kind = key[0]
        if kind == "pool":
            return self.pools.get(key[1])
        if kind in ("client", "user"):
            pool = self.pools.get(key[1])
            if pool is None:
                return None
            return (pool.clients if kind == "client" else pool.users).get(key[2])
        if kind == "refresh":
            return self.refresh.get(key[1])
        return self.origins.get(key[1])

    def records(self) -> Iterator[tuple[Key, Any]]:
        """Every stored record with its key, pools before what belongs to them."""
        for pool in self.pools.values():
            yield ("pool", pool.id), pool
            for client in pool.clients.values():
                yield ("client", pool.id, client.id), client
            for user in pool.users.values():
                yield ("user", pool.id, user.username), user
        for digest, record in self.refresh.items():
            yield ("refresh", digest), record
        for jti, origin in self.origins.items():
            yield ("origin", jti), origin
