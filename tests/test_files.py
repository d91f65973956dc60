"""The CLI's token file: created with mode 0600 and written atomically.

``cognito_mfa.cli.write_private_file`` writes a temporary file created 0600 in the target's
directory, fsyncs it and renames it over the target. So, whatever the umask: the file is 0600;
a failure at any point of the write (encoding, fsync, rename, an interrupt) leaves the old file
as it was and no temporary file behind; a writer killed mid-write leaves the old file intact
(its orphaned temporary file is 0600 too). ``cognito-mfa sign-in --tokens-file`` goes through
it, against the served emulator, and later commands read the tokens back from it.
"""

from __future__ import annotations

import io
import json
import os
import signal
import stat
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest

from cognito_mfa import cli
from cognito_mfa.cli import CliError, write_private_file
from cognito_mfa.testing import (
    EmulatorServer,
    SeededPool,
    SeededUser,
    Seeder,
    emulator_client,
)

PASSWORD = "Correct-Horse-9"
PHONE = "+15555550100"
OLD = '{"old": "tokens"}\n'


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def permissive_umask() -> Iterator[None]:
    # with umask 0 a plain open() would create 0666: the 0600 must come from the code
    previous = os.umask(0)
    try:
        yield
    finally:
        os.umask(previous)


@pytest.fixture
def old_file(tmp_path: Path) -> Path:
    target = tmp_path / "tokens.json"
    target.write_text(OLD)
    target.chmod(0o644)
    return target


def test_new_file_is_0600(tmp_path: Path, permissive_umask: None) -> None:
    target = tmp_path / "sub" / "tokens.json"
    target.parent.mkdir()
    write_private_file(target, '{"a": 1}\n')
    assert target.read_text() == '{"a": 1}\n'
    assert _mode(target) == 0o600
    assert sorted(p.name for p in target.parent.iterdir()) == ["tokens.json"]


def test_a_missing_directory_is_an_error_and_is_not_created(tmp_path: Path) -> None:
    # a typo in --tokens-file must not leave directories behind
    target = tmp_path / "no" / "such" / "tokens.json"
    with pytest.raises(CliError, match="does not exist"):
        write_private_file(target, "{}\n")
    assert list(tmp_path.iterdir()) == []


def test_replacing_a_file_makes_it_0600(old_file: Path, permissive_umask: None) -> None:
    inode = old_file.stat().st_ino
    write_private_file(old_file, '{"new": 1}\n')
    assert old_file.read_text() == '{"new": 1}\n'
    assert _mode(old_file) == 0o600
    assert old_file.stat().st_ino != inode  # replaced by rename, not rewritten in place


def _fail_with(error: BaseException) -> Callable[..., Any]:
    def fail(*args: Any, **kwargs: Any) -> Any:
        raise error

    return fail


@pytest.mark.parametrize(
    ("where", "error"),
    [
        ("encode", UnicodeEncodeError),
        ("fsync", OSError),
        ("replace", OSError),
        ("interrupt", KeyboardInterrupt),
    ],
)
def test_a_failed_write_leaves_the_old_file_and_no_temporary(
    old_file: Path, monkeypatch: pytest.MonkeyPatch, where: str, error: type[BaseException]
) -> None:
    text = '{"new": "tokens"}\n'
    if where == "encode":
        text = '{"new": "tok\ud800ens"}\n'  # fails inside write(), once the temporary exists
    elif where == "fsync":
        monkeypatch.setattr(os, "fsync", _fail_with(OSError(5, "Input/output error")))
    elif where == "replace":
        monkeypatch.setattr(os, "replace", _fail_with(OSError(28, "No space left on device")))
    else:
        monkeypatch.setattr(os, "fsync", _fail_with(KeyboardInterrupt()))
    with pytest.raises(error):
        write_private_file(old_file, text)
    monkeypatch.undo()
    assert old_file.read_text() == OLD
    assert _mode(old_file) == 0o644  # untouched
    assert sorted(p.name for p in old_file.parent.iterdir()) == ["tokens.json"]


def _open_descriptors() -> int:
    return len(os.listdir("/proc/self/fd"))


