"""The example web app's routes: :func:`create_app` serves the pages over :class:`WebSignIn`.

Each POST answers with the next page (or a redirect to it). A sign-in in progress is the
random handle of its sealed state in :class:`WebSignIn`'s store, kept in a cookie; the tokens,
once signed in, are cookies too, and a remembered browser keeps its sealed device credentials
in one. Cookies are HttpOnly and SameSite=Strict, Secure unless
``secure_cookies=False`` (plain http); every form carries the double-submit CSRF token.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final
from urllib.parse import parse_qs

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from cognito_mfa import (
    CognitoError,
    CognitoUserSession,
    DeviceNotFound,
    MfaSettings,
    NotAuthorized,
    TokenRevoked,
    TokenVerifier,
)
from cognito_mfa.web import (
    ChallengePending,
    Outcome,
    SignedIn,
    SignInStateRefused,
    WebSignIn,
    login_names,
    problem_for,
)

from .pages import FACTORS, account_page, challenge_page, sign_in_page, totp_page

__all__ = ["create_app"]

#: The name an authenticator app shows next to the user's code.
_ISSUER: Final = "cognito_mfa web demo"
#: Cookie lifetimes (seconds): the tokens (unless told) and the CSRF token; a remembered
#: browser.
_SESSION_AGE: Final = 30 * 24 * 3600
_DEVICE_AGE: Final = 365 * 24 * 3600
#: A larger form body is refused before it is parsed.
_MAX_FORM: Final = 16 * 1024


@dataclass(frozen=True)
class _Cookies:
    """The cookies' names (all HttpOnly, SameSite=Strict)."""

    sign_in: str = "demo_sign_in"
    id_token: str = "demo_id"
    access_token: str = "demo_access"
    refresh_token: str = "demo_refresh"
    device: str = "demo_device"
    csrf: str = "demo_csrf"


_C: Final = _Cookies()


class _Refused(Exception):
    """A form failed its CSRF check or is malformed."""


