"""The in-process front (respx) and the pytest fixtures built on it."""

from __future__ import annotations

import time
from typing import Any

import aioboto3
import anyio
import fronts
import httpx
import pyotp
import pytest
import respx

import cognito_mfa.testing
from cognito_mfa.testing import (
    EMULATOR_ENDPOINT,
    Emulator,
    EmulatorServer,
    SeededPool,
    Seeder,
    SentMessage,
    httpx_client_config,
    mount,
)

PASSWORD = "Correct-Horse-9"

served_emulator = fronts.served_emulator  # the shared fixture


def httpx_client(endpoint: str = EMULATOR_ENDPOINT) -> Any:
    session = aioboto3.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1"
    )
    return session.client(
        "cognito-idp",
        endpoint_url=endpoint,
        config=httpx_client_config(retries={"total_max_attempts": 1}),
    )


def test_public_names() -> None:
    assert sorted(cognito_mfa.testing.__all__) == [
        "EMULATOR_ENDPOINT",
        "Emulator",
        "EmulatorServer",
        "SeededPool",
        "SeededUser",
        "Seeder",
        "SentMessage",
        "WireResponse",
        "emulator_router",
        "httpx_client_config",
        "load_emulator",
        "mount",
        "write_state_atomically",
    ]
    for name in cognito_mfa.testing.__all__:
        assert getattr(cognito_mfa.testing, name) is not None


async def test_routes_on_the_target_header_and_records_calls() -> None:
    emulator = Emulator()
    with mount(emulator) as router:
        async with httpx_client() as client:
            pool_id = await Seeder(client).create_pool()
        targets = [call.request.headers["x-amz-target"] for call in router.calls]
    assert emulator.jwks(pool_id) is not None
    assert targets == [
        "AWSCognitoIdentityProviderService.CreateUserPool",
        "AWSCognitoIdentityProviderService.SetUserPoolMfaConfig",
    ]


async def test_other_regions_hosts_are_answered_too() -> None:
    emulator = Emulator()
    with mount(emulator):
        async with httpx_client("https://cognito-idp.eu-west-1.amazonaws.com") as client:
            await Seeder(client).create_pool()


async def test_unrelated_traffic_passes_through(served_emulator: EmulatorServer) -> None:
    mounted = Emulator()
    with mount(mounted) as router:
        # A Cognito request to a loopback server is not the mounted emulator's business.
        # (aioboto3's default aiohttp session: respx cannot rebuild the URL of an aiobotocore
        # httpx request to an endpoint with a port, see the mock module's docstring.)
        session = aioboto3.Session(
            aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1"
        )
        async with session.client("cognito-idp", endpoint_url=served_emulator.url) as client:
            pool_id = await Seeder(client).create_pool()
        # A Cognito-shaped request to another host passes through too.
        async with httpx.AsyncClient(base_url=served_emulator.url) as http:
            created = await http.post(
                "/",
                content=b'{"PoolName": "elsewhere"}',
                headers={
                    "X-Amz-Target": "AWSCognitoIdentityProviderService.CreateUserPool",
                    "Authorization": "AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/"
                    "cognito-idp/aws4_request, SignedHeaders=host, Signature=00",
                },
            )
            other_pool = created.json()["UserPool"]["Id"]
        async with httpx.AsyncClient() as http:
            messages = await http.get(f"{served_emulator.url}/_emulator/messages")
        passed_through = all(call.optional_response is None for call in router.calls)
    assert messages.json() == []
    assert passed_through
    with served_emulator.lock:
        assert served_emulator.emulator.jwks(pool_id) is not None
        assert served_emulator.emulator.jwks(other_pool) is not None
    assert mounted.jwks(pool_id) is None
    assert mounted.jwks(other_pool) is None


async def test_pass_through_can_be_refused() -> None:
    with mount(Emulator(), pass_through=False):
        async with httpx.AsyncClient() as http:
            with pytest.raises(respx.models.AllMockedAssertionError):
                await http.get("http://127.0.0.1:9/elsewhere")


async def test_injected_delay_is_an_async_sleep() -> None:
    emulator = Emulator()
    with mount(emulator):
        async with httpx_client() as client:
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


def test_sync_httpx_reads_the_jwks_and_outbox() -> None:
    emulator = Emulator()
    with mount(emulator), httpx.Client() as http:
        assert http.get(f"{EMULATOR_ENDPOINT}/_emulator/messages").json() == []
        assert (
            http.get(f"{EMULATOR_ENDPOINT}/us-east-1_Nope/.well-known/jwks.json").status_code == 404
        )


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
