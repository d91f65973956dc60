"""End to end: UserPool and AuthFlow against the Cognito emulator, through both of its fronts.

``in-process``: respx answers aiobotocore's httpx session (``AioConfig(http_session_cls=
HttpxSession)``). ``served``: the emulator on a loopback port, reached with aioboto3's default
aiohttp transport. Every test runs on both.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import anyio
import anyio.lowlevel
import pytest
from pydantic import SecretStr

import cognito_mfa as cm
from cognito_mfa.testing.seed import SeededPool, SeededUser

if TYPE_CHECKING:
    from conftest import Front  # the shared fixtures' type (tests/conftest.py)

PASSWORD = "Correct-Horse-9"
PHONE = "+15555550100"


async def _sms_user(front: Front, seeded: SeededPool, name: str = "alice") -> SeededUser:
    return await front.seeder.create_user(seeded, name, PASSWORD, phone=PHONE, mfa=["SMS"])


# --- the contract's loop ------------------------------------------------------------------------


async def _run(front: Front, signin: cm.AuthFlow, *, totp_secret: str | None = None) -> list[str]:
    """Drive a sign-in the way the issue's contract does; returns the challenge names met."""
    names: list[str] = []
    async for challenge in signin:
        names.append(challenge.challenge_name)
        match challenge:
            case cm.SmsMfaChallenge():
                await challenge.answer(front.sms_code(challenge.username))
            case cm.EmailOtpChallenge():
                await challenge.answer(front.email_code(challenge.username))
            case cm.SoftwareTokenMfaChallenge():
                assert totp_secret is not None
                await challenge.answer(front.totp_code(totp_secret))
            case _:
                raise AssertionError(f"unexpected {challenge!r}")
    return names


@pytest.mark.parametrize("auth_flow", ["USER_SRP_AUTH", "USER_PASSWORD_AUTH"])
async def test_sign_in_with_sms(front: Front, seeded: SeededPool, auth_flow: str) -> None:
    user = await _sms_user(front, seeded)
    async with front.user_pool(seeded) as pool:
        signin = pool.sign_in(user.username, PASSWORD, auth_flow=auth_flow)
        assert await _run(front, signin) == ["SMS_MFA"]
        session = signin.session
    claims = session.unverified_id_claims
    assert claims["cognito:username"] == user.username
    assert claims["phone_number"] == PHONE
    assert session.refresh_token is not None
    assert session.expires_at > front.clock()


async def test_sms_challenge_shows_the_masked_destination(front: Front, seeded: SeededPool) -> None:
    user = await _sms_user(front, seeded)
    async with front.user_pool(seeded) as pool:
        signin = pool.sign_in(user.username, PASSWORD)
        challenge = await anext(aiter(signin))
        assert isinstance(challenge, cm.SmsMfaChallenge)
        assert challenge.destination is not None
        assert challenge.destination.endswith("0100")
        assert PHONE not in challenge.destination
        assert challenge.delivery_medium == "SMS"
        await signin.send_mfa_code(front.sms_code(challenge.username), "SMS")
        assert signin.done


async def test_sign_in_by_email_alias_answers_with_cognitos_name(front: Front) -> None:
    pool_id = await front.seeder.create_pool("alias-pool", username_attributes=["email"])
    seeded = await front.seeder.create_client(pool_id)
    user = await front.seeder.create_user(
        seeded, "carol@example.com", PASSWORD, email="carol@example.com", phone=PHONE, mfa=["SMS"]
    )
    assert user.sub is not None
    async with front.user_pool(seeded) as pool:
        signin = pool.sign_in("carol@example.com", PASSWORD)
        challenge = await anext(aiter(signin))
        assert isinstance(challenge, cm.SmsMfaChallenge)
        # the internal name (a UUID), not the alias typed
        assert challenge.username == user.sub
        await challenge.answer(front.sms_code(user.sub))
        assert signin.session.unverified_id_claims["email"] == "carol@example.com"
        assert signin.session.username == user.sub


