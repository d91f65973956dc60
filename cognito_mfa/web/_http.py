"""Errors as HTTP answers: one table from the error tree to a status and an RFC 9457 problem.

Framework-free: :func:`problem_for` gives the :class:`Problem` for any exception a web sign-in
or an account call raises; the FastAPI integration renders it as ``application/problem+json``.
The ``detail`` is fixed per kind, or a message that cannot carry a secret (our own messages
name fields, never values; Cognito's do not echo passwords or codes). Wrong user names and
wrong passwords get the same problem, so answers do not reveal which users exist.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from ..errors import (
    CodeMismatch,
    CodeRejected,
    CognitoError,
    ExpiredCode,
    FlowStateError,
    InternalError,
    InvalidInput,
    InvalidSession,
    JwksUnavailable,
    MfaNotSetUp,
    NotAuthorized,
    PasswordResetRequired,
    ProtocolError,
    RequestRejected,
    SlowDown,
    TokenError,
    TokenRevoked,
    TransportError,
    UserNotConfirmed,
    UserNotFound,
)
from ._errors import SignInAlreadyAnswered, SignInExpired, SignInStateRefused

__all__ = ["PROBLEMS", "PROBLEM_TYPE_BASE", "Problem", "problem_for"]

#: Problem ``type`` URIs are this plus the problem's slug (URNs: identifiers, not pages).
PROBLEM_TYPE_BASE: Final = "urn:cognito-mfa:problem:"


@dataclass(frozen=True)
class Problem:
    """An RFC 9457 problem: ``status``, a ``slug`` (the ``type`` is
    :data:`PROBLEM_TYPE_BASE` + slug), a ``title`` and a ``detail``."""

    status: int
    slug: str
    title: str
    detail: str

    @property
    def type(self) -> str:
        return PROBLEM_TYPE_BASE + self.slug

    def body(self, **extensions: Any) -> dict[str, Any]:
        """The JSON object, with extension members (e.g. ``sign_in_open``)."""
        return {
            "type": self.type,
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
            **extensions,
        }


# (error class, status, slug, title, detail or None for the error's own safe message);
# the first row whose class matches wins, so the narrower classes come first
PROBLEMS: Final[tuple[tuple[type[BaseException], int, str, str, str | None], ...]] = (
    (SignInAlreadyAnswered, 409, "already-answered", "Already answered",
     "This step of the sign-in was already answered by another request."),
    (SignInExpired, 410, "sign-in-expired", "Sign-in expired",
     "The sign-in has expired or ended; start again."),
    (SignInStateRefused, 400, "sign-in-refused", "Sign-in refused",
     "The sign-in could not be verified; start again."),
    (InvalidSession, 410, "sign-in-expired", "Sign-in expired",
     "The sign-in has expired or ended; start again."),
    (ExpiredCode, 410, "code-expired", "Code expired",
     "The code has expired; start again for a new one."),
    (SlowDown, 429, "too-many-attempts", "Too many attempts",
     "Too many attempts; try again later."),
    (CodeMismatch, 401, "wrong-code", "Wrong code", "The code is not correct."),
    (CodeRejected, 401, "wrong-code", "Wrong code", "The code is not correct."),
    (TokenRevoked, 401, "not-signed-in", "Not signed in", "Sign in again."),
    (NotAuthorized, 401, "wrong-credentials", "Wrong credentials",
     "Incorrect user name or password."),
    (UserNotFound, 401, "wrong-credentials", "Wrong credentials",
     "Incorrect user name or password."),
    (UserNotConfirmed, 403, "not-confirmed", "Account not confirmed",
     "Confirm the account first."),
    (PasswordResetRequired, 403, "password-reset-required", "Password reset required",
     "Reset the password first."),
    (JwksUnavailable, 503, "unavailable", "Service unavailable",
     "The sign-in service cannot be reached; try again shortly."),
    (TokenError, 401, "not-signed-in", "Not signed in", "Sign in again."),
    (InvalidInput, 422, "invalid-input", "Invalid input", None),
    (FlowStateError, 422, "invalid-input", "Invalid input", None),
    (RequestRejected, 422, "invalid-input", "Invalid input", None),
    (MfaNotSetUp, 422, "mfa-not-set-up", "MFA not set up", None),
    (TransportError, 503, "unavailable", "Service unavailable",
     "The sign-in service cannot be reached; try again shortly."),
    (InternalError, 503, "unavailable", "Service unavailable",
     "The sign-in service cannot be reached; try again shortly."),
    (ProtocolError, 502, "bad-gateway", "Bad answer from the sign-in service",
     "The sign-in service answered something unusable."),
    (CognitoError, 500, "server-error", "Server error", "The sign-in failed on the server."),
)  # fmt: skip


def problem_for(error: BaseException) -> Problem:
    """The problem to answer ``error`` with (500 for anything the table does not know)."""
    for cls, status, slug, title, detail in PROBLEMS:
        if isinstance(error, cls):
            return Problem(status, slug, title, detail or _safe_message(error) or title)
    return Problem(500, "server-error", "Server error", "The request failed on the server.")


def _safe_message(error: BaseException) -> str:
    # ServiceError keeps Cognito's message (which never echoes secrets); ours name fields only
    message = getattr(error, "message", None)
    text = message if isinstance(message, str) and message else str(error)
    return " ".join(text.split())[:300]
