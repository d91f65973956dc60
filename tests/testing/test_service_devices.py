"""Remembered devices in the emulator, over the wire: a small device client written here.

The device side (device password, salt and verifier for ConfirmDevice, DEVICE_SRP_AUTH and
DEVICE_PASSWORD_VERIFIER answers) is device_client.py's, computed with :mod:`cognito_mfa._srp`
exactly as the official clients compute it, so each test drives the emulator as a real
client would.
"""

from __future__ import annotations

import base64
import re
from datetime import datetime
from pathlib import Path
from typing import Any

import fronts
import pytest
import srp_answers
from conftest import PASSWORD, FakeClock, Harness, HarnessFor
from device_client import DeviceCredentials, World, access_claims, device_secret
from fronts import Front

from cognito_mfa import _srp as srp
from cognito_mfa.testing import Emulator, SeededPool
from cognito_mfa.testing._state_file import load_emulator

TRACKING = {"ChallengeRequiredOnNewDevice": True, "DeviceOnlyRememberedOnUserPrompt": False}
NO_DEVICE = ("ResourceNotFoundException", "Device does not exist.")
FRONT_PASSWORD = fronts.PASSWORD


def make_world(
    h: Harness,
    *,
    devices: dict[str, bool] | None = TRACKING,
    sms: bool = False,
    email: bool = False,
    totp: bool = True,
) -> World:
    """A pool tracking devices (per ``devices``), and alice with TOTP (and, asked, SMS or email
    MFA) enabled."""
    options = {} if devices is None else {"DeviceConfiguration": devices}
    pool_id = h.pool(**options)
    h.mfa_config(pool_id, "OPTIONAL", sms=True, totp=True, email=True)
    client_id, _ = h.client(pool_id)
    h.user(
        pool_id,
        "alice",
        phone_number="+15555550100",
        phone_number_verified="true",
        email="alice@example.com",
        email_verified="true",
    )
    world = World(h, pool_id, client_id)
    first = world.password_step()["AuthenticationResult"]
    if totp:
        h.enrol_totp(pool_id, first["AccessToken"], "alice")
    for enabled, settings in ((sms, "SMSMfaSettings"), (email, "EmailMfaSettings")):
        if enabled:
            h.ok(
                "AdminSetUserMFAPreference",
                UserPoolId=pool_id,
                Username="alice",
                **{settings: {"Enabled": True, "PreferredMfa": not totp}},
            )
    return world


@pytest.fixture
def world(h: Harness) -> World:
    return make_world(h)


# --- new devices and ConfirmDevice ----------------------------------------------------------


def test_a_sign_in_to_a_tracking_pool_gets_a_new_device(world: World) -> None:
    tokens, creds, _ = world.new_device()
    assert re.fullmatch(
        r"us-east-1_[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}", creds.key
    )
    assert len(creds.group_key) == 9
    # the sign-in is bound to the device from the start
    assert access_claims(tokens)["device_key"] == creds.key
    # every sign-in without a device key makes another device, in the same group
    again = world.totp(world.password_step())["AuthenticationResult"]["NewDeviceMetadata"]
    assert again["DeviceKey"] != creds.key
    assert again["DeviceGroupKey"] == creds.group_key


def test_a_pool_without_tracking_makes_no_devices(h: Harness) -> None:
    world = make_world(h, devices=None)
    tokens = world.totp(world.password_step())["AuthenticationResult"]
    assert "NewDeviceMetadata" not in tokens
    assert "device_key" not in access_claims(tokens)
    assert h.ok("ListDevices", AccessToken=tokens["AccessToken"]) == {"Devices": []}


def test_confirm_device_remembers_it_at_once(world: World) -> None:
    tokens, creds = world.remembered_device("laptop")
    device = world.h.ok("GetDevice", AccessToken=tokens["AccessToken"], DeviceKey=creds.key)[
        "Device"
    ]
    assert device["DeviceKey"] == creds.key
    assert {a["Name"]: a["Value"] for a in device["DeviceAttributes"]} == {
        "device_status": "valid",
        "device_name": "laptop",
        "dev:device_remembered_status": "remembered",
    }
    assert device["DeviceCreateDate"] <= device["DeviceLastModifiedDate"]
    assert device["DeviceLastAuthenticatedDate"] == device["DeviceCreateDate"]


