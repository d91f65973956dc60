"""The router behind :func:`auth_router`: the JSON API of issue-fixed shape, over WebSignIn.

Cookies (all ``Secure`` unless turned off for local http, all ``SameSite=Strict``):

* the sign-in handle (HttpOnly, path ``/auth``, for the app client's AuthSessionValidity);
* the id, access and refresh tokens (HttpOnly; the refresh token only on the ``/auth`` path);
* the remembered device (HttpOnly, path ``/auth``, long-lived): the device's credentials sealed
  with the application key (AES-256-GCM), set when an answer says ``remember_device: true``;
* the CSRF token (readable by the page's script): every POST, PUT and DELETE must repeat it in
  the ``X-CSRF-Token`` header (double-submit). A page on another site can neither read the
  cookie nor set the header, and SameSite=Strict keeps the cookies off its requests anyway.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final, TypeVar

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ..errors import CognitoError, DeviceNotFound, InvalidInput, NotAuthorized, TokenRevoked
from ..models import CognitoUserSession, DeviceCredentials
from ..preferences import MfaSettings
from ..user import CognitoUser
from ..verify import TokenVerifier
from ..web import (
    ChallengePending,
    Outcome,
    SignedIn,
    SignInAlreadyAnswered,
    SignInStateRefused,
    WebSignIn,
    login_names,
)
from ..web import problem_for as _problem_for

__all__ = ["CSRF_HEADER", "CookieNames", "auth_router", "csrf_problem", "problem_response"]

#: The request header that must repeat the CSRF cookie.
CSRF_HEADER: Final = "X-CSRF-Token"
_PROBLEM_JSON: Final = "application/problem+json"
#: The token cookies' lifetime when nothing better is known: Cognito's default refresh token
#: validity, 30 days.
_DEFAULT_TOKEN_AGE: Final = 30 * 24 * 3600
_M = TypeVar("_M", bound=BaseModel)


@dataclass(frozen=True)
class CookieNames:
    """The cookies' names (change them to run two routers on one site)."""

    sign_in: str = "cm_sign_in"
    id_token: str = "cm_id"
    access_token: str = "cm_access"
    refresh_token: str = "cm_refresh"
    csrf: str = "cm_csrf"
    device: str = "cm_device"


class _Problem(Exception):
    def __init__(self, response: Response) -> None:
        self.response = response


def problem_response(
    error: BaseException, *, status: int | None = None, **extensions: Any
) -> JSONResponse:
    """``error`` as an RFC 9457 ``application/problem+json`` response (the status from
    :func:`cognito_mfa.web.problem_for`, unless given)."""
    problem = _problem_for(error)
    body = problem.body(**extensions)
    if status is not None:
        body["status"] = status
    return JSONResponse(body, status_code=body["status"], media_type=_PROBLEM_JSON)


def _plain_problem(status: int, slug: str, title: str, detail: str) -> JSONResponse:
    from ..web import PROBLEM_TYPE_BASE

    body = {"type": PROBLEM_TYPE_BASE + slug, "title": title, "status": status, "detail": detail}
    return JSONResponse(body, status_code=status, media_type=_PROBLEM_JSON)


def csrf_problem(request: Request, names: CookieNames = CookieNames()) -> JSONResponse | None:
    """The 403 problem for a request whose ``X-CSRF-Token`` header does not equal its CSRF
    cookie, or None when they match. Call it from your own state-changing routes too."""
    cookie = request.cookies.get(names.csrf, "")
    header = request.headers.get(CSRF_HEADER, "")
    if cookie and header and hmac.compare_digest(cookie.encode(), header.encode()):
        return None
    return _plain_problem(
        403,
        "csrf",
        "CSRF check failed",
        f"send the {names.csrf} cookie's value in the {CSRF_HEADER} header "
        "(GET /auth/csrf sets it)",
    )


# --- request bodies ---------------------------------------------------------------------------


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)


