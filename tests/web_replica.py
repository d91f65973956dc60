"""One replica of a web service for the two-replica tests: run as
``python -m uvicorn --factory web_replica:create_app`` with its settings in the environment.

``REPLICA_ENDPOINT``, ``REPLICA_POOL_ID``, ``REPLICA_CLIENT_ID``: the served emulator and its
pool; ``REPLICA_REDIS_URL``: the shared store; ``COGNITO_MFA_APP_KEY``: the shared key. Cookies
are not Secure: the tests talk plain http on the loopback interface.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

import cognito_mfa as cm
from cognito_mfa.fastapi import auth_router
from cognito_mfa.web import AppKey, RedisFlowStore, WebSignIn


def create_app() -> FastAPI:
    endpoint = os.environ["REPLICA_ENDPOINT"]
    pool_id = os.environ["REPLICA_POOL_ID"]
    client_id = os.environ["REPLICA_CLIENT_ID"]
    pool = cm.UserPool(pool_id, client_id, endpoint_url=endpoint)
    store = RedisFlowStore.from_url(os.environ["REPLICA_REDIS_URL"])
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
    sign_in = WebSignIn(pool, AppKey.from_env(), store)
    app.include_router(auth_router(sign_in, verifier, secure_cookies=False))
    return app
