"""The emulator's one HTTP application (plain ASGI): every route, for every way of reaching it.

The same :class:`EmulatorApp` answers an aioboto3 client in-process (through
``httpx.ASGITransport``, see :mod:`cognito_mfa.testing.inprocess`) and on a loopback port
(uvicorn, see :mod:`cognito_mfa.testing.server`). Routes:

==========================================  ====================================================
``POST /`` with ``X-Amz-Target``            a Cognito operation, JSON 1.1 (signed = an
                                            ``Authorization: AWS4-HMAC-SHA256 ...`` header is
                                            present; the signature is never verified)
``GET /{pool_id}/.well-known/jwks.json``    the pool's token-signing keys
``GET /_emulator/messages``                 SMS/e-mail codes sent: ``[{pool_id, username,
                                            medium, destination, code, sent_at}]``
``GET /_emulator/clock``                    ``{"now": seconds since the epoch}``
``POST /_emulator/clock``                   ``{"advance": seconds}``: move the clock forward;
                                            answers ``{"now": ...}``, the new time
``GET /_emulator/totp?pool_id=&username=``  ``{"code": ..., "now": ...}``: the user's current
                                            TOTP code on the emulator's clock
``POST /_emulator/faults``                  ``{operation, error?, message?, count?, delay?}``
``DELETE /_emulator/faults``                clear injected faults
``OPTIONS``                                 CORS preflight
==========================================  ====================================================

Cognito routes (``POST /``, JWKS) allow any origin and expose ``x-amzn-RequestId``,
``x-amzn-ErrorType`` and ``x-amzn-ErrorMessage``, as Cognito does, so the JavaScript SDK works
from a browser. Control routes (``/_emulator/*``) refuse a browser request from another origin
(an ``Origin`` header that is not ``scheme://host`` of the request itself, and every preflight)
with 403, unless the app was built with ``allow_cross_origin_control=True``: otherwise any web
page could move the clock or read the codes sent. Clients that send no ``Origin`` (boto3, httpx,
curl) are not affected.

Control requests are validated: a JSON object of at most :data:`MAX_CONTROL_BODY` bytes and
:data:`MAX_CONTROL_DEPTH` levels of nesting, only known keys, finite numbers within range
(``NaN``, ``Infinity`` and ``1e300`` are refused). Every refusal is a 400 with
``{"message": ...}``. Cognito requests are bounded by :data:`MAX_COGNITO_BODY`.

Calls into the :class:`Emulator` (not thread-safe) are serialised by :attr:`EmulatorApp.lock`,
which a test holds too when it uses the emulator directly while a served app runs in another
thread. An injected delay is an ``anyio.sleep`` outside the lock, so a slow call does not hold
up the others and a cancelled caller (or a stopping server, :meth:`EmulatorApp.abort_delays`)
cuts it short.
"""

from __future__ import annotations

import json
import math
import re
import threading
import weakref
from collections.abc import Awaitable, Callable, MutableMapping
from http import HTTPStatus
from typing import Any, Final
from urllib.parse import parse_qs

import anyio
import anyio.to_thread

from .service import Emulator, WireResponse

__all__ = [
    "MAX_COGNITO_BODY",
    "MAX_CONTROL_BODY",
    "MAX_CONTROL_DEPTH",
    "EmulatorApp",
    "emulator_lock",
    "is_signed",
]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

#: Cognito's largest map value is 128 KiB; a megabyte is plenty for any operation.
MAX_COGNITO_BODY: Final = 1 << 20
#: The largest control request body (bytes).
MAX_CONTROL_BODY: Final = 64 * 1024
#: The deepest JSON nesting a control request may have (a fault is an object of scalars).
MAX_CONTROL_DEPTH: Final = 4
#: The longest clock advance (ten years) and injected delay (ten minutes), in seconds.
MAX_ADVANCE: Final = 10 * 366 * 86400.0
MAX_DELAY: Final = 600.0
MAX_FAULT_COUNT: Final = 1_000_000

_JSON: Final = "application/json"
_JWKS: Final = re.compile(r"^/(?P<pool_id>[\w-]+_[0-9a-zA-Z]+)/\.well-known/jwks\.json$")
_NAME: Final = re.compile(r"^[A-Za-z][A-Za-z0-9]{0,127}$")
_CONTROL_PREFIX: Final = "/_emulator/"

