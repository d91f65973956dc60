"""The in-process way in (httpx.ASGITransport), the deprecated respx shim, and the fixtures."""

from __future__ import annotations

import gc
import socket
import subprocess
import sys
import time
import warnings
import weakref
from typing import Any
from urllib.parse import urlsplit

import aioboto3
import anyio
import fronts
import httpx
import pyotp
import pytest
import respx
from aiobotocore.config import AioConfig
from aiobotocore.httpxsession import HttpxSession

import cognito_mfa as cm
import cognito_mfa.testing
from cognito_mfa.testing import (
    EMULATOR_ENDPOINT,
    Emulator,
    EmulatorServer,
    SeededPool,
    Seeder,
    SentMessage,
    emulator_client,
    httpx_client_config,
    mount,
)

PASSWORD = "Correct-Horse-9"

served_emulator = fronts.served_emulator  # the shared fixture


def test_public_names() -> None:
    assert sorted(cognito_mfa.testing.__all__) == [
        "EMULATOR_ENDPOINT",
        "Emulator",
        "EmulatorApp",
        "EmulatorServer",
        "SeededPool",
        "SeededUser",
        "Seeder",
        "SentMessage",
        "WireResponse",
        "emulator_client",
        "emulator_router",
        "httpx_client_config",
        "load_emulator",
        "mount",
        "write_state_atomically",
    ]
    for name in cognito_mfa.testing.__all__:
        assert getattr(cognito_mfa.testing, name) is not None


def test_the_endpoint_is_not_a_real_host() -> None:
    host = urlsplit(EMULATOR_ENDPOINT).hostname
    assert host == "cognito-idp.emulator.invalid"
    assert "amazonaws" not in EMULATOR_ENDPOINT


