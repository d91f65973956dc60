"""Sessions and clocks: expiry between answers, TOTP windows, reused codes, skewed clients.

The emulator's clock is fixed (``Emulator(clock=...)``) and moves only with ``advance``, and
the pool reads the same clock, so no test sleeps and no TOTP step boundary can be crossed by
accident. What each case gives, and why:

* A challenge session lives AuthSessionValidity (3 minutes here) *per step*: each answer
  that leads to another challenge starts a new session. Past it: ``SessionExpired``
  (NotAuthorized "Invalid session for the user, session is expired."); the flow is FAILED.
* TOTP (Cognito's documented ±30 s): codes of the steps T-1, T, T+1 are accepted, T±2
  refused with ``CodeMismatch``; a step's code is accepted once (RFC 6238 §5.2; Cognito's
  behaviour is UNCONFIRMED, the emulator refuses reuse by default, ``totp_reuse=True``
  allows it). The refused code leaves the challenge open: the next step's code is accepted.
* A client clock off by minutes: the SRP proof carries TIMESTAMP from the *client's* clock.
  The emulator compares it with its own clock within ``timestamp_tolerance`` (15 minutes by
  default; how tightly Cognito compares is UNCONFIRMED), so a client a few minutes off signs
  in and one further off is refused as a wrong password; the token expiry (``expires_at``) is
  reckoned on the client's clock, which ``is_valid`` must be asked with. A client too slow
  between the two SRP steps (the emulator's opt-in ``password_verifier_timeout``) gets
  SessionExpired.
* Tokens: an access token past ``ExpiresIn`` is renewed once behind a user call; an expired
  refresh token is ``TokenRevoked`` (sign in again).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pyotp
import pytest

import cognito_mfa as cm
from cognito_mfa.testing import (
    Emulator,
    SeededPool,
    SeededUser,
    Seeder,
)

if TYPE_CHECKING:
    from conftest import Way  # the shared fixtures' type (tests/conftest.py)

PASSWORD = "Correct-Horse-9"
PHONE = "+15555550100"
START = 1_800_000_015.0  # the middle of a 30 s TOTP step
VALIDITY = 3 * 60  # AuthSessionValidity of the seeded app client


@dataclass
class Env:
    emulator: Emulator
    seeder: Seeder
    seeded: SeededPool
    way: Way  # in-process or served: every test here runs both ways

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.emulator.now(), UTC)

    def pool(self, clock: Callable[[], datetime] | None = None) -> cm.UserPool:
        return cm.UserPool(
            self.seeded.pool_id,
            self.seeded.client_id,
            endpoint_url=self.way.endpoint_url,
            botocore_config=self.way.botocore_config,
            clock=clock or self.now,
        )

    def totp(self, user: SeededUser, offset: int = 0) -> str:
        assert user.totp_secret is not None
        return pyotp.TOTP(user.totp_secret).at(int(self.emulator.now()) + offset)

    def sms(self, user: SeededUser) -> str:
        return self.emulator.last_code(user.username, "SMS")


@pytest.fixture
def cognito_emulator_kwargs() -> dict[str, Any]:
    """The shipped fixtures' emulator runs on a fixed clock (tests may parametrize more)."""
    return {"clock": lambda: START}


@pytest.fixture
async def env(
    cognito_emulator: Emulator, cognito_seeder: Seeder, cognito_pool: SeededPool, way: Way
) -> Env:
    return Env(cognito_emulator, cognito_seeder, cognito_pool, way)


reusing_env = env
strict_verifier_env = env
unchecked_clock_env = env
REUSE = pytest.mark.parametrize(
    "cognito_emulator_kwargs", [{"clock": lambda: START, "totp_reuse": True}]
)
STRICT_VERIFIER = pytest.mark.parametrize(
    "cognito_emulator_kwargs", [{"clock": lambda: START, "password_verifier_timeout": 5.0}]
)
UNCHECKED_CLOCK = pytest.mark.parametrize(
    "cognito_emulator_kwargs", [{"clock": lambda: START, "timestamp_tolerance": None}]
)


