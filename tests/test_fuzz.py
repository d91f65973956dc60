"""Fuzzing the public entry points and Cognito's answers with Hypothesis.

Arguments: whatever a caller passes to ``UserPool(...)``, ``sign_in``, a challenge's
``answer``/``select``/``verify_software_token``/``setup_email``, ``MfaSettings``,
``set_user_mfa_preference``, ``verify_software_token``, ``provisioning_uri`` or ``resume``
ends either in a result or in an error of our hierarchy (``cm.CognitoError``; ``InvalidInput``
is also a ValueError on purpose, so the check is on ``CognitoError``), never in a bare
KeyError/TypeError/ValueError. A usage error sends nothing (requests are counted at the
emulator's respx router), and nothing the emulator has to refuse as malformed is sent.

Answers: a respx router plays Cognito and answers InitiateAuth / RespondToAuthChallenge /
AssociateSoftwareToken with crafted bodies (fields missing or of the wrong type, malformed
MFAS_CAN_CHOOSE, SRP_B ≡ 0 mod N, empty or huge SALT, unknown challenge names): the sign-in
fails with a ProtocolError (UnsupportedChallenge for unknown names), never a raw exception.

``COGNITO_MFA_FUZZ_SCALE=10`` runs ten times the examples (see ``SCALE``).

Bugs found here are kept as tests with explicit examples next to the property tests that
found them (lone surrogates in arguments, bodies botocore cannot parse, unusable tokens, ...).
"""

from __future__ import annotations

import asyncio
import json
import os
import string
from collections.abc import Awaitable, Callable, Coroutine, Iterator, Mapping
from contextlib import AsyncExitStack
from datetime import UTC, datetime
from typing import Any, TypeVar

import httpx
import pytest
import respx
from aiobotocore.config import AioConfig
from aiobotocore.httpxsession import HttpxSession
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from pydantic import SecretStr

import cognito_mfa as cm
from cognito_mfa import srp
from cognito_mfa.testing import (
    EMULATOR_ENDPOINT,
    Emulator,
    SeededPool,
    Seeder,
    emulator_client,
    httpx_client_config,
)

PASSWORD = "Correct-Horse-9"
PHONE = "+15555550100"
T = TypeVar("T")

# COGNITO_MFA_FUZZ_SCALE multiplies every example count here: the default run stays within
# the suite's time budget; a thorough run (COGNITO_MFA_FUZZ_SCALE=10, a few minutes more) is
# done before a release and by CI's scheduled job.
SCALE = max(1, int(os.environ.get("COGNITO_MFA_FUZZ_SCALE", "1")))

FUZZ = settings(
    max_examples=60 * SCALE,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# --- strategies ---------------------------------------------------------------------------------

# text without lone surrogates (those are tested separately, with explicit examples)
text = st.text(max_size=40)
any_text = st.text(st.characters(exclude_categories=()), max_size=40)
anything: st.SearchStrategy[Any] = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True),
    text,
    st.binary(max_size=10),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=3),
    st.just(SecretStr("")),
    st.just(object()),
)
digits = st.text(string.digits, min_size=0, max_size=10)
codes = st.one_of(digits, text, anything)
metadata = st.one_of(
    st.none(),
    st.dictionaries(text, text, max_size=3),
    st.dictionaries(text, anything, min_size=1, max_size=3),
    anything,
)
mfa_names = st.one_of(
    st.sampled_from(
        ["SMS", "SMS_MFA", "TOTP", "SOFTWARE_TOKEN", "SOFTWARE_TOKEN_MFA", "EMAIL", "EMAIL_OTP"]
    ),
    st.sampled_from(list(cm.MfaType)),
    text,
    anything,
)
settings_values = st.one_of(
    st.none(),
    st.builds(
        lambda e, p: cm.MfaSettings(enabled=e or p, preferred=p), st.booleans(), st.booleans()
    ),
    anything,
)


def _refused_as_malformed(error: cm.ServiceError) -> bool:
    """Whether Cognito (the emulator) refused the request's shape, not its meaning."""
    if error.error_code == "SerializationException":
        return True
    if error.error_code == "InvalidParameterException":
        return "validation error" in error.message or "failed to satisfy" in error.message
    # the emulator answers InternalError only when a request made it fail
    return isinstance(error, cm.InternalError)


# --- a harness: one emulator, one seeded pool, one event loop for all examples -------------------


class Loop:
    """One event loop for all of a test's examples; ``router`` answers only while it runs."""

    def __init__(self, router: respx.MockRouter | None = None) -> None:
        self.runner = asyncio.Runner()
        self.router = router
        self.stack = AsyncExitStack()

    def run(self, awaitable: Coroutine[Any, Any, T]) -> T:
        if self.router is None:
            return self.runner.run(awaitable)
        # started per run, so the module's other loops (and their routers) never overlap
        self.router.start()
        try:
            return self.runner.run(awaitable)
        finally:
            self.router.stop(clear=False, reset=False, quiet=True)

    def close(self) -> None:
        try:
            self.run(self.stack.aclose())
        finally:
            self.runner.close()


class CountingEmulator(Emulator):
    def __init__(self) -> None:
        super().__init__()
        self.received = 0

    def handle(self, target: str | None, body: bytes, *, signed: bool) -> Any:
        self.received += 1
        return super().handle(target, body, signed=signed)


