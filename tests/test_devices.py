"""Remembered devices end to end: confirm, remember, sign in with device SRP, list and forget.

Against the Cognito emulator through both of its fronts (in-process and served), with and
without a client secret. The pool tracks devices through UpdateUserPool's DeviceConfiguration.
"""

from __future__ import annotations

import base64
import json
from typing import TYPE_CHECKING, Any

import pytest
from pydantic import SecretStr

import cognito_mfa as cm
from cognito_mfa.testing.seed import SeededPool, SeededUser

if TYPE_CHECKING:
    from conftest import Front

PASSWORD = "Correct-Horse-9"
TRACKING = {"ChallengeRequiredOnNewDevice": True, "DeviceOnlyRememberedOnUserPrompt": False}
ON_PROMPT = {"ChallengeRequiredOnNewDevice": True, "DeviceOnlyRememberedOnUserPrompt": True}


@pytest.fixture(params=[False, True], ids=["public-client", "secret-client"])
def with_secret(request: pytest.FixtureRequest) -> bool:
    return bool(request.param)


async def _tracking_pool(
    front: Front, *, secret: bool = False, config: dict[str, bool] = TRACKING
) -> tuple[SeededPool, SeededUser]:
    seeded = await front.seeder.create_pool_and_client(generate_secret=secret)
    user = await front.seeder.create_user(seeded, "alice", PASSWORD, preferred="TOTP")
    # tracking turned on after seeding: the enrolment's own sign-in made no device
    await front.client.update_user_pool(
        UserPoolId=seeded.pool_id, MfaConfiguration="OPTIONAL", DeviceConfiguration=config
    )
    return seeded, user


async def _sign_in(
    front: Front,
    pool: cm.UserPool,
    user: SeededUser,
    device: cm.DeviceCredentials | None = None,
) -> tuple[cm.AuthFlow, list[str]]:
    """Sign in, answering TOTP; returns the flow and the challenges it asked."""
    flow = pool.sign_in(user.username, PASSWORD, device=device)
    names = []
    async for challenge in flow:
        names.append(challenge.challenge_name)
        assert isinstance(challenge, cm.SoftwareTokenMfaChallenge), challenge
        assert user.totp_secret is not None
        await challenge.answer(front.totp_code(user.totp_secret))
        front.advance(30)  # the code's time step is spent
    return flow, names


async def _remembered(
    front: Front, pool: cm.UserPool, user: SeededUser, name: str = "laptop"
) -> tuple[cm.CognitoUserSession, cm.DeviceCredentials]:
    flow, names = await _sign_in(front, pool, user)
    assert names == ["SOFTWARE_TOKEN_MFA"]
    new = flow.session.new_device
    assert new is not None and flow.tokens.new_device == new
    assert flow.session.device_key == new.device_key
    creds = await pool.user(flow.session).confirm_device(device_name=name)
    assert creds.device_key == new.device_key
    assert creds.device_group_key == new.device_group_key
    assert creds.user_confirmation_necessary is False
    return flow.session, creds


async def test_remembered_device_skips_mfa(front: Front, with_secret: bool) -> None:
    seeded, user = await _tracking_pool(front, secret=with_secret)
    async with front.user_pool(seeded) as pool:
        _, creds = await _remembered(front, pool, user)
        flow, names = await _sign_in(front, pool, user, device=creds)
        assert names == []
        assert flow.done
        assert flow.session.new_device is None
        assert flow.session.device_key == creds.device_key
        assert flow.session.unverified_access_claims["device_key"] == creds.device_key
        # refresh after a device sign-in: DEVICE_KEY goes with the refresh token
        refreshed = await pool.refresh(flow.session)
        assert refreshed.device_key == creds.device_key
        assert refreshed.unverified_access_claims["device_key"] == creds.device_key


async def test_refresh_after_a_new_device_sign_in(front: Front, with_secret: bool) -> None:
    seeded, user = await _tracking_pool(front, secret=with_secret)
    async with front.user_pool(seeded) as pool:
        flow, _ = await _sign_in(front, pool, user)
        assert flow.session.device_key is not None
        refreshed = await pool.refresh(flow.session)
        assert refreshed.device_key == flow.session.device_key
        # a session stored without its device key: the access token's claim is used
        stored = flow.session.model_copy(update={"device_key": None})
        assert (await pool.refresh(stored)).device_key == flow.session.device_key


