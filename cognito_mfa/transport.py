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

Backoff is exponential with full jitter, and deadlines belong to the caller (cancel scopes).

An answer botocore cannot parse (a body that is not UTF-8, JSON that is not an object, a member
of the wrong shape) is a :class:`~cognito_mfa.errors.ProtocolError`: the client's response
parser is wrapped (through the session's public ``response_parser_factory`` component) so
that only failures inside parsing are translated, never an error in the request we built.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Mapping
from contextlib import AsyncExitStack
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import urlsplit

import aioboto3
import anyio
import botocore.exceptions as botocore_errors
from aiobotocore.config import AioConfig
from aiobotocore.parsers import AioResponseParserFactory
from aiobotocore.session import AioSession
from botocore import xform_name
from botocore.config import Config
from botocore.parsers import ResponseParserError

from ._checks import check_text
from ._turns import take_turn
from .errors import (
    ConnectionFailed,
    CredentialsRequired,
    InternalError,
    InvalidInput,
    PoolClosed,
    ProtocolError,
    RequestTimeout,
    Throttled,
    TransportError,
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


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently to retry (see the module docstring for *what* is retried)."""

    max_attempts: int = 4
    base_delay: float = 0.05
    max_delay: float = 2.0

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


NO_RETRY: Final = RetryPolicy(max_attempts=1)

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
        return ConnectionFailed(f"{operation}: {type(exc).__name__}", operation=operation)
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
            raise ProtocolError(
                f"{operation}: the answer could not be parsed ({type(exc).__name__})"
            ) from exc
        if not isinstance(parsed, dict):  # e.g. a body of JSON null
            raise ProtocolError(f"{operation}: the answer is not a JSON object")
        return parsed

    def __getattr__(self, name: str) -> Any:
        return getattr(self._parser, name)


class _GuardedParserFactory:
    """aiobotocore's response parser factory, handing out :class:`_GuardedParser` objects."""

    def __init__(self) -> None:
        self._factory = AioResponseParserFactory()

    def create_parser(self, protocol_name: str) -> _GuardedParser:
        return _GuardedParser(self._factory.create_parser(protocol_name))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._factory, name)


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
        # total_max_attempts counts the first try; botocore's max_attempts counts retries
        ours = AioConfig(retries={"total_max_attempts": 1, "mode": "standard"})
        if botocore_config is not None:
            merged = botocore_config.merge(ours)
            # AioConfig.merge (aiobotocore 2.25) drops http_session_cls: carry it over, or an
            # httpx config (the in-process emulator) silently falls back to aiohttp
            session_cls = getattr(botocore_config, "http_session_cls", None)
            if session_cls is not None:
                merged.http_session_cls = session_cls
            self._config = merged
        else:
            self._config = ours
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
            raise PoolClosed("this pool was closed; create a new one")
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
        :class:`~cognito_mfa.errors.TransportError` when the network failed, a
        :class:`~cognito_mfa.errors.ProtocolError` when the answer cannot be parsed, and
        :class:`~cognito_mfa.errors.PoolClosed` when the transport is not open.
        """
        __tracebackhide__ = True  # keeps passwords, codes and tokens out of pytest's output
        policy = retry_policy or self.retry_policy
        attempt = 0
        while True:
            attempt += 1
            # the turn comes first: the pool may be closed while this step waits for it
            await take_turn()
            client = self._client
            if client is None:
                raise PoolClosed("the pool is not open: use 'async with UserPool(...)'")
            method = getattr(client, xform_name(operation))
            try:
                response: dict[str, Any] = await method(**params)
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
                raise error from exc
            response.pop("ResponseMetadata", None)
            logger.debug("%s ok", operation)
            return response