class Harness(Loop):
    """The emulator answering in-process, a seeded pool and an open UserPool, on one loop."""

    def __init__(self) -> None:
        self.emulator = CountingEmulator()
        super().__init__()  # in-process: the emulator's own transport, nothing to patch
        self.run(self._setup())

    async def _setup(self) -> None:
        client = await self.stack.enter_async_context(emulator_client(self.emulator))
        self.seeder = Seeder(client, clock=self.emulator.now)
        self.seeded = await self.seeder.create_pool_and_client()
        await self.seeder.create_user(
            self.seeded, "alice", PASSWORD, phone=PHONE, email="a@example.com", mfa=["SMS"]
        )
        self.pool = await self.stack.enter_async_context(self.user_pool(self.seeded))

    def user_pool(self, seeded: SeededPool, **kwargs: Any) -> cm.UserPool:
        return cm.UserPool(
            seeded.pool_id,
            seeded.client_id,
            seeded.client_secret,
            endpoint_url=EMULATOR_ENDPOINT,
            botocore_config=httpx_client_config(self.emulator),
            retry_policy=cm.RetryPolicy(max_attempts=1),
            clock=lambda: datetime.fromtimestamp(self.emulator.now(), UTC),
            **kwargs,
        )

    def requests(self) -> int:
        return self.emulator.received

    # what a fuzzed call may end in ------------------------------------------------------------

    def outcome(self, call: Callable[[], Any]) -> Any:
        """Run ``call`` (sync, or returning an awaitable); returns its result or typed error."""
        before = self.requests()
        try:
            result = call()
            if isinstance(result, Awaitable):
                result = self.run(_await(result))
        except cm.CognitoError as error:
            if isinstance(error, cm.UsageError):
                assert self.requests() == before, f"{type(error).__name__} after a request"
            if isinstance(error, cm.ServiceError):
                assert not _refused_as_malformed(error), (
                    f"malformed data was sent: {error.error_code}: {error.message}"
                )
            return error
        return result


async def _await(awaitable: Awaitable[T]) -> T:
    return await awaitable


@pytest.fixture(scope="module")
def harness() -> Iterator[Harness]:
    h = Harness()
    try:
        yield h
    finally:
        h.close()


def _sms_flow(h: Harness) -> tuple[cm.AuthFlow, cm.SmsMfaChallenge]:
    flow = h.pool.sign_in("alice", PASSWORD)
    challenge = h.run(_await(anext(aiter(flow))))
    assert isinstance(challenge, cm.SmsMfaChallenge)
    return flow, challenge


# --- UserPool(...) --------------------------------------------------------------------------------

pool_ids = st.one_of(st.from_regex(r"[a-z]{2}-[a-z]+-[0-9]_[A-Za-z0-9]{1,9}", fullmatch=True), text)


@FUZZ
@given(
    pool_id=st.one_of(pool_ids, anything),
    client_id=st.one_of(text, anything),
    client_secret=st.one_of(st.none(), text, st.builds(SecretStr, text)),
    region=st.one_of(st.none(), st.sampled_from(["us-east-1", "eu-west-3"])),
)
def test_user_pool_constructor(
    harness: Harness, pool_id: Any, client_id: Any, client_secret: Any, region: Any
) -> None:
    def make() -> Any:
        return cm.UserPool(pool_id, client_id, client_secret, region=region)

    pool = harness.outcome(make)
    if isinstance(pool, cm.UserPool):
        assert pool.pool_id == pool_id
        harness.run(pool.aclose())


@pytest.mark.parametrize(
    "kwargs",
    [
        {"client_secret": 5},
        {"client_secret": b"secret"},
        {"region": "x y"},
        {"region": 123},
        {"endpoint_url": "not a url"},
        {"endpoint_url": 123},
        {"profile_name": 7},
        {"profile_name": ""},
        {"aws_access_key_id": b"AKIA"},
        {"aws_secret_access_key": 123},
        {"aws_session_token": ["token"]},
        {"botocore_config": {"retries": {"max_attempts": 1}}},
        {"retry_policy": 3},
        {"clock": "now"},
        {"random_bytes": b"\x00" * 32},
    ],
)
def test_user_pool_rejects_bad_settings_typed(harness: Harness, kwargs: dict[str, Any]) -> None:
    async def open_and_close() -> None:
        async with cm.UserPool("us-east-1_Abc123", "client", **kwargs):
            pass

    with pytest.raises(cm.InvalidInput):
        harness.run(open_and_close())


# --- sign_in ------------------------------------------------------------------------------------


@FUZZ
@given(
    username=st.one_of(st.sampled_from(["alice", "a@example.com"]), text, anything),
    password=st.one_of(st.just(PASSWORD), text, st.builds(SecretStr, text), anything),
    auth_flow=st.one_of(
        st.sampled_from(["USER_SRP_AUTH", "USER_PASSWORD_AUTH", "CUSTOM_AUTH", "REFRESH_TOKEN"]),
        st.sampled_from(list(cm.AuthFlowType)),
        anything,
    ),
    client_metadata=metadata,
)
def test_sign_in(
    harness: Harness, username: Any, password: Any, auth_flow: Any, client_metadata: Any
) -> None:
    def start() -> Any:
        return harness.pool.sign_in(
            username, password, auth_flow=auth_flow, client_metadata=client_metadata
        )

    flow = harness.outcome(start)
    if isinstance(flow, cm.AuthFlow):
        step = harness.outcome(lambda: anext(aiter(flow)))
        assert isinstance(step, cm.CognitoError | cm.SmsMfaChallenge)


