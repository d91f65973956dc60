"""Command line of the emulator: ``python -m cognito_mfa.testing serve``.

``serve --port PORT [--host 127.0.0.1] [--state FILE] [--seed FILE|demo]
[--allow-cross-origin-control]`` serves the emulator with uvicorn (see
:mod:`cognito_mfa.testing.server`) until SIGINT or SIGTERM, then exits 0, even with injected
delays pending.

Without ``--seed`` it prints exactly one line once it accepts connections: its URL. With
``--seed`` it first makes sure the seed's pools, clients and users exist, through the Cognito
API (see :mod:`cognito_mfa.testing.seedfile`), and prints shell ``export`` lines instead, the
URL as ``COGNITO_ENDPOINT_URL`` among them. With ``--state FILE`` the pools and users are
loaded from FILE when it exists and every change is written to it before it is answered; the
seed is then applied once per state file: what exists is kept (found by name, with its ids
and settings) and only what is missing is created, so a restart prints the same ids.
``--allow-cross-origin-control`` lets web pages of any origin use the ``/_emulator/*`` control
routes, which are otherwise refused to cross-origin browsers.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections.abc import Sequence
from types import FrameType

import anyio

from .server import EmulatorServer, load_emulator

__all__ = ["main", "serve"]


def _serve_arguments(serve: argparse.ArgumentParser, *, default_port: int) -> None:
    # cognito-mfa emulator serve (cli.py) has the same options and passes them on
    serve.add_argument("--port", type=int, default=default_port, help="TCP port (0: any free port)")
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default loopback)")
    serve.add_argument("--state", metavar="FILE", help="keep pools and users in FILE")
    serve.add_argument(
        "--seed",
        metavar="FILE",
        help="make sure the pools, clients and users of a JSON or TOML seed file exist "
        "('demo': a ready pool, client and user; with --state, what exists is kept) and print "
        "them as shell export lines",
    )
    serve.add_argument(
        "--allow-cross-origin-control",
        action="store_true",
        help="let web pages of any origin use the /_emulator/* control routes",
    )


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m cognito_mfa.testing", description="A Cognito user-pool emulator."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    serve_parser = commands.add_parser("serve", help="serve the emulator over HTTP until stopped")
    _serve_arguments(serve_parser, default_port=0)
    return parser


async def _seed(server: EmulatorServer, seed: object) -> list[str]:
    from .inprocess import emulator_client
    from .seed import Seeder
    from .seedfile import SeedFile, apply_seed, export_lines

    assert isinstance(seed, SeedFile)
    # through the served app itself, in-process: the same routes, state hook and lock
    async with emulator_client(server.app) as client:
        seeder = Seeder(client, clock=server.emulator.now)
        clients = await apply_seed(seed, seeder)
    return export_lines(server.url, clients)


def serve(args: argparse.Namespace) -> int:
    """Run ``serve`` with parsed arguments; returns the exit status."""
    seed = None
    if args.seed:
        from .seedfile import SeedError, load_seed

        try:
            seed = load_seed(args.seed)
        except SeedError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
    try:
        emulator = load_emulator(args.state)
    except (OSError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    stop = threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {
        signum: signal.signal(signum, request_stop) for signum in (signal.SIGINT, signal.SIGTERM)
    }
    server = EmulatorServer(
        emulator,
        host=args.host,
        port=args.port,
        allow_cross_origin_control=args.allow_cross_origin_control,
    )
    try:
        try:
            server.start()
        except OSError as exc:
            print(f"error: cannot listen on {args.host}:{args.port}: {exc}", file=sys.stderr)
            return 1
        try:
            if seed is None:
                print(server.url, flush=True)
            else:
                try:
                    lines = anyio.run(_seed, server, seed)
                except Exception as exc:  # a Cognito refusal: one line, no traceback
                    print(f"error: seeding failed: {_one_line(exc)}", file=sys.stderr)
                    return 1
                print("\n".join(lines), flush=True)
            # A timed wait lets the signal handler run promptly on every platform.
            while not stop.wait(0.5):
                pass
        finally:
            server.stop()
            emulator.close()
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    return 0


def _one_line(exc: BaseException) -> str:
    error = getattr(exc, "response", {}).get("Error", {})
    if error:
        return f"{error.get('Code')}: {' '.join(str(error.get('Message', '')).split())}"
    return type(exc).__name__


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    args = _parser().parse_args(argv)
    return serve(args)


if __name__ == "__main__":
    sys.exit(main())
