"""The Cognito emulator through both of its fronts, shared by the end-to-end test modules.

``in-process``: respx answers aiobotocore's httpx session (``AioConfig(http_session_cls=
HttpxSession)``). ``served``: the emulator on a loopback port (``EmulatorServer``), reached with
aioboto3's default aiohttp transport. A test taking ``front`` (or ``seeded``) runs on both.
Used by test_sign_in.py, test_user.py and test_readme_examples.py; tests/testing/ has its own
fronts (fronts.py), which also reach the emulator unsigned and by raw HTTP.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import aioboto3
import pyotp
import pytest
from aiobotocore.config import AioConfig

import cognito_mfa as cm
from cognito_mfa.testing.mock import EMULATOR_ENDPOINT, httpx_client_config, mount
from cognito_mfa.testing.seed import SeededPool, Seeder
from cognito_mfa.testing.server import EmulatorServer
from cognito_mfa.testing.service import Emulator


@dataclass
class Front:
    """One way of reaching the emulator: its endpoint, and a seeding client talking to it.

    ``lock`` serialises the test's direct emulator calls with the served front's request
    threads (a no-op in-process). ``botocore_config`` is what a ``UserPool`` on this front needs;
    ``seeding_config`` is the seeding client's (no retries).
    """

    name: str
    emulator: Emulator
    endpoint_url: str
    botocore_config: AioConfig | None
    seeding_config: AioConfig
    lock: AbstractContextManager[Any]
    client: Any
    seeder: Seeder

    def now(self) -> float:
        with self.lock:
            return self.emulator.now()

    def clock(self) -> datetime:
        return datetime.fromtimestamp(self.now(), UTC)

    def advance(self, seconds: float) -> None:
        with self.lock:
            self.emulator.advance(seconds)

    def last_code(self, username: str, medium: str) -> str:
        with self.lock:
            return self.emulator.last_code(username, medium)

    def sms_code(self, username: str) -> str:
        return self.last_code(username, "SMS")

    def email_code(self, username: str) -> str:
        return self.last_code(username, "EMAIL")

    def totp_code(self, secret: str) -> str:
        return pyotp.TOTP(secret).at(int(self.now()))

    def user_pool(self, seeded: SeededPool, **kwargs: Any) -> cm.UserPool:
        """A ``UserPool`` on this front and the emulator's clock; ``kwargs`` override options."""
        options: dict[str, Any] = {
            "endpoint_url": self.endpoint_url,
            "botocore_config": self.botocore_config,
            "aws_access_key_id": "testing",
            "aws_secret_access_key": "testing",
            "clock": self.clock,
            "client_secret": seeded.client_secret,
        }
        options.update(kwargs)
        return cm.UserPool(seeded.pool_id, seeded.client_id, **options)


def _seeding_client(endpoint_url: str, config: AioConfig) -> Any:
    session = aioboto3.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1"
    )
    return session.client("cognito-idp", endpoint_url=endpoint_url, config=config)


def _locked_now(emulator: Emulator, lock: AbstractContextManager[Any]) -> Callable[[], float]:
    def now() -> float:
        with lock:
            return emulator.now()

    return now


@pytest.fixture
def respx_pass_through() -> bool:
    """Whether the in-process front lets a request that is not Cognito's reach the network.

    False: such a request fails the test. A module overrides this fixture to change it.
    """
    return False


@pytest.fixture(params=["in-process", pytest.param("served", marks=pytest.mark.served)])
async def front(request: pytest.FixtureRequest, respx_pass_through: bool) -> AsyncIterator[Front]:
    emulator = Emulator()
    if request.param == "in-process":
        lock: AbstractContextManager[Any] = nullcontext()
        with mount(emulator, pass_through=respx_pass_through):
            config = httpx_client_config(retries={"max_attempts": 1})
            async with _seeding_client(EMULATOR_ENDPOINT, config) as client:
                seeder = Seeder(client, clock=_locked_now(emulator, lock))
                yield Front(
                    "in-process",
                    emulator,
                    EMULATOR_ENDPOINT,
                    httpx_client_config(),
                    config,
                    lock,
                    client,
                    seeder,
                )
    else:
        with EmulatorServer(emulator) as server:
            config = AioConfig(retries={"max_attempts": 1})
            async with _seeding_client(server.url, config) as client:
                seeder = Seeder(client, clock=_locked_now(emulator, server.lock))
                yield Front(
                    "served", emulator, server.url, None, config, server.lock, client, seeder
                )


@pytest.fixture
async def seeded(front: Front) -> SeededPool:
    return await front.seeder.create_pool_and_client()
