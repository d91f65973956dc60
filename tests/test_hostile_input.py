"""Crafted answers and saved states end in typed errors, within bounds (issue 11, findings 1, 3, 4).

Cognito is played by a respx router answering each operation with a crafted body. Deeply nested
or huge JSON inside an answer's strings, a token whose payload is ``[`` a hundred thousand
times, lone surrogates where a name is expected, a challenge we do not answer with parameters
of the wrong shape, an answer larger than the cap, a server that trickles: each ends in a
:class:`cm.CognitoError` subclass, never ``RecursionError``/``MemoryError``/
``UnicodeEncodeError``, and a flow never stays in a phase that waits for an answer that was
never sent. A second concurrent answer is refused while the first completes.
"""

from __future__ import annotations

import base64
import json
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import anyio
import httpx
import pytest
import respx
from aiobotocore.config import AioConfig
from aiobotocore.httpxsession import HttpxSession
from pydantic import SecretStr

import cognito_mfa as cm
from cognito_mfa import protocol
from cognito_mfa.flow import FlowState
from cognito_mfa.models import decode_jwt_claims_unverified

SESSION = "AYAB" + "x" * 60
POOL_ID = "us-east-1_Hostile"
CLIENT_ID = "client"
SCRIPTED_ENDPOINT = "https://cognito-idp.us-east-1.amazonaws.com"
DEEP_LISTS = "[" * 50000
LONG_NUMBER = "-" * 100000 + "1"
DEEP_OBJECTS = '{"a":' * 50000


def _jwt(payload: str) -> str:
    body = base64.urlsafe_b64encode(payload.encode()).decode().rstrip("=")
    return f"eyJhbGciOiJub25lIn0.{body}.c2ln"


GOOD_JWT = _jwt('{"username": "alice", "cognito:username": "alice"}')
DEEP_JWT = _jwt("[" * 100000)
NESTED_JWT = _jwt("[" * 1000 + "]" * 1000)


class Cognito:
    """A respx router answering each operation with the next crafted body; counts requests."""

    def __init__(self) -> None:
        self.answers: dict[str, list[Any]] = {}
        self.received: list[tuple[str, dict[str, Any]]] = []
        self.gates: dict[str, anyio.Event] = {}
        self.router = respx.mock(assert_all_called=False, assert_all_mocked=True)
        self.router.route(method="POST").mock(side_effect=self._reply)

    async def _reply(self, request: httpx.Request) -> httpx.Response:
        operation = request.headers["x-amz-target"].split(".", 1)[1]
        self.received.append((operation, json.loads(request.content)))
        if operation in self.gates:
            await self.gates[operation].wait()
        queue = self.answers.get(operation) or [
            {"__type": "InternalErrorException", "message": "unscripted"}
        ]
        body = queue.pop(0) if len(queue) > 1 else queue[0]
        if isinstance(body, bytes):
            raw, status = body, 200
        else:
            status = 500 if body.get("__type") else 200
            raw = json.dumps(body).encode()
        return httpx.Response(
            status, content=raw, headers={"Content-Type": "application/x-amz-json-1.1"}
        )

    def pool(self, client_secret: str | None = None, **kwargs: Any) -> cm.UserPool:
        return cm.UserPool(
            POOL_ID,
            CLIENT_ID,
            client_secret,
            # respx answers every request (assert_all_mocked): nothing reaches this host
            endpoint_url=SCRIPTED_ENDPOINT,
            botocore_config=AioConfig(http_session_cls=HttpxSession),
            retry_policy=kwargs.pop("retry_policy", cm.RetryPolicy(max_attempts=1)),
            **kwargs,
        )


@pytest.fixture
def cognito() -> Iterator[Cognito]:
    c = Cognito()
    with c.router:
        yield c


def _challenge(name: str, **parameters: Any) -> dict[str, Any]:
    return {"ChallengeName": name, "Session": SESSION, "ChallengeParameters": parameters}


async def _first(cognito: Cognito, answer: Any, *, secret: str | None = None) -> Any:
    """Sign in (USER_PASSWORD_AUTH) against ``answer``: the first challenge, or the error."""
    cognito.answers = {"InitiateAuth": [answer]}
    async with cognito.pool(secret) as pool:
        flow = pool.sign_in("alice", "Correct-Horse-9", auth_flow="USER_PASSWORD_AUTH")
        try:
            return await anext(aiter(flow))
        except cm.CognitoError as error:
            assert flow.phase is cm.Phase.FAILED
            return error