def create_app(
    sign_in: WebSignIn,
    verifier: TokenVerifier,
    *,
    secure_cookies: bool = True,
    session_max_age: int = _SESSION_AGE,
    lifespan: Callable[[FastAPI], Any] | None = None,
) -> FastAPI:
    """The demo's pages over ``sign_in`` (its pool open while serving: do it in ``lifespan``).

    ``verifier`` checks the access token of the account page. ``secure_cookies=False`` only
    for plain http. ``session_max_age``: how long the token cookies live, in seconds (the
    app client's refresh token validity; Cognito's default is 30 days).
    """
    app = FastAPI(lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None)
    pool = sign_in.pool

    def set_cookie(response: Response, name: str, value: str, max_age: int) -> None:
        response.set_cookie(
            name, value, max_age=max_age, path="/", secure=secure_cookies, httponly=True,
            samesite="strict",
        )  # fmt: skip

    def clear(response: Response, *names: str) -> None:
        for name in names:
            response.delete_cookie(
                name, path="/", secure=secure_cookies, httponly=True, samesite="strict"
            )

    def csrf_of(request: Request) -> str:
        # one token per request: the page's forms and the cookie set with it must agree
        token: str | None = getattr(request.state, "csrf", None)
        if token is None:
            token = request.cookies.get(_C.csrf) or secrets.token_urlsafe(32)
            request.state.csrf = token
        return token

    def html_response(request: Request, text: str, status: int = 200) -> Response:
        response = HTMLResponse(text, status_code=status)
        token = csrf_of(request)
        if not request.cookies.get(_C.csrf):  # a first visit: the token is new
            set_cookie(response, _C.csrf, token, _SESSION_AGE)
        return response

    @app.exception_handler(_Refused)
    async def refused(request: Request, exc: Exception) -> Response:
        # a form that failed its CSRF check or could not be read: the sign-in page again
        return html_response(request, sign_in_page(csrf_of(request), str(exc)), 403)

    async def form_of(request: Request) -> dict[str, str]:
        """The posted form, its CSRF token checked; raises _Refused (see ``refused``)."""
        raw = await request.body()
        if len(raw) > _MAX_FORM:
            raise _Refused("the form is too large")
        try:
            parsed = parse_qs(raw.decode("utf-8"), keep_blank_values=True, strict_parsing=False)
        except UnicodeError:
            raise _Refused("the form is not UTF-8") from None
        form = {name: values[-1] for name, values in parsed.items()}
        cookie = request.cookies.get(_C.csrf, "")
        given = form.get("csrf", "")
        if not (cookie and given and hmac.compare_digest(cookie.encode(), given.encode())):
            raise _Refused("the form expired: reload the page and try again")
        return form

    def tokens_of(request: Request) -> CognitoUserSession | None:
        access = request.cookies.get(_C.access_token)
        id_token = request.cookies.get(_C.id_token)
        if not access or not id_token:
            return None
        return CognitoUserSession(
            id_token=id_token,
            access_token=access,
            refresh_token=request.cookies.get(_C.refresh_token),
            expires_at=datetime.now(UTC),
        )

    def set_tokens(response: Response, tokens: CognitoUserSession) -> None:
        age = session_max_age
        set_cookie(response, _C.id_token, tokens.id_token.get_secret_value(), age)
        set_cookie(response, _C.access_token, tokens.access_token.get_secret_value(), age)
        if tokens.refresh_token is not None:
            set_cookie(response, _C.refresh_token, tokens.refresh_token.get_secret_value(), age)

    def device_key_here(request: Request, username: str) -> str | None:
        sealed = request.cookies.get(_C.device)
        if not sealed:
            return None
        try:
            device = sign_in.open_device(sealed, username)
        except SignInStateRefused:
            return None
        return None if device is None else device.device_key

    async def outcome(request: Request, result: Outcome, remember: bool = False) -> Response:
        if isinstance(result, SignedIn):
            response: Response = RedirectResponse("/account", status_code=303)
            set_tokens(response, result.tokens)
            clear(response, _C.sign_in)
            username = result.tokens.username
            if remember and result.tokens.new_device is not None and username is not None:
                agent = request.headers.get("user-agent", "")[:60] or "a browser"
                try:
                    credentials = await sign_in.remember_device(result.tokens, agent)
                except CognitoError:
                    pass  # signed in all the same: the code is asked next time
                else:
                    # also the e-mail address or phone number the user may type next time
                    aliases = login_names(result.tokens)
                    sealed = sign_in.seal_device(credentials, username, aliases=aliases)
                    set_cookie(response, _C.device, sealed, _DEVICE_AGE)
            return response
        status = 200 if result.rejected is None else problem_for(result.rejected).status
        response = html_response(request, challenge_page(result, csrf_of(request)), status)
        set_cookie(response, _C.sign_in, result.handle, round(sign_in.ttl))
        return response

    def failed(request: Request, error: BaseException) -> Response:
        problem = problem_for(error)
        response = html_response(
            request, sign_in_page(csrf_of(request), problem.detail), problem.status
        )
        clear(response, _C.sign_in)
        return response

    @app.get("/")
    async def home(request: Request) -> Response:
        if request.cookies.get(_C.access_token):
            return RedirectResponse("/account", status_code=303)
        return html_response(request, sign_in_page(csrf_of(request)))

    @app.post("/sign-in")
    async def post_sign_in(request: Request) -> Response:
        form = await form_of(request)
        username, password = form.get("username", ""), form.get("password", "")
        previous = request.cookies.get(_C.sign_in)
        drop = False
        device = None
        if sealed := request.cookies.get(_C.device):
            try:
                device = sign_in.open_device(sealed, username)
            except SignInStateRefused:
                drop = True
        try:
            if previous:
                await sign_in.discard(previous)
            try:
                result = await sign_in.start(username, password, device=device)
            except DeviceNotFound:
                # forgotten since: sign in without it, and drop it unless the name matched only
                # in another case (maybe another user of a case-sensitive pool: the owner keeps it)
                drop = sealed is not None and (
                    sign_in.open_device(sealed, username, ignore_case=False) is not None
                )
                result = await sign_in.start(username, password)
            response = await outcome(request, result)
        except CognitoError as exc:
            response = failed(request, exc)
        if drop:
            clear(response, _C.device)
        return response

    @app.post("/sign-in/answer")
    async def post_answer(request: Request) -> Response:
        form = await form_of(request)
        handle = request.cookies.get(_C.sign_in, "")
        code, mfa_type, new_password = (
            form.get("code") or None, form.get("mfa_type") or None, form.get("new_password") or None
        )  # fmt: skip
        try:
            result = await sign_in.answer(
                handle, code=code, mfa_type=mfa_type, new_password=new_password
            )
        except CognitoError as exc:
            return failed(request, exc)
        return await outcome(request, result, remember=form.get("remember_device") == "1")

    @app.post("/sign-in/totp")
    async def post_totp(request: Request) -> Response:
        await form_of(request)
        try:
            setup = await sign_in.totp_setup(request.cookies.get(_C.sign_in, ""))
        except CognitoError as exc:
            return failed(request, exc)
        if isinstance(setup, ChallengePending):
            return await outcome(request, setup)
        uri = setup.secret.provisioning_uri(setup.username, _ISSUER)
        try:
            svg: str | None = setup.secret.qr_svg(setup.username, _ISSUER)
        except CognitoError:
            svg = None
        response = html_response(request, totp_page(csrf_of(request), uri, _inline(svg)))
        set_cookie(response, _C.sign_in, setup.handle, round(sign_in.ttl))
        return response

    async def account(request: Request, error: str | None = None) -> Response:
        tokens = tokens_of(request)
        if tokens is None:
            return RedirectResponse("/", status_code=303)
        try:
            verified = await verifier.verify(tokens.access_token.get_secret_value())
            user = pool.user(tokens)
            data = await user.get_user_data()
            listed = await user.list_devices()
        except CognitoError as exc:
            if isinstance(exc, NotAuthorized | TokenRevoked) or problem_for(exc).status == 401:
                # the token cookies were refused: sign in again (a page, not a redirect to
                # "/", which would send the same cookies straight back here)
                again = sign_in_page(csrf_of(request), "Your session ended: sign in again.")
                response = html_response(request, again, 401)
                clear(response, _C.id_token, _C.access_token, _C.refresh_token)
                return response
            return html_response(
                request, sign_in_page(csrf_of(request), problem_for(exc).detail), 503
            )
        username = verified.username or tokens.username or ""
        here = device_key_here(request, username)
        devices = [
            {
                "device_key": device.device_key,
                "name": device.name,
                "this_device": device.device_key == here,
                "last": device.last_authenticated_at.isoformat(timespec="seconds")
                if device.last_authenticated_at
                else None,
            }
            for device in listed
        ]
        page = account_page(
            csrf_of(request),
            username,
            [factor.value for factor in data.enabled_mfa],
            data.preferred_mfa.value if data.preferred_mfa else None,
            devices,
            error,
        )
        response = html_response(request, page)
        if user.tokens is not tokens:  # refreshed on the way
            set_tokens(response, user.tokens)
        return response

    @app.get("/account")
    async def get_account(request: Request) -> Response:
        return await account(request)

    @app.post("/account/mfa")
    async def post_mfa(request: Request) -> Response:
        form = await form_of(request)
        tokens = tokens_of(request)
        if tokens is None:
            return RedirectResponse("/", status_code=303)
        settings = {
            name: MfaSettings(enabled=form[name] != "off", preferred=form[name] == "preferred")
            for name, _ in FACTORS
            if form.get(name) in ("off", "on", "preferred")
        }
        try:
            await pool.user(tokens).set_user_mfa_preference(**settings)
        except CognitoError as exc:
            return await account(request, problem_for(exc).detail)
        return RedirectResponse("/account", status_code=303)

    @app.post("/account/devices/forget")
    async def post_forget(request: Request) -> Response:
        form = await form_of(request)
        tokens = tokens_of(request)
        if tokens is None:
            return RedirectResponse("/", status_code=303)
        key = form.get("device_key", "")
        try:
            await pool.user(tokens).forget_device(key)
        except CognitoError as exc:
            return await account(request, problem_for(exc).detail)
        response: Response = RedirectResponse("/account", status_code=303)
        here = None if tokens.username is None else device_key_here(request, tokens.username)
        if here is not None and hmac.compare_digest(here.encode(), key.encode()):
            clear(response, _C.device)
        return response

    @app.post("/sign-out")
    async def post_sign_out(request: Request) -> Response:
        await form_of(request)
        tokens = tokens_of(request)
        if tokens is not None:
            user = pool.user(tokens)
            try:
                if tokens.refresh_token is not None:
                    await user.revoke_token()  # this browser only
                else:
                    await user.global_sign_out()
            except TokenRevoked:
                pass  # signed out already
            except CognitoError as exc:
                return await account(request, problem_for(exc).detail)
        response: Response = RedirectResponse("/", status_code=303)
        # the remembered device stays: signing out does not forget the browser
        clear(response, _C.sign_in, _C.id_token, _C.access_token, _C.refresh_token)
        return response

    return app


def _inline(svg: str | None) -> str | None:
    # the SVG document without its XML declaration, to sit inside the page
    if svg is None:
        return None
    start = svg.find("<svg")
    return svg[start:] if start >= 0 else None
