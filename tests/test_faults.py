"""Throttling, server faults and network failures, against the emulator's fault injection.

The policy under test is the one ``cognito_mfa/transport.py`` documents: a throttled request
(TooManyRequestsException) was refused before Cognito processed it, so it is retried for every
operation; a server fault (InternalErrorException, 5xx) or a transport failure is retried only
for the idempotent operations (``IDEMPOTENT_OPERATIONS``: InitiateAuth, GetUser,
SetUserMFAPreference, ...) and surfaced typed for the others (a challenge answer,
AssociateSoftwareToken, VerifySoftwareToken), because Cognito may already have consumed the
session or the code. The emulator counts what it received, so "not replayed" means exactly one
call reached it. Connection refused, reset and read timeouts surface as ConnectionFailed and
RequestTimeout.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import pytest
from aiobotocore.config import AioConfig

import cognito_mfa as cm
from cognito_mfa.testing import (
    Emulator,
    EmulatorServer,
    SeededPool,
    SeededUser,
    Seeder,
)
from cognito_mfa.transport import IDEMPOTENT_OPERATIONS

if TYPE_CHECKING:
    from conftest import Way  # the shared fixtures' type (tests/conftest.py)

PASSWORD = "Correct-Horse-9"
PHONE = "+15555550100"
PREFIX = "AWSCognitoIdentityProviderService."


class CountingEmulator(Emulator):
    """An emulator that remembers which operation each request it received named."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.received: list[str] = []

    def handle(self, target: str | None, body: bytes, *, signed: bool) -> Any:
        self.received.append((target or "").removeprefix(PREFIX))
        return super().handle(target, body, signed=signed)

    def count(self, operation: str) -> int:
        return self.received.count(operation)


@dataclass(frozen=True)
class RecordingPolicy(cm.RetryPolicy):
    """The library's policy with tiny delays, recording each backoff it chose."""

    max_attempts: int = 4
    base_delay: float = 0.001
    max_delay: float = 0.004
    chosen: list[tuple[int, float]] = field(default_factory=list, compare=False)

    def delay(self, attempt: int) -> float:
        value = super().delay(attempt)
        self.chosen.append((attempt, value))
        return value


@dataclass
class Env:
    emulator: CountingEmulator
    seeder: Seeder
    seeded: SeededPool
    endpoint: str
    config: AioConfig | None
    policy: RecordingPolicy = field(default_factory=RecordingPolicy)

    def pool(self, **kwargs: Any) -> cm.UserPool:
        options: dict[str, Any] = {
            "endpoint_url": self.endpoint,
            "botocore_config": self.config,
            "retry_policy": self.policy,
            "clock": lambda: datetime.fromtimestamp(self.emulator.now(), UTC),
        }
        options.update(kwargs)
        return cm.UserPool(self.seeded.pool_id, self.seeded.client_id, **options)

    async def sms_user(self, name: str = "alice") -> SeededUser:
        return await self.seeder.create_user(self.seeded, name, PASSWORD, phone=PHONE, mfa=["SMS"])

    def sms_code(self, username: str) -> str:
        return self.emulator.last_code(username, "SMS")


@pytest.fixture
def cognito_emulator() -> CountingEmulator:
    """The shipped fixtures (client, seeder, pool, server) run on this emulator."""
    return CountingEmulator()


@pytest.fixture
def env(
    cognito_emulator: CountingEmulator, cognito_seeder: Seeder, cognito_pool: SeededPool, way: Way
) -> Env:
    """In-process or served (every test taking it runs both ways)."""
    return Env(
        cognito_emulator, cognito_seeder, cognito_pool, way.endpoint_url, way.botocore_config
    )


# --- the documented policy, as data --------------------------------------------------------


def test_the_policy_retries_throttling_everywhere_and_faults_only_when_idempotent() -> None:
    policy = cm.RetryPolicy(max_attempts=3)
    throttled = cm.TooManyRequests("Rate exceeded", operation="RespondToAuthChallenge")
    fault = cm.InternalError("Internal server error.")
    lost = cm.ConnectionFailed("reset")
    for operation in ("RespondToAuthChallenge", "VerifySoftwareToken", "InitiateAuth"):
        assert policy.should_retry(operation, throttled, 1)
        assert not policy.should_retry(operation, throttled, 3)  # attempts are bounded
    for operation in ("RespondToAuthChallenge", "AssociateSoftwareToken", "VerifySoftwareToken"):
        assert operation not in IDEMPOTENT_OPERATIONS
        assert not policy.should_retry(operation, fault, 1)
        assert not policy.should_retry(operation, lost, 1)
    for operation in ("InitiateAuth", "GetUser", "SetUserMFAPreference", "GlobalSignOut"):
        assert policy.should_retry(operation, fault, 1)
        assert policy.should_retry(operation, lost, 1)
    wrong = cm.CodeMismatch("Invalid code")
    assert not policy.should_retry("InitiateAuth", wrong, 1)


