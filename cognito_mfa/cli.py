"""The ``cognito-mfa`` command line (also ``python -m cognito_mfa``).

Commands::

    cognito-mfa demo                      the whole library on the embedded emulator
    cognito-mfa sign-in                   interactive sign-in, each MFA challenge at a prompt
    cognito-mfa sign-in --device-file FILE --remember
                                          remember this device: later sign-ins skip MFA
    cognito-mfa devices list | forget     the user's remembered devices
    cognito-mfa totp setup                enrol an authenticator app (QR code in the terminal)
    cognito-mfa mfa preference --totp preferred --sms off
    cognito-mfa mfa status
    cognito-mfa emulator serve --port 9229 [--state FILE] [--seed FILE|demo]
    cognito-mfa web-demo --port 8000      the example web app (HTML pages) on the emulator

Pool settings come from flags or ``COGNITO_USER_POOL_ID``, ``COGNITO_CLIENT_ID``,
``COGNITO_CLIENT_SECRET`` and ``COGNITO_ENDPOINT_URL`` (``--client-secret-env NAME`` reads the
secret from another variable; ``--client-secret`` works but shows in the process list). Prompts
read the terminal; when standard input is not a terminal (scripts, tests), each prompt reads one
line from it instead. Ctrl-C at any time exits at once with status 130; Ctrl-D at a prompt
exits with status 1. Errors print one line, with the reason and what to do next, and exit 1,
never a traceback.
"""

from __future__ import annotations

import argparse
import getpass
import hmac
import importlib
import json
import os
import signal
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import TextIO

import anyio
from pydantic import SecretStr

from . import __version__
from . import challenges as ch
from .errors import (
    AuthenticationFailed,
    CodeMismatch,
    CodeRejected,
    CognitoError,
    ConfigurationError,
    DeviceNotFound,
    EnableSoftwareTokenMFA,
    InvalidInput,
    InvalidPassword,
    InvalidSession,
    PasswordHistoryPolicyViolation,
    PasswordResetRequired,
    ServiceError,
    SlowDown,
    TokenRevoked,
    TransportError,
    UserNotFound,
)
from .models import CognitoUserSession, DeviceCredentials, MfaType
from .pool import UserPool
from .preferences import MfaSettings
from .totp import QrSupportMissing, SoftwareTokenSecret

__all__ = ["main"]

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_INTERRUPTED = 130


class CliError(Exception):
    """A failure to report as one line (bad settings, input ended, ...)."""


def _raise_interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