@pytest.mark.parametrize(
    ("username", "password", "auth_flow"),
    [
        ("alice", "pass\ud800word", "USER_SRP_AUTH"),
        ("alice", "pass\ud800word", "USER_PASSWORD_AUTH"),
        ("al\udfffice", PASSWORD, "USER_SRP_AUTH"),
    ],
)
def test_sign_in_refuses_unencodable_text(
    harness: Harness, username: str, password: str, auth_flow: str
) -> None:
    before = harness.requests()
    with pytest.raises(cm.InvalidInput):
        flow = harness.pool.sign_in(username, password, auth_flow=auth_flow)
        harness.run(_await(anext(aiter(flow))))
    assert harness.requests() == before


# --- answering challenges ---------------------------------------------------------------------


@FUZZ
@given(code=codes, mfa_type=st.one_of(st.none(), mfa_names))
def test_mfa_code_answers(harness: Harness, code: Any, mfa_type: Any) -> None:
    flow, _ = _sms_flow(harness)
    before = harness.requests()
    result = harness.outcome(lambda: flow.send_mfa_code(code, mfa_type))
    if isinstance(code, str) and len(code) == 6 and code.isascii() and code.isdigit():
        assert isinstance(result, cm.CodeMismatch | cm.FlowStateError | cm.InvalidInput | None)
    else:
        assert isinstance(result, cm.InvalidInput | cm.FlowStateError)
        assert harness.requests() == before
    # a usage error leaves the challenge open
    if isinstance(result, cm.InvalidInput):
        assert flow.phase in (cm.Phase.CHALLENGED, cm.Phase.WAITING)


@FUZZ
@given(code=codes, client_metadata=st.one_of(st.none(), st.dictionaries(text, text, max_size=2)))
def test_challenge_answer(harness: Harness, code: Any, client_metadata: Any) -> None:
    _, challenge = _sms_flow(harness)
    harness.outcome(lambda: challenge.answer(code, client_metadata=client_metadata))


def test_challenge_answer_checks_client_metadata(harness: Harness) -> None:
    _, challenge = _sms_flow(harness)
    with pytest.raises(cm.InvalidInput):
        harness.run(challenge.answer("123456", client_metadata={"step": 1}))  # type: ignore[dict-item]


@FUZZ
@given(choice=mfa_names)
def test_select(harness: Harness, choice: Any) -> None:
    h = harness
    if not hasattr(h, "both"):
        h.both = h.run(  # type: ignore[attr-defined]
            h.seeder.create_user(
                h.seeded, "bo", PASSWORD, phone=PHONE, totp=True, mfa=["SMS", "TOTP"]
            )
        )
    flow = h.pool.sign_in("bo", PASSWORD)
    select = h.run(_await(anext(aiter(flow))))
    assert isinstance(select, cm.SelectMfaTypeChallenge)
    before = h.requests()
    result = h.outcome(lambda: select.select(choice))
    try:
        chosen = cm.MfaType.parse(choice)
    except cm.InvalidInput:
        chosen = None
    if chosen in select.options:
        assert result is None
        assert h.requests() == before + 1
    else:
        assert isinstance(result, cm.InvalidInput | cm.FlowStateError)
        assert flow.phase is not cm.Phase.ANSWERING


@FUZZ
@given(
    new_password=st.one_of(st.just("Battery-Staple-7"), text, anything),
    attributes=st.one_of(st.none(), st.dictionaries(st.sampled_from(["name", "email"]), text)),
)
def test_new_password_answer(harness: Harness, new_password: Any, attributes: Any) -> None:
    h = harness
    name = f"np{h.requests()}"
    h.run(
        h.seeder.client.admin_create_user(
            UserPoolId=h.seeded.pool_id,
            Username=name,
            TemporaryPassword="Temp-Horse-1",
            MessageAction="SUPPRESS",
        )
    )
    flow = h.pool.sign_in(name, "Temp-Horse-1")
    challenge = h.run(_await(anext(aiter(flow))))
    assert isinstance(challenge, cm.NewPasswordRequiredChallenge)
    h.outcome(lambda: challenge.answer(new_password, attributes))


@pytest.mark.parametrize("attributes", [{"name": 5}, {5: "x"}, ["name"]])
def test_new_password_attributes_are_checked(harness: Harness, attributes: Any) -> None:
    h = harness
    name = f"npa{h.requests()}"
    h.run(
        h.seeder.client.admin_create_user(
            UserPoolId=h.seeded.pool_id,
            Username=name,
            TemporaryPassword="Temp-Horse-1",
            MessageAction="SUPPRESS",
        )
    )
    flow = h.pool.sign_in(name, "Temp-Horse-1")
    challenge = h.run(_await(anext(aiter(flow))))
    assert isinstance(challenge, cm.NewPasswordRequiredChallenge)
    before = h.requests()
    with pytest.raises(cm.InvalidInput):
        h.run(challenge.answer("Battery-Staple-7", attributes))
    assert h.requests() == before


