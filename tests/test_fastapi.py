"""cognito_mfa.fastapi: the JSON API over httpx's ASGI transport and the in-process emulator,
every challenge path and every error status."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx
import pyotp
from fastapi import FastAPI

import cognito_mfa as cm
import cognito_mfa.web as web
from cognito_mfa.fastapi import CSRF_HEADER, auth_router
from cognito_mfa.testing import EMULATOR_ENDPOINT
from cognito_mfa.testing.inprocess import emulator_app
from cognito_mfa.testing.seed import SeededPool, SeededUser

KEY = web.AppKey(b"f" * 32)
PHONE = "+15555550100"
STRONG = "Brand-New-Horse-7"


@asynccontextmanager
async def api(
    emulator: Any, config: Any, seeded: SeededPool, **pool_options: Any
) -> AsyncIterator[httpx.AsyncClient]:
    """A FastAPI app with the router, over a pool on the emulator; a client with its CSRF
    token. https: httpx keeps Secure cookies only for https URLs."""
    async with (
        cm.UserPool(
            seeded.pool_id,
            seeded.client_id,
            endpoint_url=EMULATOR_ENDPOINT,
            botocore_config=config,
            **pool_options,
        ) as pool,
        httpx.AsyncClient(transport=httpx.ASGITransport(emulator_app(emulator))) as jwks_http,
    ):
        verifier = cm.TokenVerifier(
            seeded.pool_id,
            client_id=seeded.client_id,
            jwks_url=f"{EMULATOR_ENDPOINT}/{seeded.pool_id}/.well-known/jwks.json",
            http_client=jwks_http,
            clock=emulator.now,
            jwks_cache=cm.JwksCache(
                f"https://cognito-idp.{seeded.region}.amazonaws.com/{seeded.pool_id}",
                f"{EMULATOR_ENDPOINT}/{seeded.pool_id}/.well-known/jwks.json",
            ),
        )
        app = FastAPI()
        app.include_router(auth_router(web.WebSignIn(pool, KEY), verifier, totp_issuer="Test"))
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app), base_url="https://testserver"
        ) as client:
            token = (await client.get("/auth/csrf")).json()["csrf_token"]
            client.headers[CSRF_HEADER] = token
            yield client


def _problem(response: httpx.Response, status: int, slug: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert body["status"] == status and body["type"] == web.PROBLEM_TYPE_BASE + slug
    assert body["title"] and body["detail"]
    return body


async def _login(client: httpx.AsyncClient, user: SeededUser) -> dict[str, Any]:
    response = await client.post(
        "/auth/login", json={"username": user.username, "password": user.password}
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def _signed_in(client: httpx.AsyncClient, username: str) -> None:
    me = await client.get("/auth/me")
    assert me.status_code == 200, me.text
    assert me.json()["username"] == username
    assert me.json()["claims"]["token_use"] == "access"


def _wrong(code: str) -> str:
    return "000000" if code != "000000" else "111111"


# --- every challenge path --------------------------------------------------------------------


async def test_totp_sign_in_me_and_logout(
    cognito_emulator: Any,
    cognito_client_config: Any,
    cognito_pool: SeededPool,
    cognito_user_factory: Any,
) -> None:
    user = await cognito_user_factory(totp=True, mfa=["TOTP"], preferred="TOTP")
    cognito_emulator.advance(30)  # past the enrolment's TOTP step: codes are single-use
    async with api(cognito_emulator, cognito_client_config, cognito_pool) as client:
        started = await _login(client, user)
        assert started == {
            "status": "challenge",
            "challenge": {"name": "SOFTWARE_TOKEN_MFA", "friendly_device_name": None,
                          "code_length": 6},
        }  # fmt: skip
        cookie = client.cookies.jar
        (handle,) = [c for c in cookie if c.name == "cm_sign_in"]
        assert handle.secure and handle.path == "/auth" and handle.has_nonstandard_attr("HttpOnly")
        code = user.totp_code(cognito_emulator.now())
        wrong = await client.post("/auth/login/answer", json={"code": _wrong(code)})
        body = _problem(wrong, 401, "wrong-code")
        assert body["sign_in_open"] is True and body["challenge"]["name"] == "SOFTWARE_TOKEN_MFA"
        done = await client.post("/auth/login/answer", json={"code": code})
        assert done.json() == {"status": "signed_in"}
        set_cookies = done.headers.get_list("set-cookie")
        access = next(c for c in set_cookies if c.startswith("cm_access="))
        for attribute in ("HttpOnly", "Secure", "SameSite=strict"):
            assert attribute in access
        assert "cm_sign_in" not in client.cookies
        await _signed_in(client, user.username)
        out = await client.post("/auth/logout")
        assert out.json() == {"status": "signed_out"}
        assert "cm_access" not in client.cookies
        _problem(await client.get("/auth/me"), 401, "not-signed-in")


async def test_sms_sign_in(
    cognito_emulator: Any,
    cognito_client_config: Any,
    cognito_pool: SeededPool,
    cognito_user_factory: Any,
) -> None:
    user = await cognito_user_factory(phone=PHONE, mfa=["SMS"], preferred="SMS")
    async with api(cognito_emulator, cognito_client_config, cognito_pool) as client:
        started = await _login(client, user)
        assert started["challenge"]["name"] == "SMS_MFA"
        assert started["challenge"]["destination"] == "+*******0100"
        code = cognito_emulator.last_code(user.username, "SMS")
        done = await client.post("/auth/login/answer", json={"code": code})
        assert done.json() == {"status": "signed_in"}
        await _signed_in(client, user.username)


async def test_email_sign_in(
    cognito_emulator: Any,
    cognito_client_config: Any,
    cognito_pool: SeededPool,
    cognito_user_factory: Any,
) -> None:
    user = await cognito_user_factory(email="eve@example.com", mfa=["EMAIL"], preferred="EMAIL")
    async with api(cognito_emulator, cognito_client_config, cognito_pool) as client:
        started = await _login(client, user)
        assert started["challenge"]["name"] == "EMAIL_OTP"
        assert started["challenge"]["code_length"] == 8
        code = cognito_emulator.last_code(user.username, "EMAIL")
        done = await client.post("/auth/login/answer", json={"code": code})
        assert done.json() == {"status": "signed_in"}


async def test_select_mfa_type_then_sms(
    cognito_emulator: Any,
    cognito_client_config: Any,
    cognito_pool: SeededPool,
    cognito_user_factory: Any,
) -> None:
    user = await cognito_user_factory(phone=PHONE, totp=True, mfa=["SMS", "TOTP"])
    async with api(cognito_emulator, cognito_client_config, cognito_pool) as client:
        started = await _login(client, user)
        assert started["challenge"]["name"] == "SELECT_MFA_TYPE"
        assert set(started["challenge"]["options"]) == {"SMS_MFA", "SOFTWARE_TOKEN_MFA"}
        # not one of the options, and a code where a choice is asked: 422, still open
        for answer in ({"mfa_type": "EMAIL_OTP"}, {"code": "123456"}):
            refused = await client.post("/auth/login/answer", json=answer)
            assert _problem(refused, 422, "invalid-input")["sign_in_open"] is True
        chosen = await client.post("/auth/login/answer", json={"mfa_type": "SMS_MFA"})
        assert chosen.json()["challenge"]["name"] == "SMS_MFA"
        code = cognito_emulator.last_code(user.username, "SMS")
        done = await client.post("/auth/login/answer", json={"code": code})
        assert done.json() == {"status": "signed_in"}


async def test_mfa_setup_with_totp(
    cognito_emulator: Any, cognito_client_config: Any, cognito_seeder: Any
) -> None:
    seeded = await cognito_seeder.create_pool_and_client(mfa="ON", sms=False, email=False)
    user = await cognito_seeder.create_user(seeded, "frank", "Correct-Horse-9")
    async with api(cognito_emulator, cognito_client_config, seeded) as client:
        started = await _login(client, user)
        assert started["challenge"] == {"name": "MFA_SETUP", "options": ["SOFTWARE_TOKEN_MFA"]}
        # a code before the secret was shown: refused, nothing sent, still open
        early = await client.post("/auth/login/answer", json={"code": "123456"})
        _problem(early, 422, "invalid-input")
        setup = await client.post("/auth/login/totp")
        assert setup.status_code == 200, setup.text
        uri = setup.json()["otpauth_uri"]
        assert uri.startswith("otpauth://totp/") and "issuer=Test" in uri
        assert setup.json()["qr_svg"].lstrip().startswith("<svg")
        again = await client.post("/auth/login/totp")  # a reload shows the same secret
        assert again.json()["otpauth_uri"] == uri
        secret = parse_qs(urlparse(uri).query)["secret"][0]
        code = pyotp.TOTP(secret).at(int(cognito_emulator.now()))
        wrong = await client.post("/auth/login/answer", json={"code": _wrong(code)})
        assert _problem(wrong, 401, "wrong-code")["sign_in_open"] is True
        done = await client.post("/auth/login/answer", json={"code": code})
        assert done.json() == {"status": "signed_in"}, done.text
        await _signed_in(client, "frank")


async def test_new_password_required_then_sms(
    cognito_emulator: Any,
    cognito_client_config: Any,
    cognito_seeder: Any,
    cognito_client: Any,
) -> None:
    seeded = await cognito_seeder.create_pool_and_client(mfa="ON", email=False, totp=False)
    await cognito_client.admin_create_user(
        UserPoolId=seeded.pool_id,
        Username="gina",
        TemporaryPassword="Temp-Horse-1",
        MessageAction="SUPPRESS",
        UserAttributes=[
            {"Name": "phone_number", "Value": PHONE},
            {"Name": "phone_number_verified", "Value": "true"},
        ],
    )
    async with api(cognito_emulator, cognito_client_config, seeded) as client:
        started = await client.post(
            "/auth/login", json={"username": "gina", "password": "Temp-Horse-1"}
        )
        assert started.json()["challenge"]["name"] == "NEW_PASSWORD_REQUIRED"
        weak = await client.post("/auth/login/answer", json={"new_password": "short"})
        assert _problem(weak, 422, "invalid-input")["sign_in_open"] is True
        chosen = await client.post("/auth/login/answer", json={"new_password": STRONG})
        assert chosen.json()["challenge"]["name"] == "SMS_MFA"
        code = cognito_emulator.last_code("gina", "SMS")
        done = await client.post("/auth/login/answer", json={"code": code})
        assert done.json() == {"status": "signed_in"}


# --- account management ------------------------------------------------------------------------


async def test_mfa_settings_and_totp_enrolment(
    cognito_emulator: Any,
    cognito_client_config: Any,
    cognito_pool: SeededPool,
    cognito_user_factory: Any,
) -> None:
    user = await cognito_user_factory(phone=PHONE, mfa=["SMS"], preferred="SMS")
    async with api(cognito_emulator, cognito_client_config, cognito_pool) as client:
        await _login(client, user)
        code = cognito_emulator.last_code(user.username, "SMS")
        await client.post("/auth/login/answer", json={"code": code})
        mfa = await client.get("/auth/mfa")
        assert mfa.json() == {"enabled": ["SMS_MFA"], "preferred": "SMS_MFA"}
        enrol = await client.post("/auth/totp")
        assert enrol.status_code == 200, enrol.text
        secret = parse_qs(urlparse(enrol.json()["otpauth_uri"]).query)["secret"][0]
        totp = pyotp.TOTP(secret).at(int(cognito_emulator.now()))
        bad = await client.post("/auth/totp/verify", json={"code": _wrong(totp)})
        _problem(bad, 401, "wrong-code")
        shape = await client.post("/auth/totp/verify", json={"code": "12"})
        _problem(shape, 422, "invalid-input")
        ok = await client.post(
            "/auth/totp/verify", json={"code": totp, "friendly_device_name": "P"}
        )
        assert ok.json() == {"status": "verified"}, ok.text
        put = await client.put(
            "/auth/mfa", json={"software_token": {"enabled": True, "preferred": True}}
        )
        assert put.json() == {
            "enabled": ["SMS_MFA", "SOFTWARE_TOKEN_MFA"],
            "preferred": "SOFTWARE_TOKEN_MFA",
        }, put.text
        two = await client.put(
            "/auth/mfa",
            json={"sms": {"enabled": True, "preferred": True},
                  "software_token": {"enabled": True, "preferred": True}},
        )  # fmt: skip
        _problem(two, 422, "invalid-input")
        revoked = {name: client.cookies[name] for name in ("cm_id", "cm_access", "cm_refresh")}
        await client.post("/auth/logout")
        _problem(await client.get("/auth/mfa"), 401, "not-signed-in")
        # the old tokens, presented again after the sign-out: refused by Cognito, still 401
        for name, value in revoked.items():
            client.cookies.set(name, value)
        _problem(await client.get("/auth/mfa"), 401, "not-signed-in")
        client.cookies.set("cm_access", "garbage")
        _problem(await client.get("/auth/mfa"), 401, "not-signed-in")
        _problem(await client.get("/auth/me"), 401, "not-signed-in")


# --- every error status ------------------------------------------------------------------------


async def test_error_statuses(
    cognito_emulator: Any,
    cognito_client_config: Any,
    cognito_pool: SeededPool,
    cognito_user_factory: Any,
) -> None:
    user = await cognito_user_factory(phone=PHONE, mfa=["SMS"], preferred="SMS")
    other = await cognito_user_factory(phone=PHONE, mfa=["SMS"], preferred="SMS")
    async with api(cognito_emulator, cognito_client_config, cognito_pool) as client:
        # wrong password: 401, the same problem as an unknown user (no user enumeration)
        wrong = await client.post(
            "/auth/login", json={"username": user.username, "password": "Wrong-Horse-1"}
        )
        nobody = await client.post(
            "/auth/login", json={"username": "nobody", "password": "Wrong-Horse-1"}
        )
        assert _problem(wrong, 401, "wrong-credentials") == _problem(
            nobody, 401, "wrong-credentials"
        )
        # bad input: 422, naming fields, never echoing values
        for body in ({"username": user.username}, {"username": "", "password": "x"}, [1]):
            bad = await client.post("/auth/login", json=body)
            _problem(bad, 422, "invalid-input")
        # no sign-in in progress: 410
        _problem(
            await client.post("/auth/login/answer", json={"code": "1"}), 410, "sign-in-expired"
        )
        # CSRF: a state-changing request without the header is refused before anything else
        no_csrf = await client.post(
            "/auth/login",
            json={"username": user.username, "password": user.password},
            headers={CSRF_HEADER: ""},
        )
        _problem(no_csrf, 403, "csrf")
        forged = await client.post("/auth/logout", headers={CSRF_HEADER: "forged"})
        _problem(forged, 403, "csrf")

        await _login(client, user)
        code = cognito_emulator.last_code(user.username, "SMS")
        # two answers at once: exactly one wins, the other is told it was answered (409)
        first, second = await asyncio.gather(
            client.post("/auth/login/answer", json={"code": code}),
            client.post("/auth/login/answer", json={"code": code}),
        )
        statuses = sorted([first.status_code, second.status_code])
        assert statuses == [200, 409], (first.text, second.text)
        loser = first if first.status_code == 409 else second
        assert "cm_sign_in" not in loser.headers.get("set-cookie", "")  # the winner's stands
        _problem(loser, 409, "already-answered")
        # two answers in a row with one handle (a replayed request): 409
        await client.post("/auth/logout")
        await _login(client, user)
        old = client.cookies["cm_sign_in"]
        code = cognito_emulator.last_code(user.username, "SMS")
        bad = await client.post("/auth/login/answer", json={"code": _wrong(code)})
        _problem(bad, 401, "wrong-code")
        (jar_cookie,) = [c for c in client.cookies.jar if c.name == "cm_sign_in"]
        client.cookies.delete("cm_sign_in")
        client.cookies.set("cm_sign_in", old, domain=jar_cookie.domain, path="/auth")
        replay = await client.post("/auth/login/answer", json={"code": code})
        _problem(replay, 409, "already-answered")

        # an unknown field: 422, the sign-in stays
        await _login(client, user)
        extra = await client.post("/auth/login/answer", json={"code": "123456", "trust_me": True})
        _problem(extra, 422, "invalid-input")
        # expired: Cognito's session outlived (AuthSessionValidity): 410, the sign-in is gone
        cognito_emulator.advance(181)
        code = cognito_emulator.last_code(user.username, "SMS")
        expired = await client.post("/auth/login/answer", json={"code": code})
        assert _problem(expired, 410, "sign-in-expired")["sign_in_open"] is False
        assert "cm_sign_in" not in client.cookies

        # too many attempts: 429, not "wrong password" (a fresh user: failures add up per user)
        await _login(client, other)
        code = cognito_emulator.last_code(other.username, "SMS")
        for _ in range(5):
            _problem(
                await client.post("/auth/login/answer", json={"code": _wrong(code)}),
                401,
                "wrong-code",
            )
        locked = await client.post("/auth/login/answer", json={"code": code})
        _problem(locked, 429, "too-many-attempts")


async def test_throttled_is_429_and_unreachable_is_503(
    cognito_emulator: Any,
    cognito_client_config: Any,
    cognito_pool: SeededPool,
    cognito_user_factory: Any,
) -> None:
    user = await cognito_user_factory(phone=PHONE, mfa=["SMS"], preferred="SMS")
    once = cm.RetryPolicy(max_attempts=1)
    async with api(
        cognito_emulator, cognito_client_config, cognito_pool, retry_policy=once
    ) as client:
        await _login(client, user)
        cognito_emulator.inject_fault("RespondToAuthChallenge", error="LimitExceededException")
        code = cognito_emulator.last_code(user.username, "SMS")
        throttled = await client.post("/auth/login/answer", json={"code": code})
        _problem(throttled, 429, "too-many-attempts")
        cognito_emulator.inject_fault("InitiateAuth", error="InternalErrorException")
        down = await client.post(
            "/auth/login", json={"username": user.username, "password": user.password}
        )
        _problem(down, 503, "unavailable")


async def test_answers_never_echo_a_password_or_code(
    cognito_emulator: Any,
    cognito_client_config: Any,
    cognito_pool: SeededPool,
    cognito_user_factory: Any,
) -> None:
    user = await cognito_user_factory(phone=PHONE, mfa=["SMS"], preferred="SMS")
    secret_password = "Wrong-Horse-Secret-42"
    async with api(cognito_emulator, cognito_client_config, cognito_pool) as client:
        for body in (
            {"username": user.username, "password": secret_password},
            {"username": user.username, "password": secret_password, "extra": 1},
            {"username": 7, "password": secret_password},
        ):
            response = await client.post("/auth/login", json=body)
            assert response.status_code in (401, 422)
            assert secret_password not in response.text
        await _login(client, user)
        code = cognito_emulator.last_code(user.username, "SMS")
        typo = "98765432109"  # not a code at all
        for answer in ({"code": _wrong(code)}, {"code": typo}, {"code": typo, "extra": 1}):
            response = await client.post("/auth/login/answer", json=answer)
            assert response.status_code in (401, 422), response.text
            assert answer["code"] not in response.text
            assert client.cookies["cm_sign_in"] not in response.text