@contextmanager
def _interruptible() -> Iterator[None]:
    """Ctrl-C interrupts a blocking prompt at once.

    The event loop's own SIGINT handler only cancels the main task, which a thread blocked in
    ``readline`` never notices: the user would have to press Enter first. While a prompt
    waits, SIGINT raises KeyboardInterrupt in it instead.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.getsignal(signal.SIGINT)
    signal.signal(signal.SIGINT, _raise_interrupt)
    try:
        yield
    finally:
        signal.signal(
            signal.SIGINT, previous if previous is not None else signal.default_int_handler
        )


@dataclass
class Console:
    """Prompts and output; reads lines from ``stdin`` when it is not a terminal."""

    stdin: TextIO
    stdout: TextIO
    stderr: TextIO
    secret_reader: Callable[[str], str] | None = None

    @classmethod
    def system(cls) -> Console:
        return cls(sys.stdin, sys.stdout, sys.stderr, getpass.getpass)

    def say(self, text: str = "") -> None:
        print(text, file=self.stdout, flush=True)

    def warn(self, text: str) -> None:
        print(f"warning: {text}", file=self.stderr, flush=True)

    def ask(self, prompt: str, *, secret: bool = False) -> str:
        """One line typed at ``prompt``; CliError when the input ends (Ctrl-D)."""
        with _interruptible():
            if secret and self.secret_reader is not None and self.stdin.isatty():
                try:
                    return self.secret_reader(prompt)
                except EOFError:
                    print(file=self.stderr, flush=True)
                    raise CliError("input ended before the sign-in was complete") from None
            # prompts go to stderr so stdout stays clean
            print(prompt, end="", file=self.stderr, flush=True)
            line = self.stdin.readline()
        if not line.endswith("\n") or not self.stdin.isatty():
            # end the prompt's line: the input was not echoed, or Ctrl-D ended it
            print(file=self.stderr, flush=True)
        if not line:
            raise CliError("input ended before the sign-in was complete")
        return line.rstrip("\r\n")

    def ask_secret(self, prompt: str) -> SecretStr:
        """A password, read without echo on a terminal, kept wrapped."""
        return SecretStr(self.ask(prompt, secret=True))


@dataclass(frozen=True)
class PoolSettings:
    pool_id: str
    client_id: str
    client_secret: str | None
    endpoint_url: str | None
    region: str | None

    @classmethod
    def from_args(cls, args: argparse.Namespace, console: Console | None = None) -> PoolSettings:
        env = os.environ
        pool_id = args.pool_id or env.get("COGNITO_USER_POOL_ID")
        client_id = args.client_id or env.get("COGNITO_CLIENT_ID")
        if not pool_id or not client_id:
            raise CliError(
                "the pool is not set: give --pool-id and --client-id "
                "(or COGNITO_USER_POOL_ID and COGNITO_CLIENT_ID)"
            )
        secret = env.get("COGNITO_CLIENT_SECRET") or None
        if args.client_secret_env:
            secret = env.get(args.client_secret_env) or None
            if secret is None:
                raise CliError(
                    f"--client-secret-env: the environment variable {args.client_secret_env} "
                    "is not set"
                )
        if args.client_secret:
            if console is not None:
                console.warn(
                    "--client-secret shows in the process list (ps); "
                    "prefer --client-secret-env NAME or COGNITO_CLIENT_SECRET"
                )
            secret = args.client_secret
        return cls(
            pool_id=pool_id,
            client_id=client_id,
            client_secret=secret,
            endpoint_url=args.endpoint_url or env.get("COGNITO_ENDPOINT_URL") or None,
            region=args.region,
        )

    def open(self) -> UserPool:
        return UserPool(
            self.pool_id,
            self.client_id,
            self.client_secret,
            endpoint_url=self.endpoint_url,
            region=self.region,
        )


def write_private_file(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically with mode 0600 (tokens are bearer secrets).

    The temporary file is created 0600 in the same directory, fsynced, then renamed over the
    target, so a reader sees the old file or the new one, never a half-written one. The
    directory must exist: a typo in a path must not create directories (CliError).
    """
    path = path.expanduser()
    directory = path.parent if str(path.parent) else Path(".")
    if not directory.is_dir():
        raise CliError(f"cannot write {path}: the directory {directory} does not exist")
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", dir=directory)
    try:
        # fdopen first: from here on the handle owns the descriptor and closes it on any error
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            os.fchmod(handle.fileno(), 0o600)
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp_name, path)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise


def show_totp_secret(
    console: Console, secret: SoftwareTokenSecret, account: str, issuer: str
) -> None:
    """Print the otpauth URI and, when the ``qr`` extra is installed, its QR code."""
    console.say(f"otpauth URI: {secret.provisioning_uri(account_name=account, issuer=issuer)}")
    try:
        console.say(secret.qr_terminal(account_name=account, issuer=issuer))
    except QrSupportMissing:
        console.say("(install the 'qr' extra to see a QR code here: pip install 'cognito-mfa[qr]')")


async def answer_challenges(
    console: Console,
    pool: UserPool,
    username: str,
    password: str | SecretStr,
    *,
    auth_flow: str,
    device: DeviceCredentials | None = None,
) -> CognitoUserSession:
    """Drive a sign-in at the prompt until tokens arrive."""
    flow = pool.sign_in(username, password, auth_flow=auth_flow, device=device)
    async for challenge in flow:
        match challenge:
            case ch.SmsMfaChallenge() | ch.EmailOtpChallenge() | ch.SoftwareTokenMfaChallenge():
                await _answer_code(console, challenge)
            case ch.SelectMfaTypeChallenge():
                await challenge.select(_choose(console, challenge.options))
            case ch.MfaSetupChallenge():
                await _set_up(console, challenge, username)
            case ch.NewPasswordRequiredChallenge():
                await _new_password(console, challenge)
    return flow.tokens