def test_backoff_is_exponential_with_full_jitter_and_capped() -> None:
    policy = cm.RetryPolicy(max_attempts=10, base_delay=0.1, max_delay=1.0)
    for attempt in range(1, 10):
        cap = min(1.0, 0.1 * 2 ** (attempt - 1))
        samples = [policy.delay(attempt) for _ in range(300)]
        assert all(0 <= s <= cap for s in samples)
        # full jitter spreads retries over the whole window, not at its top
        assert min(samples) < cap / 4 and max(samples) > cap * 3 / 4


# --- throttling: retried on every operation ------------------------------------------------


async def _sign_in_sms(env: Env, pool: cm.UserPool, user: SeededUser) -> cm.AuthFlow:
    flow = pool.sign_in(user.username, PASSWORD)
    challenge = await anext(aiter(flow))
    assert isinstance(challenge, cm.SmsMfaChallenge)
    return flow


@pytest.mark.parametrize("where", ["InitiateAuth", "PASSWORD_VERIFIER", "SMS_MFA answer"])
@pytest.mark.parametrize("error", ["TooManyRequestsException", "InternalErrorException"])
async def test_sign_in_faults(
    env: Env, where: str, error: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("DEBUG", logger="cognito_mfa.transport")
    user = await env.sms_user()
    operation = "InitiateAuth" if where == "InitiateAuth" else "RespondToAuthChallenge"
    retried = error == "TooManyRequestsException" or operation in IDEMPOTENT_OPERATIONS
    async with env.pool() as pool:
        flow = pool.sign_in(user.username, PASSWORD)
        if where != "SMS_MFA answer":
            env.emulator.inject_fault(operation, error=error, count=2)
            before = env.emulator.count(operation)
            if not retried:
                with pytest.raises(cm.InternalError) as info:
                    await anext(aiter(flow))
                assert info.value.operation == operation
                assert env.emulator.count(operation) - before == 1  # not replayed
                assert flow.phase is cm.Phase.FAILED
                return
            challenge = await anext(aiter(flow))
            # two refused, one answered: InitiateAuth 3, RespondToAuthChallenge 3 (PV only)
            assert env.emulator.count(operation) - before == 3
        else:
            challenge = await anext(aiter(flow))
            env.emulator.inject_fault(operation, error=error, count=2 if retried else 1)
            before = env.emulator.count(operation)
            code = env.sms_code(user.username)
            if not retried:
                with pytest.raises(cm.InternalError):
                    await challenge.answer(code)
                assert env.emulator.count(operation) - before == 1  # the answer is not replayed
                assert flow.phase is cm.Phase.FAILED
                with pytest.raises(cm.FlowStateError):
                    await challenge.answer(code)
                assert env.emulator.count(operation) - before == 1
                # a new sign-in works
                again = await _sign_in_sms(env, pool, user)
                await again.send_mfa_code(env.sms_code(user.username))
                assert again.done
                return
            await challenge.answer(code)
            assert env.emulator.count(operation) - before == 3
        assert isinstance(challenge, cm.SmsMfaChallenge)
        if not flow.done:
            await challenge.answer(env.sms_code(user.username))
        assert flow.done
    assert [attempt for attempt, _ in env.policy.chosen] == [1, 2]
    assert caplog.text.count(f"retrying {operation} after") == 2


async def test_throttling_gives_up_after_max_attempts(env: Env) -> None:
    user = await env.sms_user()
    async with env.pool() as pool:
        flow = await _sign_in_sms(env, pool, user)
        env.emulator.inject_fault(
            "RespondToAuthChallenge", error="TooManyRequestsException", count=9
        )
        before = env.emulator.count("RespondToAuthChallenge")
        with pytest.raises(cm.TooManyRequests) as info:
            await flow.send_mfa_code(env.sms_code(user.username))
        assert isinstance(info.value, cm.Throttled)
        assert info.value.operation == "RespondToAuthChallenge"
        assert env.emulator.count("RespondToAuthChallenge") - before == env.policy.max_attempts
        assert flow.phase is cm.Phase.FAILED
    assert len(env.policy.chosen) == env.policy.max_attempts - 1


async def _signed_in_user(env: Env, pool: cm.UserPool, user: SeededUser) -> cm.CognitoUser:
    flow = await _sign_in_sms(env, pool, user)
    await flow.send_mfa_code(env.sms_code(user.username))
    return pool.user(flow.session)


@pytest.mark.parametrize(
    "operation",
    ["AssociateSoftwareToken", "VerifySoftwareToken", "SetUserMFAPreference", "GetUser"],
)
@pytest.mark.parametrize("error", ["TooManyRequestsException", "InternalErrorException"])
async def test_management_faults(env: Env, operation: str, error: str) -> None:
    user = await env.sms_user()
    retried = error == "TooManyRequestsException" or operation in IDEMPOTENT_OPERATIONS
    async with env.pool() as pool:
        me = await _signed_in_user(env, pool, user)
        secret = None
        if operation != "AssociateSoftwareToken":
            secret = await me.associate_software_token()
        if operation == "SetUserMFAPreference":
            assert secret is not None
            await me.verify_software_token(secret.code_at(env.emulator.now()))

        async def call() -> object:
            if operation == "AssociateSoftwareToken":
                return await me.associate_software_token()
            if operation == "VerifySoftwareToken":
                assert secret is not None
                return await me.verify_software_token(secret.code_at(env.emulator.now()))
            if operation == "SetUserMFAPreference":
                settings = cm.MfaSettings(enabled=True, preferred=True)
                return await me.set_user_mfa_preference(software_token=settings)
            return await me.get_user_data()

        env.emulator.inject_fault(operation, error=error, count=2)
        before = env.emulator.count(operation)
        if retried:
            await call()
            assert env.emulator.count(operation) - before == 3
        else:
            with pytest.raises(cm.InternalError) as info:
                await call()
            assert info.value.operation == operation
            assert info.value.status == 500
            assert env.emulator.count(operation) - before == 1
            # nothing half-done on our side: the same call works once the fault is gone
            env.emulator.clear_faults()
            await call()
        if operation == "SetUserMFAPreference":
            assert (await me.get_user_data()).preferred_mfa is cm.MfaType.SOFTWARE_TOKEN_MFA


@pytest.mark.parametrize("operation", ["AssociateSoftwareToken", "VerifySoftwareToken"])
@pytest.mark.parametrize("error", ["TooManyRequestsException", "InternalErrorException"])
async def test_mfa_setup_faults(env: Env, operation: str, error: str) -> None:
    pool_id = await env.seeder.create_pool("setup", mfa="ON", sms=False, email=False)
    env.seeded = await env.seeder.create_client(pool_id)
    user = await env.seeder.create_user(env.seeded, "frank", PASSWORD)
    async with env.pool() as pool:
        flow = pool.sign_in(user.username, PASSWORD)
        setup = await anext(aiter(flow))
        assert isinstance(setup, cm.MfaSetupChallenge)
        secret = None
        if operation == "VerifySoftwareToken":
            secret = await setup.associate_software_token()
        env.emulator.inject_fault(operation, error=error, count=2)
        before = env.emulator.count(operation)

        async def step() -> None:
            nonlocal secret
            if operation == "AssociateSoftwareToken":
                secret = await setup.associate_software_token()
            else:
                assert secret is not None
                await setup.verify_software_token(secret.code_at(env.emulator.now()))

        if error == "InternalErrorException":
            with pytest.raises(cm.InternalError):
                await step()
            assert env.emulator.count(operation) - before == 1  # the session is not replayed
            assert flow.phase is cm.Phase.FAILED
            return
        await step()
        assert env.emulator.count(operation) - before == 3
        if operation == "AssociateSoftwareToken":
            assert secret is not None
            await setup.verify_software_token(secret.code_at(env.emulator.now()))
        assert flow.done


# --- the network below HTTP -----------------------------------------------------------------


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port  # nothing listens there any more: connecting is refused


@pytest.mark.parametrize("how", ["closed port", "stopped server"])
async def test_connection_refused_is_connection_failed(how: str) -> None:
    if how == "closed port":
        url = f"http://127.0.0.1:{_closed_port()}"
    else:
        server = EmulatorServer(Emulator())
        server.start()
        url = server.url
        server.stop()
    policy = RecordingPolicy()
    pool = cm.UserPool("us-east-1_Refused", "client", endpoint_url=url, retry_policy=policy)
    async with pool:
        flow = pool.sign_in("alice", PASSWORD)
        with pytest.raises(cm.ConnectionFailed) as info:
            await anext(aiter(flow))
    assert isinstance(info.value, cm.TransportError)
    assert info.value.operation == "InitiateAuth"
    assert PASSWORD not in str(info.value)
    # InitiateAuth is idempotent: every attempt was made before giving up
    assert len(policy.chosen) == policy.max_attempts - 1
    assert flow.phase is cm.Phase.FAILED


class ResettingServer:
    """A loopback listener that reads a request, then resets the connection (RST)."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(0.1)
        self.accepted = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.listener.getsockname()[1]}"

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                connection, _ = self.listener.accept()
            except TimeoutError:
                continue
            self.accepted += 1
            with connection:
                connection.settimeout(2)
                with contextlib.suppress(OSError):
                    connection.recv(65536)
                # linger 0: close() sends RST instead of FIN
                connection.setsockopt(
                    socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00"
                )

    def __enter__(self) -> ResettingServer:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join()
        self.listener.close()


async def test_connection_reset_is_connection_failed() -> None:
    policy = RecordingPolicy(max_attempts=2)
    with ResettingServer() as server:
        pool = cm.UserPool(
            "us-east-1_Reset", "client", endpoint_url=server.url, retry_policy=policy
        )
        async with pool:
            with pytest.raises(cm.ConnectionFailed) as info:
                await anext(aiter(pool.sign_in("alice", PASSWORD)))
        assert info.value.operation == "InitiateAuth"
        assert server.accepted == 2  # retried once (idempotent), then surfaced


@pytest.fixture
def served(
    cognito_emulator: CountingEmulator,
    cognito_seeder: Seeder,
    cognito_pool: SeededPool,
    cognito_server: EmulatorServer,
) -> tuple[Env, EmulatorServer]:
    """The emulator and pool over a loopback socket (uvicorn) only: socket-level faults."""
    env = Env(cognito_emulator, cognito_seeder, cognito_pool, cognito_server.url, None)
    return env, cognito_server


READ_TIMEOUT = AioConfig(read_timeout=0.3, connect_timeout=2)


async def test_read_timeout_on_an_idempotent_call_is_retried_then_typed(
    served: tuple[Env, EmulatorServer],
) -> None:
    env, server = served
    user = await env.sms_user()
    env.policy = RecordingPolicy(max_attempts=2)
    with server.lock:
        env.emulator.inject_fault("InitiateAuth", error=None, delay=1.0, count=2)
    async with env.pool(botocore_config=READ_TIMEOUT) as pool:
        flow = pool.sign_in(user.username, PASSWORD)
        started = time.monotonic()
        with pytest.raises(cm.RequestTimeout) as info:
            await anext(aiter(flow))
        assert time.monotonic() - started < 1.5  # two 0.3 s timeouts, not the 1 s answers
    assert info.value.operation == "InitiateAuth"
    assert env.emulator.count("InitiateAuth") == 2
    assert flow.phase is cm.Phase.FAILED


async def test_read_timeout_on_a_challenge_answer_is_not_replayed(
    served: tuple[Env, EmulatorServer],
) -> None:
    env, server = served
    user = await env.sms_user()
    async with env.pool(botocore_config=READ_TIMEOUT) as pool:
        flow = await _sign_in_sms(env, pool, user)
        with server.lock:
            code = env.sms_code(user.username)
            env.emulator.inject_fault("RespondToAuthChallenge", error=None, delay=1.0)
            before = env.emulator.count("RespondToAuthChallenge")
        with pytest.raises(cm.RequestTimeout):
            await flow.send_mfa_code(code)
        with server.lock:
            assert env.emulator.count("RespondToAuthChallenge") - before == 1
        assert flow.phase is cm.Phase.FAILED
        assert env.policy.chosen == []
        # Cognito may have consumed the session: the way on is a new sign-in
        again = await _sign_in_sms(env, pool, user)
        with server.lock:
            code = env.sms_code(user.username)
        await again.send_mfa_code(code)
        assert again.done