async def test_not_remembered_then_forgotten_device_gets_mfa(front: Front) -> None:
    seeded, user = await _tracking_pool(front)
    async with front.user_pool(seeded) as pool:
        session, creds = await _remembered(front, pool, user)
        cognito_user = pool.user(session)
        await cognito_user.set_device_status(creds.device_key, remembered=False)
        device = await cognito_user.get_device(creds.device_key)
        assert device.remembered is False and device.name == "laptop"
        flow, names = await _sign_in(front, pool, user, device=creds)
        assert names == ["SOFTWARE_TOKEN_MFA"]
        # bound to the device named, not to a new one
        assert flow.session.new_device is None
        assert flow.session.device_key == creds.device_key

        await pool.user(flow.session).remember_device()  # this session's device
        assert (await cognito_user.get_device(creds.device_key)).remembered is True
        _, names = await _sign_in(front, pool, user, device=creds)
        assert names == []

        await cognito_user.forget_device(creds.device_key)
        assert await cognito_user.list_devices() == []
        flow = pool.sign_in(user.username, PASSWORD, device=creds)
        with pytest.raises(cm.DeviceNotFound) as info:
            await anext(aiter(flow))
        assert isinstance(info.value, cm.ResourceNotFound)
        assert info.value.error_code == "ResourceNotFoundException"
        assert flow.phase is cm.Phase.FAILED
        # what the caller does about it: sign in without the stale credentials, MFA again
        flow, names = await _sign_in(front, pool, user)
        assert names == ["SOFTWARE_TOKEN_MFA"]
        assert flow.session.new_device is not None


async def test_wrong_device_password_is_refused(front: Front) -> None:
    seeded, user = await _tracking_pool(front)
    async with front.user_pool(seeded) as pool:
        _, creds = await _remembered(front, pool, user)
        wrong = creds.model_copy(update={"device_password": SecretStr("not-the-password")})
        flow = pool.sign_in(user.username, PASSWORD, device=wrong)
        with pytest.raises(cm.NotAuthorized) as info:
            await anext(aiter(flow))
        assert "not-the-password" not in str(info.value)
        assert flow.phase is cm.Phase.FAILED


async def test_device_on_prompt_needs_remember(front: Front) -> None:
    seeded, user = await _tracking_pool(front, config=ON_PROMPT)
    async with front.user_pool(seeded) as pool:
        flow, _ = await _sign_in(front, pool, user)
        cognito_user = pool.user(flow.session)
        creds = await cognito_user.confirm_device(device_name="phone")
        assert creds.user_confirmation_necessary is True
        _, names = await _sign_in(front, pool, user, device=creds)
        assert names == ["SOFTWARE_TOKEN_MFA"]  # confirmed, not remembered yet
        await cognito_user.remember_device()
        _, names = await _sign_in(front, pool, user, device=creds)
        assert names == []


async def test_device_operations_and_admin_variants(front: Front) -> None:
    seeded, user = await _tracking_pool(front)
    async with front.user_pool(seeded) as pool:
        keys = []
        for name in ("one", "two", "three"):
            _, creds = await _remembered(front, pool, user, name)
            keys.append(creds.device_key)
        session, _ = await _remembered(front, pool, user, "four")
        listed = await pool.user(session).list_devices()
        assert len(listed) == 4
        assert {d.name for d in listed} == {"one", "two", "three", "four"}
        assert all(d.remembered for d in listed)
        assert all(d.created_at is not None for d in listed)

        admin = await pool.admin_list_devices(user.username)
        assert {d.device_key for d in admin} == {d.device_key for d in listed}
        got = await pool.admin_get_device(user.username, keys[0])
        assert got.name == "one" and got.last_authenticated_at is not None
        await pool.admin_update_device_status(user.username, keys[0], remembered=False)
        assert (await pool.admin_get_device(user.username, keys[0])).remembered is False
        await pool.admin_forget_device(user.username, keys[0])
        with pytest.raises(cm.ResourceNotFound):
            await pool.admin_get_device(user.username, keys[0])
        assert len(await pool.admin_list_devices(user.username)) == 3