def _describe(challenge: ch.MfaCodeChallenge) -> str:
    if isinstance(challenge, ch.SoftwareTokenMfaChallenge):
        device = f" ({challenge.friendly_device_name})" if challenge.friendly_device_name else ""
        return f"Code from your authenticator app{device}"
    assert isinstance(challenge, ch.SmsMfaChallenge | ch.EmailOtpChallenge)
    medium = "text message" if isinstance(challenge, ch.SmsMfaChallenge) else "email"
    where = f" sent to {challenge.destination}" if challenge.destination else ""
    return f"Code from the {medium}{where}"


def _not_accepted(exc: CognitoError, *, totp: bool = False) -> str:
    """The retry line for a refused answer: the reason, then what to do."""
    if isinstance(exc, ServiceError):
        reason = " ".join(exc.message.split()).rstrip(".") or exc.error_code
        reason = f"{reason} ({exc.error_code.removesuffix('Exception')})"
    else:
        reason = " ".join(str(exc).split())
    if totp and isinstance(exc, CodeMismatch | EnableSoftwareTokenMFA):
        # a TOTP code is accepted once: a code already used (or from a skewed clock) fails too
        step = "wait for the next code in the app and enter that"
    elif isinstance(exc, CodeRejected):
        step = "check the code and enter it again"
    else:
        step = "try again"
    return f"  not accepted: {reason}; {step}"


async def _answer_code(console: Console, challenge: ch.MfaCodeChallenge) -> None:
    # A wrong code keeps the challenge open; loop until Cognito accepts one or gives up.
    totp = isinstance(challenge, ch.SoftwareTokenMfaChallenge)
    while True:
        code = SecretStr(console.ask(f"{_describe(challenge)}: ").strip())
        try:
            await challenge.answer(code)
            return
        except (InvalidInput, CodeRejected) as exc:
            console.say(_not_accepted(exc, totp=totp))


def _choose(console: Console, options: Sequence[MfaType]) -> MfaType:
    labels = {
        MfaType.SMS_MFA: "text message",
        MfaType.SOFTWARE_TOKEN_MFA: "authenticator app",
        MfaType.EMAIL_OTP: "email",
    }
    console.say("Choose a second factor:")
    for number, option in enumerate(options, start=1):
        console.say(f"  {number}. {labels[option]} ({option.value})")
    while True:
        answer = console.ask("Number: ").strip()
        if answer.isdigit() and 1 <= int(answer) <= len(options):
            return options[int(answer) - 1]
        console.say(f"  enter a number from 1 to {len(options)}")


async def _set_up(console: Console, challenge: ch.MfaSetupChallenge, username: str) -> None:
    if MfaType.SOFTWARE_TOKEN_MFA in challenge.options:
        console.say("This pool requires MFA. Set up an authenticator app:")
        secret = await challenge.associate_software_token()
        show_totp_secret(console, secret, username, "Cognito")
        while True:
            code = SecretStr(console.ask("Code shown by the app: ").strip())
            try:
                await challenge.verify_software_token(code, "cognito-mfa")
                return
            except (InvalidInput, CodeRejected) as exc:
                console.say(_not_accepted(exc, totp=True))
    if MfaType.EMAIL_OTP in challenge.options:
        await challenge.setup_email(console.ask("Email address for codes: ").strip())
        return
    raise CliError("this pool requires an MFA factor that cannot be set up during sign-in")


async def _new_password(console: Console, challenge: ch.NewPasswordRequiredChallenge) -> None:
    attributes = {
        name: console.ask(f"Value for required attribute {name}: ")
        for name in challenge.required_attributes
        if name not in challenge.user_attributes
    }
    while True:
        first = console.ask_secret("New password: ")
        repeated = console.ask_secret("Repeat the new password: ")
        if not hmac.compare_digest(
            first.get_secret_value().encode(), repeated.get_secret_value().encode()
        ):
            console.say("  the passwords differ; try again")
            continue
        try:
            await challenge.answer(first, attributes)
            return
        except (InvalidInput, InvalidPassword, PasswordHistoryPolicyViolation) as exc:
            # Cognito's message says which rule of the policy the password broke
            console.say(_not_accepted(exc))


