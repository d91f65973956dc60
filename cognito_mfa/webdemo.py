"""The example web application: plain server-rendered HTML pages over :class:`WebSignIn`.

``python -m cognito_mfa web-demo --port P`` serves it with uvicorn. The pages: sign-in, the
code page (SMS, TOTP, e-mail, with "remember this browser"), the choice page (SELECT_MFA_TYPE,
MFA_SETUP), the TOTP set-up page with its QR code, the new-password page, and the account page
(MFA settings, remembered devices, sign-out). Each POST answers with the next page, so the
pages work without any script.

Without ``--endpoint-url`` it runs on the embedded emulator, with a demo pool (MFA required,
TOTP only, devices remembered) and a demo user made at start-up and printed. With
``--endpoint-url --pool-id --client-id`` and ``--redis-url`` several processes serve one
Cognito (or served emulator) and share one store: run them with the same
``COGNITO_MFA_APP_KEY``.

Cookies are HttpOnly and SameSite=Strict; they are Secure unless the demo serves plain http
(``--insecure-cookies``, the default on the loopback interface). Every form carries the
double-submit CSRF token.
"""

from __future__ import annotations

import argparse
import hmac
import html
import os
import secrets
import socket
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final
from urllib.parse import parse_qs

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from .challenges import (
    MfaCodeChallenge,
    MfaSetupChallenge,
    NewPasswordRequiredChallenge,
    SelectMfaTypeChallenge,
)
from .errors import CognitoError, DeviceNotFound, NotAuthorized, TokenRevoked
from .models import CognitoUserSession, MfaType
from .preferences import MfaSettings
from .verify import TokenVerifier
from .web import (
    APP_KEY_ENV,
    AppKey,
    ChallengePending,
    Outcome,
    RedisFlowStore,
    SignedIn,
    SignInStateRefused,
    WebSignIn,
    problem_for,
)

__all__ = ["DEMO_PASSWORD", "DEMO_USERNAME", "create_app", "main"]

DEMO_USERNAME: Final = "alice"
#: The embedded demo user's password (a demo on a throw-away emulator, printed at start-up).
DEMO_PASSWORD: Final = "Correct-Horse-9"
_ISSUER: Final = "cognito_mfa web demo"
_SESSION_AGE: Final = 30 * 24 * 3600
_DEVICE_AGE: Final = 365 * 24 * 3600
_MAX_FORM: Final = 16 * 1024
_FACTORS: Final = (("software_token", "Authenticator app (TOTP)"), ("sms", "Text message"),
                   ("email", "E-mail"))  # fmt: skip
_LABELS: Final = {
    "SOFTWARE_TOKEN_MFA": "Authenticator app",
    "SMS_MFA": "Text message",
    "EMAIL_OTP": "E-mail",
}


@dataclass(frozen=True)
class _Cookies:
    sign_in: str = "demo_sign_in"
    id_token: str = "demo_id"
    access_token: str = "demo_access"
    refresh_token: str = "demo_refresh"
    device: str = "demo_device"
    csrf: str = "demo_csrf"


_C: Final = _Cookies()


# --- pages -------------------------------------------------------------------------------------


def _page(title: str, body: str, *, error: str | None = None) -> str:
    notice = f'<p class="error" role="alert">{html.escape(error)}</p>' if error else ""
    return (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        f"<title>{html.escape(title)}</title>"
        '<meta name=viewport content="width=device-width">'
        "<style>body{font-family:sans-serif;max-width:36em;margin:2em auto}"
        ".error{color:#a00}label{display:block;margin:.5em 0}</style></head>"
        f"<body><h1>{html.escape(title)}</h1>{notice}{body}</body></html>"
    )


def _form(action: str, csrf: str, fields: str, button: str, *, form_id: str = "") -> str:
    ident = f' id="{form_id}"' if form_id else ""
    return (
        f'<form method=post action="{action}"{ident}>'
        f'<input type=hidden name=csrf value="{html.escape(csrf)}">{fields}'
        f"<button type=submit>{html.escape(button)}</button></form>"
    )


def _sign_in_page(csrf: str, error: str | None = None) -> str:
    fields = (
        "<label>User name <input name=username id=username autocomplete=username required></label>"
        "<label>Password <input name=password id=password type=password "
        "autocomplete=current-password required></label>"
    )
    return _page(
        "Sign in", _form("/sign-in", csrf, fields, "Sign in", form_id="sign-in"), error=error
    )


