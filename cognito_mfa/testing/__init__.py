"""A Cognito user-pool emulator for tests: documented, supported part of cognito_mfa.

The model (:class:`Emulator`, pure: clock and randomness injected) speaks Cognito's real JSON
1.1 wire protocol through two fronts:

* **in-process**: :func:`mount` answers an aioboto3 client that uses aiobotocore's httpx
  session (:func:`httpx_client_config`) and :data:`EMULATOR_ENDPOINT`, through respx::

      emulator = Emulator()
      with mount(emulator):
          async with aioboto3.Session().client(
              "cognito-idp", region_name="us-east-1", endpoint_url=EMULATOR_ENDPOINT,
              config=httpx_client_config(),
              aws_access_key_id="testing", aws_secret_access_key="testing",
          ) as client:
              await Seeder(client).create_pool_and_client()
          emulator.last_code("alice", "SMS")

* **on a loopback port**: :class:`EmulatorServer` (``with EmulatorServer(Emulator()) as
  server: server.url``) or ``python -m cognito_mfa.testing serve --port 9229 [--state FILE]``,
  for boto3, aioboto3's default aiohttp client and the JavaScript SDK (``endpoint`` option).
  Test-control routes: ``GET /_emulator/messages``, ``POST /_emulator/clock``,
  ``POST``/``DELETE /_emulator/faults`` (see :mod:`cognito_mfa.testing.server`).

Pools, clients and users are seeded through the real admin API (:class:`Seeder`), so the same
set-up works against moto or AWS. pytest fixtures (``cognito_emulator``, ``cognito_pool``,
``cognito_user_factory``, ``cognito_outbox``, ``cognito_server``, ...) come with the package as
a pytest plugin: see :mod:`cognito_mfa.testing.pytest_plugin`.
"""

from ._emulator import Emulator, SentMessage, WireResponse
from .mock import EMULATOR_ENDPOINT, emulator_router, httpx_client_config, mount
from .seed import SeededPool, SeededUser, Seeder
from .server import EmulatorServer, load_emulator, write_state_atomically

__all__ = [
    "EMULATOR_ENDPOINT",
    "Emulator",
    "EmulatorServer",
    "SeededPool",
    "SeededUser",
    "Seeder",
    "SentMessage",
    "WireResponse",
    "emulator_router",
    "httpx_client_config",
    "load_emulator",
    "mount",
    "write_state_atomically",
]