def _save_or_print_tokens(
    console: Console, args: argparse.Namespace, session: CognitoUserSession
) -> None:
    payload = session.model_dump_json(indent=2)
    if args.json:
        console.say(payload)
    if args.tokens_file:
        # a CLI writing a few hundred bytes: blocking here is harmless and keeps this sync
        write_private_file(Path(args.tokens_file), payload + "\n")
        console.say(f"tokens written to {args.tokens_file} (mode 0600)")


_MAX_TOKENS_FILE = 1024 * 1024  # a tokens file is a few kilobytes


async def _session_for(
    console: Console, pool: UserPool, args: argparse.Namespace
) -> CognitoUserSession:
    """Tokens from ``--tokens-file``, or an interactive sign-in when no file is given.

    A tokens file that is named but missing is an error (CliError), not a reason to sign in:
    the user expected to be signed in already.
    """
    if args.tokens_file:
        return await _read_tokens(args.tokens_file)
    username = args.username or console.ask("Username: ").strip()
    password = console.ask_secret("Password: ")
    return await answer_challenges(console, pool, username, password, auth_flow=args.auth_flow)


async def _read_tokens(name: str) -> CognitoUserSession:
    path = anyio.Path(name)
    if not await path.is_file():
        raise CliError(
            f"{name} does not exist: sign in first with 'cognito-mfa sign-in --tokens-file {name}'"
        )
    try:
        raw = await path.read_bytes()
        if len(raw) > _MAX_TOKENS_FILE:
            raise ValueError("too long")
        return CognitoUserSession.model_validate_json(raw.decode("utf-8"))
    except (ValueError, UnicodeError):
        raise CliError(
            f"{name} does not hold tokens written by 'cognito-mfa sign-in': sign in again"
        ) from None


def _write_back(
    console: Console,
    args: argparse.Namespace,
    user_session: CognitoUserSession,
    loaded: CognitoUserSession,
) -> None:
    """Store tokens the library refreshed behind a call, so the next run uses them."""
    if args.tokens_file and user_session is not loaded:
        write_private_file(Path(args.tokens_file), user_session.model_dump_json(indent=2) + "\n")
        # stderr: stdout may carry --json output
        print(f"refreshed tokens written to {args.tokens_file}", file=console.stderr)


_MAX_DEVICE_FILE = 64 * 1024  # a device file is a few hundred bytes


async def _read_device(name: str) -> DeviceCredentials | None:
    """The credentials in a device file; None when the file does not exist yet."""
    path = anyio.Path(name)
    if not await path.exists():
        return None
    try:
        raw = await path.read_bytes()
        if len(raw) > _MAX_DEVICE_FILE:
            raise ValueError("too long")
        return DeviceCredentials.model_validate_json(raw.decode("utf-8"))
    except (ValueError, UnicodeError):
        raise CliError(
            f"{name} does not hold device credentials written by 'cognito-mfa sign-in "
            "--remember': remove it, then sign in with --remember again"
        ) from None


def _check_directory(name: str | None) -> None:
    if name:
        directory = Path(name).parent
        if not directory.is_dir():  # before the prompts: the file could not be written
            raise CliError(f"cannot write {name}: {directory} does not exist")


async def _remember(
    console: Console, pool: UserPool, args: argparse.Namespace, session: CognitoUserSession
) -> None:
    """Confirm and remember the sign-in's new device; store its credentials in the file."""
    if session.new_device is None:
        if session.device_key is None:
            console.warn("the pool does not track devices: there is nothing to remember")
        return  # signed in with the remembered device already
    user = pool.user(session)
    credentials = await user.confirm_device(device_name=args.device_name)
    if credentials.user_confirmation_necessary:
        await user.remember_device(credentials.device_key)
    write_private_file(Path(args.device_file), credentials.model_dump_json(indent=2) + "\n")
    console.say(f"device remembered; its credentials are in {args.device_file} (mode 0600)")