# --- finding 1: deep, huge and unencodable input -----------------------------------------------


@pytest.mark.parametrize("choices", [DEEP_LISTS, LONG_NUMBER, DEEP_OBJECTS, "[" * 40 + "]" * 40])
async def test_crafted_mfa_list_is_a_protocol_error(cognito: Cognito, choices: str) -> None:
    outcome = await _first(cognito, _challenge("SELECT_MFA_TYPE", MFAS_CAN_CHOOSE=choices))
    assert type(outcome) is cm.ProtocolError


async def test_moto_python_repr_list_is_still_read(cognito: Cognito) -> None:
    outcome = await _first(
        cognito, _challenge("SELECT_MFA_TYPE", MFAS_CAN_CHOOSE="['SMS_MFA', 'SOFTWARE_TOKEN_MFA']")
    )
    assert isinstance(outcome, cm.SelectMfaTypeChallenge)
    assert outcome.options == (cm.MfaType.SMS_MFA, cm.MfaType.SOFTWARE_TOKEN_MFA)


@pytest.mark.parametrize("attributes", [DEEP_OBJECTS, DEEP_LISTS, '{"a": "' + "x" * 70000 + '"}'])
async def test_crafted_user_attributes_are_a_protocol_error(
    cognito: Cognito, attributes: str
) -> None:
    outcome = await _first(cognito, _challenge("NEW_PASSWORD_REQUIRED", userAttributes=attributes))
    assert type(outcome) is cm.ProtocolError


@pytest.mark.parametrize("token", [DEEP_JWT, NESTED_JWT, "a." + "A" * 200000 + ".b"])
async def test_crafted_token_payloads_are_protocol_errors(cognito: Cognito, token: str) -> None:
    result = {"IdToken": token, "AccessToken": token, "RefreshToken": "r" * 40}
    cognito.answers = {"InitiateAuth": [{"AuthenticationResult": result}]}
    async with cognito.pool("client-secret-value") as pool:
        flow = pool.sign_in("alice", "Correct-Horse-9", auth_flow="USER_PASSWORD_AUTH")
        async for _ in flow:
            raise AssertionError("no challenge expected")
        session = flow.session
        for read in (
            lambda: session.username,
            lambda: session.unverified_id_claims,
            lambda: session.unverified_access_claims,
        ):
            with pytest.raises(cm.ProtocolError):
                read()
        sent = len(cognito.received)
        with pytest.raises(cm.ProtocolError):
            await pool.refresh(session)  # SECRET_HASH needs the username from the token
        assert len(cognito.received) == sent
    with pytest.raises(cm.ProtocolError):
        decode_jwt_claims_unverified(token)


def _state(**changes: Any) -> dict[str, Any]:
    state: dict[str, Any] = {
        "version": 1,
        "pool_id": POOL_ID,
        "client_id": CLIENT_ID,
        "challenge_name": "SELECT_MFA_TYPE",
        "challenge_parameters": {"MFAS_CAN_CHOOSE": '["SMS_MFA"]'},
        "username": "alice",
        "session": SESSION,
    }
    state.update(changes)
    return state


@pytest.mark.parametrize(
    "changes",
    [
        {"challenge_parameters": {"MFAS_CAN_CHOOSE": DEEP_LISTS}},
        {"challenge_parameters": {"MFAS_CAN_CHOOSE": LONG_NUMBER}},
        {
            "challenge_name": "NEW_PASSWORD_REQUIRED",
            "challenge_parameters": {"userAttributes": DEEP_OBJECTS},
        },
        {"username": "al\ud800ice"},
        {"challenge_parameters": {"MFAS_CAN_CHOOSE": '["SMS_MFA"]', "USERNAME": "\udfff"}},
        {"client_metadata": {"k": "\ud800"}},
    ],
)
async def test_crafted_saved_states_are_invalid_input(
    cognito: Cognito, changes: dict[str, Any]
) -> None:
    async with cognito.pool() as pool:
        text = json.dumps(_state(**changes))
        with pytest.raises(cm.InvalidInput):
            pool.resume(text)
        with pytest.raises(cm.InvalidInput):
            pool.resume(text.encode("utf-8", "surrogatepass"))
        with pytest.raises(cm.InvalidInput):
            pool.resume(json.dumps(_state(extra="x" * (FlowState.MAX_JSON + 1))))
    assert cognito.received == []


