"""The command line, driven as a user would: answers typed on stdin, against the served emulator."""

from __future__ import annotations

import io
import json
import os
import re
import stat
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import aioboto3
import anyio
import pyotp
import pytest

from cognito_mfa.cli import Console, main
from cognito_mfa.testing.seed import SeededPool, SeededUser, Seeder
from cognito_mfa.testing.server import EmulatorServer

PASSWORD = "Correct-Horse-9"

Answer = str | Callable[[], str]


class ScriptedInput(io.StringIO):
    """Standard input whose lines may be computed when read (codes only known mid-flow)."""

    def __init__(self, answers: list[Answer]) -> None:
        super().__init__()
        self.answers = list(answers)
        self.read_count = 0

    def readline(self, size: int | None = -1) -> str:
        if not self.answers:
            return ""
        self.read_count += 1
        answer = self.answers.pop(0)
        return (answer() if callable(answer) else answer) + "\n"


def run_cli(argv: list[str], answers: list[Answer]) -> tuple[int, str, str]:
    stdin = ScriptedInput(answers)
    stdout, stderr = io.StringIO(), io.StringIO()
    status = main(argv, Console(stdin, stdout, stderr))
    return status, stdout.getvalue(), stderr.getvalue()


def seed(server: EmulatorServer, **user_options: object) -> tuple[SeededPool, SeededUser]:
    async def _seed() -> tuple[SeededPool, SeededUser]:
        async with aioboto3.Session().client(
            "cognito-idp",
            region_name="us-east-1",
            endpoint_url=server.url,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        ) as client:
            seeder = Seeder(client, clock=server.emulator.now)
            pool = await seeder.create_pool_and_client(mfa="OPTIONAL")
            user = await seeder.create_user(pool, "alice", PASSWORD, **user_options)  # type: ignore[arg-type]
            return pool, user

    return anyio.run(_seed)


def pool_args(server: EmulatorServer, pool: SeededPool) -> list[str]:
    return [
        "--pool-id",
        pool.pool_id,
        "--client-id",
        pool.client_id,
        "--endpoint-url",
        server.url,
        "--username",
        "alice",
    ]


def totp_now(server: EmulatorServer, user: SeededUser) -> Callable[[], str]:
    return lambda: user.totp_code(server.emulator.now())


def test_sign_in_with_totp_retries_a_wrong_code_and_writes_a_private_token_file(
    cognito_server: EmulatorServer, tmp_path: Path
) -> None:
    pool, user = seed(cognito_server, totp=True, preferred="TOTP")
    cognito_server.emulator.advance(30)  # the enrolment used the previous step's code
    tokens = tmp_path / "tokens.json"
    status, out, err = run_cli(
        ["sign-in", *pool_args(cognito_server, pool), "--tokens-file", str(tokens)],
        [PASSWORD, "000000", totp_now(cognito_server, user)],
    )
    assert status == 0, err
    # the reason (Cognito's message and code) and the next step, on one line
    assert (
        "not accepted: Invalid code received for user (CodeMismatch); wait for the next code" in out
    )
    assert "signed in as alice" in out
    assert stat.S_IMODE(tokens.stat().st_mode) == 0o600
    saved = json.loads(tokens.read_text())
    assert saved["access_token"].count(".") == 2
    assert PASSWORD not in out + err
    assert saved["access_token"] not in out + err  # tokens go to the file, not the screen


def test_sign_in_select_menu_then_sms_code_from_the_outbox(cognito_server: EmulatorServer) -> None:
    pool, _ = seed(cognito_server, phone="+15555550100", totp=True, mfa=["SMS", "TOTP"])
    outbox = cognito_server.emulator.messages
    status, out, err = run_cli(
        ["sign-in", *pool_args(cognito_server, pool), "--json"],
        [PASSWORD, "9", "1", lambda: outbox[-1].code],
    )
    assert status == 0, err
    assert "Choose a second factor" in out
    assert "enter a number from 1 to 2" in out  # "9" was refused, "1" taken
    assert "text message sent to +*******0100" in err
    payload = json.loads(out[out.index("{") :])
    assert payload["token_type"] == "Bearer"


