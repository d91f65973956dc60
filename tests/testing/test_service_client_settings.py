"""The app client's lifetimes in the emulator: DescribeUserPoolClient reports them as Cognito
does (numbers in their TokenValidityUnits, Cognito's defaults when unset), and the emulator
keeps them: challenge sessions for AuthSessionValidity, each token for its own validity."""

from __future__ import annotations

import jwt
from conftest import Harness

PHONE = "+15555551234"


def _described(h: Harness, pool_id: str, client_id: str) -> dict[str, object]:
    shape: dict[str, object] = h.ok(
        "DescribeUserPoolClient", UserPoolId=pool_id, ClientId=client_id
    )["UserPoolClient"]
    return shape


def test_an_unset_client_reports_cognitos_defaults(h: Harness) -> None:
    pool_id = h.pool()
    client_id, _ = h.client(pool_id)
    shape = _described(h, pool_id, client_id)
    assert shape["AuthSessionValidity"] == 3
    assert (shape["AccessTokenValidity"], shape["IdTokenValidity"]) == (1, 1)
    assert shape["RefreshTokenValidity"] == 30
    assert shape["TokenValidityUnits"] == {
        "AccessToken": "hours",
        "IdToken": "hours",
        "RefreshToken": "days",
    }
    assert shape["EnableTokenRevocation"] is True
    assert "ClientSecret" not in shape


def test_the_settings_come_back_in_their_units(h: Harness) -> None:
    pool_id = h.pool()
    client_id, secret = h.client(
        pool_id,
        AuthSessionValidity=12,
        AccessTokenValidity=30,
        IdTokenValidity=2,
        RefreshTokenValidity=90,
        TokenValidityUnits={"AccessToken": "minutes", "RefreshToken": "minutes"},
        EnableTokenRevocation=False,
        GenerateSecret=True,
    )
    shape = _described(h, pool_id, client_id)
    assert shape["AuthSessionValidity"] == 12
    assert (shape["AccessTokenValidity"], shape["IdTokenValidity"]) == (30, 2)
    assert shape["RefreshTokenValidity"] == 90
    # a unit not given keeps its default (hours for the ID token)
    assert shape["TokenValidityUnits"] == {
        "AccessToken": "minutes",
        "IdToken": "hours",
        "RefreshToken": "minutes",
    }
    assert shape["EnableTokenRevocation"] is False
    assert secret is not None and shape["ClientSecret"] == secret


def test_a_challenge_session_lives_exactly_the_clients_auth_session_validity(
    h: Harness,
) -> None:
    pool_id = h.pool(MfaConfiguration="ON")
    h.mfa_config(pool_id, "ON", sms=True)
    client_id, _ = h.client(pool_id, AuthSessionValidity=10)
    h.user(pool_id, "alice", phone_number=PHONE, phone_number_verified="true")
    step = h.password_auth(client_id, "alice")
    assert step["ChallengeName"] == "SMS_MFA"
    code = h.emu.last_code("alice")
    wrong = "000000" if code != "000000" else "111111"
    h.emu.advance(10 * 60 - 1)
    # a second before the end the session still answers (a wrong code leaves it open)
    alive = h.answer_fail(client_id, step, USERNAME="alice", SMS_MFA_CODE=wrong)
    assert alive.code == "CodeMismatchException"
    h.emu.advance(1)
    expired = h.answer_fail(client_id, step, USERNAME="alice", SMS_MFA_CODE=code)
    assert (expired.code, expired.message) == (
        "NotAuthorizedException",
        "Invalid session for the user, session is expired.",
    )


def test_each_token_lives_its_own_validity(h: Harness) -> None:
    pool_id = h.pool()
    client_id, _ = h.client(
        pool_id,
        AccessTokenValidity=30,
        IdTokenValidity=2,
        RefreshTokenValidity=3,
        TokenValidityUnits={"AccessToken": "minutes", "RefreshToken": "hours"},
    )
    h.user(pool_id, "alice")
    now = int(h.emu.now())
    result = h.password_auth(client_id, "alice")["AuthenticationResult"]
    assert result["ExpiresIn"] == 30 * 60
    access = jwt.decode(result["AccessToken"], options={"verify_signature": False})
    id_claims = jwt.decode(result["IdToken"], options={"verify_signature": False})
    assert access["exp"] - now == 30 * 60
    assert id_claims["exp"] - now == 2 * 3600

    h.emu.advance(30 * 60 - 1)
    assert h.ok("GetUser", AccessToken=result["AccessToken"])["Username"] == "alice"
    h.emu.advance(1)
    expired = h.fail("GetUser", AccessToken=result["AccessToken"])
    assert (expired.code, expired.message) == ("NotAuthorizedException", "Access Token has expired")

    def refresh() -> int:
        return h.raw(
            "InitiateAuth",
            {
                "AuthFlow": "REFRESH_TOKEN_AUTH",
                "ClientId": client_id,
                "AuthParameters": {"REFRESH_TOKEN": result["RefreshToken"]},
            },
        ).status

    h.emu.advance(3 * 3600 - 30 * 60 - 1)  # a second before the refresh token's end
    assert refresh() == 200
    h.emu.advance(1)
    assert refresh() == 400


def test_token_lifetimes_outside_cognitos_ranges_are_refused(h: Harness) -> None:
    # access and ID tokens: 5 minutes to 1 day; refresh tokens: 60 minutes to 10 years
    pool_id = h.pool()
    minutes = {"AccessToken": "minutes", "IdToken": "minutes", "RefreshToken": "minutes"}
    for given, named in [
        ({"AccessTokenValidity": 4}, "AccessTokenValidity"),
        ({"IdTokenValidity": 4}, "IdTokenValidity"),
        ({"AccessTokenValidity": 1441}, "AccessTokenValidity"),
        ({"RefreshTokenValidity": 59}, "RefreshTokenValidity"),
    ]:
        refused = h.fail(
            "CreateUserPoolClient",
            UserPoolId=pool_id,
            ClientName="app",
            TokenValidityUnits=minutes,
            **given,
        )
        assert refused.code == "InvalidParameterException" and named in refused.message
    too_long = h.fail(
        "CreateUserPoolClient", UserPoolId=pool_id, ClientName="app", RefreshTokenValidity=3651
    )
    assert "RefreshTokenValidity" in too_long.message
    # the bounds themselves are allowed
    h.client(
        pool_id,
        AccessTokenValidity=5,
        IdTokenValidity=1440,
        RefreshTokenValidity=60,
        TokenValidityUnits=minutes,
    )
    # a refused update leaves the client as it was
    client_id, _ = h.client(pool_id, AccessTokenValidity=2)
    h.fail(
        "UpdateUserPoolClient",
        UserPoolId=pool_id,
        ClientId=client_id,
        AccessTokenValidity=1,
        TokenValidityUnits={"AccessToken": "minutes"},
        ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH"],
    )
    shape = _described(h, pool_id, client_id)
    assert shape["AccessTokenValidity"] == 2
    assert shape["TokenValidityUnits"] == {
        "AccessToken": "hours",
        "IdToken": "hours",
        "RefreshToken": "days",
    }
    assert "ALLOW_USER_SRP_AUTH" in shape["ExplicitAuthFlows"]