@pytest.fixture(scope="module")
def setup_pool(harness: Harness) -> tuple[SeededPool, cm.UserPool]:
    h = harness
    pool_id = h.run(h.seeder.create_pool("setup", mfa="ON", sms=False))
    seeded = h.run(h.seeder.create_client(pool_id))
    pool = h.run(h.stack.enter_async_context(h.user_pool(seeded)))
    return seeded, pool


def _setup_challenge(h: Harness, setup: tuple[SeededPool, cm.UserPool]) -> cm.MfaSetupChallenge:
    seeded, pool = setup
    name = f"setup{h.requests()}"
    h.run(h.seeder.create_user(seeded, name, PASSWORD))
    challenge = h.run(_await(anext(aiter(pool.sign_in(name, PASSWORD)))))
    assert isinstance(challenge, cm.MfaSetupChallenge)
    return challenge


@settings(FUZZ, max_examples=25 * SCALE)
@given(
    code=codes,
    device=st.one_of(st.none(), st.text(min_size=1, max_size=30), anything),
    email=st.one_of(st.emails(), text, anything),
)
def test_mfa_setup_arguments(
    harness: Harness, setup_pool: tuple[SeededPool, cm.UserPool], code: Any, device: Any, email: Any
) -> None:
    h = harness
    challenge = _setup_challenge(h, setup_pool)
    secret = h.outcome(challenge.associate_software_token)
    assert isinstance(secret, cm.SoftwareTokenSecret)
    h.outcome(lambda: challenge.verify_software_token(code, device))
    other = _setup_challenge(h, setup_pool)
    h.outcome(lambda: other.setup_email(email))


def test_mfa_setup_device_name_is_bounded(
    harness: Harness, setup_pool: tuple[SeededPool, cm.UserPool]
) -> None:
    h = harness
    challenge = _setup_challenge(h, setup_pool)
    secret = h.run(challenge.associate_software_token())
    before = h.requests()
    with pytest.raises(cm.InvalidInput):
        h.run(challenge.verify_software_token(secret.code_at(h.emulator.now()), "d" * 1025))
    assert h.requests() == before


# --- a signed-in user's calls -------------------------------------------------------------------


@pytest.fixture(scope="module")
def signed_in(harness: Harness) -> cm.CognitoUser:
    h = harness
    flow, challenge = _sms_flow(h)
    h.run(challenge.answer(h.emulator.last_code("alice", "SMS")))
    return h.pool.user(flow.session)


@FUZZ
@given(enabled=anything, preferred=anything)
def test_mfa_settings(harness: Harness, enabled: Any, preferred: Any) -> None:
    result = harness.outcome(lambda: cm.MfaSettings(enabled=enabled, preferred=preferred))
    if isinstance(result, cm.MfaSettings):
        assert isinstance(enabled, bool) and isinstance(preferred, bool)
        assert enabled or not preferred


@FUZZ
@given(sms=settings_values, software_token=settings_values, email=settings_values)
def test_set_user_mfa_preference(
    harness: Harness, signed_in: cm.CognitoUser, sms: Any, software_token: Any, email: Any
) -> None:
    result = harness.outcome(
        lambda: signed_in.set_user_mfa_preference(
            sms=sms, software_token=software_token, email=email
        )
    )
    given_settings = [s for s in (sms, software_token, email) if s is not None]
    well_formed = all(isinstance(s, cm.MfaSettings) for s in given_settings)
    preferred = sum(1 for s in given_settings if isinstance(s, cm.MfaSettings) and s.preferred)
    if not given_settings or not well_formed or preferred > 1:
        assert isinstance(result, cm.InvalidInput)


@FUZZ
@given(
    code=codes, device=st.one_of(st.none(), text, st.text(min_size=1020, max_size=1030), anything)
)
def test_user_verify_software_token(
    harness: Harness, signed_in: cm.CognitoUser, code: Any, device: Any
) -> None:
    harness.outcome(lambda: signed_in.verify_software_token(code, friendly_device_name=device))


@FUZZ
@given(username=st.one_of(text, anything))
def test_admin_calls(harness: Harness, username: Any) -> None:
    h = harness
    h.outcome(lambda: h.pool.admin_get_user(username))
    h.outcome(
        lambda: h.pool.admin_set_user_mfa_preference(username, sms=cm.MfaSettings(enabled=True))
    )


@FUZZ
@given(session=anything)
def test_pool_user_and_refresh(harness: Harness, session: Any) -> None:
    harness.outcome(lambda: harness.pool.user(session))
    harness.outcome(lambda: harness.pool.refresh(session))


# --- provisioning_uri -----------------------------------------------------------------------------

SECRET = cm.SoftwareTokenSecret(secret_code=SecretStr("JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"))


@FUZZ
@given(account=st.one_of(text, anything), issuer=st.one_of(st.none(), text, anything))
def test_provisioning_uri(harness: Harness, account: Any, issuer: Any) -> None:
    result = harness.outcome(lambda: SECRET.provisioning_uri(account, issuer))
    if isinstance(result, str):
        assert result.startswith("otpauth://totp/")