async def test_client_with_secret(front: Front) -> None:
    seeded = await front.seeder.create_pool_and_client(generate_secret=True)
    assert seeded.client_secret is not None
    user = await _sms_user(front, seeded)
    async with front.user_pool(seeded) as pool:
        assert pool.client_secret is not None
        assert seeded.client_secret not in repr(pool.client_secret)
        for auth_flow in ("USER_SRP_AUTH", "USER_PASSWORD_AUTH"):
            signin = pool.sign_in(user.username, PASSWORD, auth_flow=auth_flow)
            assert await _run(front, signin) == ["SMS_MFA"]
        refreshed = await pool.refresh(signin.session)
        assert refreshed.refresh_token == signin.session.refresh_token
    # without the secret Cognito refuses
    async with front.user_pool(seeded, client_secret=None) as pool:
        with pytest.raises(cm.NotAuthorized):
            await anext(aiter(pool.sign_in(user.username, PASSWORD)))


@pytest.mark.parametrize("auth_flow", ["USER_SRP_AUTH", "USER_PASSWORD_AUTH"])
async def test_wrong_password(front: Front, seeded: SeededPool, auth_flow: str) -> None:
    user = await _sms_user(front, seeded)
    async with front.user_pool(seeded) as pool:
        signin = pool.sign_in(user.username, "Wrong-Horse-9", auth_flow=auth_flow)
        with pytest.raises(cm.NotAuthorized) as info:
            await anext(aiter(signin))
        assert "Wrong-Horse" not in str(info.value)
        assert signin.phase is cm.Phase.FAILED
        assert front.emulator.messages == []


async def test_wrong_code_then_right_code(front: Front, seeded: SeededPool) -> None:
    user = await front.seeder.create_user(seeded, "dave", PASSWORD, preferred="TOTP")
    assert user.totp_secret is not None
    async with front.user_pool(seeded) as pool:
        signin = pool.sign_in(user.username, PASSWORD)
        seen = []
        async for challenge in signin:
            seen.append(challenge)
            assert isinstance(challenge, cm.SoftwareTokenMfaChallenge)
            right = front.totp_code(user.totp_secret)
            wrong = f"{(int(right) + 1) % 1_000_000:06d}"
            try:
                await challenge.answer(wrong if len(seen) == 1 else right)
            except cm.CodeMismatch:
                assert signin.phase is cm.Phase.CHALLENGED
        assert len(seen) == 2
        assert seen[0] is seen[1]
        assert signin.done


async def test_five_wrong_codes_lock_the_user_out_typed(front: Front, seeded: SeededPool) -> None:
    user = await _sms_user(front, seeded)
    async with front.user_pool(seeded) as pool:
        signin = pool.sign_in(user.username, PASSWORD)
        challenge = await anext(aiter(signin))
        assert isinstance(challenge, cm.SmsMfaChallenge)
        right = front.sms_code(user.username)
        wrong = "000000" if right != "000000" else "111111"
        for _ in range(5):
            with pytest.raises(cm.CodeMismatch):
                await challenge.answer(wrong)
        with pytest.raises(cm.PasswordAttemptsExceeded) as info:
            await challenge.answer(right)
        assert right not in str(info.value)
        assert signin.phase is cm.Phase.FAILED
        # the lockout outlives the session (Cognito's exponential lockout): a new sign-in
        # is refused at its code until the lockout is over
        again = pool.sign_in(user.username, PASSWORD)
        challenge = await anext(aiter(again))
        assert isinstance(challenge, cm.SmsMfaChallenge)
        with pytest.raises(cm.PasswordAttemptsExceeded):
            await challenge.answer(front.sms_code(user.username))
        front.advance(1)
        later = pool.sign_in(user.username, PASSWORD)
        challenge = await anext(aiter(later))
        assert isinstance(challenge, cm.SmsMfaChallenge)
        await challenge.answer(front.sms_code(user.username))
        assert later.done


