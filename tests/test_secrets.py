"""No secret ever shows in a repr, a str, a log line, an exception or pytest's failure output.

Every flow (SRP and password sign-in, each challenge path, wrong codes, an expired session, a
resumed flow, refresh, and the management calls) runs against the in-process emulator with the
``cognito_mfa`` loggers at DEBUG. The secrets are harvested from the wire itself (every request
and response the emulator saw: passwords, SRP_A/SRP_B/SALT/SECRET_BLOCK, signatures,
SECRET_HASH, sessions, tokens, TOTP secrets, codes, the client secret), plus the SRP secret
exponent drawn through the pool's ``random_bytes``; then every object the flows produced is
rendered (repr, str, ``model_dump()``, formatted tracebacks of the errors raised) and searched
for each of them, together with the captured log text. pytest's own failure output is checked
in a subprocess, and a source check guards that secret-derived values are only compared with
``hmac.compare_digest``.
"""

from __future__ import annotations

import ast
import json
import logging
import os
import re
import traceback
import warnings
from collections.abc import Awaitable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import pyotp
import pytest
from pydantic import BaseModel, SecretStr

import cognito_mfa as cm
from cognito_mfa import _srp as srp
from cognito_mfa.testing import (
    Emulator,
    SeededPool,
    Seeder,
    WireResponse,
)

if TYPE_CHECKING:
    from conftest import Way  # the shared fixtures' type (tests/conftest.py)

pytest_plugins = ("pytester",)

PASSWORD = "Correct-Horse-9"
NEW_PASSWORD = "Battery-Staple-7"
WRONG_PASSWORD = "Wrong-Horse-9!"
TEMPORARY_PASSWORD = "Temp-Horse-1"
PHONE = "+15555550100"
# A whole second, so no datetime in a repr carries microseconds that could look like a code.
START = 1_800_000_000.0

# Wire members (at any depth) whose values are secrets.
SECRET_KEYS = frozenset(
    {
        "PASSWORD",
        "NEW_PASSWORD",
        "Password",
        "TemporaryPassword",
        "ProposedPassword",
        "PreviousPassword",
        "SRP_A",
        "SRP_B",
        "SALT",
        "SECRET_BLOCK",
        "PASSWORD_CLAIM_SECRET_BLOCK",
        "PASSWORD_CLAIM_SIGNATURE",
        "SECRET_HASH",
        "SMS_MFA_CODE",
        "SOFTWARE_TOKEN_MFA_CODE",
        "EMAIL_OTP_CODE",
        "UserCode",
        "REFRESH_TOKEN",
        "Session",
        "AccessToken",
        "IdToken",
        "RefreshToken",
        "SecretCode",
        "ClientSecret",
        "PasswordVerifier",
    }
)

T = TypeVar("T")


def _wire_secrets(value: Any, label: str = "") -> Iterator[tuple[str, str]]:
    if isinstance(value, dict):
        for key, item in value.items():
            if key in SECRET_KEYS and isinstance(item, str) and item:
                yield key, item
            yield from _wire_secrets(item, key)
    elif isinstance(value, list):
        for item in value:
            yield from _wire_secrets(item, label)


def _renderings(obj: object) -> Iterator[tuple[str, str]]:
    """Every text a user could see for ``obj``: (how it was rendered, the text)."""
    name = type(obj).__name__
    yield f"repr({name})", repr(obj)
    yield f"str({name})", str(obj)
    if isinstance(obj, BaseModel):
        yield f"{name}.model_dump()", repr(obj.model_dump())
        yield f"{name} fields", repr(vars(obj))
    if isinstance(obj, BaseException):
        yield f"traceback of {name}", "".join(traceback.format_exception(obj))
        yield f"{name}.args", repr(obj.args)
        yield f"vars({name})", repr(vars(obj))