async def test_device_credentials_survive_json_and_hide_the_password(front: Front) -> None:
    seeded, user = await _tracking_pool(front)
    async with front.user_pool(seeded) as pool:
        _, creds = await _remembered(front, pool, user)
        secret = creds.device_password.get_secret_value()
        assert secret not in repr(creds) and secret not in str(creds)
        stored = creds.model_dump_json()
        assert json.loads(stored)["device_password"] == secret
        again = cm.DeviceCredentials.model_validate_json(stored)
        assert again == creds
        _, names = await _sign_in(front, pool, user, device=again)
        assert names == []


async def test_saved_state_keeps_the_device(front: Front) -> None:
    seeded, user = await _tracking_pool(front)
    async with front.user_pool(seeded) as pool:
        session, creds = await _remembered(front, pool, user)
        await pool.user(session).set_device_status(creds.device_key, remembered=False)
        flow = pool.sign_in(user.username, PASSWORD, device=creds)
        challenge = await anext(aiter(flow))
        state = flow.state.model_dump_json()
        assert creds.device_password.get_secret_value() not in state
        assert json.loads(state)["device_key"] == creds.device_key
        resumed = pool.resume(state)
        assert user.totp_secret is not None
        assert isinstance(resumed.challenge, cm.SoftwareTokenMfaChallenge)
        await resumed.challenge.answer(front.totp_code(user.totp_secret))
        assert challenge.challenge_name == "SOFTWARE_TOKEN_MFA"
        assert resumed.session.device_key == creds.device_key
        assert (await pool.refresh(resumed.session)).device_key == creds.device_key


# --- usage errors, before anything is sent -----------------------------------------------------


async def test_device_usage_errors(front: Front) -> None:
    seeded, user = await _tracking_pool(front)
    creds = cm.DeviceCredentials(
        device_key="us-east-1_x", device_group_key="-g", device_password=SecretStr("p")
    )
    async with front.user_pool(seeded) as pool:
        with pytest.raises(cm.InvalidInput, match="USER_SRP_AUTH"):
            pool.sign_in(user.username, PASSWORD, auth_flow="USER_PASSWORD_AUTH", device=creds)
        unsendable = creds.model_copy(update={"device_password": SecretStr("\udc80")})
        with pytest.raises(cm.InvalidInput, match="device_password"):
            pool.sign_in(user.username, PASSWORD, device=unsendable)
        bad: Any = {"device_key": "k"}
        with pytest.raises(cm.InvalidInput, match="DeviceCredentials"):
            pool.sign_in(user.username, PASSWORD, device=bad)
        flow, _ = await _sign_in(front, pool, user)
        cognito_user = pool.user(flow.session)
        with pytest.raises(cm.InvalidInput):
            await cognito_user.get_device("")
        with pytest.raises(cm.InvalidInput):
            await cognito_user.set_device_status("k" * 56, remembered=True)
        with pytest.raises(cm.InvalidInput):
            await cognito_user.confirm_device(device_name="")
        await cognito_user.confirm_device()
        with pytest.raises(cm.DeviceKeyExists):
            await cognito_user.confirm_device()
        # a device sign-in gets no new device: nothing to confirm
        _, creds = await _remembered(front, pool, user)
        done, _ = await _sign_in(front, pool, user, device=creds)
        with pytest.raises(cm.InvalidInput, match="no new device"):
            await pool.user(done.session).confirm_device()


# --- the pure core -------------------------------------------------------------------------------


def test_device_verifier_config_is_the_user_formula_over_the_device() -> None:
    from cognito_mfa import _srp as srp

    password = srp.device_password(bytes(range(40)))
    assert len(password) == 56  # base64 of 40 bytes
    salt_b64, verifier_b64 = srp.device_verifier_config(
        "-group", "us-east-1_dev", password, b"\x80" + bytes(15)
    )
    salt_bytes = base64.b64decode(salt_b64)
    assert salt_bytes[0] == 0 and len(salt_bytes) == 17  # padded: the high bit was set
    salt = int.from_bytes(salt_bytes, "big")
    expected = srp.verifier("-group", "us-east-1_dev", password, salt)
    assert int.from_bytes(base64.b64decode(verifier_b64), "big") == expected
    with pytest.raises(srp.SrpError):
        srp.device_password(bytes(39))
    with pytest.raises(srp.SrpError):
        srp.device_verifier_config("g", "k", password, bytes(15))