async def test_expired_session(front: Front, seeded: SeededPool) -> None:
    user = await _sms_user(front, seeded)
    async with front.user_pool(seeded) as pool:
        signin = pool.sign_in(user.username, PASSWORD)
        challenge = await anext(aiter(signin))
        assert isinstance(challenge, cm.SmsMfaChallenge)
        front.emulator.advance(3 * 60 + 1)  # AuthSessionValidity: 3 minutes
        with pytest.raises(cm.SessionExpired):
            await challenge.answer(front.sms_code(user.username))
        assert signin.phase is cm.Phase.FAILED


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        ("SOFTWARE_TOKEN_MFA", cm.SoftwareTokenMfaChallenge),
        ("TOTP", cm.SoftwareTokenMfaChallenge),
        (cm.MfaType.SMS_MFA, cm.SmsMfaChallenge),
        ("SMS", cm.SmsMfaChallenge),
    ],
)
async def test_select_mfa_type(
    front: Front, seeded: SeededPool, answer: str | cm.MfaType, expected: type[Any]
) -> None:
    user = await front.seeder.create_user(
        seeded, "erin", PASSWORD, phone=PHONE, totp=True, mfa=["SMS", "TOTP"]
    )
    async with front.user_pool(seeded) as pool:
        signin = pool.sign_in(user.username, PASSWORD)
        select = await anext(aiter(signin))
        assert isinstance(select, cm.SelectMfaTypeChallenge)
        assert set(select.options) == {cm.MfaType.SMS_MFA, cm.MfaType.SOFTWARE_TOKEN_MFA}
        await select.select(answer)
        names = await _run(front, signin, totp_secret=user.totp_secret)
        assert names == [expected.model_fields["challenge_name"].default]
        assert signin.done


async def test_mfa_setup_totp_then_totp_sign_in(front: Front) -> None:
    seeded = await front.seeder.create_pool_and_client(mfa="ON", sms=False, email=False)
    user = await front.seeder.create_user(seeded, "frank", PASSWORD)
    async with front.user_pool(seeded) as pool:
        signin = pool.sign_in(user.username, PASSWORD)
        secret_holder: list[cm.SoftwareTokenSecret] = []
        async for challenge in signin:
            match challenge:
                case cm.MfaSetupChallenge():
                    assert cm.MfaType.SOFTWARE_TOKEN_MFA in challenge.options
                    secret = await challenge.associate_software_token()
                    secret_holder.append(secret)
                    code = secret.code_at(front.emulator.now())
                    await challenge.verify_software_token(code, "My Phone")
                case _:
                    raise AssertionError(challenge)
        assert signin.done
        (secret,) = secret_holder
        front.emulator.advance(30)  # a fresh TOTP step: codes are single-use
        again = pool.sign_in(user.username, PASSWORD)
        names = await _run(front, again, totp_secret=secret.secret_code.get_secret_value())
        assert names == ["SOFTWARE_TOKEN_MFA"]


async def test_mfa_setup_by_email(front: Front) -> None:
    seeded = await front.seeder.create_pool_and_client(mfa="ON", sms=False, totp=False)
    user = await front.seeder.create_user(seeded, "ivy", PASSWORD)
    async with front.user_pool(seeded) as pool:
        signin = pool.sign_in(user.username, PASSWORD)
        names: list[str] = []
        async for challenge in signin:
            names.append(challenge.challenge_name)
            match challenge:
                case cm.MfaSetupChallenge():
                    assert challenge.options == (cm.MfaType.EMAIL_OTP,)
                    with pytest.raises(cm.FlowStateError):
                        await challenge.associate_software_token()  # TOTP is not offered
                    assert signin.phase is cm.Phase.WAITING  # refused before the machine
                    with pytest.raises(cm.InvalidInput):
                        await challenge.setup_email("not-an-address")
                    await challenge.setup_email("ivy@example.com")
                case cm.EmailOtpChallenge():
                    assert challenge.destination == "i***@e***"
                    await challenge.answer(front.email_code(user.username))
        assert names == ["MFA_SETUP", "EMAIL_OTP"]
        assert signin.done


async def test_new_password_required_then_mfa(front: Front) -> None:
    seeded = await front.seeder.create_pool_and_client(mfa="ON", email=False, totp=False)
    await front.client.admin_create_user(
        UserPoolId=seeded.pool_id,
        Username="gina",
        TemporaryPassword="Temp-Horse-1",
        MessageAction="SUPPRESS",
        UserAttributes=[
            {"Name": "phone_number", "Value": PHONE},
            {"Name": "phone_number_verified", "Value": "true"},
        ],
    )
    async with front.user_pool(seeded) as pool:
        signin = pool.sign_in("gina", "Temp-Horse-1")
        names: list[str] = []
        async for challenge in signin:
            names.append(challenge.challenge_name)
            match challenge:
                case cm.NewPasswordRequiredChallenge():
                    with pytest.raises(cm.InvalidPassword):
                        await challenge.answer("short")
                    await challenge.answer(PASSWORD)
                case cm.SmsMfaChallenge():
                    await challenge.answer(front.sms_code(challenge.username))
                case _:
                    raise AssertionError(challenge)
        assert names == ["NEW_PASSWORD_REQUIRED", "SMS_MFA"]
        assert signin.done
        # the new password is the password now
        assert await _run(front, pool.sign_in("gina", PASSWORD)) == ["SMS_MFA"]


