"""Deprecated: the respx way to the emulator, kept as a thin shim over its ASGI application.

Use :func:`~cognito_mfa.testing.httpx_client_config` with the emulator instead (no process-wide
patching; see :mod:`cognito_mfa.testing.inprocess`). This module keeps old test suites working:
while :func:`mount` is active, respx answers httpx requests to the emulator's endpoint
(:data:`EMULATOR_ENDPOINT`) or to a Cognito endpoint (``cognito-idp[-fips].<region>.amazonaws
.com[.cn]``, recognised by the ``Host`` header, which survives aiobotocore's URL handling) by
handing them to the same :class:`~cognito_mfa.testing.app.EmulatorApp` the other ways use.

Nothing passes through to the network unless ``pass_through=True`` is given: any other request
fails with respx's ``AllMockedAssertionError``. Calls are not recorded in respx's call log (it
would keep every password and token for as long as the mount is active).
"""

from __future__ import annotations

import asyncio
import re
import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, ClassVar, Final

import httpx
import respx
from aiobotocore.httpxsession import HttpxSession

from .app import EmulatorApp, is_signed
from .inprocess import EMULATOR_ENDPOINT, emulator_app, httpx_client_config
from .service import Emulator

__all__ = [
    "COGNITO_HOST_PATTERN",
    "EMULATOR_ENDPOINT",
    "MountedHttpxSession",
    "emulator_router",
    "httpx_client_config",
    "is_signed",
    "mount",
]

#: ``Host`` headers the shim answers: the emulator's endpoint and Cognito's (any region).
COGNITO_HOST_PATTERN: Final = re.compile(
    r"^(cognito-idp\.emulator\.invalid|cognito-idp(-fips)?\.[a-z0-9-]+\.amazonaws\.com(\.cn)?)"
    r"(:\d+)?$",
    re.IGNORECASE,
)


class MountedHttpxSession(HttpxSession):  # type: ignore[misc]  # aiobotocore is untyped
    """aiobotocore's plain httpx session, answered by an active :func:`mount` (deprecated)."""

    cognito_mfa_in_process: ClassVar[bool] = True


class _QuietRouter(respx.MockRouter):
    # respx's call log would hold every request and response (passwords, tokens).
    def record(self, request: httpx.Request, **kwargs: Any) -> None:
        return None


def _forward_request(request: httpx.Request) -> httpx.Request:
    # aiobotocore puts the real URL in the "target" extension; plain httpx has it in the URL.
    target = request.extensions.get("target")
    url = target.decode("ascii", "replace") if isinstance(target, bytes) else str(request.url)
    if "://" not in url:
        url = f"http://{request.headers.get('host', 'localhost')}{url}"
    return httpx.Request(request.method, url, headers=request.headers, content=request.content)


async def _answer(app: EmulatorApp, request: httpx.Request) -> httpx.Response:
    transport = httpx.ASGITransport(app=app)
    response = await transport.handle_async_request(_forward_request(request))
    body = await response.aread()
    return httpx.Response(
        response.status_code, headers=response.headers, content=body, request=request
    )


def _answer_sync(app: EmulatorApp, request: httpx.Request) -> httpx.Response:
    # A synchronous httpx client: run the app on a loop of its own in a short-lived thread
    # (the caller's thread may be running a loop already).
    result: list[httpx.Response] = []
    failure: list[BaseException] = []

    def run() -> None:
        try:
            result.append(asyncio.run(_answer(app, request)))
        except BaseException as exc:
            failure.append(exc)

    thread = threading.Thread(target=run, name="cognito-mfa-emulator-respx")
    thread.start()
    thread.join()
    if failure:
        raise failure[0]
    return result[0]


def _in_async_context() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


def _router(emulator: Emulator, *, pass_through: bool) -> respx.MockRouter:
    app = emulator_app(emulator)
    router = _QuietRouter(assert_all_called=False, assert_all_mocked=True)

    def answer(request: httpx.Request) -> Any:
        if not COGNITO_HOST_PATTERN.match(request.headers.get("host", "")):
            return None  # not ours: pass-through (when asked) or respx refuses it
        if _in_async_context():
            return _answer(app, request)
        return _answer_sync(app, request)

    router.route(name="emulator").mock(side_effect=answer)
    if pass_through:
        router.route(name="pass-through").pass_through()
    return router


def emulator_router(emulator: Emulator, *, pass_through: bool = False) -> respx.MockRouter:
    """Deprecated: a respx router answering from ``emulator`` (not started yet)."""
    warnings.warn(
        "emulator_router() is deprecated: use httpx_client_config(emulator) and "
        "EMULATOR_ENDPOINT, which need no patching",
        DeprecationWarning,
        stacklevel=2,
    )
    return _router(emulator, pass_through=pass_through)


@contextmanager
def mount(emulator: Emulator, *, pass_through: bool = False) -> Iterator[respx.MockRouter]:
    """Deprecated: answer httpx requests to the emulator from ``emulator`` inside ``with``.

    Yields the started respx router (its call log stays empty).
    """
    warnings.warn(
        "mount() is deprecated: use httpx_client_config(emulator) and EMULATOR_ENDPOINT, "
        "which need no patching",
        DeprecationWarning,
        stacklevel=3,
    )
    with _router(emulator, pass_through=pass_through) as router:
        yield router
