"""The served front of the emulator: its ASGI application on a loopback port, under uvicorn.

:class:`EmulatorServer` runs :class:`~cognito_mfa.testing.app.EmulatorApp` (every route: see
:mod:`cognito_mfa.testing.app`) with uvicorn in a background thread with its own event loop, so
it serves synchronous and asynchronous tests alike, boto3, aioboto3's default aiohttp client and
the JavaScript SDK. The listening socket is bound before the thread starts (so :attr:`url` is
valid at once, port 0 picks a free port) with a real listen backlog (:data:`BACKLOG`), and
uvicorn keeps connections alive between requests. Stopping cuts every pending injected delay
short (those calls answer 503), closes the listener and idle connections, waits for requests
in flight, then joins the thread.

State file (until the emulator keeps its own journal). With ``state_file`` set, the whole
:meth:`Emulator.to_state` is written after every successful (200) call of an operation that can
change state, atomically: a temporary file in the same directory is written, flushed and
fsync'ed, then renamed over the old one with :func:`os.replace`, and the directory is fsync'ed.
:func:`load_emulator` restores it at start.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import socket
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Any, Final

import uvicorn

from .app import EmulatorApp
from .service import Emulator

__all__ = ["BACKLOG", "EmulatorServer", "load_emulator", "write_state_atomically"]

#: The listen backlog: a burst of this many clients connecting at once all get a slot.
BACKLOG: Final = 2048
_IDLE_TIMEOUT: Final = 30  # seconds a kept-alive connection may sit idle
_GRACE: Final = 5  # seconds stop() waits for requests in flight before cancelling them
_START_TIMEOUT: Final = 30.0


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


def _loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    # uvloop when installed (uvicorn's own choice too): a faster loop for many connections
    try:
        import uvloop
    except ImportError:
        return None
    factory: Callable[[], asyncio.AbstractEventLoop] = uvloop.new_event_loop
    return factory


class EmulatorServer:
    """Serve ``emulator`` on ``host:port`` (0 = a free port) from a background thread.

    Use as a context manager (``with EmulatorServer(Emulator()) as server: server.url``) or
    call :meth:`start` and :meth:`stop`. ``allow_cross_origin_control`` lets browser pages of
    any origin use the ``/_emulator/*`` routes. With ``state_file``, the emulator's state is
    written there atomically after every state-changing call (restore it with
    :func:`load_emulator`).
    """

    def __init__(
        self,
        emulator: Emulator,
        host: str = "127.0.0.1",
        port: int = 0,
        state_file: Path | str | None = None,
        *,
        allow_cross_origin_control: bool = False,
        backlog: int = BACKLOG,
    ) -> None:
        self.emulator = emulator
        self.state_file = Path(state_file) if state_file is not None else None
        self.app = EmulatorApp(
            emulator,
            allow_cross_origin_control=allow_cross_origin_control,
            state_file=self.state_file,
            offload=True,
        )
        #: Held around every call into the emulator (the emulator's own lock, shared with the
        #: in-process transport); hold it too when using ``emulator`` directly while it runs.
        self.lock = self.app.lock
        self._address = (host, port)
        self._backlog = backlog
        self._socket: socket.socket | None = None
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._failure: BaseException | None = None

    @property
    def url(self) -> str:
        """``http://host:port`` of the running server (no trailing slash)."""
        if self._socket is None:
            raise RuntimeError("the emulator server is not running")
        host, port = self._socket.getsockname()[:2]
        host_text = str(host)
        if ":" in host_text:
            host_text = f"[{host_text}]"
        return f"http://{host_text}:{port}"

    def save_state(self) -> None:
        """Write the emulator's state to ``state_file`` now (no-op without one)."""
        if self.state_file is not None:
            with self.lock:
                write_state_atomically(self.state_file, self.emulator.to_state())

    def start(self) -> None:
        """Bind, then serve in a background thread; :attr:`url` is valid on return.

        Raises OSError when the address cannot be bound.
        """
        if self._thread is not None:
            raise RuntimeError("the emulator server is already running")
        host, port = self._address
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        # IPPROTO_TCP spelled out: asyncio sets TCP_NODELAY only on sockets that say so, and
        # without it every answer's body waits for the client's delayed ACK (about 40 ms)
        sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            sock.bind((host, port))
        except BaseException:
            sock.close()
            raise
        config = uvicorn.Config(
            self.app,
            backlog=self._backlog,
            lifespan="off",
            log_config=None,
            access_log=False,
            timeout_keep_alive=_IDLE_TIMEOUT,
            timeout_graceful_shutdown=_GRACE,
            server_header=False,
        )
        server = uvicorn.Server(config)
        self._socket, self._server, self._failure = sock, server, None
        thread = threading.Thread(target=self._run, name="cognito-mfa-emulator")
        self._thread = thread
        thread.start()
        deadline = time.monotonic() + _START_TIMEOUT
        while not server.started and thread.is_alive() and time.monotonic() < deadline:
            time.sleep(0.005)
        if not server.started:
            self.stop()
            raise RuntimeError(f"the emulator server did not start: {self._failure!r}")

    def _run(self) -> None:
        server, sock = self._server, self._socket
        assert server is not None and sock is not None

        async def serve() -> None:
            self._loop = asyncio.get_running_loop()
            await server.serve(sockets=[sock])

        try:
            with asyncio.Runner(loop_factory=_loop_factory()) as runner:
                runner.run(serve())
        except BaseException as exc:  # reported by start(); never a thread traceback
            self._failure = exc

    def stop(self) -> None:
        """Stop serving: cut injected delays, close every connection, join the thread."""
        server, thread, sock, loop = self._server, self._thread, self._socket, self._loop
        if server is None or thread is None:
            return
        if loop is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):  # the loop ended meanwhile
                loop.call_soon_threadsafe(self.app.abort_delays)
        server.should_exit = True
        thread.join()
        if sock is not None:
            sock.close()
        self._server = self._thread = self._socket = self._loop = None

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