async def test_a_raw_nested_state_is_invalid_input(cognito: Cognito) -> None:
    async with cognito.pool() as pool:
        for text in (DEEP_LISTS, DEEP_OBJECTS, "[" * 100000):
            with pytest.raises(cm.InvalidInput):
                pool.resume(text)


@pytest.mark.parametrize("key", ["USERNAME", "USER_ID_FOR_SRP"])
@pytest.mark.parametrize("secret", [None, "client-secret-value"])
async def test_a_lone_surrogate_in_a_name_fails_typed_before_anything_is_sent(
    cognito: Cognito, key: str, secret: str | None
) -> None:
    outcome = await _first(cognito, _challenge("SMS_MFA", **{key: "ali\ud800ce"}), secret=secret)
    assert type(outcome) is cm.ProtocolError
    assert [op for op, _ in cognito.received] == ["InitiateAuth"]


async def test_a_lone_surrogate_in_password_verifier_is_a_protocol_error(
    cognito: Cognito,
) -> None:
    cognito.answers = {
        "InitiateAuth": [
            _challenge(
                "PASSWORD_VERIFIER",
                USER_ID_FOR_SRP="\ud800",
                SRP_B="ab" * 64,
                SALT="a1b2",
                SECRET_BLOCK="c2VjcmV0",
            )
        ]
    }
    async with cognito.pool("client-secret-value") as pool:
        flow = pool.sign_in("alice", "Correct-Horse-9")
        with pytest.raises(cm.ProtocolError):
            await anext(aiter(flow))
        assert flow.phase is cm.Phase.FAILED
    assert [op for op, _ in cognito.received] == ["InitiateAuth"]


async def test_a_state_that_skipped_validation_never_sticks_in_answering(
    cognito: Cognito,
) -> None:
    # model_construct skips the validators, as a caller's own code might
    state = FlowState.model_construct(
        **{
            **_state(challenge_name="SMS_MFA", challenge_parameters={}),
            "session": SecretStr(SESSION),
            "username": "ali\ud800ce",
        },
    )
    async with cognito.pool("client-secret-value") as pool:
        flow = pool.resume(state)
        with pytest.raises(cm.ProtocolError):
            await flow.send_mfa_code("123456")
        assert flow.phase is cm.Phase.WAITING or flow.phase is cm.Phase.CHALLENGED
    assert cognito.received == []


@pytest.mark.parametrize("parameters", [[], "x", 5, {"a": [1, {"b": 2}]}])
async def test_unsupported_challenge_whatever_its_parameters(
    cognito: Cognito, parameters: Any
) -> None:
    answer = {
        "ChallengeName": "CUSTOM_CHALLENGE",
        "Session": SESSION,
        "ChallengeParameters": parameters,
    }
    outcome = await _first(cognito, answer)
    assert isinstance(outcome, cm.UnsupportedChallenge)
    assert outcome.challenge_name == "CUSTOM_CHALLENGE"


async def test_a_huge_challenge_name_is_not_a_name(cognito: Cognito) -> None:
    outcome = await _first(cognito, {"ChallengeName": "X" * 100_000})
    assert type(outcome) is cm.ProtocolError
    assert len(str(outcome)) < 200


def test_parsers_refuse_deep_and_huge_text_directly() -> None:
    for text in (DEEP_LISTS, LONG_NUMBER, DEEP_OBJECTS):
        with pytest.raises(cm.ProtocolError):
            protocol.parse_mfa_list({"MFAS_CAN_CHOOSE": text}, "MFAS_CAN_CHOOSE")
        with pytest.raises(cm.ProtocolError):
            protocol.parse_new_password_required({"userAttributes": text})
        with pytest.raises(cm.ProtocolError):
            protocol.parse_new_password_required({"requiredAttributes": text})
    with pytest.raises(cm.ProtocolError):
        protocol.parse_auth_response(_challenge("SMS_MFA", USERNAME="\ud800"))
    with pytest.raises(cm.ProtocolError):
        protocol.answer_username({"USER_ID_FOR_SRP": "\udc00"}, "alice")


# --- finding 3: bounds on what is read, and on how long it takes ---------------------------------


async def test_a_huge_answer_is_not_read_whole(cognito: Cognito) -> None:
    huge = b'{"ChallengeName": "SMS_MFA", "x": "' + b"x" * (8 * 1024 * 1024) + b'"}'
    cognito.answers = {"InitiateAuth": [huge]}
    async with cognito.pool(retry_policy=cm.RetryPolicy(max_attempts=1)) as pool:
        flow = pool.sign_in("alice", "pw", auth_flow="USER_PASSWORD_AUTH")
        with pytest.raises(cm.ProtocolError, match="bytes"):
            await anext(aiter(flow))
        assert flow.phase is cm.Phase.FAILED