class LoginBody(_Strict):
    username: str = Field(min_length=1, max_length=128)
    password: str = Field(min_length=1, max_length=256)
    remember_device: bool = False
    device_name: str | None = Field(default=None, min_length=1, max_length=1024)


class AnswerBody(_Strict):
    code: str | None = Field(default=None, max_length=16)
    mfa_type: str | None = Field(default=None, max_length=32)
    new_password: str | None = Field(default=None, max_length=256)
    attributes: dict[str, str] | None = None
    friendly_device_name: str | None = Field(default=None, max_length=128)
    remember_device: bool = False
    device_name: str | None = Field(default=None, min_length=1, max_length=1024)


class _Factor(_Strict):
    enabled: bool
    preferred: bool = False


class MfaBody(_Strict):
    sms: _Factor | None = None
    software_token: _Factor | None = None
    email: _Factor | None = None


class TotpVerifyBody(_Strict):
    code: str = Field(max_length=16)
    friendly_device_name: str | None = Field(default=None, max_length=128)


async def _parse(request: Request, model: type[_M]) -> _M:
    try:
        return model.model_validate_json(await request.body())
    except ValidationError as exc:
        # field names only: the input (a password, a code) is never echoed
        fields = sorted({".".join(str(part) for part in error["loc"]) for error in exc.errors()})
        raise _Problem(
            problem_response(InvalidInput(f"invalid or missing fields: {', '.join(fields)}"))
        ) from None


# --- the router ----------------------------------------------------------------------------------


