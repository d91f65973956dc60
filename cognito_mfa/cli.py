"""The ``cognito-mfa`` command line (also ``python -m cognito_mfa``).

Commands::

    cognito-mfa demo                      the whole library on the embedded emulator
    cognito-mfa sign-in                   interactive sign-in, each MFA challenge at a prompt
    cognito-mfa totp setup                enrol an authenticator app (QR code in the terminal)
    cognito-mfa mfa preference --totp preferred --sms off
    cognito-mfa mfa status
    cognito-mfa emulator serve --port 9229 [--state FILE] [--seed FILE|demo]

Pool settings come from flags or ``COGNITO_USER_POOL_ID``, ``COGNITO_CLIENT_ID``,
``COGNITO_CLIENT_SECRET`` and ``COGNITO_ENDPOINT_URL``. Prompts read the terminal; when standard
input is not a terminal (scripts, tests), each prompt reads one line from it instead. Errors
print one line and exit non-zero, never a traceback.
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import sys
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

import anyio

from . import challenges as ch
from .errors import CodeRejected, CognitoError, InvalidInput, InvalidPassword, ServiceError
from .models import CognitoUserSession, MfaType
from .pool import UserPool
from .preferences import MfaSettings
from .totp import QrSupportMissing, SoftwareTokenSecret

__all__ = ["main"]

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


class CliError(Exception):
    """A failure to report as one line (bad settings, input ended, ...)."""


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

    def ask(self, prompt: str, *, secret: bool = False) -> str:
        if secret and self.secret_reader is not None and self.stdin.isatty():
            return self.secret_reader(prompt)
        # not a terminal: no echo to suppress; prompts go to stderr so stdout stays clean
        print(prompt, end="", file=self.stderr, flush=True)
        line = self.stdin.readline()
        print(file=self.stderr, flush=True)  # end the prompt's line: the input was not echoed
        if not line:
            raise CliError("input ended before the sign-in was complete")
        return line.rstrip("\r\n")


@dataclass(frozen=True)
class PoolSettings:
    pool_id: str
    client_id: str
    client_secret: str | None
    endpoint_url: str | None
    region: str | None

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> PoolSettings:
        env = os.environ
        pool_id = args.pool_id or env.get("COGNITO_USER_POOL_ID")
        client_id = args.client_id or env.get("COGNITO_CLIENT_ID")
        if not pool_id or not client_id:
            raise CliError(
                "the pool is not set: give --pool-id and --client-id "
                "(or COGNITO_USER_POOL_ID and COGNITO_CLIENT_ID)"
            )
        return cls(
            pool_id=pool_id,
            client_id=client_id,
            client_secret=args.client_secret or env.get("COGNITO_CLIENT_SECRET") or None,
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
    target, so a reader sees the old file or the new one, never a half-written one.
    """
    path = path.expanduser()
    directory = path.parent if str(path.parent) else Path(".")
    directory.mkdir(parents=True, exist_ok=True)
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
    console: Console, pool: UserPool, username: str, password: str, *, auth_flow: str
) -> CognitoUserSession:
    """Drive a sign-in at the prompt until tokens arrive."""
    flow = pool.sign_in(username, password, auth_flow=auth_flow)
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
    return flow.session


def _describe(challenge: ch.MfaCodeChallenge) -> str:
    if isinstance(challenge, ch.SoftwareTokenMfaChallenge):
        device = f" ({challenge.friendly_device_name})" if challenge.friendly_device_name else ""
        return f"Code from your authenticator app{device}"
    assert isinstance(challenge, ch.SmsMfaChallenge | ch.EmailOtpChallenge)
    medium = "text message" if isinstance(challenge, ch.SmsMfaChallenge) else "email"
    where = f" sent to {challenge.destination}" if challenge.destination else ""
    return f"Code from the {medium}{where}"