class TricklingServer:
    """A loopback HTTP server that answers one byte every ``interval`` seconds, or never."""

    def __init__(self, *, interval: float | None) -> None:
        self.interval = interval
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.connections: list[socket.socket] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _serve(self) -> None:
        self.listener.settimeout(0.1)
        while not self.stop.is_set():
            try:
                conn, _ = self.listener.accept()
            except TimeoutError:
                continue
            self.connections.append(conn)
            threading.Thread(target=self._answer, args=(conn,), daemon=True).start()

    def _answer(self, conn: socket.socket) -> None:
        try:
            conn.recv(65536)
            if self.interval is None:
                self.stop.wait()
                return
            head = b"HTTP/1.1 200 OK\r\nContent-Type: application/x-amz-json-1.1\r\n"
            conn.sendall(head + b"Transfer-Encoding: chunked\r\n\r\n")
            while not self.stop.is_set():
                conn.sendall(b"1\r\n \r\n")
                time.sleep(self.interval)
        except OSError:
            pass

    def __enter__(self) -> TricklingServer:
        self.thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop.set()
        self.thread.join(5)
        for conn in self.connections:
            conn.close()
        self.listener.close()


@pytest.fixture(params=[None, 0.05], ids=["silent", "trickling"])
def slow_server(request: pytest.FixtureRequest) -> Iterator[TricklingServer]:
    with TricklingServer(interval=request.param) as server:
        yield server


async def test_a_slow_server_times_out_at_the_deadline(slow_server: TricklingServer) -> None:
    policy = cm.RetryPolicy(max_attempts=4, deadline=1.0)
    async with cm.UserPool(
        POOL_ID, CLIENT_ID, endpoint_url=slow_server.url, retry_policy=policy
    ) as pool:
        flow = pool.sign_in("alice", "pw", auth_flow="USER_PASSWORD_AUTH")
        started = time.monotonic()
        with pytest.raises(cm.RequestTimeout, match="deadline"):
            await anext(aiter(flow))
        # generous: the point is that it ends, on a shared machine
        assert time.monotonic() - started < 10
        assert flow.phase is cm.Phase.FAILED


def test_transport_defaults_are_bounded() -> None:
    policy = cm.RetryPolicy()
    assert policy.deadline is not None and policy.deadline <= 60
    assert policy.max_response_bytes <= 16 * 1024 * 1024
    pool = cm.UserPool(POOL_ID, CLIENT_ID)
    config = pool.transport._config
    assert config.connect_timeout <= 10 and config.read_timeout <= 30
    for bad in (
        {"deadline": 0},
        {"deadline": -1.0},
        {"max_response_bytes": 0},
        {"max_attempts": 0},
    ):
        with pytest.raises(cm.InvalidInput):
            cm.RetryPolicy(**bad)


# --- finding 4: concurrent answers ----------------------------------------------------------------


async def test_a_second_concurrent_answer_is_refused_and_the_first_keeps_its_tokens(
    cognito: Cognito,
) -> None:
    tokens = {"AuthenticationResult": {"IdToken": GOOD_JWT, "AccessToken": GOOD_JWT}}
    gate = cognito.gates["RespondToAuthChallenge"] = anyio.Event()
    cognito.answers = {"InitiateAuth": [_challenge("SMS_MFA")], "RespondToAuthChallenge": [tokens]}
    async with cognito.pool() as pool:
        flow = pool.sign_in("alice", "pw", auth_flow="USER_PASSWORD_AUTH")
        challenge = await anext(aiter(flow))
        assert isinstance(challenge, cm.SmsMfaChallenge)
        refused: list[cm.CognitoError] = []

        async def second() -> None:
            with pytest.raises(cm.FlowStateError, match="in flight") as info:
                await challenge.answer("654321")
            refused.append(info.value)
            gate.set()

        async with anyio.create_task_group() as tg:
            tg.start_soon(challenge.answer, "123456")
            await anyio.wait_all_tasks_blocked()
            tg.start_soon(second)
        assert refused
        assert [op for op, _ in cognito.received] == ["InitiateAuth", "RespondToAuthChallenge"]
        assert flow.phase is cm.Phase.DONE
        assert flow.session.access_token.get_secret_value() == GOOD_JWT
        async for _ in flow:
            raise AssertionError("the flow is done")