def test_user_prompt_pools_wait_for_update_device_status(h: Harness) -> None:
    world = make_world(
        h, devices={"ChallengeRequiredOnNewDevice": True, "DeviceOnlyRememberedOnUserPrompt": True}
    )
    tokens, creds, config = world.new_device()
    access = tokens["AccessToken"]
    confirmed = h.ok(
        "ConfirmDevice", AccessToken=access, DeviceKey=creds.key, DeviceSecretVerifierConfig=config
    )
    assert confirmed == {"UserConfirmationNecessary": True}

    def status() -> str:
        device = h.ok("GetDevice", AccessToken=access, DeviceKey=creds.key)["Device"]
        values = {a["Name"]: a["Value"] for a in device["DeviceAttributes"]}
        assert "device_name" not in values  # none was given
        return values["dev:device_remembered_status"]

    assert status() == "not_remembered"
    # not remembered yet: the MFA challenge stays
    assert world.password_step(device=creds.key)["ChallengeName"] == "SOFTWARE_TOKEN_MFA"
    world.emu.advance(5)
    h.ok(
        "UpdateDeviceStatus",
        AccessToken=access,
        DeviceKey=creds.key,
        DeviceRememberedStatus="remembered",
    )
    assert status() == "remembered"
    modified = h.ok("GetDevice", AccessToken=access, DeviceKey=creds.key)["Device"]
    assert modified["DeviceLastModifiedDate"] > modified["DeviceCreateDate"]
    assert "AccessToken" in world.device_sign_in(creds)["AuthenticationResult"]


def test_confirm_device_refusals(world: World) -> None:
    tokens, creds, config = world.new_device()
    access = tokens["AccessToken"]
    h = world.h
    unknown = creds.key[:-4] + "0000" if not creds.key.endswith("0000") else creds.key[:-4] + "1111"
    failure = h.fail(
        "ConfirmDevice", AccessToken=access, DeviceKey=unknown, DeviceSecretVerifierConfig=config
    )
    assert (failure.code, failure.message) == NO_DEVICE
    for bad in (
        {},
        {"Salt": config["Salt"]},
        {"Salt": "not base64!", "PasswordVerifier": config["PasswordVerifier"]},
        {"Salt": config["Salt"], "PasswordVerifier": base64.b64encode(b"\0").decode()},
        {
            "Salt": config["Salt"],
            "PasswordVerifier": base64.b64encode(srp.N.to_bytes(384, "big")).decode(),
        },
    ):
        failure = h.fail(
            "ConfirmDevice", AccessToken=access, DeviceKey=creds.key, DeviceSecretVerifierConfig=bad
        )
        assert failure.code == "InvalidParameterException", bad
    failure = h.fail("ConfirmDevice", AccessToken=access, DeviceKey=creds.key)
    assert failure.code == "InvalidParameterException"
    failure = h.fail(
        "ConfirmDevice",
        AccessToken=access,
        DeviceKey="no-underscore",
        DeviceSecretVerifierConfig=config,
    )
    assert failure.code == "InvalidParameterException"
    assert "deviceKey" in failure.message
    failure = h.fail(
        "ConfirmDevice",
        AccessToken="bad.token.here",
        DeviceKey=creds.key,
        DeviceSecretVerifierConfig=config,
    )
    assert (failure.code, failure.message) == ("NotAuthorizedException", "Invalid Access Token")
    h.ok(
        "ConfirmDevice", AccessToken=access, DeviceKey=creds.key, DeviceSecretVerifierConfig=config
    )
    failure = h.fail(
        "ConfirmDevice", AccessToken=access, DeviceKey=creds.key, DeviceSecretVerifierConfig=config
    )
    assert failure.code == "DeviceKeyExistsException"


# --- signing in with a device ---------------------------------------------------------------


