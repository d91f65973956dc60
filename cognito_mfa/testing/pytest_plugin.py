"""pytest fixtures for the Cognito emulator, registered as the ``cognito_mfa`` pytest11 plugin.

Installed with cognito-mfa, so any test suite gets them without a ``conftest.py``. Every
fixture is function-scoped and starts from an empty emulator.

=========================== ======================================================================
``cognito_emulator``        a fresh :class:`~cognito_mfa.testing.Emulator`, reached in-process:
                            aioboto3 clients and ``UserPool`` objects built with
                            ``config``/``botocore_config=httpx_client_config(cognito_emulator)``
                            and ``endpoint_url=EMULATOR_ENDPOINT`` talk to it (no socket).
``cognito_emulator_kwargs`` ``{}``; override it to pass options to ``Emulator(...)``.
``cognito_client_config``   ``httpx_client_config(cognito_emulator)``: the ``AioConfig`` to give
                            a ``UserPool`` (``botocore_config=``) or an aioboto3 client.
``cognito_client``          (async) an aioboto3 ``cognito-idp`` client on that emulator,
                            in-process, with fake credentials (``testing``) and no retries.
``cognito_seeder``          (async) a :class:`~cognito_mfa.testing.seed.Seeder` on that client,
                            on the emulator's clock.
``cognito_pool``            (async) a :class:`~cognito_mfa.testing.seed.SeededPool`: a pool with
                            MFA OPTIONAL and SMS, TOTP and e-mail codes available, and an app
                            client without a secret allowing SRP, password, admin-password and
                            refresh sign-in.
``cognito_user_factory``    (async) ``await cognito_user_factory(username=None,
                            password=DEFAULT_PASSWORD, *, phone=None, email=None, totp=False,
                            mfa=(), preferred=None, pool=None)`` → a confirmed
                            :class:`~cognito_mfa.testing.seed.SeededUser` in ``cognito_pool``
                            (or ``pool``); ``totp=True`` enrols, verifies and enables a software
                            token and the user's ``totp_secret`` holds its base32 secret;
                            ``mfa`` enables factors (``"SMS"``, ``"TOTP"``, ``"EMAIL"``),
                            ``preferred`` marks one preferred.
``cognito_outbox``          the list of :class:`~cognito_mfa.testing.SentMessage` (SMS and e-mail
                            codes) the emulator has sent, live.
``cognito_server``          an :class:`~cognito_mfa.testing.EmulatorServer` serving the *same*
                            ``cognito_emulator`` under uvicorn on a free loopback port (``.url``,
                            ``.emulator``, ``.lock``): seed with ``cognito_pool`` and
                            ``cognito_user_factory``, then call ``.url`` from any client.
=========================== ======================================================================

Example::

    async def test_sign_in(cognito_pool, cognito_user_factory, cognito_outbox):
        user = await cognito_user_factory(phone="+15555550100", mfa=["SMS"])
        ...  # sign in against EMULATOR_ENDPOINT; the SMS code is cognito_outbox[-1].code

    def test_served(cognito_server, cognito_pool, cognito_user_factory):
        ...  # the pool and users are served at cognito_server.url too

While ``cognito_server`` runs, the emulator is used from its thread too: hold
``cognito_server.lock`` around direct calls (``advance``, ``inject_fault``) made meanwhile.

The async fixtures use pytest-asyncio when it is installed (any loop scope: they are
function-scoped); without it they are plain pytest fixtures, for anyio's pytest plugin.
Heavy imports happen inside the fixtures, so loading the plugin costs nothing.
"""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, Final, TypeVar, cast

import pytest

if TYPE_CHECKING:
    from aiobotocore.config import AioConfig

    from .seed import MfaFactor, SeededPool, SeededUser, Seeder
    from .server import EmulatorServer
    from .service import Emulator, SentMessage

_F = TypeVar("_F", bound=Callable[..., Any])

try:
    import pytest_asyncio

    _async_fixture = cast(Callable[[_F], _F], pytest_asyncio.fixture)
except ImportError:  # pragma: no cover - depends on the environment
    _async_fixture = cast(Callable[[_F], _F], pytest.fixture)

__all__ = [
    "DEFAULT_PASSWORD",
    "cognito_client",
    "cognito_client_config",
    "cognito_emulator",
    "cognito_emulator_kwargs",
    "cognito_outbox",
    "cognito_pool",
    "cognito_seeder",
    "cognito_server",
    "cognito_user_factory",
]

#: The password :func:`cognito_user_factory` gives users unless told otherwise.
DEFAULT_PASSWORD: Final = "Correct-Horse-9"

UserFactory = Callable[..., Awaitable["SeededUser"]]


@pytest.fixture
def cognito_emulator_kwargs() -> dict[str, Any]:
    """Keyword arguments for the ``cognito_emulator``'s ``Emulator(...)``; override to change."""
    return {}


@pytest.fixture
def cognito_emulator(cognito_emulator_kwargs: dict[str, Any]) -> Emulator:
    """A fresh emulator, reached in-process with ``httpx_client_config(cognito_emulator)``."""
    from .service import Emulator

    return Emulator(**cognito_emulator_kwargs)


@pytest.fixture
def cognito_client_config(cognito_emulator: Emulator) -> AioConfig:
    """The ``AioConfig`` that reaches ``cognito_emulator`` in-process."""
    from .inprocess import httpx_client_config

    return httpx_client_config(cognito_emulator)


@_async_fixture
async def cognito_client(cognito_emulator: Emulator) -> AsyncIterator[Any]:
    """An aioboto3 ``cognito-idp`` client on the emulator, in-process (fake credentials)."""
    from .inprocess import emulator_client

    async with emulator_client(cognito_emulator) as client:
        yield client


@_async_fixture
async def cognito_seeder(cognito_client: Any, cognito_emulator: Emulator) -> Seeder:
    """A :class:`Seeder` on ``cognito_client``, computing TOTP codes on the emulator's clock."""
    from .seed import Seeder

    return Seeder(cognito_client, clock=cognito_emulator.now)


@_async_fixture
async def cognito_pool(cognito_seeder: Seeder) -> SeededPool:
    """A pool (MFA OPTIONAL; SMS, TOTP, e-mail available) and an app client without secret."""
    return await cognito_seeder.create_pool_and_client()


@_async_fixture
async def cognito_user_factory(cognito_seeder: Seeder, cognito_pool: SeededPool) -> UserFactory:
    """``await cognito_user_factory(...)`` → a confirmed :class:`SeededUser` (module docstring)."""
    numbers = itertools.count(1)

    async def create(
        username: str | None = None,
        password: str = DEFAULT_PASSWORD,
        *,
        phone: str | None = None,
        email: str | None = None,
        totp: bool = False,
        mfa: Sequence[MfaFactor] = (),
        preferred: MfaFactor | None = None,
        pool: SeededPool | None = None,
    ) -> SeededUser:
        return await cognito_seeder.create_user(
            pool or cognito_pool,
            username or f"user{next(numbers)}",
            password,
            phone=phone,
            email=email,
            totp=totp,
            mfa=mfa,
            preferred=preferred,
        )

    return create


@pytest.fixture
def cognito_outbox(cognito_emulator: Emulator) -> list[SentMessage]:
    """The SMS and e-mail codes the mounted emulator has sent (the live list)."""
    return cognito_emulator.messages


@pytest.fixture
def cognito_server(cognito_emulator: Emulator) -> Iterator[EmulatorServer]:
    """``cognito_emulator`` served on a free loopback port; stopped (thread joined) afterwards."""
    from .server import EmulatorServer

    with EmulatorServer(cognito_emulator) as server:
        yield server
