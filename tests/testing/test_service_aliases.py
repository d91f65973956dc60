"""Sign-in aliases stay unique (AliasAttributes), over the wire, through both fronts.

AdminCreateUser refuses another user's verified email or phone alias, or preferred_username,
with AliasExistsException, and ``ForceAliasCreation`` moves an email or phone alias (the
previous user keeps the value, unverified). AdminUpdateUserAttributes that verifies another
user's email or phone moves the alias; a taken preferred_username is refused with nothing
applied. The user's own changes (NEW_PASSWORD_REQUIRED attributes, MFA_SETUP with EMAIL) are
refused. Case-insensitive pools compare email and preferred_username in any case. Seed files
with two users sharing an alias are refused in one line.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import fronts
import jwt
import pytest
from botocore.exceptions import ClientError
from conftest import PASSWORD, FakeClock, Harness, HarnessFor
from fronts import Front
from pydantic import SecretStr

import cognito_mfa as cm
from cognito_mfa.testing import Seeder, load_emulator
from cognito_mfa.testing.seedfile import (
    SeedError,
    SeedFile,
    SeedPool,
    SeedUser,
    apply_seed,
    load_seed,
)

front = fronts.front  # the shared fixture (aioboto3 and the library, both fronts)

CASELESS = {"UsernameConfiguration": {"CaseSensitive": False}}
NO_USER = ("UserNotFoundException", "User does not exist.")
EMAIL_TAKEN = ("AliasExistsException", "An account with the given email already exists.")
PHONE_TAKEN = ("AliasExistsException", "An account with the given phone number already exists.")
NAME_TAKEN = (
    "AliasExistsException",
    "An account with the given preferred username already exists.",
)
PHONE = "+15555550100"
ALIASES = ["email", "phone_number", "preferred_username"]


def _pool(h: Harness, **options: Any) -> tuple[str, str]:
    pool_id = h.pool(AliasAttributes=ALIASES, **options)
    client_id, _ = h.client(pool_id)
    return pool_id, client_id


def _signs_in_as(h: Harness, client_id: str, name: str) -> str | tuple[str, str]:
    """The username ``name`` signs in as, or the refusal (code, message)."""
    response = h.raw(
        "InitiateAuth",
        {
            "AuthFlow": "USER_PASSWORD_AUTH",
            "ClientId": client_id,
            "AuthParameters": {"USERNAME": name, "PASSWORD": PASSWORD},
        },
    )
    data = json.loads(response.body)
    if response.status != 200:
        return data["__type"], data["message"]
    if "AuthenticationResult" not in data:
        # a second factor asked: the challenge names the user
        named: str = data["ChallengeParameters"]["USER_ID_FOR_SRP"]
        return named
    token = data["AuthenticationResult"]["AccessToken"]
    username: str = jwt.decode(token, options={"verify_signature": False})["username"]
    return username


def _attributes(h: Harness, pool_id: str, username: str) -> dict[str, str]:
    user = h.ok("AdminGetUser", UserPoolId=pool_id, Username=username)
    return {a["Name"]: a["Value"] for a in user["UserAttributes"]}


def _create(pool_id: str, username: str, **body: Any) -> dict[str, Any]:
    return {
        "UserPoolId": pool_id,
        "Username": username,
        "MessageAction": "SUPPRESS",
        "TemporaryPassword": PASSWORD,
        **body,
    }


def _update(pool_id: str, username: str, **attributes: str) -> dict[str, Any]:
    return {
        "UserPoolId": pool_id,
        "Username": username,
        "UserAttributes": [{"Name": k, "Value": v} for k, v in attributes.items()],
    }


def _as_list(attributes: dict[str, str]) -> list[dict[str, str]]:
    return [{"Name": k, "Value": v} for k, v in attributes.items()]


# --- AdminCreateUser ----------------------------------------------------------------------------

VERIFIED = [
    pytest.param(
        {"email": "alice@example.com", "email_verified": "true"},
        "alice@example.com",
        EMAIL_TAKEN,
        id="email",
    ),
    pytest.param(
        {"phone_number": PHONE, "phone_number_verified": "true"}, PHONE, PHONE_TAKEN, id="phone"
    ),
]


@pytest.mark.parametrize(("alias", "name", "refusal"), VERIFIED)
def test_create_refuses_a_verified_alias_of_another_user(
    h: Harness, alias: dict[str, str], name: str, refusal: tuple[str, str]
) -> None:
    pool_id, client_id = _pool(h)
    h.user(pool_id, "alice", **alias)
    for force in ({}, {"ForceAliasCreation": False}):
        failure = h.fail(
            "AdminCreateUser", **_create(pool_id, "bob", UserAttributes=_as_list(alias), **force)
        )
        assert (failure.code, failure.message) == refusal
    # nothing was made, and the alias is still alice's
    missing = h.fail("AdminGetUser", UserPoolId=pool_id, Username="bob")
    assert (missing.code, missing.message) == NO_USER
    assert _signs_in_as(h, client_id, name) == "alice"


@pytest.mark.parametrize(("alias", "name", "refusal"), VERIFIED)
def test_force_alias_creation_moves_the_alias(
    h: Harness, alias: dict[str, str], name: str, refusal: tuple[str, str]
) -> None:
    pool_id, client_id = _pool(h)
    h.user(pool_id, "alice", **alias)
    created = h.ok(
        "AdminCreateUser",
        **_create(pool_id, "bob", UserAttributes=_as_list(alias), ForceAliasCreation=True),
    )
    assert created["User"]["Username"] == "bob"
    h.ok(
        "AdminSetUserPassword",
        UserPoolId=pool_id,
        Username="bob",
        Password=PASSWORD,
        Permanent=True,
    )
    assert _signs_in_as(h, client_id, name) == "bob"
    # alice keeps the value, no longer verified: it is not her alias any more
    (attribute, value), (flag, _) = alias.items()
    assert _attributes(h, pool_id, "alice")[attribute] == value
    assert _attributes(h, pool_id, "alice")[flag] == "false"
    assert _attributes(h, pool_id, "bob")[flag] == "true"
    assert _signs_in_as(h, client_id, "alice") == "alice"


def test_an_unverified_address_is_no_alias_and_is_not_refused(h: Harness) -> None:
    pool_id, client_id = _pool(h)
    h.user(pool_id, "alice", email="shared@example.com", email_verified="true")
    # the same address unverified, with or without ForceAliasCreation (then ignored)
    h.user(pool_id, "bob", email="shared@example.com")
    h.ok(
        "AdminCreateUser",
        **_create(
            pool_id,
            "carol",
            UserAttributes=[{"Name": "email", "Value": "shared@example.com"}],
            ForceAliasCreation=True,
        ),
    )
    assert _signs_in_as(h, client_id, "shared@example.com") == "alice"
    assert _attributes(h, pool_id, "alice")["email_verified"] == "true"


def test_a_taken_preferred_username_is_refused_even_when_forced(h: Harness) -> None:
    pool_id, client_id = _pool(h)
    h.user(pool_id, "alice", preferred_username="Ally")
    for force in (False, True):
        failure = h.fail(
            "AdminCreateUser",
            **_create(
                pool_id,
                "bob",
                UserAttributes=[{"Name": "preferred_username", "Value": "Ally"}],
                ForceAliasCreation=force,
            ),
        )
        assert (failure.code, failure.message) == NAME_TAKEN
    assert _signs_in_as(h, client_id, "Ally") == "alice"


def test_attributes_that_are_no_alias_of_the_pool_may_be_shared(h: Harness) -> None:
    pool_id = h.pool(AliasAttributes=["phone_number"])
    h.user(pool_id, "alice", email="a@example.com", email_verified="true", preferred_username="A")
    h.user(pool_id, "bob", email="a@example.com", email_verified="true", preferred_username="A")
    # a pool without aliases has no sign-in names but the username
    plain = h.pool(PoolName="plain")
    h.user(plain, "alice", phone_number=PHONE, phone_number_verified="true")
    h.user(plain, "bob", phone_number=PHONE, phone_number_verified="true")
    assert _attributes(h, pool_id, "alice")["email_verified"] == "true"
    assert _attributes(h, plain, "alice")["phone_number_verified"] == "true"


def test_force_alias_creation_must_be_a_boolean(h: Harness) -> None:
    pool_id, _ = _pool(h)
    failure = h.fail("AdminCreateUser", **_create(pool_id, "bob", ForceAliasCreation="yes"))
    assert failure.code == "SerializationException"
    assert h.fail("AdminGetUser", UserPoolId=pool_id, Username="bob").code == NO_USER[0]


# --- case ---------------------------------------------------------------------------------------


def test_a_case_insensitive_pool_compares_aliases_in_any_case(h: Harness) -> None:
    pool_id, client_id = _pool(h, **CASELESS)
    h.user(
        pool_id,
        "alice",
        email="Alice@Example.com",
        email_verified="true",
        preferred_username="Ally",
    )
    failure = h.fail(
        "AdminCreateUser",
        **_create(
            pool_id,
            "bob",
            UserAttributes=[
                {"Name": "email", "Value": "ALICE@example.COM"},
                {"Name": "email_verified", "Value": "true"},
            ],
        ),
    )
    assert (failure.code, failure.message) == EMAIL_TAKEN
    failure = h.fail(
        "AdminCreateUser",
        **_create(pool_id, "bob", UserAttributes=[{"Name": "preferred_username", "Value": "ALLY"}]),
    )
    assert (failure.code, failure.message) == NAME_TAKEN
    h.user(pool_id, "bob")
    failure = h.fail(
        "AdminUpdateUserAttributes", **_update(pool_id, "bob", preferred_username="ally")
    )
    assert (failure.code, failure.message) == NAME_TAKEN
    # moving it in another case: the new holder signs in with it in any case
    h.ok(
        "AdminUpdateUserAttributes",
        **_update(pool_id, "bob", email="alice@EXAMPLE.com", email_verified="true"),
    )
    assert _signs_in_as(h, client_id, "Alice@Example.com") == "bob"
    assert _attributes(h, pool_id, "alice")["email_verified"] == "false"


def test_a_case_sensitive_pool_keeps_aliases_in_other_cases_apart(h: Harness) -> None:
    pool_id, client_id = _pool(h)
    h.user(pool_id, "alice", email="Alice@Example.com", email_verified="true")
    h.user(pool_id, "bob", email="alice@example.com", email_verified="true")
    h.user(pool_id, "carol", preferred_username="Ally")
    h.user(pool_id, "dave", preferred_username="ally")
    assert _signs_in_as(h, client_id, "Alice@Example.com") == "alice"
    assert _signs_in_as(h, client_id, "alice@example.com") == "bob"
    assert _signs_in_as(h, client_id, "Ally") == "carol"
    assert _signs_in_as(h, client_id, "ally") == "dave"


# --- AdminUpdateUserAttributes ------------------------------------------------------------------


@pytest.mark.parametrize(("alias", "name", "refusal"), VERIFIED)
def test_verifying_another_users_address_moves_the_alias(
    h: Harness, alias: dict[str, str], name: str, refusal: tuple[str, str]
) -> None:
    pool_id, client_id = _pool(h)
    h.user(pool_id, "alice", **alias)
    h.user(pool_id, "bob")
    h.ok("AdminUpdateUserAttributes", **_update(pool_id, "bob", **alias))
    assert _signs_in_as(h, client_id, name) == "bob"
    (attribute, value), (flag, _) = alias.items()
    assert _attributes(h, pool_id, "alice")[attribute] == value
    assert _attributes(h, pool_id, "alice")[flag] == "false"
    # verifying it for alice again moves it back
    h.ok("AdminUpdateUserAttributes", **_update(pool_id, "alice", **{flag: "true"}))
    assert _signs_in_as(h, client_id, name) == "alice"
    assert _attributes(h, pool_id, "bob")[flag] == "false"


def test_the_same_address_unverified_moves_nothing(h: Harness) -> None:
    pool_id, client_id = _pool(h)
    h.user(pool_id, "alice", email="a@example.com", email_verified="true")
    h.user(pool_id, "bob", email="b@example.com", email_verified="true")
    h.ok("AdminUpdateUserAttributes", **_update(pool_id, "bob", email="a@example.com"))
    # a changed address is no longer verified, so it is nobody's alias but alice's
    assert _attributes(h, pool_id, "bob")["email_verified"] == "false"
    assert _signs_in_as(h, client_id, "a@example.com") == "alice"
    assert _signs_in_as(h, client_id, "b@example.com") == NO_USER
    # sending the same address again keeps it verified
    h.ok("AdminUpdateUserAttributes", **_update(pool_id, "alice", email="a@example.com"))
    assert _attributes(h, pool_id, "alice")["email_verified"] == "true"


def test_a_case_only_change_keeps_the_verification_in_a_case_insensitive_pool(
    h: Harness,
) -> None:
    pool_id, client_id = _pool(h, **CASELESS)
    h.user(pool_id, "alice", email="alice@example.com", email_verified="true")
    h.ok("AdminUpdateUserAttributes", **_update(pool_id, "alice", email="Alice@Example.com"))
    assert _attributes(h, pool_id, "alice")["email_verified"] == "true"
    assert _signs_in_as(h, client_id, "ALICE@example.com") == "alice"


def test_a_refused_update_changes_nothing(h: Harness) -> None:
    pool_id, client_id = _pool(h)
    h.user(pool_id, "alice", email="a@example.com", email_verified="true")
    h.user(pool_id, "bob", email="b@example.com", email_verified="true", preferred_username="Bo")
    h.user(pool_id, "carol", preferred_username="Cee")
    before = {name: _attributes(h, pool_id, name) for name in ("alice", "bob", "carol")}
    failure = h.fail(
        "AdminUpdateUserAttributes",
        **_update(
            pool_id,
            "bob",
            email="a@example.com",
            email_verified="true",
            preferred_username="Cee",
            given_name="Bob",
        ),
    )
    assert (failure.code, failure.message) == NAME_TAKEN
    assert {name: _attributes(h, pool_id, name) for name in before} == before
    assert _signs_in_as(h, client_id, "a@example.com") == "alice"
    assert _signs_in_as(h, client_id, "Bo") == "bob"


def test_an_unrelated_change_leaves_aliases_alone(h: Harness) -> None:
    pool_id, client_id = _pool(h)
    h.user(pool_id, "alice", email="a@example.com", email_verified="true", preferred_username="A")
    h.ok("AdminUpdateUserAttributes", **_update(pool_id, "alice", given_name="Alice"))
    # re-sending one's own alias is no clash
    h.ok(
        "AdminUpdateUserAttributes",
        **_update(pool_id, "alice", preferred_username="A", email_verified="true"),
    )
    assert _signs_in_as(h, client_id, "A") == "alice"
    assert _signs_in_as(h, client_id, "a@example.com") == "alice"


# --- the user's own changes ---------------------------------------------------------------------


def test_a_new_password_answer_with_a_taken_alias_is_refused(h: Harness) -> None:
    pool_id, client_id = _pool(h)
    h.user(pool_id, "alice", preferred_username="Ally")
    h.user(pool_id, "bob", permanent=False)
    step = h.password_auth(client_id, "bob")
    assert step["ChallengeName"] == "NEW_PASSWORD_REQUIRED"
    new = {"USERNAME": "bob", "NEW_PASSWORD": "New-passw0rd!"}
    failure = h.answer_fail(client_id, step, **new, **{"userAttributes.preferred_username": "Ally"})
    assert (failure.code, failure.message) == NAME_TAKEN
    # nothing was applied: the password is still the temporary one, the name alice's
    assert h.ok("AdminGetUser", UserPoolId=pool_id, Username="bob")["UserStatus"] == (
        "FORCE_CHANGE_PASSWORD"
    )
    assert "preferred_username" not in _attributes(h, pool_id, "bob")
    assert _signs_in_as(h, client_id, "Ally") == "alice"
    # the same session takes another name
    done = h.answer(client_id, step, **new, **{"userAttributes.preferred_username": "Bobby"})
    assert "AuthenticationResult" in done


def test_a_new_password_answer_cannot_take_a_verified_address(h: Harness) -> None:
    pool_id, client_id = _pool(h)
    h.user(pool_id, "alice", email="a@example.com", email_verified="true")
    h.user(pool_id, "bob", permanent=False)
    step = h.password_auth(client_id, "bob")
    answers = {
        "USERNAME": "bob",
        "NEW_PASSWORD": "New-passw0rd!",
        "userAttributes.email": "a@example.com",
        "userAttributes.email_verified": "true",
    }
    failure = h.answer_fail(client_id, step, **answers)
    assert (failure.code, failure.message) == EMAIL_TAKEN
    assert _signs_in_as(h, client_id, "a@example.com") == "alice"


def test_a_new_password_answer_cannot_take_an_email_used_as_username(h: Harness) -> None:
    pool_id = h.pool(UsernameAttributes=["email"])
    client_id, _ = h.client(pool_id)
    alice = h.user(pool_id, "alice@example.com")
    bob = h.user(pool_id, "bob@example.com", permanent=False)
    step = h.password_auth(client_id, "bob@example.com")
    assert step["ChallengeName"] == "NEW_PASSWORD_REQUIRED"
    answers = {
        "USERNAME": bob,
        "NEW_PASSWORD": "New-passw0rd!",
        "userAttributes.email": "alice@example.com",
    }
    failure = h.answer_fail(client_id, step, **answers)
    assert (failure.code, failure.message) == EMAIL_TAKEN
    assert _attributes(h, pool_id, bob)["email"] == "bob@example.com"
    assert _signs_in_as(h, client_id, "alice@example.com") == alice


@pytest.mark.parametrize(
    "options", [{"AliasAttributes": ["email"]}, {"UsernameAttributes": ["email"]}]
)
def test_mfa_setup_with_another_users_address_is_refused(
    h: Harness, options: dict[str, Any]
) -> None:
    pool_id = h.pool(**options)
    client_id, _ = h.client(pool_id)
    h.mfa_config(pool_id, "ON", email=True)
    by_email = "UsernameAttributes" in options
    taken = h.user(
        pool_id,
        "taken@example.com" if by_email else "alice",
        email="taken@example.com",
        email_verified="true",
    )
    mine = "me@example.com" if by_email else "bob"
    bob = h.user(pool_id, mine)
    step = h.password_auth(client_id, mine)
    assert step["ChallengeName"] == "MFA_SETUP"
    step = h.answer(client_id, step, USERNAME=bob, EMAIL="taken@example.com")
    assert step["ChallengeName"] == "EMAIL_OTP"
    code = h.emu.last_code("taken@example.com", "EMAIL")
    failure = h.answer_fail(client_id, step, USERNAME=bob, EMAIL_OTP_CODE=code)
    assert (failure.code, failure.message) == EMAIL_TAKEN
    assert _attributes(h, pool_id, bob).get("email") == ("me@example.com" if by_email else None)
    assert _attributes(h, pool_id, taken)["email_verified"] == "true"
    assert _signs_in_as(h, client_id, "taken@example.com") == taken


# --- the library -------------------------------------------------------------------------------


async def test_the_library_raises_alias_exists(front: Front) -> None:
    """RespondToAuthChallenge's AliasExistsException reaches the caller as cm.AliasExists."""
    client, seeder, seeded = await front.seeded(mfa="OFF", alias_attributes=["preferred_username"])
    await seeder.create_user(
        seeded, "alice", fronts.PASSWORD, attributes={"preferred_username": "Ally"}
    )
    temporary = "Temp-passw0rd!"
    await client.admin_create_user(
        UserPoolId=seeded.pool_id,
        Username="bob",
        TemporaryPassword=temporary,
        MessageAction="SUPPRESS",
    )
    pool = cm.UserPool(
        seeded.pool_id,
        seeded.client_id,
        endpoint_url=front.endpoint,
        botocore_config=front.config,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    async with pool:
        flow = pool.sign_in("bob", temporary, auth_flow=cm.AuthFlowType.USER_PASSWORD_AUTH)
        challenge = await anext(aiter(flow))
        assert isinstance(challenge, cm.NewPasswordRequiredChallenge)
        with pytest.raises(cm.AliasExists) as info:
            await challenge.answer("New-passw0rd!", {"preferred_username": "Ally"})
    assert info.value.error_code == "AliasExistsException"
    assert info.value.operation == "RespondToAuthChallenge"
    assert "New-passw0rd!" not in str(info.value)


def _one_user_seed(username: str) -> SeedFile:
    user = SeedUser(username=username, password=SecretStr(PASSWORD), email="a@example.com")
    return SeedFile(pools=[SeedPool(name="main", alias_attributes=["email"], users=[user])])


async def test_applying_a_seed_over_a_taken_alias_is_refused(front: Front) -> None:
    """A seed valid on its own can still meet an alias a user of the state holds."""
    client = await front.client()
    seeder = Seeder(client, clock=front.emulator.now)
    (seeded,) = await apply_seed(_one_user_seed("alice"), seeder)
    with pytest.raises(ClientError) as info:
        await apply_seed(_one_user_seed("bob"), seeder)
    assert info.value.response["Error"]["Code"] == "AliasExistsException"
    assert not await seeder.user_exists(seeded.pool.pool_id, "bob")


# --- the state file ------------------------------------------------------------------------------


def test_a_moved_alias_survives_a_restart(harness_for: HarnessFor, tmp_path: Path) -> None:
    state = tmp_path / "state.jsonl"
    emulator = load_emulator(state, clock=FakeClock())
    h = harness_for(emulator)
    pool_id, client_id = _pool(h)
    h.user(pool_id, "alice", email="a@example.com", email_verified="true")
    h.user(pool_id, "bob")
    h.ok(
        "AdminUpdateUserAttributes",
        **_update(pool_id, "bob", email="a@example.com", email_verified="true"),
    )
    emulator.close()
    restored = load_emulator(state, clock=FakeClock())
    again = harness_for(restored)
    assert _attributes(again, pool_id, "alice")["email_verified"] == "false"
    assert _signs_in_as(again, client_id, "a@example.com") == "bob"
    restored.close()


# --- seed files ---------------------------------------------------------------------------------


def _seed(tmp_path: Path, pool: dict[str, Any]) -> Path:
    path = tmp_path / "seed.json"
    path.write_text(json.dumps({"pools": [{"name": "main", **pool}]}), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("pool", "what"),
    [
        (
            {
                "alias_attributes": ["email"],
                "users": [
                    {"username": "alice", "password": "Passw0rd!", "email": "a@example.com"},
                    {"username": "bob", "password": "Passw0rd!", "email": "a@example.com"},
                ],
            },
            "email",
        ),
        (
            {
                "alias_attributes": ["email"],
                "case_sensitive": False,
                "users": [
                    {"username": "alice", "password": "Passw0rd!", "email": "A@example.com"},
                    {
                        "username": "bob",
                        "password": "Passw0rd!",
                        "attributes": {"email": "a@EXAMPLE.com", "email_verified": "true"},
                    },
                ],
            },
            "email",
        ),
        (
            {
                "alias_attributes": ["phone_number"],
                "users": [
                    {"username": "alice", "password": "Passw0rd!", "phone": PHONE},
                    {"username": "bob", "password": "Passw0rd!", "phone": PHONE},
                ],
            },
            "phone number",
        ),
        (
            {
                "alias_attributes": ["preferred_username"],
                "users": [
                    {
                        "username": "alice",
                        "password": "Passw0rd!",
                        "attributes": {"preferred_username": "A"},
                    },
                    {
                        "username": "bob",
                        "password": "Passw0rd!",
                        "attributes": {"preferred_username": "A"},
                    },
                ],
            },
            "preferred username",
        ),
    ],
    ids=["email", "email-in-another-case", "phone", "preferred-username"],
)
def test_a_seed_with_two_users_sharing_an_alias_is_refused(
    tmp_path: Path, pool: dict[str, Any], what: str
) -> None:
    path = _seed(tmp_path, pool)
    with pytest.raises(SeedError) as info:
        load_seed(path)
    message = str(info.value)
    assert message == f"{path}: pools.0: users 'alice' and 'bob' share the {what} alias"
    assert "example.com" not in message and PHONE not in message


@pytest.mark.parametrize(
    "pool",
    [
        # not an alias of the pool
        {"alias_attributes": ["phone_number"]},
        # unverified: no alias
        {"alias_attributes": ["email"], "unverified": True},
        # a case-sensitive pool keeps other cases apart
        {"alias_attributes": ["email"], "case_sensitive": True, "other_case": True},
    ],
    ids=["not-an-alias", "unverified", "case-sensitive"],
)
def test_a_seed_sharing_what_is_no_alias_is_accepted(tmp_path: Path, pool: dict[str, Any]) -> None:
    unverified = pool.pop("unverified", False)
    other_case = pool.pop("other_case", False)
    second: dict[str, Any] = {"username": "bob", "password": "Passw0rd!"}
    if unverified:
        second["attributes"] = {"email": "a@example.com"}
    else:
        second["email"] = "A@example.com" if other_case else "a@example.com"
    users = [{"username": "alice", "password": "Passw0rd!", "email": "a@example.com"}, second]
    seed = load_seed(_seed(tmp_path, {**pool, "users": users}))
    assert [u.username for u in seed.pools[0].users] == ["alice", "bob"]