def test_totp_setup_preference_and_status(cognito_server: EmulatorServer, tmp_path: Path) -> None:
    pool, _ = seed(cognito_server)
    tokens = tmp_path / "tokens.json"
    args = [*pool_args(cognito_server, pool), "--tokens-file", str(tokens)]
    status, _, err = run_cli(["sign-in", *args], [PASSWORD])
    assert status == 0, err

    stdout_seen: list[str] = []

    def code_from_printed_uri() -> str:
        uri = re.search(r"otpauth://\S+", stdout_seen[0])
        assert uri is not None
        secret = pyotp.parse_uri(uri.group(0))
        assert isinstance(secret, pyotp.TOTP)
        return secret.at(int(cognito_server.emulator.now()))

    stdin = ScriptedInput([code_from_printed_uri])
    stdout, stderr = io.StringIO(), io.StringIO()

    class Peek(io.StringIO):
        def write(self, text: str) -> int:
            stdout_seen[:] = [stdout_seen[0] + text] if stdout_seen else [text]
            return stdout.write(text)

    status = main(["totp", "setup", *args, "--prefer"], Console(stdin, Peek(), stderr))
    assert status == 0, stderr.getvalue()
    assert "authenticator app enrolled and preferred" in stdout.getvalue()

    status, out, err = run_cli(["mfa", "status", *args, "--json"], [])
    assert status == 0, err
    assert json.loads(out) == {
        "username": "alice",
        "enabled": ["SOFTWARE_TOKEN_MFA"],
        "preferred": "SOFTWARE_TOKEN_MFA",
    }

    status, out, err = run_cli(["mfa", "preference", *args, "--totp", "off"], [])
    assert status == 0, err
    status, out, err = run_cli(["mfa", "status", *args], [])
    assert status == 0, err
    assert "enabled:   none" in out


def test_wrong_password_is_one_line_and_exit_1(cognito_server: EmulatorServer) -> None:
    pool, _ = seed(cognito_server)
    status, out, err = run_cli(["sign-in", *pool_args(cognito_server, pool)], ["wrong-password"])
    assert status == 1
    lines = [line for line in err.splitlines() if line.startswith("error:")]
    assert lines == [
        "error: NotAuthorized: Incorrect username or password. "
        "Next: check the username and password."
    ]
    assert "wrong-password" not in out + err


def test_missing_pool_settings_and_ended_input(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("COGNITO_USER_POOL_ID", "COGNITO_CLIENT_ID"):
        monkeypatch.delenv(name, raising=False)
    status, _, err = run_cli(["sign-in"], [])
    assert status == 1
    assert err.strip() == (
        "error: the pool is not set: give --pool-id and --client-id "
        "(or COGNITO_USER_POOL_ID and COGNITO_CLIENT_ID)"
    )
    monkeypatch.setenv("COGNITO_USER_POOL_ID", "us-east-1_Abc123")
    monkeypatch.setenv("COGNITO_CLIENT_ID", "client")
    status, _, err = run_cli(["sign-in", "--endpoint-url", "http://127.0.0.1:9"], [])
    assert status == 1
    assert err.strip().splitlines()[-1] == "error: input ended before the sign-in was complete"


def test_the_console_script_never_prints_a_traceback(cognito_server: EmulatorServer) -> None:
    pool, _ = seed(cognito_server)
    env = {**os.environ, "COGNITO_ENDPOINT_URL": cognito_server.url}
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "cognito_mfa",
            "sign-in",
            "--pool-id",
            pool.pool_id,
            "--client-id",
            pool.client_id,
            "--username",
            "nobody",
        ],
        input="whatever\n",
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith("error: ")


def test_demo_runs_and_exits_zero() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "cognito_mfa", "demo"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    for expected in (
        "otpauth://totp/",
        "CodeMismatch",
        "SELECT_MFA_TYPE",
        "SMS_MFA",
        "get_mfa_options -> [SMS/phone_number]",
        "challenges asked: none (the remembered device stood in for MFA)",
        "DeviceNotFound: Device does not exist.",
        "signed out.",
    ):
        assert expected in out