def test_a_remembered_device_replaces_the_totp_challenge(world: World) -> None:
    _, creds = world.remembered_device()
    world.emu.advance(60)
    step = world.password_step(device=creds.key)
    assert step["ChallengeName"] == "DEVICE_SRP_AUTH"
    assert step["ChallengeParameters"]["USERNAME"] == "alice"
    verifier_step, answer = world.device_challenge(step, creds)
    params = verifier_step["ChallengeParameters"]
    assert params["USERNAME"] == "alice"
    assert params["SALT"] == srp.pad_hex(int(params["SALT"], 16))
    done = world.h.ok("RespondToAuthChallenge", **answer)
    tokens = done["AuthenticationResult"]
    assert "NewDeviceMetadata" not in tokens  # a known device
    assert access_claims(tokens)["device_key"] == creds.key
    device = world.h.ok("GetDevice", AccessToken=tokens["AccessToken"], DeviceKey=creds.key)
    assert device["Device"]["DeviceLastAuthenticatedDate"] == pytest.approx(world.emu.now())
    assert device["Device"]["DeviceLastAuthenticatedDate"] > device["Device"]["DeviceCreateDate"]


def test_the_device_key_may_come_in_initiate_auth_and_sessions_are_optional(
    world: World,
) -> None:
    _, creds = world.remembered_device()
    step = world.password_step(device=creds.key, in_initiate=True)
    assert step["ChallengeName"] == "DEVICE_SRP_AUTH"
    _, answer = world.device_challenge(step, creds, with_session=False)
    assert "Session" not in answer
    assert "AccessToken" in world.h.ok("RespondToAuthChallenge", **answer)["AuthenticationResult"]


def test_an_unknown_device_key_in_initiate_auth_is_refused(world: World) -> None:
    started = world.h.fail(
        "InitiateAuth",
        AuthFlow="USER_SRP_AUTH",
        ClientId=world.client_id,
        AuthParameters={
            "USERNAME": "alice",
            "SRP_A": format(srp.client_public(7), "x"),
            "DEVICE_KEY": "us-east-1_00000000-0000-4000-8000-000000000000",
        },
    )
    assert (started.code, started.message) == NO_DEVICE


def test_a_wrong_device_password_is_refused(world: World) -> None:
    _, creds = world.remembered_device()
    step = world.password_step(device=creds.key)
    _, answer = world.device_challenge(step, creds, password="not-the-device-password")
    failure = world.h.fail("RespondToAuthChallenge", **answer)
    assert (failure.code, failure.message) == (
        "NotAuthorizedException",
        "Incorrect username or password.",
    )
    # one proof per exchange
    again = world.h.fail("RespondToAuthChallenge", **answer)
    assert again.message == "Invalid session for the user, session can only be used once."


def test_a_stale_device_timestamp_is_refused(world: World) -> None:
    _, creds = world.remembered_device()
    step = world.password_step(device=creds.key)
    _, answer = world.device_challenge(step, creds)
    answer["ChallengeResponses"]["TIMESTAMP"] = "Mon Jan 1 00:00:00 UTC 2024"
    failure = world.h.fail("RespondToAuthChallenge", **answer)
    assert failure.code == "NotAuthorizedException"


def test_a_not_remembered_device_gets_the_mfa_challenge(world: World) -> None:
    tokens, creds = world.remembered_device()
    world.h.ok(
        "UpdateDeviceStatus",
        AccessToken=tokens["AccessToken"],
        DeviceKey=creds.key,
        DeviceRememberedStatus="not_remembered",
    )
    step = world.password_step(device=creds.key)
    assert step["ChallengeName"] == "SOFTWARE_TOKEN_MFA"
    done = world.totp(step)["AuthenticationResult"]
    # still the same (known) device
    assert "NewDeviceMetadata" not in done
    assert access_claims(done)["device_key"] == creds.key


def test_a_forgotten_device_is_refused_and_the_session_still_works_without_it(
    world: World,
) -> None:
    tokens, creds = world.remembered_device()
    world.h.ok("ForgetDevice", AccessToken=tokens["AccessToken"], DeviceKey=creds.key)
    started, a, big_a = world.h.srp_start(world.client_id, "alice")
    answers = world.h.srp_answers(world.pool_id, started, a, big_a, PASSWORD)
    failure = world.h.answer_fail(world.client_id, started, **answers, DEVICE_KEY=creds.key)
    assert (failure.code, failure.message) == NO_DEVICE
    # what the official clients do next: the same answer, without the device
    step = world.h.answer(world.client_id, started, **answers)
    assert step["ChallengeName"] == "SOFTWARE_TOKEN_MFA"
    done = world.totp(step)["AuthenticationResult"]
    assert done["NewDeviceMetadata"]["DeviceKey"] != creds.key