_CORS: Final = (
    (b"access-control-allow-origin", b"*"),
    (
        b"access-control-expose-headers",
        b"x-amzn-RequestId,x-amzn-ErrorType,x-amzn-ErrorMessage,Date",
    ),
)
_PREFLIGHT: Final = (
    *_CORS,
    (b"access-control-allow-methods", b"GET, POST, DELETE, OPTIONS"),
    (b"access-control-max-age", b"600"),
)
_DEFAULT_ALLOWED_HEADERS: Final = (
    b"Content-Type, X-Amz-Target, X-Amz-User-Agent, X-Amz-Date, X-Amz-Security-Token, "
    b"Authorization, Cache-Control, amz-sdk-invocation-id, amz-sdk-request"
)


_LOCKS: weakref.WeakKeyDictionary[Emulator, threading.RLock] = weakref.WeakKeyDictionary()
_LOCKS_LOCK: Final = threading.Lock()


def emulator_lock(emulator: Emulator) -> threading.RLock:
    """The one lock serialising calls into ``emulator``, shared by every app serving it.

    An emulator served on a port and reached in-process at once is used from two threads;
    hold this lock to use it directly while it is served (``EmulatorServer.lock`` is it).
    """
    with _LOCKS_LOCK:
        lock = _LOCKS.get(emulator)
        if lock is None:
            lock = _LOCKS[emulator] = threading.RLock()
        return lock


class ControlError(Exception):
    """A control request refused with 400 (the message says why; it never echoes a secret)."""


class _TooLarge(Exception):
    pass


def is_signed(authorization: str | None) -> bool:
    """Whether an ``Authorization`` header is SigV4 (its signature is not checked)."""
    return bool(authorization) and str(authorization).startswith("AWS4-HMAC-SHA256")


