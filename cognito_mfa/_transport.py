"""The network seam: one aioboto3 ``cognito-idp`` client and the one place errors are translated.

Everything the library sends to Cognito goes through :meth:`Transport.call`. botocore's own
retries are switched off (``total_max_attempts=1``) because botocore would replay a challenge answer
that Cognito may already have consumed; :class:`RetryPolicy` decides instead:

* a throttled request (``TooManyRequestsException`` and other :class:`~cognito_mfa.errors.Throttled`
  codes) was refused before it was processed, so it is retried for every operation;
* a server fault (``InternalErrorException``, HTTP 5xx) or a transport failure is retried only
  for operations that are safe to repeat (reads, idempotent settings, starting a sign-in);
  a challenge answer, a TOTP verification or an association is surfaced typed instead,
  because repeating it could consume a code twice or use a spent session.

Backoff is exponential with full jitter. Bounds, all in :class:`RetryPolicy` (the transport's
settings) and botocore's own timeouts, with defaults that suit Cognito:

* ``RetryPolicy.deadline`` (30 s): one operation, all its attempts and backoff included, never
  takes longer; past it :class:`~cognito_mfa.errors.RequestTimeout` is raised. This is the one
  place the library sets a deadline of its own: a network call that never ends would otherwise
  hold a sign-in forever (a server trickling a byte at a time defeats any read timeout).
  Callers still set their own, shorter deadlines with cancel scopes (``anyio.fail_after``).
* botocore's ``connect_timeout`` (5 s) and ``read_timeout`` (15 s) unless the
  ``botocore_config`` given sets them.
* ``RetryPolicy.max_response_bytes`` (1 MiB): an answer announcing or growing past it is not
  read further; it is a :class:`~cognito_mfa.errors.ProtocolError`. Cognito's answers are a
  few kilobytes.

An answer botocore cannot parse (a body that is not UTF-8, JSON that is not an object, a member
of the wrong shape) is a :class:`~cognito_mfa.errors.ProtocolError`: the client's response
parser is wrapped (through the session's public ``response_parser_factory`` component) so
that only failures inside parsing are translated, never an error in the request we built.
"""

from __future__ import annotations

import logging
import math
import random
from collections.abc import Mapping
from contextlib import AsyncExitStack
from dataclasses import dataclass
from functools import cache
from typing import Any, Final
from urllib.parse import urlsplit

import aioboto3
import anyio
import botocore.exceptions as botocore_errors
from aiobotocore.config import AioConfig
from aiobotocore.endpoint import DEFAULT_HTTP_SESSION_CLS
from aiobotocore.parsers import AioResponseParserFactory
from aiobotocore.session import AioSession
from botocore import xform_name
from botocore.config import Config
from botocore.parsers import ResponseParserError

from ._checks import check_text
from ._hidden import HiddenDict, hide_tree, without_frames
from ._limits import check_tree, loads
from ._protocol import unsupported_challenge_of
from ._turns import take_turn
from .errors import (
    CognitoError,
    ConnectionFailed,
    CredentialsRequired,
    InternalError,
    InvalidInput,
    PoolClosed,
    ProtocolError,
    RequestTimeout,
    Throttled,
    TransportError,
    UnsupportedChallenge,
    error_for_code,
)

__all__ = ["IDEMPOTENT_OPERATIONS", "IN_PROCESS_EMULATOR_HOST", "RetryPolicy", "Transport"]

logger = logging.getLogger("cognito_mfa.transport")

# Operations whose repetition cannot consume a code or a session twice.
IDEMPOTENT_OPERATIONS: Final = frozenset(
    {
        "InitiateAuth",  # starts a fresh sign-in; a lost answer just leaves an unused session
        "AdminInitiateAuth",
        "GetUser",
        "AdminGetUser",
        "RevokeToken",  # revoking twice revokes once
        "SetUserMFAPreference",
        "AdminSetUserMFAPreference",
        "SetUserSettings",
        "AdminSetUserSettings",
        "GetUserPoolMfaConfig",
        "DescribeUserPool",
        "DescribeUserPoolClient",
        "GlobalSignOut",
    }
)


