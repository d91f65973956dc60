"""FastAPI integration: the sign-in and account JSON API as one router.

Install ``cognito-mfa[fastapi]``. ``app.include_router(auth_router(WebSignIn(...), verifier))``
serves ``/auth/login``, ``/auth/login/answer``, ``/auth/login/totp``, ``/auth/me``,
``/auth/logout``, ``/auth/mfa``, ``/auth/totp``, ``/auth/totp/verify`` and ``/auth/csrf``, with
errors as RFC 9457 ``application/problem+json``, the sign-in handle and the tokens in
HttpOnly, Secure, SameSite=Strict cookies, and a double-submit CSRF token on every request that
changes something. See ``docs/web.md``.
"""

try:
    import fastapi as _fastapi  # noqa: F401
except ModuleNotFoundError as _missing:  # pragma: no cover - depends on the environment
    raise ModuleNotFoundError(
        "cognito_mfa.fastapi needs FastAPI: pip install 'cognito-mfa[fastapi]'",
        name=_missing.name,
    ) from _missing

from ._router import CSRF_HEADER, CookieNames, auth_router, csrf_problem, problem_response

__all__ = ["CSRF_HEADER", "CookieNames", "auth_router", "csrf_problem", "problem_response"]
