"""Case-insensitive user pools (``UsernameConfiguration: {CaseSensitive: false}``), over the wire.

The pool setting (CreateUserPool, DescribeUserPool, UpdateUserPool's refusal, the state file),
sign-in names in any case (username, email and preferred_username, as username or alias),
uniqueness across case, and the stored username in tokens and challenges; case-sensitive pools
(the default) keep matching exactly.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import jwt
import pytest
from conftest import PASSWORD, FakeClock, Harness, HarnessFor

from cognito_mfa.testing import Emulator, load_emulator
from cognito_mfa.testing._model import fold
from cognito_mfa.testing.seedfile import SeedError, SeedPool, load_seed

CASELESS = {"UsernameConfiguration": {"CaseSensitive": False}}
CASED = {"UsernameConfiguration": {"CaseSensitive": True}}
NO_USER = ("UserNotFoundException", "User does not exist.")


def _claims(result: dict[str, Any], token: str = "AccessToken") -> dict[str, Any]:
    claims: dict[str, Any] = jwt.decode(
        result["AuthenticationResult"][token], options={"verify_signature": False}
    )
    return claims


def _pool(h: Harness, **options: Any) -> tuple[str, str]:
    pool_id = h.pool(**options)
    client_id, _ = h.client(pool_id)
    return pool_id, client_id


def _refused(h: Harness, client_id: str, name: str) -> tuple[str, str]:
    failure = h.fail(
        "InitiateAuth",
        AuthFlow="USER_PASSWORD_AUTH",
        ClientId=client_id,
        AuthParameters={"USERNAME": name, "PASSWORD": PASSWORD},
    )
    return failure.code, failure.message


# --- the pool setting ---------------------------------------------------------------------------


@pytest.mark.parametrize("case_sensitive", [False, True])
def test_describe_user_pool_returns_the_setting_given(h: Harness, case_sensitive: bool) -> None:
    config = {"CaseSensitive": case_sensitive}
    created = h.ok("CreateUserPool", PoolName="p", UsernameConfiguration=config)["UserPool"]
    assert created["UsernameConfiguration"] == config
    described = h.ok("DescribeUserPool", UserPoolId=created["Id"])["UserPool"]
    assert described["UsernameConfiguration"] == config


def test_describe_user_pool_omits_the_setting_when_none_was_given(h: Harness) -> None:
    pool_id = h.pool()
    assert "UsernameConfiguration" not in h.ok("DescribeUserPool", UserPoolId=pool_id)["UserPool"]


def test_case_sensitive_is_required_and_boolean(h: Harness) -> None:
    failure = h.fail("CreateUserPool", PoolName="p", UsernameConfiguration={})
    assert (failure.code, failure.message) == (
        "InvalidParameterException",
        "1 validation error detected: Value null at 'usernameConfiguration.caseSensitive' "
        "failed to satisfy constraint: Member must not be null",
    )
    failure = h.fail("CreateUserPool", PoolName="p", UsernameConfiguration={"CaseSensitive": "no"})
    assert failure.code == "SerializationException"
    assert h.ok("ListUserPools", MaxResults=60)["UserPools"] == []


def test_update_user_pool_refuses_the_setting_and_keeps_it(h: Harness) -> None:
    pool_id, client_id = _pool(h, **CASELESS)
    h.user(pool_id, "Alice")
    for config in ({"CaseSensitive": True}, {"CaseSensitive": False}):
        failure = h.fail("UpdateUserPool", UserPoolId=pool_id, UsernameConfiguration=config)
        assert (failure.code, failure.message) == (
            "InvalidParameterException",
            "UsernameConfiguration cannot be changed after the user pool is created.",
        )
    # an update of other settings leaves it as created
    h.ok("UpdateUserPool", UserPoolId=pool_id, MfaConfiguration="OFF")
    described = h.ok("DescribeUserPool", UserPoolId=pool_id)["UserPool"]
    assert described["UsernameConfiguration"] == {"CaseSensitive": False}
    assert "AuthenticationResult" in h.password_auth(client_id, "ALICE")


# --- the username -------------------------------------------------------------------------------


def test_any_case_of_the_username_signs_in_as_the_stored_user(h: Harness) -> None:
    pool_id, client_id = _pool(h, **CASELESS)
    assert h.user(pool_id, "Alice") == "Alice"
    for name in ("Alice", "alice", "ALICE", "aLiCe"):
        result = h.password_auth(client_id, name)
        assert _claims(result)["username"] == "Alice"
        assert _claims(result, "IdToken")["cognito:username"] == "Alice"
    admin = h.ok(
        "AdminInitiateAuth",
        UserPoolId=pool_id,
        ClientId=client_id,
        AuthFlow="ADMIN_USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": "ALICE", "PASSWORD": PASSWORD},
    )
    assert _claims(admin)["username"] == "Alice"


def test_srp_in_another_case_names_the_stored_user(h: Harness) -> None:
    pool_id, client_id = _pool(h, **CASELESS)
    h.user(pool_id, "Alice")
    started, a, big_a = h.srp_start(client_id, "ALICE")
    parameters = started["ChallengeParameters"]
    assert (parameters["USERNAME"], parameters["USER_ID_FOR_SRP"]) == ("Alice", "Alice")
    answers = h.srp_answers(pool_id, started, a, big_a, PASSWORD)
    result = h.ok(
        "RespondToAuthChallenge",
        ClientId=client_id,
        ChallengeName="PASSWORD_VERIFIER",
        Session=started["Session"],
        ChallengeResponses=answers,
    )
    assert _claims(result)["username"] == "Alice"


def test_admin_calls_find_the_user_in_any_case(h: Harness) -> None:
    pool_id, client_id = _pool(h, **CASELESS)
    h.user(pool_id, "Alice")
    got = h.ok("AdminGetUser", UserPoolId=pool_id, Username="ALICE")
    assert got["Username"] == "Alice"
    h.ok(
        "AdminSetUserPassword",
        UserPoolId=pool_id,
        Username="alice",
        Password="Other-Passw0rd!",
        Permanent=True,
    )
    assert "AuthenticationResult" in h.password_auth(client_id, "aLICE", "Other-Passw0rd!")
    h.ok(
        "AdminUpdateUserAttributes",
        UserPoolId=pool_id,
        Username="ALICE",
        UserAttributes=[{"Name": "given_name", "Value": "Alice"}],
    )
    attributes = h.ok("AdminGetUser", UserPoolId=pool_id, Username="alice")["UserAttributes"]
    assert {"Name": "given_name", "Value": "Alice"} in attributes
    h.ok("AdminDeleteUser", UserPoolId=pool_id, Username="aLiCe")
    failure = h.fail("AdminGetUser", UserPoolId=pool_id, Username="Alice")
    assert (failure.code, failure.message) == NO_USER


@pytest.mark.parametrize("options", [{}, CASED], ids=["default", "case-sensitive"])
def test_a_case_sensitive_pool_matches_the_username_exactly(
    h: Harness, options: dict[str, Any]
) -> None:
    pool_id, client_id = _pool(h, **options)
    h.user(pool_id, "Alice")
    assert "AuthenticationResult" in h.password_auth(client_id, "Alice")
    for name in ("alice", "ALICE"):
        assert _refused(h, client_id, name) == NO_USER
        failure = h.fail("AdminGetUser", UserPoolId=pool_id, Username=name)
        assert (failure.code, failure.message) == NO_USER
    # another case is another user
    assert h.user(pool_id, "ALICE", password="Other-Passw0rd!") == "ALICE"
    assert _claims(h.password_auth(client_id, "ALICE", "Other-Passw0rd!"))["username"] == "ALICE"


def test_a_username_differing_only_in_case_is_taken(h: Harness) -> None:
    pool_id, _ = _pool(h, **CASELESS)
    h.user(pool_id, "Alice")
    exact = h.fail("AdminCreateUser", UserPoolId=pool_id, Username="Alice")
    for name in ("alice", "ALICE"):
        failure = h.fail("AdminCreateUser", UserPoolId=pool_id, Username=name)
        assert (failure.code, failure.message) == (exact.code, exact.message)
        assert failure.code == "UsernameExistsException"


def test_a_challenge_answered_with_the_username_in_another_case(h: Harness) -> None:
    pool_id, client_id = _pool(h, **CASELESS)
    h.mfa_config(pool_id, "OPTIONAL", totp=True)
    h.user(pool_id, "Alice")
    first = h.password_auth(client_id, "alice")["AuthenticationResult"]
    h.enrol_totp(pool_id, first["AccessToken"], "ALICE")
    step = h.password_auth(client_id, "ALICE")
    assert step["ChallengeName"] == "SOFTWARE_TOKEN_MFA"
    assert step["ChallengeParameters"]["USER_ID_FOR_SRP"] == "Alice"
    code = h.emu.totp_code(pool_id, "aLiCe")
    result = h.answer(client_id, step, USERNAME="ALICE", SOFTWARE_TOKEN_MFA_CODE=code)
    assert _claims(result)["username"] == "Alice"


def test_a_case_sensitive_pool_refuses_a_challenge_answer_in_another_case(h: Harness) -> None:
    pool_id, client_id = _pool(h)
    h.mfa_config(pool_id, "OPTIONAL", totp=True)
    h.user(pool_id, "Alice")
    first = h.password_auth(client_id, "Alice")["AuthenticationResult"]
    h.enrol_totp(pool_id, first["AccessToken"], "Alice")
    step = h.password_auth(client_id, "Alice")
    code = h.emu.totp_code(pool_id, "Alice")
    failure = h.answer_fail(client_id, step, USERNAME="ALICE", SOFTWARE_TOKEN_MFA_CODE=code)
    assert (failure.code, failure.message) == NO_USER


# --- email and preferred_username ---------------------------------------------------------------


def test_email_as_username_matches_in_any_case(h: Harness) -> None:
    pool_id, client_id = _pool(h, UsernameAttributes=["email"], **CASELESS)
    internal = h.user(pool_id, "Alice@Example.com")
    for name in ("alice@example.com", "ALICE@EXAMPLE.COM"):
        result = h.password_auth(client_id, name)
        assert _claims(result)["username"] == internal
    started, _, _ = h.srp_start(client_id, "alice@EXAMPLE.com")
    assert started["ChallengeParameters"]["USER_ID_FOR_SRP"] == internal


def test_an_email_differing_only_in_case_is_taken(h: Harness) -> None:
    pool_id, _ = _pool(h, UsernameAttributes=["email"], **CASELESS)
    h.user(pool_id, "alice@example.com")
    other = h.user(pool_id, "bob@example.com")
    exact = h.fail("AdminCreateUser", UserPoolId=pool_id, Username="alice@example.com")
    failure = h.fail("AdminCreateUser", UserPoolId=pool_id, Username="ALICE@example.com")
    assert (failure.code, failure.message) == (exact.code, exact.message)
    assert failure.code == "UsernameExistsException"
    failure = h.fail(
        "AdminUpdateUserAttributes",
        UserPoolId=pool_id,
        Username=other,
        UserAttributes=[{"Name": "email", "Value": "Alice@Example.COM"}],
    )
    assert (failure.code, failure.message) == (
        "AliasExistsException",
        "An account with the given email already exists.",
    )


def test_a_case_sensitive_email_pool_keeps_emails_apart(h: Harness) -> None:
    pool_id, client_id = _pool(h, UsernameAttributes=["email"])
    first = h.user(pool_id, "alice@example.com")
    second = h.user(pool_id, "ALICE@example.com", password="Other-Passw0rd!")
    assert first != second
    assert _claims(h.password_auth(client_id, "alice@example.com"))["username"] == first
    assert _refused(h, client_id, "Alice@Example.com") == NO_USER


def test_verified_email_alias_matches_in_any_case(h: Harness) -> None:
    pool_id, client_id = _pool(h, AliasAttributes=["email"], **CASELESS)
    h.user(pool_id, "alice", email="Alice@Example.com", email_verified="true")
    h.user(pool_id, "bob", email="Bob@Example.com")  # not verified: no alias
    result = h.password_auth(client_id, "ALICE@EXAMPLE.COM")
    assert _claims(result)["username"] == "alice"
    assert _refused(h, client_id, "bob@example.com") == NO_USER


def test_preferred_username_alias_needs_no_verification(h: Harness) -> None:
    pool_id, client_id = _pool(h, AliasAttributes=["preferred_username"])
    h.user(pool_id, "alice", preferred_username="Ally")
    result = h.password_auth(client_id, "Ally")
    assert _claims(result)["username"] == "alice"
    # a case-sensitive pool matches the alias exactly
    assert _refused(h, client_id, "ally") == NO_USER


def test_preferred_username_alias_matches_in_any_case(h: Harness) -> None:
    pool_id, client_id = _pool(
        h, AliasAttributes=["preferred_username", "phone_number"], **CASELESS
    )
    h.user(
        pool_id,
        "alice",
        preferred_username="Ally",
        phone_number="+15555550100",
        phone_number_verified="true",
    )
    for name in ("ally", "ALLY", "+15555550100"):
        assert _claims(h.password_auth(client_id, name))["username"] == "alice"
    started, _, _ = h.srp_start(client_id, "aLLy")
    assert started["ChallengeParameters"]["USER_ID_FOR_SRP"] == "alice"


def test_an_alias_is_not_resolved_in_a_challenge_answer(h: Harness) -> None:
    pool_id, client_id = _pool(h, AliasAttributes=["preferred_username"], **CASELESS)
    h.mfa_config(pool_id, "OPTIONAL", totp=True)
    h.user(pool_id, "alice", preferred_username="Ally")
    first = h.password_auth(client_id, "ally")["AuthenticationResult"]
    h.enrol_totp(pool_id, first["AccessToken"], "alice")
    step = h.password_auth(client_id, "ALLY")
    code = h.emu.totp_code(pool_id, "alice")
    failure = h.answer_fail(client_id, step, USERNAME="ALLY", SOFTWARE_TOKEN_MFA_CODE=code)
    assert (failure.code, failure.message) == NO_USER


# --- sign-in attributes that change ----------------------------------------------------------


def _set(h: Harness, pool_id: str, username: str, **attributes: str) -> None:
    h.ok(
        "AdminUpdateUserAttributes",
        UserPoolId=pool_id,
        Username=username,
        UserAttributes=[{"Name": k, "Value": v} for k, v in attributes.items()],
    )


@pytest.mark.parametrize("options", [{}, CASELESS], ids=["exact", "case-insensitive"])
def test_a_changed_email_signs_in_and_the_old_one_no_longer(
    h: Harness, options: dict[str, Any]
) -> None:
    pool_id, client_id = _pool(h, UsernameAttributes=["email"], **options)
    alice = h.user(pool_id, "alice@example.com")
    assert _claims(h.password_auth(client_id, "alice@example.com"))["username"] == alice
    _set(h, pool_id, alice, email="alice@example.org")
    assert _refused(h, client_id, "alice@example.com") == NO_USER
    assert _claims(h.password_auth(client_id, "alice@example.org"))["username"] == alice
    # the old address is free for another user, who then signs in with it
    bob = h.user(pool_id, "alice@example.com")
    assert _claims(h.password_auth(client_id, "alice@example.com"))["username"] == bob
    h.ok("AdminDeleteUser", UserPoolId=pool_id, Username=bob)
    assert _refused(h, client_id, "alice@example.com") == NO_USER
    assert _claims(h.password_auth(client_id, "alice@example.org"))["username"] == alice


@pytest.mark.parametrize("options", [{}, CASELESS], ids=["exact", "case-insensitive"])
def test_an_alias_that_stops_being_verified_no_longer_signs_in(
    h: Harness, options: dict[str, Any]
) -> None:
    pool_id, client_id = _pool(h, AliasAttributes=["email", "preferred_username"], **options)
    h.user(pool_id, "alice", email="shared@example.com", preferred_username="Ally")
    h.user(pool_id, "bob", email="shared@example.com", email_verified="true")
    # alice's address is not verified: the alias is bob's
    assert _claims(h.password_auth(client_id, "shared@example.com"))["username"] == "bob"
    _set(h, pool_id, "bob", email_verified="false")
    assert _refused(h, client_id, "shared@example.com") == NO_USER
    _set(h, pool_id, "alice", email_verified="true")
    assert _claims(h.password_auth(client_id, "shared@example.com"))["username"] == "alice"
    assert _claims(h.password_auth(client_id, "Ally"))["username"] == "alice"
    _set(h, pool_id, "alice", preferred_username="Al")
    assert _refused(h, client_id, "Ally") == NO_USER
    assert _claims(h.password_auth(client_id, "Al"))["username"] == "alice"


# --- the state file -----------------------------------------------------------------------------


def test_the_setting_and_the_lookups_survive_a_restart(
    harness_for: HarnessFor, tmp_path: Path
) -> None:
    state = tmp_path / "state.jsonl"
    emulator = load_emulator(state, clock=FakeClock())
    h = harness_for(emulator)
    caseless, caseless_client = _pool(h, **CASELESS)
    cased, cased_client = _pool(h, PoolName="cased")
    h.user(caseless, "Alice")
    h.user(cased, "Alice")
    emulator.close()

    for restored in (load_emulator(state, clock=FakeClock()), _from_snapshot(state)):
        again = harness_for(restored)
        described = again.ok("DescribeUserPool", UserPoolId=caseless)["UserPool"]
        assert described["UsernameConfiguration"] == {"CaseSensitive": False}
        plain = again.ok("DescribeUserPool", UserPoolId=cased)["UserPool"]
        assert "UsernameConfiguration" not in plain
        assert _claims(again.password_auth(caseless_client, "ALICE"))["username"] == "Alice"
        assert _refused(again, cased_client, "ALICE") == NO_USER
        restored.close()


def _from_snapshot(state: Path) -> Emulator:
    """An emulator made from a compacted copy of the state (Emulator.to_state/from_state)."""
    emulator = load_emulator(state, clock=FakeClock())
    snapshot = json.loads(json.dumps(emulator.to_state()))
    emulator.close()
    return Emulator.from_state(snapshot, clock=FakeClock())


def test_a_user_restored_from_the_journal_is_found_in_any_case(
    harness_for: HarnessFor, tmp_path: Path
) -> None:
    state = tmp_path / "state.jsonl"
    emulator = load_emulator(state, clock=FakeClock())
    h = harness_for(emulator)
    pool_id, client_id = _pool(h, **CASELESS)
    h.user(pool_id, "Alice")
    h.user(pool_id, "Bob")
    h.ok("AdminDeleteUser", UserPoolId=pool_id, Username="BOB")
    # a later change of the pool record must keep its users findable
    h.ok("UpdateUserPool", UserPoolId=pool_id, MfaConfiguration="OFF")
    emulator.close()
    restored = load_emulator(state, clock=FakeClock())
    again = harness_for(restored)
    assert _claims(again.password_auth(client_id, "alice"))["username"] == "Alice"
    assert _refused(again, client_id, "bob") == NO_USER
    # the name of a deleted user is free again, in any case
    assert again.user(pool_id, "BOB") == "BOB"
    restored.close()


# --- seed files ---------------------------------------------------------------------------------


def test_a_seed_file_sets_case_sensitivity_and_aliases(tmp_path: Path) -> None:
    path = tmp_path / "seed.toml"
    path.write_text(
        '[[pools]]\nname = "main"\ncase_sensitive = false\n'
        'alias_attributes = ["email", "preferred_username"]\n',
        encoding="utf-8",
    )
    (pool,) = load_seed(path).pools
    assert pool.case_sensitive is False
    assert pool.alias_attributes == ["email", "preferred_username"]
    assert SeedPool(name="other").case_sensitive is None  # not sent: Cognito's default


@pytest.mark.parametrize(
    ("content", "where"),
    [
        ('{"pools": [{"name": "p", "case_sensitive": "no"}]}', "pools.0.case_sensitive"),
        (
            '{"pools": [{"name": "p", "alias_attributes": ["nickname"]}]}',
            "pools.0.alias_attributes",
        ),
        (
            '{"pools": [{"name": "p", "username_attributes": ["email"],'
            ' "alias_attributes": ["preferred_username"]}]}',
            "only one of username_attributes and alias_attributes",
        ),
    ],
)
def test_a_bad_case_or_alias_setting_in_a_seed_file(
    tmp_path: Path, content: str, where: str
) -> None:
    path = tmp_path / "seed.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(SeedError) as info:
        load_seed(path)
    assert where in str(info.value)


# --- the model ----------------------------------------------------------------------------------


def test_the_folded_index_catches_up_with_users_changed_directly() -> None:
    emulator = Emulator(clock=FakeClock())
    h = Harness(emulator)
    pool_id, _ = _pool(h, **CASELESS)
    h.user(pool_id, "Alice")
    pool = emulator._model.pools[pool_id]
    alice = pool.users.pop("Alice")
    # the index still names Alice, who is gone: not found
    assert pool.find_user("ALICE") is None
    bob = replace(alice, username="Bob")
    pool.users["Bob"] = bob  # behind the index's back
    assert pool.find_user("bob") is bob
    assert fold("ÀLICE") == "àlice" and fold("Straße") == "straße"


@pytest.mark.parametrize("options", [CASELESS, CASED], ids=["caseless", "cased"])
def test_last_code_finds_the_user_as_the_pool_does(h: Harness, options: dict[str, Any]) -> None:
    pool_id, client_id = _pool(h, MfaConfiguration="ON", **options)
    h.mfa_config(pool_id, "ON", sms=True)
    h.user(pool_id, "Alice", phone_number="+15555550123")
    step = h.password_auth(client_id, "Alice")
    assert step["ChallengeName"] == "SMS_MFA"
    code = h.emu.last_code("Alice", "SMS")
    if options is CASELESS:
        assert h.emu.last_code("aLICE", "SMS") == code
    else:
        with pytest.raises(LookupError):
            h.emu.last_code("aLICE", "SMS")
