"""The app client's settings: DescribeUserPoolClient's answer read into AppClientSettings (units,
defaults, malformed answers), ``UserPool.describe_app_client`` against the emulator, and
``WebSignIn.for_app_client`` keeping a stored sign-in exactly the client's AuthSessionValidity."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

import cognito_mfa as cm
import cognito_mfa.web as web
from cognito_mfa import _protocol as protocol
from cognito_mfa.testing import EMULATOR_ENDPOINT
from cognito_mfa.testing.seed import SeededPool

KEY = web.AppKey(b"k" * 32)
PHONE = "+15555550100"
SECRET = "s3cretvalue0123456789abcdefghijklmnopqrstuvwxyz0123"


def _answer(**client: Any) -> dict[str, Any]:
    return {"UserPoolClient": {"UserPoolId": "eu-west-1_Test1", "ClientId": "abc123", **client}}


# --- reading the answer -------------------------------------------------------------------------


def test_the_request_names_the_pool_and_its_client() -> None:
    call = protocol.describe_user_pool_client("eu-west-1_Test1", "abc123")
    assert call.operation == "DescribeUserPoolClient"
    assert dict(call.params) == {"UserPoolId": "eu-west-1_Test1", "ClientId": "abc123"}


def test_an_answer_without_settings_gets_cognitos_defaults() -> None:
    settings = protocol.parse_app_client_settings(_answer())
    assert settings == cm.AppClientSettings(
        pool_id="eu-west-1_Test1",
        client_id="abc123",
        client_name=None,
        auth_session_validity=timedelta(minutes=3),
        access_token_validity=timedelta(hours=1),
        id_token_validity=timedelta(hours=1),
        refresh_token_validity=timedelta(days=30),
        explicit_auth_flows=(
            "ALLOW_CUSTOM_AUTH",
            "ALLOW_REFRESH_TOKEN_AUTH",
            "ALLOW_USER_SRP_AUTH",
        ),
        enable_token_revocation=True,
        has_secret=False,
    )


def test_numbers_are_read_in_their_units_with_each_tokens_default_unit() -> None:
    created = datetime(2026, 1, 2, tzinfo=UTC)
    settings = protocol.parse_app_client_settings(
        _answer(
            ClientName="web",
            AuthSessionValidity=15,
            AccessTokenValidity=5,  # no unit given: hours
            IdTokenValidity=90,
            RefreshTokenValidity=10,  # no unit given: days
            TokenValidityUnits={"IdToken": "minutes"},
            ExplicitAuthFlows=["ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
            EnableTokenRevocation=False,
            CreationDate=created,
            LastModifiedDate=1767312000,
        )
    )
    assert settings.client_name == "web"
    assert settings.auth_session_validity == timedelta(minutes=15)
    assert settings.access_token_validity == timedelta(hours=5)
    assert settings.id_token_validity == timedelta(minutes=90)
    assert settings.refresh_token_validity == timedelta(days=10)
    assert settings.explicit_auth_flows == ("ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH")
    assert settings.enable_token_revocation is False
    assert settings.created_at == created
    assert settings.last_modified_at == datetime.fromtimestamp(1767312000, tz=UTC)
    every_unit = protocol.parse_app_client_settings(
        _answer(
            AccessTokenValidity=600,
            IdTokenValidity=2,
            RefreshTokenValidity=2,
            TokenValidityUnits={
                "AccessToken": "seconds",
                "IdToken": "days",
                "RefreshToken": "hours",
            },
        )
    )
    assert every_unit.access_token_validity == timedelta(minutes=10)
    assert every_unit.id_token_validity == timedelta(days=2)
    assert every_unit.refresh_token_validity == timedelta(hours=2)


def test_a_refresh_validity_of_zero_means_the_default() -> None:
    settings = protocol.parse_app_client_settings(
        _answer(RefreshTokenValidity=0, TokenValidityUnits={"RefreshToken": "hours"})
    )
    assert settings.refresh_token_validity == timedelta(days=30)


@pytest.mark.parametrize(
    "answer",
    [
        {},
        {"UserPoolClient": "not a structure"},
        {"UserPoolClient": {"UserPoolId": "eu-west-1_Test1"}},
        {"UserPoolClient": {"ClientId": "abc123"}},
        _answer(ClientId=""),
        _answer(ClientName=7),
        _answer(AuthSessionValidity="15"),
        _answer(AuthSessionValidity=True),
        _answer(AuthSessionValidity=0),
        _answer(AuthSessionValidity=10**30),
        _answer(AccessTokenValidity=-1),
        _answer(IdTokenValidity=1.5),
        _answer(RefreshTokenValidity=10**30),
        _answer(AccessTokenValidity=1, TokenValidityUnits={"AccessToken": "weeks"}),
        _answer(TokenValidityUnits=["hours"]),
        _answer(ExplicitAuthFlows="ALLOW_USER_SRP_AUTH"),
        _answer(ExplicitAuthFlows=[1]),
        _answer(EnableTokenRevocation="yes"),
        _answer(CreationDate="yesterday"),
    ],
)
def test_a_malformed_answer_is_a_protocol_error(answer: dict[str, Any]) -> None:
    with pytest.raises(cm.ProtocolError):
        protocol.parse_app_client_settings(answer)


_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**20), max_value=10**20),
    st.floats(allow_nan=True),
    st.text(max_size=12),
    st.sampled_from(["seconds", "minutes", "hours", "days", "weeks"]),
)
_VALUES = st.recursive(
    _SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=12), inner, max_size=3)
    ),
    max_leaves=8,
)
_MEMBERS = st.sampled_from(
    [
        "UserPoolId",
        "ClientId",
        "ClientName",
        "ClientSecret",
        "AuthSessionValidity",
        "AccessTokenValidity",
        "IdTokenValidity",
        "RefreshTokenValidity",
        "TokenValidityUnits",
        "ExplicitAuthFlows",
        "EnableTokenRevocation",
        "CreationDate",
        "LastModifiedDate",
    ]
)


@settings(max_examples=300, deadline=None)
@given(
    st.one_of(
        _VALUES,
        st.dictionaries(_MEMBERS, _VALUES, max_size=8).map(lambda raw: _answer(**raw)),
        st.fixed_dictionaries(
            {
                "AccessTokenValidity": st.integers(min_value=-5, max_value=10**20),
                "RefreshTokenValidity": st.integers(min_value=-5, max_value=10**20),
                "TokenValidityUnits": st.dictionaries(
                    st.sampled_from(["AccessToken", "IdToken", "RefreshToken"]), _SCALARS
                ),
            }
        ).map(lambda raw: _answer(**raw)),
    )
)
def test_any_answer_is_read_or_refused_as_a_protocol_error(answer: Any) -> None:
    try:
        settings_read = protocol.parse_app_client_settings(
            answer if isinstance(answer, dict) else {"UserPoolClient": answer}
        )
    except cm.ProtocolError:
        return
    assert settings_read.auth_session_validity > timedelta(0)
    assert settings_read.refresh_token_validity > timedelta(0)


def test_the_secret_is_never_kept_only_whether_there_is_one() -> None:
    settings = protocol.parse_app_client_settings(_answer(ClientSecret=SECRET))
    assert settings.has_secret is True
    for text in (repr(settings), str(settings), settings.model_dump_json()):
        assert SECRET not in text
    assert SECRET not in str(settings.model_dump())
    assert "secret" not in "".join(type(settings).model_fields).replace("has_secret", "")


def test_the_settings_are_frozen() -> None:
    settings = protocol.parse_app_client_settings(_answer())
    with pytest.raises(ValidationError):
        settings.auth_session_validity = timedelta(minutes=15)  # type: ignore[misc]


# --- against the emulator -----------------------------------------------------------------------


def _pool(seeded: SeededPool, config: Any, **options: Any) -> cm.UserPool:
    options.setdefault("aws_access_key_id", "testing")
    options.setdefault("aws_secret_access_key", "testing")
    return cm.UserPool(
        seeded.pool_id,
        seeded.client_id,
        seeded.client_secret,
        endpoint_url=EMULATOR_ENDPOINT,
        botocore_config=config,
        **options,
    )


async def _client(cognito_client: Any, pool_id: str, **settings: Any) -> SeededPool:
    app = (
        await cognito_client.create_user_pool_client(
            UserPoolId=pool_id,
            ClientName="web",
            ExplicitAuthFlows=["ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
            **settings,
        )
    )["UserPoolClient"]
    return SeededPool(pool_id, app["ClientId"], app.get("ClientSecret"))


async def test_describe_app_client_reads_the_clients_settings(
    cognito_client: Any, cognito_pool: SeededPool, cognito_client_config: Any
) -> None:
    seeded = await _client(
        cognito_client,
        cognito_pool.pool_id,
        GenerateSecret=True,
        AuthSessionValidity=15,
        AccessTokenValidity=20,
        IdTokenValidity=2,
        RefreshTokenValidity=7,
        TokenValidityUnits={"AccessToken": "minutes"},
        EnableTokenRevocation=False,
    )
    assert seeded.client_secret is not None
    async with _pool(seeded, cognito_client_config) as pool:
        settings = await pool.describe_app_client()
    assert (settings.pool_id, settings.client_id) == (seeded.pool_id, seeded.client_id)
    assert settings.client_name == "web"
    assert settings.auth_session_validity == timedelta(minutes=15)
    assert settings.access_token_validity == timedelta(minutes=20)
    assert settings.id_token_validity == timedelta(hours=2)
    assert settings.refresh_token_validity == timedelta(days=7)
    assert settings.explicit_auth_flows == ("ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH")
    assert settings.enable_token_revocation is False
    assert settings.has_secret is True
    assert settings.created_at is not None and settings.created_at.tzinfo is not None
    assert seeded.client_secret not in repr(settings) + str(settings.model_dump())


async def test_describe_app_client_refuses_like_the_other_admin_calls(
    cognito_pool: SeededPool,
    cognito_client_config: Any,
    cognito_emulator: Any,
    no_aws_credentials: None,
) -> None:
    closed = _pool(cognito_pool, cognito_client_config)
    with pytest.raises(cm.PoolClosed):
        await closed.describe_app_client()
    unknown = SeededPool(cognito_pool.pool_id, "nosuchclient123")
    async with _pool(unknown, cognito_client_config) as pool:
        with pytest.raises(cm.ResourceNotFound):
            await pool.describe_app_client()
    async with _pool(cognito_pool, cognito_client_config) as pool:
        cognito_emulator.inject_fault(
            "DescribeUserPoolClient",
            error="AccessDeniedException",
            message="User is not authorized to perform: cognito-idp:DescribeUserPoolClient",
        )
        with pytest.raises(cm.AccessDenied) as denied:
            await pool.describe_app_client()
        assert denied.value.error_code == "AccessDeniedException"
        assert isinstance(denied.value, cm.ConfigurationError)
        cognito_emulator.inject_fault("DescribeUserPoolClient", error="UnrecognizedClientException")
        with pytest.raises(cm.AccessDenied) as unknown_key:
            await pool.describe_app_client()
        assert unknown_key.value.error_code == "UnrecognizedClientException"
        cognito_emulator.inject_fault("DescribeUserPoolClient", error="NotAuthorizedException")
        with pytest.raises(cm.NotAuthorized):
            await pool.describe_app_client()
    anonymous = _pool(
        cognito_pool, cognito_client_config, aws_access_key_id=None, aws_secret_access_key=None
    )
    async with anonymous as pool:
        with pytest.raises(cm.CredentialsRequired):
            await pool.describe_app_client()


# --- WebSignIn.for_app_client -------------------------------------------------------------------


async def test_for_app_client_keeps_a_sign_in_exactly_the_auth_session_validity(
    cognito_client: Any,
    cognito_pool: SeededPool,
    cognito_user_factory: Any,
    cognito_emulator: Any,
    cognito_client_config: Any,
) -> None:
    seeded = await _client(cognito_client, cognito_pool.pool_id, AuthSessionValidity=7)
    user = await cognito_user_factory(phone=PHONE, mfa=["SMS"], preferred="SMS")
    now = [cognito_emulator.now()]

    def clock() -> float:
        return now[0]

    def advance(seconds: float) -> None:
        # the service's clock and Cognito's move together
        now[0] += seconds
        cognito_emulator.advance(seconds)

    async with _pool(seeded, cognito_client_config) as pool:
        signin = await web.WebSignIn.for_app_client(
            pool, KEY, web.MemoryFlowStore(clock=clock), clock=clock
        )
        assert signin.ttl == 7 * 60
        assert signin.client_settings is not None
        assert signin.client_settings.auth_session_validity == timedelta(minutes=7)
        started = await signin.start(user.username, user.password)
        assert isinstance(started, web.ChallengePending)
        code = cognito_emulator.last_code(user.username, "SMS")
        wrong = "000000" if code != "000000" else "111111"
        advance(7 * 60 - 1)
        # a second before the end: still stored, and Cognito's session still answers
        retry = await signin.answer(started.handle, code=wrong)
        assert isinstance(retry, web.ChallengePending)
        assert isinstance(retry.rejected, cm.CodeMismatch)
        advance(1)
        with pytest.raises(web.SignInExpired):
            await signin.answer(retry.handle, code=code)

        # the constructor's ttl is unchanged: Cognito's default unless told
        assert web.WebSignIn(pool, KEY).ttl == web.DEFAULT_TTL == 180
        assert web.WebSignIn(pool, KEY).client_settings is None


async def test_for_app_client_checks_its_arguments_before_sending(
    cognito_pool: SeededPool, cognito_client_config: Any
) -> None:
    async with _pool(cognito_pool, cognito_client_config) as pool:
        sent: list[str] = []
        call = pool.transport.call

        async def spy(operation: str, params: Any) -> Any:
            sent.append(operation)
            return await call(operation, params)

        pool.transport.call = spy  # type: ignore[method-assign]
        with pytest.raises(cm.InvalidInput):
            await web.WebSignIn.for_app_client(pool, b"k" * 32)  # type: ignore[arg-type]
        assert sent == []
        signin = await web.WebSignIn.for_app_client(pool, KEY)
        assert sent == ["DescribeUserPoolClient"]
        assert signin.ttl == 180.0  # the seeded client's 3 minutes


async def test_for_app_client_without_credentials_raises_for_the_caller_to_fall_back(
    cognito_pool: SeededPool, cognito_client_config: Any, no_aws_credentials: None
) -> None:
    pool = _pool(
        cognito_pool, cognito_client_config, aws_access_key_id=None, aws_secret_access_key=None
    )
    async with pool:
        with pytest.raises(cm.CredentialsRequired):
            await web.WebSignIn.for_app_client(pool, KEY)


# --- the FastAPI router's token cookies ---------------------------------------------------------


@pytest.mark.parametrize(
    ("made_with", "given", "expected"),
    [
        ("for_app_client", None, 2 * 86400),  # the client's refresh token validity
        ("constructor", None, 30 * 86400),  # nothing read: Cognito's default
        ("for_app_client", 600, 600),  # the caller's value wins
    ],
)
async def test_the_routers_token_cookies_live_the_refresh_token_validity(
    made_with: str,
    given: int | None,
    expected: int,
    cognito_client: Any,
    cognito_pool: SeededPool,
    cognito_user_factory: Any,
    cognito_emulator: Any,
    cognito_client_config: Any,
) -> None:
    import httpx
    from fastapi import FastAPI

    from cognito_mfa.fastapi import CSRF_HEADER, auth_router
    from cognito_mfa.testing.inprocess import emulator_app

    seeded = await _client(
        cognito_client,
        cognito_pool.pool_id,
        RefreshTokenValidity=2,
        TokenValidityUnits={"RefreshToken": "days"},
    )
    user = await cognito_user_factory()  # no second factor: signed in at once
    async with (
        _pool(seeded, cognito_client_config) as pool,
        httpx.AsyncClient(transport=httpx.ASGITransport(emulator_app(cognito_emulator))) as keys,
    ):
        verifier = cm.TokenVerifier(
            pool.pool_id,
            client_id=pool.client_id,
            jwks_url=f"{EMULATOR_ENDPOINT}/{pool.pool_id}/.well-known/jwks.json",
            http_client=keys,
        )
        if made_with == "for_app_client":
            signin = await web.WebSignIn.for_app_client(pool, KEY)
        else:
            signin = web.WebSignIn(pool, KEY)
        app = FastAPI()
        app.include_router(auth_router(signin, verifier, session_max_age=given))
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app), base_url="https://testserver"
        ) as browser:
            browser.headers[CSRF_HEADER] = (await browser.get("/auth/csrf")).json()["csrf_token"]
            login = {"username": user.username, "password": user.password}
            done = await browser.post("/auth/login", json=login)
            assert done.json() == {"status": "signed_in"}, done.text
            ages = {
                cookie.split("=", 1)[0]: cookie for cookie in done.headers.get_list("set-cookie")
            }
            for name in ("cm_id", "cm_access", "cm_refresh"):
                assert f"Max-Age={expected};" in ages[name], ages[name]
