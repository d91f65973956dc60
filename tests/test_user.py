"""CognitoUser and the admin MFA functions.

Part 1 drives the user object with a small recording transport: what is sent, what is parsed,
what is refused before sending, the refresh-once rule. Part 2 runs the seed's flows end to end
against the emulator, through both fronts (in-process respx and served on loopback).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import anyio
import anyio.lowlevel
import pyotp
import pytest
from pydantic import SecretStr, ValidationError

import cognito_mfa as cm
from cognito_mfa._protocol import AppClient
from cognito_mfa.errors import (
    CodeMismatch,
    EnableSoftwareTokenMFA,
    InvalidInput,
    InvalidParameter,
    NotAuthorized,
    ProtocolError,
    ServiceError,
    SoftwareTokenMFANotFound,
    TokenRevoked,
    error_for_code,
)
from cognito_mfa.models import CognitoUserSession, MfaType
from cognito_mfa.preferences import MfaOption, MfaSettings, UserData, parse_user_data
from cognito_mfa.testing.seed import SeededPool
from cognito_mfa.totp import SoftwareTokenSecret
from cognito_mfa.user import CognitoUser, admin_get_user, admin_set_user_mfa_preference

if TYPE_CHECKING:
    from conftest import Front  # the shared fixtures' type (tests/conftest.py)

SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXPABCD"
EXPIRED = "Access Token has expired"

Handler = Callable[[str, Mapping[str, Any]], dict[str, Any]]


class RecordingTransport:
    """Answers each call from ``handler`` and records it; a raised error is Cognito's answer."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.calls: list[tuple[str, dict[str, Any]]] = []

    async def call(self, operation: str, params: Mapping[str, Any], **_: Any) -> dict[str, Any]:
        self.calls.append((operation, dict(params)))
        await anyio.lowlevel.checkpoint()
        return self.handler(operation, params)

    @property
    def operations(self) -> list[str]:
        return [op for op, _ in self.calls]


class FakePool:
    def __init__(self, handler: Handler, refresh: Callable[[], CognitoUserSession] | None = None):
        self.transport = RecordingTransport(handler)
        self.pool_id = "eu-west-1_Test1"
        self.app_client = AppClient(self.pool_id, "client-1", SecretStr("client-secret-value-1"))
        self.refreshes = 0
        self._refresh = refresh

    async def refresh(self, session: CognitoUserSession, /) -> CognitoUserSession:
        self.refreshes += 1
        await anyio.lowlevel.checkpoint()
        assert self._refresh is not None, "no refresh expected"
        return self._refresh()


def make_session(access: str = "access-1", refresh: str | None = "refresh-1") -> CognitoUserSession:
    return CognitoUserSession(
        id_token=SecretStr("id-" + access),
        access_token=SecretStr(access),
        refresh_token=SecretStr(refresh) if refresh else None,
        expires_at=datetime(2030, 1, 1, tzinfo=UTC) + timedelta(hours=1),
    )


def fail(code: str, message: str = "") -> ServiceError:
    return error_for_code(code, message, operation="test", status=400)


def ok(_op: str, _params: Mapping[str, Any]) -> dict[str, Any]:
    return {}


def user_with(handler: Handler, **kw: Any) -> tuple[CognitoUser, FakePool]:
    pool = FakePool(handler, **kw)
    return CognitoUser(pool, make_session()), pool


# --- associate / verify -------------------------------------------------------------------


async def test_associate_software_token_returns_a_typed_secret() -> None:
    user, pool = user_with(lambda op, p: {"SecretCode": SECRET})
    secret = await user.associate_software_token()
    assert isinstance(secret, SoftwareTokenSecret)
    assert secret.secret_code.get_secret_value() == SECRET
    assert pool.transport.calls == [("AssociateSoftwareToken", {"AccessToken": "access-1"})]


@pytest.mark.parametrize("answer", [{}, {"SecretCode": 5}, {"SecretCode": ""}])
async def test_associate_unusable_answer_is_a_protocol_error(answer: dict[str, Any]) -> None:
    user, _ = user_with(lambda op, p: answer)
    with pytest.raises(ProtocolError) as info:
        await user.associate_software_token()
    assert "0189" not in str(info.value)


async def test_associate_when_pool_has_no_totp() -> None:
    def handler(op: str, p: Mapping[str, Any]) -> dict[str, Any]:
        raise fail("SoftwareTokenMFANotFoundException", "Software Token MFA not enabled")

    user, _ = user_with(handler)
    with pytest.raises(SoftwareTokenMFANotFound):
        await user.associate_software_token()


