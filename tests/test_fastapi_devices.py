"""Remembered devices in the web API (cognito_mfa.fastapi, WebSignIn's device methods), over
httpx's ASGI transport and the in-process emulator with a pool that tracks devices."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from test_fastapi import KEY, _login, _problem, _signed_in, api

import cognito_mfa as cm
import cognito_mfa.web as web
from cognito_mfa.testing import EMULATOR_ENDPOINT
from cognito_mfa.testing.seed import SeededPool, SeededUser

TRACKING = {"ChallengeRequiredOnNewDevice": True, "DeviceOnlyRememberedOnUserPrompt": False}
ON_PROMPT = {"ChallengeRequiredOnNewDevice": True, "DeviceOnlyRememberedOnUserPrompt": True}


async def _tracking(
    cognito_client: Any,
    cognito_pool: SeededPool,
    cognito_user_factory: Any,
    config: dict[str, bool] = TRACKING,
    username: str = "alice",
) -> SeededUser:
    user: SeededUser = await cognito_user_factory(
        username=username, totp=True, mfa=["TOTP"], preferred="TOTP"
    )
    # tracking turned on after seeding: the enrolment's own sign-in made no device
    await cognito_client.update_user_pool(
        UserPoolId=cognito_pool.pool_id, MfaConfiguration="OPTIONAL", DeviceConfiguration=config
    )
    return user


async def _with_code(
    client: httpx.AsyncClient, emulator: Any, user: SeededUser, **answer: Any
) -> httpx.Response:
    """Sign in answering the TOTP challenge; returns the answer's response."""
    emulator.advance(30)  # a fresh TOTP time step: codes are single-use
    started = await _login(client, user)
    assert started["challenge"]["name"] == "SOFTWARE_TOKEN_MFA", started
    code = user.totp_code(emulator.now())
    return await client.post("/auth/login/answer", json={"code": code, **answer})


async def _remember(client: httpx.AsyncClient, emulator: Any, user: SeededUser) -> str:
    """Sign in with a code, remembering the browser; returns the device cookie's value."""
    done = await _with_code(client, emulator, user, remember_device=True, device_name="laptop")
    assert done.json() == {"status": "signed_in", "device_remembered": True}, done.text
    (set_cookie,) = [c for c in done.headers.get_list("set-cookie") if c.startswith("cm_device=")]
    for attribute in ("HttpOnly", "Secure", "SameSite=strict", "Path=/auth"):
        assert attribute in set_cookie
    assert "Max-Age=31536000" in set_cookie
    value = client.cookies.get("cm_device")
    assert value
    return value


async def _forget_elsewhere(
    client: httpx.AsyncClient, cognito_client: Any, pool_id: str, username: str
) -> str:
    """Sign the signed-in browser out and forget its device as an administrator would (from
    elsewhere); returns the forgotten device's key."""
    (device,) = (await client.get("/auth/devices")).json()["devices"]
    await client.post("/auth/logout")
    await cognito_client.admin_forget_device(
        UserPoolId=pool_id, Username=username, DeviceKey=device["device_key"]
    )
    key: str = device["device_key"]
    return key


async def test_remembered_browser_signs_in_without_a_code(
    cognito_emulator: Any,
    cognito_client_config: Any,
    cognito_client: Any,
    cognito_pool: SeededPool,
    cognito_user_factory: Any,
) -> None:
    user = await _tracking(cognito_client, cognito_pool, cognito_user_factory)
    async with api(cognito_emulator, cognito_client_config, cognito_pool) as client:
        sealed = await _remember(client, cognito_emulator, user)
        listed = (await client.get("/auth/devices")).json()["devices"]
        assert len(listed) == 1
        (device,) = listed
        assert device["name"] == "laptop" and device["remembered"] is True
        assert device["this_device"] is True
        assert device["device_key"] not in sealed  # sealed, not merely encoded

        assert (await client.post("/auth/logout")).json() == {"status": "signed_out"}
        assert client.cookies.get("cm_device") == sealed  # signing out keeps the device

        again = await _login(client, user)  # no code asked: the device stands in for it
        assert again == {"status": "signed_in"}
        await _signed_in(client, user.username)

        # asking to remember an already remembered browser: nothing new to remember
        await client.post("/auth/logout")
        login = {"username": user.username, "password": user.password, "remember_device": True}
        third = await client.post("/auth/login", json=login)
        assert third.json() == {"status": "signed_in", "device_remembered": False}
        assert client.cookies.get("cm_device") == sealed