class EmulatorApp:
    """The ASGI application of one :class:`Emulator` (see the module docstring for routes).

    ``allow_cross_origin_control`` lets browser pages of any origin use ``/_emulator/*``.
    The app writes no state itself: an emulator made with
    :func:`~cognito_mfa.testing.load_emulator` keeps its own state file.
    """

    def __init__(
        self,
        emulator: Emulator,
        *,
        allow_cross_origin_control: bool = False,
        lock: threading.RLock | None = None,
        offload: bool = False,
    ) -> None:
        self.emulator = emulator
        self.allow_cross_origin_control = allow_cross_origin_control
        #: Held around every call into the emulator (by default the emulator's own lock).
        self.lock = lock if lock is not None else emulator_lock(emulator)
        #: Run each Cognito call in a worker thread (served: the event loop keeps reading and
        #: writing other connections meanwhile); in-process, calls run on the caller's loop.
        self.offload = offload
        self._delays: set[anyio.CancelScope] = set()
        self._aborting = False

    # -- ASGI ------------------------------------------------------------------------------------

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return  # websockets and anything newer: not served
        method: str = scope["method"]
        path: str = scope["path"]
        headers = _headers(scope)
        control = path.startswith(_CONTROL_PREFIX)
        if control and not self._same_origin(scope, headers):
            await _drain(receive)
            await _send_json(
                send,
                HTTPStatus.FORBIDDEN,
                {
                    "message": "cross-origin requests to the emulator's control routes are "
                    "refused (serve with --allow-cross-origin-control to allow them)"
                },
                cors=False,
            )
            return
        cors = self.allow_cross_origin_control or not control
        if method == "OPTIONS":
            await _drain(receive)
            await self._preflight(send, headers)
            return
        limit = MAX_CONTROL_BODY if control else MAX_COGNITO_BODY
        try:
            body = await _read_body(receive, headers, limit)
        except _TooLarge:
            await _send_json(
                send,
                HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                {"message": f"the request body is larger than {limit} bytes"},
                cors=cors,
            )
            return
        if control:
            await self._control(method, path, scope, body, send, cors=cors)
        elif method == "POST" and path == "/":
            await self._cognito(headers, body, send)
        elif method == "GET" and (match := _JWKS.match(path)) is not None:
            await self._jwks(match["pool_id"], send)
        else:
            await _not_found(send, method, cors=True)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return

    def abort_delays(self) -> None:
        """Cut every pending injected delay short (those calls answer 503); call on the loop.

        Used when the server stops, so that a long injected delay never holds the shutdown up.
        """
        self._aborting = True
        for scope in list(self._delays):
            scope.cancel()

    # -- origins ---------------------------------------------------------------------------------

    def _same_origin(self, scope: Scope, headers: dict[str, str]) -> bool:
        if self.allow_cross_origin_control:
            return True
        if scope["method"] == "OPTIONS":
            return False  # a preflight only ever comes from another origin
        origin = headers.get("origin")
        if origin is None:
            return True  # not a browser page's request
        host = headers.get("host")
        return host is not None and origin.lower() == f"{scope.get('scheme', 'http')}://{host}"

    async def _preflight(self, send: Send, headers: dict[str, str]) -> None:
        requested = headers.get("access-control-request-headers")
        allowed = requested.encode("latin-1") if requested else _DEFAULT_ALLOWED_HEADERS
        await _send(
            send,
            HTTPStatus.NO_CONTENT,
            b"",
            [*_PREFLIGHT, (b"access-control-allow-headers", allowed)],
        )

    # -- Cognito ---------------------------------------------------------------------------------

    async def _cognito(self, headers: dict[str, str], body: bytes, send: Send) -> None:
        target = headers.get("x-amz-target")
        signed = is_signed(headers.get("authorization"))
        if self.offload:
            wire = await anyio.to_thread.run_sync(self._handle, target, body, signed)
        else:
            wire = self._handle(target, body, signed)
        if wire.delay > 0 and not await self._delay(wire.delay):
            await _send_json(
                send,
                HTTPStatus.SERVICE_UNAVAILABLE,
                {"__type": "ServiceUnavailableException", "message": "The emulator is stopping."},
                cors=True,
            )
            return
        raw = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in wire.headers.items()]
        await _send(send, wire.status, wire.body, [*raw, *_CORS])

    def _handle(self, target: str | None, body: bytes, signed: bool) -> WireResponse:
        with self.lock:
            return self.emulator.handle(target, body, signed=signed)

    async def _delay(self, seconds: float) -> bool:
        """Sleep ``seconds`` (cancellable); False when :meth:`abort_delays` cut it short."""
        if self._aborting:
            return False
        with anyio.CancelScope() as scope:
            self._delays.add(scope)
            try:
                await anyio.sleep(seconds)
            finally:
                self._delays.discard(scope)
        return not scope.cancelled_caught

    async def _jwks(self, pool_id: str, send: Send) -> None:
        with self.lock:
            keys = self.emulator.jwks(pool_id)
        if keys is None:
            await _send_json(
                send,
                HTTPStatus.NOT_FOUND,
                {
                    "__type": "ResourceNotFoundException",
                    "message": f"User pool {pool_id} does not exist.",
                },
                cors=True,
            )
        else:
            await _send_json(send, HTTPStatus.OK, keys, cors=True)

    # -- test control ----------------------------------------------------------------------------

    async def _control(
        self, method: str, path: str, scope: Scope, body: bytes, send: Send, *, cors: bool
    ) -> None:
        route = (method, path)
        try:
            if route == ("GET", "/_emulator/messages"):
                with self.lock:
                    payload: Any = [m.to_json() for m in self.emulator.messages]
            elif route == ("GET", "/_emulator/clock"):
                with self.lock:
                    payload = {"now": self.emulator.now()}
            elif route == ("POST", "/_emulator/clock"):
                payload = self._advance(_control_object(body, {"advance"}))
            elif route == ("GET", "/_emulator/totp"):
                payload = self._totp(scope.get("query_string", b""))
            elif route == ("POST", "/_emulator/faults"):
                self._inject(_control_object(body, _FAULT_KEYS))
                payload = {}
            elif route == ("DELETE", "/_emulator/faults"):
                with self.lock:
                    self.emulator.clear_faults()
                payload = {}
            else:
                await _not_found(send, method, cors=cors)
                return
        except ControlError as exc:
            await _send_json(send, HTTPStatus.BAD_REQUEST, {"message": str(exc)}, cors=cors)
            return
        except LookupError as exc:
            await _send_json(send, HTTPStatus.NOT_FOUND, {"message": str(exc)}, cors=cors)
            return
        await _send_json(send, HTTPStatus.OK, payload, cors=cors)

    def _advance(self, request: dict[str, Any]) -> dict[str, float]:
        seconds = _number(request, "advance", 0.0, MAX_ADVANCE, required=True)
        with self.lock:
            self.emulator.advance(seconds)
            return {"now": self.emulator.now()}

    def _inject(self, request: dict[str, Any]) -> None:
        operation = request.get("operation")
        if not isinstance(operation, str) or not _NAME.match(operation):
            raise ControlError("'operation' must be an operation name, e.g. 'InitiateAuth'")
        error = request.get("error", "InternalErrorException")
        if error is not None and (not isinstance(error, str) or not _NAME.match(error)):
            raise ControlError("'error' must be an error code or null")
        message = request.get("message")
        if message is not None and (not isinstance(message, str) or len(message) > 1024):
            raise ControlError("'message' must be a string of at most 1024 characters")
        count = request.get("count", 1)
        if not isinstance(count, int) or isinstance(count, bool):
            raise ControlError("'count' must be an integer")
        if not 1 <= count <= MAX_FAULT_COUNT:
            raise ControlError(f"'count' must be between 1 and {MAX_FAULT_COUNT}")
        delay = _number(request, "delay", 0.0, MAX_DELAY)
        try:
            with self.lock:
                self.emulator.inject_fault(
                    operation, error=error, message=message, count=count, delay=delay
                )
        except ValueError as exc:
            raise ControlError(str(exc)) from None

    def _totp(self, query_string: bytes) -> dict[str, Any]:
        try:
            query = parse_qs(query_string.decode("ascii"), strict_parsing=False)
        except UnicodeDecodeError:
            raise ControlError("the query string is not ASCII") from None
        pool_id = query.get("pool_id", [""])[0]
        username = query.get("username", [""])[0]
        if not pool_id or not username:
            raise ControlError("pass pool_id and username in the query string")
        with self.lock:
            now = self.emulator.now()
            code = self.emulator.totp_code(pool_id, username, now)
        return {"code": code, "now": now}


