"""The journaled state file (``load_emulator``): every change survives, a crash loses at most
the call in flight and leaves no stray file, a corrupt file is one clear line, and pruning and
compaction keep the file bounded by the live state."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from conftest import PASSWORD, FakeClock, Harness, HarnessFor

from cognito_mfa.testing import Emulator
from cognito_mfa.testing._state_file import StateFileError, load_emulator, write_state_atomically


def reloaded(path: Path, clock: FakeClock) -> Emulator:
    """A second emulator loaded from a copy of ``path`` (the original stays open)."""
    copy = path.with_name("copy-" + path.name)
    shutil.copyfile(path, copy)
    try:
        emulator = load_emulator(copy, clock=clock)
        emulator.close()
        return emulator
    finally:
        copy.unlink()


def assert_persisted(emulator: Emulator, path: Path, clock: FakeClock) -> None:
    assert reloaded(path, clock).to_state() == emulator.to_state()


def test_every_kind_of_change_is_persisted(tmp_path: Path) -> None:
    clock = FakeClock()
    path = tmp_path / "state.jsonl"
    emulator = load_emulator(path, clock=clock)
    h = Harness(emulator)
    pool_id = h.pool(DeviceConfiguration={"ChallengeRequiredOnNewDevice": True})
    client_id, _ = h.client(pool_id)
    h.mfa_config(pool_id, "OPTIONAL", sms=True, totp=True, email=True)
    assert_persisted(emulator, path, clock)
    h.user(pool_id, "alice", phone_number="+15555550100", email="a@example.com")
    h.user(pool_id, "bob")
    h.ok(
        "AdminUpdateUserAttributes",
        UserPoolId=pool_id,
        Username="bob",
        UserAttributes=[{"Name": "email", "Value": "b@example.com"}],
    )
    assert_persisted(emulator, path, clock)
    tokens = h.srp_sign_in(pool_id, client_id, "alice")["AuthenticationResult"]
    assert_persisted(emulator, path, clock)  # the signing key, the sign-in, the refresh token
    h.enrol_totp(pool_id, tokens["AccessToken"], "alice")
    h.ok(
        "AdminSetUserMFAPreference",
        UserPoolId=pool_id,
        Username="alice",
        SMSMfaSettings={"Enabled": True, "PreferredMfa": True},
    )
    h.ok(
        "AdminSetUserSettings",
        UserPoolId=pool_id,
        Username="bob",
        MFAOptions=[],
    )
    assert_persisted(emulator, path, clock)
    # a failure changes state too: the lockout's count
    h.fail(
        "InitiateAuth",
        AuthFlow="USER_PASSWORD_AUTH",
        ClientId=client_id,
        AuthParameters={"USERNAME": "bob", "PASSWORD": "Wrong-pass-1"},
    )
    bob = h.password_auth(client_id, "bob")["AuthenticationResult"]
    h.ok("RevokeToken", Token=bob["RefreshToken"], ClientId=client_id)
    h.ok(
        "UpdateUserPoolClient",
        UserPoolId=pool_id,
        ClientId=client_id,
        ExplicitAuthFlows=["ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
        RefreshTokenRotation={"Feature": "ENABLED", "RetryGracePeriodSeconds": 5},
    )
    # the pool tracks devices: the sign-in's refresh token is bound to its new device
    h.ok(
        "GetTokensFromRefreshToken",
        RefreshToken=tokens["RefreshToken"],
        ClientId=client_id,
        DeviceKey=tokens["NewDeviceMetadata"]["DeviceKey"],
    )
    assert_persisted(emulator, path, clock)
    h.ok("GlobalSignOut", AccessToken=tokens["AccessToken"])
    h.ok("AdminDeleteUser", UserPoolId=pool_id, Username="bob")
    assert_persisted(emulator, path, clock)
    other = h.pool()
    h.ok("DeleteUserPool", UserPoolId=pool_id)
    assert_persisted(emulator, path, clock)
    emulator.close()
    assert reloaded(path, clock).to_state()["pools"][0]["id"] == other


def test_sessions_and_codes_are_never_written(tmp_path: Path) -> None:
    path = tmp_path / "state.jsonl"
    h = Harness(load_emulator(path, clock=FakeClock()))
    pool_id = h.pool()
    h.mfa_config(pool_id, "ON", sms=True)
    client_id, _ = h.client(pool_id)
    h.user(pool_id, "alice", phone_number="+15555550100")
    step = h.password_auth(client_id, "alice")
    assert step["ChallengeName"] == "SMS_MFA"
    code = h.emu.last_code("alice", "SMS")
    h.answer(client_id, step, USERNAME="alice", SMS_MFA_CODE=code)
    h.emu.close()
    text = path.read_text()
    assert step["Session"] not in text
    assert f'"{code}"' not in text


def test_reads_do_not_grow_the_file(tmp_path: Path) -> None:
    path = tmp_path / "state.jsonl"
    h = Harness(load_emulator(path, clock=FakeClock()))
    pool_id = h.pool()
    size = path.stat().st_size
    for _ in range(20):
        h.ok("DescribeUserPool", UserPoolId=pool_id)
        h.fail("DescribeUserPool", UserPoolId="us-east-1_Missing1")
    assert path.stat().st_size == size
    h.emu.close()


def test_a_torn_last_line_is_dropped_and_cut(tmp_path: Path) -> None:
    clock = FakeClock()
    path = tmp_path / "state.jsonl"
    h = Harness(load_emulator(path, clock=clock))
    pool_id = h.pool()
    h.emu.close()
    whole = path.read_bytes()
    with path.open("ab") as file:
        file.write(b'{"c":[{"k":["pool","us-east-1_Torn"],"v":{"id":')
    emulator = load_emulator(path, clock=clock)
    assert path.read_bytes() == whole
    assert emulator.jwks(pool_id) is not None
    # appending goes on from a clean end
    Harness(emulator).pool(PoolName="after")
    emulator.close()
    assert len(reloaded(path, clock).to_state()["pools"]) == 2


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"", "not an emulator state file"),
        (b'{"pools": [', "not an emulator state file (not JSON)"),
        (b"[1, 2]\n", "not an emulator state file (not a JSON object)"),
        (b'{"pools": []}', "not an emulator state file (no version)"),
        (b'{"version": 7}', "unsupported emulator state version"),
        (
            b'{"format":"cognito-mfa-emulator-journal","version":2}\nnot json\n{"c":[]}\n',
            "line 2: not JSON",
        ),
        (
            b'{"format":"cognito-mfa-emulator-journal","version":2}\n{"c":{}}\n',
            "line 2: not a change set",
        ),
        (
            b'{"format":"cognito-mfa-emulator-journal","version":2}\n'
            b'{"c":[{"k":["nonsense","x"],"v":{}}]}\n',
            "line 2: change 1: unknown record kind",
        ),
    ],
)
def test_a_corrupt_file_is_one_line_naming_it(
    tmp_path: Path, content: bytes, expected: str
) -> None:
    path = tmp_path / "state.jsonl"
    path.write_bytes(content)
    with pytest.raises(StateFileError) as info:
        load_emulator(path)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(str(path))
    assert expected in message


def test_a_bad_field_is_named_but_its_value_never_shown(tmp_path: Path) -> None:
    clock = FakeClock()
    path = tmp_path / "state.jsonl"
    h = Harness(load_emulator(path, clock=clock))
    pool_id = h.pool()
    h.user(pool_id, "alice")
    h.emu.close()
    lines = path.read_bytes().splitlines()
    for number, line in enumerate(lines):
        entry = json.loads(line)
        if "c" in entry and entry["c"][0]["k"][0] == "user":
            secret = entry["c"][0]["v"]["verifier"]
            entry["c"][0]["v"]["verifier"] = "zz" + secret  # not hex any more
            entry["c"][0]["v"]["salt"] = 12345  # nor a string
            lines[number] = json.dumps(entry).encode()
            break
    else:
        pytest.fail("no user record in the file")
    path.write_bytes(b"\n".join(lines) + b"\n")
    with pytest.raises(StateFileError) as info:
        load_emulator(path, clock=clock)
    message = str(info.value)
    assert "salt: expected a hex string" in message
    assert secret not in message and "12345" not in message


def test_a_whole_state_file_of_the_earlier_format_is_converted(tmp_path: Path) -> None:
    clock = FakeClock()
    h = Harness(Emulator(clock=clock))
    pool_id = h.pool()
    client_id, _ = h.client(pool_id)
    h.user(pool_id, "alice")
    tokens = h.password_auth(client_id, "alice")["AuthenticationResult"]
    state = _as_version_1(h.emu.to_state())
    path = tmp_path / "state.json"
    write_state_atomically(path, state)
    emulator = load_emulator(path, clock=clock)
    emulator.close()
    assert path.read_bytes().startswith(b'{"format":"cognito-mfa-emulator-journal"')
    again = Harness(load_emulator(path, clock=clock))
    refreshed = again.ok(
        "InitiateAuth",
        AuthFlow="REFRESH_TOKEN_AUTH",
        ClientId=client_id,
        AuthParameters={"REFRESH_TOKEN": tokens["RefreshToken"]},
    )
    assert "AccessToken" in refreshed["AuthenticationResult"]
    assert "AuthenticationResult" in again.password_auth(client_id, "alice")
    again.emu.close()


def _as_version_1(state: dict[str, Any]) -> dict[str, Any]:
    """The layout earlier releases wrote (flat key, wire policy, origins on the user)."""
    revoked = {o["jti"]: o["revoked"] for o in state["origins"]}
    pools = []
    for pool in state["pools"]:
        old = {k: v for k, v in pool.items() if k not in ("key", "policy", "device_configuration")}
        old["kid"], old["key_pem"] = pool["key"]["kid"], pool["key"]["pem"]
        old["policy"] = {"MinimumLength": pool["policy"]["minimum_length"]}
        old["users"] = []
        for user in pool["users"]:
            old_user = {k: v for k, v in user.items() if not k.endswith("lockout")}
            old_user["mfa_failures"] = 0
            old_user["origins"] = revoked
            old["users"].append(old_user)
        pools.append(old)
    origins = {o["jti"]: o for o in state["origins"]}
    refresh = [
        {
            "key": r["digest"],
            "origin_jti": r["origin_jti"],
            "expires": r["expires"],
            "auth_time": r["auth_time"],
            "pool_id": origins[r["origin_jti"]]["pool_id"],
            "client_id": origins[r["origin_jti"]]["client_id"],
            "username": origins[r["origin_jti"]]["username"],
        }
        for r in state["refresh_tokens"]
    ]
    return {"version": 1, "region": state["region"], "pools": pools, "refresh_tokens": refresh}


def test_stray_temporary_files_are_removed_on_start(tmp_path: Path) -> None:
    path = tmp_path / "state.jsonl"
    load_emulator(path).close()
    stray = tmp_path / ".state.jsonl.abc123.tmp"
    stray.write_text("a half-written snapshot")
    unrelated = tmp_path / ".other.json.abc123.tmp"
    unrelated.write_text("not ours")
    load_emulator(path).close()
    assert sorted(p.name for p in tmp_path.iterdir()) == [unrelated.name, "state.jsonl"]


def test_a_failed_write_is_a_server_fault(tmp_path: Path, harness_for: HarnessFor) -> None:
    path = tmp_path / "state.jsonl"
    emulator = load_emulator(path)
    emulator.close()
    emulator.attach(_BrokenJournal())
    response = harness_for(emulator).raw("CreateUserPool", {"PoolName": "lost"})
    assert response.status == 500
    assert b"could not write its state file" in response.body


def test_changes_a_failed_write_lost_go_out_with_the_next(
    tmp_path: Path, harness_for: HarnessFor
) -> None:
    emulator = load_emulator(tmp_path / "state.jsonl")
    emulator.close()
    journal = _FlakyJournal()
    emulator.attach(journal)
    h = harness_for(emulator)
    assert h.raw("CreateUserPool", {"PoolName": "p"}).status == 500
    pool_id = emulator.to_state()["pools"][0]["id"]  # made, though not yet written
    h.client(pool_id)
    assert [key[0] for key in journal.keys] == ["pool", "client"]


class _FlakyJournal:
    def __init__(self) -> None:
        self.failed = False
        self.keys: list[Any] = []

    def record(self, changes: Any) -> None:
        if not self.failed:
            self.failed = True
            raise OSError("a passing fault")
        self.keys += [key for key, _ in changes]

    def needs_compaction(self) -> bool:
        return False

    def compact(self, region: str, records: Any) -> None:
        raise AssertionError("not reached")

    def close(self) -> None:
        pass


class _BrokenJournal:
    def record(self, changes: Any) -> None:
        raise OSError("disk full")

    def needs_compaction(self) -> bool:
        return False

    def compact(self, region: str, records: Any) -> None:
        raise AssertionError("not reached")

    def close(self) -> None:
        pass


def test_pruning_and_compaction_keep_the_file_bounded(tmp_path: Path) -> None:
    clock = FakeClock()
    path = tmp_path / "state.jsonl"
    emulator = load_emulator(path, clock=clock, fsync=False, compaction_min_bytes=16 * 1024)
    h = Harness(emulator)
    pool_id = h.pool()
    # one-hour refresh tokens: of twelve hours of sign-ins only the last hour's stay alive
    client_id, _ = h.client(
        pool_id, RefreshTokenValidity=1, TokenValidityUnits={"RefreshToken": "hours"}
    )
    h.user(pool_id, "alice")
    per_hour = 50
    for hour in range(12):
        if hour:
            h.emu.advance(3600)
        for _ in range(per_hour):
            h.password_auth(client_id, "alice")
    emulator.prune()
    live = emulator.plain_records()
    assert sum(key[0] == "refresh" for key, _ in live) == per_hour
    # bounded by the live state (plus what compaction allows to pile up), not by the 600
    # sign-ins made
    assert path.stat().st_size < 4 * len(json.dumps(live)) + 16 * 1024
    emulator.close()
    restored = reloaded(path, clock).to_state()
    assert len(restored["refresh_tokens"]) == per_hour
    assert restored == emulator.to_state()


_WRITER = textwrap.dedent(
    """
    import sys
    from cognito_mfa.testing._state_file import load_emulator
    emulator = load_emulator(sys.argv[1], compaction_ratio=0.5)
    target = "AWSCognitoIdentityProviderService."
    pool_id = sys.argv[2]
    if pool_id == "-":
        answer = emulator.handle(target + "CreateUserPool", b'{"PoolName": "load"}', signed=True)
        import json
        pool_id = json.loads(answer.body)["UserPool"]["Id"]
        print("pool", pool_id, flush=True)
    for number in range(1_000_000):
        name = f"user-{sys.argv[3]}-{number}"
        body = ('{"UserPoolId": "%s", "Username": "%s", "MessageAction": "SUPPRESS"}'
                % (pool_id, name)).encode()
        answer = emulator.handle(target + "AdminCreateUser", body, signed=True)
        if answer.status != 200:
            print("failed", answer.status, flush=True)
            break
        print("ok", name, flush=True)
    """
)


def _kill_mid_writes(path: Path, pool_id: str | None, round_number: int) -> tuple[str, list[str]]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    process = subprocess.Popen(
        [sys.executable, "-c", _WRITER, str(path), pool_id or "-", str(round_number)],
        stdout=subprocess.PIPE,
        env=env,
    )
    acknowledged: list[str] = []
    try:
        assert process.stdout is not None
        while len(acknowledged) < 300:
            line = process.stdout.readline().decode().split()
            assert line, "the writer stopped"
            if line[0] == "pool":
                pool_id = line[1]
            elif line[0] == "ok":
                acknowledged.append(line[1])
            else:
                pytest.fail(f"the writer failed: {line}")
        process.send_signal(signal.SIGKILL)  # it is appending (or compacting) right now
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
        process.wait()
        if process.stdout is not None:
            process.stdout.close()
    assert process.returncode == -signal.SIGKILL
    assert pool_id is not None
    return pool_id, acknowledged


def test_kill_9_mid_write_loses_nothing_acknowledged_and_leaves_no_stray_file(
    tmp_path: Path,
) -> None:
    path = tmp_path / "state.jsonl"
    pool_id: str | None = None
    acknowledged: list[str] = []
    for round_number in range(3):
        pool_id, created = _kill_mid_writes(path, pool_id, round_number)
        acknowledged += created
        restored = load_emulator(path)
        restored.close()
        assert sorted(p.name for p in tmp_path.iterdir()) == ["state.jsonl"]
    assert pool_id is not None
    h = Harness(load_emulator(path))
    for username in acknowledged:
        assert h.ok("AdminGetUser", UserPoolId=pool_id, Username=username)["Username"] == username
    h.emu.close()


def test_a_user_signs_in_after_a_restart(tmp_path: Path, harness_for: HarnessFor) -> None:
    clock = FakeClock()
    path = tmp_path / "state.jsonl"
    h = harness_for(load_emulator(path, clock=clock))
    pool_id = h.pool()
    client_id, _ = h.client(pool_id)
    h.user(pool_id, "alice")
    h.emu.close()
    again = harness_for(load_emulator(path, clock=clock))
    assert "AuthenticationResult" in again.srp_sign_in(pool_id, client_id, "alice", PASSWORD)
    again.emu.close()


def test_a_signing_key_rotation_is_persisted(tmp_path: Path) -> None:
    clock = FakeClock()
    path = tmp_path / "state.jsonl"
    emulator = load_emulator(path, clock=clock)
    h = Harness(emulator)
    pool_id = h.pool()
    client_id, _ = h.client(pool_id)
    h.user(pool_id, "alice")
    first = emulator.jwks(pool_id)
    assert first is not None
    old_kid = first["keys"][0]["kid"]
    h.srp_sign_in(pool_id, client_id, "alice")
    new_kid = emulator.rotate_signing_key(pool_id)
    assert_persisted(emulator, path, clock)
    served = reloaded(path, clock).jwks(pool_id)
    assert served is not None
    assert [key["kid"] for key in served["keys"]] == [new_kid, old_kid]
    emulator.retire_old_keys(pool_id)
    assert_persisted(emulator, path, clock)
    served = reloaded(path, clock).jwks(pool_id)
    assert served is not None
    assert [key["kid"] for key in served["keys"]] == [new_kid]