def test_a_failed_chmod_closes_the_descriptor(
    old_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = _open_descriptors()
    monkeypatch.setattr(os, "fchmod", _fail_with(OSError(1, "Operation not permitted")))
    with pytest.raises(OSError):
        write_private_file(old_file, '{"new": "tokens"}\n')
    monkeypatch.undo()
    assert old_file.read_text() == OLD
    assert sorted(p.name for p in old_file.parent.iterdir()) == ["tokens.json"]
    assert _open_descriptors() == before


def test_a_writer_killed_mid_write_leaves_the_old_file(old_file: Path) -> None:
    script = textwrap.dedent(
        f"""
        import os, sys, time
        from pathlib import Path
        from cognito_mfa.cli import CliError, write_private_file

        def stall(fd):
            print("writing", flush=True)
            time.sleep(60)

        os.fsync = stall  # the data is written but not yet renamed into place
        write_private_file(Path({str(old_file)!r}), '{{"new": "tokens"}}' * 1000)
        """
    )
    writer = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        assert writer.stdout is not None
        assert writer.stdout.readline().strip() == "writing"
        writer.send_signal(signal.SIGKILL)
    finally:
        writer.wait(timeout=30)
        if writer.stdout is not None:
            writer.stdout.close()
    assert old_file.read_text() == OLD
    orphans = [p for p in old_file.parent.iterdir() if p.name != "tokens.json"]
    assert len(orphans) == 1  # a kill cannot clean up, but what it left is private
    assert orphans[0].name.startswith(".tokens.json.")
    assert _mode(orphans[0]) == 0o600


# --- cognito-mfa sign-in --tokens-file ----------------------------------------------------------


class LazyInput(io.StringIO):
    """Standard input whose lines are computed when the CLI asks for them."""

    def __init__(self, lines: list[Callable[[], str]]) -> None:
        super().__init__()
        self._lines = lines

    def readline(self, size: int | None = -1) -> str:
        return self._lines.pop(0)() + "\n" if self._lines else ""

    def isatty(self) -> bool:
        return False


@pytest.fixture
def served_user(
    cognito_server: EmulatorServer,
) -> tuple[EmulatorServer, SeededPool, SeededUser]:
    """The shipped ``cognito_server``, seeded in-process (the same emulator) with one user."""

    async def seed() -> tuple[SeededPool, SeededUser]:
        async with emulator_client(cognito_server.emulator) as client:
            seeder = Seeder(client, clock=cognito_server.emulator.now)
            seeded = await seeder.create_pool_and_client()
            user = await seeder.create_user(seeded, "alice", PASSWORD, phone=PHONE, mfa=["SMS"])
            return seeded, user

    seeded, user = anyio.run(seed)
    return cognito_server, seeded, user


def _run_cli(
    argv: list[str], stdin: io.StringIO, monkeypatch: pytest.MonkeyPatch
) -> tuple[int, str, str]:
    for name in ("COGNITO_USER_POOL_ID", "COGNITO_CLIENT_ID", "COGNITO_CLIENT_SECRET"):
        monkeypatch.delenv(name, raising=False)
    stdout, stderr = io.StringIO(), io.StringIO()
    status = cli.main(argv, cli.Console(stdin, stdout, stderr))
    return status, stdout.getvalue(), stderr.getvalue()


def test_cli_sign_in_writes_a_private_token_file(
    served_user: tuple[EmulatorServer, SeededPool, SeededUser],
    old_file: Path,
    monkeypatch: pytest.MonkeyPatch,
    permissive_umask: None,
) -> None:
    server, seeded, user = served_user

    def sms_code() -> str:
        with server.lock:
            return server.emulator.last_code(user.username, "SMS")

    pool_flags = [
        "--pool-id",
        seeded.pool_id,
        "--client-id",
        seeded.client_id,
        "--endpoint-url",
        server.url,
        "--username",
        user.username,
        "--tokens-file",
        str(old_file),
    ]
    status, out, err = _run_cli(
        ["sign-in", *pool_flags], LazyInput([lambda: PASSWORD, sms_code]), monkeypatch
    )
    assert status == cli.EXIT_OK, err
    assert _mode(old_file) == 0o600
    tokens = json.loads(old_file.read_text())
    assert {"id_token", "access_token", "refresh_token"} <= tokens.keys()
    assert sorted(p.name for p in old_file.parent.iterdir()) == ["tokens.json"]
    for secret in (PASSWORD, tokens["access_token"], tokens["refresh_token"], tokens["id_token"]):
        assert secret not in out and secret not in err

    # later commands read the tokens back from the file, asking for nothing
    status, out, err = _run_cli(
        ["mfa", "status", "--json", *pool_flags], LazyInput([]), monkeypatch
    )
    assert status == cli.EXIT_OK, err
    assert json.loads(out)["username"] == user.username
    assert _mode(old_file) == 0o600