@pytest.mark.parametrize(("account", "issuer"), [("al\ud800ice", None), ("alice", "Ex\udc00")])
def test_provisioning_uri_refuses_unencodable_text(account: str, issuer: str | None) -> None:
    with pytest.raises(cm.InvalidInput):
        SECRET.provisioning_uri(account, issuer)


# --- resume(garbage) ------------------------------------------------------------------------------


def _state_json(h: Harness, **changes: Any) -> str:
    base: dict[str, Any] = {
        "version": 1,
        "pool_id": h.seeded.pool_id,
        "client_id": h.seeded.client_id,
        "challenge_name": "SMS_MFA",
        "challenge_parameters": {"CODE_DELIVERY_DESTINATION": "+*******0100"},
        "username": "alice",
        "session": "AYAB" + "s" * 40,
    }
    base.update(changes)
    return json.dumps({k: v for k, v in base.items() if v is not ...})


state_changes = st.fixed_dictionaries(
    {},
    optional={
        "version": anything,
        "pool_id": st.one_of(text, anything),
        "client_id": st.one_of(text, anything),
        "admin": anything,
        "phase": st.one_of(st.sampled_from(["CHALLENGED", "ASSOCIATED", "DONE"]), anything),
        "challenge_name": st.one_of(
            st.sampled_from(
                ["SMS_MFA", "SELECT_MFA_TYPE", "MFA_SETUP", "CUSTOM_CHALLENGE", "PASSWORD_VERIFIER"]
            ),
            anything,
        ),
        "challenge_parameters": st.one_of(
            st.dictionaries(
                st.sampled_from(["MFAS_CAN_CHOOSE", "MFAS_CAN_SETUP", "USERNAME", "x"]),
                st.one_of(text, st.just('["SMS_MFA"]')),
            ),
            anything,
        ),
        "username": st.one_of(st.just("alice"), st.text(min_size=1, max_size=10)),
        "session": st.one_of(st.text(min_size=20, max_size=60), anything),
        "client_metadata": st.one_of(st.none(), st.dictionaries(text, text), anything),
        "extra": anything,
    },
).map(
    lambda d: {
        k: v for k, v in d.items() if isinstance(v, str | int | float | bool | list | dict | None)
    }
)


@FUZZ
@given(
    raw=st.one_of(anything, st.binary(max_size=40), text),
    changes=state_changes,
    send=st.booleans(),
)
@example(raw=None, changes={"challenge_name": "SMS_MFA"}, send=True)
def test_resume_garbage(harness: Harness, raw: Any, changes: dict[str, Any], send: bool) -> None:
    h = harness
    for state in (raw, _state_json(h, **changes)):
        flow = h.outcome(lambda: h.pool.resume(state))  # noqa: B023 - called at once
        if (
            isinstance(flow, cm.AuthFlow)
            and send
            and isinstance(flow.challenge, cm.SmsMfaChallenge)
        ):
            result = h.outcome(lambda: flow.send_mfa_code("123456"))  # noqa: B023
            assert isinstance(result, cm.CognitoError)


@pytest.mark.parametrize("changes", [{"session": "short"}, {"session": ""}, {"username": ""}])
def test_resume_refuses_states_cognito_cannot_take(
    harness: Harness, changes: dict[str, Any]
) -> None:
    h = harness
    before = h.requests()
    with pytest.raises(cm.InvalidInput):
        flow = h.pool.resume(_state_json(h, **changes))
        h.run(flow.send_mfa_code("123456"))
    assert h.requests() == before


def test_resume_with_inconsistent_parameters_is_invalid_input(harness: Harness) -> None:
    h = harness
    with pytest.raises(cm.InvalidInput):
        h.pool.resume(_state_json(h, challenge_name="SELECT_MFA_TYPE", challenge_parameters={}))


# --- Cognito's answers, crafted ------------------------------------------------------------------

VALID_SECRET_BLOCK = "c2VjcmV0LWJsb2Nr"  # base64
SESSION = "AYAB" + "x" * 60
JWT = "eyJhbGciOiJub25lIn0.eyJ1c2VybmFtZSI6ImFsaWNlIn0.c2ln"


def _srp_challenge(**overrides: Any) -> dict[str, Any]:
    parameters: dict[str, Any] = {
        "USER_ID_FOR_SRP": "alice",
        "USERNAME": "alice",
        "SRP_B": format(srp.server_public(12345, 67890), "x"),
        "SALT": "a1b2c3d4e5f60718",
        "SECRET_BLOCK": VALID_SECRET_BLOCK,
    }
    parameters.update(overrides)
    return {"ChallengeName": "PASSWORD_VERIFIER", "ChallengeParameters": parameters}


def _without_none(value: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in value.items() if v is not None}


json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), text),
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(text, inner, max_size=3)),
    max_leaves=6,
)