async def test_admin_sign_in(front: Front, seeded: SeededPool) -> None:
    user = await _sms_user(front, seeded)
    async with front.user_pool(seeded) as pool:
        signin = pool.admin_sign_in(user.username, PASSWORD)
        assert await _run(front, signin) == ["SMS_MFA"]
        data = await pool.admin_get_user(user.username)
        assert data.username == user.username


async def test_no_credentials_needed_except_for_admin(
    front: Front, seeded: SeededPool, no_aws_credentials: None
) -> None:
    user = await _sms_user(front, seeded)
    pool = front.user_pool(seeded, aws_access_key_id=None, aws_secret_access_key=None)
    async with pool:
        # the user-facing operations go unsigned
        assert await _run(front, pool.sign_in(user.username, PASSWORD)) == ["SMS_MFA"]
        signin = pool.admin_sign_in(user.username, PASSWORD)
        with pytest.raises(cm.CredentialsRequired):
            await anext(aiter(signin))
        assert signin.phase is cm.Phase.FAILED


async def test_resume_in_a_fresh_user_pool(front: Front, seeded: SeededPool) -> None:
    user = await _sms_user(front, seeded)
    async with front.user_pool(seeded) as pool:
        signin = pool.sign_in(user.username, PASSWORD, client_metadata={"step": "one"})
        challenge = await anext(aiter(signin))
        assert isinstance(challenge, cm.SmsMfaChallenge)
        saved = signin.state.model_dump_json()
    assert "Session" not in repr(signin.state)
    async with front.user_pool(seeded) as other:
        resumed = other.resume(saved)
        again = await anext(aiter(resumed))
        assert isinstance(again, cm.SmsMfaChallenge)
        assert again.destination == challenge.destination
        await again.answer(front.sms_code(user.username))
        assert resumed.session.unverified_id_claims["cognito:username"] == user.username
    # the state is single-use: Cognito refuses its session now
    async with front.user_pool(seeded) as third:
        replay = third.resume(saved)
        with pytest.raises(cm.InvalidSession):
            await replay.send_mfa_code(front.sms_code(user.username))


async def test_resume_after_expiry_is_typed(front: Front, seeded: SeededPool) -> None:
    user = await _sms_user(front, seeded)
    async with front.user_pool(seeded) as pool:
        signin = pool.sign_in(user.username, PASSWORD)
        await anext(aiter(signin))
        state = signin.state
        front.emulator.advance(600)
        with pytest.raises(cm.SessionExpired):
            await pool.resume(state).send_mfa_code(front.sms_code(user.username))


async def test_email_otp(front: Front, seeded: SeededPool) -> None:
    user = await front.seeder.create_user(
        seeded, "hank", PASSWORD, email="hank@example.com", mfa=["EMAIL"]
    )
    async with front.user_pool(seeded) as pool:
        signin = pool.sign_in(user.username, PASSWORD)
        challenge = await anext(aiter(signin))
        assert isinstance(challenge, cm.EmailOtpChallenge)
        assert challenge.code_length == 8
        code = front.email_code(user.username)
        assert len(code) == 8
        with pytest.raises(cm.InvalidInput):
            await challenge.answer(code[:6])
        await challenge.answer(code)
        assert signin.done


async def test_refresh(front: Front, seeded: SeededPool) -> None:
    user = await _sms_user(front, seeded)
    async with front.user_pool(seeded) as pool:
        signin = pool.sign_in(user.username, PASSWORD)
        await _run(front, signin)
        front.emulator.advance(60)
        refreshed = await pool.refresh(signin.session)
        assert refreshed.refresh_token == signin.session.refresh_token
        assert refreshed.expires_at > signin.session.expires_at
        assert refreshed.unverified_id_claims["cognito:username"] == user.username


