"""Drivers for the emulator's service and wire tests: JSON in, JSON out, over HTTP.

test_service*.py and test_wire*.py use the fixtures and import the helpers. The ``h`` fixture
(and ``harness_for``, for a test that builds its own :class:`Emulator`) is parametrised over
both fronts: ``in-process`` (the emulator's app through ``httpx.ASGITransport``) and ``served``
(the same app under uvicorn, reached with a synchronous ``httpx.Client``), so every operation a
test calls goes through the HTTP application. ``Harness(emulator)`` without a front calls
:meth:`Emulator.handle` directly: only for tests of the model itself (the state file, the
fault's ``delay`` field, property tests). The SRP answers come from srp_answers.py, TOTP codes
from the emulator's clock, so every test drives the emulator as a real client would. (The
aioboto3 fronts' fixtures live in fronts.py.)
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import ssl
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import ExitStack
from dataclasses import dataclass, field
from functools import cache
from typing import Any, Protocol

import anyio.from_thread
import httpx
import pytest
import srp_answers

from cognito_mfa.testing import EMULATOR_ENDPOINT, EmulatorServer
from cognito_mfa.testing.inprocess import emulator_app
from cognito_mfa.testing.service import SIGNED_OPERATIONS, Emulator

PREFIX = "AWSCognitoIdentityProviderService."
PASSWORD = "Passw0rd!"
START = 1_800_000_000.0


class FakeClock:
    def __init__(self, start: float = START) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now


def secret_hash(secret: str, username: str, client_id: str) -> str:
    digest = hmac.new(secret.encode(), (username + client_id).encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


# any SigV4 header: the emulator checks that one is there, never the signature
FAKE_SIGNATURE = (
    "AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/cognito-idp/aws4_request, "
    "SignedHeaders=host, Signature=00"
)
FRONTS = ("in-process", "served")


@dataclass
class Failure:
    status: int
    code: str
    message: str


@dataclass(frozen=True)
class Reply:
    """One answer to a Cognito call: status, body and headers (any case, as HTTP has them)."""

    status: int
    body: bytes = field(repr=False)  # carries tokens and sessions
    headers: Mapping[str, str]
    #: The wait the model asked of its front (direct only: a front has already waited it).
    delay: float = 0.0


class Send(Protocol):
    def __call__(self, target: str | None, body: bytes, *, signed: bool) -> Reply: ...


def direct(emulator: Emulator) -> Send:
    """Straight into :meth:`Emulator.handle`: no HTTP (tests of the model only)."""

    def send(target: str | None, body: bytes, *, signed: bool) -> Reply:
        wire = emulator.handle(target, body, signed=signed)
        return Reply(wire.status, wire.body, httpx.Headers(wire.headers), wire.delay)

    return send


@cache
def _tls() -> ssl.SSLContext:
    # every request here is plain HTTP; sharing one context spares each client building its
    # own (about 25 ms each, hundreds of clients a run)
    return ssl.create_default_context()


def _request_headers(target: str | None, signed: bool) -> dict[str, str]:
    headers = {"Content-Type": "application/x-amz-json-1.1"}
    if target is not None:
        headers["X-Amz-Target"] = target
    if signed:
        headers["Authorization"] = FAKE_SIGNATURE
    return headers


def in_process(emulator: Emulator, stack: ExitStack) -> Send:
    """Through ``httpx.ASGITransport`` into the emulator's app, as the in-process client goes.

    The transport is async only; a blocking portal (an event loop in a thread, closed with
    ``stack``) runs it, so the synchronous tests stay synchronous.
    """
    portal = stack.enter_context(anyio.from_thread.start_blocking_portal())
    client = stack.enter_context(
        portal.wrap_async_context_manager(
            httpx.AsyncClient(
                base_url=EMULATOR_ENDPOINT,
                verify=_tls(),
                transport=httpx.ASGITransport(app=emulator_app(emulator)),
            )
        )
    )

    async def post(target: str | None, body: bytes, signed: bool) -> httpx.Response:
        return await client.post("/", content=body, headers=_request_headers(target, signed))

    def send(target: str | None, body: bytes, *, signed: bool) -> Reply:
        response = portal.call(post, target, body, signed)
        return Reply(response.status_code, response.content, response.headers)

    return send


class ServerStopper:
    """Stops served emulators in the background, each joined when the run ends.

    uvicorn's shutdown takes about 0.2 s (its main loop's tick, then a pause for connections
    to close); the next test need not wait for the last one's server to finish stopping.
    """

    def __init__(self) -> None:
        self._threads: list[threading.Thread] = []

    def stop_later(self, server: EmulatorServer) -> None:
        thread = threading.Thread(target=server.stop, name="emulator-server-stop")
        thread.start()
        self._threads.append(thread)

    def join(self) -> None:
        for thread in self._threads:
            thread.join()
        self._threads.clear()


def served(emulator: Emulator, stack: ExitStack, stopper: ServerStopper) -> Send:
    """Through uvicorn on a loopback port (:class:`EmulatorServer`), stopped after ``stack``."""
    server = EmulatorServer(emulator)
    server.start()
    stack.callback(stopper.stop_later, server)
    return over_http(stack.enter_context(httpx.Client(base_url=server.url, verify=_tls())))


def over_http(client: httpx.Client) -> Send:
    """Cognito calls posted with ``client`` (its ``base_url`` is a served emulator's)."""

    def send(target: str | None, body: bytes, *, signed: bool) -> Reply:
        response = client.post("/", content=body, headers=_request_headers(target, signed))
        return Reply(response.status_code, response.content, response.headers)

    return send


class Harness:
    """Drives the emulator with Python dicts, through ``send`` (default: :func:`direct`)."""

    def __init__(self, emulator: Emulator, send: Send | None = None) -> None:
        self.emu = emulator
        self.send = send if send is not None else direct(emulator)

    def raw(self, op: str, body: dict[str, Any] | bytes, *, signed: bool | None = None) -> Reply:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        if signed is None:
            signed = op in SIGNED_OPERATIONS
        return self.send(PREFIX + op, data, signed=signed)

    def ok(self, op: str, **body: Any) -> dict[str, Any]:
        response = self.raw(op, body)
        assert response.status == 200, response.body
        result: dict[str, Any] = json.loads(response.body)
        return result

    def fail(self, op: str, **body: Any) -> Failure:
        response = self.raw(op, body)
        assert response.status != 200, response.body
        data = json.loads(response.body)
        assert set(data) == {"__type", "message"}
        return Failure(response.status, data["__type"], data["message"])

    # --- seeding ----------------------------------------------------------------------------

    def pool(self, **kwargs: Any) -> str:
        kwargs.setdefault("PoolName", "pool")
        pool_id: str = self.ok("CreateUserPool", **kwargs)["UserPool"]["Id"]
        return pool_id

    def mfa_config(
        self, pool_id: str, mfa: str, *, sms: bool = False, totp: bool = False, email: bool = False
    ) -> None:
        body: dict[str, Any] = {"UserPoolId": pool_id, "MfaConfiguration": mfa}
        if sms:
            body["SmsMfaConfiguration"] = {"SmsAuthenticationMessage": "Code {####}"}
        body["SoftwareTokenMfaConfiguration"] = {"Enabled": totp}
        if email:
            body["EmailMfaConfiguration"] = {"Message": "Code {####}", "Subject": "Code"}
        self.ok("SetUserPoolMfaConfig", **body)

    def client(self, pool_id: str, **kwargs: Any) -> tuple[str, str | None]:
        kwargs.setdefault("ClientName", "app")
        kwargs.setdefault(
            "ExplicitAuthFlows",
            [
                "ALLOW_USER_SRP_AUTH",
                "ALLOW_USER_PASSWORD_AUTH",
                "ALLOW_ADMIN_USER_PASSWORD_AUTH",
                "ALLOW_REFRESH_TOKEN_AUTH",
            ],
        )
        shape = self.ok("CreateUserPoolClient", UserPoolId=pool_id, **kwargs)["UserPoolClient"]
        return shape["ClientId"], shape.get("ClientSecret")

    def user(
        self,
        pool_id: str,
        username: str,
        *,
        password: str = PASSWORD,
        permanent: bool = True,
        **attributes: str,
    ) -> str:
        """Create a user; return the internal username (a UUID in email-as-username pools)."""
        created = self.ok(
            "AdminCreateUser",
            UserPoolId=pool_id,
            Username=username,
            MessageAction="SUPPRESS",
            TemporaryPassword=password,
            UserAttributes=[{"Name": k, "Value": v} for k, v in attributes.items()],
        )
        internal: str = created["User"]["Username"]
        if permanent:
            self.ok(
                "AdminSetUserPassword",
                UserPoolId=pool_id,
                Username=internal,
                Password=password,
                Permanent=True,
            )
        return internal

    # --- sign-in ----------------------------------------------------------------------------

    def password_auth(
        self, client_id: str, username: str, password: str = PASSWORD, **extra: str
    ) -> dict[str, Any]:
        return self.ok(
            "InitiateAuth",
            AuthFlow="USER_PASSWORD_AUTH",
            ClientId=client_id,
            AuthParameters={"USERNAME": username, "PASSWORD": password, **extra},
        )

    def srp_start(
        self, client_id: str, username: str, **extra: str
    ) -> tuple[dict[str, Any], int, int]:
        a, big_a = srp_answers.ephemeral()
        started = self.ok(
            "InitiateAuth",
            AuthFlow="USER_SRP_AUTH",
            ClientId=client_id,
            AuthParameters={"USERNAME": username, "SRP_A": format(big_a, "x"), **extra},
        )
        return started, a, big_a

    def srp_answers(
        self,
        pool_id: str,
        started: dict[str, Any],
        a: int,
        big_a: int,
        password: str,
        *,
        timestamp: str | None = None,
    ) -> dict[str, str]:
        return srp_answers.password_verifier(
            pool_id,
            started["ChallengeParameters"],
            a,
            big_a,
            password,
            now=self.emu.now(),
            timestamp=timestamp,
        )

    def srp_sign_in(
        self, pool_id: str, client_id: str, username: str, password: str = PASSWORD
    ) -> dict[str, Any]:
        """USER_SRP_AUTH then PASSWORD_VERIFIER; returns the second response (200 only)."""
        started, a, big_a = self.srp_start(client_id, username)
        answers = self.srp_answers(pool_id, started, a, big_a, password)
        return self.ok(
            "RespondToAuthChallenge",
            ClientId=client_id,
            ChallengeName="PASSWORD_VERIFIER",
            Session=started["Session"],
            ChallengeResponses=answers,
        )

    def answer(self, client_id: str, step: dict[str, Any], **responses: str) -> dict[str, Any]:
        return self.ok(
            "RespondToAuthChallenge",
            ClientId=client_id,
            ChallengeName=step["ChallengeName"],
            Session=step["Session"],
            ChallengeResponses=responses,
        )

    def answer_fail(self, client_id: str, step: dict[str, Any], **responses: str) -> Failure:
        return self.fail(
            "RespondToAuthChallenge",
            ClientId=client_id,
            ChallengeName=step["ChallengeName"],
            Session=step["Session"],
            ChallengeResponses=responses,
        )

    def enrol_totp(self, pool_id: str, access_token: str, username: str) -> str:
        """Associate and verify TOTP with an access token, then enable it; returns the secret."""
        secret: str = self.ok("AssociateSoftwareToken", AccessToken=access_token)["SecretCode"]
        code = self.emu.totp_code(pool_id, username)
        assert (
            self.ok("VerifySoftwareToken", AccessToken=access_token, UserCode=code)["Status"]
            == "SUCCESS"
        )
        self.ok(
            "SetUserMFAPreference",
            AccessToken=access_token,
            SoftwareTokenMfaSettings={"Enabled": True},
        )
        # the verifying code's 30 s step is spent; move on so the next code is fresh
        self.emu.advance(30)
        return secret


@pytest.fixture
def svc_clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def svc_emulator(svc_clock: FakeClock) -> Emulator:
    return Emulator(clock=svc_clock)


HarnessFor = Callable[[Emulator], Harness]


@pytest.fixture(scope="session")
def server_stopper() -> Iterator[ServerStopper]:
    stopper = ServerStopper()
    yield stopper
    stopper.join()


@pytest.fixture(params=FRONTS)
def harness_for(
    request: pytest.FixtureRequest, server_stopper: ServerStopper
) -> Iterator[HarnessFor]:
    """Makes a :class:`Harness` over this run's front for any emulator (each closed after)."""
    with ExitStack() as stack:

        def make(emulator: Emulator) -> Harness:
            if request.param == "in-process":
                return Harness(emulator, in_process(emulator, stack))
            return Harness(emulator, served(emulator, stack, server_stopper))

        yield make


@pytest.fixture
def h(harness_for: HarnessFor, svc_emulator: Emulator) -> Harness:
    return harness_for(svc_emulator)


@pytest.fixture
def direct_h(svc_emulator: Emulator) -> Harness:
    """A :class:`Harness` straight into the model, for the tests that examine it directly."""
    return Harness(svc_emulator)
