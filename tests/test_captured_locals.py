"""No secret in any frame of an error, as error reporters record them (issue 11, finding 2).

rich's tracebacks, Sentry and ``traceback.TracebackException(capture_locals=True)`` record the
``repr`` of every local variable of every frame an exception passed through, its causes and
contexts included. Each flow (SRP and USER_PASSWORD_AUTH sign-in; SMS, TOTP, EMAIL_OTP,
SELECT_MFA_TYPE, MFA_SETUP and NEW_PASSWORD_REQUIRED challenges; refresh; a signed-in user's
TOTP enrolment; a remembered device, with a wrong device password and forgotten; a wrong
password; wrong codes) runs against the in-process emulator, with and
without an app client secret, once clean and then once for each of its requests with that
request failing. Every error raised is formatted with ``capture_locals=True`` and every frame
(of the error, its causes and contexts, shown or suppressed) is searched for every secret the
run used: the password, codes, challenge sessions, SECRET_HASH, SRP values and the secret
exponent, tokens, the TOTP secret and the client secret, harvested from the wire itself.

The flows hold their own secrets as ``SecretStr``, as SECURITY.md advises; the search covers
their frames too, so a library frame that unwraps a value into a plain local fails the test.
"""

from __future__ import annotations

import json
import os
import re
import traceback
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import aioboto3
import pyotp
import pytest
from pydantic import SecretStr

import cognito_mfa as cm
from cognito_mfa import _srp as srp
from cognito_mfa.testing import (
    EMULATOR_ENDPOINT,
    Emulator,
    SeededPool,
    Seeder,
    httpx_client_config,
)

PASSWORD = "Correct-Horse-9"
NEW_PASSWORD = "Battery-Staple-7"
WRONG_PASSWORD = "Wrong-Horse-9!"
TEMPORARY_PASSWORD = "Temp-Horse-1"
WRONG_DEVICE_PASSWORD = "Wrong-Device-Password-1"
PHONE = "+15555550100"
START = 1_800_000_000.0

