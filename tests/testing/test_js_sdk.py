"""The official JavaScript SDK (amazon-cognito-identity-js 6.3.21) against the served emulator.

tests/js/drive.js signs in with SRP and answers SOFTWARE_TOKEN_MFA, SMS_MFA (code from
GET /_emulator/messages), SELECT_MFA_TYPE and MFA_SETUP (TOTP computed in Node), then tries a
wrong password; it prints one JSON object that is checked here. Its "devices" mode has the
SDK confirm, remember and sign in with its own device (DEVICE_SRP_AUTH), and hands device
credentials across in both directions between the SDK and the Python device client, and
between the SDK and the library itself (``confirm_device``, ``sign_in(device=...)``). The SDK
is installed from tests/js/package-lock.json (``npm ci --prefix tests/js``) on first use; the
test is skipped only where Node.js itself is absent.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aioboto3
import fronts
import httpx
import pytest
from conftest import Harness, over_http
from device_client import DeviceCredentials, World, access_claims, device_secret
from pydantic import SecretStr

import cognito_mfa as cm
from cognito_mfa.testing import EmulatorServer, Seeder

pytestmark = [pytest.mark.served, pytest.mark.node]

served_emulator = fronts.served_emulator  # the shared fixture

JS_DIR = Path(__file__).resolve().parent.parent / "js"
NODE = shutil.which("node")
SDK = JS_DIR / "node_modules" / "amazon-cognito-identity-js"
PASSWORD = "Correct-Horse-9"


def _skip_reason() -> str | None:
    # under CI=true a missing Node.js is a failure (the fixture below), never a skip
    if NODE is None and os.environ.get("CI") != "true":
        return "Node.js is not installed (node not on PATH)"
    return None


@pytest.fixture(scope="module", autouse=True)
def _javascript_sdk() -> None:
    """Install the pinned SDK when it is missing; a failed install fails the test."""
    if NODE is None and os.environ.get("CI") == "true":
        pytest.fail("Node.js is not installed (CI=true: it must be)")
    if NODE is None or SDK.is_dir():
        return
    npm = shutil.which("npm")
    assert npm is not None, "Node.js is installed without npm: cannot install the SDK"
    subprocess.run(
        [npm, "ci", "--prefix", str(JS_DIR), "--no-audit", "--no-fund"],
        check=True,
        capture_output=True,
        timeout=600,
    )


async def _seed(server: EmulatorServer) -> dict[str, Any]:
    session = aioboto3.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1"
    )
    async with session.client("cognito-idp", endpoint_url=server.url) as client:
        seeder = Seeder(client, clock=server.emulator.now)
        pool = await seeder.create_pool_and_client("js")
        totp_user = await seeder.create_user(
            pool, "totp-user", PASSWORD, totp=True, preferred="TOTP"
        )
        await seeder.create_user(pool, "sms-user", PASSWORD, phone="+15555550142", mfa=["SMS"])
        select_user = await seeder.create_user(
            pool, "select-user", PASSWORD, phone="+15555550143", totp=True, mfa=["SMS", "TOTP"]
        )
        await seeder.create_user(pool, "wrong-user", PASSWORD)
        setup_pool = await seeder.create_pool_and_client("js-required", mfa="ON", sms=False)
        await seeder.create_user(setup_pool, "setup-user", PASSWORD)
    return {
        "endpoint": server.url,
        "poolId": pool.pool_id,
        "clientId": pool.client_id,
        "setupPoolId": setup_pool.pool_id,
        "setupClientId": setup_pool.client_id,
        "users": {
            "totp": {
                "username": "totp-user",
                "password": PASSWORD,
                "totpSecret": totp_user.totp_secret,
            },
            "sms": {"username": "sms-user", "password": PASSWORD},
            "select": {
                "username": "select-user",
                "password": PASSWORD,
                "totpSecret": select_user.totp_secret,
            },
            "setup": {"username": "setup-user", "password": PASSWORD},
            "wrong": {"username": "wrong-user", "password": "Not-The-Password-1"},
        },
    }


def _drive(config: dict[str, Any]) -> dict[str, Any]:
    assert NODE is not None
    done = subprocess.run(
        [NODE, str(JS_DIR / "drive.js")],
        input=json.dumps(config).encode(),
        capture_output=True,
        cwd=JS_DIR,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr.decode()
    result: dict[str, Any] = json.loads(done.stdout)
    return result


@pytest.mark.skipif(_skip_reason() is not None, reason=_skip_reason() or "")
async def test_the_javascript_sdk_signs_in_with_every_mfa_challenge(
    served_emulator: EmulatorServer,
) -> None:
    config = await _seed(served_emulator)
    results = _drive(config)

    def signed_in(name: str, username: str, steps: list[str]) -> None:
        outcome = results[name]
        assert outcome["steps"] == steps, outcome
        assert outcome["result"] == "success", outcome
        assert outcome["username"] == username
        assert outcome["tokenUse"] == "access"

    signed_in("totp", "totp-user", ["totpRequired:SOFTWARE_TOKEN_MFA"])
    signed_in("sms", "sms-user", ["mfaRequired:SMS_MFA"])
    assert results["smsDelivery"]["medium"] == "SMS"
    assert results["smsDelivery"]["destination"].endswith("0142")
    assert results["smsDelivery"]["destination"] != "+15555550142"  # masked
    signed_in(
        "select",
        "select-user",
        ["selectMFAType:SELECT_MFA_TYPE", "totpRequired:SOFTWARE_TOKEN_MFA"],
    )
    assert sorted(results["selectChoices"]) == ["SMS_MFA", "SOFTWARE_TOKEN_MFA"]
    signed_in("setup", "setup-user", ["mfaSetup:MFA_SETUP"])
    assert "SOFTWARE_TOKEN_MFA" in results["setupChoices"]
    assert results["setupSecretLength"] == 52
    assert results["wrongPassword"] == {
        "steps": [],
        "result": "failure",
        "code": "NotAuthorizedException",
        "message": "Incorrect username or password.",
    }
    # The SMS code the SDK answered came from the outbox the emulator keeps.
    with served_emulator.lock:
        sent = [m for m in served_emulator.emulator.messages if m.username == "sms-user"]
    assert [m.medium for m in sent] == ["SMS"]


# --- remembered devices -------------------------------------------------------------------------


@pytest.fixture
def served_http(served_emulator: EmulatorServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=served_emulator.url) as client:
        yield client


def _python_device(world: World, username: str) -> DeviceCredentials:
    """Sign in with SMS MFA in Python, confirm and remember the new device."""
    step = world.password_step(username)
    assert step["ChallengeName"] == "SMS_MFA", step
    code = world.emu.last_code(username, "SMS")
    tokens = world.h.answer(world.client_id, step, USERNAME=username, SMS_MFA_CODE=code)[
        "AuthenticationResult"
    ]
    meta = tokens["NewDeviceMetadata"]
    creds, config = device_secret(meta["DeviceKey"], meta["DeviceGroupKey"])
    access = tokens["AccessToken"]
    confirmed = world.h.ok(
        "ConfirmDevice",
        AccessToken=access,
        DeviceKey=creds.key,
        DeviceName="python",
        DeviceSecretVerifierConfig=config,
    )
    assert confirmed == {"UserConfirmationNecessary": True}
    world.h.ok(
        "UpdateDeviceStatus",
        AccessToken=access,
        DeviceKey=creds.key,
        DeviceRememberedStatus="remembered",
    )
    return creds


@pytest.mark.skipif(_skip_reason() is not None, reason=_skip_reason() or "")
async def test_the_javascript_sdk_remembers_its_device_and_skips_mfa(
    served_emulator: EmulatorServer, served_http: httpx.Client
) -> None:
    """The SDK confirms and remembers its own device, then signs in with DEVICE_SRP_AUTH; a
    device made in Python works in the SDK and the SDK's device works in Python."""
    session = aioboto3.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1"
    )
    async with session.client("cognito-idp", endpoint_url=served_emulator.url) as client:
        seeder = Seeder(client, clock=served_emulator.emulator.now)
        pool = await seeder.create_pool_and_client("js-devices")
        js_user = await seeder.create_user(pool, "js-device-user", PASSWORD, totp=True)
        await seeder.create_user(
            pool, "py-device-user", PASSWORD, phone="+15555550144", mfa=["SMS"]
        )
        # a user-prompt pool: the SDK must remember its device itself
        await client.update_user_pool(
            UserPoolId=pool.pool_id,
            MfaConfiguration="OPTIONAL",
            DeviceConfiguration={
                "ChallengeRequiredOnNewDevice": True,
                "DeviceOnlyRememberedOnUserPrompt": True,
            },
        )
    world = World(
        Harness(served_emulator.emulator, over_http(served_http)),
        pool.pool_id,
        pool.client_id,
        PASSWORD,
    )
    python_made = _python_device(world, "py-device-user")
    results = _drive(
        {
            "mode": "devices",
            "endpoint": served_emulator.url,
            "poolId": pool.pool_id,
            "clientId": pool.client_id,
            "users": {
                "js": {
                    "username": "js-device-user",
                    "password": PASSWORD,
                    "totpSecret": js_user.totp_secret,
                },
                "py": {
                    "username": "py-device-user",
                    "password": PASSWORD,
                    "device": {
                        "deviceKey": python_made.key,
                        "deviceGroupKey": python_made.group_key,
                        "password": python_made.password,
                    },
                },
            },
        }
    )
    first = results["first"]
    assert first["steps"] == ["totpRequired:SOFTWARE_TOKEN_MFA"], first
    assert first["result"] == "success", first
    assert first["userConfirmationNecessary"] is True  # the SDK's own ConfirmDevice
    assert results["remember"] == {"result": "success", "status": "SUCCESS"}
    js_made = results["jsDevice"]
    assert js_made["deviceKey"] == first["deviceKey"]
    assert js_made["deviceGroupKey"] and js_made["password"]
    # signed in again: DEVICE_SRP_AUTH answered inside the SDK, no MFA callback
    again = results["again"]
    assert again["steps"] == [], again
    assert again["result"] == "success", again
    assert again["deviceKey"] == js_made["deviceKey"]
    # the Python device in the SDK
    assert results["pyDevice"]["steps"] == [], results["pyDevice"]
    assert results["pyDevice"]["result"] == "success", results["pyDevice"]
    assert results["pyDevice"]["deviceKey"] == python_made.key
    # the SDK's device in Python
    creds = DeviceCredentials(js_made["deviceKey"], js_made["deviceGroupKey"], js_made["password"])
    done = world.device_sign_in(creds, username="js-device-user")
    assert access_claims(done["AuthenticationResult"])["device_key"] == creds.key
    # the SDK named its device as it does under Node.js
    device = world.h.ok(
        "AdminGetDevice", UserPoolId=pool.pool_id, Username="js-device-user", DeviceKey=creds.key
    )["Device"]
    names = {a["Name"]: a["Value"] for a in device["DeviceAttributes"]}
    assert names["dev:device_remembered_status"] == "remembered"