async def test_verify_software_token_sends_code_and_name() -> None:
    user, pool = user_with(lambda op, p: {"Status": "SUCCESS"})
    assert await user.verify_software_token("012345", friendly_device_name="My Phone") is None
    assert pool.transport.calls == [
        (
            "VerifySoftwareToken",
            {"UserCode": "012345", "FriendlyDeviceName": "My Phone", "AccessToken": "access-1"},
        )
    ]
    await user.verify_software_token("999999")
    assert "FriendlyDeviceName" not in pool.transport.calls[-1][1]


async def test_verify_status_error_is_enable_software_token_mfa() -> None:
    user, _ = user_with(lambda op, p: {"Status": "ERROR"})
    with pytest.raises(EnableSoftwareTokenMFA) as info:
        await user.verify_software_token("123456")
    assert info.value.error_code == "EnableSoftwareTokenMFAException"
    assert info.value.operation == "VerifySoftwareToken"
    assert "123456" not in str(info.value)


async def test_verify_error_form_is_enable_software_token_mfa() -> None:
    def handler(op: str, p: Mapping[str, Any]) -> dict[str, Any]:
        raise fail(
            "EnableSoftwareTokenMFAException", "Code mismatch and fail enable Software Token MFA"
        )

    user, _ = user_with(handler)
    with pytest.raises(EnableSoftwareTokenMFA, match="Code mismatch"):
        await user.verify_software_token("123456")


async def test_verify_without_status_is_a_protocol_error() -> None:
    user, _ = user_with(lambda op, p: {})
    with pytest.raises(ProtocolError):
        await user.verify_software_token("123456")


@pytest.mark.parametrize(
    "code",
    ["", "12345", "1234567", "12345a", " 12345", "\uff11\uff12\uff13\uff14\uff15\uff16", 123456],
)
async def test_verify_bad_code_refused_before_sending(code: Any) -> None:
    user, pool = user_with(ok)
    with pytest.raises(InvalidInput):
        await user.verify_software_token(code)
    assert pool.transport.calls == []


@pytest.mark.parametrize("name", ["", "   ", "x" * 1025, 7])
async def test_verify_bad_device_name_refused_before_sending(name: Any) -> None:
    user, pool = user_with(ok)
    with pytest.raises(InvalidInput):
        await user.verify_software_token("123456", friendly_device_name=name)
    assert pool.transport.calls == []


# --- preferences --------------------------------------------------------------------------


async def test_set_user_mfa_preference_sends_only_given_factors() -> None:
    user, pool = user_with(ok)
    result = await user.set_user_mfa_preference(
        software_token=MfaSettings(enabled=True, preferred=True)
    )
    assert result is None
    assert pool.transport.calls == [
        (
            "SetUserMFAPreference",
            {
                "SoftwareTokenMfaSettings": {"Enabled": True, "PreferredMfa": True},
                "AccessToken": "access-1",
            },
        )
    ]
    await user.set_user_mfa_preference(
        sms=MfaSettings(enabled=False),
        software_token=MfaSettings(enabled=True),
        email=MfaSettings(enabled=True, preferred=True),
    )
    assert pool.transport.calls[-1][1] == {
        "SMSMfaSettings": {"Enabled": False, "PreferredMfa": False},
        "SoftwareTokenMfaSettings": {"Enabled": True, "PreferredMfa": False},
        "EmailMfaSettings": {"Enabled": True, "PreferredMfa": True},
        "AccessToken": "access-1",
    }


@pytest.mark.parametrize(
    "kwargs",
    [
        {},  # nothing to change
        {"sms": None, "software_token": None, "email": None},
        {
            "sms": MfaSettings(enabled=True, preferred=True),
            "software_token": MfaSettings(enabled=True, preferred=True),
        },
        {
            "software_token": MfaSettings(enabled=True, preferred=True),
            "email": MfaSettings(enabled=True, preferred=True),
        },
        {"sms": {"Enabled": True, "PreferredMfa": True}},  # the seed's dict, not our model
        {"email": True},
        {"sms": MfaSettings(enabled=False).model_copy(update={"preferred": True})},
    ],
)
async def test_set_user_mfa_preference_refused_before_sending(kwargs: dict[str, Any]) -> None:
    user, pool = user_with(ok)
    with pytest.raises(InvalidInput):
        await user.set_user_mfa_preference(**kwargs)
    assert pool.transport.calls == []


def test_mfa_settings_preferred_implies_enabled() -> None:
    with pytest.raises(InvalidInput, match="preferred"):
        MfaSettings(enabled=False, preferred=True)
    with pytest.raises(ValidationError):
        MfaSettings.model_validate({"enabled": False, "preferred": True})
    with pytest.raises(InvalidInput):
        MfaSettings(enabled="yes", preferred=False)  # type: ignore[arg-type]
    assert MfaSettings(enabled=True) == MfaSettings(enabled=True, preferred=False)
    assert MfaSettings.model_validate_json('{"enabled": true, "preferred": true}').preferred