# --- issue 11, finding 5: errors with their reason and next step; files; flags ----------------


def test_a_malformed_code_says_why_and_a_reused_totp_code_says_to_wait(
    cognito_server: EmulatorServer,
) -> None:
    pool, user = seed(cognito_server, totp=True, preferred="TOTP")
    cognito_server.emulator.advance(30)
    used = totp_now(cognito_server, user)()
    status, out, err = run_cli(
        ["sign-in", *pool_args(cognito_server, pool)], [PASSWORD, "12345", used]
    )
    assert status == 0, err
    lines = [line.strip() for line in out.splitlines() if "not accepted" in line]
    assert lines == ["not accepted: the code must be exactly 6 digits; try again"]
    # the same code in the next sign-in: refused as used, with the hint to wait for the next
    status, out, err = run_cli(
        ["sign-in", *pool_args(cognito_server, pool)],
        [PASSWORD, used, lambda: user.totp_code(cognito_server.emulator.now() + 30)],
    )
    assert status == 0, err
    lines = [line.strip() for line in out.splitlines() if "not accepted" in line]
    assert len(lines) == 1
    assert lines[0].endswith("(CodeMismatch); wait for the next code in the app and enter that")


def test_new_password_refusal_shows_cognitos_policy_text(cognito_server: EmulatorServer) -> None:
    async def _seed() -> SeededPool:
        async with aioboto3.Session().client(
            "cognito-idp",
            region_name="us-east-1",
            endpoint_url=cognito_server.url,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        ) as client:
            seeder = Seeder(client, clock=cognito_server.emulator.now)
            pool = await seeder.create_pool_and_client(mfa="OFF")
            await client.admin_create_user(
                UserPoolId=pool.pool_id,
                Username="gina",
                TemporaryPassword="Temp-Horse-1",
                MessageAction="SUPPRESS",
            )
            return pool

    pool = anyio.run(_seed)
    args = [*pool_args(cognito_server, pool)[:-2], "--username", "gina"]
    status, out, err = run_cli(
        ["sign-in", *args, "--auth-flow", "USER_PASSWORD_AUTH"],
        ["Temp-Horse-1", "short", "short", PASSWORD, PASSWORD],
    )
    assert status == 0, err
    refused = [line for line in out.splitlines() if "not accepted" in line]
    assert len(refused) == 1
    assert "Password did not conform with policy: Password not long enough" in refused[0]
    assert "(InvalidPassword)" in refused[0]


def test_tokens_file_errors_are_one_line(cognito_server: EmulatorServer, tmp_path: Path) -> None:
    pool, _ = seed(cognito_server)
    base = pool_args(cognito_server, pool)
    missing = tmp_path / "missing.json"
    status, _, err = run_cli(["mfa", "status", *base, "--tokens-file", str(missing)], [])
    assert status == 1
    assert err.strip() == (
        f"error: {missing} does not exist: sign in first with "
        f"'cognito-mfa sign-in --tokens-file {missing}'"
    )
    assert cognito_server.emulator.messages == []  # no sign-in was started

    garbage = tmp_path / "garbage.json"
    garbage.write_bytes(b"\xff\xfe not utf-8 \x80")
    status, _out, err = run_cli(["mfa", "status", *base, "--tokens-file", str(garbage)], [])
    assert status == 1
    assert err.count("\n") == 1 and "Traceback" not in err
    assert "does not hold tokens" in err

    nested = tmp_path / "no" / "such" / "dir" / "t.json"
    status, _, err = run_cli(["sign-in", *base, "--tokens-file", str(nested)], [PASSWORD])
    assert status == 1
    assert "does not exist" in err and err.count("\n") == 1
    assert not (tmp_path / "no").exists()  # no directory was created


