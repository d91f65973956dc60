"""The errors of stored sign-ins: a handle that is gone, answered, or whose state is refused."""

from __future__ import annotations

from ..errors import CognitoError

__all__ = ["SignInAlreadyAnswered", "SignInError", "SignInExpired", "SignInStateRefused"]


class SignInError(CognitoError):
    """A stored sign-in cannot be continued with this handle."""


class SignInExpired(SignInError):
    """No sign-in is stored under the handle: it expired (the app client's AuthSessionValidity),
    ended, or never existed. Start the sign-in again."""


class SignInAlreadyAnswered(SignInError):
    """Another request already took this step of the sign-in (a double submit, or two replicas
    racing). That request's result stands; this one changed nothing."""


class SignInStateRefused(SignInError):
    """The stored state failed its authentication: tampered with, sealed with another key, or
    moved from another handle, pool or app client. Nothing was sent to Cognito."""