async def test_revoke_token_signs_only_this_session_out(front: Front, seeded: SeededPool) -> None:
    user = await _sms_user(front, seeded)
    async with front.user_pool(seeded) as pool:
        first = pool.sign_in(user.username, PASSWORD)
        await _run(front, first)
        other = pool.sign_in(user.username, PASSWORD)
        await _run(front, other)
        await pool.user(first.tokens).revoke_token()
        with pytest.raises(cm.TokenRevoked):
            await pool.refresh(first.tokens)
        with pytest.raises(cm.TokenRevoked):  # the access token issued from it, too
            await pool.user(first.tokens).get_user_data()
        # another session of the same user is not signed out
        assert (await pool.user(other.tokens).get_user_data()).username == user.username
        assert (await pool.refresh(other.tokens)).refresh_token == other.tokens.refresh_token
        await pool.user(first.tokens).revoke_token()  # again: revoking twice revokes once


async def test_closed_pool_and_bad_input_send_nothing(front: Front, seeded: SeededPool) -> None:
    user = await _sms_user(front, seeded)
    pool = front.user_pool(seeded)
    with pytest.raises(cm.PoolClosed):
        pool.sign_in(user.username, PASSWORD)
    async with pool:
        signin = pool.sign_in(user.username, PASSWORD)
        challenge = await anext(aiter(signin))
        assert isinstance(challenge, cm.SmsMfaChallenge)
        sent = len(front.emulator.messages)
        with pytest.raises(cm.InvalidInput):
            await challenge.answer("12345")
        with pytest.raises(cm.InvalidInput):
            pool.sign_in("", PASSWORD)
    with pytest.raises(cm.PoolClosed):
        await challenge.answer(front.sms_code(user.username))
    with pytest.raises(cm.PoolClosed):
        pool.sign_in(user.username, PASSWORD)
    assert len(front.emulator.messages) == sent


async def test_cancelled_sign_in_leaves_nothing_open(front: Front, seeded: SeededPool) -> None:
    user = await _sms_user(front, seeded)
    async with front.user_pool(seeded) as pool:
        signin = pool.sign_in(user.username, PASSWORD)
        with anyio.CancelScope() as scope:
            scope.cancel()
            await anext(aiter(signin))
        assert signin.phase is cm.Phase.FAILED
        # the pool is still usable
        assert await _run(front, pool.sign_in(user.username, PASSWORD)) == ["SMS_MFA"]
    assert not pool.is_open


async def test_secrets_stay_out_of_reprs_and_logs(
    front: Front, seeded: SeededPool, caplog: pytest.LogCaptureFixture
) -> None:
    user = await _sms_user(front, seeded)
    caplog.set_level(logging.DEBUG, logger="cognito_mfa")
    async with front.user_pool(seeded) as pool:
        signin = pool.sign_in(user.username, SecretStr(PASSWORD))
        challenge = await anext(aiter(signin))
        code = front.sms_code(user.username)
        session = signin.state.session.get_secret_value()
        await signin.send_mfa_code(code)
        tokens = signin.session
    texts = [repr(signin), repr(challenge), repr(tokens), str(tokens), repr(pool), caplog.text]
    for secret in (
        PASSWORD,
        code,
        session,
        tokens.id_token.get_secret_value(),
        tokens.access_token.get_secret_value(),
    ):
        for text in texts:
            assert secret not in text


async def test_two_hundred_concurrent_sign_ins_on_one_pool(
    front: Front, seeded: SeededPool
) -> None:
    count = 200
    users: list[SeededUser] = []

    async def seed(i: int) -> None:
        name = f"user{i:03d}"
        users.append(
            await front.seeder.create_user(seeded, name, PASSWORD, phone=PHONE, mfa=["SMS"])
        )

    async with anyio.create_task_group() as tg:
        for i in range(count):
            tg.start_soon(seed, i)
    results: dict[str, cm.CognitoUserSession] = {}
    async with front.user_pool(seeded) as pool:

        async def one(user: SeededUser) -> None:
            signin = pool.sign_in(user.username, PASSWORD)
            async for challenge in signin:
                assert isinstance(challenge, cm.SmsMfaChallenge)
                assert challenge.username == user.username
                await anyio.lowlevel.checkpoint()  # let the others interleave
                await challenge.answer(front.sms_code(user.username))
            results[user.username] = signin.session

        with anyio.fail_after(120):
            async with anyio.create_task_group() as tg:
                for user in users:
                    tg.start_soon(one, user)
    assert len(results) == count
    for username, session in results.items():
        assert session.unverified_id_claims["cognito:username"] == username
        assert session.unverified_access_claims["username"] == username