def test_device_requests_and_answers() -> None:
    from cognito_mfa import _protocol as protocol

    client = protocol.AppClient("us-east-1_P", "client", SecretStr("s3cret"))
    start = protocol.start_srp_auth(client, "alice", "abc", device_key="us-east-1_d")
    assert start.params["AuthParameters"]["DEVICE_KEY"] == "us-east-1_d"
    assert "DEVICE_KEY" not in protocol.start_srp_auth(client, "a", "b").params["AuthParameters"]
    refresh = protocol.refresh_tokens(client, "r", username="alice", device_key="us-east-1_d")
    assert refresh.params["AuthParameters"]["DEVICE_KEY"] == "us-east-1_d"
    assert set(refresh.params["AuthParameters"]) == {"REFRESH_TOKEN", "DEVICE_KEY", "SECRET_HASH"}
    answer = protocol.respond_to_challenge(
        client,
        "DEVICE_SRP_AUTH",
        session=None,
        username="alice",
        responses=protocol.device_srp_auth_responses(device_key="k", srp_a_hex="ff"),
    )
    assert set(answer.params["ChallengeResponses"]) == {
        "USERNAME",
        "DEVICE_KEY",
        "SRP_A",
        "SECRET_HASH",
    }
    assert "Session" not in answer.params
    with pytest.raises(cm.ProtocolError, match="DEVICE_PASSWORD_VERIFIER lacks SRP_B"):
        protocol.parse_password_verifier({"SALT": "1", "SECRET_BLOCK": "x"}, device_key="k")
    device = protocol.parse_device(
        {
            "DeviceKey": "k",
            "DeviceAttributes": [
                {"Name": "device_name", "Value": "laptop"},
                {"Name": "dev:device_remembered_status", "Value": "not_remembered"},
            ],
            "DeviceCreateDate": 1_800_000_000,
        }
    )
    assert device.name == "laptop" and device.remembered is False
    assert device.created_at is not None and device.last_authenticated_at is None
    assert protocol.parse_device({"DeviceKey": "k"}).remembered is None
    for bad in ({}, {"DeviceKey": 1}, {"DeviceKey": "k", "DeviceAttributes": {"a": 1}}):
        with pytest.raises(cm.ProtocolError):
            protocol.parse_device(bad)
    with pytest.raises(cm.ProtocolError):
        protocol.parse_device_list({"Devices": [], "PaginationToken": 5})
    with pytest.raises(cm.ProtocolError):
        protocol.parse_confirm_device({"UserConfirmationNecessary": "yes"})
    assert protocol.is_device_not_found(cm.ResourceNotFound("Device does not exist."))
    assert not protocol.is_device_not_found(cm.ResourceNotFound("User pool does not exist."))


def test_machine_answers_device_steps_only_after_the_password() -> None:
    from cognito_mfa._machine import FlowMachine, Phase
    from cognito_mfa._protocol import ChallengeStep, TokensStep

    machine = FlowMachine(phase=Phase.VERIFYING_PASSWORD)
    machine.receive_auth_step(ChallengeStep("DEVICE_SRP_AUTH", None, {"USERNAME": "alice"}))
    assert machine.phase is Phase.VERIFYING_DEVICE
    machine.receive_auth_step(ChallengeStep("DEVICE_PASSWORD_VERIFIER", None, {}))
    assert machine.phase is Phase.VERIFYING_DEVICE
    machine.receive_auth_step(TokensStep({}))
    assert machine.phase is Phase.DONE
    early = FlowMachine(phase=Phase.STARTING)
    with pytest.raises(cm.ProtocolError):
        early.receive_auth_step(ChallengeStep("DEVICE_SRP_AUTH", None, {}))
    assert early.phase is Phase.FAILED


async def test_device_srp_without_credentials_fails_closed(front: Front) -> None:
    # Cognito asking for device SRP when no device was named: nothing to answer with
    seeded, user = await _tracking_pool(front)
    async with front.user_pool(seeded) as pool:
        _, creds = await _remembered(front, pool, user)
        flow = pool.sign_in(user.username, PASSWORD)
        flow._device_key = creds.device_key  # the key goes out, the credentials do not
        with pytest.raises(cm.ProtocolError, match="named no device"):
            await anext(aiter(flow))
        assert flow.phase is cm.Phase.FAILED