class _ListHandler(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


class RecordingEmulator(Emulator):
    """Keeps every request and response body it handled: the secrets that crossed the wire."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.wire: list[tuple[bytes, bytes]] = []

    def handle(self, target: str | None, body: bytes, *, signed: bool) -> WireResponse:
        response = super().handle(target, body, signed=signed)
        self.wire.append((body, response.body))
        return response


@dataclass
class Exposure:
    """Collects what the flows produced and the secrets they used, then looks for leaks."""

    emulator: RecordingEmulator
    caplog: pytest.LogCaptureFixture
    handler: _ListHandler
    way: Way  # in-process or served: the flows run both ways
    objects: list[object] = field(default_factory=list)
    extra: dict[str, str] = field(default_factory=dict)
    exponents: list[bytes] = field(default_factory=list)

    def keep(self, *objects: object) -> None:
        self.objects.extend(objects)

    def secret(self, label: str, value: str) -> None:
        self.extra[value] = label

    def random_bytes(self, count: int) -> bytes:
        value = os.urandom(count)
        self.exponents.append(value)
        return value

    async def expect(self, error: type[BaseException], awaitable: Awaitable[Any]) -> Any:
        with pytest.raises(error) as info:
            await awaitable
        self.keep(info.value)
        return info.value

    def expect_now(self, error: type[BaseException], function: Any, *args: Any) -> Any:
        with pytest.raises(error) as info:
            function(*args)
        self.keep(info.value)
        return info.value

    def secrets(self) -> list[tuple[str, str]]:
        """(label, value) for every secret seen on the wire or handed out."""
        found: list[tuple[str, str]] = []
        for exchange in self.emulator.wire:
            for raw in exchange:
                if raw:
                    found.extend(_wire_secrets(json.loads(raw)))
        found.extend((f"{m.medium} code", m.code) for m in self.emulator.messages)
        for raw in self.exponents:
            if len(raw) != srp.SECRET_EXPONENT_BITS // 8:
                continue  # a device password's or salt's bytes (the password is listed)
            a = srp.secret_exponent(raw)
            found += [
                ("SRP secret exponent (hex)", format(a, "x")),
                ("SRP secret exponent", str(a)),
            ]
        found.extend((label, value) for value, label in self.extra.items())
        return found

    def check(self, *, at_least: set[str]) -> None:
        found = self.secrets()
        missing = at_least - {label for label, _ in found}
        assert not missing, f"the flows did not exercise {sorted(missing)}"
        texts = [("log records", "\n".join(self.handler.lines)), ("caplog", self.caplog.text)]
        for obj in self.objects:
            texts.extend(_renderings(obj))
        assert self.handler.lines, "nothing was logged: is DEBUG capture working?"
        leaks = []
        for value, label in {value: label for label, value in found}.items():
            if len(value) < 6:
                continue
            if value.isdigit():
                pattern = re.compile(rf"(?<![0-9]){re.escape(value)}(?![0-9])")
                hit = [where for where, text in texts if pattern.search(text)]
            else:
                hit = [where for where, text in texts if value in text]
            leaks.extend(f"{label} in {where}" for where in hit)
        # the message names what leaked where, never the value
        assert not leaks, "secrets leaked: " + "; ".join(sorted(set(leaks)))


@pytest.fixture
def cognito_emulator() -> RecordingEmulator:
    """The shipped fixtures (client, seeder) run on this emulator."""
    return RecordingEmulator(clock=lambda: START)


@pytest.fixture
def exposure(
    caplog: pytest.LogCaptureFixture,
    cognito_emulator: RecordingEmulator,
    cognito_seeder: Seeder,
    way: Way,
) -> Iterator[tuple[Exposure, Seeder]]:
    caplog.set_level(logging.DEBUG, logger="cognito_mfa")
    handler = _ListHandler()
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield Exposure(cognito_emulator, caplog, handler, way), cognito_seeder
    finally:
        root.removeHandler(handler)


def _pool(exposure: Exposure, seeded: SeededPool, **kwargs: Any) -> cm.UserPool:
    emulator = exposure.emulator
    pool = cm.UserPool(
        seeded.pool_id,
        seeded.client_id,
        seeded.client_secret,
        endpoint_url=exposure.way.endpoint_url,
        botocore_config=exposure.way.botocore_config,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        clock=lambda: datetime.fromtimestamp(emulator.now(), UTC),
        random_bytes=exposure.random_bytes,
        **kwargs,
    )
    exposure.keep(pool, pool.app_client, pool.transport)
    return pool


def _totp(exposure: Exposure, secret: str, offset: int = 0) -> str:
    return pyotp.TOTP(secret).at(int(exposure.emulator.now()) + offset)


def _wrong(code: str) -> str:
    return f"{(int(code) + 1) % 10 ** len(code):0{len(code)}d}"


def _keep_flow(exposure: Exposure, flow: cm.AuthFlow) -> None:
    exposure.keep(flow, flow._machine)


async def test_sign_in_paths_keep_secrets_out(exposure: tuple[Exposure, Seeder]) -> None:
    seen, seeder = exposure
    seeded = await seeder.create_pool_and_client(generate_secret=True)
    sms = await seeder.create_user(seeded, "sam", PASSWORD, phone=PHONE, mfa=["SMS"])
    totp = await seeder.create_user(seeded, "tia", PASSWORD, preferred="TOTP")
    email = await seeder.create_user(
        seeded, "eve", PASSWORD, email="eve@example.com", mfa=["EMAIL"]
    )
    both = await seeder.create_user(
        seeded, "bo", PASSWORD, phone=PHONE, totp=True, mfa=["SMS", "TOTP"]
    )
    assert totp.totp_secret and both.totp_secret
    seen.emulator.advance(60)  # past the seeder's enrolment step: the current code is fresh

    async with _pool(seen, seeded) as pool:
        # SRP, SMS: a wrong code, then the right one, then refresh
        flow = pool.sign_in(sms.username, SecretStr(PASSWORD))
        _keep_flow(seen, flow)
        challenge = await anext(aiter(flow))
        seen.keep(challenge, flow.state)
        code = seen.emulator.last_code(sms.username, "SMS")
        await seen.expect(cm.CodeMismatch, challenge.answer(_wrong(code)))
        await seen.expect(cm.InvalidInput, challenge.answer(code[:-1]))
        await challenge.answer(code)
        seen.keep(flow.session)
        await seen.expect(cm.FlowStateError, challenge.answer(code))
        refreshed = await pool.refresh(flow.session)
        seen.keep(refreshed)

        # USER_PASSWORD_AUTH, TOTP through the seed's send_mfa_code
        flow = pool.sign_in(totp.username, PASSWORD, auth_flow="USER_PASSWORD_AUTH")
        _keep_flow(seen, flow)
        challenge = await anext(aiter(flow))
        seen.keep(challenge)
        await seen.expect(cm.CodeMismatch, flow.send_mfa_code(_totp(seen, totp.totp_secret, 90)))
        await flow.send_mfa_code(_totp(seen, totp.totp_secret), "SOFTWARE_TOKEN_MFA")
        seen.keep(flow.session)

        # EMAIL_OTP, 8 digits
        flow = pool.sign_in(email.username, PASSWORD)
        _keep_flow(seen, flow)
        async for challenge in flow:
            seen.keep(challenge)
            await challenge.answer(seen.emulator.last_code(email.username, "EMAIL"))
        seen.keep(flow.session)

        # SELECT_MFA_TYPE, then TOTP; a choice not offered is refused before sending
        flow = pool.sign_in(both.username, PASSWORD)
        _keep_flow(seen, flow)
        select = await anext(aiter(flow))
        assert isinstance(select, cm.SelectMfaTypeChallenge)
        seen.keep(select)
        await seen.expect(cm.FlowStateError, select.select("EMAIL"))
        await seen.expect(cm.InvalidInput, select.select("PIGEON"))
        await flow.send_mfa_selection_answer("SOFTWARE_TOKEN")
        challenge = await anext(aiter(flow))
        seen.keep(challenge, flow.state)
        await challenge.answer(_totp(seen, both.totp_secret, 30))
        seen.keep(flow.session)

        # ADMIN_USER_PASSWORD_AUTH (signed), then SMS
        flow = pool.admin_sign_in(sms.username, PASSWORD)
        _keep_flow(seen, flow)
        challenge = await anext(aiter(flow))
        seen.keep(challenge, flow.state)
        await challenge.answer(seen.emulator.last_code(sms.username, "SMS"))
        seen.keep(flow.session)

        # a wrong password, each way
        for auth_flow in ("USER_SRP_AUTH", "USER_PASSWORD_AUTH"):
            flow = pool.sign_in(sms.username, WRONG_PASSWORD, auth_flow=auth_flow)
            _keep_flow(seen, flow)
            await seen.expect(cm.NotAuthorized, anext(aiter(flow)))
        seen.secret("wrong password", WRONG_PASSWORD)

        # resume from the saved state (its JSON) in a fresh pool; replaying it is refused
        flow = pool.sign_in(sms.username, PASSWORD)
        _keep_flow(seen, flow)
        await anext(aiter(flow))
        saved = flow.state
        seen.keep(saved)
        async with _pool(seen, seeded) as other:
            resumed = other.resume(saved.model_dump_json())
            _keep_flow(seen, resumed)
            await resumed.send_mfa_code(seen.emulator.last_code(sms.username, "SMS"))
            seen.keep(resumed.session)
            replay = other.resume(saved)
            _keep_flow(seen, replay)
            await seen.expect(cm.InvalidSession, replay.send_mfa_code("123456"))
            tampered = saved.model_dump_json().replace(seeded.client_id, "x" + seeded.client_id)
            seen.expect_now(cm.InvalidInput, other.resume, tampered)
            seen.expect_now(cm.InvalidInput, other.resume, saved.model_dump_json()[:-7])

        # an expired session between the challenge and its answer
        flow = pool.sign_in(sms.username, PASSWORD)
        _keep_flow(seen, flow)
        challenge = await anext(aiter(flow))
        seen.emulator.advance(3 * 60 + 1)
        await seen.expect(
            cm.SessionExpired, challenge.answer(seen.emulator.last_code(sms.username, "SMS"))
        )

    seen.check(
        at_least={
            "PASSWORD",
            "SRP_A",
            "SRP_B",
            "SALT",
            "SECRET_BLOCK",
            "PASSWORD_CLAIM_SIGNATURE",
            "SECRET_HASH",
            "SMS_MFA_CODE",
            "SOFTWARE_TOKEN_MFA_CODE",
            "EMAIL_OTP_CODE",
            "Session",
            "AccessToken",
            "IdToken",
            "RefreshToken",
            "REFRESH_TOKEN",
            "ClientSecret",
            "SRP secret exponent",
            "wrong password",
        }
    )


async def test_setup_and_new_password_paths_keep_secrets_out(
    exposure: tuple[Exposure, Seeder],
) -> None:
    seen, seeder = exposure
    seeded = await seeder.create_pool_and_client(
        mfa="ON", sms=False, email=False, generate_secret=True
    )
    frank = await seeder.create_user(seeded, "frank", PASSWORD)
    await seeder.client.admin_create_user(
        UserPoolId=seeded.pool_id,
        Username="gina",
        TemporaryPassword=TEMPORARY_PASSWORD,
        MessageAction="SUPPRESS",
    )
    async with _pool(seen, seeded) as pool:
        # MFA_SETUP: associate, a wrong verification code, then the right one
        flow = pool.sign_in(frank.username, PASSWORD)
        _keep_flow(seen, flow)
        setup = await anext(aiter(flow))
        assert isinstance(setup, cm.MfaSetupChallenge)
        seen.keep(setup)
        secret = await setup.associate_software_token()
        seen.keep(secret, secret.totp(), flow.state)
        code = secret.code_at(seen.emulator.now())
        await seen.expect(cm.EnableSoftwareTokenMFA, setup.verify_software_token(_wrong(code)))
        await setup.verify_software_token(code, "Frank's phone")
        seen.keep(flow.session)

        # NEW_PASSWORD_REQUIRED: a password the policy refuses, then a good one, then MFA_SETUP
        flow = pool.sign_in("gina", TEMPORARY_PASSWORD, auth_flow="USER_PASSWORD_AUTH")
        _keep_flow(seen, flow)
        async for challenge in flow:
            seen.keep(challenge)
            match challenge:
                case cm.NewPasswordRequiredChallenge():
                    await seen.expect(cm.InvalidPassword, challenge.answer("short"))
                    await challenge.answer(NEW_PASSWORD)
                case cm.MfaSetupChallenge():
                    gina_secret = await challenge.associate_software_token()
                    seen.keep(gina_secret, flow.state)
                    seen.emulator.advance(30)
                    await challenge.verify_software_token(gina_secret.code_at(seen.emulator.now()))
                case _:
                    raise AssertionError(type(challenge).__name__)
        seen.keep(flow.session)
    seen.check(
        at_least={
            "SecretCode",
            "UserCode",
            "NEW_PASSWORD",
            "TemporaryPassword",
            "Session",
            "AccessToken",
            "ClientSecret",
        }
    )


async def test_management_calls_keep_secrets_out(exposure: tuple[Exposure, Seeder]) -> None:
    seen, seeder = exposure
    seeded = await seeder.create_pool_and_client()
    alice = await seeder.create_user(seeded, "alice", PASSWORD, phone=PHONE, mfa=["SMS"])
    async with _pool(seen, seeded) as pool:
        flow = pool.sign_in(alice.username, PASSWORD)
        _keep_flow(seen, flow)
        await anext(aiter(flow))
        await flow.send_mfa_code(seen.emulator.last_code(alice.username, "SMS"))
        user = pool.user(flow.session)
        seen.keep(user, flow.session)

        # enabling TOTP before it is verified is refused by Cognito
        await seen.expect(
            cm.InvalidParameter,
            user.set_user_mfa_preference(software_token=cm.MfaSettings(enabled=True)),
        )
        secret = await user.associate_software_token()
        seen.keep(secret)
        code = secret.code_at(seen.emulator.now())
        await seen.expect(cm.EnableSoftwareTokenMFA, user.verify_software_token(_wrong(code)))
        await seen.expect(cm.InvalidInput, user.verify_software_token(code[:5]))
        await user.verify_software_token(code, friendly_device_name="Alice's phone")
        seen.expect_now(cm.InvalidInput, lambda: cm.MfaSettings(enabled=False, preferred=True))
        await user.set_user_mfa_preference(
            sms=cm.MfaSettings(enabled=True),
            software_token=cm.MfaSettings(enabled=True, preferred=True),
        )
        seen.keep(await user.get_user_data(), await pool.admin_get_user(alice.username))
        await pool.admin_set_user_mfa_preference(alice.username, sms=cm.MfaSettings(enabled=True))

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            await user.disable_mfa()
            seen.keep(await user.get_mfa_options())
            await user.enable_mfa()
            seen.keep(await user.get_mfa_options())

        # an expired access token is refreshed once, behind the call
        seen.emulator.advance(3600 + 1)
        seen.keep(await user.get_user_data(), user.session)
        assert user.session is not flow.session

        await user.global_sign_out()
        await seen.expect(cm.TokenRevoked, user.get_user_data())
        await seen.expect(cm.TokenRevoked, pool.refresh(user.session))
        await seen.expect(cm.NotAuthorized, user.global_sign_out())
    seen.check(at_least={"SecretCode", "UserCode", "AccessToken", "REFRESH_TOKEN", "SMS code"})


async def test_device_paths_keep_secrets_out(exposure: tuple[Exposure, Seeder]) -> None:
    seen, seeder = exposure
    seeded = await seeder.create_pool_and_client(generate_secret=True)
    tia = await seeder.create_user(seeded, "tia", PASSWORD, preferred="TOTP")
    assert tia.totp_secret is not None
    await seeder.client.update_user_pool(
        UserPoolId=seeded.pool_id,
        MfaConfiguration="OPTIONAL",
        DeviceConfiguration={"ChallengeRequiredOnNewDevice": True},
    )
    seen.emulator.advance(60)
    async with _pool(seen, seeded) as pool:
        flow = pool.sign_in(tia.username, PASSWORD)
        _keep_flow(seen, flow)
        async for challenge in flow:
            await flow.send_mfa_code(_totp(seen, tia.totp_secret))
            seen.keep(challenge)
        user = pool.user(flow.session)
        creds = await user.confirm_device(device_name="laptop")
        seen.secret("device password", creds.device_password.get_secret_value())
        seen.keep(user, flow.session, creds, creds.model_dump())

        wrong = creds.model_copy(update={"device_password": SecretStr("Wrong-Device-Password")})
        seen.secret("wrong device password", "Wrong-Device-Password")
        signin = pool.sign_in(tia.username, PASSWORD, device=wrong)
        _keep_flow(seen, signin)
        await seen.expect(cm.NotAuthorized, anext(aiter(signin)))

        signin = pool.sign_in(tia.username, PASSWORD, device=creds)
        _keep_flow(seen, signin)
        assert [c async for c in signin] == []
        refreshed = await pool.refresh(signin.session)
        seen.keep(signin.session, refreshed, *await user.list_devices())
        seen.keep(await user.get_device(creds.device_key))
        await user.forget_device(creds.device_key)
        signin = pool.sign_in(tia.username, PASSWORD, device=creds)
        _keep_flow(seen, signin)
        await seen.expect(cm.DeviceNotFound, anext(aiter(signin)))
    seen.check(at_least={"device password", "PasswordVerifier", "SRP_A", "Session"})


# --- pytest's own failure output ------------------------------------------------------------

_FAILING_TESTS = """
import os

import pytest
from pydantic import SecretStr

import cognito_mfa as cm
from cognito_mfa.challenges import build_challenge
from cognito_mfa._flow import FlowState

E = os.environ


def objects():
    pool = cm.UserPool(
        "us-east-1_Leak", "client", E["LEAK_CLIENT_SECRET"],
        aws_access_key_id="testing", aws_secret_access_key="testing",
    )
    tokens = cm.CognitoUserSession(
        id_token=SecretStr(E["LEAK_ID_TOKEN"]),
        access_token=SecretStr(E["LEAK_ACCESS_TOKEN"]),
        refresh_token=SecretStr(E["LEAK_REFRESH_TOKEN"]),
        expires_at="2030-01-01T00:00:00Z",
    )
    state = FlowState(
        pool_id="us-east-1_Leak", client_id="client", challenge_name="SMS_MFA",
        username="alice", session=SecretStr(E["LEAK_SESSION"]),
        challenge_parameters={"CODE_DELIVERY_DESTINATION": "+*******0100"},
    )
    secret = cm.SoftwareTokenSecret(secret_code=SecretStr(E["LEAK_TOTP_SECRET"]))
    challenge = build_challenge("SMS_MFA", dict(state.challenge_parameters), "alice")
    return pool, tokens, state, secret, challenge


def test_compare_models():
    pool, tokens, state, secret, challenge = objects()
    assert [tokens, state, secret, challenge] == [None, None, None, None]


def test_attribute_of_model():
    pool, tokens, state, secret, challenge = objects()
    assert tokens.access_token == state.session


def test_dict_diff():
    pool, tokens, state, secret, challenge = objects()
    assert {"tokens": tokens, "state": state} == {"tokens": tokens, "state": None}


async def test_flow_and_pool():
    pool, tokens, state, secret, challenge = objects()
    async with pool:
        flow = pool.sign_in("alice", SecretStr(E["LEAK_PASSWORD"]))
        resumed = pool.resume(state)
        user = pool.user(tokens)
        assert (flow, resumed, resumed.challenge, user, pool) is None


async def test_code_passed_as_str():
    pool, tokens, state, secret, challenge = objects()
    async with pool:
        flow = pool.resume(state)
        await flow.send_mfa_code(E["LEAK_CODE"])


async def test_password_passed_as_str():
    pool, tokens, state, secret, challenge = objects()
    async with pool:
        pool.sign_in("", E["LEAK_PLAIN_PASSWORD"])
"""


LEAKS = {
    "LEAK_CLIENT_SECRET": "client-secret-" + "k" * 30,
    "LEAK_ID_TOKEN": "eyJ.id-token-value-0123456789.sig",
    "LEAK_ACCESS_TOKEN": "eyJ.access-token-value-0123456789.sig",
    "LEAK_REFRESH_TOKEN": "refresh-token-value-0123456789abcdef",
    "LEAK_SESSION": "AYABsession-value-" + "s" * 40,
    "LEAK_TOTP_SECRET": "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP",
    "LEAK_PASSWORD": "Pass-word-value-42!",
    # handed to the library as plain str arguments, not SecretStr
    "LEAK_CODE": "98765",
    "LEAK_PLAIN_PASSWORD": "Plain-pass-word-77!",
}
PLAIN_ARGUMENTS = {"LEAK_CODE", "LEAK_PLAIN_PASSWORD"}


def _run_failing_tests(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, *options: str
) -> str:
    for name, value in LEAKS.items():
        monkeypatch.setenv(name, value)
    pytester.makepyfile(test_leaky=_FAILING_TESTS)
    pytester.makeini(
        "[pytest]\nasyncio_mode = auto\nasyncio_default_fixture_loop_scope = function\n"
        "filterwarnings =\n    error\n    ignore:datetime.datetime.utcnow:DeprecationWarning\n"
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", *options)
    result.assert_outcomes(failed=6)
    output = "\n".join(result.outlines + result.errlines)
    assert "SecretStr('**********')" in output  # the models were rendered, masked
    return output


@pytest.mark.parametrize("options", [("-vv", "--tb=long"), ("--showlocals", "--tb=long")])
def test_pytest_failure_output_shows_no_secret_held_by_the_library(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, options: tuple[str, ...]
) -> None:
    output = _run_failing_tests(pytester, monkeypatch, *options)
    for name, value in LEAKS.items():
        if name not in PLAIN_ARGUMENTS:
            assert value not in output, f"{name} shows in pytest's failure output"


def test_pytest_failure_output_shows_no_plain_argument(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    output = _run_failing_tests(pytester, monkeypatch)
    for name in sorted(PLAIN_ARGUMENTS):
        assert LEAKS[name] not in output, f"{name} shows in pytest's failure output"


# --- constant-time comparisons ----------------------------------------------------------------

# Names that hold secret-derived values in this code base (codes, signatures, proofs, tokens).
SECRET_NAMES = frozenset(
    {
        "signature",
        "expected_signature",
        "secret_block",
        "block",
        "code",
        "user_code",
        "expected",
        "password",
        "new_password",
        "secret_hash",
        "digest",
        "key",
        "token",
        "access_token",
        "refresh_token",
        "id_token",
        "session",
        "secret",
        "secret_code",
    }
)


def _plain_comparisons_of_secrets(source: str) -> list[int]:
    """Lines where ``==``/``!=`` compares a secret-named value with anything but a literal."""
    lines = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Compare):
            continue
        if not any(isinstance(op, ast.Eq | ast.NotEq) for op in node.ops):
            continue
        sides = [node.left, *node.comparators]
        if any(isinstance(side, ast.Constant) for side in sides):
            continue  # e.g. name == "SOFTWARE_TOKEN_MFA": a wire name, not a secret
        for side in sides:
            name = side.id if isinstance(side, ast.Name) else getattr(side, "attr", None)
            if isinstance(side, ast.Call) and isinstance(side.func, ast.Attribute):
                name = "secret" if side.func.attr == "get_secret_value" else None
            if name in SECRET_NAMES:
                lines.append(node.lineno)
                break
    return lines


def test_secret_derived_values_are_compared_in_constant_time() -> None:
    # the check finds what it looks for...
    assert _plain_comparisons_of_secrets("ok = signature == received\n") == [1]
    assert _plain_comparisons_of_secrets("ok = a.get_secret_value() != b\n") == [1]
    assert _plain_comparisons_of_secrets("ok = hmac.compare_digest(signature, received)\n") == []
    # ...and the library (the emulator included) and the examples have none: they use
    # hmac.compare_digest
    root = Path(cm.__file__).parent
    examples = Path(__file__).resolve().parent.parent / "examples"
    assert (examples / "web_app" / "app.py").is_file()
    found = {
        f"{path.relative_to(folder.parent)}:{line}"
        for folder in (root, examples)
        for path in sorted(folder.rglob("*.py"))
        for line in _plain_comparisons_of_secrets(path.read_text(encoding="utf-8"))
    }
    assert not found, f"compare these with hmac.compare_digest: {sorted(found)}"