def test_a_device_forgotten_during_the_sign_in_is_not_found(world: World) -> None:
    _, creds = world.remembered_device()
    step = world.password_step(device=creds.key)
    world.h.ok("AdminForgetDevice", UserPoolId=world.pool_id, Username="alice", DeviceKey=creds.key)
    failure = world.h.fail(
        "RespondToAuthChallenge",
        ClientId=world.client_id,
        ChallengeName="DEVICE_SRP_AUTH",
        Session=step["Session"],
        ChallengeResponses={
            "USERNAME": "alice",
            "DEVICE_KEY": creds.key,
            "SRP_A": format(srp.client_public(9), "x"),
        },
    )
    assert (failure.code, failure.message) == NO_DEVICE


def test_another_users_device_is_not_found(world: World) -> None:
    _, creds = world.remembered_device()
    world.h.user(world.pool_id, "bob")
    started, a, big_a = world.h.srp_start(world.client_id, "bob")
    answers = world.h.srp_answers(world.pool_id, started, a, big_a, PASSWORD)
    failure = world.h.answer_fail(world.client_id, started, **answers, DEVICE_KEY=creds.key)
    assert (failure.code, failure.message) == NO_DEVICE


def test_without_challenge_required_on_new_device_mfa_stays(h: Harness) -> None:
    world = make_world(
        h,
        devices={"ChallengeRequiredOnNewDevice": False, "DeviceOnlyRememberedOnUserPrompt": False},
    )
    _, creds = world.remembered_device()
    assert world.password_step(device=creds.key)["ChallengeName"] == "SOFTWARE_TOKEN_MFA"


def test_a_remembered_device_replaces_sms_mfa(h: Harness) -> None:
    world = make_world(h, sms=True, totp=False)
    step = world.password_step()
    assert step["ChallengeName"] == "SMS_MFA"
    code = world.emu.last_code("alice", "SMS")
    tokens = h.answer(world.client_id, step, USERNAME="alice", SMS_MFA_CODE=code)
    meta = tokens["AuthenticationResult"]["NewDeviceMetadata"]
    creds, config = device_secret(meta["DeviceKey"], meta["DeviceGroupKey"])
    h.ok(
        "ConfirmDevice",
        AccessToken=tokens["AuthenticationResult"]["AccessToken"],
        DeviceKey=creds.key,
        DeviceSecretVerifierConfig=config,
    )
    assert world.password_step(device=creds.key)["ChallengeName"] == "DEVICE_SRP_AUTH"


def _email_world(h: Harness) -> tuple[World, DeviceCredentials]:
    world = make_world(h, email=True, totp=False)
    step = world.password_step()
    assert step["ChallengeName"] == "EMAIL_OTP"
    code = world.emu.last_code("alice", "EMAIL")
    tokens = h.answer(world.client_id, step, USERNAME="alice", EMAIL_OTP_CODE=code)
    meta = tokens["AuthenticationResult"]["NewDeviceMetadata"]
    creds, config = device_secret(meta["DeviceKey"], meta["DeviceGroupKey"])
    h.ok(
        "ConfirmDevice",
        AccessToken=tokens["AuthenticationResult"]["AccessToken"],
        DeviceKey=creds.key,
        DeviceSecretVerifierConfig=config,
    )
    return world, creds


def test_email_mfa_stays_by_default(h: Harness) -> None:
    world, creds = _email_world(h)
    assert world.password_step(device=creds.key)["ChallengeName"] == "EMAIL_OTP"


def test_email_mfa_is_skipped_when_the_emulator_is_told_so(harness_for: HarnessFor) -> None:
    h = harness_for(Emulator(clock=FakeClock(), device_skips_email_mfa=True))
    world, creds = _email_world(h)
    assert world.password_step(device=creds.key)["ChallengeName"] == "DEVICE_SRP_AUTH"


