"""The sign-in state machine (pure) and the AuthFlow driver over a scripted transport."""

from __future__ import annotations

import secrets
import threading
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import anyio
import anyio.lowlevel
import botocore.session
import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import SecretStr, TypeAdapter

import cognito_mfa as cm
from cognito_mfa import _flow as flow
from cognito_mfa import _protocol, challenges
from cognito_mfa import _srp as srp
from cognito_mfa._flow import TRANSITIONS, Event, FlowMachine, Phase
from cognito_mfa._protocol import ChallengeStep, TokensStep
from cognito_mfa.errors import error_for_code

SESSION = "S" * 40

# --- the table -------------------------------------------------------------------------------


def _apply(machine: FlowMachine, event: Event) -> None:
    if event is Event.FAIL:
        machine.fail()
    elif event in flow.CALLER_EVENTS:
        machine.send(event)
    else:
        machine.receive(event)


@pytest.mark.parametrize("phase", list(Phase), ids=lambda p: p.value)
@pytest.mark.parametrize("event", list(Event), ids=lambda e: e.value)
def test_every_phase_event_pair(phase: Phase, event: Event) -> None:
    machine = FlowMachine(phase=phase)
    target = TRANSITIONS.get((phase, event))
    if event is Event.FAIL:
        machine.fail()
        assert machine.phase is (phase if phase is Phase.DONE else Phase.FAILED)
        return
    if target is not None:
        _apply(machine, event)
        assert machine.phase is target
        return
    expected: type[Exception]
    if event in flow.CALLER_EVENTS or phase is Phase.FAILED:
        expected = cm.FlowStateError
    else:
        expected = cm.ProtocolError
    with pytest.raises(expected):
        _apply(machine, event)
    if event in flow.CALLER_EVENTS and phase in flow.IN_FLIGHT_PHASES:
        # a caller's move racing a request in flight is refused and changes nothing
        assert machine.phase is phase
        return
    # fail closed; terminal phases stay as they are
    assert machine.phase is (phase if phase in flow.TERMINAL_PHASES else Phase.FAILED)


def test_event_kinds_partition_the_events() -> None:
    assert flow.CALLER_EVENTS | flow.SERVER_EVENTS | {Event.FAIL} == set(Event)
    assert not flow.CALLER_EVENTS & flow.SERVER_EVENTS
    machine = FlowMachine()
    with pytest.raises(ValueError):
        machine.send(Event.TOKENS)
    with pytest.raises(ValueError):
        machine.receive(Event.NEXT)


def test_every_phase_is_reachable_from_idle() -> None:
    seen = {Phase.IDLE}
    frontier = [Phase.IDLE]
    while frontier:
        phase = frontier.pop()
        for (source, _event), target in TRANSITIONS.items():
            if source is phase and target not in seen:
                seen.add(target)
                frontier.append(target)
    assert seen == set(Phase)


def test_terminal_phases_have_no_way_out() -> None:
    for (source, _event), target in TRANSITIONS.items():
        if source in flow.TERMINAL_PHASES:
            assert target is source


@given(st.lists(st.sampled_from(list(Event)), max_size=30))
def test_random_event_sequences_keep_the_invariants(events: list[Event]) -> None:
    machine = FlowMachine()
    for event in events:
        before = machine.phase
        try:
            _apply(machine, event)
        except (cm.FlowStateError, cm.ProtocolError):
            assert (before, event) not in TRANSITIONS
            unchanged = before in flow.TERMINAL_PHASES or (
                event in flow.CALLER_EVENTS and before in flow.IN_FLIGHT_PHASES
            )
            assert machine.phase is (before if unchanged else Phase.FAILED)
        else:
            if event is Event.FAIL:
                assert machine.phase in flow.TERMINAL_PHASES
            else:
                assert machine.phase is TRANSITIONS[(before, event)]
        if before in flow.TERMINAL_PHASES:
            assert machine.phase is before


def test_stale_step_is_refused_and_changes_nothing() -> None:
    machine = FlowMachine(phase=Phase.CHALLENGED, step=2)
    with pytest.raises(cm.FlowStateError, match="already answered"):
        machine.send(Event.ANSWER, step=1)
    assert machine.phase is Phase.CHALLENGED
    done = FlowMachine(phase=Phase.DONE, step=2)
    with pytest.raises(cm.FlowStateError):
        done.send(Event.ANSWER, step=2)
    assert done.phase is Phase.DONE


# --- responses into the machine --------------------------------------------------------------


