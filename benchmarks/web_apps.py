"""The two web apps the web-login benchmark drives (``benchmarks/web.py``), one per process.

Both serve the same JSON sign-in API as :func:`cognito_mfa.fastapi.auth_router` for a
password-then-TOTP sign-in, keep the pending sign-in in one Redis, sealed with AES-GCM, behind
an HttpOnly cookie, check the double-submit CSRF token on every POST, and set the tokens as
cookies at the end:

* ``ours``: the library's router over :class:`cognito_mfa.web.WebSignIn` and
  :class:`cognito_mfa.web.RedisFlowStore` (aioboto3 on the event loop);
* ``pycognito``: the same two endpoints written with pycognito 2024.5.1 in a thread pool
  (50 threads, one per concurrent sign-in): ``Cognito.authenticate`` for the password step
  (its SRP) and ``Cognito.respond_to_software_token_mfa_challenge`` for the code, both as
  pycognito's README shows them. The ``Cognito`` objects share one boto3 client (boto3
  clients are thread-safe; making one per request would cost pycognito a few milliseconds
  more), and get the pool's JWKS once at start-up (pycognito checks the tokens it receives
  against it: two RS256 verifications per sign-in that our router leaves to ``/auth/me``).
  Only the SOFTWARE_TOKEN_MFA path is written, and a wrong code ends the sign-in (ours keeps
  it open): the benchmark sends right codes only.

Run with ``python -m uvicorn --factory benchmarks.web_apps:ours`` (or ``:pycognito``) and the
settings in the environment: ``BENCH_ENDPOINT``, ``BENCH_POOL_ID``, ``BENCH_CLIENT_ID``,
``BENCH_REDIS_URL`` and ``COGNITO_MFA_APP_KEY``.
"""

from __future__ import annotations

import base64
import hmac
import json
import os
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
import anyio.to_thread
import boto3
import httpx
from aiobotocore.config import AioConfig
from botocore.config import Config
from botocore.exceptions import ClientError
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from pycognito import Cognito
from pycognito.exceptions import SoftwareTokenMFAChallengeException
from redis.asyncio import Redis

import cognito_mfa as cm
from cognito_mfa.fastapi import auth_router
from cognito_mfa.web import AppKey, RedisFlowStore, WebSignIn

CONCURRENCY = 50
SIGN_IN_TTL = 180  # seconds: the app client's AuthSessionValidity, 3 minutes by default
CSRF_COOKIE = "cm_csrf"
HANDLE_COOKIE = "cm_sign_in"


def _settings() -> tuple[str, str, str, str]:
    return (
        os.environ["BENCH_ENDPOINT"],
        os.environ["BENCH_POOL_ID"],
        os.environ["BENCH_CLIENT_ID"],
        os.environ["BENCH_REDIS_URL"],
    )