_FAULT_KEYS: Final = frozenset({"operation", "error", "message", "count", "delay"})


# -- control request parsing -----------------------------------------------------------------


def _refuse_constant(name: str) -> Any:
    raise ControlError(f"{name} is not a number the emulator accepts")


def _json_depth(data: bytes) -> int:
    """The deepest nesting of objects and arrays in ``data`` (strings skipped)."""
    depth = deepest = 0
    in_string = escaped = False
    for byte in data:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:  # quote
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):  # [ {
            depth += 1
            deepest = max(deepest, depth)
        elif byte in (0x5D, 0x7D):  # ] }
            depth -= 1
    return deepest


def _control_object(body: bytes, keys: frozenset[str] | set[str]) -> dict[str, Any]:
    if _json_depth(body) > MAX_CONTROL_DEPTH:
        raise ControlError(f"the JSON is nested more than {MAX_CONTROL_DEPTH} levels deep")
    try:
        payload = json.loads(body or b"{}", parse_constant=_refuse_constant)
    except ValueError as exc:
        # json's message names a position, never the content
        raise ControlError(f"the body is not JSON: {exc}") from None
    if not isinstance(payload, dict):
        raise ControlError("the body must be a JSON object")
    unknown = sorted(set(payload) - set(keys))
    if unknown:
        raise ControlError(f"unknown keys: {', '.join(unknown)[:200]}")
    return payload


def _number(
    request: dict[str, Any], key: str, low: float, high: float, *, required: bool = False
) -> float:
    if key not in request:
        if required:
            raise ControlError(f"'{key}' is required")
        return low
    value = request[key]
    if not isinstance(value, int | float) or isinstance(value, bool):
        raise ControlError(f"'{key}' must be a number of seconds")
    number = float(value) if math.isfinite(value) else math.inf
    if not low <= number <= high:
        raise ControlError(f"'{key}' must be between {low:g} and {high:g} seconds")
    return number


# -- HTTP plumbing ---------------------------------------------------------------------------


def _headers(scope: Scope) -> dict[str, str]:
    # The last value wins for a repeated header, as for every header used here.
    return {
        name.decode("latin-1").lower(): value.decode("latin-1")
        for name, value in scope.get("headers", [])
    }


async def _drain(receive: Receive) -> None:
    while True:
        message = await receive()
        if message["type"] != "http.request" or not message.get("more_body", False):
            return


async def _read_body(receive: Receive, headers: dict[str, str], limit: int) -> bytes:
    declared = headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise _TooLarge
    parts: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break  # the client went away
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise _TooLarge
        parts.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(parts)


async def _send(
    send: Send, status: int, body: bytes, headers: list[tuple[bytes, bytes]] | tuple[Any, ...]
) -> None:
    kept = [
        (k, v)
        for k, v in headers
        if k not in (b"content-length", b"transfer-encoding", b"connection")
    ]
    kept.append((b"content-length", str(len(body)).encode()))
    await send({"type": "http.response.start", "status": int(status), "headers": kept})
    await send({"type": "http.response.body", "body": body})


async def _send_json(send: Send, status: int, payload: Any, *, cors: bool) -> None:
    headers = [(b"content-type", _JSON.encode())]
    if cors:
        headers.extend(_CORS)
    await _send(send, status, json.dumps(payload).encode(), headers)


async def _not_found(send: Send, method: str, *, cors: bool) -> None:
    await _send_json(send, HTTPStatus.NOT_FOUND, {"message": f"no route for {method}"}, cors=cors)