async def _sms_sign_in(env: Env, pool: cm.UserPool, user: SeededUser) -> cm.AuthFlow:
    flow = pool.sign_in(user.username, PASSWORD)
    await anext(aiter(flow))
    await flow.send_mfa_code(env.sms(user), "SMS")
    return flow


# --- challenge sessions expiring between two answers ---------------------------------------


async def test_session_expires_between_select_and_code(env: Env) -> None:
    user = await env.seeder.create_user(
        env.seeded, "bo", PASSWORD, phone=PHONE, totp=True, mfa=["SMS", "TOTP"]
    )
    async with env.pool() as pool:
        flow = pool.sign_in(user.username, PASSWORD)
        select = await anext(aiter(flow))
        assert isinstance(select, cm.SelectMfaTypeChallenge)
        await select.select("SMS")
        challenge = await anext(aiter(flow))
        env.emulator.advance(VALIDITY + 1)
        with pytest.raises(cm.SessionExpired) as info:
            await challenge.answer(env.sms(user))
        assert isinstance(info.value, cm.InvalidSession | cm.NotAuthorized)
        assert "session is expired" in info.value.message
        assert flow.phase is cm.Phase.FAILED
        with pytest.raises(cm.FlowStateError):
            await challenge.answer(env.sms(user))


async def test_each_step_has_its_own_validity(env: Env) -> None:
    user = await env.seeder.create_user(
        env.seeded, "bo", PASSWORD, phone=PHONE, totp=True, mfa=["SMS", "TOTP"]
    )
    async with env.pool() as pool:
        flow = pool.sign_in(user.username, PASSWORD)
        select = await anext(aiter(flow))
        env.emulator.advance(VALIDITY - 1)  # just inside the first step's session
        assert isinstance(select, cm.SelectMfaTypeChallenge)
        await select.select("SMS")
        challenge = await anext(aiter(flow))
        env.emulator.advance(VALIDITY - 1)  # 6 minutes in all, but a fresh session
        await challenge.answer(env.sms(user))
        assert flow.done


async def test_session_expires_after_a_wrong_code(env: Env) -> None:
    user = await env.seeder.create_user(env.seeded, "sam", PASSWORD, phone=PHONE, mfa=["SMS"])
    async with env.pool() as pool:
        flow = pool.sign_in(user.username, PASSWORD)
        challenge = await anext(aiter(flow))
        code = env.sms(user)
        wrong = f"{(int(code) + 1) % 1_000_000:06d}"
        with pytest.raises(cm.CodeMismatch):
            await challenge.answer(wrong)
        assert flow.phase is cm.Phase.CHALLENGED
        env.emulator.advance(VALIDITY)  # the wrong code did not extend the session
        with pytest.raises(cm.SessionExpired):
            await challenge.answer(code)


async def test_session_expires_during_mfa_setup(env: Env) -> None:
    pool_id = await env.seeder.create_pool("setup", mfa="ON", sms=False, email=False)
    env.seeded = await env.seeder.create_client(pool_id)
    await env.seeder.create_user(env.seeded, "frank", PASSWORD)
    async with env.pool() as pool:
        flow = pool.sign_in("frank", PASSWORD)
        setup = await anext(aiter(flow))
        assert isinstance(setup, cm.MfaSetupChallenge)
        secret = await setup.associate_software_token()
        env.emulator.advance(VALIDITY + 1)
        with pytest.raises(cm.SessionExpired):
            await setup.verify_software_token(secret.code_at(env.emulator.now()))
        assert flow.phase is cm.Phase.FAILED


async def test_a_saved_state_expires_too(env: Env) -> None:
    user = await env.seeder.create_user(env.seeded, "sam", PASSWORD, phone=PHONE, mfa=["SMS"])
    async with env.pool() as pool:
        flow = pool.sign_in(user.username, PASSWORD)
        await anext(aiter(flow))
        saved = flow.state.model_dump_json()
        env.emulator.advance(VALIDITY + 1)
        with pytest.raises(cm.SessionExpired):
            await pool.resume(saved).send_mfa_code(env.sms(user))