def test_password_auth_binds_the_device_but_never_skips_mfa(world: World) -> None:
    _, creds = world.remembered_device()
    step = world.h.password_auth(world.client_id, "alice", DEVICE_KEY=creds.key)
    assert step["ChallengeName"] == "SOFTWARE_TOKEN_MFA"
    tokens = world.totp(step)["AuthenticationResult"]
    assert access_claims(tokens)["device_key"] == creds.key
    # the admin flow neither
    admin = world.h.ok(
        "AdminInitiateAuth",
        UserPoolId=world.pool_id,
        ClientId=world.client_id,
        AuthFlow="ADMIN_USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": "alice", "PASSWORD": PASSWORD, "DEVICE_KEY": creds.key},
    )
    assert admin["ChallengeName"] == "SOFTWARE_TOKEN_MFA"


# --- refresh ---------------------------------------------------------------------------------


def _refresh(world: World, token: str, **extra: str) -> Any:
    return world.h.raw(
        "InitiateAuth",
        {
            "AuthFlow": "REFRESH_TOKEN_AUTH",
            "ClientId": world.client_id,
            "AuthParameters": {"REFRESH_TOKEN": token, **extra},
        },
    )


def test_refresh_of_device_tokens_needs_the_device_key(world: World) -> None:
    _, creds = world.remembered_device()
    tokens = world.device_sign_in(creds)["AuthenticationResult"]
    refresh = tokens["RefreshToken"]
    for extra in ({}, {"DEVICE_KEY": "us-east-1_00000000-0000-4000-8000-000000000000"}):
        failure = world.h.fail(
            "InitiateAuth",
            AuthFlow="REFRESH_TOKEN_AUTH",
            ClientId=world.client_id,
            AuthParameters={"REFRESH_TOKEN": refresh, **extra},
        )
        assert (failure.code, failure.message) == (
            "NotAuthorizedException",
            "Invalid Refresh Token",
        )
    done = world.h.ok(
        "InitiateAuth",
        AuthFlow="REFRESH_TOKEN_AUTH",
        ClientId=world.client_id,
        AuthParameters={"REFRESH_TOKEN": refresh, "DEVICE_KEY": creds.key},
    )
    assert access_claims(done["AuthenticationResult"])["device_key"] == creds.key
    failure = world.h.fail(
        "GetTokensFromRefreshToken", RefreshToken=refresh, ClientId=world.client_id
    )
    assert failure.message == "Invalid Refresh Token"
    again = world.h.ok(
        "GetTokensFromRefreshToken",
        RefreshToken=refresh,
        ClientId=world.client_id,
        DeviceKey=creds.key,
    )
    assert access_claims(again["AuthenticationResult"])["device_key"] == creds.key
    # forgetting the device ends its refresh tokens
    world.h.ok("ForgetDevice", AccessToken=tokens["AccessToken"], DeviceKey=creds.key)
    failure = world.h.fail(
        "InitiateAuth",
        AuthFlow="REFRESH_TOKEN_AUTH",
        ClientId=world.client_id,
        AuthParameters={"REFRESH_TOKEN": refresh, "DEVICE_KEY": creds.key},
    )
    assert failure.message == "Invalid Refresh Token"


def test_refresh_without_tracking_ignores_a_device_key(h: Harness) -> None:
    world = make_world(h, devices=None, totp=False)
    tokens = world.password_step()["AuthenticationResult"]
    done = world.h.ok(
        "InitiateAuth",
        AuthFlow="REFRESH_TOKEN_AUTH",
        ClientId=world.client_id,
        AuthParameters={
            "REFRESH_TOKEN": tokens["RefreshToken"],
            "DEVICE_KEY": "us-east-1_00000000-0000-4000-8000-000000000000",
        },
    )
    assert "device_key" not in access_claims(done["AuthenticationResult"])


# --- the device operations -------------------------------------------------------------------


def _many_devices(world: World, count: int) -> tuple[str, list[str]]:
    keys = []
    access = ""
    for _ in range(count):
        tokens, creds = world.remembered_device()
        access = tokens["AccessToken"]
        keys.append(creds.key)
        world.emu.advance(1)
    return access, keys