# wire members whose values are secrets (at any depth of a request or an answer)
SECRET_KEYS = frozenset(
    {
        "PASSWORD",
        "NEW_PASSWORD",
        "Password",
        "TemporaryPassword",
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


class FailAt(Emulator):
    """The emulator, failing its ``fail_at``-th request (counted from ``count = 0``)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.count = 0
        self.fail_at: int | None = None
        #: every request body and answer body, in order (what went over the wire)
        self.wire: list[tuple[bytes, bytes]] = []

    def handle(self, target: str | None, body: bytes, *, signed: bool) -> Any:
        self.count += 1
        if self.count == self.fail_at and target:
            self.inject_fault(target.split(".", 1)[1])
        answer = super().handle(target, body, signed=signed)
        self.wire.append((body, answer.body))
        return answer


class Run:
    """What a flow may touch: the pool, the emulator, codes, and the errors it expected.

    Its repr says nothing: it is a local of every flow frame.
    """

    def __init__(self, pool: cm.UserPool, emulator: FailAt, users: dict[str, Any]) -> None:
        self.pool = pool
        self.emulator = emulator
        self.users = users
        self.errors: list[BaseException] = []
        self.totp_secrets: list[str] = []
        self.device_passwords: list[str] = []

    def __repr__(self) -> str:
        return "<Run>"

    def code(self, username: str, medium: str) -> SecretStr:
        return SecretStr(self.emulator.last_code(username, medium))

    def totp(self, secret: str | SecretStr, offset: int = 0) -> SecretStr:
        value = secret.get_secret_value() if isinstance(secret, SecretStr) else secret
        return SecretStr(pyotp.TOTP(value).at(int(self.emulator.now()) + offset))

    def wrong(self, code: SecretStr) -> SecretStr:
        value = code.get_secret_value()
        return SecretStr(f"{(int(value) + 1) % 10 ** len(value):0{len(value)}d}")

    async def expect(self, error: type[BaseException], awaitable: Awaitable[Any]) -> None:
        caught = await _catch(awaitable)
        assert caught is not None, f"expected {error.__name__}"
        if not isinstance(caught, error):
            raise caught  # an injected fault: the flow ends here
        self.errors.append(caught)


async def _catch(awaitable: Awaitable[Any]) -> BaseException | None:
    # the frame that catches is in the traceback too: it holds nothing but the awaitable
    try:
        await awaitable
    except cm.CognitoError as error:
        return error
    return None


# --- the flows -----------------------------------------------------------------------------------


async def srp_sms_and_refresh(run: Run) -> None:
    user = run.users["sms"]
    flow = run.pool.sign_in(user.username, SecretStr(PASSWORD))
    challenge = await anext(aiter(flow))
    assert isinstance(challenge, cm.SmsMfaChallenge)
    await run.expect(cm.CodeMismatch, challenge.answer(run.wrong(run.code(user.username, "SMS"))))
    await challenge.answer(run.code(user.username, "SMS"))
    await run.pool.refresh(flow.session)


async def password_auth_totp(run: Run) -> None:
    user = run.users["totp"]
    flow = run.pool.sign_in(user.username, SecretStr(PASSWORD), auth_flow="USER_PASSWORD_AUTH")
    challenge = await anext(aiter(flow))
    assert isinstance(challenge, cm.SoftwareTokenMfaChallenge)
    await run.expect(cm.CodeMismatch, challenge.answer(run.totp(user.totp_secret, 90)))
    await flow.send_mfa_code(run.totp(user.totp_secret))


async def email_otp(run: Run) -> None:
    user = run.users["email"]
    flow = run.pool.sign_in(user.username, SecretStr(PASSWORD))
    async for challenge in flow:
        assert isinstance(challenge, cm.EmailOtpChallenge)
        await challenge.answer(run.code(user.username, "EMAIL"))


async def select_mfa_type(run: Run) -> None:
    user = run.users["both"]
    flow = run.pool.sign_in(user.username, SecretStr(PASSWORD))
    select = await anext(aiter(flow))
    assert isinstance(select, cm.SelectMfaTypeChallenge)
    await flow.send_mfa_selection_answer("SOFTWARE_TOKEN")
    challenge = await anext(aiter(flow))
    await challenge.answer(run.totp(user.totp_secret, 30))  # type: ignore[union-attr]


async def wrong_passwords(run: Run) -> None:
    user = run.users["sms"]
    for auth_flow in ("USER_SRP_AUTH", "USER_PASSWORD_AUTH"):
        flow = run.pool.sign_in(user.username, SecretStr(WRONG_PASSWORD), auth_flow=auth_flow)
        await run.expect(cm.NotAuthorized, anext(aiter(flow)))


async def mfa_setup(run: Run) -> None:
    user = run.users["setup"]
    flow = run.pool.sign_in(user.username, SecretStr(PASSWORD))
    setup = await anext(aiter(flow))
    assert isinstance(setup, cm.MfaSetupChallenge)
    secret = await setup.associate_software_token()
    run.totp_secrets.append(secret.secret_code.get_secret_value())
    wrong = run.wrong(run.totp(secret.secret_code))
    await run.expect(cm.EnableSoftwareTokenMFA, setup.verify_software_token(wrong))
    await setup.verify_software_token(run.totp(secret.secret_code), "phone")
    assert flow.done


async def new_password_required(run: Run) -> None:
    flow = run.pool.sign_in("gina", SecretStr(TEMPORARY_PASSWORD), auth_flow="USER_PASSWORD_AUTH")
    async for challenge in flow:
        assert isinstance(challenge, cm.NewPasswordRequiredChallenge)
        await run.expect(cm.InvalidPassword, challenge.answer(SecretStr("short")))
        await challenge.answer(SecretStr(NEW_PASSWORD))


async def user_totp_enrolment(run: Run) -> None:
    user = run.users["sms"]
    flow = run.pool.sign_in(user.username, SecretStr(PASSWORD), auth_flow="USER_PASSWORD_AUTH")
    async for challenge in flow:
        await challenge.answer(run.code(user.username, "SMS"))  # type: ignore[union-attr]
    signed_in = run.pool.user(flow.session)
    secret = await signed_in.associate_software_token()
    run.totp_secrets.append(secret.secret_code.get_secret_value())
    wrong = run.wrong(run.totp(secret.secret_code))
    await run.expect(cm.EnableSoftwareTokenMFA, signed_in.verify_software_token(wrong))
    await signed_in.verify_software_token(run.totp(secret.secret_code))


async def remembered_device(run: Run) -> None:
    user = run.users["totp"]
    flow = run.pool.sign_in(user.username, SecretStr(PASSWORD))
    async for challenge in flow:
        await challenge.answer(run.totp(user.totp_secret))  # type: ignore[union-attr]
    signed_in = run.pool.user(flow.session)
    creds = await signed_in.confirm_device(device_name="laptop")
    run.device_passwords.append(creds.device_password.get_secret_value())
    wrong = creds.model_copy(update={"device_password": SecretStr(WRONG_DEVICE_PASSWORD)})
    signin = run.pool.sign_in(user.username, SecretStr(PASSWORD), device=wrong)
    await run.expect(cm.NotAuthorized, anext(aiter(signin)))
    device_flow = run.pool.sign_in(user.username, SecretStr(PASSWORD), device=creds)
    async for _ in device_flow:
        raise AssertionError("a remembered device gets no challenge")
    await run.pool.refresh(device_flow.session)
    await signed_in.forget_device(creds.device_key)
    signin = run.pool.sign_in(user.username, SecretStr(PASSWORD), device=creds)
    await run.expect(cm.DeviceNotFound, anext(aiter(signin)))


FLOWS: dict[str, tuple[Callable[[Run], Awaitable[None]], dict[str, Any]]] = {
    "SRP, SMS, refresh": (srp_sms_and_refresh, {}),
    "USER_PASSWORD_AUTH, TOTP": (password_auth_totp, {}),
    "EMAIL_OTP": (email_otp, {}),
    "SELECT_MFA_TYPE": (select_mfa_type, {}),
    "wrong password": (wrong_passwords, {}),
    "MFA_SETUP": (mfa_setup, {"mfa": "ON", "sms": False, "email": False}),
    "NEW_PASSWORD_REQUIRED": (new_password_required, {"mfa": "OFF"}),
    "user TOTP enrolment": (user_totp_enrolment, {}),
    "remembered device": (remembered_device, {"devices": True}),
}


# errors a clean run of each flow raises on purpose (wrong codes, wrong passwords)
EXPECTED_ERRORS = {
    "EMAIL_OTP": 0,
    "SELECT_MFA_TYPE": 0,
    "wrong password": 2,
    "remembered device": 2,
}


# --- running a flow, and searching what it left ------------------------------------------------


@dataclass
class Outcome:
    errors: list[BaseException]
    secrets: list[tuple[str, str]]
    requests: int
    texts: list[tuple[str, str]] = field(default_factory=list)


def _wire_secrets(value: Any, label: str = "") -> Iterator[tuple[str, str]]:
    if isinstance(value, dict):
        for key, item in value.items():
            if key in SECRET_KEYS and isinstance(item, str) and item:
                yield key, item
            yield from _wire_secrets(item, key)
    elif isinstance(value, list):
        for item in value:
            yield from _wire_secrets(item, label)


async def _run(name: str, *, client_secret: bool, fail_at: int | None) -> Outcome:
    flow, pool_options = FLOWS[name]
    pool_options = dict(pool_options)
    devices = pool_options.pop("devices", False)
    emulator = FailAt(clock=lambda: START)
    exponents: list[bytes] = []

    def random_bytes(count: int) -> bytes:
        exponents.append(os.urandom(count))
        return exponents[-1]

    session = aioboto3.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1"
    )
    config = httpx_client_config(emulator, retries={"max_attempts": 1})
    async with session.client(
        "cognito-idp", endpoint_url=EMULATOR_ENDPOINT, config=config
    ) as client:
        seeder = Seeder(client, clock=emulator.now)
        seeded = await seeder.create_pool_and_client(generate_secret=client_secret, **pool_options)
        users = await _users(seeder, seeded, pool_options, devices=devices)
        if devices:
            await client.update_user_pool(
                UserPoolId=seeded.pool_id,
                MfaConfiguration="OPTIONAL",
                DeviceConfiguration={"ChallengeRequiredOnNewDevice": True},
            )
        emulator.advance(60)  # past the seeder's enrolment step: the current code is fresh
        pool = cm.UserPool(
            seeded.pool_id,
            seeded.client_id,
            seeded.client_secret,
            endpoint_url=EMULATOR_ENDPOINT,
            botocore_config=httpx_client_config(emulator),
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            clock=lambda: datetime.fromtimestamp(emulator.now(), UTC),
            random_bytes=random_bytes,
            retry_policy=cm.RetryPolicy(max_attempts=1),  # every injected fault surfaces
        )
        seeding = len(emulator.wire)
        emulator.count, emulator.fail_at = 0, fail_at
        async with pool:
            run = Run(pool, emulator, users)
            failure = await _catch(flow(run))
        errors = [*run.errors, *([failure] if failure is not None else [])]
        found = [("client secret", seeded.client_secret or "")]
        found += [("TOTP secret", s) for s in run.totp_secrets]
        found += [("TOTP secret", u.totp_secret) for u in users.values() if u.totp_secret]
        for exchange in emulator.wire[seeding:]:
            for raw in exchange:
                if raw:
                    found.extend(_wire_secrets(json.loads(raw)))
        found += [("device password", p) for p in run.device_passwords]
        found += [("wrong device password", WRONG_DEVICE_PASSWORD)]
        found += [(f"{m.medium} code", m.code) for m in emulator.messages]
        for raw in exponents:
            if len(raw) != srp.SECRET_EXPONENT_BITS // 8:
                continue  # a device password's or salt's bytes (the password is listed)
            a = srp.secret_exponent(raw)
            found += [("SRP exponent (hex)", format(a, "x")), ("SRP exponent", str(a))]
        found += [("password", PASSWORD), ("wrong password", WRONG_PASSWORD)]
        found += [("new password", NEW_PASSWORD), ("temporary password", TEMPORARY_PASSWORD)]
        return Outcome(errors, found, emulator.count)


async def _users(
    seeder: Seeder, seeded: SeededPool, options: dict[str, Any], *, devices: bool = False
) -> dict[str, Any]:
    if devices:
        return {"totp": await seeder.create_user(seeded, "tia", PASSWORD, preferred="TOTP")}
    if options.get("mfa") == "ON":
        return {"setup": await seeder.create_user(seeded, "frank", PASSWORD)}
    if options.get("mfa") == "OFF":
        await seeder.client.admin_create_user(
            UserPoolId=seeded.pool_id,
            Username="gina",
            TemporaryPassword=TEMPORARY_PASSWORD,
            MessageAction="SUPPRESS",
        )
        return {}
    return {
        "sms": await seeder.create_user(seeded, "sam", PASSWORD, phone=PHONE, mfa=["SMS"]),
        "totp": await seeder.create_user(seeded, "tia", PASSWORD, preferred="TOTP"),
        "email": await seeder.create_user(
            seeded, "eve", PASSWORD, email="eve@example.com", mfa=["EMAIL"]
        ),
        "both": await seeder.create_user(
            seeded, "bo", PASSWORD, phone=PHONE, totp=True, mfa=["SMS", "TOTP"]
        ),
    }


def captured_frames(error: BaseException) -> list[tuple[str, str]]:
    """(where, text) for the formatted error and every frame's locals, causes and contexts
    included (shown or suppressed)."""
    top = traceback.TracebackException.from_exception(error, capture_locals=True)
    texts = [("formatted traceback", "".join(top.format()))]
    pending = [top]
    seen: set[int] = set()
    while pending:
        current = pending.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        for frame in current.stack:
            for local, text in (frame.locals or {}).items():
                kind = current.exc_type.__name__ if current.exc_type else "?"
                texts.append((f"{frame.name}() local {local!r} ({kind})", text))
        pending += [e for e in (current.__cause__, current.__context__) if e is not None]
    return texts


def leaks(outcome: Outcome) -> list[str]:
    found = []
    for error in outcome.errors:
        texts = captured_frames(error)
        for label, value in outcome.secrets:
            if len(value) < 6:
                continue
            if value.isdigit():
                pattern = re.compile(rf"(?<![0-9]){re.escape(value)}(?![0-9])")
                hits = [where for where, text in texts if pattern.search(text)]
            else:
                hits = [where for where, text in texts if value in text]
            found += [f"{label} in {where} of {type(error).__name__}" for where in hits]
    return sorted(set(found))


# --- the tests -----------------------------------------------------------------------------------


def test_the_search_finds_a_plain_local() -> None:
    # the check can fail: a frame holding a code in clear is found, one holding it wrapped is not
    def leaky(code: str) -> None:
        raise cm.InvalidInput("no")

    def careful(code: SecretStr) -> None:
        raise cm.InvalidInput("no")

    outcomes = []
    for function, argument in ((leaky, "918273"), (careful, SecretStr("918273"))):
        try:
            function(argument)  # type: ignore[operator]
        except cm.InvalidInput as error:
            outcomes.append(leaks(Outcome([error], [("code", "918273")], 0)))
    assert outcomes[0] and not outcomes[1]


@pytest.mark.parametrize("client_secret", [False, True], ids=["public client", "secret client"])
@pytest.mark.parametrize("name", list(FLOWS))
async def test_no_secret_in_any_captured_frame(name: str, client_secret: bool) -> None:
    clean = await _run(name, client_secret=client_secret, fail_at=None)
    assert len(clean.errors) == EXPECTED_ERRORS.get(name, 1), clean.errors
    assert not clean.errors or all(isinstance(e, cm.ServiceError) for e in clean.errors)
    assert {label for label, _ in clean.secrets} >= {"Session", "password"}
    problems = leaks(clean)
    faulted = 0
    for fail_at in range(1, clean.requests + 1):
        outcome = await _run(name, client_secret=client_secret, fail_at=fail_at)
        faulted += any(isinstance(e, cm.InternalError) for e in outcome.errors)
        problems += leaks(outcome)
    assert faulted == clean.requests  # every request's failure surfaced
    assert not problems, "secrets in captured frames: " + "; ".join(sorted(set(problems)))