def _remember_box() -> str:
    return (
        "<label><input type=checkbox name=remember_device value=1 id=remember_device> "
        "Remember this browser (no code next time)</label>"
    )


def _challenge_page(pending: ChallengePending, csrf: str) -> str:
    challenge = pending.challenge
    error = None if pending.rejected is None else problem_for(pending.rejected).detail
    if isinstance(challenge, MfaCodeChallenge):
        public = pending.public()
        where = f" sent to {public['destination']}" if public.get("destination") else ""
        label = _LABELS.get(challenge.challenge_name, "Code")
        fields = (
            f"<p>{html.escape(label)}: enter the code{html.escape(where)}.</p>"
            "<label>Code <input name=code id=code inputmode=numeric autocomplete=one-time-code "
            "required></label>" + _remember_box()
        )
        body = _form("/sign-in/answer", csrf, fields, "Continue", form_id="code-form")
        return _page("Enter your code", body, error=error)
    if isinstance(challenge, SelectMfaTypeChallenge):
        buttons = "".join(
            _form(
                "/sign-in/answer",
                csrf,
                f'<input type=hidden name=mfa_type value="{option.value}">',
                _LABELS.get(option.value, option.value),
                form_id=f"choose-{option.value}",
            )
            for option in challenge.options
        )
        return _page("Choose how to confirm it is you", buttons, error=error)
    if isinstance(challenge, MfaSetupChallenge):
        if MfaType.SOFTWARE_TOKEN_MFA in challenge.options:
            body = "<p>This account needs a second factor. Set up an authenticator app.</p>"
            body += _form("/sign-in/totp", csrf, "", "Set up an authenticator app", form_id="setup")
        else:
            body = "<p>This demo sets up authenticator apps only.</p>"
        return _page("Set up two-factor sign-in", body, error=error)
    assert isinstance(challenge, NewPasswordRequiredChallenge)
    fields = (
        "<label>New password <input name=new_password id=new_password type=password "
        "autocomplete=new-password required></label>"
    )
    body = _form("/sign-in/answer", csrf, fields, "Set the password", form_id="new-password")
    return _page("Choose a new password", body, error=error)


def _totp_page(csrf: str, uri: str, svg: str | None, error: str | None = None) -> str:
    qr = svg if svg is not None else "<p>(install cognito-mfa[qr] for the QR code)</p>"
    fields = (
        "<label>Code from the app <input name=code id=code inputmode=numeric required></label>"
        + _remember_box()
    )
    body = (
        "<p>Scan the QR code with your authenticator app, then enter the code it shows.</p>"
        f"<div id=qr>{qr}</div><p>Or enter this key by hand: <code id=otpauth>{html.escape(uri)}"
        "</code></p>" + _form("/sign-in/answer", csrf, fields, "Verify", form_id="code-form")
    )
    return _page("Set up your authenticator app", body, error=error)


def _account_page(
    csrf: str,
    username: str,
    enabled: list[str],
    preferred: str | None,
    devices: list[dict[str, Any]],
    error: str | None = None,
) -> str:
    rows = []
    for name, label in _FACTORS:
        wire = {"software_token": "SOFTWARE_TOKEN_MFA", "sms": "SMS_MFA", "email": "EMAIL_OTP"}
        state = (
            "preferred" if preferred == wire[name] else ("on" if wire[name] in enabled else "off")
        )
        options = "".join(
            f"<option value={value}{' selected' if value == state else ''}>{value}</option>"
            for value in ("off", "on", "preferred")
        )
        rows.append(f"<label>{label} <select name={name} id=mfa-{name}>{options}</select></label>")
    mfa = _form("/account/mfa", csrf, "".join(rows), "Save MFA settings", form_id="mfa")
    device_rows = "".join(
        "<li>"
        + html.escape(device["name"] or device["device_key"])
        + (" (this browser)" if device["this_device"] else "")
        + (f", last used {html.escape(device['last'])}" if device["last"] else "")
        + _form(
            "/account/devices/forget",
            csrf,
            f'<input type=hidden name=device_key value="{html.escape(device["device_key"])}">',
            "Forget",
        )
        + "</li>"
        for device in devices
    )
    body = (
        f"<p>Signed in as <strong id=username>{html.escape(username)}</strong>.</p>"
        f"<h2>Two-factor sign-in</h2>{mfa}"
        f"<h2>Remembered browsers</h2><ul id=devices>{device_rows or '<li>none</li>'}</ul>"
        + _form("/sign-out", csrf, "", "Sign out", form_id="sign-out")
    )
    return _page("Your account", body, error=error)