def test_list_devices_pages_through_every_confirmed_device(world: World) -> None:
    access, keys = _many_devices(world, 5)
    world.new_device()  # an unconfirmed device is not listed
    seen: list[str] = []
    token: str | None = None
    pages = 0
    while True:
        body: dict[str, Any] = {"AccessToken": access, "Limit": 2}
        if token is not None:
            body["PaginationToken"] = token
        page = world.h.ok("ListDevices", **body)
        pages += 1
        assert len(page["Devices"]) <= 2
        seen.extend(d["DeviceKey"] for d in page["Devices"])
        token = page.get("PaginationToken")
        if token is None:
            break
        assert not any(key in token for key in keys)  # opaque
    assert (seen, pages) == (keys, 3)
    every = world.h.ok("ListDevices", AccessToken=access)
    assert [d["DeviceKey"] for d in every["Devices"]] == keys
    assert "PaginationToken" not in every
    admin = world.h.ok("AdminListDevices", UserPoolId=world.pool_id, Username="alice", Limit=4)
    assert [d["DeviceKey"] for d in admin["Devices"]] == keys[:4]
    rest = world.h.ok(
        "AdminListDevices",
        UserPoolId=world.pool_id,
        Username="alice",
        PaginationToken=admin["PaginationToken"],
    )
    assert [d["DeviceKey"] for d in rest["Devices"]] == keys[4:]


def test_list_devices_refusals(world: World) -> None:
    access, _ = _many_devices(world, 2)
    page = world.h.ok("ListDevices", AccessToken=access, Limit=1)
    failure = world.h.fail("ListDevices", AccessToken=access, Limit=61)
    assert failure.code == "InvalidParameterException"
    for bad in ("garbage", page["PaginationToken"] + "x", "a.b"):
        failure = world.h.fail("ListDevices", AccessToken=access, PaginationToken=bad)
        assert failure.code == "InvalidParameterException"
    # a token is good for its own user only
    world.h.user(world.pool_id, "bob")
    failure = world.h.fail(
        "AdminListDevices",
        UserPoolId=world.pool_id,
        Username="bob",
        PaginationToken=page["PaginationToken"],
    )
    assert failure.code == "InvalidParameterException"
    failure = world.h.fail("ListDevices", AccessToken="not-a-token")
    assert failure.code == "NotAuthorizedException"


def test_device_operations_on_unknown_devices(world: World) -> None:
    tokens, creds = world.remembered_device()
    access = tokens["AccessToken"]
    unconfirmed = world.new_device()[1].key
    unknown = "us-east-1_00000000-0000-4000-8000-000000000000"
    admin = {"UserPoolId": world.pool_id, "Username": "alice"}
    for key in (unknown, unconfirmed):
        for op, body in (
            ("GetDevice", {"AccessToken": access}),
            ("ForgetDevice", {"AccessToken": access}),
            (
                "UpdateDeviceStatus",
                {"AccessToken": access, "DeviceRememberedStatus": "remembered"},
            ),
            ("AdminGetDevice", admin),
            ("AdminForgetDevice", admin),
            ("AdminUpdateDeviceStatus", {**admin, "DeviceRememberedStatus": "remembered"}),
        ):
            failure = world.h.fail(op, DeviceKey=key, **body)
            assert (failure.code, failure.message) == NO_DEVICE, op
    for op, body in (
        ("UpdateDeviceStatus", {"AccessToken": access, "DeviceRememberedStatus": "maybe"}),
        ("UpdateDeviceStatus", {"AccessToken": access}),
        ("GetDevice", {}),
        ("ForgetDevice", {}),
        ("AdminUpdateDeviceStatus", {**admin, "DeviceRememberedStatus": "yes"}),
    ):
        failure = world.h.fail(op, DeviceKey=creds.key, **body)
        assert failure.code == "InvalidParameterException", op
    failure = world.h.fail(
        "AdminGetDevice", UserPoolId=world.pool_id, Username="nobody", DeviceKey=creds.key
    )
    assert failure.code == "UserNotFoundException"
    unsigned = world.h.raw("AdminGetDevice", {**admin, "DeviceKey": creds.key}, signed=False)
    assert unsigned.status == 403