NOT_OPEN: Final = "the pool is not open: 'await pool.open()' or 'async with UserPool(...)'"
DEFAULT_CONNECT_TIMEOUT: Final = 5.0
DEFAULT_READ_TIMEOUT: Final = 15.0


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently to retry, and the transport's bounds (see the module
    docstring for *what* is retried).

    ``deadline`` bounds one operation, all attempts included (``None``: no bound);
    ``max_response_bytes`` bounds the answer read. Raises InvalidInput for values that are not
    positive numbers.
    """

    max_attempts: int = 4
    base_delay: float = 0.05
    max_delay: float = 2.0
    deadline: float | None = 30.0
    max_response_bytes: int = 1024 * 1024

    def __post_init__(self) -> None:
        if not isinstance(self.max_attempts, int) or self.max_attempts < 1:
            raise InvalidInput("max_attempts must be a positive integer")
        for what in ("base_delay", "max_delay"):
            value = getattr(self, what)
            if not isinstance(value, int | float) or not 0 <= value < math.inf:
                raise InvalidInput(f"{what} must be a number of seconds, at least 0")
        if self.deadline is not None and (
            not isinstance(self.deadline, int | float) or not 0 < self.deadline < math.inf
        ):
            raise InvalidInput("deadline must be a positive number of seconds, or None")
        if not isinstance(self.max_response_bytes, int) or self.max_response_bytes < 1:
            raise InvalidInput("max_response_bytes must be a positive integer")

    def should_retry(self, operation: str, error: Exception, attempt: int) -> bool:
        if attempt >= self.max_attempts:
            return False
        if isinstance(error, Throttled):
            return True
        if isinstance(error, InternalError | TransportError):
            return operation in IDEMPOTENT_OPERATIONS
        return False

    def delay(self, attempt: int) -> float:
        # full jitter: spreads many clients' retries instead of synchronising them
        cap = min(self.max_delay, self.base_delay * (2 ** (attempt - 1)))
        return random.uniform(0, cap)


#: The host of the in-process emulator's endpoint (``cognito_mfa.testing.EMULATOR_ENDPOINT``).
#: Under ``.invalid`` (reserved, never resolves): only the emulator's own transport reaches it.
IN_PROCESS_EMULATOR_HOST: Final = "cognito-idp.emulator.invalid"


def _check_in_process_endpoint(endpoint_url: str | None, session_cls: object) -> bool:
    """Whether the endpoint is the in-process emulator's (then with its transport).

    A pool pointed at it without its transport would only ever try DNS and a socket: that is
    refused here, saying what is missing, before anything is sent.
    """
    if endpoint_url is None:
        return False
    try:
        host = urlsplit(endpoint_url).hostname
    except ValueError:
        return False  # not a URL at all: botocore's own check reports it
    if host != IN_PROCESS_EMULATOR_HOST:
        return False
    if not getattr(session_cls, "cognito_mfa_in_process", False):
        raise InvalidInput(
            "endpoint_url is the in-process emulator's (EMULATOR_ENDPOINT) but botocore_config "
            "does not carry its transport: pass "
            "botocore_config=cognito_mfa.testing.httpx_client_config(emulator)"
        )
    return True


def translate(exc: Exception, operation: str) -> Exception:
    """Map a botocore exception to ours; anything else (a programming error) is returned as is."""
    if isinstance(exc, botocore_errors.ClientError):
        error = exc.response.get("Error", {})
        meta = exc.response.get("ResponseMetadata", {})
        error_code = str(error.get("Code", "Unknown"))
        status = meta.get("HTTPStatusCode")
        if isinstance(status, int) and status < 500 and error_code == str(status):
            # botocore puts the HTTP status where the body named no error type: nothing we
            # could act on (a 5xx stays a server fault, retried as such)
            return ProtocolError(f"{operation}: HTTP {status} without a Cognito error type")
        return error_for_code(
            error_code,
            str(error.get("Message", "")),
            operation=operation,
            request_id=meta.get("RequestId"),
            status=status,
        )
    if isinstance(exc, botocore_errors.NoCredentialsError):
        return CredentialsRequired(f"{operation} is signed: it needs AWS credentials")
    if isinstance(exc, botocore_errors.ReadTimeoutError | botocore_errors.ConnectTimeoutError):
        return RequestTimeout(f"{operation}: timed out talking to Cognito", operation=operation)
    if isinstance(exc, botocore_errors.ConnectionError | botocore_errors.HTTPClientError):
        # botocore's message names the URL (never a secret: the query string is empty)
        url = exc.kwargs.get("endpoint_url") if isinstance(exc.kwargs, dict) else None
        where = f" to {url}" if isinstance(url, str) else ""
        return ConnectionFailed(
            f"{operation}: could not talk{where} ({type(exc).__name__})", operation=operation
        )
    return exc


# What botocore's JSON parser raises on a body it cannot read: its own error, and the bare
# ones from decoding (UnicodeDecodeError, json's ValueError) or from walking a member of the
# wrong shape ('list' object has no attribute 'items', ...).
_PARSER_FAILURES: Final = (
    ResponseParserError,
    AttributeError,
    TypeError,
    ValueError,
    UnicodeError,
    RecursionError,
)


class _GuardedParser:
    """A botocore response parser whose failures are ProtocolErrors."""

    def __init__(self, parser: Any) -> None:
        self._parser = parser

    async def parse(self, response: Mapping[str, Any], shape: Any) -> dict[str, Any]:
        operation = response.get("context", {}).get("operation_name", "Cognito")
        await take_turn()  # parsing is the other half of a step's CPU work on the loop
        try:
            parsed = await self._parser.parse(response, shape)
        except _PARSER_FAILURES as exc:
            _raise_unsupported_challenge(response.get("body"))
            raise ProtocolError(
                f"{operation}: the answer could not be parsed ({type(exc).__name__})"
            ) from without_frames(exc)
        if not isinstance(parsed, dict):  # e.g. a body of JSON null
            raise ProtocolError(f"{operation}: the answer is not a JSON object")
        # the one check every answer passes: bounded depth, text that is valid Unicode
        check_tree(parsed, f"{operation} answer")
        return parsed

    def __getattr__(self, name: str) -> Any:
        return getattr(self._parser, name)


def _raise_unsupported_challenge(body: object) -> None:
    """UnsupportedChallenge for a body naming a challenge we never answer.

    Such an answer's other members (its ChallengeParameters, say) are never read, so their
    shape is no reason to report anything but the challenge itself.
    """
    if not isinstance(body, bytes):
        return
    try:
        value = loads(body.decode("utf-8"), "answer")
    except (CognitoError, UnicodeError):
        return
    name = unsupported_challenge_of(value)
    if name is not None:
        raise UnsupportedChallenge(name)


class _GuardedParserFactory:
    """aiobotocore's response parser factory, handing out :class:`_GuardedParser` objects."""

    def __init__(self) -> None:
        self._factory = AioResponseParserFactory()

    def create_parser(self, protocol_name: str) -> _GuardedParser:
        return _GuardedParser(self._factory.create_parser(protocol_name))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._factory, name)