async def test_set_preference_refused_by_cognito_is_invalid_parameter() -> None:
    message = "User does not have delivery config set to turn on SOFTWARE_TOKEN_MFA"

    def handler(op: str, p: Mapping[str, Any]) -> dict[str, Any]:
        raise fail("InvalidParameterException", message)

    user, _ = user_with(handler)
    with pytest.raises(InvalidParameter, match=message):
        await user.set_user_mfa_preference(software_token=MfaSettings(enabled=True))


GET_USER = {
    "Username": "4f2c-uuid",
    "UserAttributes": [
        {"Name": "sub", "Value": "4f2c-uuid"},
        {"Name": "email", "Value": "alice@example.com"},
        {"Name": "phone_number", "Value": "+15555550100"},
    ],
    "MFAOptions": [{"DeliveryMedium": "SMS", "AttributeName": "phone_number"}],
    "PreferredMfaSetting": "SOFTWARE_TOKEN_MFA",
    "UserMFASettingList": ["SMS_MFA", "SOFTWARE_TOKEN_MFA", "EMAIL_OTP", "WEB_AUTHN"],
}


async def test_get_user_data_is_typed() -> None:
    user, pool = user_with(lambda op, p: dict(GET_USER))
    data = await user.get_user_data()
    assert isinstance(data, UserData)
    assert data.username == "4f2c-uuid"
    assert data.attributes["email"] == "alice@example.com"
    assert data.enabled_mfa == (MfaType.SMS_MFA, MfaType.SOFTWARE_TOKEN_MFA, MfaType.EMAIL_OTP)
    assert data.unknown_mfa_settings == ("WEB_AUTHN",)
    assert data.preferred_mfa is MfaType.SOFTWARE_TOKEN_MFA
    assert data.mfa_options == (MfaOption(delivery_medium="SMS", attribute_name="phone_number"),)
    assert data.mfa_enabled
    assert (data.enabled, data.user_status, data.created_at) == (None, None, None)
    assert pool.transport.calls == [("GetUser", {"AccessToken": "access-1"})]


async def test_get_user_data_with_nothing_enabled() -> None:
    user, _ = user_with(lambda op, p: {"Username": "bob", "UserAttributes": []})
    data = await user.get_user_data()
    assert (data.enabled_mfa, data.preferred_mfa, data.mfa_options) == ((), None, ())
    assert not data.mfa_enabled


@pytest.mark.parametrize(
    "answer",
    [
        {},
        {"Username": "u", "UserAttributes": "x"},
        {"Username": "u", "UserAttributes": [{"Value": "v"}]},
        {"Username": "u", "UserAttributes": [], "UserMFASettingList": "SMS_MFA"},
        {"Username": "u", "UserAttributes": [], "PreferredMfaSetting": 3},
        {"Username": "u", "UserAttributes": [], "MFAOptions": [{"DeliveryMedium": "FAX"}]},
        {"Username": "u", "UserAttributes": [], "MFAOptions": {}},
    ],
)
async def test_get_user_data_malformed_is_protocol_error(answer: dict[str, Any]) -> None:
    user, _ = user_with(lambda op, p: answer)
    with pytest.raises(ProtocolError):
        await user.get_user_data()


def test_parse_user_data_edges() -> None:
    data = parse_user_data(
        {
            "Username": "u",
            "UserAttributes": [{"Name": "email_verified"}],
            "PreferredMfaSetting": "WEB_AUTHN",
            "UserCreateDate": datetime(2026, 1, 2),  # naive: taken as UTC
            "UserLastModifiedDate": 0.5,
        }
    )
    assert data.attributes == {"email_verified": ""}
    assert (data.preferred_mfa, data.unknown_mfa_settings) == (None, ("WEB_AUTHN",))
    assert data.created_at == datetime(2026, 1, 2, tzinfo=UTC)
    assert data.last_modified_at == datetime.fromtimestamp(0.5, tz=UTC)
    with pytest.raises(ProtocolError):
        parse_user_data({"Username": "u", "UserAttributes": [], "UserCreateDate": "yesterday"})
    with pytest.raises(ProtocolError):
        parse_user_data({"Username": "u", "UserAttributes": [], "UserCreateDate": True})


async def test_global_sign_out() -> None:
    user, pool = user_with(ok)
    assert await user.global_sign_out() is None
    assert pool.transport.calls == [("GlobalSignOut", {"AccessToken": "access-1"})]


