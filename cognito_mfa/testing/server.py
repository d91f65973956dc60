"""The served front of the emulator: Cognito's JSON 1.1 wire protocol on a loopback port.

A stdlib :class:`http.server.ThreadingHTTPServer` (HTTP/1.1, keep-alive, every response with a
``Content-Length``), so it needs no event loop and works from synchronous and asynchronous tests
alike. Each request runs in its own thread; calls into the :class:`Emulator`, which is not
thread-safe, are serialised by one lock. Routes (Cognito's wire protocol: ``cognito-wire.md``
section 1):

=========================================  =====================================================
``POST /`` with ``X-Amz-Target``           a Cognito operation (signed = ``Authorization:
                                           AWS4-HMAC-SHA256 ...`` present, never verified)
``GET /{pool_id}/.well-known/jwks.json``   the pool's token-signing keys
``GET /_emulator/messages``                SMS/e-mail codes sent: ``[{username, medium,
                                           destination, code, ...}]``
``POST /_emulator/clock``                  ``{"advance": seconds}``: move the emulator's clock
``POST /_emulator/faults``                 ``{operation, error, message, count, delay}``
``DELETE /_emulator/faults``               clear injected faults
``OPTIONS *``                              CORS preflight, so a browser or the JS SDK can call it
=========================================  =====================================================

Every response allows any origin and exposes ``x-amzn-RequestId``, ``x-amzn-ErrorType`` and
``x-amzn-ErrorMessage``, as Cognito does. An injected delay is slept outside the lock, so a slow
call does not hold up the others.

State file. With ``state_file`` set, the whole :meth:`Emulator.to_state` is written after every
successful (200) call of an operation that can change state (reads such as ``GetUser`` or
``DescribeUserPool`` are skipped), atomically: a temporary file in the same directory is written,
flushed and fsync'ed, then renamed over the old one with :func:`os.replace`, and the directory is
fsync'ed. A crash at any moment leaves either the previous complete file or the new one.
:func:`load_emulator` restores it at start.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any, Final, cast

from .service import TARGET_PREFIX, Emulator, WireResponse

__all__ = ["EmulatorServer", "load_emulator", "write_state_atomically"]

_JWKS_SUFFIX: Final = "/.well-known/jwks.json"
_JSON: Final = "application/json"
_MAX_BODY: Final = 1 << 20  # Cognito's largest map value is 128 KiB; a megabyte is plenty
_IDLE_TIMEOUT: Final = 30.0  # seconds a kept-alive connection may sit idle

# Operations that never change the model: no state-file write after them.
_READ_ONLY_OPERATIONS: Final = frozenset(
    {
        "DescribeUserPool",
        "DescribeUserPoolClient",
        "GetUserPoolMfaConfig",
        "GetUser",
        "AdminGetUser",
        "ListUsers",
        "ListUserPools",
        "ListUserPoolClients",
    }
)

_CORS_HEADERS: Final = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Expose-Headers": ("x-amzn-RequestId,x-amzn-ErrorType,x-amzn-ErrorMessage,Date"),
}
_CORS_PREFLIGHT: Final = {
    **_CORS_HEADERS,
    "Access-Control-Allow-Methods": "GET, POST, DELETE, OPTIONS",
    "Access-Control-Max-Age": "600",
}
_DEFAULT_ALLOWED_HEADERS: Final = (
    "Content-Type, X-Amz-Target, X-Amz-User-Agent, X-Amz-Date, X-Amz-Security-Token, "
    "Authorization, Cache-Control, amz-sdk-invocation-id, amz-sdk-request"
)


def write_state_atomically(path: Path, state: dict[str, Any]) -> None:
    """Write ``state`` as JSON to ``path`` so that a crash leaves the old file or the new one."""
    directory = path.parent
    fd, temp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as temp:
            json.dump(state, temp, separators=(",", ":"))
            temp.flush()
            os.fsync(temp.fileno())
        os.replace(temp_name, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp_name)
        raise
    # Make the rename itself durable.
    dir_fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def load_emulator(state_file: Path | str | None, **kwargs: Any) -> Emulator:
    """An :class:`Emulator` restored from ``state_file`` when it exists, else a fresh one.

    ``kwargs`` go to the emulator (clock, randomness, ...). A file that does not parse raises
    ``ValueError`` naming the file.
    """
    if state_file is None or not Path(state_file).exists():
        return Emulator(**kwargs)
    path = Path(state_file)
    try:
        state = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ValueError(f"cannot read emulator state from {path}: {exc}") from exc
    if not isinstance(state, dict):
        raise ValueError(f"emulator state in {path} is not a JSON object")
    try:
        return Emulator.from_state(state, **kwargs)
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"emulator state in {path} is not usable: {exc!r}") from exc


class _Server(ThreadingHTTPServer):
    # Handler threads are joined on close (no thread outlives the server), and open
    # keep-alive connections are tracked so that stopping can cut them.
    daemon_threads = False
    block_on_close = True

    def __init__(self, address: tuple[str, int], front: EmulatorServer) -> None:
        self.front = front
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        super().__init__(address, _Handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._connections_lock:
            self._connections.add(cast(socket.socket, request))
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._connections_lock:
            self._connections.discard(cast(socket.socket, request))
        super().shutdown_request(request)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that hangs up mid-answer, or a connection cut by stop(), is routine.
        if isinstance(sys.exc_info()[1], OSError):
            return
        super().handle_error(request, client_address)

    def cut_connections(self) -> None:
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: botocore and aiohttp reuse connections
    # headers and body go out in two sends; without TCP_NODELAY the body waits for the
    # client's delayed ACK (up to 40 ms a response)
    disable_nagle_algorithm = True
    server_version = "cognito-mfa-emulator"
    sys_version = ""
    timeout = _IDLE_TIMEOUT
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        # Request lines would put nothing secret on stderr, but tests run quietly.
        return

    # -- routing ---------------------------------------------------------------------------------

    def do_OPTIONS(self) -> None:
        headers = dict(_CORS_PREFLIGHT)
        headers["Access-Control-Allow-Headers"] = (
            self.headers.get("Access-Control-Request-Headers") or _DEFAULT_ALLOWED_HEADERS
        )
        if self._read_body() is not None:
            self._send(HTTPStatus.NO_CONTENT, b"", headers)

    def do_GET(self) -> None:
        if self._read_body() is None:
            return
        path = self.path.split("?", 1)[0]
        front = self.server.front
        if path == "/_emulator/messages":
            with front.lock:
                messages = [m.to_json() for m in front.emulator.messages]
            self._send_json(HTTPStatus.OK, messages)
        elif path.endswith(_JWKS_SUFFIX) and path.count("/") == 3:
            pool_id = path[1 : -len(_JWKS_SUFFIX)]
            with front.lock:
                keys = front.emulator.jwks(pool_id)
            if keys is None:
                self._send_json(
                    HTTPStatus.NOT_FOUND,
                    {
                        "__type": "ResourceNotFoundException",
                        "message": f"User pool {pool_id} does not exist.",
                    },
                )
            else:
                self._send_json(HTTPStatus.OK, keys)
        else:
            self._not_found()

    def do_POST(self) -> None:
        body = self._read_body()
        if body is None:
            return
        path = self.path.split("?", 1)[0]
        if path == "/_emulator/clock":
            self._control(body, self._advance_clock)
        elif path == "/_emulator/faults":
            self._control(body, self._inject_fault)
        elif path == "/":
            self._cognito_call(body)
        else:
            self._not_found()

    def do_DELETE(self) -> None:
        if self._read_body() is None:
            return
        if self.path.split("?", 1)[0] == "/_emulator/faults":
            with self.server.front.lock:
                self.server.front.emulator.clear_faults()
            self._send_json(HTTPStatus.OK, {})
        else:
            self._not_found()

    # -- Cognito ---------------------------------------------------------------------------------

    def _cognito_call(self, body: bytes) -> None:
        target = self.headers.get("X-Amz-Target")
        signed = self.headers.get("Authorization", "").startswith("AWS4-HMAC-SHA256")
        front = self.server.front
        with front.lock:
            wire = front.emulator.handle(target, body, signed=signed)
            if wire.status == HTTPStatus.OK and _changes_state(target):
                try:
                    front.save_state()
                except OSError as exc:
                    # The change is made but not durable: say so, as a server fault.
                    sys.stderr.write(f"cognito-mfa emulator: cannot write state file: {exc}\n")
                    self._send_json(
                        HTTPStatus.INTERNAL_SERVER_ERROR,
                        {
                            "__type": "InternalErrorException",
                            "message": "The emulator could not write its state file.",
                        },
                    )
                    return
        self._send_wire(wire)

    def _send_wire(self, wire: WireResponse) -> None:
        if wire.delay > 0:
            time.sleep(wire.delay)  # outside the lock: other calls go on meanwhile
        headers = dict(wire.headers)
        headers.update(_CORS_HEADERS)
        self._send(wire.status, wire.body, headers)

    # -- test control ----------------------------------------------------------------------------

    def _control(self, body: bytes, action: Callable[[dict[str, Any]], None]) -> None:
        try:
            payload = json.loads(body or b"{}")
            if not isinstance(payload, dict):
                raise ValueError("expected a JSON object")
            with self.server.front.lock:
                action(payload)
        except (ValueError, TypeError, KeyError) as exc:
            self._send_json(HTTPStatus.BAD_REQUEST, {"message": f"bad control request: {exc}"})
            return
        self._send_json(HTTPStatus.OK, {})

    def _advance_clock(self, payload: dict[str, Any]) -> None:
        seconds = payload["advance"]
        if not isinstance(seconds, int | float) or isinstance(seconds, bool):
            raise TypeError("'advance' must be a number of seconds")
        self.server.front.emulator.advance(float(seconds))

    def _inject_fault(self, payload: dict[str, Any]) -> None:
        operation = payload["operation"]
        if not isinstance(operation, str):
            raise TypeError("'operation' must be a string")
        count = payload.get("count", 1)
        delay = payload.get("delay", 0.0)
        if not isinstance(count, int) or not isinstance(delay, int | float):
            raise TypeError("'count' must be an integer and 'delay' a number")
        self.server.front.emulator.inject_fault(
            operation,
            error=payload.get("error", "InternalErrorException"),
            message=payload.get("message"),
            count=count,
            delay=float(delay),
        )

    # -- HTTP plumbing ---------------------------------------------------------------------------

    def _read_body(self) -> bytes | None:
        """The request body (Content-Length or chunked), or None after answering 4xx."""
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            return self._read_chunked()
        length_text = self.headers.get("Content-Length", "0")
        try:
            length = int(length_text)
        except ValueError:
            length = -1
        if length < 0 or length > _MAX_BODY:
            self.close_connection = True
            self._send_json(HTTPStatus.BAD_REQUEST, {"message": "bad Content-Length"})
            return None
        return self.rfile.read(length) if length else b""

    def _read_chunked(self) -> bytes | None:
        parts: list[bytes] = []
        total = 0
        while True:
            line = self.rfile.readline(1024)
            try:
                size = int(line.split(b";", 1)[0].strip(), 16)
            except ValueError:
                size = -1
            total += size
            if size < 0 or total > _MAX_BODY:
                self.close_connection = True
                self._send_json(HTTPStatus.BAD_REQUEST, {"message": "bad chunked body"})
                return None
            if size == 0:
                # Trailers, if any, end with an empty line.
                while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                    pass
                return b"".join(parts)
            parts.append(self.rfile.read(size))
            self.rfile.readline(1024)

    def _not_found(self) -> None:
        self._send_json(HTTPStatus.NOT_FOUND, {"message": f"no route for {self.command}"})

    def _send_json(self, status: int, payload: Any) -> None:
        headers = {"Content-Type": _JSON, **_CORS_HEADERS}
        self._send(status, json.dumps(payload).encode(), headers)

    def _send(self, status: int, body: bytes, headers: dict[str, str]) -> None:
        self.send_response(status)
        for name, value in headers.items():
            if name.lower() not in ("content-length", "connection", "transfer-encoding"):
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if body:
            self.wfile.write(body)


def _changes_state(target: str | None) -> bool:
    if target is None or not target.startswith(TARGET_PREFIX):
        return False
    return target[len(TARGET_PREFIX) :] not in _READ_ONLY_OPERATIONS


class EmulatorServer:
    """Serve ``emulator`` on ``host:port`` (0 = a free port) from a background thread.

    Use as a context manager (``with EmulatorServer(Emulator()) as server: server.url``) or
    call :meth:`start` and :meth:`stop`. Stopping shuts the listener, cuts kept-alive
    connections and joins every thread, so nothing outlives it. With ``state_file``, the
    emulator's state is written there atomically after every state-changing call (restore it
    with :func:`load_emulator`).
    """

    def __init__(
        self,
        emulator: Emulator,
        host: str = "127.0.0.1",
        port: int = 0,
        state_file: Path | str | None = None,
    ) -> None:
        self.emulator = emulator
        self.state_file = Path(state_file) if state_file is not None else None
        #: Held around every call into the emulator; hold it too when using ``emulator``
        #: directly while the server runs.
        self.lock = threading.RLock()
        self._address = (host, port)
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """``http://host:port`` of the running server (no trailing slash)."""
        if self._server is None:
            raise RuntimeError("the emulator server is not running")
        host, port = self._server.server_address[:2]
        host_text = host.decode() if isinstance(host, bytes) else str(host)
        if ":" in host_text:
            host_text = f"[{host_text}]"
        return f"http://{host_text}:{port}"

    def save_state(self) -> None:
        """Write the emulator's state to ``state_file`` now (no-op without one)."""
        if self.state_file is not None:
            with self.lock:
                write_state_atomically(self.state_file, self.emulator.to_state())

    def start(self) -> None:
        """Bind and start serving in a background thread; :attr:`url` is valid on return."""
        if self._server is not None:
            raise RuntimeError("the emulator server is already running")
        server = _Server(self._address, self)
        thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="cognito-mfa-emulator",
        )
        self._server, self._thread = server, thread
        thread.start()

    def stop(self) -> None:
        """Stop serving, close every connection and join every thread."""
        server, thread = self._server, self._thread
        if server is None or thread is None:
            return
        server.shutdown()
        thread.join()
        server.cut_connections()
        server.server_close()  # joins the handler threads
        self._server = self._thread = None

    def __enter__(self) -> EmulatorServer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