def test_receive_auth_step_challenge_and_tokens() -> None:
    machine = FlowMachine(phase=Phase.STARTING, username="alice@example.com")
    machine.receive_auth_step(
        ChallengeStep(
            "PASSWORD_VERIFIER", None, {"USER_ID_FOR_SRP": "uuid-1", "USERNAME": "uuid-1"}
        )
    )
    assert machine.phase is Phase.VERIFYING_PASSWORD
    assert machine.username == "uuid-1"
    assert machine.step == 0
    machine.receive_auth_step(ChallengeStep("SMS_MFA", SecretStr(SESSION), {}))
    assert machine.phase is Phase.CHALLENGED
    assert machine.step == 1
    assert machine.username == "uuid-1"  # kept when the challenge names nobody
    assert machine.challenge_session is not None
    assert machine.challenge_session.get_secret_value() == SESSION
    assert SESSION not in repr(machine)
    machine.send(Event.ANSWER, step=1)
    machine.receive_auth_step(TokensStep({"IdToken": "i", "AccessToken": "a"}))
    assert machine.phase is Phase.DONE
    assert machine.challenge_session is None


def test_mfa_challenge_without_session_is_a_protocol_error() -> None:
    machine = FlowMachine(phase=Phase.STARTING)
    with pytest.raises(cm.ProtocolError, match="Session"):
        machine.receive_auth_step(ChallengeStep("SMS_MFA", None, {}))
    assert machine.phase is Phase.FAILED


# Every ChallengeNameType in botocore's model, classified. A new name in botocore fails here.
UNSUPPORTED = {
    "CUSTOM_CHALLENGE",
    "SELECT_CHALLENGE",
    "DEVICE_SRP_AUTH",
    "DEVICE_PASSWORD_VERIFIER",
    "ADMIN_NO_SRP_AUTH",
    "SMS_OTP",
    "PASSWORD",
    "WEB_AUTHN",
    "PASSWORD_SRP",
}


def test_drift_every_botocore_challenge_is_classified() -> None:
    model = botocore.session.get_session().get_service_model("cognito-idp")
    names = set(model.shape_for("ChallengeNameType").enum)
    assert names == flow.SUPPORTED_CHALLENGES | flow.INTERNAL_CHALLENGES | UNSUPPORTED
    assert not flow.SUPPORTED_CHALLENGES & flow.INTERNAL_CHALLENGES
    assert not (flow.SUPPORTED_CHALLENGES | flow.INTERNAL_CHALLENGES) & UNSUPPORTED
    # every supported one has a model in the union
    union_names = {
        cls.model_fields["challenge_name"].default
        for cls in (
            cm.SmsMfaChallenge,
            cm.SoftwareTokenMfaChallenge,
            cm.EmailOtpChallenge,
            cm.SelectMfaTypeChallenge,
            cm.MfaSetupChallenge,
            cm.NewPasswordRequiredChallenge,
        )
    }
    assert union_names == flow.SUPPORTED_CHALLENGES


@pytest.mark.parametrize("name", sorted(UNSUPPORTED))
def test_unsupported_challenges_raise_naming_them(name: str) -> None:
    machine = FlowMachine(phase=Phase.VERIFYING_PASSWORD)
    with pytest.raises(cm.UnsupportedChallenge) as info:
        machine.receive_auth_step(ChallengeStep(name, SESSION, {}))
    assert info.value.challenge_name == name
    assert name in str(info.value)
    assert machine.phase is Phase.FAILED


def test_retryable_rejections() -> None:
    mismatch = error_for_code("CodeMismatchException", "x")
    bad_password = error_for_code("InvalidPasswordException", "x")
    expired = error_for_code("NotAuthorizedException", "session is expired")
    assert flow.is_retryable_rejection("SMS_MFA", mismatch)
    assert flow.is_retryable_rejection("EMAIL_OTP", mismatch)
    assert not flow.is_retryable_rejection("SMS_MFA", expired)
    assert not flow.is_retryable_rejection("SELECT_MFA_TYPE", mismatch)
    assert flow.is_retryable_rejection("NEW_PASSWORD_REQUIRED", bad_password)
    assert not flow.is_retryable_rejection("NEW_PASSWORD_REQUIRED", mismatch)


