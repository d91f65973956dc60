"""The example web app's command: :func:`main` serves it with uvicorn until interrupted.

``python -m cognito_mfa web-demo`` parses the command line and calls :func:`main`. Without
``--pool-id`` the pages run on an emulator embedded in the process, seeded at start-up with a
demo pool (MFA required, TOTP only, devices remembered on the user's say-so) and a demo user,
both printed. With ``--endpoint-url --pool-id --client-id`` and ``--redis-url`` several
processes serve one Cognito (or one served emulator) and share one store: run them with the
same ``COGNITO_MFA_APP_KEY``.

At start-up the app client's settings are read (DescribeUserPoolClient): a sign-in in progress
is kept for its AuthSessionValidity and the token cookies live as long as its refresh token.
Credentials that may not read them (none, or no IAM permission) leave Cognito's defaults (3
minutes, 30 days), said once; any other failure (no such pool or client, no answer) stops the
start-up with the reason.
"""

from __future__ import annotations

import argparse
import os
import socket
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Final

import anyio
import httpx
import uvicorn
from fastapi import FastAPI

from cognito_mfa import (
    AccessDenied,
    CognitoError,
    CredentialsRequired,
    Forbidden,
    NotAuthorized,
    TokenVerifier,
    Unauthorized,
    UserPool,
)
from cognito_mfa.testing import (
    EMULATOR_ENDPOINT,
    Emulator,
    EmulatorApp,
    Seeder,
    emulator_client,
    httpx_client_config,
)
from cognito_mfa.web import APP_KEY_ENV, DEFAULT_TTL, AppKey, RedisFlowStore, WebSignIn

from .app import create_app

__all__ = ["DEMO_PASSWORD", "DEMO_USERNAME", "main"]

DEMO_USERNAME: Final = "alice"
#: The embedded demo user's password (a demo on a throw-away emulator, printed at start-up).
DEMO_PASSWORD: Final = "Correct-Horse-9"
#: The embedded demo client's AuthSessionValidity: more than Cognito's 3 minutes, so that a
#: first sign-in has time to set up an authenticator app.
DEMO_SESSION_MINUTES: Final = 5


@dataclass(frozen=True)
class Lifetimes:
    """How long a sign-in in progress is kept (seconds) and the token cookies live (seconds)."""

    sign_in: float = DEFAULT_TTL
    tokens: int = int(timedelta(days=30).total_seconds())


def _refused(error: CognitoError) -> bool:
    """Whether ``error`` says the credentials may not read the app client's settings."""
    refusals = AccessDenied | CredentialsRequired | NotAuthorized | Forbidden | Unauthorized
    return isinstance(error, refusals)


async def read_lifetimes(pool: UserPool, say: Callable[[str], None]) -> Lifetimes:
    """The app client's AuthSessionValidity and refresh token validity, read with ``pool``
    (opened and closed here). Refused: Cognito's defaults, said once. Raises the other
    errors of :meth:`UserPool.describe_app_client`."""
    async with pool:
        try:
            settings = await pool.describe_app_client()
        except CognitoError as exc:
            if not _refused(exc):
                raise
            defaults = Lifetimes()
            say(
                f"the app client's settings could not be read ({type(exc).__name__}): "
                f"sign-ins are kept {defaults.sign_in:g} s and token cookies "
                f"{defaults.tokens // 86400} days, Cognito's defaults"
            )
            return defaults
    lifetimes = Lifetimes(
        sign_in=settings.auth_session_validity.total_seconds(),
        tokens=int(settings.refresh_token_validity.total_seconds()),
    )
    say(
        f"app client {settings.client_id}: sign-ins are kept {lifetimes.sign_in:g} s "
        f"(AuthSessionValidity), token cookies {lifetimes.tokens} s (refresh token validity)"
    )
    return lifetimes