async def test_revoke_token_sends_the_refresh_token_and_the_client_secret() -> None:
    user, pool = user_with(ok)
    assert await user.revoke_token() is None
    assert pool.transport.calls == [
        (
            "RevokeToken",
            {
                "Token": "refresh-1",
                "ClientId": "client-1",
                "ClientSecret": "client-secret-value-1",
            },
        )
    ]
    no_refresh = CognitoUser(pool, make_session(refresh=None))
    with pytest.raises(InvalidInput, match="no refresh token"):
        await no_refresh.revoke_token()
    assert len(pool.transport.calls) == 1  # nothing sent


# --- legacy -------------------------------------------------------------------------------


async def test_legacy_enable_disable_and_options_warn_and_send_set_user_settings() -> None:
    user, pool = user_with(lambda op, p: dict(GET_USER) if op == "GetUser" else {})
    with pytest.warns(DeprecationWarning, match=r"set_user_mfa_preference\(sms=") as rec:
        assert await user.enable_mfa() is None
    assert rec[0].filename == __file__  # the warning points at the caller
    with pytest.warns(DeprecationWarning, match=r"set_user_mfa_preference\(sms="):
        await user.disable_mfa()
    with pytest.warns(DeprecationWarning, match=r"get_user_data\(\)"):
        options = await user.get_mfa_options()
    assert options == (MfaOption(delivery_medium="SMS", attribute_name="phone_number"),)
    assert pool.transport.calls == [
        (
            "SetUserSettings",
            {
                "MFAOptions": [{"DeliveryMedium": "SMS", "AttributeName": "phone_number"}],
                "AccessToken": "access-1",
            },
        ),
        ("SetUserSettings", {"MFAOptions": [], "AccessToken": "access-1"}),
        ("GetUser", {"AccessToken": "access-1"}),
    ]


# --- refresh once -------------------------------------------------------------------------


def expiring_handler(expired_token: str, answer: dict[str, Any]) -> Handler:
    def handler(op: str, p: Mapping[str, Any]) -> dict[str, Any]:
        if p.get("AccessToken") == expired_token:
            raise fail("NotAuthorizedException", EXPIRED)
        return answer

    return handler


async def test_expired_access_token_is_refreshed_once_and_the_call_retried() -> None:
    user, pool = user_with(
        expiring_handler("access-1", dict(GET_USER)), refresh=lambda: make_session("access-2")
    )
    old = user.session
    data = await user.get_user_data()
    assert data.username == "4f2c-uuid"
    assert pool.refreshes == 1
    assert user.session is not old
    assert user.session.access_token.get_secret_value() == "access-2"
    assert [p["AccessToken"] for _, p in pool.transport.calls] == ["access-1", "access-2"]


async def test_expired_again_after_refresh_is_raised_not_looped() -> None:
    def handler(op: str, p: Mapping[str, Any]) -> dict[str, Any]:
        raise fail("NotAuthorizedException", EXPIRED)

    user, pool = user_with(handler, refresh=lambda: make_session("access-2"))
    with pytest.raises(TokenRevoked):
        await user.get_user_data()
    assert pool.refreshes == 1
    assert len(pool.transport.calls) == 2


async def test_concurrent_expiry_refreshes_once() -> None:
    user, pool = user_with(
        expiring_handler("access-1", dict(GET_USER)), refresh=lambda: make_session("access-2")
    )
    async with anyio.create_task_group() as tg:
        for _ in range(5):
            tg.start_soon(user.get_user_data)
    assert pool.refreshes == 1
    assert user.session.access_token.get_secret_value() == "access-2"


async def test_refused_refresh_token_says_sign_in_again() -> None:
    def refuse() -> CognitoUserSession:
        raise fail("NotAuthorizedException", "Refresh Token has expired")

    user, pool = user_with(expiring_handler("access-1", {}), refresh=refuse)
    with pytest.raises(TokenRevoked, match="sign in again") as info:
        await user.get_user_data()
    assert isinstance(info.value.__cause__, TokenRevoked)
    assert pool.refreshes == 1
    assert "refresh-1" not in str(info.value) and "access-1" not in str(info.value)


async def test_invalid_refresh_token_says_sign_in_again() -> None:
    def refuse() -> CognitoUserSession:
        raise fail("NotAuthorizedException", "Invalid Refresh Token")

    user, _ = user_with(expiring_handler("access-1", {}), refresh=refuse)
    with pytest.raises(TokenRevoked, match="sign in again"):
        await user.set_user_mfa_preference(sms=MfaSettings(enabled=False))


async def test_no_refresh_token_says_sign_in_again() -> None:
    pool = FakePool(expiring_handler("access-1", {}))
    user = CognitoUser(pool, make_session(refresh=None))
    with pytest.raises(TokenRevoked, match="sign in again"):
        await user.global_sign_out()
    assert pool.refreshes == 0


