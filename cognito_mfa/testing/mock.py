"""The in-process front of the emulator: respx answers an aioboto3 client from an :class:`Emulator`.

How it works. aiobotocore can send requests through httpx
(``AioConfig(http_session_cls=HttpxSession)``, see :func:`httpx_client_config`); respx patches
httpx's transport, and the routes installed here hand each Cognito request to
:meth:`Emulator.handle` and turn the :class:`WireResponse` back into an ``httpx.Response``.

Routing. aiobotocore passes the full URL as httpx's ``target`` extension, so the URL respx sees
is mangled (``https://host.comhttps//host.com/``) and respx's ``host=`` patterns never match.
Cognito requests are therefore recognised by what survives intact: the method (POST), the
``X-Amz-Target: AWSCognitoIdentityProviderService.<Operation>`` header and the ``Host`` header,
which must name a Cognito endpoint (``cognito-idp[-fips].<region>.amazonaws.com[.cn]``, e.g.
:data:`EMULATOR_ENDPOINT`). A request counts as *signed* when it carries an
``Authorization: AWS4-HMAC-SHA256 ...`` header; the signature itself is not checked, as in
every local emulator. Two GET routes serve the same Cognito hosts:

* ``/{pool_id}/.well-known/jwks.json``: the pool's signing keys, where a service under test
  looks for them (the ``iss`` claim plus ``/.well-known/jwks.json``);
* ``/_emulator/messages``: the SMS and e-mail codes sent so far, as the served front does.

Unrelated traffic. Everything else (other hosts, an emulator served on a loopback port, any
non-Cognito request) is *passed through* to the real transport by default, so mounting the
emulator never silently answers a request meant for something else. Pass
``pass_through=False`` to make an unmatched request raise ``respx``'s
``AllMockedAssertionError`` instead, which proves a test makes no other network call. respx only
patches httpx's connection pool, so an ``httpx.ASGITransport`` (a FastAPI app under test) and
aiohttp-based clients are never intercepted at all. Routes are never asserted as called.

One limit comes from respx itself: while mounted, respx rebuilds every httpx request's URL
from aiobotocore's ``target`` and fails on an endpoint with an explicit port
(``Invalid port``). So, while the emulator is mounted, point httpx-session aioboto3 clients
only at Cognito endpoints; talk to a served emulator on a loopback port with aioboto3's
default aiohttp session, boto3 or plain httpx, which are unaffected.

Delays injected with :meth:`Emulator.inject_fault` are honoured with ``anyio.sleep`` when the
request comes from async code, so a caller's cancel scope can cut them short.

Usage::

    emulator = Emulator()
    with mount(emulator):
        async with aioboto3.Session().client(
            "cognito-idp",
            region_name="us-east-1",
            endpoint_url=EMULATOR_ENDPOINT,
            config=httpx_client_config(),
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        ) as client:
            ...
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import Awaitable, Iterator
from contextlib import contextmanager
from typing import Any, Final

import anyio
import httpx
import respx
from aiobotocore.config import AioConfig
from aiobotocore.httpxsession import HttpxSession

from .service import TARGET_PREFIX, Emulator, WireResponse

__all__ = [
    "COGNITO_HOST_PATTERN",
    "EMULATOR_ENDPOINT",
    "emulator_router",
    "httpx_client_config",
    "is_signed",
    "mount",
]

#: The endpoint to give an aioboto3 client whose requests the in-process front answers. It is
#: Cognito's real us-east-1 endpoint: requests to it never leave the process while mounted.
EMULATOR_ENDPOINT: Final = "https://cognito-idp.us-east-1.amazonaws.com"

#: ``Host`` headers the in-process front answers (any region, FIPS and China partitions).
COGNITO_HOST_PATTERN: Final = re.compile(
    r"^cognito-idp(-fips)?\.[a-z0-9-]+\.amazonaws\.com(\.cn)?(:\d+)?$", re.IGNORECASE
)

_JWKS_PATH: Final = re.compile(r"^/(?P<pool_id>[\w-]+_[0-9a-zA-Z]+)/\.well-known/jwks\.json$")
_MESSAGES_PATH: Final = "/_emulator/messages"
_JSON: Final = "application/json"


def httpx_client_config(**kwargs: Any) -> AioConfig:
    """An ``AioConfig`` that routes aiobotocore through httpx, where respx can answer it.

    Keyword arguments are passed on to ``AioConfig`` (e.g. ``retries={"total_max_attempts": 1}``).
    """
    return AioConfig(http_session_cls=HttpxSession, **kwargs)


def is_signed(headers: httpx.Headers) -> bool:
    """Whether a request carries a SigV4 ``Authorization`` header (its signature is not checked)."""
    return str(headers.get("authorization", "")).startswith("AWS4-HMAC-SHA256")


def _is_cognito_host(request: httpx.Request) -> bool:
    # The Host header survives aiobotocore's URL mangling; request.url.host does not.
    return bool(COGNITO_HOST_PATTERN.match(request.headers.get("host", "")))


def _path(request: httpx.Request) -> str:
    # With aiobotocore the real path is only in the "target" extension; plain httpx has the URL.
    target = request.extensions.get("target")
    if isinstance(target, bytes):
        raw = target.decode("ascii", "replace")
        return httpx.URL(raw).path if "://" in raw else raw.split("?", 1)[0]
    return request.url.path


def _in_async_context() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


def _to_httpx(
    wire: WireResponse, request: httpx.Request
) -> httpx.Response | Awaitable[httpx.Response]:
    response = httpx.Response(wire.status, content=wire.body, headers=wire.headers, request=request)
    if wire.delay <= 0:
        return response
    if _in_async_context():

        async def delayed() -> httpx.Response:
            await anyio.sleep(wire.delay)
            return response

        return delayed()
    # A synchronous httpx client: nothing else can run meanwhile, so blocking is faithful.
    time.sleep(wire.delay)
    return response


def _json_response(status: int, payload: Any, request: httpx.Request) -> httpx.Response:
    return httpx.Response(
        status,
        content=json.dumps(payload).encode(),
        headers={"Content-Type": _JSON},
        request=request,
    )


def emulator_router(emulator: Emulator, *, pass_through: bool = True) -> respx.MockRouter:
    """A respx router that answers Cognito requests from ``emulator`` (not started yet).

    Use it as a context manager (``with emulator_router(e) as router:``) or start/stop it
    yourself. See the module docstring for what is routed and what passes through.
    """
    router = respx.mock(assert_all_called=False, assert_all_mocked=True)

    def cognito_call(request: httpx.Request) -> httpx.Response | Awaitable[httpx.Response] | None:
        target = request.headers.get("x-amz-target")
        if target is None or not target.startswith(TARGET_PREFIX) or not _is_cognito_host(request):
            return None  # not ours: the next route (pass-through) or respx's policy decides
        wire = emulator.handle(target, request.content, signed=is_signed(request.headers))
        return _to_httpx(wire, request)

    def emulator_get(request: httpx.Request) -> httpx.Response | None:
        if not _is_cognito_host(request):
            return None
        path = _path(request)
        if path == _MESSAGES_PATH:
            return _json_response(200, [m.to_json() for m in emulator.messages], request)
        match = _JWKS_PATH.match(path)
        if match is None:
            return None
        pool_id = match["pool_id"]
        keys = emulator.jwks(pool_id)
        if keys is None:
            return _json_response(
                404,
                {
                    "__type": "ResourceNotFoundException",
                    "message": f"User pool {pool_id} does not exist.",
                },
                request,
            )
        return _json_response(200, keys, request)

    router.route(name="cognito", method="POST").mock(side_effect=cognito_call)
    router.route(name="cognito-get", method="GET").mock(side_effect=emulator_get)
    if pass_through:
        router.route(name="pass-through").pass_through()
    return router


@contextmanager
def mount(emulator: Emulator, *, pass_through: bool = True) -> Iterator[respx.MockRouter]:
    """Answer Cognito requests from ``emulator`` for the duration of the ``with`` block.

    Yields the started respx router (its ``calls`` record every intercepted request).
    """
    with emulator_router(emulator, pass_through=pass_through) as router:
        yield router
