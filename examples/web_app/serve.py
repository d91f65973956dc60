"""The example web app's command: :func:`main` serves it with uvicorn until interrupted.

``python -m cognito_mfa web-demo`` parses the command line and calls :func:`main`. Without
``--pool-id`` the pages run on an emulator embedded in the process, seeded at start-up with a
demo pool (MFA required, TOTP only, devices remembered on the user's say-so) and a demo user,
both printed. With ``--endpoint-url --pool-id --client-id`` and ``--redis-url`` several
processes serve one Cognito (or one served emulator) and share one store: run them with the
same ``COGNITO_MFA_APP_KEY``.
"""

from __future__ import annotations

import argparse
import os
import socket
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Final

import anyio
import httpx
import uvicorn
from fastapi import FastAPI

from cognito_mfa import TokenVerifier, UserPool
from cognito_mfa.testing import (
    EMULATOR_ENDPOINT,
    Emulator,
    EmulatorApp,
    Seeder,
    emulator_client,
    httpx_client_config,
)
from cognito_mfa.web import APP_KEY_ENV, AppKey, RedisFlowStore, WebSignIn

from .app import create_app

__all__ = ["DEMO_PASSWORD", "DEMO_USERNAME", "main"]

DEMO_USERNAME: Final = "alice"
#: The embedded demo user's password (a demo on a throw-away emulator, printed at start-up).
DEMO_PASSWORD: Final = "Correct-Horse-9"


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

    if args.pool_id is not None:
        pool = UserPool(args.pool_id, args.client_id, secret, endpoint_url=args.endpoint_url)
        http = httpx.AsyncClient()
        jwks = None
        if args.endpoint_url:
            jwks = f"{args.endpoint_url.rstrip('/')}/{args.pool_id}/.well-known/jwks.json"
    else:
        emulator = Emulator()
        pool_id, client_id = anyio.run(_seed, emulator)
        say(f"embedded emulator: pool {pool_id}, app client {client_id}")
        say(f"demo user: {DEMO_USERNAME} / {DEMO_PASSWORD} (sets up an authenticator app)")
        pool = UserPool(
            pool_id,
            client_id,
            endpoint_url=EMULATOR_ENDPOINT,
            botocore_config=httpx_client_config(emulator),
            aws_access_key_id="demo",  # the emulator accepts any signature
            aws_secret_access_key="demo",
        )
        http = httpx.AsyncClient(transport=httpx.ASGITransport(EmulatorApp(emulator)))
        jwks = f"{EMULATOR_ENDPOINT}/{pool_id}/.well-known/jwks.json"
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
        WebSignIn(pool, key, store),
        verifier,
        secure_cookies=bool(args.secure_cookies),
        lifespan=lifespan,
    )
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    try:
        server.run(sockets=[listener])
    finally:
        listener.close()
    return 0


async def _seed(emulator: Emulator) -> tuple[str, str]:
    """The demo pool (MFA required, TOTP only, devices remembered on the user's say-so) and
    the demo user, who sets up an authenticator app at the first sign-in."""
    async with emulator_client(emulator) as admin:
        seeder = Seeder(admin, clock=emulator.now)
        seeded = await seeder.create_pool_and_client(
            "web-demo",
            mfa="ON",
            sms=False,
            email=False,
            device_configuration={
                "ChallengeRequiredOnNewDevice": True,
                "DeviceOnlyRememberedOnUserPrompt": True,
            },
        )
        await seeder.create_user(seeded, DEMO_USERNAME, DEMO_PASSWORD)
    return seeded.pool_id, seeded.client_id
