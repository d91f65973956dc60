"""The Cognito emulator through both of its ways in, built from the shipped pytest fixtures.

``in-process``: the app reached through ``httpx.ASGITransport`` (``cognito_client_config``);
``served``: the same emulator served by uvicorn (``cognito_server``), reached with aioboto3's
default aiohttp transport. A test taking ``front`` (or ``seeded``) runs on both. Seeding uses
the shipped ``cognito_client``/``cognito_seeder`` in both cases: it is the same emulator.
Used by test_sign_in.py, test_user.py, test_readme_examples.py and others; tests/testing/
has its own (fronts.py), which also reach the emulator unsigned and by raw HTTP.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import aioboto3
import pyotp
import pytest
from aiobotocore.config import AioConfig

import cognito_mfa as cm
from cognito_mfa.testing import EMULATOR_ENDPOINT, httpx_client_config
from cognito_mfa.testing.app import emulator_lock
from cognito_mfa.testing.seed import SeededPool, Seeder
from cognito_mfa.testing.server import EmulatorServer
from cognito_mfa.testing.service import Emulator


@dataclass
class Front:
    """One way of reaching the emulator: its endpoint, and a seeding client talking to it.

    ``lock`` serialises the test's direct emulator calls with the served front's thread
    (the emulator's own lock, shared by both ways in). ``botocore_config`` is what a
    ``UserPool`` on this front needs; ``seeding_config`` is the seeding client's (no retries).
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


@pytest.fixture
def no_aws_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    """No AWS credentials anywhere botocore looks (environment, files, instance metadata)."""
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")


@pytest.fixture(params=["in-process", pytest.param("served", marks=pytest.mark.served)])
async def front(
    request: pytest.FixtureRequest,
    cognito_emulator: Emulator,
    cognito_client: Any,
    cognito_client_config: AioConfig,
) -> AsyncIterator[Front]:
    emulator = cognito_emulator
    if request.param == "in-process":
        lock: AbstractContextManager[Any] = emulator_lock(emulator)
        seeder = Seeder(cognito_client, clock=_locked_now(emulator, lock))
        yield Front(
            "in-process",
            emulator,
            EMULATOR_ENDPOINT,
            cognito_client_config,
            httpx_client_config(emulator, retries={"total_max_attempts": 1}),
            lock,
            cognito_client,
            seeder,
        )
    else:
        server: EmulatorServer = request.getfixturevalue("cognito_server")
        config = AioConfig(retries={"total_max_attempts": 1})
        session = aioboto3.Session(
            aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1"
        )
        async with session.client("cognito-idp", endpoint_url=server.url, config=config) as client:
            seeder = Seeder(client, clock=_locked_now(emulator, server.lock))
            yield Front("served", emulator, server.url, None, config, server.lock, client, seeder)


@dataclass(frozen=True)
class Way:
    """How a ``UserPool`` reaches the shipped ``cognito_emulator``: its endpoint and config."""

    name: str
    endpoint_url: str
    botocore_config: AioConfig | None


@pytest.fixture(params=["in-process", pytest.param("served", marks=pytest.mark.served)])
def way(request: pytest.FixtureRequest, cognito_client_config: AioConfig) -> Way:
    """``cognito_emulator`` in-process, or the same emulator served (``cognito_server``)."""
    if request.param == "in-process":
        return Way("in-process", EMULATOR_ENDPOINT, cognito_client_config)
    server: EmulatorServer = request.getfixturevalue("cognito_server")
    return Way("served", server.url, None)


def _locked_now(emulator: Emulator, lock: AbstractContextManager[Any]) -> Callable[[], float]:
    def now() -> float:
        with lock:
            return emulator.now()

    return now


@pytest.fixture
async def seeded(front: Front) -> SeededPool:
    return await front.seeder.create_pool_and_client()