async def test_forget_this_device_over_the_api(
    cognito_emulator: Any,
    cognito_client_config: Any,
    cognito_client: Any,
    cognito_pool: SeededPool,
    cognito_user_factory: Any,
) -> None:
    user = await _tracking(cognito_client, cognito_pool, cognito_user_factory)
    async with api(cognito_emulator, cognito_client_config, cognito_pool) as client:
        await _remember(client, cognito_emulator, user)
        (device,) = (await client.get("/auth/devices")).json()["devices"]
        key = device["device_key"]

        token = client.headers.pop("X-CSRF-Token")
        _problem(await client.delete(f"/auth/devices/{key}"), 403, "csrf")
        client.headers["X-CSRF-Token"] = token
        _problem(await client.delete("/auth/devices/not%20a%20key"), 422, "invalid-input")

        gone = await client.delete(f"/auth/devices/{key}")
        assert gone.json() == {"status": "forgotten"}, gone.text
        assert "cm_device" not in client.cookies
        assert (await client.get("/auth/devices")).json() == {"devices": []}

        await client.post("/auth/logout")
        done = await _with_code(client, cognito_emulator, user)  # the code is asked again
        assert done.json() == {"status": "signed_in"}


async def test_forgetting_another_device_keeps_this_ones_cookie(
    cognito_emulator: Any,
    cognito_client_config: Any,
    cognito_client: Any,
    cognito_pool: SeededPool,
    cognito_user_factory: Any,
) -> None:
    user = await _tracking(cognito_client, cognito_pool, cognito_user_factory)
    async with (
        api(cognito_emulator, cognito_client_config, cognito_pool) as laptop,
        api(cognito_emulator, cognito_client_config, cognito_pool) as phone,
    ):
        await _remember(laptop, cognito_emulator, user)
        phone_cookie = await _remember(phone, cognito_emulator, user)
        listed = (await phone.get("/auth/devices")).json()["devices"]
        assert len(listed) == 2
        (other,) = [d for d in listed if not d["this_device"]]
        gone = await phone.delete(f"/auth/devices/{other['device_key']}")
        assert gone.json() == {"status": "forgotten"}
        assert phone.cookies.get("cm_device") == phone_cookie
        # the laptop's device is forgotten: its next sign-in drops the cookie, asks the code
        await laptop.post("/auth/logout")
        started = await _login(laptop, user)
        assert started["challenge"]["name"] == "SOFTWARE_TOKEN_MFA"
        assert "cm_device" not in laptop.cookies


async def test_device_forgotten_elsewhere_is_dropped_and_sign_in_goes_on(
    cognito_emulator: Any,
    cognito_client_config: Any,
    cognito_client: Any,
    cognito_pool: SeededPool,
    cognito_user_factory: Any,
) -> None:
    user = await _tracking(cognito_client, cognito_pool, cognito_user_factory)
    async with api(cognito_emulator, cognito_client_config, cognito_pool) as client:
        await _remember(client, cognito_emulator, user)
        forgotten = await _forget_elsewhere(
            client, cognito_client, cognito_pool.pool_id, user.username
        )
        # DeviceNotFound: the cookie goes, the sign-in starts again without it, and the
        # browser can be remembered anew in the same answer
        renewed = await _remember(client, cognito_emulator, user)
        (fresh,) = (await client.get("/auth/devices")).json()["devices"]
        assert fresh["device_key"] != forgotten and fresh["this_device"] is True
        await client.post("/auth/logout")
        assert await _login(client, user) == {"status": "signed_in"}
        assert client.cookies.get("cm_device") == renewed