async def _cmd_sign_in(console: Console, args: argparse.Namespace) -> int:
    _check_directory(args.tokens_file)
    if args.remember and not args.device_file:
        raise CliError("--remember needs --device-file FILE to keep the device's credentials")
    _check_directory(args.device_file)
    device = await _read_device(args.device_file) if args.device_file else None
    async with PoolSettings.from_args(args, console).open() as pool:
        username = args.username or console.ask("Username: ").strip()
        password = console.ask_secret("Password: ")
        try:
            session = await answer_challenges(
                console, pool, username, password, auth_flow=args.auth_flow, device=device
            )
        except DeviceNotFound:
            # the stored device was forgotten: sign in as a new device (MFA is asked)
            console.warn(
                f"the device in {args.device_file} is no longer known; signing in without it"
            )
            device = None
            session = await answer_challenges(
                console, pool, username, password, auth_flow=args.auth_flow
            )
        claims = session.unverified_id_claims
        console.say(f"signed in as {claims.get('cognito:username', username)}")
        if args.remember:
            await _remember(console, pool, args, session)
        elif device is None and args.device_file and session.new_device is not None:
            console.say("this device is not remembered: sign in with --remember to remember it")
        _save_or_print_tokens(console, args, session)
    return EXIT_OK


async def _cmd_devices_list(console: Console, args: argparse.Namespace) -> int:
    async with PoolSettings.from_args(args, console).open() as pool:
        loaded = await _session_for(console, pool, args)
        user = pool.user(loaded)
        devices = await user.list_devices()
        _write_back(console, args, user.tokens, loaded)
    if args.json:
        console.say(json.dumps([d.model_dump(mode="json") for d in devices]))
        return EXIT_OK
    if not devices:
        console.say("no remembered devices")
    for d in devices:
        status = {True: "remembered", False: "not remembered", None: "unknown"}[d.remembered]
        seen = d.last_authenticated_at.isoformat() if d.last_authenticated_at else "never"
        console.say(f"{d.device_key}  {d.name or '-'}  {status}  last sign-in {seen}")
    return EXIT_OK


async def _cmd_devices_forget(console: Console, args: argparse.Namespace) -> int:
    stored = await _read_device(args.device_file) if args.device_file else None
    key = args.device_key or (stored.device_key if stored else None)
    if key is None:
        raise CliError("name the device: give its key, or --device-file FILE")
    async with PoolSettings.from_args(args, console).open() as pool:
        loaded = await _session_for(console, pool, args)
        user = pool.user(loaded)
        await user.forget_device(key)
        _write_back(console, args, user.tokens, loaded)
    console.say(f"device {key} forgotten")
    # compare_digest: the library's rule for anything read from a credentials file
    if stored is not None and hmac.compare_digest(stored.device_key.encode(), key.encode()):
        await anyio.Path(args.device_file).unlink()
        console.say(f"{args.device_file} removed")
    return EXIT_OK


async def _cmd_totp_setup(console: Console, args: argparse.Namespace) -> int:
    async with PoolSettings.from_args(args, console).open() as pool:
        loaded = await _session_for(console, pool, args)
        user = pool.user(loaded)
        secret = await user.associate_software_token()
        # the label stays in the authenticator app for good: the user's real name, not a guess
        account = args.account or loaded.username or args.username
        if not account:
            account = (await user.get_user_data()).username
        show_totp_secret(console, secret, account, args.issuer)
        while True:
            code = SecretStr(console.ask("Code shown by the app: ").strip())
            try:
                await user.verify_software_token(code, friendly_device_name=args.device_name)
                break
            except (InvalidInput, CodeRejected) as exc:
                console.say(_not_accepted(exc, totp=True))
        if args.prefer:
            await user.set_user_mfa_preference(
                software_token=MfaSettings(enabled=True, preferred=True)
            )
        console.say("authenticator app enrolled" + (" and preferred" if args.prefer else ""))
        _write_back(console, args, user.tokens, loaded)
    return EXIT_OK


_LEVELS = {
    "off": MfaSettings(enabled=False),
    "on": MfaSettings(enabled=True),
    "enabled": MfaSettings(enabled=True),
    "preferred": MfaSettings(enabled=True, preferred=True),
}


