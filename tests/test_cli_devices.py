"""The command line's remembered devices: ``sign-in --device-file --remember``, ``devices``."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import aioboto3
import anyio
from test_cli import PASSWORD, pool_args, run_cli, seed, totp_now

from cognito_mfa.testing.seed import SeededPool
from cognito_mfa.testing.server import EmulatorServer


def _track_devices(server: EmulatorServer, pool: SeededPool) -> None:
    async def _update() -> None:
        async with aioboto3.Session().client(
            "cognito-idp",
            region_name="us-east-1",
            endpoint_url=server.url,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        ) as client:
            await client.update_user_pool(
                UserPoolId=pool.pool_id,
                MfaConfiguration="OPTIONAL",
                DeviceConfiguration={"ChallengeRequiredOnNewDevice": True},
            )

    anyio.run(_update)


def test_remember_then_sign_in_without_mfa_list_and_forget(
    cognito_server: EmulatorServer, tmp_path: Path
) -> None:
    pool, user = seed(cognito_server, totp=True, preferred="TOTP")
    _track_devices(cognito_server, pool)
    cognito_server.emulator.advance(30)
    device_file, tokens = tmp_path / "device.json", tmp_path / "tokens.json"
    args = [*pool_args(cognito_server, pool), "--device-file", str(device_file)]

    status, out, err = run_cli(
        ["sign-in", *args, "--remember", "--device-name", "laptop"],
        [PASSWORD, totp_now(cognito_server, user)],
    )
    assert status == 0, err
    assert "device remembered" in out
    assert stat.S_IMODE(device_file.stat().st_mode) == 0o600
    stored = json.loads(device_file.read_text())
    assert stored["device_password"] not in out + err

    # the remembered device: no code is asked (only the password is read)
    status, out, err = run_cli(["sign-in", *args, "--tokens-file", str(tokens)], [PASSWORD])
    assert status == 0, err
    assert "signed in as alice" in out
    assert "Code" not in err

    status, out, err = run_cli(
        ["devices", "list", *pool_args(cognito_server, pool), "--tokens-file", str(tokens)], []
    )
    assert status == 0, err
    assert stored["device_key"] in out and "laptop" in out and "remembered" in out

    status, out, err = run_cli(
        [
            "devices",
            "forget",
            *pool_args(cognito_server, pool),
            "--tokens-file",
            str(tokens),
            "--device-file",
            str(device_file),
        ],
        [],
    )
    assert status == 0, err
    assert "forgotten" in out
    assert not device_file.exists()


def test_a_forgotten_device_file_signs_in_with_mfa(
    cognito_server: EmulatorServer, tmp_path: Path
) -> None:
    pool, user = seed(cognito_server, totp=True, preferred="TOTP")
    _track_devices(cognito_server, pool)
    cognito_server.emulator.advance(30)
    device_file = tmp_path / "device.json"
    args = [*pool_args(cognito_server, pool), "--device-file", str(device_file)]
    status, _, err = run_cli(
        ["sign-in", *args, "--remember"], [PASSWORD, totp_now(cognito_server, user)]
    )
    assert status == 0, err
    stored = json.loads(device_file.read_text())
    cognito_server.emulator.advance(30)
    status, _, err = run_cli(
        ["devices", "forget", *pool_args(cognito_server, pool), stored["device_key"]],
        [PASSWORD, totp_now(cognito_server, user)],
    )
    assert status == 0, err
    assert device_file.exists()  # not named: the file is left alone
    cognito_server.emulator.advance(30)
    status, out, err = run_cli(
        ["sign-in", *args, "--remember"], [PASSWORD, totp_now(cognito_server, user)]
    )
    assert status == 0, err
    assert "no longer known" in err
    assert "device remembered" in out
    assert json.loads(device_file.read_text())["device_key"] != stored["device_key"]


def test_device_file_errors_are_one_line(cognito_server: EmulatorServer, tmp_path: Path) -> None:
    pool, _ = seed(cognito_server)
    bad = tmp_path / "device.json"
    bad.write_text("not json")
    status, _, err = run_cli(["sign-in", *pool_args(cognito_server, pool), "--remember"], [])
    assert status == 1 and "--remember needs --device-file" in err
    status, _, err = run_cli(
        ["sign-in", *pool_args(cognito_server, pool), "--device-file", str(bad)], []
    )
    assert status == 1 and "does not hold device credentials" in err
    status, _, err = run_cli(["devices", "forget", *pool_args(cognito_server, pool)], [])
    assert status == 1 and "name the device" in err