async def _answer_code(console: Console, challenge: ch.MfaCodeChallenge) -> None:
    # A wrong code keeps the challenge open; loop until Cognito accepts one or gives up.
    while True:
        code = console.ask(f"{_describe(challenge)}: ").strip()
        try:
            await challenge.answer(code)
            return
        except (InvalidInput, CodeRejected) as exc:
            console.say(f"  not accepted: {type(exc).__name__}; try again")


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
            code = console.ask("Code shown by the app: ").strip()
            try:
                await challenge.verify_software_token(code, "cognito-mfa")
                return
            except (InvalidInput, CodeRejected) as exc:
                console.say(f"  not accepted: {type(exc).__name__}; try again")
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
        first = console.ask("New password: ", secret=True)
        if console.ask("Repeat the new password: ", secret=True) != first:
            console.say("  the passwords differ; try again")
            continue
        try:
            await challenge.answer(first, attributes)
            return
        except (InvalidInput, InvalidPassword) as exc:
            console.say(f"  not accepted: {type(exc).__name__}; try again")


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


async def _session_for(
    console: Console, pool: UserPool, args: argparse.Namespace
) -> CognitoUserSession:
    """Tokens from ``--tokens-file`` when it exists, otherwise an interactive sign-in."""
    tokens_file = anyio.Path(args.tokens_file) if args.tokens_file else None
    if tokens_file is not None and await tokens_file.exists():
        text = await tokens_file.read_text(encoding="utf-8")
        try:
            return CognitoUserSession.model_validate_json(text)
        except ValueError:
            raise CliError(f"{args.tokens_file} does not hold tokens written by sign-in") from None
    username = args.username or console.ask("Username: ").strip()
    password = console.ask("Password: ", secret=True)
    session = await answer_challenges(console, pool, username, password, auth_flow=args.auth_flow)
    if tokens_file is not None:
        text = session.model_dump_json(indent=2) + "\n"
        await anyio.to_thread.run_sync(write_private_file, Path(tokens_file), text)
    return session


async def _cmd_sign_in(console: Console, args: argparse.Namespace) -> int:
    async with PoolSettings.from_args(args).open() as pool:
        username = args.username or console.ask("Username: ").strip()
        password = console.ask("Password: ", secret=True)
        session = await answer_challenges(
            console, pool, username, password, auth_flow=args.auth_flow
        )
        claims = session.unverified_id_claims
        console.say(f"signed in as {claims.get('cognito:username', username)}")
        _save_or_print_tokens(console, args, session)
    return EXIT_OK


async def _cmd_totp_setup(console: Console, args: argparse.Namespace) -> int:
    async with PoolSettings.from_args(args).open() as pool:
        user = pool.user(await _session_for(console, pool, args))
        secret = await user.associate_software_token()
        account = args.account or args.username or "user"
        show_totp_secret(console, secret, account, args.issuer)
        while True:
            code = console.ask("Code shown by the app: ").strip()
            try:
                await user.verify_software_token(code, friendly_device_name=args.device_name)
                break
            except (InvalidInput, CodeRejected) as exc:
                console.say(f"  not accepted: {type(exc).__name__}; try again")
        if args.prefer:
            await user.set_user_mfa_preference(
                software_token=MfaSettings(enabled=True, preferred=True)
            )
        console.say("authenticator app enrolled" + (" and preferred" if args.prefer else ""))
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
    async with PoolSettings.from_args(args).open() as pool:
        user = pool.user(await _session_for(console, pool, args))
        await user.set_user_mfa_preference(
            sms=settings["sms"], software_token=settings["totp"], email=settings["email"]
        )
        console.say("MFA preference updated")
    return EXIT_OK


async def _cmd_mfa_status(console: Console, args: argparse.Namespace) -> int:
    async with PoolSettings.from_args(args).open() as pool:
        user = pool.user(await _session_for(console, pool, args))
        data = await user.get_user_data()
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