async def _read_capped(response: Any, limit: int, url: str) -> bytes:
    """The body of ``response`` (aiohttp's or httpx's), read no further than ``limit`` bytes."""
    raw = response.raw
    length = response.headers.get("content-length")
    if length is not None and length.isdigit() and int(length) > limit:
        await _discard(raw)
        raise ProtocolError(f"the answer announces {length} bytes, more than {limit}")
    chunks: list[bytes] = []
    size = 0
    # httpx's response, or aiohttp's
    stream = raw.aiter_raw() if hasattr(raw, "aiter_raw") else raw.content.iter_any()
    try:
        async for chunk in stream:
            size += len(chunk)
            if size > limit:
                await _discard(raw)
                raise ProtocolError(f"the answer is longer than {limit} bytes; not read further")
            chunks.append(chunk)
    except CognitoError:
        raise
    except Exception as exc:
        await _discard(raw)
        # what the HTTP library raises mid-body, as botocore would report it
        raise botocore_errors.ConnectionClosedError(endpoint_url=url) from without_frames(exc)
    except BaseException:
        # cancelled mid-body (a deadline): the connection must not be left half read
        with anyio.CancelScope(shield=True):
            await _discard(raw)
        raise
    return b"".join(chunks)


async def _discard(raw: Any) -> None:
    # drop the connection: the rest of the body is never read
    if hasattr(raw, "aclose"):
        await raw.aclose()
    else:
        raw.close()