@pytest.fixture
def no_sockets(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Any attempt to connect a socket fails the test (and is recorded)."""
    attempts: list[Any] = []

    def refuse(self: socket.socket, address: Any) -> None:
        attempts.append(address)
        raise AssertionError(f"a socket connected to {address!r}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    return attempts


async def test_a_pool_signs_in_in_process_without_any_socket(
    no_sockets: list[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    # no credentials anywhere: botocore's search for them must not try the network either
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("AWS_EC2_METADATA_DISABLED", raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
    emulator = Emulator()
    async with emulator_client(emulator) as client:
        seeder = Seeder(client, clock=emulator.now)
        seeded = await seeder.create_pool_and_client()
        await seeder.create_user(seeded, "alice", PASSWORD)
    async with cm.UserPool(
        seeded.pool_id,
        seeded.client_id,
        endpoint_url=EMULATOR_ENDPOINT,
        botocore_config=httpx_client_config(emulator),
        # no credentials: botocore must not go looking for any (instance metadata is a socket)
    ) as pool:
        flow = pool.sign_in("alice", PASSWORD)
        assert [c async for c in flow] == []
        assert flow.session.username == "alice"
    assert no_sockets == []


@pytest.mark.parametrize(
    "config",
    [None, AioConfig(), AioConfig(http_session_cls=HttpxSession)],
    ids=["no-config", "aiohttp", "plain-httpx"],
)
async def test_a_pool_on_the_endpoint_without_the_transport_fails_at_once(
    config: AioConfig | None, no_sockets: list[Any]
) -> None:
    with pytest.raises(cm.InvalidInput) as info:
        cm.UserPool(
            "us-east-1_Abc123", "client", endpoint_url=EMULATOR_ENDPOINT, botocore_config=config
        )
    message = str(info.value)
    assert "botocore_config" in message and "httpx_client_config(emulator)" in message
    assert no_sockets == []


async def test_the_transport_reaches_only_its_own_emulator() -> None:
    one, other = Emulator(), Emulator()
    async with emulator_client(one) as client:
        pool_id = await Seeder(client).create_pool()
    assert one.jwks(pool_id) is not None
    assert other.jwks(pool_id) is None


async def test_injected_delay_is_an_async_sleep() -> None:
    emulator = Emulator()
    async with emulator_client(emulator) as client:
        emulator.inject_fault("CreateUserPool", error=None, delay=60.0)
        # A cancel scope cuts the delay short: nothing blocks the event loop.
        with pytest.raises(TimeoutError):
            with anyio.fail_after(0.05):
                await client.create_user_pool(PoolName="slow")
        emulator.inject_fault("CreateUserPool", error=None, delay=0.1)
        started = time.monotonic()
        created = await client.create_user_pool(PoolName="slow")
        assert time.monotonic() - started >= 0.1
        assert created["UserPool"]["Id"]


# -- the deprecated respx shim ---------------------------------------------------------------


def _old_style_client(endpoint: str = EMULATOR_ENDPOINT) -> Any:
    session = aioboto3.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1"
    )
    with pytest.warns(DeprecationWarning, match="httpx_client_config"):
        config = httpx_client_config(retries={"total_max_attempts": 1})
    return session.client("cognito-idp", endpoint_url=endpoint, config=config)


@pytest.mark.parametrize(
    "endpoint", [EMULATOR_ENDPOINT, "https://cognito-idp.eu-west-1.amazonaws.com"]
)
async def test_mount_still_answers_old_style_clients_and_logs_nothing(endpoint: str) -> None:
    emulator = Emulator()
    with pytest.warns(DeprecationWarning, match="mount"), mount(emulator) as router:
        async with _old_style_client(endpoint) as client:
            pool_id = await Seeder(client).create_pool()
        assert len(router.calls) == 0  # no request or response (passwords, tokens) is kept
    assert emulator.jwks(pool_id) is not None


async def test_mount_refuses_other_traffic_by_default() -> None:
    with pytest.warns(DeprecationWarning), mount(Emulator()):
        async with httpx.AsyncClient() as http:
            with pytest.raises(respx.models.AllMockedAssertionError):
                await http.get("http://127.0.0.1:9/elsewhere")


async def test_mount_passes_other_traffic_through_only_when_asked(
    served_emulator: EmulatorServer,
) -> None:
    with pytest.warns(DeprecationWarning), mount(Emulator(), pass_through=True):
        async with httpx.AsyncClient() as http:
            messages = await http.get(f"{served_emulator.url}/_emulator/messages")
    assert messages.json() == []


def test_mount_answers_sync_httpx_for_the_jwks_and_outbox() -> None:
    emulator = Emulator()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        with mount(emulator), httpx.Client() as http:
            assert http.get(f"{EMULATOR_ENDPOINT}/_emulator/messages").json() == []
            jwks = http.get(f"{EMULATOR_ENDPOINT}/us-east-1_Nope/.well-known/jwks.json")
            assert jwks.status_code == 404


# -- the pytest plugin's fixtures ------------------------------------------------------------


async def test_fixtures_seed_a_pool_and_users(
    cognito_emulator: Emulator,
    cognito_client: Any,
    cognito_pool: SeededPool,
    cognito_user_factory: Any,
    cognito_outbox: list[SentMessage],
) -> None:
    described = await cognito_client.get_user_pool_mfa_config(UserPoolId=cognito_pool.pool_id)
    assert described["MfaConfiguration"] == "OPTIONAL"
    assert described["SoftwareTokenMfaConfiguration"] == {"Enabled": True}
    assert "SmsMfaConfiguration" in described and "EmailMfaConfiguration" in described

    plain = await cognito_user_factory()
    assert plain.username == "user1" and plain.totp_secret is None
    with_totp = await cognito_user_factory(
        "tina", phone="+15555550126", totp=True, preferred="TOTP"
    )
    assert with_totp.totp_secret is not None

    started = await cognito_client.initiate_auth(
        AuthFlow="USER_PASSWORD_AUTH",
        ClientId=cognito_pool.client_id,
        AuthParameters={"USERNAME": "tina", "PASSWORD": with_totp.password},
    )
    assert started["ChallengeName"] == "SOFTWARE_TOKEN_MFA"
    code = pyotp.TOTP(with_totp.totp_secret).at(int(cognito_emulator.now()))
    done = await cognito_client.respond_to_auth_challenge(
        ClientId=cognito_pool.client_id,
        ChallengeName="SOFTWARE_TOKEN_MFA",
        Session=started["Session"],
        ChallengeResponses={"USERNAME": "tina", "SOFTWARE_TOKEN_MFA_CODE": code},
    )
    assert "AccessToken" in done["AuthenticationResult"]

    sms = await cognito_user_factory("sam", phone="+15555550127", mfa=["SMS"])
    await cognito_client.initiate_auth(
        AuthFlow="USER_PASSWORD_AUTH",
        ClientId=cognito_pool.client_id,
        AuthParameters={"USERNAME": sms.username, "PASSWORD": sms.password},
    )
    assert [(m.username, m.medium) for m in cognito_outbox] == [("sam", "SMS")]
    assert cognito_outbox[-1].code == cognito_emulator.last_code("sam")


async def test_seeded_secrets_stay_out_of_reprs(cognito_user_factory: Any) -> None:
    user = await cognito_user_factory(totp=True)
    assert user.password not in repr(user)
    assert user.totp_secret not in repr(user)


async def test_cognito_server_serves_the_fixtures_emulator(
    cognito_server: EmulatorServer,
    cognito_emulator: Emulator,
    cognito_pool: SeededPool,
    cognito_user_factory: Any,
) -> None:
    assert cognito_server.emulator is cognito_emulator
    user = await cognito_user_factory("served", totp=True)
    async with httpx.AsyncClient(base_url=cognito_server.url) as http:
        totp = await http.get(
            "/_emulator/totp", params={"pool_id": cognito_pool.pool_id, "username": "served"}
        )
    assert totp.status_code == 200
    assert totp.json()["code"] == pyotp.TOTP(user.totp_secret).at(int(totp.json()["now"]))
    async with cm.UserPool(
        cognito_pool.pool_id, cognito_pool.client_id, endpoint_url=cognito_server.url
    ) as pool:
        flow = pool.sign_in("served", user.password)
        async for challenge in flow:
            assert challenge.challenge_name == "SOFTWARE_TOKEN_MFA"
            with cognito_server.lock:
                cognito_emulator.advance(30)  # the seeding code's step is spent
                code = cognito_emulator.totp_code(cognito_pool.pool_id, "served")
            await challenge.answer(code)  # type: ignore[attr-defined]
        assert flow.session.username == "served"


def test_importing_the_library_imports_none_of_the_emulators_packages() -> None:
    """A production service installs cognito-mfa without the ``emulator`` extra."""
    probe = (
        "import sys, cognito_mfa; "
        "print(sorted(m for m in ('jwt', 'cryptography', 'uvicorn', 'respx', "
        "'cognito_mfa.testing') if m in sys.modules))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    assert done.stdout.strip() == "[]"


async def test_an_emulator_reached_in_process_is_freed_afterwards() -> None:
    emulator = Emulator()
    async with emulator_client(emulator) as client:
        await Seeder(client).create_pool()
    gone = weakref.ref(emulator)
    del emulator, client
    gc.collect()
    assert gone() is None