def ours() -> FastAPI:
    endpoint, pool_id, client_id, redis_url = _settings()
    pool = cm.UserPool(
        pool_id,
        client_id,
        endpoint_url=endpoint,
        aws_access_key_id="bench",  # the emulator accepts any signature
        aws_secret_access_key="bench",
        botocore_config=AioConfig(max_pool_connections=CONCURRENCY),
    )
    store = RedisFlowStore.from_url(redis_url, prefix="bench:ours:")
    verifier = cm.TokenVerifier(
        pool_id, client_id=client_id, jwks_url=f"{endpoint}/{pool_id}/.well-known/jwks.json"
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with pool:
            try:
                yield
            finally:
                await store.aclose()

    app = FastAPI(lifespan=lifespan)
    sign_in = WebSignIn(pool, AppKey.from_env(), store, ttl=SIGN_IN_TTL)
    app.include_router(auth_router(sign_in, verifier, secure_cookies=False))
    return app


class _SharedClient:
    """Stands in for a boto3 Session in ``Cognito(session=...)``: every ``Cognito`` object
    gets the one thread-safe client instead of building its own."""

    def __init__(self, client: Any) -> None:
        self._client = client

    def client(self, *_args: Any, **_kwargs: Any) -> Any:
        return self._client


def _problem(status: int, title: str) -> JSONResponse:
    return JSONResponse(
        {"type": "about:blank", "title": title, "status": status},
        status_code=status,
        media_type="application/problem+json",
    )


def pycognito() -> FastAPI:
    endpoint, pool_id, client_id, redis_url = _settings()
    region = pool_id.split("_", 1)[0]
    # the endpoint comes through the client, not boto3_client_kwargs: pycognito would then
    # expect the tokens' issuer at the endpoint URL instead of Cognito's (and the emulator's)
    client = boto3.client(
        "cognito-idp",
        region_name=region,
        endpoint_url=endpoint,
        aws_access_key_id="bench",
        aws_secret_access_key="bench",
        config=Config(max_pool_connections=CONCURRENCY),
    )
    session = _SharedClient(client)
    jwks = httpx.get(f"{endpoint}/{pool_id}/.well-known/jwks.json", timeout=30).json()
    key = os.environ["COGNITO_MFA_APP_KEY"]
    aead = AESGCM(base64.urlsafe_b64decode(key + "=" * (-len(key) % 4))[:32])
    redis = Redis.from_url(redis_url)
    limiter = anyio.CapacityLimiter(CONCURRENCY)

    def cognito(username: str) -> Cognito:
        user = Cognito(pool_id, client_id, username=username, session=session)
        user.pool_jwk = jwks
        return user

    def seal(handle: str, state: dict[str, str]) -> bytes:
        nonce = secrets.token_bytes(12)
        return nonce + aead.encrypt(nonce, json.dumps(state).encode(), handle.encode())

    def unseal(handle: str, record: bytes) -> dict[str, str]:
        opened: dict[str, str] = json.loads(aead.decrypt(record[:12], record[12:], handle.encode()))
        return opened

    def csrf_refused(request: Request) -> JSONResponse | None:
        cookie = request.cookies.get(CSRF_COOKIE, "")
        header = request.headers.get("x-csrf-token", "")
        if cookie and hmac.compare_digest(cookie, header):
            return None
        return _problem(403, "CSRF token missing or wrong")

    def signed_in(tokens: dict[str, Any]) -> JSONResponse:
        response = JSONResponse({"status": "signed_in"})
        for name, key in (("cm_id", "id_token"), ("cm_access", "access_token")):
            response.set_cookie(name, tokens[key], httponly=True, samesite="strict")
        response.set_cookie("cm_refresh", tokens["refresh_token"], httponly=True, path="/auth")
        response.delete_cookie(HANDLE_COOKIE, path="/auth")
        return response

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        try:
            yield
        finally:
            await redis.aclose()
            client.close()

    app = FastAPI(lifespan=lifespan)

    @app.get("/auth/csrf")
    async def csrf(request: Request) -> JSONResponse:
        token = request.cookies.get(CSRF_COOKIE) or secrets.token_urlsafe(32)
        response = JSONResponse({"csrf_token": token})
        response.set_cookie(CSRF_COOKIE, token, samesite="strict")
        return response

    @app.post("/auth/login")
    async def login(request: Request) -> JSONResponse:
        if (refused := csrf_refused(request)) is not None:
            return refused
        body = await request.json()
        username, password = str(body["username"]), str(body["password"])

        def step() -> tuple[str, dict[str, Any]]:
            user = cognito(username)
            try:
                user.authenticate(password=password)
            except SoftwareTokenMFAChallengeException as challenge:
                return "challenge", challenge.get_tokens()
            except ClientError:
                return "refused", {}
            return "signed_in", vars(user)

        outcome, data = await anyio.to_thread.run_sync(step, limiter=limiter)
        if outcome == "refused":
            return _problem(401, "Wrong user name or password")
        if outcome == "signed_in":
            return signed_in(data)
        handle = secrets.token_urlsafe(32)
        state = {"username": username, "session": data["Session"]}
        await redis.set(f"bench:pycognito:{handle}", seal(handle, state), ex=SIGN_IN_TTL)
        response = JSONResponse(
            {"status": "challenge", "challenge": {"name": "SOFTWARE_TOKEN_MFA"}}
        )
        response.set_cookie(HANDLE_COOKIE, handle, httponly=True, samesite="strict", path="/auth")
        return response

    @app.post("/auth/login/answer")
    async def answer(request: Request) -> JSONResponse:
        if (refused := csrf_refused(request)) is not None:
            return refused
        handle = request.cookies.get(HANDLE_COOKIE, "")
        code = str((await request.json())["code"])
        # GETDEL: one request takes the step, as the library's store does
        record = await redis.getdel(f"bench:pycognito:{handle}")
        if record is None:
            return _problem(409, "This sign-in step was already answered, or has expired")
        state = unseal(handle, record)

        def step() -> dict[str, Any] | None:
            user = cognito(state["username"])
            try:
                user.respond_to_software_token_mfa_challenge(code, {"Session": state["session"]})
            except ClientError:
                return None
            return vars(user)

        tokens = await anyio.to_thread.run_sync(step, limiter=limiter)
        if tokens is None:
            return _problem(401, "Wrong code")
        return signed_in(tokens)

    return app
