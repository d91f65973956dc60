"""The served front of the emulator: its ASGI application on a loopback port, under uvicorn.

:class:`EmulatorServer` runs :class:`~cognito_mfa.testing.app.EmulatorApp` (every route: see
:mod:`cognito_mfa.testing.app`) with uvicorn in a background thread with its own event loop, so
it serves synchronous and asynchronous tests alike, boto3, aioboto3's default aiohttp client and
the JavaScript SDK. The listening socket is bound before the thread starts (so :attr:`url` is
valid at once, port 0 picks a free port) with a real listen backlog (:data:`BACKLOG`), and
uvicorn keeps connections alive between requests. Stopping cuts every pending injected delay
short (those calls answer 503), closes the listener and idle connections, waits for requests
in flight, then joins the thread.

State file. The emulator keeps its own (:func:`load_emulator`: an append-only journal of the
records each call changed, compacted now and then; see :mod:`cognito_mfa.testing._state_file`),
so the front writes nothing per call. ``EmulatorServer(emulator, state_file=PATH)`` makes an
emulator that does not keep a file yet keep ``PATH`` from then on.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Final

import uvicorn

from ._state_file import keep_state_in, load_emulator, write_state_atomically
from .app import EmulatorApp
from .service import Emulator

__all__ = ["BACKLOG", "EmulatorServer", "load_emulator", "write_state_atomically"]

#: The listen backlog: a burst of this many clients connecting at once all get a slot.
BACKLOG: Final = 2048
_IDLE_TIMEOUT: Final = 30  # seconds a kept-alive connection may sit idle
_GRACE: Final = 5  # seconds stop() waits for requests in flight before cancelling them
_START_TIMEOUT: Final = 30.0


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
    any origin use the ``/_emulator/*`` routes. With ``state_file``, the emulator keeps its
    state in that file from then on (an append-only journal; restore it with
    :func:`load_emulator`), and :meth:`stop` closes the file. An emulator made with
    ``load_emulator(PATH)`` keeps its file already: pass no ``state_file`` (or the same path).
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
        # the server closes only a file it made the emulator keep
        self._owns_state_file = self.state_file is not None and emulator.journal_path is None
        if self.state_file is not None:
            keep_state_in(emulator, self.state_file)
        self.app = EmulatorApp(
            emulator,
            allow_cross_origin_control=allow_cross_origin_control,
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
        """Rewrite the emulator's state file as a snapshot now (no-op without one).

        Every change is already in the file when its call is answered; this only compacts it.
        """
        with self.lock:
            self.emulator.compact()

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
        if self._owns_state_file:
            with self.lock:
                self.emulator.close()

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
