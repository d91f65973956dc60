"""The command line in a real terminal: Ctrl-C and Ctrl-D at every prompt (issue 11, finding 5).

tmux runs ``python -m cognito_mfa`` in a pseudo-terminal against the emulator served on a
loopback port, so the prompts are the real ones (the password through ``getpass``, the rest
from the terminal). At each prompt the test presses Ctrl-C, which must end the program at once
with status 130, or Ctrl-D, which must end it with status 1 and one line saying why, never a
traceback.

tmux is an external program (Debian package ``tmux``): without it the test skips with the
reason, except under CI=true, where it fails.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import aioboto3
import anyio
import pytest

from cognito_mfa.testing.seed import SeededPool, Seeder
from cognito_mfa.testing.server import EmulatorServer

PASSWORD = "Correct-Horse-9"
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def tmux() -> Iterator[str]:
    """A private tmux server (its own socket) per test, killed afterwards: a server shared
    between tests exits when one test closes the last session, under the next one's feet."""
    if shutil.which("tmux") is None:
        if os.environ.get("CI") == "true":
            pytest.fail("tmux is not installed (Debian package: tmux)")
        pytest.skip("tmux is not installed (Debian package: tmux)")
    socket = f"cognito-mfa-test-{uuid.uuid4().hex[:8]}"
    yield socket
    subprocess.run(["tmux", "-L", socket, "kill-server"], capture_output=True, check=False)


def _tmux(socket: str, *args: str) -> str:
    result = subprocess.run(
        ["tmux", "-L", socket, *args], capture_output=True, text=True, timeout=30, check=False
    )
    return result.stdout


# Runs the command and writes its exit status to a file: tmux 3.3 does not always reap a dead
# pane's process, so its #{pane_dead_status} cannot be relied on. The wrapper's SIGINT handler
# (a function, not SIG_IGN) is reset to the default in the child at exec, so the command sees
# Ctrl-C exactly as it would on its own.
WRAPPER = """
import signal, subprocess, sys
signal.signal(signal.SIGINT, lambda signum, frame: None)
status = subprocess.call(sys.argv[2:])
with open(sys.argv[1] + ".tmp", "w") as out:
    out.write(str(status))
import os
import re
os.replace(sys.argv[1] + ".tmp", sys.argv[1])
"""