# --- challenge models ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "params", "cls", "checks"),
    [
        (
            "SMS_MFA",
            {"CODE_DELIVERY_DESTINATION": "+*******1234", "CODE_DELIVERY_DELIVERY_MEDIUM": "SMS"},
            cm.SmsMfaChallenge,
            {"destination": "+*******1234", "delivery_medium": "SMS", "code_length": 6},
        ),
        (
            "SOFTWARE_TOKEN_MFA",
            {"FRIENDLY_DEVICE_NAME": "My Phone"},
            cm.SoftwareTokenMfaChallenge,
            {"friendly_device_name": "My Phone", "code_length": 6},
        ),
        (
            "EMAIL_OTP",
            {"CODE_DELIVERY_DESTINATION": "a***@e***", "CODE_DELIVERY_DELIVERY_MEDIUM": "EMAIL"},
            cm.EmailOtpChallenge,
            {"destination": "a***@e***", "code_length": 8},
        ),
        (
            "SELECT_MFA_TYPE",
            {"MFAS_CAN_CHOOSE": '["SMS_MFA","SOFTWARE_TOKEN_MFA"]'},
            cm.SelectMfaTypeChallenge,
            {"options": (cm.MfaType.SMS_MFA, cm.MfaType.SOFTWARE_TOKEN_MFA)},
        ),
        (
            "MFA_SETUP",
            {"MFAS_CAN_SETUP": '["SOFTWARE_TOKEN_MFA","EMAIL_OTP"]'},
            cm.MfaSetupChallenge,
            {"options": (cm.MfaType.SOFTWARE_TOKEN_MFA, cm.MfaType.EMAIL_OTP)},
        ),
        (
            "NEW_PASSWORD_REQUIRED",
            {"requiredAttributes": '["userAttributes.name"]', "userAttributes": '{"a": "b"}'},
            cm.NewPasswordRequiredChallenge,
            {"required_attributes": ("name",), "user_attributes": {"a": "b"}},
        ),
    ],
)
def test_build_challenge(
    name: str, params: dict[str, str], cls: type[Any], checks: dict[str, Any]
) -> None:
    challenge = challenges.build_challenge(name, params, "uuid-1")
    assert type(challenge) is cls
    assert challenge.username == "uuid-1"
    for attribute, value in checks.items():
        assert getattr(challenge, attribute) == value
    # frozen, serialisable through the discriminated union, no session anywhere
    with pytest.raises(ValueError):
        challenge.username = "x"
    adapter: TypeAdapter[cm.Challenge] = TypeAdapter(cm.Challenge)
    assert adapter.validate_json(adapter.dump_json(challenge)) == challenge


def test_check_code() -> None:
    assert challenges.check_code("012345", 6).get_secret_value() == "012345"
    fullwidth = "\uff11\uff12\uff13\uff14\uff15\uff16"
    for bad in ("12345", "1234567", "12a456", " 12345", fullwidth, 123456, None):
        with pytest.raises(cm.InvalidInput) as info:
            challenges.check_code(bad, 6)
        assert str(bad) not in str(info.value) or bad is None


def test_mfa_type_parse() -> None:
    for text, expected in [
        ("SMS", cm.MfaType.SMS_MFA),
        ("sms_mfa", cm.MfaType.SMS_MFA),
        ("SOFTWARE_TOKEN", cm.MfaType.SOFTWARE_TOKEN_MFA),
        ("TOTP", cm.MfaType.SOFTWARE_TOKEN_MFA),
        ("EMAIL", cm.MfaType.EMAIL_OTP),
        ("EMAIL_MFA", cm.MfaType.EMAIL_OTP),
        (cm.MfaType.EMAIL_OTP, cm.MfaType.EMAIL_OTP),
    ]:
        assert cm.MfaType.parse(text) is expected
    for bad in ("VOICE", "", 3):
        with pytest.raises(cm.InvalidInput):
            cm.MfaType.parse(bad)  # type: ignore[arg-type]


def test_flow_state_round_trips_and_masks_the_session() -> None:
    state = cm.FlowState(
        pool_id="us-east-1_Abc",
        client_id="c",
        challenge_name="SMS_MFA",
        challenge_parameters={"CODE_DELIVERY_DESTINATION": "+***1"},
        username="uuid",
        session=SecretStr("very-secret-session-0123456789"),
        client_metadata={"k": "v"},
    )
    assert "very-secret" not in repr(state)
    assert "very-secret" not in str(state)
    text = state.model_dump_json()
    assert "very-secret-session-0123456789" in text
    assert cm.FlowState.model_validate_json(text) == state


# --- the driver over a scripted transport -----------------------------------------------------


