"""The example web app's pages: plain server-rendered HTML, every form posting with its CSRF
token, so the pages work without any script.

Each function returns a whole page; everything that comes from a user or from Cognito goes
through :func:`html.escape`.
"""

from __future__ import annotations

import html
from typing import Any, Final

from cognito_mfa import (
    MfaCodeChallenge,
    MfaSetupChallenge,
    MfaType,
    NewPasswordRequiredChallenge,
    SelectMfaTypeChallenge,
)
from cognito_mfa.web import ChallengePending, problem_for

__all__ = ["FACTORS", "account_page", "challenge_page", "sign_in_page", "totp_page"]

#: The account page's MFA factors: the keyword of ``set_user_mfa_preference`` and its label.
FACTORS: Final = (
    ("software_token", "Authenticator app (TOTP)"),
    ("sms", "Text message"),
    ("email", "E-mail"),
)
_LABELS: Final = {
    "SOFTWARE_TOKEN_MFA": "Authenticator app",
    "SMS_MFA": "Text message",
    "EMAIL_OTP": "E-mail",
}


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


def sign_in_page(csrf: str, error: str | None = None) -> str:
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


def challenge_page(pending: ChallengePending, csrf: str) -> str:
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


def totp_page(csrf: str, uri: str, svg: str | None, error: str | None = None) -> str:
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


def account_page(
    csrf: str,
    username: str,
    enabled: list[str],
    preferred: str | None,
    devices: list[dict[str, Any]],
    error: str | None = None,
) -> str:
    rows = []
    for name, label in FACTORS:
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