# --- TOTP windows ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("offset", "accepted"),
    [
        (-60, False),
        (-30, True),
        (0, True),
        (30, True),
        (60, False),
        # START sits 15 s into its step: T-1 begins 45 s back, T+2 begins 45 s ahead
        (-45, True),
        (-46, False),
        (44, True),
        (45, False),
    ],
)
async def test_totp_window_edges(env: Env, offset: int, accepted: bool) -> None:
    user = await env.seeder.create_user(env.seeded, "tia", PASSWORD, preferred="TOTP")
    env.emulator.advance(90)  # well past the step the enrolment used
    async with env.pool() as pool:
        flow = pool.sign_in(user.username, PASSWORD)
        challenge = await anext(aiter(flow))
        assert isinstance(challenge, cm.SoftwareTokenMfaChallenge)
        if accepted:
            await challenge.answer(env.totp(user, offset))
            assert flow.done
        else:
            with pytest.raises(cm.CodeMismatch):
                await challenge.answer(env.totp(user, offset))
            assert flow.phase is cm.Phase.CHALLENGED
            await challenge.answer(env.totp(user))  # the same challenge takes a good code
            assert flow.done


async def _totp_sign_in(pool: cm.UserPool, user: SeededUser, code: str) -> cm.AuthFlow:
    flow = pool.sign_in(user.username, PASSWORD)
    challenge = await anext(aiter(flow))
    assert isinstance(challenge, cm.SoftwareTokenMfaChallenge)
    await challenge.answer(code)
    return flow


async def test_a_code_is_accepted_once_within_its_window(env: Env) -> None:
    user = await env.seeder.create_user(env.seeded, "tia", PASSWORD, preferred="TOTP")
    env.emulator.advance(90)
    async with env.pool() as pool:
        code = env.totp(user)
        assert (await _totp_sign_in(pool, user, code)).done
        env.emulator.advance(10)  # same step: the code is still "current"
        with pytest.raises(cm.CodeMismatch):
            await _totp_sign_in(pool, user, code)
        # an older step's code is refused too once a newer one was used
        with pytest.raises(cm.CodeMismatch):
            await _totp_sign_in(pool, user, env.totp(user, -30))
        assert (await _totp_sign_in(pool, user, env.totp(user, 30))).done


@REUSE
async def test_reuse_is_accepted_when_the_emulator_allows_it(reusing_env: Env) -> None:
    env = reusing_env
    user = await env.seeder.create_user(env.seeded, "tia", PASSWORD, preferred="TOTP")
    async with env.pool() as pool:
        code = env.totp(user)
        assert (await _totp_sign_in(pool, user, code)).done
        assert (await _totp_sign_in(pool, user, code)).done


# --- the client's clock -----------------------------------------------------------------------


@pytest.mark.parametrize("skew_minutes", [-14, -3, 3, 14])
async def test_a_skewed_client_clock_signs_in(env: Env, skew_minutes: int) -> None:
    user = await env.seeder.create_user(env.seeded, "sam", PASSWORD, phone=PHONE, mfa=["SMS"])
    skew = timedelta(minutes=skew_minutes)

    def skewed() -> datetime:
        return env.now() + skew

    async with env.pool(clock=skewed) as pool:
        session = (await _sms_sign_in(env, pool, user)).session
    # expiry is reckoned on the client's clock: ask is_valid with that clock
    assert session.expires_at == skewed() + timedelta(seconds=3600)
    assert session.is_valid(skewed())
    assert session.is_valid(env.now()) is (skew_minutes > -60)


@pytest.mark.parametrize("skew_minutes", [-20, 20])
async def test_a_client_clock_far_off_is_refused(env: Env, skew_minutes: int) -> None:
    user = await env.seeder.create_user(env.seeded, "sam", PASSWORD, phone=PHONE, mfa=["SMS"])
    skew = timedelta(minutes=skew_minutes)
    async with env.pool(clock=lambda: env.now() + skew) as pool:
        with pytest.raises(cm.NotAuthorized):
            await anext(aiter(pool.sign_in(user.username, PASSWORD)))