class Scripted:
    """A stand-in for Transport: answers calls from a script and records them."""

    def __init__(self, *steps: Mapping[str, Any] | Exception) -> None:
        self.steps = list(steps)
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.is_open = True
        self.gate: anyio.Event | None = None

    async def call(self, operation: str, params: Mapping[str, Any]) -> dict[str, Any]:
        self.calls.append((operation, dict(params)))
        if self.gate is not None:
            await self.gate.wait()
        step = self.steps.pop(0)
        if isinstance(step, Exception):
            raise step
        return dict(step)


TOKENS = {
    "AuthenticationResult": {
        "IdToken": "h.eyJjb2duaXRvOnVzZXJuYW1lIjoidXVpZC0xIn0.s",
        "AccessToken": "h.eyJ1c2VybmFtZSI6InV1aWQtMSJ9.s",
        "RefreshToken": "r",
        "ExpiresIn": 3600,
        "TokenType": "Bearer",
    }
}


def _challenge(name: str, **params: str) -> dict[str, Any]:
    return {"ChallengeName": name, "Session": SESSION, "ChallengeParameters": params}


def _pool(*steps: Mapping[str, Any] | Exception, secret: str | None = None) -> cm.UserPool:
    pool = cm.UserPool(
        "us-east-1_Abc123",
        "client1",
        secret,
        clock=lambda: datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC),
    )
    pool.transport = Scripted(*steps)  # type: ignore[assignment]
    return pool


def _calls(pool: cm.UserPool) -> list[tuple[str, dict[str, Any]]]:
    transport = pool.transport
    assert isinstance(transport, Scripted)
    return transport.calls


async def test_nothing_is_sent_until_iterated() -> None:
    pool = _pool(TOKENS)
    signin = pool.sign_in("alice", "pw", auth_flow="USER_PASSWORD_AUTH")
    assert _calls(pool) == []
    assert signin.phase is Phase.IDLE
    with pytest.raises(cm.FlowStateError):
        _ = signin.session
    with pytest.raises(cm.FlowStateError):
        _ = signin.state
    assert [c async for c in signin] == []
    assert signin.done
    assert signin.session.unverified_id_claims == {"cognito:username": "uuid-1"}
    assert signin.session.username == "uuid-1"
    assert signin.session.expires_at == datetime(2030, 1, 2, 4, 4, 5, tzinfo=UTC)


async def test_code_mismatch_keeps_the_challenge_and_session() -> None:
    pool = _pool(
        _challenge("SMS_MFA", USERNAME="uuid-1", CODE_DELIVERY_DESTINATION="+***9"),
        error_for_code("CodeMismatchException", "Invalid code or auth state for the user."),
        TOKENS,
        secret="client-secret-value-123",
    )
    signin = pool.sign_in("alice@example.com", "pw", auth_flow="USER_PASSWORD_AUTH")
    seen: list[cm.Challenge] = []
    async for challenge in signin:
        seen.append(challenge)
        assert isinstance(challenge, cm.SmsMfaChallenge)
        try:
            await challenge.answer("111111" if len(seen) == 1 else "222222")
        except cm.CodeMismatch:
            assert signin.phase is Phase.CHALLENGED
    assert len(seen) == 2
    assert seen[0] is seen[1]
    calls = _calls(pool)
    assert [op for op, _ in calls] == [
        "InitiateAuth",
        "RespondToAuthChallenge",
        "RespondToAuthChallenge",
    ]
    # the alias starts, Cognito's name answers, with the hash over that name, same session
    assert calls[0][1]["AuthParameters"]["USERNAME"] == "alice@example.com"
    for _, params in calls[1:]:
        assert params["ChallengeResponses"]["USERNAME"] == "uuid-1"
        assert params["Session"] == SESSION
        assert params["ChallengeResponses"]["SECRET_HASH"] == _protocol.secret_hash(
            "uuid-1", "client1", "client-secret-value-123"
        )


async def test_fatal_error_fails_the_flow() -> None:
    pool = _pool(
        _challenge("SOFTWARE_TOKEN_MFA"),
        error_for_code(
            "NotAuthorizedException", "Invalid session for the user, session is expired."
        ),
    )
    signin = pool.sign_in("bob", "pw", auth_flow="USER_PASSWORD_AUTH")
    challenge = await anext(aiter(signin))
    with pytest.raises(cm.SessionExpired):
        await challenge.answer("123456")  # type: ignore[union-attr]
    assert signin.phase is Phase.FAILED
    with pytest.raises(cm.FlowStateError):
        await anext(aiter(signin))
    with pytest.raises(cm.FlowStateError):
        await challenge.answer("123456")  # type: ignore[union-attr]
    assert len(_calls(pool)) == 2