async def _cmd_mfa_preference(console: Console, args: argparse.Namespace) -> int:
    settings = {
        name: _LEVELS[getattr(args, name)] if getattr(args, name) else None
        for name in ("sms", "totp", "email")
    }
    if not any(settings.values()):
        raise CliError("nothing to change: give --sms, --totp and/or --email")
    async with PoolSettings.from_args(args, console).open() as pool:
        loaded = await _session_for(console, pool, args)
        user = pool.user(loaded)
        await user.set_user_mfa_preference(
            sms=settings["sms"], software_token=settings["totp"], email=settings["email"]
        )
        console.say("MFA preference updated")
        _write_back(console, args, user.tokens, loaded)
    return EXIT_OK


async def _cmd_mfa_status(console: Console, args: argparse.Namespace) -> int:
    async with PoolSettings.from_args(args, console).open() as pool:
        loaded = await _session_for(console, pool, args)
        user = pool.user(loaded)
        data = await user.get_user_data()
        _write_back(console, args, user.tokens, loaded)
    enabled = [factor.value for factor in data.enabled_mfa]
    status = {
        "username": data.username,
        "enabled": enabled,
        "preferred": data.preferred_mfa.value if data.preferred_mfa else None,
    }
    if args.json:
        console.say(json.dumps(status))
    else:
        console.say(f"user:      {status['username']}")
        console.say(f"enabled:   {', '.join(enabled) or 'none'}")
        console.say(f"preferred: {status['preferred'] or 'none'}")
    return EXIT_OK


def _cmd_emulator_serve(args: argparse.Namespace) -> int:
    try:
        from .testing.__main__ import main as serve_main
    except ModuleNotFoundError as exc:  # the emulator extra is not installed
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_ERROR

    argv = ["serve", "--host", args.host, "--port", str(args.port)]
    if args.state:
        argv += ["--state", args.state]
    if args.seed:
        argv += ["--seed", args.seed]
    if args.allow_cross_origin_control:
        argv.append("--allow-cross-origin-control")
    status: int = serve_main(argv)
    return status


def _cmd_demo(console: Console, args: argparse.Namespace) -> int:
    from .demo import run_demo

    status: int = anyio.run(run_demo, console.say)
    return status


def _cmd_web_demo(console: Console, args: argparse.Namespace) -> int:
    # The example web app's source is examples/web_app/, shipped as cognito_mfa.webdemo by a
    # package-dir mapping that mypy cannot follow: imported by name, its main typed here.
    web_demo: Callable[[argparse.Namespace, Callable[[str], None]], int]
    try:
        web_demo = importlib.import_module("cognito_mfa.webdemo").main
    except ModuleNotFoundError as exc:
        if exc.name == "cognito_mfa.webdemo":  # an install made before it was shipped
            hint = "the example web app is not installed with this package: reinstall it"
        else:  # the extras are not installed
            hint = "pip install 'cognito-mfa[webdemo]'"
        print(f"error: {exc} ({hint})", file=console.stderr)
        return EXIT_ERROR
    return web_demo(args, console.say)


def _pool_flags(parser: argparse.ArgumentParser, *, tokens_help: str) -> None:
    group = parser.add_argument_group("pool (flags or COGNITO_* environment variables)")
    group.add_argument("--pool-id", metavar="ID", help="user pool id (COGNITO_USER_POOL_ID)")
    group.add_argument("--client-id", metavar="ID", help="app client id (COGNITO_CLIENT_ID)")
    group.add_argument(
        "--client-secret-env",
        metavar="NAME",
        help="read the app client secret from the environment variable NAME "
        "(default: COGNITO_CLIENT_SECRET)",
    )
    group.add_argument(
        "--client-secret",
        metavar="SECRET",
        help="the app client secret itself; it shows in the process list, so prefer "
        "--client-secret-env",
    )
    group.add_argument(
        "--endpoint-url",
        metavar="URL",
        help="Cognito endpoint, e.g. the emulator's URL (COGNITO_ENDPOINT_URL)",
    )
    group.add_argument("--region", help="AWS region (default: the pool id's prefix)")
    parser.add_argument("--username", help="user name or alias to sign in with (asked when absent)")
    parser.add_argument(
        "--auth-flow",
        default="USER_SRP_AUTH",
        choices=["USER_SRP_AUTH", "USER_PASSWORD_AUTH"],
        help="how the password is proven: SRP (default; the password never leaves this "
        "machine) or sent over TLS",
    )
    parser.add_argument("--tokens-file", metavar="FILE", help=tokens_help)