srp_parameter_overrides = st.fixed_dictionaries(
    {},
    optional={
        "SRP_B": st.one_of(
            st.sampled_from(
                ["0", format(srp.N, "x"), format(2 * srp.N, "x"), "", "zz", "-5", "0x10"]
            ),
            st.integers(min_value=0, max_value=2**80).map(lambda n: format(n * srp.N, "x")),
            text,
            json_values,
        ),
        "SALT": st.one_of(
            st.sampled_from(["", "0", "00" * 5000, "f" * 20000, "xyz", "-1"]), text, json_values
        ),
        "SECRET_BLOCK": st.one_of(st.sampled_from(["", "!!!", "a", "=="]), text, json_values),
        "USER_ID_FOR_SRP": st.one_of(st.none(), text, json_values),
        "USERNAME": st.one_of(st.none(), text, json_values),
    },
)

challenge_names = st.one_of(
    st.sampled_from(
        [
            "SMS_MFA",
            "SOFTWARE_TOKEN_MFA",
            "EMAIL_OTP",
            "SELECT_MFA_TYPE",
            "MFA_SETUP",
            "NEW_PASSWORD_REQUIRED",
            "CUSTOM_CHALLENGE",
            "DEVICE_SRP_AUTH",
            "SMS_OTP",
            "PASSWORD_VERIFIER",
            "WEB_AUTHN",
            "",
        ]
    ),
    text,
    json_values,
)

second_answers = st.one_of(
    st.fixed_dictionaries(
        {"ChallengeName": challenge_names},
        optional={
            "Session": st.one_of(st.just(SESSION), text, json_values),
            "ChallengeParameters": st.one_of(
                st.fixed_dictionaries(
                    {},
                    optional={
                        "MFAS_CAN_CHOOSE": st.one_of(
                            st.sampled_from(
                                [
                                    '["SMS_MFA","SOFTWARE_TOKEN_MFA"]',
                                    "['SMS_MFA']",
                                    "[",
                                    "{}",
                                    "null",
                                    '"SMS_MFA"',
                                    "[1, 2]",
                                    "[[]]",
                                    "[" * 2000,
                                    # issue 11: deep, huge, and the old literal_eval path
                                    "[" * 50000,
                                    "-" * 100000 + "1",
                                    "['SMS_MFA', 'EMAIL_OTP']",
                                ]
                            ),
                            text,
                        ),
                        "MFAS_CAN_SETUP": st.one_of(st.just('["SOFTWARE_TOKEN_MFA"]'), text),
                        "requiredAttributes": st.one_of(
                            st.sampled_from(['["userAttributes.name"]', "[", "{}", "[null]"]), text
                        ),
                        "userAttributes": st.one_of(
                            st.sampled_from(
                                ['{"email":"a@b"}', "[]", "{", '{"a": {"b": 1}}', '{"a":' * 50000]
                            ),
                            text,
                        ),
                        "CODE_DELIVERY_DESTINATION": text,
                        # lone surrogates included: a name Cognito sends back must be encodable
                        "USERNAME": any_text,
                    },
                ),
                json_values,
            ),
        },
    ),
    st.fixed_dictionaries(
        {
            "AuthenticationResult": st.one_of(
                st.fixed_dictionaries(
                    {},
                    optional={
                        "IdToken": st.one_of(st.just(JWT), text, json_values),
                        "AccessToken": st.one_of(st.just(JWT), text, json_values),
                        "RefreshToken": st.one_of(text, json_values),
                        "ExpiresIn": json_values,
                        "TokenType": json_values,
                        "NewDeviceMetadata": json_values,
                    },
                ),
                json_values,
            )
        }
    ),
    st.dictionaries(text, json_values, max_size=3),
    json_values,
)


class Crafted(Loop):
    """Cognito played by a respx router: each operation answers the next crafted body."""

    def __init__(self) -> None:
        router = respx.mock(assert_all_called=False, assert_all_mocked=True)
        router.route(method="POST").mock(side_effect=self._reply)
        super().__init__(router)
        self.answers: dict[str, list[Any]] = {}
        self.pool = cm.UserPool(
            "us-east-1_Fuzz",
            "client",
            # respx (assert_all_mocked) answers everything: nothing leaves the process
            endpoint_url="https://cognito-idp.us-east-1.amazonaws.com",
            botocore_config=AioConfig(http_session_cls=HttpxSession),
            retry_policy=cm.RetryPolicy(max_attempts=1),
        )
        self.run(self.stack.enter_async_context(self.pool))

    def _reply(self, request: httpx.Request) -> httpx.Response:
        operation = request.headers["x-amz-target"].split(".", 1)[1]
        queue = self.answers.get(operation) or [
            {"__type": "InternalErrorException", "message": "unscripted"}
        ]
        body = queue.pop(0) if len(queue) > 1 else queue[0]
        if isinstance(body, tuple):  # (status, raw bytes)
            status, raw = body
        else:
            status = 500 if isinstance(body, dict) and body.get("__type") else 200
            raw = json.dumps(body).encode()
        return httpx.Response(
            status, content=raw, headers={"Content-Type": "application/x-amz-json-1.1"}
        )

    def sign_in(self, answers: Mapping[str, list[Any]], *, auth_flow: str = "USER_SRP_AUTH") -> Any:
        """Sign in against crafted answers: the challenge names met, or the typed error."""
        self.answers = {op: list(bodies) for op, bodies in answers.items()}

        async def run() -> Any:
            flow = self.pool.sign_in("alice", PASSWORD, auth_flow=auth_flow)
            try:
                names = []
                async for challenge in flow:
                    names.append(challenge.challenge_name)
                    if isinstance(challenge, cm.MfaSetupChallenge):
                        await challenge.associate_software_token()
                    break
                if flow.done:
                    _ = flow.session.expires_at
            except cm.CognitoError as error:
                assert flow.phase is cm.Phase.FAILED
                return error, flow.phase
            return names, flow.phase

        return self.run(run())