def test_refreshed_tokens_are_written_back(cognito_server: EmulatorServer, tmp_path: Path) -> None:
    pool, _ = seed(cognito_server)
    tokens = tmp_path / "tokens.json"
    args = [*pool_args(cognito_server, pool), "--tokens-file", str(tokens)]
    status, _, err = run_cli(["sign-in", *args], [PASSWORD])
    assert status == 0, err
    before = json.loads(tokens.read_text())
    cognito_server.emulator.advance(3600 + 1)  # the access token expires; the refresh one not
    status, out, err = run_cli(["mfa", "status", *args, "--json"], [])
    assert status == 0, err
    assert json.loads(out)["username"] == "alice"  # stdout stays pure JSON
    after = json.loads(tokens.read_text())
    assert after["access_token"] != before["access_token"]
    assert after["refresh_token"] == before["refresh_token"]
    assert "refreshed tokens written" in err
    assert stat.S_IMODE(tokens.stat().st_mode) == 0o600


def test_totp_setup_labels_the_account_with_the_real_username(
    cognito_server: EmulatorServer, tmp_path: Path
) -> None:
    pool, _ = seed(cognito_server)
    tokens = tmp_path / "tokens.json"
    args = [*pool_args(cognito_server, pool)]
    status, _, err = run_cli(["sign-in", *args, "--tokens-file", str(tokens)], [PASSWORD])
    assert status == 0, err
    without_username = [a for a in args if a not in ("--username", "alice")]
    screen: list[str] = []

    def code() -> str:
        uri = re.search(r"otpauth://\S+", "".join(screen))
        assert uri is not None
        secret = pyotp.parse_uri(uri.group(0))
        assert isinstance(secret, pyotp.TOTP)
        return secret.at(int(cognito_server.emulator.now()))

    class Screen(io.StringIO):
        def write(self, text: str) -> int:
            screen.append(text)
            return len(text)

    status = main(
        ["totp", "setup", *without_username, "--tokens-file", str(tokens)],
        Console(ScriptedInput([code]), Screen(), io.StringIO()),
    )
    assert status == 0
    uri = re.search(r"otpauth://\S+", "".join(screen))
    assert uri is not None
    assert uri.group(0).startswith("otpauth://totp/Cognito:alice?")


def test_connection_failure_names_the_url() -> None:
    url = "http://127.0.0.1:9"
    status, _, err = run_cli(
        [
            "sign-in",
            "--pool-id",
            "us-east-1_Abc123",
            "--client-id",
            "c",
            "--endpoint-url",
            url,
            "--username",
            "alice",
        ],
        [PASSWORD],
    )
    assert status == 1
    assert url in err and "ConnectionFailed" in err and "Next: check --endpoint-url" in err


def test_client_secret_flags(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("COGNITO_CLIENT_SECRET", raising=False)
    monkeypatch.delenv("MY_SECRET", raising=False)
    base = [
        "sign-in",
        "--pool-id",
        "us-east-1_Abc123",
        "--client-id",
        "c",
        "--endpoint-url",
        "http://127.0.0.1:9",
    ]
    status, _, err = run_cli([*base, "--client-secret-env", "MY_SECRET"], [])
    assert status == 1
    assert err.strip() == (
        "error: --client-secret-env: the environment variable MY_SECRET is not set"
    )
    status, _, err = run_cli([*base, "--client-secret", "s3cr3t-value"], [])
    assert "warning: --client-secret shows in the process list" in err
    assert "s3cr3t-value" not in err


def test_version_help_and_usage_errors(capsys: pytest.CaptureFixture[str]) -> None:
    import cognito_mfa

    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0
    assert capsys.readouterr().out.strip() == f"cognito-mfa {cognito_mfa.__version__}"
    for argv in (["mfa"], ["totp"], []):
        with pytest.raises(SystemExit) as info:
            main(argv)
        assert info.value.code == 2
        err = capsys.readouterr().err
        assert "required: COMMAND" in err
        assert "_command" not in err
    parser_help = subprocess.run(
        [sys.executable, "-m", "cognito_mfa", "mfa", "preference", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    ).stdout
    for option in (
        "--sms",
        "--totp",
        "--email",
        "--auth-flow",
        "--client-secret-env",
        "--tokens-file",
        "--username",
        "--region",
    ):
        line = next(line for line in parser_help.splitlines() if line.strip().startswith(option))
        rest = parser_help[parser_help.index(line) :].split("\n  -", 1)[0]
        assert len(rest.split()) > 2, f"{option} has no help text"