# --- the application ---------------------------------------------------------------------------


class _Refused(Exception):
    """A form failed its CSRF check or is malformed."""


def create_app(
    sign_in: WebSignIn,
    verifier: TokenVerifier,
    *,
    secure_cookies: bool = True,
    lifespan: Callable[[FastAPI], Any] | None = None,
) -> FastAPI:
    """The demo's pages over ``sign_in`` (its pool open while serving: do it in ``lifespan``).

    ``verifier`` checks the access token of the account page. ``secure_cookies=False`` only
    for plain http.
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

    async def form_of(request: Request) -> dict[str, str]:
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

    def refused(request: Request, reason: str) -> Response:
        return html_response(request, _sign_in_page(csrf_of(request), reason), 403)

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
        set_cookie(response, _C.id_token, tokens.id_token.get_secret_value(), _SESSION_AGE)
        set_cookie(response, _C.access_token, tokens.access_token.get_secret_value(), _SESSION_AGE)
        if tokens.refresh_token is not None:
            refresh = tokens.refresh_token.get_secret_value()
            set_cookie(response, _C.refresh_token, refresh, _SESSION_AGE)

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
                    sealed = sign_in.seal_device(credentials, username)
                    set_cookie(response, _C.device, sealed, _DEVICE_AGE)
            return response
        status = 200 if result.rejected is None else problem_for(result.rejected).status
        response = html_response(request, _challenge_page(result, csrf_of(request)), status)
        set_cookie(response, _C.sign_in, result.handle, round(sign_in.ttl))
        return response

    def failed(request: Request, error: BaseException) -> Response:
        problem = problem_for(error)
        response = html_response(
            request, _sign_in_page(csrf_of(request), problem.detail), problem.status
        )
        clear(response, _C.sign_in)
        return response

    @app.get("/")
    async def home(request: Request) -> Response:
        if request.cookies.get(_C.access_token):
            return RedirectResponse("/account", status_code=303)
        return html_response(request, _sign_in_page(csrf_of(request)))

    @app.post("/sign-in")
    async def post_sign_in(request: Request) -> Response:
        try:
            form = await form_of(request)
        except _Refused as exc:
            return refused(request, str(exc))
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
                drop = True  # forgotten since: sign in without it
                result = await sign_in.start(username, password)
            response = await outcome(request, result)
        except CognitoError as exc:
            response = failed(request, exc)
        if drop:
            clear(response, _C.device)
        return response

    @app.post("/sign-in/answer")
    async def post_answer(request: Request) -> Response:
        try:
            form = await form_of(request)
        except _Refused as exc:
            return refused(request, str(exc))
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
        try:
            await form_of(request)
        except _Refused as exc:
            return refused(request, str(exc))
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
        response = html_response(request, _totp_page(csrf_of(request), uri, _inline(svg)))
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
                again = _sign_in_page(csrf_of(request), "Your session ended: sign in again.")
                response = html_response(request, again, 401)
                clear(response, _C.id_token, _C.access_token, _C.refresh_token)
                return response
            return html_response(
                request, _sign_in_page(csrf_of(request), problem_for(exc).detail), 503
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
        page = _account_page(
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
        try:
            form = await form_of(request)
        except _Refused as exc:
            return refused(request, str(exc))
        tokens = tokens_of(request)
        if tokens is None:
            return RedirectResponse("/", status_code=303)
        settings = {
            name: MfaSettings(enabled=form[name] != "off", preferred=form[name] == "preferred")
            for name, _ in _FACTORS
            if form.get(name) in ("off", "on", "preferred")
        }
        try:
            await pool.user(tokens).set_user_mfa_preference(**settings)
        except CognitoError as exc:
            return await account(request, problem_for(exc).detail)
        return RedirectResponse("/account", status_code=303)

    @app.post("/account/devices/forget")
    async def post_forget(request: Request) -> Response:
        try:
            form = await form_of(request)
        except _Refused as exc:
            return refused(request, str(exc))
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
        try:
            await form_of(request)
        except _Refused as exc:
            return refused(request, str(exc))
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


# --- the command -------------------------------------------------------------------------------


def main(args: argparse.Namespace, say: Callable[[str], None] = print) -> int:
    """Run the demo server until interrupted; returns the exit status."""
    import anyio
    import httpx
    import uvicorn

    from .pool import UserPool

    if (args.pool_id is None) != (args.client_id is None):
        say("error: --pool-id and --client-id go together")
        return 1
    if args.endpoint_url and args.pool_id is None:
        say("error: --endpoint-url needs --pool-id and --client-id")
        return 1
    secret = None
    if args.client_secret_env:
        secret = os.environ.get(args.client_secret_env)
        if not secret:
            say(f"error: the environment variable {args.client_secret_env} is not set")
            return 1
    if os.environ.get(APP_KEY_ENV):
        key = AppKey.from_env()
    else:
        key = AppKey.from_base64(AppKey.generate())
        say(
            f"{APP_KEY_ENV} is not set: using a fresh random key (sign-ins and remembered "
            "browsers do not outlive this process nor move to other replicas)"
        )

    if args.pool_id is not None:
        pool = UserPool(args.pool_id, args.client_id, secret, endpoint_url=args.endpoint_url)
        http = httpx.AsyncClient()
        jwks = None
        if args.endpoint_url:
            jwks = f"{args.endpoint_url.rstrip('/')}/{args.pool_id}/.well-known/jwks.json"
    else:
        from .testing.inprocess import EMULATOR_ENDPOINT, emulator_app, httpx_client_config
        from .testing.service import Emulator

        emulator = Emulator()
        pool_id, client_id = anyio.run(_seed, emulator)
        say(f"embedded emulator: pool {pool_id}, app client {client_id}")
        say(f"demo user: {DEMO_USERNAME} / {DEMO_PASSWORD} (sets up an authenticator app)")
        pool = UserPool(
            pool_id,
            client_id,
            endpoint_url=EMULATOR_ENDPOINT,
            botocore_config=httpx_client_config(emulator),
            aws_access_key_id="demo",  # the emulator accepts any signature
            aws_secret_access_key="demo",
        )
        http = httpx.AsyncClient(transport=httpx.ASGITransport(emulator_app(emulator)))
        jwks = f"{EMULATOR_ENDPOINT}/{pool_id}/.well-known/jwks.json"
    verifier = TokenVerifier(
        pool.pool_id, client_id=pool.client_id, jwks_url=jwks, http_client=http
    )
    store = RedisFlowStore.from_url(args.redis_url) if args.redis_url else None
    # bound before serving, so the URL printed below already accepts connections
    listener = socket.create_server((args.host, args.port))
    host, port = listener.getsockname()[:2]
    url = f"http://{host}:{port}/"

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with pool:
            try:
                say(f"web demo ready at {url}")
                yield
            finally:
                await http.aclose()
                if store is not None:
                    await store.aclose()

    app = create_app(
        WebSignIn(pool, key, store),
        verifier,
        secure_cookies=bool(args.secure_cookies),
        lifespan=lifespan,
    )
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    try:
        server.run(sockets=[listener])
    finally:
        listener.close()
    return 0


async def _seed(emulator: Any) -> tuple[str, str]:
    """The demo pool (MFA required, TOTP only, devices remembered on the user's say-so) and
    the demo user, who sets up an authenticator app at the first sign-in."""
    from .testing.inprocess import emulator_client
    from .testing.seed import Seeder

    async with emulator_client(emulator) as admin:
        seeder = Seeder(admin, clock=emulator.now)
        seeded = await seeder.create_pool_and_client(
            "web-demo",
            mfa="ON",
            sms=False,
            email=False,
            device_configuration={
                "ChallengeRequiredOnNewDevice": True,
                "DeviceOnlyRememberedOnUserPrompt": True,
            },
        )
        await seeder.create_user(seeded, DEMO_USERNAME, DEMO_PASSWORD)
    return seeded.pool_id, seeded.client_id