def test_admin_device_operations(world: World) -> None:
    _, creds = world.remembered_device()
    admin = {"UserPoolId": world.pool_id, "Username": "alice", "DeviceKey": creds.key}
    world.h.ok("AdminUpdateDeviceStatus", **admin, DeviceRememberedStatus="not_remembered")
    device = world.h.ok("AdminGetDevice", **admin)["Device"]
    values = {a["Name"]: a["Value"] for a in device["DeviceAttributes"]}
    assert values["dev:device_remembered_status"] == "not_remembered"
    assert world.password_step(device=creds.key)["ChallengeName"] == "SOFTWARE_TOKEN_MFA"
    world.h.ok("AdminUpdateDeviceStatus", **admin, DeviceRememberedStatus="remembered")
    assert world.password_step(device=creds.key)["ChallengeName"] == "DEVICE_SRP_AUTH"
    world.h.ok("AdminForgetDevice", **admin)
    listed = world.h.ok("AdminListDevices", UserPoolId=world.pool_id, Username="alice")
    assert listed == {"Devices": []}
    started, a, big_a = world.h.srp_start(world.client_id, "alice")
    answers = world.h.srp_answers(world.pool_id, started, a, big_a, PASSWORD)
    failure = world.h.answer_fail(world.client_id, started, **answers, DEVICE_KEY=creds.key)
    assert (failure.code, failure.message) == NO_DEVICE


def test_update_user_pool_turns_tracking_on_and_off(h: Harness) -> None:
    world = make_world(h, devices=None, totp=False)
    assert "NewDeviceMetadata" not in world.password_step()["AuthenticationResult"]
    h.ok("UpdateUserPool", UserPoolId=world.pool_id, DeviceConfiguration=TRACKING)
    described = h.ok("DescribeUserPool", UserPoolId=world.pool_id)["UserPool"]
    assert described["DeviceConfiguration"] == TRACKING
    assert "NewDeviceMetadata" in world.password_step()["AuthenticationResult"]
    # as the API page warns: what is not given returns to its default
    h.ok("UpdateUserPool", UserPoolId=world.pool_id)
    described = h.ok("DescribeUserPool", UserPoolId=world.pool_id)["UserPool"]
    assert "DeviceConfiguration" not in described
    assert described["MfaConfiguration"] == "OFF"
    bare = h.pool()
    failure = h.fail("UpdateUserPool", UserPoolId=bare, MfaConfiguration="ON")
    assert failure.code == "InvalidParameterException"


# --- persistence and secrets -----------------------------------------------------------------


def test_devices_survive_the_state_and_the_journal(tmp_path: Path, harness_for: HarnessFor) -> None:
    clock = FakeClock()
    path = tmp_path / "state.jsonl"
    emulator = load_emulator(path, clock=clock)
    world = make_world(harness_for(emulator))
    _, creds = world.remembered_device()
    emulator.close()
    for restored in (
        load_emulator(path, clock=clock),
        Emulator.from_state(emulator.to_state(), clock=clock),
    ):
        again = World(harness_for(restored), world.pool_id, world.client_id)
        assert "AccessToken" in again.device_sign_in(creds)["AuthenticationResult"]
        restored.close()


def test_device_secrets_stay_out_of_reprs(world: World) -> None:
    _, creds = world.remembered_device()
    pool = world.emu._model.pools[world.pool_id]
    device = pool.users["alice"].devices[creds.key]
    text = repr(device)
    assert format(device.verifier, "x") not in text
    assert format(device.salt, "x") not in text
    assert "verifier" not in text and "salt" not in text


# --- over both fronts (botocore's own parsing of the device shapes) --------------------------

front = fronts.front  # the shared fixture