async def test_revoked_access_token_is_not_refreshed() -> None:
    def handler(op: str, p: Mapping[str, Any]) -> dict[str, Any]:
        raise fail("NotAuthorizedException", "Access Token has been revoked")

    user, pool = user_with(handler)
    with pytest.raises(TokenRevoked):
        await user.get_user_data()
    assert pool.refreshes == 0


async def test_other_not_authorized_is_not_refreshed() -> None:
    def handler(op: str, p: Mapping[str, Any]) -> dict[str, Any]:
        raise fail("NotAuthorizedException", "Invalid Access Token")

    user, pool = user_with(handler)
    with pytest.raises(NotAuthorized) as info:
        await user.get_user_data()
    assert not isinstance(info.value, TokenRevoked)
    assert pool.refreshes == 0


async def test_code_errors_pass_through_typed() -> None:
    def handler(op: str, p: Mapping[str, Any]) -> dict[str, Any]:
        raise fail("CodeMismatchException", "Invalid code received for user")

    user, _ = user_with(handler)
    with pytest.raises(CodeMismatch):
        await user.verify_software_token("123456")


def test_user_needs_a_session_and_hides_it() -> None:
    pool = FakePool(ok)
    with pytest.raises(InvalidInput):
        CognitoUser(pool, {"AccessToken": "x"})  # type: ignore[arg-type]
    user = CognitoUser(pool, make_session())
    assert "access-1" not in repr(user) and "eu-west-1_Test1" in repr(user)


# --- admin ---------------------------------------------------------------------------------


async def test_admin_set_user_mfa_preference() -> None:
    pool = FakePool(ok)
    await admin_set_user_mfa_preference(
        pool, "alice", email=MfaSettings(enabled=True, preferred=True)
    )
    assert pool.transport.calls == [
        (
            "AdminSetUserMFAPreference",
            {
                "EmailMfaSettings": {"Enabled": True, "PreferredMfa": True},
                "UserPoolId": "eu-west-1_Test1",
                "Username": "alice",
            },
        )
    ]


async def test_admin_get_user() -> None:
    answer = {
        **GET_USER,
        "Enabled": True,
        "UserStatus": "CONFIRMED",
        "UserCreateDate": datetime(2026, 1, 2, tzinfo=UTC),
        "UserLastModifiedDate": 1767312000,
    }
    pool = FakePool(lambda op, p: dict(answer))
    data = await admin_get_user(pool, "alice")
    assert (data.enabled, data.user_status) == (True, "CONFIRMED")
    assert data.created_at == datetime(2026, 1, 2, tzinfo=UTC)
    assert data.last_modified_at == datetime.fromtimestamp(1767312000, tz=UTC)
    assert pool.transport.calls == [
        ("AdminGetUser", {"UserPoolId": "eu-west-1_Test1", "Username": "alice"})
    ]


@pytest.mark.parametrize("username", ["", "  ", "x" * 129, None])
async def test_admin_bad_username_refused_before_sending(username: Any) -> None:
    pool = FakePool(ok)
    with pytest.raises(InvalidInput):
        await admin_get_user(pool, username)
    with pytest.raises(InvalidInput):
        await admin_set_user_mfa_preference(pool, username, sms=MfaSettings(enabled=True))
    with pytest.raises(InvalidInput):
        await admin_set_user_mfa_preference(pool, "alice")
    assert pool.transport.calls == []


# ==========================================================================================
# Part 2: end to end against the emulator, both fronts
# ==========================================================================================

PASSWORD = "Correct-Horse-9"
PHONE = "+15555550100"
EMAIL = "alice@example.com"


async def sign_in(
    front: Front,
    pool: cm.UserPool,
    username: str,
    *,
    totp: SoftwareTokenSecret | None = None,
    select: MfaType | None = None,
) -> tuple[cm.CognitoUserSession, list[str]]:
    """Sign in answering every MFA challenge with the right code; returns the challenges met."""
    flow = pool.sign_in(username, PASSWORD)
    met: list[str] = []
    async for challenge in flow:
        met.append(challenge.challenge_name)
        match challenge:
            case cm.SmsMfaChallenge():
                await challenge.answer(front.last_code(username, "SMS"))
            case cm.EmailOtpChallenge():
                await challenge.answer(front.last_code(username, "EMAIL"))
            case cm.SoftwareTokenMfaChallenge():
                assert totp is not None, "unexpected TOTP challenge"
                await challenge.answer(totp.code_at(front.now()))
            case cm.SelectMfaTypeChallenge():
                assert select is not None, "unexpected SELECT_MFA_TYPE"
                await challenge.select(select)
            case _:
                raise AssertionError(f"unexpected {challenge.challenge_name}")
    return flow.session, met


