"""A :class:`~cognito_mfa.web.FlowStore` in Redis (``redis.asyncio``; extra ``cognito-mfa[redis]``).

Every replica of a service shares one Redis. The take is one Lua script, which Redis runs
atomically: it reads the record and, in the same step, leaves a "taken" marker that keeps the
record's remaining time to live. Two replicas taking one handle at once: one gets the record,
the other the marker (SignInAlreadyAnswered). The records are sealed before they get here;
Redis sees only ciphertext.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

from ..errors import ConnectionFailed, InvalidInput
from ._errors import SignInAlreadyAnswered, SignInExpired
from ._store import TAKEN, check_handle, check_ttl

if TYPE_CHECKING:
    from redis.asyncio import Redis

__all__ = ["RedisFlowStore"]

# GET, then mark taken keeping the TTL: atomic because Redis runs a script as one command
_TAKE: Final = """
local value = redis.call('GET', KEYS[1])
if value and value ~= ARGV[1] then
    redis.call('SET', KEYS[1], ARGV[1], 'KEEPTTL')
end
return value
"""


class RedisFlowStore:
    """A :class:`~cognito_mfa.web.FlowStore` in Redis, shared by every replica.

    ``RedisFlowStore.from_url("redis://host:6379/0")`` opens its own client (closed by
    :meth:`aclose`); ``RedisFlowStore(client)`` uses yours (you close it). Keys are
    ``prefix + handle``. Redis errors surface as :class:`~cognito_mfa.errors.ConnectionFailed`.
    """

    def __init__(self, client: Redis, *, prefix: str = "cognito_mfa:sign-in:") -> None:
        if not isinstance(prefix, str) or not prefix:
            raise InvalidInput("prefix must be a non-empty string")
        self._client = client
        self._prefix = prefix
        self._owned = False
        self._take = client.register_script(_TAKE)

    def __repr__(self) -> str:
        return f"<RedisFlowStore prefix={self._prefix!r}>"

    @classmethod
    def from_url(cls, url: str, *, prefix: str = "cognito_mfa:sign-in:") -> RedisFlowStore:
        try:
            from redis.asyncio import Redis
        except ModuleNotFoundError as missing:  # pragma: no cover - depends on the environment
            raise ModuleNotFoundError(
                "RedisFlowStore needs redis: pip install 'cognito-mfa[redis]'", name="redis"
            ) from missing
        if not isinstance(url, str) or not url.startswith(("redis://", "rediss://", "unix://")):
            raise InvalidInput("the Redis URL must start with redis://, rediss:// or unix://")
        store = cls(Redis.from_url(url), prefix=prefix)
        store._owned = True
        return store

    async def _run(self, coro: Any) -> Any:
        from redis.exceptions import RedisError

        try:
            return await coro
        except RedisError as exc:
            raise ConnectionFailed(f"the sign-in store failed: {type(exc).__name__}") from exc

    async def put(self, handle: str, record: bytes, *, ttl: float) -> None:
        key = self._prefix + check_handle(handle)
        await self._run(
            self._client.set(key, bytes(record), px=max(1, round(check_ttl(ttl) * 1000)))
        )

    async def take(self, handle: str) -> bytes:
        key = self._prefix + check_handle(handle)
        value = await self._run(self._take(keys=[key], args=[TAKEN]))
        if value is None:
            raise SignInExpired("no sign-in is stored under this handle")
        if value == TAKEN:
            raise SignInAlreadyAnswered("this step of the sign-in was already answered")
        return bytes(value)

    async def discard(self, handle: str) -> None:
        await self._run(self._client.delete(self._prefix + check_handle(handle)))

    async def aclose(self) -> None:
        if self._owned:
            await self._client.aclose()