async def _srp_over(client: Any, front: Front, pool: SeededPool, device: str | None) -> Any:
    """USER_SRP_AUTH then PASSWORD_VERIFIER (naming ``device``) through aioboto3."""
    a, big_a = srp_answers.ephemeral()
    started = await client.initiate_auth(
        AuthFlow="USER_SRP_AUTH",
        ClientId=pool.client_id,
        AuthParameters={"USERNAME": "carol", "SRP_A": format(big_a, "x")},
    )
    answers = srp_answers.password_verifier(
        pool.pool_id,
        started["ChallengeParameters"],
        a,
        big_a,
        FRONT_PASSWORD,
        now=front.emulator.now(),
    )
    if device is not None:
        answers["DEVICE_KEY"] = device
    return await client.respond_to_auth_challenge(
        ClientId=pool.client_id,
        ChallengeName="PASSWORD_VERIFIER",
        Session=started["Session"],
        ChallengeResponses=answers,
    )


async def test_a_remembered_device_skips_sms_mfa_on_both_fronts(front: Front) -> None:
    client, seeder, pool = await front.seeded()
    await seeder.create_user(pool, "carol", FRONT_PASSWORD, phone="+15555550177", mfa=["SMS"])
    await client.update_user_pool(
        UserPoolId=pool.pool_id, MfaConfiguration="OPTIONAL", DeviceConfiguration=TRACKING
    )
    step = await _srp_over(client, front, pool, None)
    assert step["ChallengeName"] == "SMS_MFA"
    with front.lock:
        code = front.emulator.last_code("carol", "SMS")
    done = await client.respond_to_auth_challenge(
        ClientId=pool.client_id,
        ChallengeName="SMS_MFA",
        Session=step["Session"],
        ChallengeResponses={"USERNAME": "carol", "SMS_MFA_CODE": code},
    )
    meta = done["AuthenticationResult"]["NewDeviceMetadata"]
    creds, config = device_secret(meta["DeviceKey"], meta["DeviceGroupKey"])
    access = done["AuthenticationResult"]["AccessToken"]
    confirmed = await client.confirm_device(
        AccessToken=access,
        DeviceKey=creds.key,
        DeviceName="front",
        DeviceSecretVerifierConfig=config,
    )
    assert confirmed["UserConfirmationNecessary"] is False
    listed = await client.list_devices(AccessToken=access)
    assert [d["DeviceKey"] for d in listed["Devices"]] == [creds.key]
    assert isinstance(listed["Devices"][0]["DeviceCreateDate"], datetime)  # a timestamp

    step = await _srp_over(client, front, pool, creds.key)
    assert step["ChallengeName"] == "DEVICE_SRP_AUTH"
    a, big_a = srp_answers.ephemeral()
    verifier_step = await client.respond_to_auth_challenge(
        ClientId=pool.client_id,
        ChallengeName="DEVICE_SRP_AUTH",
        Session=step["Session"],
        ChallengeResponses={
            "USERNAME": "carol",
            "DEVICE_KEY": creds.key,
            "SRP_A": format(big_a, "x"),
        },
    )
    signed_in = await client.respond_to_auth_challenge(
        ClientId=pool.client_id,
        ChallengeName="DEVICE_PASSWORD_VERIFIER",
        Session=verifier_step["Session"],
        ChallengeResponses=srp_answers.device_password_verifier(
            creds.group_key,
            creds.key,
            verifier_step["ChallengeParameters"],
            a,
            big_a,
            creds.password,
            username="carol",
            now=front.emulator.now(),
        ),
    )
    tokens = signed_in["AuthenticationResult"]
    assert "NewDeviceMetadata" not in tokens
    refreshed = await client.initiate_auth(
        AuthFlow="REFRESH_TOKEN_AUTH",
        ClientId=pool.client_id,
        AuthParameters={"REFRESH_TOKEN": tokens["RefreshToken"], "DEVICE_KEY": creds.key},
    )
    assert access_claims(refreshed["AuthenticationResult"])["device_key"] == creds.key
    with pytest.raises(client.exceptions.NotAuthorizedException):
        await client.initiate_auth(
            AuthFlow="REFRESH_TOKEN_AUTH",
            ClientId=pool.client_id,
            AuthParameters={"REFRESH_TOKEN": tokens["RefreshToken"]},
        )
    await client.admin_forget_device(UserPoolId=pool.pool_id, Username="carol", DeviceKey=creds.key)
    with pytest.raises(client.exceptions.ResourceNotFoundException):
        await client.admin_get_device(
            UserPoolId=pool.pool_id, Username="carol", DeviceKey=creds.key
        )