async def test_forgotten_device_without_remembering_again_drops_the_cookie(
    cognito_emulator: Any,
    cognito_client_config: Any,
    cognito_client: Any,
    cognito_pool: SeededPool,
    cognito_user_factory: Any,
) -> None:
    user = await _tracking(cognito_client, cognito_pool, cognito_user_factory)
    async with api(cognito_emulator, cognito_client_config, cognito_pool) as client:
        await _remember(client, cognito_emulator, user)
        await _forget_elsewhere(client, cognito_client, cognito_pool.pool_id, user.username)
        login = await client.post(
            "/auth/login", json={"username": user.username, "password": user.password}
        )
        assert login.json()["challenge"]["name"] == "SOFTWARE_TOKEN_MFA"
        dropped = [c for c in login.headers.get_list("set-cookie") if c.startswith("cm_device=")]
        assert len(dropped) == 1 and "Max-Age=0" in dropped[0]
        assert "cm_device" not in client.cookies


async def test_tampered_or_foreign_device_cookie_is_never_sent(
    cognito_emulator: Any,
    cognito_client_config: Any,
    cognito_client: Any,
    cognito_pool: SeededPool,
    cognito_user_factory: Any,
) -> None:
    user = await _tracking(cognito_client, cognito_pool, cognito_user_factory)
    async with api(cognito_emulator, cognito_client_config, cognito_pool) as client:
        sealed = await _remember(client, cognito_emulator, user)
        await client.post("/auth/logout")
        flipped = sealed[:-2] + ("A" if sealed[-2] != "A" else "B") + sealed[-1]
        for bad in (flipped, "not base64 !", "AAAA"):
            client.cookies.set("cm_device", bad, domain="testserver.local", path="/auth")
            started = await _login(client, user)
            assert started["challenge"]["name"] == "SOFTWARE_TOKEN_MFA"
            assert "cm_device" not in client.cookies
            await client.post("/auth/logout")


# "Alice" in a case-sensitive pool (Cognito's default when created through the API) is not
# "alice": the cookie opens for the name typed in another case, Cognito does not know the
# device for that user, and the sign-in goes on without it.
@pytest.mark.parametrize("other_name", ["bob", "Alice"])
async def test_another_users_device_cookie_is_kept_and_not_used(
    cognito_emulator: Any,
    cognito_client_config: Any,
    cognito_client: Any,
    cognito_pool: SeededPool,
    cognito_user_factory: Any,
    other_name: str,
) -> None:
    alice = await _tracking(cognito_client, cognito_pool, cognito_user_factory)
    other = await cognito_user_factory(
        username=other_name, totp=True, mfa=["TOTP"], preferred="TOTP"
    )
    async with api(cognito_emulator, cognito_client_config, cognito_pool) as client:
        sealed = await _remember(client, cognito_emulator, alice)
        await client.post("/auth/logout")
        # the other user on alice's browser: asked for a code; alice's device stays remembered
        done = await _with_code(client, cognito_emulator, other)
        assert done.json() == {"status": "signed_in"}, done.text
        assert (await client.get("/auth/me")).json()["username"] == other_name
        assert client.cookies.get("cm_device") == sealed
        await client.post("/auth/logout")
        assert await _login(client, alice) == {"status": "signed_in"}