async def test_seed_totp_setup_flow_end_to_end(front: Front, seeded: SeededPool) -> None:
    await front.seeder.create_user(seeded, "alice", PASSWORD, email=EMAIL)
    async with front.user_pool(seeded) as pool:
        session, met = await sign_in(front, pool, "alice")
        assert met == []  # MFA OPTIONAL and nothing enabled yet: tokens at once
        user = pool.user(session)
        assert isinstance(user, cm.CognitoUser)

        # 1. associate: a typed secret, never shown in a repr
        secret = await user.associate_software_token()
        assert isinstance(secret, cm.SoftwareTokenSecret)
        assert secret.secret_code.get_secret_value() not in repr(secret)

        # 2. the QR code's URI, as an authenticator app reads it
        uri = secret.provisioning_uri(account_name=EMAIL, issuer="Example Co")
        app = pyotp.parse_uri(uri)
        assert (app.name, app.issuer) == (EMAIL, "Example Co")

        # 3./4. the user types the app's code
        await user.verify_software_token(app.at(front.now()), friendly_device_name="My Phone")

        # 5. TOTP enabled and preferred
        await user.set_user_mfa_preference(
            sms=None, software_token=cm.MfaSettings(enabled=True, preferred=True), email=None
        )
        data = await user.get_user_data()
        assert data.enabled_mfa == (MfaType.SOFTWARE_TOKEN_MFA,)
        assert data.preferred_mfa is MfaType.SOFTWARE_TOKEN_MFA
        assert data.attributes["email"] == EMAIL

        # sign out everywhere: the old tokens are dead
        await user.global_sign_out()
        with pytest.raises(cm.TokenRevoked):
            await user.get_user_data()

        # sign in again: SOFTWARE_TOKEN_MFA, a wrong code first, then the app's next code
        front.advance(30)  # the verification's code was used; Cognito wants a fresh step
        flow = pool.sign_in("alice", PASSWORD)
        challenges = []
        async for challenge in flow:
            challenges.append(challenge)
            assert isinstance(challenge, cm.SoftwareTokenMfaChallenge)
            if len(challenges) == 1:
                wrong = f"{(int(app.at(front.now())) + 1) % 1_000_000:06d}"
                with pytest.raises(cm.CodeMismatch):
                    await challenge.answer(wrong)
            else:
                await challenge.answer(app.at(front.now()))
        assert len(challenges) == 2
        again = pool.user(flow.session)
        assert (await again.get_user_data()).preferred_mfa is MfaType.SOFTWARE_TOKEN_MFA


async def test_preferred_factor_decides_the_next_challenge(
    front: Front, seeded: SeededPool
) -> None:
    await front.seeder.create_user(seeded, "bob", PASSWORD, phone=PHONE, email=EMAIL)
    async with front.user_pool(seeded) as pool:
        session, _ = await sign_in(front, pool, "bob")
        user = pool.user(session)
        secret = await user.associate_software_token()
        await user.verify_software_token(secret.code_at(front.now()))
        on = cm.MfaSettings(enabled=True)
        await user.set_user_mfa_preference(sms=on, software_token=on, email=on)
        data = await user.get_user_data()
        assert set(data.enabled_mfa) == set(MfaType)
        assert data.preferred_mfa is None

        # all three enabled, none preferred: Cognito asks which one
        front.advance(30)
        _, met = await sign_in(front, pool, "bob", totp=secret, select=MfaType.EMAIL_OTP)
        assert met == ["SELECT_MFA_TYPE", "EMAIL_OTP"]

        expected = {
            MfaType.SMS_MFA: "SMS_MFA",
            MfaType.SOFTWARE_TOKEN_MFA: "SOFTWARE_TOKEN_MFA",
            MfaType.EMAIL_OTP: "EMAIL_OTP",
        }
        for preferred in (
            MfaType.SMS_MFA,
            MfaType.SOFTWARE_TOKEN_MFA,
            MfaType.EMAIL_OTP,
            MfaType.SMS_MFA,
        ):
            settings = {
                "sms": cm.MfaSettings(enabled=True, preferred=preferred is MfaType.SMS_MFA),
                "software_token": cm.MfaSettings(
                    enabled=True, preferred=preferred is MfaType.SOFTWARE_TOKEN_MFA
                ),
                "email": cm.MfaSettings(enabled=True, preferred=preferred is MfaType.EMAIL_OTP),
            }
            await user.set_user_mfa_preference(**settings)
            assert (await user.get_user_data()).preferred_mfa is preferred
            front.advance(30)
            _, met = await sign_in(front, pool, "bob", totp=secret)
            assert met == [expected[preferred]], preferred

        # only email left enabled: the email code is asked without a choice
        off = cm.MfaSettings(enabled=False)
        await user.set_user_mfa_preference(sms=off, software_token=off)
        _, met = await sign_in(front, pool, "bob")
        assert met == ["EMAIL_OTP"]

        # the server-side variants see and change the same settings
        admin_view = await pool.admin_get_user("bob")
        assert admin_view.enabled_mfa == (MfaType.EMAIL_OTP,)
        assert admin_view.user_status == "CONFIRMED" and admin_view.enabled is True
        await pool.admin_set_user_mfa_preference(
            "bob", sms=cm.MfaSettings(enabled=True, preferred=True)
        )
        assert (await pool.admin_get_user("bob")).preferred_mfa is MfaType.SMS_MFA
        _, met = await sign_in(front, pool, "bob")
        assert met == ["SMS_MFA"]


