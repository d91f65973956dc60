"""The example web app's lifetimes: read from the app client at start-up (its
AuthSessionValidity for a sign-in in progress, its refresh token validity for the token
cookies), Cognito's defaults said once when the credentials may not read them, and the
cookies' Max-Age following what was read. In-process, on the emulator's fixtures; the
command's own start-up is walked in test_webdemo.py."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from cognito_mfa.webdemo import create_app
from cognito_mfa.webdemo.serve import Lifetimes, read_lifetimes
from test_client_settings import _client, _pool

import cognito_mfa as cm
from cognito_mfa.testing import EMULATOR_ENDPOINT
from cognito_mfa.testing.inprocess import emulator_app
from cognito_mfa.testing.seed import SeededPool
from cognito_mfa.web import DEFAULT_TTL, AppKey, WebSignIn

THIRTY_DAYS = 30 * 24 * 3600


async def test_the_lifetimes_are_the_app_clients(
    cognito_client: Any, cognito_pool: SeededPool, cognito_client_config: Any
) -> None:
    seeded = await _client(
        cognito_client,
        cognito_pool.pool_id,
        AuthSessionValidity=15,
        RefreshTokenValidity=12,
        TokenValidityUnits={"RefreshToken": "hours"},
    )
    said: list[str] = []
    pool = _pool(seeded, cognito_client_config)
    lifetimes = await read_lifetimes(pool, said.append)
    assert lifetimes == Lifetimes(sign_in=900.0, tokens=12 * 3600)
    assert said == [
        f"app client {seeded.client_id}: sign-ins are kept 900 s (AuthSessionValidity), "
        "token cookies 43200 s (refresh token validity)"
    ]
    assert not pool.is_open  # opened for the reading only


@pytest.mark.parametrize(
    "error", ["AccessDeniedException", "NotAuthorizedException", "UnrecognizedClientException"]
)
async def test_refused_credentials_leave_the_defaults_said_once(
    error: str, cognito_pool: SeededPool, cognito_client_config: Any, cognito_emulator: Any
) -> None:
    cognito_emulator.inject_fault("DescribeUserPoolClient", error=error, message="not allowed")
    said: list[str] = []
    lifetimes = await read_lifetimes(_pool(cognito_pool, cognito_client_config), said.append)
    assert lifetimes == Lifetimes(sign_in=DEFAULT_TTL, tokens=THIRTY_DAYS)
    assert len(said) == 1
    assert said[0].startswith("the app client's settings could not be read (")
    assert said[0].endswith("sign-ins are kept 180 s and token cookies 30 days, Cognito's defaults")


async def test_no_credentials_leave_the_defaults(
    cognito_pool: SeededPool, cognito_client_config: Any, no_aws_credentials: None
) -> None:
    said: list[str] = []
    pool = _pool(
        cognito_pool, cognito_client_config, aws_access_key_id=None, aws_secret_access_key=None
    )
    assert await read_lifetimes(pool, said.append) == Lifetimes()
    assert said == [
        "the app client's settings could not be read (CredentialsRequired): sign-ins are kept "
        "180 s and token cookies 30 days, Cognito's defaults"
    ]


async def test_a_missing_client_is_not_taken_for_a_refusal(
    cognito_pool: SeededPool, cognito_client_config: Any
) -> None:
    said: list[str] = []
    missing = SeededPool(cognito_pool.pool_id, "nosuchclient123")
    with pytest.raises(cm.ResourceNotFound):
        await read_lifetimes(_pool(missing, cognito_client_config), said.append)
    assert said == []


async def test_the_cookies_live_as_long_as_the_lifetimes_read(
    cognito_client: Any,
    cognito_pool: SeededPool,
    cognito_user_factory: Any,
    cognito_emulator: Any,
    cognito_client_config: Any,
) -> None:
    seeded = await _client(
        cognito_client,
        cognito_pool.pool_id,
        AuthSessionValidity=6,
        RefreshTokenValidity=2,
        TokenValidityUnits={"RefreshToken": "days"},
    )
    lifetimes = await read_lifetimes(_pool(seeded, cognito_client_config), lambda _: None)
    sms_user = await cognito_user_factory(phone="+15555550100", mfa=["SMS"], preferred="SMS")
    plain_user = await cognito_user_factory()
    async with (
        _pool(seeded, cognito_client_config) as pool,
        httpx.AsyncClient(transport=httpx.ASGITransport(emulator_app(cognito_emulator))) as keys,
    ):
        verifier = cm.TokenVerifier(
            pool.pool_id,
            client_id=pool.client_id,
            jwks_url=f"{EMULATOR_ENDPOINT}/{pool.pool_id}/.well-known/jwks.json",
            http_client=keys,
        )
        sign_in = WebSignIn(pool, AppKey(b"k" * 32), ttl=lifetimes.sign_in)
        app = create_app(sign_in, verifier, secure_cookies=False, session_max_age=lifetimes.tokens)
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app), base_url="http://testserver"
        ) as browser:
            home = await browser.get("/")
            match = re.search(r'name=csrf value="([^"]+)"', home.text)
            assert match, home.text
            csrf = match.group(1)

            def max_ages(response: httpx.Response) -> dict[str, int]:
                ages: dict[str, int] = {}
                for header in response.headers.get_list("set-cookie"):
                    name = header.split("=", 1)[0]
                    age = re.search(r"Max-Age=(\d+)", header, re.IGNORECASE)
                    if age:
                        ages[name] = int(age.group(1))
                return ages

            started = await browser.post(
                "/sign-in",
                data={"csrf": csrf, "username": sms_user.username, "password": sms_user.password},
            )
            assert max_ages(started)["demo_sign_in"] == 6 * 60
            browser.cookies.clear()
            browser.cookies.set("demo_csrf", csrf)
            done = await browser.post(
                "/sign-in",
                data={
                    "csrf": csrf,
                    "username": plain_user.username,
                    "password": plain_user.password,
                },
            )
            assert done.status_code == 303, done.text
            ages = max_ages(done)
            for name in ("demo_id", "demo_access", "demo_refresh"):
                assert ages[name] == 2 * 86400, (name, ages)


@pytest.mark.served
def test_the_command_stops_when_the_client_does_not_exist(
    cognito_server: Any, cognito_pool: SeededPool, monkeypatch: pytest.MonkeyPatch
) -> None:
    import io

    from cognito_mfa.cli import Console, main

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")  # the served emulator takes any
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("COGNITO_MFA_APP_KEY", AppKey.generate())
    flags = ["--endpoint-url", cognito_server.url, "--pool-id", cognito_pool.pool_id]
    stdout, stderr = io.StringIO(), io.StringIO()
    status = main(
        ["web-demo", "--port", "0", *flags, "--client-id", "nosuchclient123"],
        Console(io.StringIO(), stdout, stderr),
    )
    assert status == 1, (stdout.getvalue(), stderr.getvalue())
    assert stdout.getvalue().startswith(
        "error: the app client's settings could not be read: ResourceNotFound: "
    ), stdout.getvalue()
