"""``--state FILE`` served: pools and users survive a restart, and a crash never corrupts the file.

The journal itself (its format, compaction, pruning, corrupt files) is tested in
``test_journal.py``; these tests serve it.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import aioboto3
import boto3
import pyotp
import pytest
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError
from fronts import srp_sign_in

from cognito_mfa.testing import EmulatorServer, Seeder, load_emulator, write_state_atomically

pytestmark = pytest.mark.served

PASSWORD = "Correct-Horse-9"


def names_in(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


def aio_client(url: str) -> Any:
    session = aioboto3.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1"
    )
    return session.client("cognito-idp", endpoint_url=url)


async def test_users_still_sign_in_after_a_restart(tmp_path: Path) -> None:
    state = tmp_path / "emulator.jsonl"
    emulator = load_emulator(state)
    with EmulatorServer(emulator, state_file=state) as server:
        async with aio_client(server.url) as client:
            seeder = Seeder(client, clock=server.emulator.now)
            pool = await seeder.create_pool_and_client()
            await seeder.create_user(pool, "alice", PASSWORD)
            totp_user = await seeder.create_user(pool, "tom", PASSWORD, totp=True, preferred="TOTP")
    emulator.close()
    assert all(json.loads(line) for line in state.read_text().splitlines())  # whole lines
    assert names_in(tmp_path) == ["emulator.jsonl"]  # no temporary files left

    restored = load_emulator(state)
    assert restored.jwks(pool.pool_id) is not None
    with EmulatorServer(restored, state_file=state) as server:
        async with aio_client(server.url) as client:
            signed_in = await srp_sign_in(client, pool, "alice", PASSWORD, now=restored.now())
            assert "AccessToken" in signed_in["AuthenticationResult"]
            started = await client.initiate_auth(
                AuthFlow="USER_PASSWORD_AUTH",
                ClientId=pool.client_id,
                AuthParameters={"USERNAME": "tom", "PASSWORD": PASSWORD},
            )
            assert started["ChallengeName"] == "SOFTWARE_TOKEN_MFA"
            assert totp_user.totp_secret is not None
            done = await client.respond_to_auth_challenge(
                ClientId=pool.client_id,
                ChallengeName="SOFTWARE_TOKEN_MFA",
                Session=started["Session"],
                ChallengeResponses={
                    "USERNAME": "tom",
                    "SOFTWARE_TOKEN_MFA_CODE": pyotp.TOTP(totp_user.totp_secret).at(
                        int(restored.now())
                    ),
                },
            )
            assert "IdToken" in done["AuthenticationResult"]


def test_atomic_write_keeps_the_old_file_when_writing_fails(tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    write_state_atomically(state, {"version": 1})
    with pytest.raises(TypeError):
        write_state_atomically(state, {"version": object()})
    assert json.loads(state.read_text()) == {"version": 1}
    assert names_in(tmp_path) == ["state.json"]


def test_a_corrupt_state_file_is_reported(tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    state.write_text('{"pools": [')
    with pytest.raises(ValueError, match=r"state\.json"):
        load_emulator(state)


def test_unusable_state_is_reported(tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    state.write_text("[1, 2]")
    with pytest.raises(ValueError, match="not a JSON object"):
        load_emulator(state)
    state.write_text('{"unexpected": true}')
    with pytest.raises(ValueError, match=r"state\.json"):
        load_emulator(state)


def test_command_line_refuses_a_corrupt_state_file(tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    state.write_text('{"pools": [')
    done = subprocess.run(
        [sys.executable, "-m", "cognito_mfa.testing", "serve", "--state", str(state)],
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert done.stdout == b""
    assert len(done.stderr.splitlines()) == 1  # one line, no traceback
    assert str(state).encode() in done.stderr


class _FullDisk:
    """A journal whose every write fails, as on a full disk."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def record(self, changes: object) -> None:
        raise OSError(28, "No space left on device")

    def needs_compaction(self) -> bool:
        return False

    def compact(self, region: str, records: object) -> None:
        raise OSError(28, "No space left on device")

    def close(self) -> None:
        pass


def test_a_state_file_that_cannot_be_written_is_a_server_fault(tmp_path: Path) -> None:
    state = tmp_path / "state.jsonl"
    emulator = load_emulator(state)
    emulator.close()
    emulator.attach(_FullDisk(state))
    with EmulatorServer(emulator) as server:
        client = _boto3_client(server.url)
        try:
            with pytest.raises(ClientError) as info:
                client.create_user_pool(PoolName="lost")
        finally:
            client.close()
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 500
    assert info.value.response["Error"]["Code"] == "InternalErrorException"


def _boto3_client(url: str) -> Any:
    return boto3.client(
        "cognito-idp",
        region_name="us-east-1",
        endpoint_url=url,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(retries={"total_max_attempts": 1}),
    )


def _kill_under_load(state: Path, round_number: int, pool_id: str | None) -> tuple[str, list[str]]:
    """Serve ``--state state`` in a subprocess, create users from 4 threads, SIGKILL it.

    Returns the pool id and the users whose creation was acknowledged before the kill.
    """
    command = [sys.executable, "-m", "cognito_mfa.testing", "serve", "--port", "0"]
    process = subprocess.Popen([*command, "--state", str(state)], stdout=subprocess.PIPE)
    acknowledged: list[str] = []
    lock = threading.Lock()
    enough = threading.Event()
    try:
        assert process.stdout is not None
        url = process.stdout.readline().decode().strip()
        if pool_id is None:
            admin = _boto3_client(url)
            pool_id = admin.create_user_pool(PoolName="load")["UserPool"]["Id"]
            admin.close()

        def load(worker: int) -> None:
            client = _boto3_client(url)
            try:
                for number in range(10_000):
                    username = f"user-{round_number}-{worker}-{number}"
                    try:
                        client.admin_create_user(
                            UserPoolId=pool_id, Username=username, MessageAction="SUPPRESS"
                        )
                    except (BotoCoreError, ClientError):
                        return  # the server is gone
                    with lock:
                        acknowledged.append(username)
                        if len(acknowledged) >= 100:
                            enough.set()
            finally:
                client.close()

        workers = [threading.Thread(target=load, args=(n,)) for n in range(4)]
        for worker in workers:
            worker.start()
        assert enough.wait(timeout=120), "the load never got going"
        # Every acknowledged call was appended before its answer: the server is writing now.
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=20)
        for worker in workers:
            worker.join(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
        process.wait()
        if process.stdout is not None:
            process.stdout.close()
    assert process.returncode == -signal.SIGKILL
    with lock:
        return pool_id, list(acknowledged)


def test_sigkill_while_writing_under_load_leaves_a_loadable_file(tmp_path: Path) -> None:
    state = tmp_path / "emulator.jsonl"
    pool_id = None
    acknowledged: list[str] = []
    # Three kills, each restarting from the file the previous one left.
    for round_number in range(3):
        pool_id, created = _kill_under_load(state, round_number, pool_id)
        acknowledged += created
        lines = state.read_bytes().split(b"\n")
        # every line but a torn last one (never acknowledged) is whole
        assert all(json.loads(line) for line in lines[:-1])
    restored = load_emulator(state)
    assert restored.jwks(pool_id) is not None
    # Each state change is on disk before its answer is sent: every acknowledged user is there.
    with EmulatorServer(restored) as server:
        client = _boto3_client(server.url)
        try:
            for username in acknowledged:
                assert client.admin_get_user(UserPoolId=pool_id, Username=username)["Username"]
        finally:
            client.close()
