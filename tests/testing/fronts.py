"""Both ways into the emulator's app behind one fixture, so one suite runs over each of them.

``front`` is parametrised over the shipped fixtures: ``in-process`` (``cognito_emulator``
reached through ``httpx.ASGITransport``) and ``served`` (``cognito_server``: the same emulator
under uvicorn, aioboto3 with its default aiohttp session). Test modules import the fixtures
they use from here (the directory's conftest.py belongs to the service-model tests).
"""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator
from contextlib import AbstractContextManager, AsyncExitStack
from dataclasses import dataclass
from typing import Any

import aioboto3
import httpx
import pytest
import srp_answers
from aiobotocore.config import AioConfig

from cognito_mfa.testing import (
    EMULATOR_ENDPOINT,
    Emulator,
    EmulatorServer,
    SeededPool,
    Seeder,
    httpx_client_config,
)
from cognito_mfa.testing.app import emulator_lock
from cognito_mfa.testing.inprocess import emulator_app

NO_RETRIES = {"total_max_attempts": 1}
PASSWORD = "Correct-Horse-9"


@dataclass
class Front:
    name: str
    emulator: Emulator
    endpoint: str
    config: AioConfig
    lock: AbstractContextManager[Any]
    stack: AsyncExitStack

    async def client(self, *, signed: bool = True) -> Any:
        """An aioboto3 cognito-idp client on this front, closed with the test."""
        credentials = (
            {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"} if signed else {}
        )
        session = aioboto3.Session(region_name="us-east-1", **credentials)
        return await self.stack.enter_async_context(
            session.client("cognito-idp", endpoint_url=self.endpoint, config=self.config)
        )

    async def http(self) -> httpx.AsyncClient:
        """An httpx client on this front (in-process: the ASGI transport, no socket)."""
        transport = None
        if self.name == "in-process":
            transport = httpx.ASGITransport(app=emulator_app(self.emulator))
        return await self.stack.enter_async_context(
            httpx.AsyncClient(base_url=self.endpoint, transport=transport)
        )

    async def seeded(self, **pool_options: Any) -> tuple[Any, Seeder, SeededPool]:
        client = await self.client()
        seeder = Seeder(client, clock=self.emulator.now)
        return client, seeder, await seeder.create_pool_and_client(**pool_options)

    async def messages(self) -> list[dict[str, Any]]:
        response = await (await self.http()).get("/_emulator/messages")
        assert response.status_code == 200
        result: list[dict[str, Any]] = response.json()
        return result

    def inject_fault(self, operation: str, **kwargs: Any) -> None:
        with self.lock:
            self.emulator.inject_fault(operation, **kwargs)


async def _result(value: Any) -> Any:
    # boto3 answers at once, aioboto3 with an awaitable: one helper serves both.
    return await value if inspect.isawaitable(value) else value


async def srp_sign_in(
    client: Any, pool: SeededPool, username: str, password: str, *, now: float
) -> dict[str, Any]:
    """USER_SRP_AUTH then PASSWORD_VERIFIER, the proof built by srp_answers.py.

    ``client`` is an aioboto3 or a (synchronous) boto3 client.
    """
    a, big_a = srp_answers.ephemeral()
    started = await _result(
        client.initiate_auth(
            AuthFlow="USER_SRP_AUTH",
            ClientId=pool.client_id,
            AuthParameters={"USERNAME": username, "SRP_A": format(big_a, "x")},
        )
    )
    assert started["ChallengeName"] == "PASSWORD_VERIFIER"
    answers = srp_answers.password_verifier(
        pool.pool_id, started["ChallengeParameters"], a, big_a, password, now=now
    )
    request: dict[str, Any] = {
        "ClientId": pool.client_id,
        "ChallengeName": "PASSWORD_VERIFIER",
        "ChallengeResponses": answers,
    }
    if "Session" in started:
        request["Session"] = started["Session"]
    result: dict[str, Any] = await _result(client.respond_to_auth_challenge(**request))
    return result


@pytest.fixture
def served_emulator(cognito_server: EmulatorServer) -> EmulatorServer:
    """The shipped ``cognito_server``: a fresh emulator on a free loopback port."""
    return cognito_server


@pytest.fixture(params=["in-process", "served"])
async def front(request: pytest.FixtureRequest, cognito_emulator: Emulator) -> AsyncIterator[Front]:
    async with AsyncExitStack() as stack:
        if request.param == "in-process":
            yield Front(
                "in-process",
                cognito_emulator,
                EMULATOR_ENDPOINT,
                httpx_client_config(cognito_emulator, retries=NO_RETRIES),
                emulator_lock(cognito_emulator),
                stack,
            )
        else:
            server: EmulatorServer = request.getfixturevalue("cognito_server")
            yield Front(
                "served",
                cognito_emulator,
                server.url,
                AioConfig(retries=NO_RETRIES),
                server.lock,
                stack,
            )
