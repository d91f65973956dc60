"""A Cognito user-pool emulator for tests: documented, supported part of cognito_mfa.

Install it with ``pip install 'cognito-mfa[emulator]'``. The model (:class:`Emulator`, pure:
clock and randomness injected) speaks Cognito's real JSON 1.1 wire protocol through one ASGI
application (:class:`EmulatorApp`, every route: :mod:`cognito_mfa.testing.app`), reached two ways:

* **in-process**, no socket: an aioboto3 client with ``config=httpx_client_config(emulator)``
  and ``endpoint_url=EMULATOR_ENDPOINT`` (``http://cognito-idp.emulator.invalid``, a host that
  never resolves) sends its requests through ``httpx.ASGITransport`` into the app::

      emulator = Emulator()
      async with emulator_client(emulator) as client:   # that client, fake credentials
          pool = await Seeder(client, clock=emulator.now).create_pool_and_client()
      emulator.last_code("alice", "SMS")

* **on a loopback port**, under uvicorn: :class:`EmulatorServer` (``with EmulatorServer(
  emulator) as server: server.url``) or ``python -m cognito_mfa.testing serve --port 9229
  [--state FILE] [--seed FILE|demo]``, for boto3, aioboto3's default aiohttp client and the
  JavaScript SDK. Test-control routes: ``GET /_emulator/messages``, ``GET|POST
  /_emulator/clock``, ``GET /_emulator/totp``, ``POST``/``DELETE /_emulator/faults``.

Pools, clients and users are seeded through the real admin API (:class:`Seeder`), so the same
set-up works against moto or AWS. pytest fixtures (``cognito_emulator``, ``cognito_pool``,
``cognito_user_factory``, ``cognito_outbox``, ``cognito_server``, ...) come with the package as
a pytest plugin: see :mod:`cognito_mfa.testing.pytest_plugin`. :func:`mount` (respx) is a
deprecated shim over the same app.
"""

try:
    import httpx as _httpx  # noqa: F401
    import jwt as _jwt  # noqa: F401
    import uvicorn as _uvicorn  # noqa: F401
except ModuleNotFoundError as _missing:  # pragma: no cover - depends on the environment
    raise ModuleNotFoundError(
        f"the Cognito emulator needs {_missing.name!r}: pip install 'cognito-mfa[emulator]'",
        name=_missing.name,
    ) from _missing

from ._emulator import Emulator, SentMessage, WireResponse
from .app import EmulatorApp
from .inprocess import EMULATOR_ENDPOINT, emulator_client, httpx_client_config
from .mock import emulator_router, mount
from .seed import SeededPool, SeededUser, Seeder
from .server import EmulatorServer, load_emulator, write_state_atomically

__all__ = [
    "EMULATOR_ENDPOINT",
    "Emulator",
    "EmulatorApp",
    "EmulatorServer",
    "SeededPool",
    "SeededUser",
    "Seeder",
    "SentMessage",
    "WireResponse",
    "emulator_client",
    "emulator_router",
    "httpx_client_config",
    "load_emulator",
    "mount",
    "write_state_atomically",
]
