"""Stored sign-ins for web services: an MFA sign-in across requests and replicas.

Framework-free (install ``cognito-mfa[web]``; ``cognito-mfa[redis]`` for
:class:`RedisFlowStore`). :class:`WebSignIn` starts a sign-in and answers it one request at a
time; between requests the flow's state is sealed with the application key (:class:`AppKey`,
AES-256-GCM bound to the handle, pool and app client) and kept in a :class:`FlowStore` under a
random handle for the app client's AuthSessionValidity. A handle answers once: a double submit
or two replicas racing get :class:`SignInAlreadyAnswered`. :func:`problem_for` maps every error
to its HTTP status. See ``docs/web.md``.
"""

try:
    import cryptography as _cryptography  # noqa: F401
except ModuleNotFoundError as _missing:  # pragma: no cover - depends on the environment
    raise ModuleNotFoundError(
        "cognito_mfa.web needs 'cryptography': pip install 'cognito-mfa[web]'",
        name=_missing.name,
    ) from _missing

from ._errors import SignInAlreadyAnswered, SignInError, SignInExpired, SignInStateRefused
from ._http import PROBLEM_TYPE_BASE, PROBLEMS, Problem, problem_for
from ._redis import RedisFlowStore
from ._seal import APP_KEY_ENV, AppKey
from ._service import (
    DEFAULT_TTL,
    ChallengePending,
    Outcome,
    SignedIn,
    TotpSetup,
    WebSignIn,
    login_names,
    public_challenge,
)
from ._store import FlowStore, MemoryFlowStore

__all__ = [
    "APP_KEY_ENV",
    "DEFAULT_TTL",
    "PROBLEMS",
    "PROBLEM_TYPE_BASE",
    "AppKey",
    "ChallengePending",
    "FlowStore",
    "MemoryFlowStore",
    "Outcome",
    "Problem",
    "RedisFlowStore",
    "SignInAlreadyAnswered",
    "SignInError",
    "SignInExpired",
    "SignInStateRefused",
    "SignedIn",
    "TotpSetup",
    "WebSignIn",
    "login_names",
    "problem_for",
    "public_challenge",
]