async def test_pool_remembering_on_the_users_say_so(
    cognito_emulator: Any,
    cognito_client_config: Any,
    cognito_client: Any,
    cognito_pool: SeededPool,
    cognito_user_factory: Any,
) -> None:
    user = await _tracking(cognito_client, cognito_pool, cognito_user_factory, ON_PROMPT)
    async with api(cognito_emulator, cognito_client_config, cognito_pool) as client:
        # not asked to remember: the device is confirmed by nobody, the next sign-in asks
        plain = await _with_code(client, cognito_emulator, user)
        assert plain.json() == {"status": "signed_in"}
        assert "cm_device" not in client.cookies
        await client.post("/auth/logout")
        await _remember(client, cognito_emulator, user)
        (device,) = (await client.get("/auth/devices")).json()["devices"]
        assert device["remembered"] is True
        await client.post("/auth/logout")
        assert await _login(client, user) == {"status": "signed_in"}


async def test_remember_without_device_tracking_says_so(
    cognito_emulator: Any,
    cognito_client_config: Any,
    cognito_pool: SeededPool,
    cognito_user_factory: Any,
) -> None:
    user = await cognito_user_factory(totp=True, mfa=["TOTP"], preferred="TOTP")
    async with api(cognito_emulator, cognito_client_config, cognito_pool) as client:
        done = await _with_code(client, cognito_emulator, user, remember_device=True)
        assert done.json() == {"status": "signed_in", "device_remembered": False}
        assert "cm_device" not in client.cookies
        assert (await client.get("/auth/devices")).json() == {"devices": []}


async def test_devices_need_a_signed_in_user(
    cognito_emulator: Any, cognito_client_config: Any, cognito_pool: SeededPool
) -> None:
    async with api(cognito_emulator, cognito_client_config, cognito_pool) as client:
        _problem(await client.get("/auth/devices"), 401, "not-signed-in")
        _problem(await client.delete("/auth/devices/us-east-1_x"), 401, "not-signed-in")


# --- WebSignIn's device methods, without the router -------------------------------------------

CREDENTIALS = cm.DeviceCredentials(
    device_key="us-east-1_0123", device_group_key="-group", device_password="pw-secret"
)


def _pool(seeded: SeededPool, config: Any) -> cm.UserPool:
    return cm.UserPool(
        seeded.pool_id, seeded.client_id, endpoint_url=EMULATOR_ENDPOINT, botocore_config=config
    )


async def test_sealed_device_is_bound_to_user_pool_and_key(
    cognito_emulator: Any, cognito_client_config: Any, cognito_pool: SeededPool
) -> None:
    credentials = CREDENTIALS
    async with _pool(cognito_pool, cognito_client_config) as pool:
        sign_in = web.WebSignIn(pool, KEY)
        sealed = sign_in.seal_device(credentials, "alice")
        assert "pw-secret" not in sealed and "0123" not in sealed
        assert sign_in.open_device(sealed, "alice") == credentials
        assert sign_in.open_device(sealed, "bob") is None
        other_key = web.WebSignIn(pool, web.AppKey(b"g" * 32))
        with pytest.raises(web.SignInStateRefused):
            other_key.open_device(sealed, "alice")
        async with cm.UserPool(
            cognito_pool.pool_id,
            "another-client",
            endpoint_url=EMULATOR_ENDPOINT,
            botocore_config=cognito_client_config,
        ) as elsewhere:
            with pytest.raises(web.SignInStateRefused):
                web.WebSignIn(elsewhere, KEY).open_device(sealed, "alice")
        with pytest.raises(cm.InvalidInput):
            sign_in.seal_device("not credentials", "alice")  # type: ignore[arg-type]


async def test_a_device_remembered_by_e_mail_is_used_when_the_e_mail_is_typed(
    cognito_emulator: Any, cognito_client_config: Any, cognito_seeder: Any
) -> None:
    # a pool whose users sign in with their e-mail address: the tokens' user name is another
    # name (an opaque id), so the cookie must know the typed name too
    seeded = await cognito_seeder.create_pool_and_client(
        "by-email", username_attributes=["email"], device_configuration=TRACKING
    )
    user = await cognito_seeder.create_user(
        seeded, "carol@example.com", "Correct-Horse-9", email="carol@example.com",
        totp=True, mfa=["TOTP"], preferred="TOTP",
    )  # fmt: skip
    async with api(cognito_emulator, cognito_client_config, seeded) as client:
        await _remember(client, cognito_emulator, user)
        me = (await client.get("/auth/me")).json()
        assert me["username"] != "carol@example.com"  # the pool's own name for her
        await client.post("/auth/logout")
        again = await _login(client, user)  # typed: the e-mail address
        assert again == {"status": "signed_in"}