async def test_usage_errors_send_nothing() -> None:
    pool = _pool(
        _challenge("SELECT_MFA_TYPE", MFAS_CAN_CHOOSE='["SMS_MFA"]'), _challenge("SMS_MFA"), TOKENS
    )
    for username, password in (("", "pw"), ("bob", ""), ("bob", SecretStr(""))):
        with pytest.raises(cm.InvalidInput):
            pool.sign_in(username, password)
    with pytest.raises(cm.InvalidInput):
        pool.sign_in("bob", "pw", auth_flow="CUSTOM_AUTH")
    with pytest.raises(cm.InvalidInput):
        pool.sign_in("bob", "pw", client_metadata={"k": 1})  # type: ignore[dict-item]
    signin = pool.sign_in("bob", "pw", auth_flow="USER_PASSWORD_AUTH")
    with pytest.raises(cm.FlowStateError):
        await signin.send_mfa_code("123456")  # nothing to answer yet
    assert _calls(pool) == []

    signin = pool.sign_in("bob", "pw", auth_flow="USER_PASSWORD_AUTH")
    select = await anext(aiter(signin))
    assert isinstance(select, cm.SelectMfaTypeChallenge)
    with pytest.raises(cm.FlowStateError, match="not offered"):
        await select.select("TOTP")
    with pytest.raises(cm.InvalidInput):
        await select.select("PIGEON")
    with pytest.raises(cm.FlowStateError):
        await signin.send_mfa_code("123456")
    assert len(_calls(pool)) == 1
    # not answered, and the loop asks for the next: an illegal move
    await signin.send_mfa_selection_answer("SMS")
    sms = await anext(aiter(signin))
    assert isinstance(sms, cm.SmsMfaChallenge)
    for bad in ("12345", "1234567", "abcdef", ""):
        with pytest.raises(cm.InvalidInput):
            await sms.answer(bad)
    with pytest.raises(cm.FlowStateError):
        await signin.send_mfa_code("123456", mfa_type="TOTP")
    assert len(_calls(pool)) == 2
    # answering the old selection again is refused; nothing is sent and the flow goes on
    with pytest.raises(cm.FlowStateError, match="already answered"):
        await select.select("SMS")
    assert signin.phase is Phase.WAITING
    assert len(_calls(pool)) == 2


async def test_loop_without_answer_is_an_illegal_move() -> None:
    pool = _pool(_challenge("SMS_MFA"))
    signin = pool.sign_in("bob", "pw", auth_flow="USER_PASSWORD_AUTH")
    with pytest.raises(cm.FlowStateError):
        async for _ in signin:
            pass
    assert signin.phase is Phase.FAILED


async def test_closed_pool_is_refused_before_sending() -> None:
    pool = _pool(_challenge("SMS_MFA"))
    pool.transport.is_open = False  # type: ignore[misc]
    with pytest.raises(cm.PoolClosed):
        pool.sign_in("bob", "pw")
    pool.transport.is_open = True  # type: ignore[misc]
    signin = pool.sign_in("bob", "pw", auth_flow="USER_PASSWORD_AUTH")
    challenge = await anext(aiter(signin))
    pool.transport.is_open = False  # type: ignore[misc]
    with pytest.raises(cm.PoolClosed):
        await challenge.answer("123456")  # type: ignore[union-attr]
    assert signin.phase is Phase.WAITING  # the flow itself is untouched
    assert len(_calls(pool)) == 1


async def test_cancellation_in_flight_fails_closed() -> None:
    pool = _pool(_challenge("SMS_MFA"), TOKENS)
    signin = pool.sign_in("bob", "pw", auth_flow="USER_PASSWORD_AUTH")
    challenge = await anext(aiter(signin))
    transport = pool.transport
    assert isinstance(transport, Scripted)
    transport.gate = anyio.Event()
    with anyio.move_on_after(0.01):
        await challenge.answer("123456")  # type: ignore[union-attr]
    assert signin.phase is Phase.FAILED


async def test_concurrent_double_answer() -> None:
    pool = _pool(_challenge("SMS_MFA"), TOKENS)
    signin = pool.sign_in("bob", "pw", auth_flow="USER_PASSWORD_AUTH")
    challenge = await anext(aiter(signin))
    assert isinstance(challenge, cm.SmsMfaChallenge)
    transport = pool.transport
    assert isinstance(transport, Scripted)
    transport.gate = anyio.Event()
    errors: list[BaseException] = []

    async def answer() -> None:
        try:
            await challenge.answer("123456")
        except cm.FlowStateError as exc:
            errors.append(exc)

    async with anyio.create_task_group() as tg:
        tg.start_soon(answer)
        await anyio.lowlevel.checkpoint()
        tg.start_soon(answer)
        await anyio.lowlevel.checkpoint()
        transport.gate.set()
    # the second answer is refused while the first is in flight; the first completes and its
    # tokens are kept
    assert len(errors) == 1
    assert "in flight" in str(errors[0])
    assert signin.phase is Phase.DONE
    assert signin.session.access_token.get_secret_value()
    assert len(transport.calls) == 2  # InitiateAuth and one answer