class Terminal:
    """One command in a tmux pane; its exit status lands in a file."""

    def __init__(self, socket: str, command: list[str], workdir: Path) -> None:
        self.socket = socket
        self.name = f"t{uuid.uuid4().hex[:8]}"
        self.status_file = workdir / f"{self.name}.status"
        wrapper = workdir / "wrapper.py"
        wrapper.write_text(WRAPPER, encoding="utf-8")
        env = {
            "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
            "PYTHONUNBUFFERED": "1",
        }
        exports = " ".join(f"{k}={shlex.quote(v)}" for k, v in env.items())
        run = [sys.executable, str(wrapper), str(self.status_file), *command]
        subprocess.run(
            [
                "tmux",
                "-L",
                socket,
                "-f",
                "/dev/null",
                "new-session",
                "-d",
                "-s",
                self.name,
                "-x",
                "200",
                "-y",
                "50",
                f"export {exports}; exec {shlex.join(run)}",
            ],
            check=True,
            timeout=30,
        )
        _tmux(socket, "set-option", "-t", self.name, "remain-on-exit", "on")

    def screen(self) -> str:
        return _tmux(self.socket, "capture-pane", "-p", "-J", "-t", self.name)

    def wait_for(self, text: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while text not in self.screen():
            if self.exit_status() is not None or time.monotonic() > deadline:
                raise AssertionError(f"{text!r} never showed; the screen:\n{self.screen()}")
            time.sleep(0.05)

    def keys(self, *keys: str) -> None:
        _tmux(self.socket, "send-keys", "-t", self.name, *keys)

    def type_line(self, text: str) -> None:
        self.keys("-l", text)
        self.keys("Enter")

    def exit_status(self) -> int | None:
        try:
            return int(self.status_file.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None

    def wait_exit(self, timeout: float) -> int:
        started = time.monotonic()
        while (status := self.exit_status()) is None:
            if time.monotonic() - started > timeout:
                raise AssertionError(f"still running after {timeout} s:\n{self.screen()}")
            time.sleep(0.02)
        return status

    def close(self) -> None:
        _tmux(self.socket, "kill-session", "-t", self.name)


def _seed(server: EmulatorServer, *, mfa: str = "OPTIONAL") -> SeededPool:
    async def seed() -> SeededPool:
        async with aioboto3.Session().client(
            "cognito-idp",
            region_name="us-east-1",
            endpoint_url=server.url,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        ) as client:
            seeder = Seeder(client, clock=server.emulator.now)
            if mfa == "ON":  # MFA required and nothing set up: sign-in asks to set up TOTP
                pool = await seeder.create_pool_and_client(mfa="ON", sms=False, email=False)
                await seeder.create_user(pool, "frank", PASSWORD)
                return pool
            pool = await seeder.create_pool_and_client(mfa="OPTIONAL")
            await seeder.create_user(pool, "tia", PASSWORD, totp=True, preferred="TOTP")
            await seeder.create_user(
                pool, "bo", PASSWORD, phone="+15555550100", totp=True, mfa=["SMS", "TOTP"]
            )
            await client.admin_create_user(
                UserPoolId=pool.pool_id,
                Username="gina",
                TemporaryPassword="Temp-Horse-1",
                MessageAction="SUPPRESS",
            )
            return pool

    return anyio.run(seed)


# (the prompt to stop at, the user, what to type before it)
PROMPTS = {
    "Username": ("Username: ", None, []),
    "Password": ("Password: ", "tia", []),
    "TOTP code": ("Code from your authenticator app: ", "tia", [PASSWORD]),
    "choice of factor": ("Number: ", "bo", [PASSWORD]),
    "new password": ("New password: ", "gina", ["Temp-Horse-1"]),
    "TOTP set-up code": ("Code shown by the app: ", "frank", [PASSWORD]),
}


@pytest.mark.parametrize("key", ["C-c", "C-d"], ids=["Ctrl-C", "Ctrl-D"])
@pytest.mark.parametrize("prompt", list(PROMPTS))
def test_each_prompt_stops_at_once(
    tmux: str, cognito_server: EmulatorServer, tmp_path: Path, prompt: str, key: str
) -> None:
    pool = _seed(cognito_server, mfa="ON" if prompt == "TOTP set-up code" else "OPTIONAL")
    text, username, before = PROMPTS[prompt]
    command = [
        sys.executable,
        "-m",
        "cognito_mfa",
        "sign-in",
        "--pool-id",
        pool.pool_id,
        "--client-id",
        pool.client_id,
        "--endpoint-url",
        cognito_server.url,
        "--auth-flow",
        "USER_PASSWORD_AUTH",
    ]
    if username is not None:
        command += ["--username", username]
    terminal = Terminal(tmux, command, tmp_path)
    try:
        for line in before:
            terminal.wait_for("Password: ")
            terminal.type_line(line)
        terminal.wait_for(text)
        time.sleep(0.2)  # the prompt is printed just before the read starts
        terminal.keys(key)
        # "at once": no Enter is needed, nothing is retried; generous for a loaded machine
        status = terminal.wait_exit(timeout=15)
        screen = terminal.screen()
        assert "Traceback" not in screen, screen
        if key == "C-c":
            assert status == 130, screen
            assert "interrupted" in screen
        else:
            assert status == 1, screen
            errors = [line for line in screen.splitlines() if "error:" in line]
            assert len(errors) == 1, screen
            assert errors[0].endswith("error: input ended before the sign-in was complete")
    finally:
        terminal.close()


def _readme_ask() -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text[text.index("<!-- mfa-examples:start -->") :]
    block = re.search(r"```python\n(.*?)```", section, flags=re.S)
    assert block is not None and "async def ask(" in block.group(1)
    return block.group(1)


READ_ONE_CODE = """

import sys


async def main() -> None:
    try:
        code = await ask("Code: ")
    except EOFError:
        with open(sys.argv[1], "w") as out:
            out.write("input ended")
        raise SystemExit(1) from None
    print("code", code)


asyncio.run(main())
"""


@pytest.mark.parametrize("key", ["C-c", "C-d"], ids=["Ctrl-C", "Ctrl-D"])
def test_the_readme_ask_stops_at_once(tmux: str, tmp_path: Path, key: str) -> None:
    script = tmp_path / "ask.py"
    script.write_text(_readme_ask() + READ_ONE_CODE, encoding="utf-8")
    outcome = tmp_path / "outcome.txt"
    terminal = Terminal(tmux, [sys.executable, str(script), str(outcome)], tmp_path)
    try:
        terminal.wait_for("Code: ")
        time.sleep(0.2)
        terminal.keys(key)
        status = terminal.wait_exit(timeout=15)
        if key == "C-c":
            # asyncio.run turns the cancellation into KeyboardInterrupt: death by SIGINT
            assert status in (-2, 130), terminal.screen()
        else:
            assert status == 1, terminal.screen()
            assert outcome.read_text() == "input ended"  # ask() raised EOFError
    finally:
        terminal.close()