@pytest.fixture(scope="module")
def crafted() -> Iterator[Crafted]:
    c = Crafted()
    try:
        yield c
    finally:
        c.close()


@FUZZ
@given(overrides=srp_parameter_overrides)
@example(overrides={"SRP_B": "0"})
@example(overrides={"SRP_B": format(srp.N, "x")})
@example(overrides={"SALT": ""})
@example(overrides={"SALT": "f" * 20000})
def test_crafted_password_verifier(crafted: Crafted, overrides: dict[str, Any]) -> None:
    first = _without_none(_srp_challenge(**overrides)["ChallengeParameters"])
    outcome, _ = crafted.sign_in(
        {
            "InitiateAuth": [{"ChallengeName": "PASSWORD_VERIFIER", "ChallengeParameters": first}],
            "RespondToAuthChallenge": [{"ChallengeName": "SMS_MFA", "Session": SESSION}],
        }
    )
    if isinstance(outcome, cm.CognitoError):
        assert isinstance(outcome, cm.ProtocolError | cm.InternalError)
    srp_b = first.get("SRP_B")
    hexadecimal = isinstance(srp_b, str) and srp_b and all(c in string.hexdigits for c in srp_b)
    if hexadecimal and int(srp_b, 16) % srp.N == 0:
        assert isinstance(outcome, cm.ProtocolError)  # SRP_B ≡ 0 mod N is refused


@FUZZ
@given(answer=second_answers)
@example(answer={"ChallengeName": "CUSTOM_CHALLENGE", "Session": SESSION})
# found by Hypothesis: the parameters of a challenge we never answer must not matter
@example(answer={"ChallengeName": "CUSTOM_CHALLENGE", "ChallengeParameters": []})
@example(answer={"ChallengeName": "CUSTOM_CHALLENGE", "Session": 5, "ChallengeParameters": "x"})
@example(
    answer={
        "ChallengeName": "SELECT_MFA_TYPE",
        "Session": SESSION,
        "ChallengeParameters": {"MFAS_CAN_CHOOSE": "["},
    }
)
@example(answer={"AuthenticationResult": {"IdToken": JWT}})
def test_crafted_sign_in_answers(crafted: Crafted, answer: Any) -> None:
    outcome, _ = crafted.sign_in({"InitiateAuth": [answer]}, auth_flow="USER_PASSWORD_AUTH")
    if isinstance(outcome, cm.CognitoError):
        assert isinstance(outcome, cm.ProtocolError | cm.InternalError)
    if isinstance(answer, dict) and answer.get("ChallengeName") == "CUSTOM_CHALLENGE":
        assert isinstance(outcome, cm.UnsupportedChallenge)
        assert outcome.challenge_name == "CUSTOM_CHALLENGE"


@FUZZ
@given(
    body=st.one_of(
        st.binary(max_size=30),
        st.text(max_size=30).map(str.encode),
        st.sampled_from([b"", b"<html>", b"{}", b'{"__type": 5}', b'{"message": []}']),
        st.dictionaries(text, json_values, max_size=3).map(lambda d: json.dumps(d).encode()),
    ),
    status=st.sampled_from([200, 400, 500, 502]),
)
def test_crafted_raw_bodies(crafted: Crafted, body: bytes, status: int) -> None:
    outcome, _ = crafted.sign_in({"InitiateAuth": [(status, body)]})
    assert isinstance(outcome, cm.CognitoError | list)


@pytest.mark.parametrize("status", [200, 400])
@pytest.mark.parametrize(
    "body",
    [b"null", b"[]", b"5", b"\x80", b'{"ChallengeName": "SMS_MFA", "ChallengeParameters": []}'],
)
def test_crafted_unparsable_bodies_are_protocol_errors(
    crafted: Crafted, body: bytes, status: int
) -> None:
    outcome, _ = crafted.sign_in({"InitiateAuth": [(status, body)]})
    assert isinstance(outcome, cm.ProtocolError)


@pytest.mark.parametrize(
    "result", [{"IdToken": JWT}, {"IdToken": JWT, "AccessToken": JWT, "ExpiresIn": "soon"}]
)
def test_unusable_tokens_fail_the_flow(crafted: Crafted, result: dict[str, Any]) -> None:
    outcome, phase = crafted.sign_in(
        {"InitiateAuth": [{"AuthenticationResult": result}]}, auth_flow="USER_PASSWORD_AUTH"
    )
    assert isinstance(outcome, cm.ProtocolError)
    assert phase is cm.Phase.FAILED