async def test_mfa_setup_driver_sequence_and_resume_in_associated() -> None:
    pool = _pool(
        _challenge("MFA_SETUP", MFAS_CAN_SETUP='["SOFTWARE_TOKEN_MFA"]', USERNAME="uuid-1"),
        {"SecretCode": "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP", "Session": "T" * 40},
        error_for_code("EnableSoftwareTokenMFAException", "Code mismatch"),
        {"Status": "ERROR", "Session": "U" * 40},
        {"Status": "SUCCESS", "Session": "V" * 40},
        TOKENS,
    )
    signin = pool.sign_in("bob", "pw", auth_flow="USER_PASSWORD_AUTH")
    setup = await anext(aiter(signin))
    assert isinstance(setup, cm.MfaSetupChallenge)
    with pytest.raises(cm.FlowStateError):
        await setup.setup_email("a@b.c")  # EMAIL_OTP not offered
    with pytest.raises(cm.FlowStateError):
        await setup.verify_software_token("123456")  # associate first... fails closed
    assert signin.phase is Phase.FAILED

    pool = _pool(*_calls_script())
    signin = pool.sign_in("bob", "pw", auth_flow="USER_PASSWORD_AUTH")
    setup = await anext(aiter(signin))
    assert isinstance(setup, cm.MfaSetupChallenge)
    secret = await setup.associate_software_token()
    assert "JBSW" not in repr(secret)
    saved = signin.state.model_dump_json()
    resumed = pool.resume(saved)
    assert resumed.phase is Phase.ASSOCIATED
    again = await anext(aiter(resumed))
    assert isinstance(again, cm.MfaSetupChallenge)
    with pytest.raises(cm.EnableSoftwareTokenMFA):
        await again.verify_software_token("000000")
    with pytest.raises(cm.EnableSoftwareTokenMFA, match="Status ERROR"):
        await again.verify_software_token("000001")
    await again.verify_software_token("123456", "My Phone")
    assert resumed.done
    ops = [(op, params.get("Session", "")[:1]) for op, params in _calls(pool)]
    assert ops == [
        ("InitiateAuth", ""),
        ("AssociateSoftwareToken", "S"),
        ("VerifySoftwareToken", "T"),
        ("VerifySoftwareToken", "T"),
        ("VerifySoftwareToken", "U"),  # Status ERROR came with a new session
        ("RespondToAuthChallenge", "V"),
    ]
    final = _calls(pool)[-1][1]
    assert final["ChallengeName"] == "MFA_SETUP"
    assert final["ChallengeResponses"] == {"USERNAME": "uuid-1"}


def _calls_script() -> list[Mapping[str, Any] | Exception]:
    return [
        _challenge("MFA_SETUP", MFAS_CAN_SETUP='["SOFTWARE_TOKEN_MFA"]', USERNAME="uuid-1"),
        {"SecretCode": "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP", "Session": "T" * 40},
        error_for_code("EnableSoftwareTokenMFAException", "Code mismatch"),
        {"Status": "ERROR", "Session": "U" * 40},
        {"Status": "SUCCESS", "Session": "V" * 40},
        TOKENS,
    ]


async def test_resume_checks_its_pool() -> None:
    pool = _pool(_challenge("SMS_MFA"))
    signin = pool.sign_in("bob", "pw", auth_flow="USER_PASSWORD_AUTH")
    await anext(aiter(signin))
    state = signin.state
    other = cm.UserPool("us-east-1_Other1", "client1")
    other.transport = pool.transport
    with pytest.raises(cm.InvalidInput):
        other.resume(state)
    with pytest.raises(cm.InvalidInput):
        pool.resume("{not json")
    with pytest.raises(cm.InvalidInput):
        pool.resume(state.model_copy(update={"challenge_name": "CUSTOM_CHALLENGE"}))
    resumed = pool.resume(state)
    assert isinstance(resumed.challenge, cm.SmsMfaChallenge)
    assert "S" * 40 not in repr(resumed)