def auth_router(
    sign_in: WebSignIn,
    verifier: TokenVerifier,
    *,
    prefix: str = "/auth",
    cookies: CookieNames = CookieNames(),
    secure_cookies: bool = True,
    totp_issuer: str = "cognito_mfa",
    session_max_age: int | None = None,
    device_max_age: int = 365 * 24 * 3600,
) -> APIRouter:
    """The sign-in and account API (``docs/web.md`` lists it) under ``prefix``.

    ``sign_in``: the :class:`~cognito_mfa.web.WebSignIn` (its pool must be open while the app
    serves: open it in the app's lifespan). ``verifier``: checks the access token for
    ``GET /me``. ``secure_cookies=False`` only for plain-http development. ``totp_issuer``
    names the service in authenticator apps. ``session_max_age``: how long the token cookies
    live, in seconds; by default the app client's refresh token validity when ``sign_in``
    read it (:meth:`WebSignIn.for_app_client <cognito_mfa.web.WebSignIn.for_app_client>`),
    else Cognito's default of 30 days. ``device_max_age``: how long the remembered-device
    cookie lives.
    """
    router = APIRouter(prefix=prefix)
    pool = sign_in.pool
    token_age = _token_cookie_age(sign_in, session_max_age)

    def set_cookie(response: Response, name: str, value: str, max_age: int, path: str) -> None:
        response.set_cookie(
            name,
            value,
            max_age=max_age,
            path=path,
            secure=secure_cookies,
            httponly=True,
            samesite="strict",
        )

    def set_tokens(response: Response, tokens: CognitoUserSession) -> None:
        for name, secret in (
            (cookies.id_token, tokens.id_token),
            (cookies.access_token, tokens.access_token),
        ):
            set_cookie(response, name, secret.get_secret_value(), token_age, "/")
        if tokens.refresh_token is not None:
            set_cookie(
                response,
                cookies.refresh_token,
                tokens.refresh_token.get_secret_value(),
                token_age,
                prefix or "/",
            )

    def clear(response: Response, *names: str) -> None:
        for name in names:
            scoped = (cookies.sign_in, cookies.refresh_token, cookies.device)
            path = prefix or "/" if name in scoped else "/"
            response.delete_cookie(
                name, path=path, secure=secure_cookies, httponly=True, samesite="strict"
            )

    async def outcome_response(
        outcome: Outcome, remember: bool = False, device_name: str | None = None
    ) -> Response:
        if isinstance(outcome, SignedIn):
            body: dict[str, Any] = {"status": "signed_in"}
            sealed: str | None = None
            if remember:
                sealed = await remembered(outcome.tokens, device_name)
                body["device_remembered"] = sealed is not None
            response: Response = JSONResponse(body)
            set_tokens(response, outcome.tokens)
            clear(response, cookies.sign_in)
            if sealed is not None:
                set_cookie(response, cookies.device, sealed, device_max_age, prefix or "/")
            return response
        assert isinstance(outcome, ChallengePending)
        challenge = outcome.public()
        if outcome.rejected is not None:
            response = problem_response(outcome.rejected, sign_in_open=True, challenge=challenge)
        else:
            response = JSONResponse({"status": "challenge", "challenge": challenge})
        set_cookie(response, cookies.sign_in, outcome.handle, round(sign_in.ttl), prefix or "/")
        return response

    async def remembered(tokens: CognitoUserSession, device_name: str | None) -> str | None:
        # the user is signed in whatever happens here: a device that cannot be remembered
        # (the pool does not track devices, Cognito refused) only means MFA next time
        username = tokens.username
        if tokens.new_device is None or username is None:
            return None
        try:
            credentials = await sign_in.remember_device(tokens, device_name)
        except CognitoError:
            return None
        return sign_in.seal_device(credentials, username, aliases=login_names(tokens))

    def device_of(request: Request, username: str) -> tuple[DeviceCredentials | None, bool]:
        """The browser's remembered device for ``username``, and whether to drop the cookie."""
        sealed = request.cookies.get(cookies.device)
        if not sealed:
            return None, False
        try:
            return sign_in.open_device(sealed, username), False
        except SignInStateRefused:
            return None, True  # not ours or damaged: never sent, dropped

    def owned_exactly(request: Request, username: str) -> bool:
        # only called once the cookie has opened for ``username``, so it is there and intact
        sealed = request.cookies.get(cookies.device)
        if not sealed:
            return False
        return sign_in.open_device(sealed, username, ignore_case=False) is not None

    def failed(error: BaseException) -> Response:
        response = problem_response(error, sign_in_open=False)
        if not isinstance(error, SignInAlreadyAnswered):
            # the sign-in is over; after a lost race the winner's answer sets the cookie
            clear(response, cookies.sign_in)
        return response

    def handle_of(request: Request) -> str:
        handle = request.cookies.get(cookies.sign_in)
        if not handle:
            from ..web import SignInExpired

            raise _Problem(failed(SignInExpired("no sign-in in progress")))
        return handle

    async def guarded(
        step: Callable[[], Awaitable[Response]], request: Request | None = None
    ) -> Response:
        # request given: a state-changing call, refused without the CSRF token
        if request is not None and (refused := csrf_problem(request, cookies)) is not None:
            return refused
        try:
            return await step()
        except _Problem as problem:
            return problem.response

    # --- sign-in ---------------------------------------------------------------------------

    @router.get("/csrf")
    async def csrf_token(request: Request) -> Response:
        """The CSRF token to send in ``X-CSRF-Token`` (also set as a cookie)."""
        token = request.cookies.get(cookies.csrf) or secrets.token_urlsafe(32)
        response = JSONResponse({"csrf_token": token})
        response.set_cookie(
            cookies.csrf, token, path="/", secure=secure_cookies, httponly=False, samesite="strict"
        )
        return response

    @router.post("/login")
    async def login(request: Request) -> Response:
        async def step() -> Response:
            body = await _parse(request, LoginBody)
            previous = request.cookies.get(cookies.sign_in)
            device, drop = device_of(request, body.username)
            try:
                if previous:  # a new sign-in replaces one left unfinished
                    await sign_in.discard(previous)
                try:
                    outcome = await sign_in.start(body.username, body.password, device=device)
                except DeviceNotFound:
                    # Forgotten since (by the user, an admin): sign in without it, and drop it,
                    # unless it matched only in another case: then the typed name may be
                    # another user of a case-sensitive pool, and the cookie its owner's.
                    drop = drop or owned_exactly(request, body.username)
                    outcome = await sign_in.start(body.username, body.password)
                response = await outcome_response(outcome, body.remember_device, body.device_name)
            except CognitoError as exc:
                response = failed(exc)
            renewed = any(
                value.startswith(cookies.device + "=")
                for value in response.headers.getlist("set-cookie")
            )
            if drop and not renewed:
                clear(response, cookies.device)
            return response

        return await guarded(step, request)

    @router.post("/login/answer")
    async def login_answer(request: Request) -> Response:
        async def step() -> Response:
            body = await _parse(request, AnswerBody)
            handle = handle_of(request)
            try:
                outcome = await sign_in.answer(
                    handle,
                    code=body.code,
                    mfa_type=body.mfa_type,
                    new_password=body.new_password,
                    attributes=body.attributes,
                    friendly_device_name=body.friendly_device_name,
                )
            except InvalidInput as exc:
                return problem_response(exc, sign_in_open=True)  # nothing was taken
            except CognitoError as exc:
                return failed(exc)
            return await outcome_response(outcome, body.remember_device, body.device_name)

        return await guarded(step, request)

    @router.post("/login/totp")
    async def login_totp(request: Request) -> Response:
        async def step() -> Response:
            handle = handle_of(request)
            try:
                setup = await sign_in.totp_setup(handle)
            except CognitoError as exc:
                return failed(exc)
            if isinstance(setup, ChallengePending):
                return await outcome_response(setup)
            response = JSONResponse(_totp_body(setup.secret, setup.username, totp_issuer))
            set_cookie(response, cookies.sign_in, setup.handle, round(sign_in.ttl), prefix or "/")
            return response

        return await guarded(step, request)

    # --- the signed-in user ------------------------------------------------------------------

    def tokens_of(request: Request) -> CognitoUserSession:
        access = request.cookies.get(cookies.access_token)
        id_token = request.cookies.get(cookies.id_token)
        if not access or not id_token:
            raise _Problem(problem_response(TokenRevoked("not signed in")))
        refresh = request.cookies.get(cookies.refresh_token)
        return CognitoUserSession(
            id_token=id_token,  # pydantic wraps them in SecretStr
            access_token=access,
            refresh_token=refresh,
            expires_at=datetime.now(UTC),
        )

    async def as_user(
        request: Request, call: Callable[[CognitoUser], Awaitable[dict[str, Any]]]
    ) -> Response:
        async def step() -> Response:
            user = pool.user(tokens_of(request))
            before = user.tokens
            try:
                response: Response = JSONResponse(await call(user))
            except NotAuthorized as exc:
                # the token cookies were refused: "not signed in", never "wrong password"
                response = problem_response(TokenRevoked(exc.message, code=exc.error_code))
            except CognitoError as exc:
                response = problem_response(exc)
            if user.tokens is not before:  # refreshed on the way: keep the new tokens
                set_tokens(response, user.tokens)
            return response

        return await guarded(step)

    @router.get("/me")
    async def me(request: Request) -> Response:
        async def step() -> Response:
            token = request.cookies.get(cookies.access_token)
            if not token:
                return problem_response(TokenRevoked("not signed in"))
            try:
                verified = await verifier.verify(token)
            except CognitoError as exc:
                return problem_response(exc)
            return JSONResponse(
                {"username": verified.username, "sub": verified.sub, "claims": verified.claims}
            )

        return await guarded(step)

    @router.post("/logout")
    async def logout(request: Request) -> Response:
        async def step() -> Response:
            handle = request.cookies.get(cookies.sign_in)
            response: Response = JSONResponse({"status": "signed_out"})
            try:
                if handle:
                    await sign_in.discard(handle)
            except CognitoError as exc:
                return problem_response(exc)
            if request.cookies.get(cookies.access_token):
                user = pool.user(tokens_of(request))
                try:
                    if user.tokens.refresh_token is not None:
                        # this browser's session only, as Amplify's signOut() does
                        await user.revoke_token()
                    else:
                        await user.global_sign_out()
                except TokenRevoked:
                    pass  # signed out already: the cookies go all the same
                except CognitoError as exc:
                    return problem_response(exc)  # keep the cookies: nothing was revoked
            clear(
                response,
                cookies.sign_in,
                cookies.id_token,
                cookies.access_token,
                cookies.refresh_token,
            )
            return response

        return await guarded(step, request)

    async def mfa_state(user: CognitoUser) -> dict[str, Any]:
        data = await user.get_user_data()
        return {
            "enabled": [factor.value for factor in data.enabled_mfa],
            "preferred": data.preferred_mfa.value if data.preferred_mfa else None,
        }

    @router.get("/mfa")
    async def get_mfa(request: Request) -> Response:
        return await as_user(request, mfa_state)

    @router.put("/mfa")
    async def put_mfa(request: Request) -> Response:
        async def step() -> Response:
            body = await _parse(request, MfaBody)

            async def change(user: CognitoUser) -> dict[str, Any]:
                settings = {
                    name: MfaSettings(enabled=factor.enabled, preferred=factor.preferred)
                    for name, factor in (
                        ("sms", body.sms),
                        ("software_token", body.software_token),
                        ("email", body.email),
                    )
                    if factor is not None
                }
                await user.set_user_mfa_preference(**settings)
                return await mfa_state(user)

            return await as_user(request, change)

        return await guarded(step, request)

    @router.post("/totp")
    async def totp(request: Request) -> Response:
        async def associate(user: CognitoUser) -> dict[str, Any]:
            secret = await user.associate_software_token()
            name = user.tokens.username or "user"
            return _totp_body(secret, name, totp_issuer)

        return await guarded(lambda: as_user(request, associate), request)

    @router.post("/totp/verify")
    async def totp_verify(request: Request) -> Response:
        async def step() -> Response:
            body = await _parse(request, TotpVerifyBody)

            async def verify(user: CognitoUser) -> dict[str, Any]:
                await user.verify_software_token(body.code, body.friendly_device_name)
                return {"status": "verified"}

            return await as_user(request, verify)

        return await guarded(step, request)

    # --- devices ----------------------------------------------------------------------------

    def this_device(request: Request, user: CognitoUser) -> str | None:
        username = user.tokens.username
        if username is None:
            return None
        device, _ = device_of(request, username)
        return None if device is None else device.device_key

    @router.get("/devices")
    async def devices(request: Request) -> Response:
        async def listed(user: CognitoUser) -> dict[str, Any]:
            current = this_device(request, user)
            return {
                "devices": [
                    {
                        "device_key": device.device_key,
                        "name": device.name,
                        "remembered": device.remembered,
                        "last_authenticated_at": _when(device.last_authenticated_at),
                        "created_at": _when(device.created_at),
                        "this_device": device.device_key == current,
                    }
                    for device in await user.list_devices()
                ]
            }

        return await as_user(request, listed)

    @router.delete("/devices/{device_key}")
    async def forget(request: Request, device_key: str) -> Response:
        async def step() -> Response:
            forgotten_here = False

            async def forget_it(user: CognitoUser) -> dict[str, Any]:
                nonlocal forgotten_here
                await user.forget_device(device_key)
                forgotten_here = device_key == this_device(request, user)
                return {"status": "forgotten"}

            response = await as_user(request, forget_it)
            if forgotten_here:
                clear(response, cookies.device)
            return response

        return await guarded(step, request)

    return router


def _token_cookie_age(sign_in: WebSignIn, given: int | None) -> int:
    """The token cookies' Max-Age: ``given``, else the refresh token's validity."""
    if given is not None:
        return given
    if sign_in.client_settings is not None:
        return int(sign_in.client_settings.refresh_token_validity.total_seconds())
    return _DEFAULT_TOKEN_AGE


def _when(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _totp_body(secret: Any, account_name: str, issuer: str) -> dict[str, Any]:
    return {
        "otpauth_uri": secret.provisioning_uri(account_name, issuer),
        "qr_svg": secret.qr_svg(account_name, issuer),
    }