def test_crafted_setup_secret_is_kept_and_refused_where_it_is_used(crafted: Crafted) -> None:
    outcome, _ = crafted.sign_in(
        {
            "InitiateAuth": [
                {
                    "ChallengeName": "MFA_SETUP",
                    "Session": SESSION,
                    "ChallengeParameters": {"MFAS_CAN_SETUP": '["SOFTWARE_TOKEN_MFA"]'},
                }
            ],
            "AssociateSoftwareToken": [{"SecretCode": "not base32!", "Session": SESSION}],
        },
        auth_flow="USER_PASSWORD_AUTH",
    )
    assert outcome == ["MFA_SETUP"]  # any secret the service sends is accepted
    secret = cm.SoftwareTokenSecret(secret_code=SecretStr("not base32!"))
    with pytest.raises(cm.ProtocolError):
        secret.provisioning_uri("alice")


# --- the emulator's wire front: malformed requests ----------------------------------------------

OPERATIONS = [
    "InitiateAuth",
    "RespondToAuthChallenge",
    "AdminInitiateAuth",
    "AssociateSoftwareToken",
    "VerifySoftwareToken",
    "SetUserMFAPreference",
    "SetUserSettings",
    "GetUser",
    "GlobalSignOut",
    "AdminCreateUser",
    "CreateUserPool",
    "CreateUserPoolClient",
    "SetUserPoolMfaConfig",
]
MEMBERS = [
    "ClientId",
    "AuthFlow",
    "AuthParameters",
    "ChallengeName",
    "ChallengeResponses",
    "Session",
    "AccessToken",
    "UserCode",
    "UserPoolId",
    "Username",
    "PoolName",
    "ClientMetadata",
    "SoftwareTokenMfaSettings",
    "MFAOptions",
]
request_bodies = st.one_of(
    st.binary(max_size=60),
    st.dictionaries(st.sampled_from(MEMBERS), json_values, max_size=5).map(
        lambda d: json.dumps(d).encode()
    ),
    st.fixed_dictionaries(
        {
            "ClientId": st.one_of(text, json_values),
            "AuthFlow": st.one_of(
                st.sampled_from(["USER_SRP_AUTH", "USER_PASSWORD_AUTH", "REFRESH_TOKEN_AUTH"]),
                json_values,
            ),
            "AuthParameters": st.one_of(
                st.dictionaries(
                    st.sampled_from(["USERNAME", "PASSWORD", "SRP_A", "REFRESH_TOKEN"]),
                    st.one_of(any_text, json_values),
                ),
                json_values,
            ),
        }
    ).map(lambda d: json.dumps(d).encode("utf-8", "surrogatepass")),
)


def _call(emulator: Emulator, operation: str, **body: Any) -> dict[str, Any]:
    answer = emulator.handle(
        "AWSCognitoIdentityProviderService." + operation, json.dumps(body).encode(), signed=True
    )
    assert answer.status == 200, answer.body
    result: dict[str, Any] = json.loads(answer.body)
    return result


@pytest.fixture(scope="module")
def wire() -> tuple[Emulator, str]:
    """An emulator with a pool, an app client allowing password sign-in, and user alice."""
    emulator = Emulator()
    pool_id = _call(emulator, "CreateUserPool", PoolName="p")["UserPool"]["Id"]
    client_id = _call(
        emulator,
        "CreateUserPoolClient",
        UserPoolId=pool_id,
        ClientName="c",
        ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH", "ALLOW_USER_SRP_AUTH"],
    )["UserPoolClient"]["ClientId"]
    _call(emulator, "AdminCreateUser", UserPoolId=pool_id, Username="alice")
    _call(
        emulator,
        "AdminSetUserPassword",
        UserPoolId=pool_id,
        Username="alice",
        Password=PASSWORD,
        Permanent=True,
    )
    return emulator, client_id


def _sign_in_body(client_id: str, parameters: dict[str, Any]) -> bytes:
    body = {"ClientId": client_id, "AuthFlow": "USER_PASSWORD_AUTH", "AuthParameters": parameters}
    return json.dumps(body).encode()


@FUZZ
@given(
    operation=st.one_of(st.sampled_from(OPERATIONS), text),
    body=request_bodies,
    parameters=st.dictionaries(
        st.sampled_from(["USERNAME", "PASSWORD", "SRP_A", "SECRET_HASH"]),
        st.one_of(st.sampled_from(["alice", PASSWORD]), text, json_values),
    ),
    signed=st.booleans(),
)
def test_emulator_answers_malformed_requests_like_cognito(
    wire: tuple[Emulator, str], operation: str, body: bytes, parameters: Any, signed: bool
) -> None:
    emulator, client_id = wire
    target = "AWSCognitoIdentityProviderService." + operation
    for raw in (body, _sign_in_body(client_id, parameters)):
        answer = emulator.handle(target, raw, signed=signed)
        payload = json.loads(answer.body)
        if answer.status != 200:
            assert answer.status in (400, 403), (answer.status, payload)
            assert isinstance(payload.get("__type"), str) and payload["__type"]
            assert isinstance(payload.get("message"), str)


def test_emulator_refuses_an_unencodable_password_as_a_client_error(
    wire: tuple[Emulator, str],
) -> None:
    emulator, client_id = wire
    body = _sign_in_body(client_id, {"USERNAME": "alice", "PASSWORD": "pass\ud800word"})
    answer = emulator.handle("AWSCognitoIdentityProviderService.InitiateAuth", body, signed=False)
    assert answer.status == 400, json.loads(answer.body)