@cache
def _capped_session_class(base: type, limit: int) -> type:
    """``base`` (aiobotocore's aiohttp or httpx session) reading at most ``limit`` bytes.

    The session is the one place the body is read; aiobotocore's ``http_session_cls`` setting
    is the public way to provide it.
    """

    class CappedSession(base):  # type: ignore[misc]
        async def send(self, request: Any) -> Any:
            streaming = request.stream_output
            request.stream_output = True  # the base class must not read the body itself
            try:
                response = await super().send(request)
            finally:
                request.stream_output = streaming
            if not streaming:
                response._content = await _read_capped(response, limit, request.url)
            return response

    CappedSession.__qualname__ = CappedSession.__name__ = f"Capped{base.__name__}"
    return CappedSession


class Transport:
    """Owns one aioboto3 ``cognito-idp`` client; many concurrent flows share it.

    Use as ``async with Transport(...) as transport``. ``botocore_config`` is merged with ours
    (e.g. an ``AioConfig(http_session_cls=HttpxSession)`` for the in-process emulator).
    """

    def __init__(
        self,
        *,
        region: str,
        endpoint_url: str | None = None,
        botocore_config: AioConfig | None = None,
        aws_access_key_id: str | None = None,
        aws_secret_access_key: str | None = None,
        aws_session_token: str | None = None,
        profile_name: str | None = None,
        retry_policy: RetryPolicy | None = None,
    ) -> None:
        # typed errors now, rather than from inside botocore on first use
        texts = {
            "aws_access_key_id": aws_access_key_id,
            "aws_secret_access_key": aws_secret_access_key,
            "aws_session_token": aws_session_token,
            "profile_name": profile_name,
        }
        for what, value in texts.items():
            if value is not None:
                check_text(value, what)  # names the option, never echoes the value
        if botocore_config is not None and not isinstance(botocore_config, Config):
            raise InvalidInput("botocore_config must be an AioConfig (or a botocore Config)")
        if retry_policy is not None and not isinstance(retry_policy, RetryPolicy):
            raise InvalidInput("retry_policy must be a RetryPolicy")
        in_process = _check_in_process_endpoint(
            endpoint_url, getattr(botocore_config, "http_session_cls", None)
        )
        self.region = region
        self.endpoint_url = endpoint_url
        self.retry_policy = retry_policy or RetryPolicy()
        # defaults first, the caller's settings over them, and ours last: botocore must not
        # retry itself (total_max_attempts counts the first try)
        defaults = AioConfig(
            connect_timeout=DEFAULT_CONNECT_TIMEOUT, read_timeout=DEFAULT_READ_TIMEOUT
        )
        ours = AioConfig(retries={"total_max_attempts": 1, "mode": "standard"})
        merged = defaults.merge(botocore_config) if botocore_config is not None else defaults
        merged = merged.merge(ours)
        # AioConfig.merge (aiobotocore 2.25) drops http_session_cls: carry it over, or an
        # httpx config (the in-process emulator) silently falls back to aiohttp
        session_cls = getattr(botocore_config, "http_session_cls", None) or DEFAULT_HTTP_SESSION_CLS
        merged.http_session_cls = _capped_session_class(
            session_cls, self.retry_policy.max_response_bytes
        )
        self._config = merged
        self._session_kwargs: dict[str, Any] = {"profile_name": profile_name}
        self._credentials = {
            k: v
            for k, v in {
                "aws_access_key_id": aws_access_key_id,
                "aws_secret_access_key": aws_secret_access_key,
                "aws_session_token": aws_session_token,
            }.items()
            if v is not None
        }
        self._in_process = in_process
        self._stack: AsyncExitStack | None = None
        self._client: Any = None
        self._closed = False

    @property
    def is_open(self) -> bool:
        return self._client is not None

    async def open(self) -> None:
        if self._closed:
            raise PoolClosed("this pool was closed and cannot be opened again; make a new one")
        if self._client is not None:
            return
        stack = AsyncExitStack()
        try:
            botocore_session = AioSession()
            botocore_session.register_component("response_parser_factory", _GuardedParserFactory())
            if self._in_process:
                # no road to the network: looking for credentials must not ask the instance
                # metadata or container endpoints (the environment and files are still read)
                resolver = botocore_session.get_component("credential_provider")
                for network_provider in ("iam-role", "container-role"):
                    resolver.remove(network_provider)
            session = aioboto3.Session(botocore_session=botocore_session, **self._session_kwargs)
            self._client = await stack.enter_async_context(
                session.client(
                    "cognito-idp",
                    region_name=self.region,
                    endpoint_url=self.endpoint_url,
                    config=self._config,
                    **self._credentials,
                )
            )
        except BaseException:
            await stack.aclose()
            raise
        self._stack = stack

    async def aclose(self) -> None:
        self._closed = True
        stack, self._stack, self._client = self._stack, None, None
        if stack is not None:
            # shielded: a cancelled caller must still release the connection pool
            with anyio.CancelScope(shield=True):
                await stack.aclose()

    async def __aenter__(self) -> Transport:
        await self.open()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def call(
        self,
        operation: str,
        params: Mapping[str, Any],
        *,
        retry_policy: RetryPolicy | None = None,
    ) -> dict[str, Any]:
        """Send one Cognito operation; returns the response without ``ResponseMetadata``.

        Raises a :class:`~cognito_mfa.errors.ServiceError` subclass for Cognito's errors, a
        :class:`~cognito_mfa.errors.TransportError` when the network failed
        (:class:`~cognito_mfa.errors.RequestTimeout` too when ``RetryPolicy.deadline`` passed),
        a :class:`~cognito_mfa.errors.ProtocolError` when the answer cannot be parsed within
        bounds (too large, too deep, not valid Unicode), and
        :class:`~cognito_mfa.errors.PoolClosed` when the transport is not open. The answer's
        dicts are :class:`~cognito_mfa._hidden.HiddenDict` (their ``repr`` shows keys only).
        """
        __tracebackhide__ = True  # keeps passwords, codes and tokens out of pytest's output
        # rebound at once: a traceback recording locals shows this frame's params masked
        params = HiddenDict(params)
        policy = retry_policy or self.retry_policy
        try:
            with anyio.fail_after(policy.deadline):
                return await self._attempts(operation, params, policy)
        except TimeoutError:
            raise RequestTimeout(
                f"{operation}: no answer within the {policy.deadline} s deadline "
                "(RetryPolicy.deadline)",
                operation=operation,
            ) from None

    async def _attempts(
        self, operation: str, params: HiddenDict, policy: RetryPolicy
    ) -> dict[str, Any]:
        __tracebackhide__ = True  # keeps passwords, codes and tokens out of pytest's output
        attempt = 0
        while True:
            attempt += 1
            # the turn comes first: the pool may be closed while this step waits for it
            await take_turn()
            client = self._client
            if client is None:
                raise PoolClosed(NOT_OPEN)
            method = getattr(client, xform_name(operation))
            try:
                response = HiddenDict(await method(**params))
            except CognitoError as exc:
                # raised by our parser or reader deep inside botocore, whose frames hold the
                # request: the error stays, those frames go
                raise without_frames(exc) from None
            except (botocore_errors.ClientError, botocore_errors.BotoCoreError) as exc:
                error = translate(exc, operation)
                if error is exc:
                    raise  # a programming error (e.g. parameter validation): not ours to hide
                if policy.should_retry(operation, error, attempt):
                    delay = policy.delay(attempt)
                    logger.debug(
                        "retrying %s after %s (attempt %d, %.3fs)",
                        operation,
                        type(error).__name__,
                        attempt,
                        delay,
                    )
                    await anyio.sleep(delay)
                    continue
                # the cause is kept for its type and message; its frames (botocore's, holding
                # the request with its passwords, codes and tokens) are dropped
                raise error from without_frames(exc)
            response.pop("ResponseMetadata", None)
            logger.debug("%s ok", operation)
            result: dict[str, Any] = hide_tree(response)
            return result