@UNCHECKED_CLOCK
async def test_timestamp_day_is_not_zero_padded(unchecked_clock_env: Env) -> None:
    # Cognito refuses "Wed Jan 02 ..."; the emulator parses strictly (its clock comparison is
    # off here: the client's clock is years away)
    env = unchecked_clock_env
    user = await env.seeder.create_user(env.seeded, "sam", PASSWORD, phone=PHONE, mfa=["SMS"])
    async with env.pool(clock=lambda: datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)) as pool:
        assert (await _sms_sign_in(env, pool, user)).done


@STRICT_VERIFIER
async def test_too_slow_between_the_srp_steps(strict_verifier_env: Env) -> None:
    env = strict_verifier_env
    user = await env.seeder.create_user(env.seeded, "sam", PASSWORD, phone=PHONE, mfa=["SMS"])
    calls = 0

    def slow_clock() -> datetime:
        # the pool reads its clock when it signs the SRP proof: let 10 s pass right then
        nonlocal calls
        calls += 1
        if calls == 1:
            env.emulator.advance(10)
        return env.now()

    async with env.pool(clock=slow_clock) as pool:
        flow = pool.sign_in(user.username, PASSWORD)
        with pytest.raises(cm.SessionExpired):
            await anext(aiter(flow))
        assert flow.phase is cm.Phase.FAILED
        # in time, the same pool signs in
        challenge = await anext(aiter(pool.sign_in(user.username, PASSWORD)))
        assert isinstance(challenge, cm.SmsMfaChallenge)


# --- tokens ---------------------------------------------------------------------------------


async def test_expired_access_token_is_refreshed_once(env: Env) -> None:
    user = await env.seeder.create_user(env.seeded, "sam", PASSWORD, phone=PHONE, mfa=["SMS"])
    async with env.pool() as pool:
        flow = await _sms_sign_in(env, pool, user)
        me = pool.user(flow.session)
        env.emulator.advance(3600 + 1)
        assert not flow.session.is_valid(env.now())
        data = await me.get_user_data()
        assert data.username == user.username
        assert me.session is not flow.session
        assert me.session.is_valid(env.now())
        assert me.session.refresh_token == flow.session.refresh_token


async def test_expired_refresh_token_means_sign_in_again(env: Env) -> None:
    user = await env.seeder.create_user(env.seeded, "sam", PASSWORD, phone=PHONE, mfa=["SMS"])
    async with env.pool() as pool:
        flow = await _sms_sign_in(env, pool, user)
        env.emulator.advance(30 * 86400 + 1)  # the client's refresh token validity
        with pytest.raises(cm.TokenRevoked):
            await pool.refresh(flow.session)
        with pytest.raises(cm.TokenRevoked):
            await pool.user(flow.session).get_user_data()


# --- seeding across a TOTP step boundary ---------------------------------------------------


async def test_seeding_retries_once_when_the_totp_step_turns_mid_enrolment(env: Env) -> None:
    # the seeder's code is from the step before the server's: what a step turning between
    # computing the code and the server checking it looks like
    readings: list[float] = []

    def turning() -> float:
        readings.append(env.emulator.now() - (30.0 if not readings else 0.0))
        return readings[-1]

    env.seeder.clock = turning
    user = await env.seeder.create_user(
        env.seeded, "turning", PASSWORD, mfa=["TOTP"], preferred="TOTP"
    )
    assert len(readings) == 2
    # the current step stays unused: the user signs in with it right away
    async with env.pool() as pool:
        flow = pool.sign_in("turning", PASSWORD)
        challenge = await anext(aiter(flow))
        assert isinstance(challenge, cm.SoftwareTokenMfaChallenge)
        await challenge.answer(env.totp(user))
        assert flow.session.id_token


async def test_seeding_does_not_retry_a_code_from_a_wrong_clock(env: Env) -> None:
    env.seeder.clock = lambda: env.emulator.now() - 300.0  # same step on every reading
    with pytest.raises(Exception) as caught:
        await env.seeder.create_user(env.seeded, "skewed", PASSWORD, totp=True)
    assert getattr(caught.value, "response", {})["Error"]["Code"] == (
        "EnableSoftwareTokenMFAException"
    )