async def test_enabling_totp_before_verification_is_refused(
    front: Front, seeded: SeededPool
) -> None:
    await front.seeder.create_user(seeded, "carol", PASSWORD)
    async with front.user_pool(seeded) as pool:
        session, _ = await sign_in(front, pool, "carol")
        user = pool.user(session)
        with pytest.raises(cm.InvalidParameter) as info:
            await user.set_user_mfa_preference(software_token=cm.MfaSettings(enabled=True))
        assert info.value.message == (
            "User does not have delivery config set to turn on SOFTWARE_TOKEN_MFA"
        )
        # associated but not verified: still refused, with Cognito's message
        await user.associate_software_token()
        with pytest.raises(cm.InvalidParameter, match="turn on SOFTWARE_TOKEN_MFA"):
            await user.set_user_mfa_preference(
                software_token=cm.MfaSettings(enabled=True, preferred=True)
            )
        # the admin path is refused the same way
        with pytest.raises(cm.InvalidParameter, match="turn on SOFTWARE_TOKEN_MFA"):
            await pool.admin_set_user_mfa_preference(
                "carol", software_token=cm.MfaSettings(enabled=True)
            )
        assert (await user.get_user_data()).enabled_mfa == ()


async def test_legacy_enable_disable_reflected_in_get_mfa_options(
    front: Front, seeded: SeededPool
) -> None:
    await front.seeder.create_user(seeded, "dave", PASSWORD, phone=PHONE)
    async with front.user_pool(seeded) as pool:
        session, _ = await sign_in(front, pool, "dave")
        user = pool.user(session)
        with pytest.deprecated_call():
            assert await user.get_mfa_options() == ()
        with pytest.deprecated_call():
            await user.enable_mfa()
        with pytest.deprecated_call():
            options = await user.get_mfa_options()
        assert options == (cm.MfaOption(delivery_medium="SMS", attribute_name="phone_number"),)
        assert MfaType.SMS_MFA in (await user.get_user_data()).enabled_mfa
        _, met = await sign_in(front, pool, "dave")
        assert met == ["SMS_MFA"]
        with pytest.deprecated_call():
            await user.disable_mfa()
        with pytest.deprecated_call():
            assert await user.get_mfa_options() == ()
        _, met = await sign_in(front, pool, "dave")
        assert met == []


async def test_legacy_enable_without_phone_is_invalid_parameter(
    front: Front, seeded: SeededPool
) -> None:
    await front.seeder.create_user(seeded, "erin", PASSWORD, email=EMAIL)
    async with front.user_pool(seeded) as pool:
        session, _ = await sign_in(front, pool, "erin")
        with pytest.deprecated_call(), pytest.raises(cm.InvalidParameter):
            await pool.user(session).enable_mfa()


async def test_verify_errors_on_the_paths_that_produce_them(
    front: Front, seeded: SeededPool
) -> None:
    await front.seeder.create_user(seeded, "frank", PASSWORD)
    async with front.user_pool(seeded) as pool:
        session, _ = await sign_in(front, pool, "frank")
        user = pool.user(session)
        # verifying before associating: no software token to verify
        with pytest.raises(cm.SoftwareTokenMFANotFound):
            await user.verify_software_token("123456")
        secret = await user.associate_software_token()
        right = secret.code_at(front.now())
        wrong = f"{(int(right) + 1) % 1_000_000:06d}"
        with pytest.raises(cm.EnableSoftwareTokenMFA) as info:
            await user.verify_software_token(wrong, friendly_device_name="My Phone")
        assert info.value.message == "Code mismatch and fail enable Software Token MFA"
        assert isinstance(info.value, cm.CodeRejected)
        # the same association can still be verified with the right code
        await user.verify_software_token(right, friendly_device_name="My Phone")
        await user.set_user_mfa_preference(software_token=cm.MfaSettings(enabled=True))
        # bad input never reaches the emulator
        with pytest.raises(cm.InvalidInput):
            await user.verify_software_token("12345")