_READ_TOKENS = (
    "use the tokens 'sign-in --tokens-file FILE' wrote (refreshed tokens are written back); "
    "without it, sign in at the prompts"
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="cognito-mfa",
        description="Amazon Cognito user-pool sign-in with MFA, and MFA management.",
        epilog="Ctrl-C exits at once (status 130); errors exit with status 1.",
    )
    parser.add_argument("--version", action="version", version=f"cognito-mfa {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    commands.add_parser("demo", help="run the whole story on the embedded emulator")

    sign_in = commands.add_parser("sign-in", help="sign in, answering MFA challenges at prompts")
    _pool_flags(
        sign_in,
        tokens_help="write the tokens to FILE (mode 0600, atomically; the directory must exist)",
    )
    sign_in.add_argument("--json", action="store_true", help="print the tokens as JSON")
    sign_in.add_argument(
        "--device-file",
        metavar="FILE",
        help="this device's credentials: read before signing in (a remembered device skips "
        "MFA), written with --remember (mode 0600)",
    )
    sign_in.add_argument(
        "--remember",
        action="store_true",
        help="confirm and remember this device, keeping its credentials in --device-file",
    )
    sign_in.add_argument(
        "--device-name", default="cognito-mfa", help="the device's name in the user's device list"
    )

    totp = commands.add_parser("totp", help="authenticator-app (TOTP) enrolment")
    totp_commands = totp.add_subparsers(dest="totp_command", required=True, metavar="COMMAND")
    setup = totp_commands.add_parser("setup", help="associate and verify an authenticator app")
    _pool_flags(setup, tokens_help=_READ_TOKENS)
    setup.add_argument(
        "--account", help="account name shown in the app (default: the signed-in user's name)"
    )
    setup.add_argument("--issuer", default="Cognito", help="issuer shown in the app")
    setup.add_argument(
        "--device-name",
        default="cognito-mfa",
        help="name of the authenticator in the user's MFA settings",
    )
    setup.add_argument("--prefer", action="store_true", help="make TOTP the preferred factor")

    mfa = commands.add_parser("mfa", help="MFA preferences")
    mfa_commands = mfa.add_subparsers(dest="mfa_command", required=True, metavar="COMMAND")
    preference = mfa_commands.add_parser("preference", help="enable, disable or prefer factors")
    _pool_flags(preference, tokens_help=_READ_TOKENS)
    for name, what in (("sms", "text-message"), ("totp", "authenticator-app"), ("email", "email")):
        preference.add_argument(
            f"--{name}",
            choices=sorted(_LEVELS),
            help=f"the {what} factor: off, on (enabled) or preferred",
        )
    status = mfa_commands.add_parser("status", help="show the enabled and preferred factors")
    _pool_flags(status, tokens_help=_READ_TOKENS)
    status.add_argument("--json", action="store_true", help="print as JSON")

    devices = commands.add_parser("devices", help="the user's remembered devices")
    devices_commands = devices.add_subparsers(
        dest="devices_command", required=True, metavar="COMMAND"
    )
    listing = devices_commands.add_parser("list", help="list the remembered devices")
    _pool_flags(listing, tokens_help=_READ_TOKENS)
    listing.add_argument("--json", action="store_true", help="print as JSON")
    forget = devices_commands.add_parser("forget", help="forget a device (MFA is asked again)")
    _pool_flags(forget, tokens_help=_READ_TOKENS)
    forget.add_argument("device_key", nargs="?", metavar="DEVICE_KEY", help="the device's key")
    forget.add_argument(
        "--device-file",
        metavar="FILE",
        help="forget the device stored in FILE (and remove the file)",
    )

    emulator = commands.add_parser("emulator", help="the Cognito emulator")
    emulator_commands = emulator.add_subparsers(
        dest="emulator_command", required=True, metavar="COMMAND"
    )
    serve = emulator_commands.add_parser("serve", help="serve the emulator on a loopback port")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=9229)
    serve.add_argument("--state", help="keep pools and users in this file across restarts")
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

    web_demo = commands.add_parser(
        "web-demo", help="the example web app (sign-in pages) on the emulator or a pool"
    )
    web_demo.add_argument("--host", default="127.0.0.1", help="address to listen on")
    web_demo.add_argument("--port", type=int, default=8000, help="port (0: any free port)")
    web_demo.add_argument("--redis-url", help="keep sign-ins in this Redis (shared by replicas)")
    web_demo.add_argument("--endpoint-url", help="a Cognito endpoint (e.g. a served emulator)")
    web_demo.add_argument("--pool-id", help="the user pool (instead of the embedded emulator)")
    web_demo.add_argument("--client-id", help="the app client (with --pool-id)")
    web_demo.add_argument(
        "--client-secret-env", metavar="NAME", help="read the app client's secret from $NAME"
    )
    web_demo.add_argument(
        "--secure-cookies", action="store_true", help="mark cookies Secure (serve behind https)"
    )
    return parser