@pytest.mark.skipif(_skip_reason() is not None, reason=_skip_reason() or "")
async def test_the_library_and_the_javascript_sdk_accept_each_others_devices(
    served_emulator: EmulatorServer,
) -> None:
    """A device confirmed by cognito_mfa (``confirm_device``) signs in through the SDK without
    MFA, and the SDK's own device signs in through ``pool.sign_in(device=...)``."""
    session = aioboto3.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1"
    )
    async with session.client("cognito-idp", endpoint_url=served_emulator.url) as client:
        seeder = Seeder(client, clock=served_emulator.emulator.now)
        pool = await seeder.create_pool_and_client("js-library-devices")
        js_user = await seeder.create_user(pool, "js-device-user", PASSWORD, totp=True)
        await seeder.create_user(
            pool, "lib-device-user", PASSWORD, phone="+15555550145", mfa=["SMS"]
        )
        await client.update_user_pool(
            UserPoolId=pool.pool_id,
            MfaConfiguration="OPTIONAL",
            DeviceConfiguration={
                "ChallengeRequiredOnNewDevice": True,
                "DeviceOnlyRememberedOnUserPrompt": True,
            },
        )

    def clock() -> datetime:
        with served_emulator.lock:
            return datetime.fromtimestamp(served_emulator.emulator.now(), UTC)

    async with cm.UserPool(
        pool.pool_id, pool.client_id, endpoint_url=served_emulator.url, clock=clock
    ) as library:
        flow = library.sign_in("lib-device-user", PASSWORD)
        async for challenge in flow:
            assert isinstance(challenge, cm.SmsMfaChallenge), challenge
            with served_emulator.lock:
                code = served_emulator.emulator.last_code("lib-device-user", "SMS")
            await challenge.answer(code)
        user = library.user(flow.tokens)
        made = await user.confirm_device(device_name="cognito-mfa")
        assert made.user_confirmation_necessary is True
        await user.remember_device()

        results = _drive(
            {
                "mode": "devices",
                "endpoint": served_emulator.url,
                "poolId": pool.pool_id,
                "clientId": pool.client_id,
                "users": {
                    "js": {
                        "username": "js-device-user",
                        "password": PASSWORD,
                        "totpSecret": js_user.totp_secret,
                    },
                    "py": {
                        "username": "lib-device-user",
                        "password": PASSWORD,
                        "device": {
                            "deviceKey": made.device_key,
                            "deviceGroupKey": made.device_group_key,
                            "password": made.device_password.get_secret_value(),
                        },
                    },
                },
            }
        )
        # the library's device in the SDK: DEVICE_SRP_AUTH answered there, no MFA callback
        assert results["pyDevice"]["steps"] == [], results["pyDevice"]
        assert results["pyDevice"]["result"] == "success", results["pyDevice"]
        assert results["pyDevice"]["deviceKey"] == made.device_key
        assert results["again"]["steps"] == [], results["again"]

        # the SDK's device in the library: no challenge yielded, tokens bound to it
        js_made = results["jsDevice"]
        creds = cm.DeviceCredentials(
            device_key=js_made["deviceKey"],
            device_group_key=js_made["deviceGroupKey"],
            device_password=SecretStr(js_made["password"]),
        )
        flow = library.sign_in("js-device-user", PASSWORD, device=creds)
        assert [challenge.challenge_name async for challenge in flow] == []
        assert flow.tokens.unverified_access_claims["device_key"] == creds.device_key
        refreshed = await library.refresh(flow.tokens)
        assert refreshed.device_key == creds.device_key