async def test_a_case_insensitive_pool_uses_the_device_whatever_the_case_typed(
    cognito_emulator: Any, cognito_client_config: Any, cognito_client: Any, cognito_seeder: Any
) -> None:
    # UsernameConfiguration.CaseSensitive false: "ALICE" is alice, so her browser stays
    # remembered (no code, no new device) whatever case she types
    seeded = await cognito_seeder.create_pool_and_client(
        "caseless", case_sensitive=False, device_configuration=TRACKING
    )
    user = await cognito_seeder.create_user(
        seeded, "alice", "Correct-Horse-9", totp=True, mfa=["TOTP"], preferred="TOTP"
    )
    typed = {"username": "ALICE", "password": user.password}
    async with api(cognito_emulator, cognito_client_config, seeded) as client:
        sealed = await _remember(client, cognito_emulator, user)
        await client.post("/auth/logout")
        assert (await client.post("/auth/login", json=typed)).json() == {"status": "signed_in"}
        assert (await client.get("/auth/me")).json()["username"] == "alice"
        assert client.cookies.get("cm_device") == sealed
        assert len((await client.get("/auth/devices")).json()["devices"]) == 1

        # forgotten since, typed in another case: the sign-in goes on without the device and
        # asks for a code; the cookie is kept (the name matched only in another case)
        await _forget_elsewhere(client, cognito_client, seeded.pool_id, "alice")
        again = await client.post("/auth/login", json=typed)
        assert again.json()["challenge"]["name"] == "SOFTWARE_TOKEN_MFA", again.text
        assert client.cookies.get("cm_device") == sealed


async def test_login_names_are_the_user_name_then_the_aliases_in_the_tokens(
    cognito_emulator: Any, cognito_client_config: Any, cognito_pool: SeededPool
) -> None:
    credentials = CREDENTIALS
    async with _pool(cognito_pool, cognito_client_config) as pool:
        sign_in = web.WebSignIn(pool, KEY)
        sealed = sign_in.seal_device(credentials, "u-1", aliases=["dee@example.com", "u-1", ""])
        assert sign_in.open_device(sealed, "u-1") == credentials
        assert sign_in.open_device(sealed, "dee@example.com") == credentials
        # another case matches (a case-insensitive pool's same user), unless asked not to
        assert sign_in.open_device(sealed, "DEE@Example.COM") == credentials
        assert sign_in.open_device(sealed, "U-1") == credentials
        assert sign_in.open_device(sealed, "DEE@example.com", ignore_case=False) is None
        assert sign_in.open_device(sealed, "dee@example.com", ignore_case=False) == credentials
        assert sign_in.open_device(sealed, "dee@example.co") is None
        assert sign_in.open_device(sealed, "") is None
        with pytest.raises(cm.InvalidInput):
            sign_in.seal_device(credentials, "u-1", aliases="dee@example.com")
        with pytest.raises(cm.InvalidInput):
            sign_in.seal_device(credentials, "u-1", aliases=[1])  # type: ignore[list-item]


async def test_login_names_read_the_id_tokens_alias_claims(
    cognito_pool: SeededPool, cognito_user_factory: Any, cognito_client_config: Any
) -> None:
    user = await cognito_user_factory(email="erin@example.com", phone="+15555550123")
    async with _pool(cognito_pool, cognito_client_config) as pool:
        flow = pool.sign_in(user.username, user.password)
        async for challenge in flow:  # no MFA for this user
            raise AssertionError(challenge)
    assert web.login_names(flow.tokens) == (user.username, "erin@example.com", "+15555550123")