def _pool_flags(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("pool (flags or COGNITO_* environment variables)")
    group.add_argument("--pool-id", help="user pool id (COGNITO_USER_POOL_ID)")
    group.add_argument("--client-id", help="app client id (COGNITO_CLIENT_ID)")
    group.add_argument("--client-secret", help="app client secret (COGNITO_CLIENT_SECRET)")
    group.add_argument(
        "--endpoint-url", help="Cognito endpoint, e.g. the emulator (COGNITO_ENDPOINT_URL)"
    )
    group.add_argument("--region", help="AWS region (default: from the pool id)")
    parser.add_argument("--username", help="user name or alias (asked when absent)")
    parser.add_argument(
        "--auth-flow", default="USER_SRP_AUTH", choices=["USER_SRP_AUTH", "USER_PASSWORD_AUTH"]
    )
    parser.add_argument(
        "--tokens-file", help="read tokens from / write tokens to this file (mode 0600)"
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="cognito-mfa", description="Cognito sign-in with MFA.")
    commands = parser.add_subparsers(dest="command", required=True)

    commands.add_parser("demo", help="run the whole story on the embedded emulator")

    sign_in = commands.add_parser("sign-in", help="sign in, answering MFA challenges at prompts")
    _pool_flags(sign_in)
    sign_in.add_argument("--json", action="store_true", help="print the tokens as JSON")

    totp = commands.add_parser("totp", help="authenticator-app (TOTP) enrolment")
    totp_commands = totp.add_subparsers(dest="totp_command", required=True)
    setup = totp_commands.add_parser("setup", help="associate and verify an authenticator app")
    _pool_flags(setup)
    setup.add_argument("--account", help="account name shown in the app (default: the username)")
    setup.add_argument("--issuer", default="Cognito", help="issuer shown in the app")
    setup.add_argument("--device-name", default="cognito-mfa", help="friendly device name")
    setup.add_argument("--prefer", action="store_true", help="make TOTP the preferred factor")

    mfa = commands.add_parser("mfa", help="MFA preferences")
    mfa_commands = mfa.add_subparsers(dest="mfa_command", required=True)
    preference = mfa_commands.add_parser("preference", help="enable, disable or prefer factors")
    _pool_flags(preference)
    for name in ("sms", "totp", "email"):
        preference.add_argument(f"--{name}", choices=sorted(_LEVELS), help=f"{name} factor")
    status = mfa_commands.add_parser("status", help="show the enabled and preferred factors")
    _pool_flags(status)
    status.add_argument("--json", action="store_true", help="print as JSON")

    emulator = commands.add_parser("emulator", help="the Cognito emulator")
    emulator_commands = emulator.add_subparsers(dest="emulator_command", required=True)
    serve = emulator_commands.add_parser("serve", help="serve the emulator on a loopback port")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=9229)
    serve.add_argument("--state", help="keep pools and users in this file across restarts")
    serve.add_argument(
        "--seed",
        metavar="FILE",
        help="create the pools, clients and users of a JSON or TOML seed file ('demo': a "
        "ready pool, client and user) and print them as shell export lines",
    )
    serve.add_argument(
        "--allow-cross-origin-control",
        action="store_true",
        help="let web pages of any origin use the /_emulator/* control routes",
    )
    return parser


def main(argv: Sequence[str] | None = None, console: Console | None = None) -> int:
    """Run the command line; returns the exit status."""
    args = build_parser().parse_args(argv)
    if getattr(args, "tokens_file", None):
        args.tokens_file = os.path.expanduser(args.tokens_file)
    console = console or Console.system()
    try:
        if args.command == "demo":
            return _cmd_demo(console, args)
        if args.command == "emulator":
            return _cmd_emulator_serve(args)
        handlers = {
            ("sign-in", None): _cmd_sign_in,
            ("totp", "setup"): _cmd_totp_setup,
            ("mfa", "preference"): _cmd_mfa_preference,
            ("mfa", "status"): _cmd_mfa_status,
        }
        sub = getattr(args, "totp_command", None) or getattr(args, "mfa_command", None)
        handler = handlers[(args.command, sub)]
        return anyio.run(handler, console, args)
    except KeyboardInterrupt:
        print("interrupted", file=console.stderr)
        return EXIT_INTERRUPTED
    except (CognitoError, CliError) as exc:
        print(f"error: {_one_line(exc)}", file=console.stderr)
        return EXIT_ERROR
    except OSError as exc:
        print(f"error: {exc.strerror or type(exc).__name__}", file=console.stderr)
        return EXIT_ERROR


def _one_line(exc: BaseException) -> str:
    if isinstance(exc, ServiceError):
        return f"{type(exc).__name__}: {' '.join(exc.message.split()) or exc.error_code}"
    text = " ".join(str(exc).split())
    name = type(exc).__name__
    return f"{name}: {text}" if text and not isinstance(exc, CliError) else text or name


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