def main(argv: Sequence[str] | None = None, console: Console | None = None) -> int:
    """Run the command line; returns the exit status."""
    args = build_parser().parse_args(argv)
    for name in ("tokens_file", "device_file"):
        if getattr(args, name, None):
            setattr(args, name, os.path.expanduser(getattr(args, name)))
    console = console or Console.system()
    try:
        if args.command == "demo":
            return _cmd_demo(console, args)
        if args.command == "emulator":
            return _cmd_emulator_serve(args)
        if args.command == "web-demo":
            return _cmd_web_demo(console, args)
        handlers = {
            ("sign-in", None): _cmd_sign_in,
            ("totp", "setup"): _cmd_totp_setup,
            ("mfa", "preference"): _cmd_mfa_preference,
            ("mfa", "status"): _cmd_mfa_status,
            ("devices", "list"): _cmd_devices_list,
            ("devices", "forget"): _cmd_devices_forget,
        }
        sub = (
            getattr(args, "totp_command", None)
            or getattr(args, "mfa_command", None)
            or getattr(args, "devices_command", None)
        )
        handler = handlers[(args.command, sub)]
        return anyio.run(handler, console, args)
    except KeyboardInterrupt:
        print("\ninterrupted", file=console.stderr, flush=True)
        return EXIT_INTERRUPTED
    except (CognitoError, CliError) as exc:
        print(f"error: {_one_line(exc)}", file=console.stderr)
        return EXIT_ERROR
    except OSError as exc:
        where = f" ({exc.filename})" if exc.filename else ""
        print(f"error: {exc.strerror or type(exc).__name__}{where}", file=console.stderr)
        return EXIT_ERROR


# What to do next, by the kind of error (the first match wins).
_NEXT_STEPS: tuple[tuple[type[BaseException], str], ...] = (
    (DeviceNotFound, "remove the device file and sign in with --remember again"),
    (InvalidSession, "the sign-in took too long or was already used: start it again"),
    (TokenRevoked, "sign in again ('cognito-mfa sign-in --tokens-file FILE')"),
    (PasswordResetRequired, "reset the password first"),
    (UserNotFound, "check the username"),
    (AuthenticationFailed, "check the username and password"),
    (SlowDown, "wait a little and try again"),
    (CodeRejected, "request a new code by signing in again"),
    (ConfigurationError, "check the user pool and app client settings"),
    (TransportError, "check --endpoint-url (or COGNITO_ENDPOINT_URL) and the network"),
)


def _one_line(exc: BaseException) -> str:
    """The error as one line: what happened, then (when known) what to do next."""
    if isinstance(exc, CliError):
        return " ".join(str(exc).split())
    if isinstance(exc, ServiceError):
        text = " ".join(exc.message.split()) or exc.error_code
    else:
        text = " ".join(str(exc).split())
    line = f"{type(exc).__name__}: {text}" if text else type(exc).__name__
    step = next((step for kind, step in _NEXT_STEPS if isinstance(exc, kind)), None)
    return f"{line.rstrip('.')}. Next: {step}." if step else line


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