async def test_new_password_required_checks_attributes_first() -> None:
    pool = _pool(
        _challenge(
            "NEW_PASSWORD_REQUIRED",
            requiredAttributes='["userAttributes.name"]',
            userAttributes='{"email": "a@b.c"}',
        ),
        error_for_code("InvalidPasswordException", "Password does not conform to policy"),
        TOKENS,
    )
    signin = pool.sign_in("bob", "pw", auth_flow="USER_PASSWORD_AUTH")
    challenge = await anext(aiter(signin))
    assert isinstance(challenge, cm.NewPasswordRequiredChallenge)
    with pytest.raises(cm.InvalidInput, match="name"):
        await challenge.answer("N3w-password!")
    with pytest.raises(cm.InvalidInput):
        await challenge.answer("")
    assert len(_calls(pool)) == 1
    with pytest.raises(cm.InvalidPassword):
        await challenge.answer("short", {"name": "Bob"})
    assert signin.phase is Phase.CHALLENGED
    await challenge.answer("N3w-password!", {"name": "Bob"})
    assert signin.done
    assert _calls(pool)[-1][1]["ChallengeResponses"] == {
        "USERNAME": "bob",
        "NEW_PASSWORD": "N3w-password!",
        "userAttributes.name": "Bob",
    }


async def test_unsupported_challenge_from_server() -> None:
    pool = _pool(_challenge("CUSTOM_CHALLENGE"))
    signin = pool.sign_in("bob", "pw", auth_flow="USER_PASSWORD_AUTH")
    with pytest.raises(cm.UnsupportedChallenge, match="CUSTOM_CHALLENGE"):
        await anext(aiter(signin))
    assert signin.phase is Phase.FAILED


async def test_client_metadata_goes_on_every_call_that_takes_it() -> None:
    pool = _pool(_challenge("EMAIL_OTP"), TOKENS)
    signin = pool.sign_in(
        "bob", "pw", auth_flow="USER_PASSWORD_AUTH", client_metadata={"source": "test"}
    )
    challenge = await anext(aiter(signin))
    assert isinstance(challenge, cm.EmailOtpChallenge)
    await signin.send_mfa_code("12345678", mfa_type="EMAIL_OTP")
    for _op, params in _calls(pool):
        assert params["ClientMetadata"] == {"source": "test"}


# --- SRP runs off the event loop ---------------------------------------------------------------


SERVER_B = srp.secret_exponent(b"\x07" * 32)
SALT = 0x1234567890ABCDEF


def _password_verifier_script(
    username: str, password: str, *, user_id: str | None = None
) -> list[Mapping[str, Any]]:
    """A PASSWORD_VERIFIER made by a real server-side SRP computation, then tokens."""
    v = srp.verifier("Abc123", user_id or username, password, SALT)
    big_b = srp.server_public(v, SERVER_B)
    verifier = {
        "ChallengeName": "PASSWORD_VERIFIER",
        "ChallengeParameters": {
            "SALT": format(SALT, "x"),
            "SRP_B": format(big_b, "x"),
            "SECRET_BLOCK": "c2VjcmV0LWJsb2Nr",
            "USER_ID_FOR_SRP": user_id or username,
            "USERNAME": username,
        },
    }
    return [verifier, TOKENS]


async def test_moto_style_verifier_math_on_user_id_answer_with_username() -> None:
    # moto's server mode: USER_ID_FOR_SRP is a UUID, USERNAME the plain name it expects back
    uuid = "0097425b-00a9-424d-8b55-13ea71dd1cf0"
    pool = _pool(*_password_verifier_script("bob", "pw", user_id=uuid), secret="sec-ret-123")
    assert [c async for c in pool.sign_in("bob", "pw")] == []
    (_, initiate), (_, verify) = _calls(pool)
    responses = verify["ChallengeResponses"]
    assert responses["USERNAME"] == "bob"
    assert responses["SECRET_HASH"] == _protocol.secret_hash("bob", "client1", "sec-ret-123")
    # the proof checks out for USER_ID_FOR_SRP, as Cognito computes it
    v = srp.verifier("Abc123", uuid, "pw", SALT)
    key = srp.server_key(
        srp_a_hex=initiate["AuthParameters"]["SRP_A"],
        v=v,
        b=SERVER_B,
        big_b=srp.server_public(v, SERVER_B),
    )
    assert srp.verify_password_claim(
        key,
        "Abc123",
        uuid,
        responses["PASSWORD_CLAIM_SECRET_BLOCK"],
        responses["TIMESTAMP"],
        responses["PASSWORD_CLAIM_SIGNATURE"],
    )


