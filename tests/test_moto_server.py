"""TOTP enrolment against moto's server mode (issue 11, finding 8).

Many users test against moto; its AssociateSoftwareToken returns a fixed 12-character secret,
which this library used to refuse as "not base32". The test starts ``moto_server`` on a free
loopback port (with moto's TOTP checking switched on, so a wrong code is refused), seeds a pool
through the AWS admin API, then enrols an authenticator through this library's client and signs
in with it.

moto is a dev dependency (``moto[server]``). Without it the test skips with the reason, except
under CI=true, where it fails.
"""

from __future__ import annotations

import importlib.util
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator

import aioboto3
import pytest
from pydantic import SecretStr

import cognito_mfa as cm

PASSWORD = "Correct-Horse-9!"
CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture
def moto_url() -> Iterator[str]:
    if importlib.util.find_spec("moto.server") is None or importlib.util.find_spec("flask") is None:
        if os.environ.get("CI") == "true":
            pytest.fail("moto[server] is not installed (it is in the dev extra)")
        pytest.skip("moto[server] is not installed: pip install 'moto[server]'")
    port = _free_port()
    env = {**os.environ, "MOTO_COGNITO_IDP_USER_POOL_ENABLE_TOTP": "true"}
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                pytest.fail(f"moto_server exited with {process.returncode}")
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail("moto_server did not start within 60 s")
                time.sleep(0.1)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


async def test_totp_enrolment_and_sign_in_against_moto(moto_url: str) -> None:
    session = aioboto3.Session(region_name="us-east-1", **CREDENTIALS)
    async with session.client("cognito-idp", endpoint_url=moto_url) as admin:
        pool_id = (await admin.create_user_pool(PoolName="moto", MfaConfiguration="OPTIONAL"))[
            "UserPool"
        ]["Id"]
        await admin.set_user_pool_mfa_config(
            UserPoolId=pool_id,
            SoftwareTokenMfaConfiguration={"Enabled": True},
            MfaConfiguration="OPTIONAL",
        )
        client_id = (
            await admin.create_user_pool_client(
                UserPoolId=pool_id,
                ClientName="app",
                ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
            )
        )["UserPoolClient"]["ClientId"]
        await admin.admin_create_user(
            UserPoolId=pool_id, Username="alice", MessageAction="SUPPRESS"
        )
        await admin.admin_set_user_password(
            UserPoolId=pool_id, Username="alice", Password=PASSWORD, Permanent=True
        )

    async with cm.UserPool(pool_id, client_id, endpoint_url=moto_url, **CREDENTIALS) as pool:
        flow = pool.sign_in("alice", SecretStr(PASSWORD), auth_flow="USER_PASSWORD_AUTH")
        async for challenge in flow:
            raise AssertionError(f"no MFA yet, got {challenge.challenge_name}")
        user = pool.user(flow.session)

        secret = await user.associate_software_token()
        assert len(secret.secret_code.get_secret_value()) == 12  # moto's fixed secret
        assert "otpauth://totp/" in secret.provisioning_uri("alice", "moto")
        code = secret.now_code()
        wrong = f"{(int(code) + 500_000) % 1_000_000:06d}"
        with pytest.raises(cm.CodeMismatch):
            await user.verify_software_token(wrong, friendly_device_name="phone")
        await user.verify_software_token(code, friendly_device_name="phone")
        await user.set_user_mfa_preference(
            software_token=cm.MfaSettings(enabled=True, preferred=True)
        )

        flow = pool.sign_in("alice", SecretStr(PASSWORD), auth_flow="USER_PASSWORD_AUTH")
        challenge = await anext(aiter(flow))
        assert isinstance(challenge, cm.SoftwareTokenMfaChallenge)
        await challenge.answer(secret.now_code())
        assert flow.done
        assert flow.session.access_token.get_secret_value()
