"""The in-process way to the emulator: aioboto3 talks to :class:`EmulatorApp` with no socket.

aiobotocore lets a client choose its HTTP session class (``AioConfig(http_session_cls=...)``).
:func:`httpx_client_config` gives it a subclass of aiobotocore's ``HttpxSession`` whose
``httpx.AsyncClient`` sends every request through ``httpx.ASGITransport`` straight into the
emulator's ASGI application, the same one the served front runs under uvicorn. Nothing is
patched process-wide and nothing can pass through to the network: the transport has no
network behind it.

The client's endpoint is :data:`EMULATOR_ENDPOINT`, ``http://cognito-idp.emulator.invalid``:
a host under the ``.invalid`` top-level domain, which is reserved (RFC 6761) and never
resolves, so even a client built without this transport cannot reach a real Cognito. A
:class:`~cognito_mfa.UserPool` given this endpoint without the transport refuses to be built
(``InvalidInput``) rather than try. Usage::

    emulator = Emulator()
    async with emulator_client(emulator) as client:        # an aioboto3 cognito-idp client
        pool = await Seeder(client, clock=emulator.now).create_pool_and_client()
    async with UserPool(
        pool.pool_id, pool.client_id,
        endpoint_url=EMULATOR_ENDPOINT, botocore_config=httpx_client_config(emulator),
    ) as user_pool:
        ...
"""

from __future__ import annotations

import warnings
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, ClassVar, Final

import aioboto3
import httpx
from aiobotocore.config import AioConfig
from aiobotocore.httpxsession import HttpxSession

from ..transport import IN_PROCESS_EMULATOR_HOST
from .app import EmulatorApp, emulator_lock
from .service import Emulator

__all__ = [
    "EMULATOR_ENDPOINT",
    "EmulatorHttpxSession",
    "emulator_app",
    "emulator_client",
    "emulator_lock",
    "httpx_client_config",
]

#: The endpoint of the in-process emulator: not a real host (see the module docstring).
EMULATOR_ENDPOINT: Final = f"http://{IN_PROCESS_EMULATOR_HOST}"


def emulator_app(emulator: Emulator) -> EmulatorApp:
    """An in-process :class:`EmulatorApp` of ``emulator``.

    Apps are cheap and hold no state of their own beyond the emulator: every app of one
    emulator shares its lock (:func:`emulator_lock`), so they can be made freely.
    """
    return EmulatorApp(emulator, lock=emulator_lock(emulator))


class EmulatorHttpxSession(HttpxSession):  # type: ignore[misc]  # aiobotocore is untyped
    """aiobotocore's httpx session, sending every request to an ASGI app instead of a socket.

    Subclasses made by :func:`httpx_client_config` set :attr:`app`; aiobotocore instantiates
    the class itself, so the app travels on the class.
    """

    #: The ASGI application requests go to.
    app: ClassVar[Any] = None
    #: Read by :class:`cognito_mfa.UserPool`: this session reaches the in-process emulator.
    cognito_mfa_in_process: ClassVar[bool] = True

    async def __aenter__(self) -> EmulatorHttpxSession:
        if getattr(self, "_session", None) is not None:
            raise RuntimeError("the session is already open")
        if self.app is None:
            raise RuntimeError("use httpx_client_config(emulator) to make an emulator session")
        self._session = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=self.app), timeout=self._timeout
        )
        return self


def _session_class(app: Any) -> type[EmulatorHttpxSession]:
    return type("EmulatorHttpxSession", (EmulatorHttpxSession,), {"app": app})


def httpx_client_config(emulator: Emulator | EmulatorApp | None = None, **kwargs: Any) -> AioConfig:
    """An ``AioConfig`` whose client reaches ``emulator`` in-process (module docstring).

    Give it as ``config=`` to an aioboto3 client or ``botocore_config=`` to a ``UserPool``, with
    ``endpoint_url=EMULATOR_ENDPOINT``. Keyword arguments go to ``AioConfig`` (e.g.
    ``retries={"total_max_attempts": 1}``).

    Without an emulator (deprecated, the old spelling): a plain httpx session, answered only
    while :func:`~cognito_mfa.testing.mount` is active.
    """
    if emulator is None:
        warnings.warn(
            "httpx_client_config() without an emulator relies on the deprecated mount(); "
            "pass the emulator: httpx_client_config(emulator)",
            DeprecationWarning,
            stacklevel=2,
        )
        from .mock import MountedHttpxSession

        return AioConfig(http_session_cls=MountedHttpxSession, **kwargs)
    if isinstance(emulator, Emulator):
        app = emulator_app(emulator)
    elif isinstance(emulator, EmulatorApp):
        app = emulator
    else:
        raise TypeError("httpx_client_config() takes an Emulator or an EmulatorApp")
    return AioConfig(http_session_cls=_session_class(app), **kwargs)


@asynccontextmanager
async def emulator_client(
    emulator: Emulator | EmulatorApp, *, region: str = "us-east-1", **config: Any
) -> AsyncIterator[Any]:
    """An aioboto3 ``cognito-idp`` client on ``emulator`` in-process, with fake credentials.

    ``config`` goes to :func:`httpx_client_config`; botocore's retries are off unless given.
    """
    config.setdefault("retries", {"total_max_attempts": 1})
    session = aioboto3.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name=region
    )
    async with session.client(
        "cognito-idp",
        endpoint_url=EMULATOR_ENDPOINT,
        config=httpx_client_config(emulator, **config),
    ) as client:
        yield client