def main(args: argparse.Namespace, say: Callable[[str], None] = print) -> int:
    """Run the demo server until interrupted; returns the exit status."""
    if (args.pool_id is None) != (args.client_id is None):
        say("error: --pool-id and --client-id go together")
        return 1
    if args.endpoint_url and args.pool_id is None:
        say("error: --endpoint-url needs --pool-id and --client-id")
        return 1
    secret = None
    if args.client_secret_env:
        secret = os.environ.get(args.client_secret_env)
        if not secret:
            say(f"error: the environment variable {args.client_secret_env} is not set")
            return 1
    if os.environ.get(APP_KEY_ENV):
        key = AppKey.from_env()
    else:
        key = AppKey.from_base64(AppKey.generate())
        say(
            f"{APP_KEY_ENV} is not set: using a fresh random key (sign-ins and remembered "
            "browsers do not outlive this process nor move to other replicas)"
        )

    make_pool: Callable[[], UserPool]
    if args.pool_id is not None:

        def make_pool() -> UserPool:
            return UserPool(args.pool_id, args.client_id, secret, endpoint_url=args.endpoint_url)

        keys_transport = None
        jwks = None
        if args.endpoint_url:
            jwks = f"{args.endpoint_url.rstrip('/')}/{args.pool_id}/.well-known/jwks.json"
    else:
        emulator = Emulator()
        pool_id, client_id = anyio.run(_seed, emulator)
        say(f"embedded emulator: pool {pool_id}, app client {client_id}")
        say(f"demo user: {DEMO_USERNAME} / {DEMO_PASSWORD} (sets up an authenticator app)")

        def make_pool() -> UserPool:
            return UserPool(
                pool_id,
                client_id,
                endpoint_url=EMULATOR_ENDPOINT,
                botocore_config=httpx_client_config(emulator),
                aws_access_key_id="demo",  # the emulator accepts any signature
                aws_secret_access_key="demo",
            )

        keys_transport = httpx.ASGITransport(EmulatorApp(emulator))
        jwks = f"{EMULATOR_ENDPOINT}/{pool_id}/.well-known/jwks.json"
    try:
        # a pool of its own: a pool is bound to the event loop it was opened on
        lifetimes = anyio.run(read_lifetimes, make_pool(), say)
    except CognitoError as exc:
        say(f"error: the app client's settings could not be read: {type(exc).__name__}: {exc}")
        return 1
    pool = make_pool()
    http = httpx.AsyncClient(transport=keys_transport)
    verifier = TokenVerifier(
        pool.pool_id, client_id=pool.client_id, jwks_url=jwks, http_client=http
    )
    store = RedisFlowStore.from_url(args.redis_url) if args.redis_url else None
    # bound before serving, so the URL printed below already accepts connections
    listener = socket.create_server((args.host, args.port))
    host, port = listener.getsockname()[:2]
    url = f"http://{host}:{port}/"

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with pool:
            try:
                say(f"web demo ready at {url}")
                yield
            finally:
                await http.aclose()
                if store is not None:
                    await store.aclose()

    app = create_app(
        WebSignIn(pool, key, store, ttl=lifetimes.sign_in),
        verifier,
        secure_cookies=bool(args.secure_cookies),
        session_max_age=lifetimes.tokens,
        lifespan=lifespan,
    )
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    try:
        server.run(sockets=[listener])
    finally:
        listener.close()
    return 0


async def _seed(emulator: Emulator) -> tuple[str, str]:
    """The demo pool (MFA required, TOTP only, devices remembered on the user's say-so), its
    app client (sign-in sessions of :data:`DEMO_SESSION_MINUTES`) and the demo user, who sets
    up an authenticator app at the first sign-in."""
    async with emulator_client(emulator) as admin:
        seeder = Seeder(admin, clock=emulator.now)
        pool_id = await seeder.create_pool(
            "web-demo",
            mfa="ON",
            sms=False,
            email=False,
            device_configuration={
                "ChallengeRequiredOnNewDevice": True,
                "DeviceOnlyRememberedOnUserPrompt": True,
            },
        )
        seeded = await seeder.create_client(pool_id, session_validity_minutes=DEMO_SESSION_MINUTES)
        await seeder.create_user(seeded, DEMO_USERNAME, DEMO_PASSWORD)
    return seeded.pool_id, seeded.client_id
