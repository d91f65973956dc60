"""Command line of the emulator: ``python -m cognito_mfa.testing serve``.

``serve --port PORT [--host 127.0.0.1] [--state FILE]`` serves the emulator (see
:mod:`cognito_mfa.testing.server`), prints exactly one line, its URL, once it accepts
connections, and serves until SIGINT or SIGTERM, then exits 0. With ``--state FILE`` the pools
and users are loaded from FILE when it exists and written back atomically after every change.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections.abc import Sequence
from types import FrameType

from .server import EmulatorServer, load_emulator

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m cognito_mfa.testing", description="A Cognito user-pool emulator."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="serve the emulator over HTTP until stopped")
    serve.add_argument("--port", type=int, default=0, help="TCP port (0: any free port)")
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default loopback)")
    serve.add_argument("--state", metavar="FILE", help="keep pools and users in FILE")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    args = _parser().parse_args(argv)
    try:
        emulator = load_emulator(args.state)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    stop = threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    server = EmulatorServer(emulator, host=args.host, port=args.port, state_file=args.state)
    try:
        server.start()
    except OSError as exc:
        print(f"error: cannot listen on {args.host}:{args.port}: {exc}", file=sys.stderr)
        return 1
    try:
        print(server.url, flush=True)
        # A timed wait lets the signal handler run promptly on every platform.
        while not stop.wait(0.5):
            pass
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