async def test_totp_disabled_on_the_pool_is_software_token_mfa_not_found(front: Front) -> None:
    seeded = await front.seeder.create_pool_and_client(totp=False)
    await front.seeder.create_user(seeded, "gina", PASSWORD)
    async with front.user_pool(seeded) as pool:
        session, _ = await sign_in(front, pool, "gina")
        with pytest.raises(cm.SoftwareTokenMFANotFound):
            await pool.user(session).associate_software_token()


async def test_expired_access_token_is_refreshed_and_the_call_retried(
    front: Front, seeded: SeededPool
) -> None:
    await front.seeder.create_user(seeded, "hank", PASSWORD, phone=PHONE)
    async with front.user_pool(seeded) as pool:
        session, _ = await sign_in(front, pool, "hank")
        user = pool.user(session)
        front.advance(3600 + 1)  # the access token lives an hour
        await user.set_user_mfa_preference(sms=cm.MfaSettings(enabled=True, preferred=True))
        assert user.session is not session
        assert user.session.access_token != session.access_token
        assert user.session.refresh_token == session.refresh_token
        assert (await user.get_user_data()).preferred_mfa is MfaType.SMS_MFA


async def test_expired_refresh_token_says_sign_in_again(front: Front, seeded: SeededPool) -> None:
    await front.seeder.create_user(seeded, "ivy", PASSWORD)
    async with front.user_pool(seeded) as pool:
        session, _ = await sign_in(front, pool, "ivy")
        user = pool.user(session)
        front.advance(30 * 86400 + 1)  # past the app client's 30-day refresh token
        with pytest.raises(cm.TokenRevoked, match="sign in again") as info:
            await user.get_user_data()
        assert info.value.message.endswith("sign in again")
        assert session.access_token.get_secret_value() not in str(info.value)


async def test_revoked_tokens_are_not_refreshed(front: Front, seeded: SeededPool) -> None:
    await front.seeder.create_user(seeded, "jack", PASSWORD)
    async with front.user_pool(seeded) as pool:
        session, _ = await sign_in(front, pool, "jack")
        user = pool.user(session)
        other = pool.user(session)
        await user.global_sign_out()
        with pytest.raises(cm.TokenRevoked, match="revoked"):
            await other.set_user_mfa_preference(sms=cm.MfaSettings(enabled=False))
        assert other.session is session


async def test_foreign_access_token_is_not_authorized(front: Front, seeded: SeededPool) -> None:
    async with front.user_pool(seeded) as pool:
        user = pool.user(make_session("not.a-token.at-all"))
        with pytest.raises(cm.NotAuthorized, match="Invalid Access Token") as info:
            await user.get_user_data()
        assert not isinstance(info.value, cm.TokenRevoked)


async def test_throttling_and_expired_code_arrive_typed(front: Front, seeded: SeededPool) -> None:
    # Cognito's model declares neither on these operations (wire reference §2.3); the emulator
    # injects them to show they reach the caller as their own classes, not a generic error.
    await front.seeder.create_user(seeded, "kate", PASSWORD)
    no_retry = cm.RetryPolicy(max_attempts=1)
    async with front.user_pool(seeded, retry_policy=no_retry) as pool:
        session, _ = await sign_in(front, pool, "kate")
        user = pool.user(session)
        with front.lock:
            # count=2: holds whether or not botocore itself replays a throttled call once
            front.emulator.inject_fault(
                "SetUserMFAPreference",
                error="LimitExceededException",
                message="Limit exceeded",
                count=2,
            )
            front.emulator.inject_fault(
                "VerifySoftwareToken", error="ExpiredCodeException", message="Code expired"
            )
        with pytest.raises(cm.LimitExceeded) as limit:
            await user.set_user_mfa_preference(email=cm.MfaSettings(enabled=False))
        assert isinstance(limit.value, cm.Throttled)
        assert limit.value.message == "Limit exceeded"
        with pytest.raises(cm.ExpiredCode):
            await user.verify_software_token("123456")
        with front.lock:
            front.emulator.clear_faults()
        await user.set_user_mfa_preference(email=cm.MfaSettings(enabled=False))


async def test_admin_bad_username_sends_nothing(front: Front, seeded: SeededPool) -> None:
    async with front.user_pool(seeded) as pool:
        with pytest.raises(cm.InvalidInput):
            await pool.admin_get_user("")
        with pytest.raises(cm.UserNotFound):
            await pool.admin_get_user("nobody")