async def test_srp_math_runs_in_worker_threads(monkeypatch: pytest.MonkeyPatch) -> None:
    loop_thread = threading.get_ident()
    threads: list[int] = []
    real_public, real_key = srp.client_public, srp.client_key

    def public(*args: Any, **kwargs: Any) -> int:
        threads.append(threading.get_ident())
        return real_public(*args, **kwargs)

    def key(*args: Any, **kwargs: Any) -> bytes:
        threads.append(threading.get_ident())
        return real_key(*args, **kwargs)

    monkeypatch.setattr(srp, "client_public", public)
    monkeypatch.setattr(srp, "client_key", key)
    pool = _pool(*_password_verifier_script("bob", "pw"))
    signin = pool.sign_in("bob", "pw")
    assert [c async for c in signin] == []
    assert len(threads) == 2
    assert loop_thread not in threads
    initiate, verify = _calls(pool)
    assert initiate[1]["AuthFlow"] == "USER_SRP_AUTH"
    srp_a = int(initiate[1]["AuthParameters"]["SRP_A"], 16)
    assert 1 < srp_a < srp.N
    responses = verify[1]["ChallengeResponses"]
    assert responses["TIMESTAMP"] == "Wed Jan 2 03:04:05 UTC 2030"  # the pool's clock
    assert responses["PASSWORD_CLAIM_SECRET_BLOCK"] == "c2VjcmV0LWJsb2Nr"
    assert "Session" not in verify[1]  # Cognito gave none with PASSWORD_VERIFIER


async def test_srp_uses_fresh_randomness_per_sign_in() -> None:
    drawn: list[int] = []

    def random_bytes(count: int) -> bytes:
        drawn.append(count)
        return secrets.token_bytes(count)

    pool = _pool(*_password_verifier_script("bob", "pw"), *_password_verifier_script("bob", "pw"))
    pool.random_bytes = random_bytes
    a_values = []
    for _ in range(2):
        assert [c async for c in pool.sign_in("bob", "pw")] == []
    for op, params in _calls(pool):
        if op == "InitiateAuth":
            a_values.append(params["AuthParameters"]["SRP_A"])
    assert drawn == [32, 32]
    assert a_values[0] != a_values[1]


async def test_bad_srp_b_is_a_protocol_error() -> None:
    script = _password_verifier_script("bob", "pw")
    script[0]["ChallengeParameters"]["SRP_B"] = srp.N_HEX  # type: ignore[index]
    pool = _pool(*script)
    signin = pool.sign_in("bob", "pw")
    with pytest.raises(cm.ProtocolError, match="SRP_B is zero"):
        await anext(aiter(signin))
    assert signin.phase is Phase.FAILED
    assert len(_calls(pool)) == 1  # no proof was sent


def test_user_pool_configuration() -> None:
    pool = cm.UserPool("eu-west-2_AbC123", "client1", "a-client-secret-value")
    assert pool.region == "eu-west-2"
    assert pool.transport.region == "eu-west-2"
    assert pool.client_secret is not None
    assert "a-client-secret" not in repr(pool)
    assert "a-client-secret" not in repr(pool.app_client)
    assert not pool.is_open
    assert cm.UserPool("eu-west-2_AbC123", "c", region="us-east-1").region == "us-east-1"
    for args in (("nounderscore", "c"), ("eu-west-2_AbC123", ""), ("", "c")):
        with pytest.raises(cm.InvalidInput):
            cm.UserPool(*args)
    with pytest.raises(cm.InvalidInput):
        cm.UserPool("eu-west-2_AbC123", "c", "")


async def test_refresh_validates_before_sending() -> None:
    pool = _pool(TOKENS)
    signin = pool.sign_in("bob", "pw", auth_flow="USER_PASSWORD_AUTH")
    assert [c async for c in signin] == []
    without_refresh = signin.session.model_copy(update={"refresh_token": None})
    with pytest.raises(cm.InvalidInput):
        await pool.refresh(without_refresh)
    with pytest.raises(cm.InvalidInput):
        await pool.refresh("not a session")  # type: ignore[arg-type]
    assert len(_calls(pool)) == 1


def test_the_table_renders_as_a_diagram() -> None:
    diagram = flow.transitions_mermaid()
    assert diagram.startswith("stateDiagram-v2")
    for (source, event), target in TRANSITIONS.items():
        if event is not Event.FAIL:
            assert f"{source.value} --> {target.value}: {event.value}" in diagram
    assert "IDLE --> FAILED: FAIL" in diagram
