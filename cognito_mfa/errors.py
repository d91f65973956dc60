"""The exception hierarchy, and the Cognito error code -> class registry.

Every leaf that stands for a Cognito error is named after its wire code without the
``Exception`` suffix (``CodeMismatchException`` -> :class:`CodeMismatch`), so the AWS API
reference maps onto these classes mechanically. Codes come from botocore's ``cognito-idp``
service model (the ``errors`` lists of the operations this library calls)::

    CognitoError
    ├── UsageError                     you misused the API; raised before any network call
    │   ├── InvalidInput               a bad argument (also a ValueError)
    │   ├── FlowStateError             answered twice, after the end, a type not offered, ...
    │   ├── PoolClosed                 the UserPool is closed (or was never opened)
    │   └── CredentialsRequired        an Admin* operation without AWS credentials
    ├── ProtocolError                  the server answered something we cannot use
    │   └── UnsupportedChallenge       a challenge this library does not answer (named)
    ├── TransportError                 the request may not have reached Cognito
    │   ├── ConnectionFailed           refused, reset, DNS
    │   └── RequestTimeout             connect or read timed out
    ├── ServiceError                   Cognito answered with an error (code, message, ...)
    │   ├── CodeRejected               ask the user for a (new) code
    │   │   ├── CodeMismatch, ExpiredCode, EnableSoftwareTokenMFA
    │   ├── SlowDown                   too many attempts or requests: stop, try later
    │   │   ├── Throttled                  retried with backoff, then surfaced
    │   │   │   ├── TooManyRequests, LimitExceeded, TooManyFailedAttempts
    │   │   └── PasswordAttemptsExceeded   the user is locked out for a while (never retried)
    │   ├── AuthenticationFailed       the user cannot go on as things are
    │   │   ├── NotAuthorized
    │   │   │   ├── InvalidSession     a challenge session that is unknown, used or expired
    │   │   │   │   ├── SessionExpired, SessionAlreadyUsed
    │   │   │   └── TokenRevoked       the access/refresh token is revoked or expired: sign in again
    │   │   ├── UserNotFound, UserNotConfirmed, PasswordResetRequired
    │   ├── MfaNotSetUp                the factor asked for is not set up
    │   │   ├── SoftwareTokenMFANotFound, MFAMethodNotFound
    │   ├── RequestRejected            the request's values were refused
    │   │   ├── InvalidParameter, InvalidPassword, PasswordHistoryPolicyViolation,
    │   │   │   AliasExists, UsernameExists, CodeDeliveryFailure, ConcurrentModification,
    │   │   │   DeviceKeyExists, ...
    │   ├── ConfigurationError         fix the pool, client, IAM or Lambda configuration
    │   │   ├── ResourceNotFound, InvalidUserPoolConfiguration, Forbidden, Unauthorized,
    │   │   │   AccessDenied (IAM refused the AWS credentials),
    │   │   │   UnsupportedOperation, InvalidSmsRole*, InvalidEmailRole*, *Lambda*, ...
    │   │   │   └── DeviceNotFound (a ResourceNotFound): the sign-in's device is unknown
    │   ├── InternalError              Cognito's own fault (HTTP 5xx)
    │   └── UnknownServiceError        a code this library does not know; ``code`` keeps it
    └── TokenError                     TokenVerifier refused a token (never echoed)
        ├── TokenMalformed             not a JWT we accept: size, encoding, JSON, header fields
        ├── TokenSignatureInvalid      not RS256, or the signature does not verify
        │   └── UnknownSigningKey      no key in the pool's JWKS has the token's ``kid``
        ├── SigningKeyNotCached        verify_cached: the token's key is not loaded (no I/O done)
        ├── TokenExpired               ``exp`` (plus the grace) has passed
        ├── TokenClaimMismatch         a claim is missing or wrong; ``claim`` names it
        │   └── TokenNotYetValid       ``nbf`` or ``iat`` is in the future (beyond the grace)
        └── JwksUnavailable            the pool's JWKS could not be fetched or used

The ``TokenError`` family is raised by :class:`cognito_mfa.TokenVerifier`, locally (no Cognito
call is involved). ``JwksUnavailable`` belongs to it because the token could not be verified;
a service usually answers it with 503 rather than 401.

``except SlowDown`` tells "too many attempts" from "wrong password or code" (``NotAuthorized``,
``CodeRejected``): ``PasswordAttemptsExceeded`` arrives as a ``NotAuthorizedException`` but is
not a :class:`NotAuthorized`, so a handler of wrong passwords never shows a lock-out as one.

Which errors keep a sign-in alive: :attr:`CognitoError.sign_in_alive` is True for the classes
after which the same challenge, on the same session, can be answered again (an ``InvalidInput``
raised by an answer: nothing was sent; ``CodeMismatch``; ``EnableSoftwareTokenMFA`` while
verifying a TOTP set-up; ``InvalidPassword`` and ``PasswordHistoryPolicyViolation`` for a new
password). After any other error the flow is FAILED: start the sign-in again.

Messages never carry a secret: the service's message is kept as Cognito sent it (Cognito does
not echo codes or passwords), and our own messages name fields, never their values.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar

__all__ = [
    "AccessDenied",
    "AliasExists",
    "AuthenticationFailed",
    "CodeDeliveryFailure",
    "CodeMismatch",
    "CodeRejected",
    "CognitoError",
    "ConcurrentModification",
    "ConfigurationError",
    "ConnectionFailed",
    "CredentialsRequired",
    "DeviceKeyExists",
    "DeviceNotFound",
    "EnableSoftwareTokenMFA",
    "ExpiredCode",
    "FeatureUnavailableInTier",
    "FlowStateError",
    "Forbidden",
    "InternalError",
    "InvalidEmailRoleAccessPolicy",
    "InvalidInput",
    "InvalidLambdaResponse",
    "InvalidOAuthFlow",
    "InvalidParameter",
    "InvalidPassword",
    "InvalidSession",
    "InvalidSmsRoleAccessPolicy",
    "InvalidSmsRoleTrustRelationship",
    "InvalidUserPoolConfiguration",
    "JwksUnavailable",
    "LimitExceeded",
    "MFAMethodNotFound",
    "MfaNotSetUp",
    "NotAuthorized",
    "PasswordAttemptsExceeded",
    "PasswordHistoryPolicyViolation",
    "PasswordResetRequired",
    "PoolClosed",
    "PreconditionNotMet",
    "ProtocolError",
    "RequestRejected",
    "RequestTimeout",
    "ResourceNotFound",
    "ScopeDoesNotExist",
    "ServiceError",
    "SessionAlreadyUsed",
    "SessionExpired",
    "SigningKeyNotCached",
    "SlowDown",
    "SoftwareTokenMFANotFound",
    "Throttled",
    "TierChangeNotAllowed",
    "TokenClaimMismatch",
    "TokenError",
    "TokenExpired",
    "TokenMalformed",
    "TokenNotYetValid",
    "TokenRevoked",
    "TokenSignatureInvalid",
    "TooManyFailedAttempts",
    "TooManyRequests",
    "TransportError",
    "Unauthorized",
    "UnexpectedLambda",
    "UnknownServiceError",
    "UnknownSigningKey",
    "UnsupportedChallenge",
    "UnsupportedOperation",
    "UnsupportedTokenType",
    "UnsupportedUserState",
    "UsageError",
    "UserImportInProgress",
    "UserLambdaValidation",
    "UserNotConfirmed",
    "UserNotFound",
    "UserPoolTagging",
    "UsernameExists",
    "error_for_code",
]


class CognitoError(Exception):
    """Base of every error this library raises."""

    sign_in_alive: ClassVar[bool] = False
    """Whether the sign-in whose answer raised this is still open at the same challenge.

    True only for the classes that mean "that answer was not accepted, answer again" (see the
    module docstring); a sign-in flow's own ``phase`` is the authority for a given flow.
    """


# --- our side ----------------------------------------------------------------------------


class UsageError(CognitoError):
    """The library was used wrongly. Raised before anything is sent."""


class InvalidInput(UsageError, ValueError):
    """An argument is invalid (empty username, a code that is not 6 digits, ...).

    Raised before anything is sent, so a challenge answered with a malformed value is still
    open (``sign_in_alive``)."""

    sign_in_alive = True


class FlowStateError(UsageError):
    """The sign-in flow cannot take that step now (answered twice, already finished, ...)."""


class PoolClosed(UsageError):
    """The UserPool is not open: ``await pool.open()`` (notebooks, REPLs, long-lived services)
    or ``async with UserPool(...) as pool``; or it was closed (make a new one)."""


class CredentialsRequired(UsageError):
    """An Admin* operation needs AWS credentials (give them to the UserPool or the
    environment); the user-facing operations do not."""


class ProtocolError(CognitoError):
    """Cognito's answer could not be used: a missing field, an invalid SRP value, ..."""


class UnsupportedChallenge(ProtocolError):
    """Cognito asked for a challenge this library does not answer."""

    def __init__(self, challenge_name: str) -> None:
        super().__init__(f"unsupported challenge {challenge_name!r}")
        self.challenge_name = challenge_name


class TransportError(CognitoError):
    """The request failed below HTTP; Cognito may or may not have received it."""

    def __init__(self, message: str, *, operation: str | None = None) -> None:
        super().__init__(message)
        self.operation = operation


class ConnectionFailed(TransportError):
    """The connection was refused, reset or could not be opened."""


class RequestTimeout(TransportError):
    """Connecting or reading the answer timed out."""


# --- Cognito's side -----------------------------------------------------------------------


class ServiceError(CognitoError):
    """Cognito answered with an error. ``code`` is Cognito's own name for it."""

    code: ClassVar[str | None] = None
    retryable: ClassVar[bool] = False
    _by_code: ClassVar[dict[str, type[ServiceError]]] = {}

    #: Other codes that mean the same (AWS answers a few refusals under several names).
    other_codes: ClassVar[tuple[str, ...]] = ()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.__dict__.get("code"):
            ServiceError._by_code[cls.__dict__["code"]] = cls
        for other in cls.__dict__.get("other_codes", ()):
            ServiceError._by_code[other] = cls

    def __init__(
        self,
        message: str = "",
        *,
        code: str | None = None,
        operation: str | None = None,
        request_id: str | None = None,
        status: int | None = None,
    ) -> None:
        self.message = message
        self.error_code: str = code or type(self).code or "Unknown"
        self.operation = operation
        self.request_id = request_id
        self.status = status
        where = f" ({operation})" if operation else ""
        super().__init__(f"{self.error_code}{where}: {message}" if message else self.error_code)

    @classmethod
    def codes(cls) -> dict[str, type[ServiceError]]:
        """Every registered Cognito error code and its class."""
        return dict(ServiceError._by_code)


class CodeRejected(ServiceError):
    """The code the user gave was refused: ask for a (new) code."""


class SlowDown(ServiceError):
    """Too many attempts or requests: stop, and tell the user to try again later.

    Catch this, not :class:`NotAuthorized`, to tell a lock-out from a wrong password.
    """


class Throttled(SlowDown):
    """Too many requests or attempts: slow down, then retry (the transport retries these with
    backoff before they surface)."""

    retryable = True


class AuthenticationFailed(ServiceError):
    """The user cannot go on as things are (wrong password, unknown user, ...)."""


class MfaNotSetUp(ServiceError):
    """The MFA factor that was asked for is not set up for the user or the pool."""


class RequestRejected(ServiceError):
    """A value in the request was refused."""


class ConfigurationError(ServiceError):
    """The pool, the app client, IAM or a Lambda trigger needs fixing."""


class CodeMismatch(CodeRejected):
    """The MFA or TOTP code was wrong; the same challenge may be answered again."""

    sign_in_alive = True

    code = "CodeMismatchException"


class ExpiredCode(CodeRejected):
    """The code has expired: ask for a new one."""

    code = "ExpiredCodeException"


class EnableSoftwareTokenMFA(CodeRejected):
    """Verifying the TOTP setup failed (wrong code, or Cognito answered Status ERROR)."""

    sign_in_alive = True

    code = "EnableSoftwareTokenMFAException"


class TooManyRequests(Throttled):
    code = "TooManyRequestsException"


class LimitExceeded(Throttled):
    code = "LimitExceededException"


class TooManyFailedAttempts(Throttled):
    code = "TooManyFailedAttemptsException"


class NotAuthorized(AuthenticationFailed):
    """Cognito refused: wrong password, bad session or token, disabled user, ..."""

    code = "NotAuthorizedException"


class InvalidSession(NotAuthorized):
    """The challenge session is unknown, already used or expired: start the sign-in again."""


class SessionExpired(InvalidSession):
    """The challenge session outlived the app client's AuthSessionValidity."""


class SessionAlreadyUsed(InvalidSession):
    """The challenge session was already answered successfully; sessions are single-use."""


class TokenRevoked(NotAuthorized):
    """The access or refresh token is expired or revoked: the user must sign in again."""


class PasswordAttemptsExceeded(SlowDown):
    """Too many failed attempts: Cognito locks the user out for a while.

    Cognito sends it as ``NotAuthorizedException`` (``error_code`` keeps that), but it is not a
    wrong password: it sits under :class:`SlowDown`, not :class:`NotAuthorized`. It is not a
    :class:`Throttled` either, so the transport never retries it.
    """


class UserNotFound(AuthenticationFailed):
    code = "UserNotFoundException"


class UserNotConfirmed(AuthenticationFailed):
    code = "UserNotConfirmedException"


class PasswordResetRequired(AuthenticationFailed):
    code = "PasswordResetRequiredException"


class SoftwareTokenMFANotFound(MfaNotSetUp):
    """TOTP is not set up for the user, or not enabled for the pool."""

    code = "SoftwareTokenMFANotFoundException"


class MFAMethodNotFound(MfaNotSetUp):
    code = "MFAMethodNotFoundException"


class InvalidParameter(RequestRejected):
    code = "InvalidParameterException"


class InvalidPassword(RequestRejected):
    code = "InvalidPasswordException"
    sign_in_alive = True


class PasswordHistoryPolicyViolation(RequestRejected):
    code = "PasswordHistoryPolicyViolationException"
    sign_in_alive = True


class AliasExists(RequestRejected):
    code = "AliasExistsException"


class UsernameExists(RequestRejected):
    code = "UsernameExistsException"


class CodeDeliveryFailure(RequestRejected):
    code = "CodeDeliveryFailureException"


class DeviceKeyExists(RequestRejected):
    """ConfirmDevice for a device that is already confirmed."""

    code = "DeviceKeyExistsException"


class ConcurrentModification(RequestRejected):
    retryable = True
    code = "ConcurrentModificationException"


class PreconditionNotMet(RequestRejected):
    code = "PreconditionNotMetException"


class UnsupportedUserState(RequestRejected):
    code = "UnsupportedUserStateException"


class UnsupportedTokenType(RequestRejected):
    code = "UnsupportedTokenTypeException"


class ScopeDoesNotExist(RequestRejected):
    code = "ScopeDoesNotExistException"


class InvalidOAuthFlow(RequestRejected):
    code = "InvalidOAuthFlowException"


class UserImportInProgress(RequestRejected):
    code = "UserImportInProgressException"


class UserPoolTagging(RequestRejected):
    code = "UserPoolTaggingException"


class TierChangeNotAllowed(RequestRejected):
    code = "TierChangeNotAllowedException"


class ResourceNotFound(ConfigurationError):
    code = "ResourceNotFoundException"


class DeviceNotFound(ResourceNotFound):
    """Cognito no longer knows the device a sign-in named (it was forgotten, or belongs to
    another pool or user): drop the stored device credentials and sign in again without them.

    Raised by a sign-in given ``device=`` credentials; the flow is closed. Its
    ``error_code`` stays ``ResourceNotFoundException``, Cognito's code.
    """


class InvalidUserPoolConfiguration(ConfigurationError):
    code = "InvalidUserPoolConfigurationException"


class Forbidden(ConfigurationError):
    code = "ForbiddenException"


class Unauthorized(ConfigurationError):
    code = "UnauthorizedException"


class AccessDenied(ConfigurationError):
    """AWS refused the request's credentials: IAM does not allow the call for these
    credentials (``AccessDeniedException``), or the signing keys are unknown, expired or
    signed wrongly (the codes every AWS service answers for that). Only calls signed with AWS
    credentials (the ``Admin*`` calls, ``describe_app_client``) meet it; ``error_code`` keeps
    the code AWS sent."""

    code = "AccessDeniedException"
    other_codes = (
        "UnrecognizedClientException",
        "InvalidClientTokenId",
        "InvalidSignatureException",
        "IncompleteSignature",
        "ExpiredTokenException",
        "MissingAuthenticationTokenException",
    )


class UnsupportedOperation(ConfigurationError):
    code = "UnsupportedOperationException"


class FeatureUnavailableInTier(ConfigurationError):
    code = "FeatureUnavailableInTierException"


class InvalidSmsRoleAccessPolicy(ConfigurationError):
    code = "InvalidSmsRoleAccessPolicyException"


class InvalidSmsRoleTrustRelationship(ConfigurationError):
    code = "InvalidSmsRoleTrustRelationshipException"


class InvalidEmailRoleAccessPolicy(ConfigurationError):
    code = "InvalidEmailRoleAccessPolicyException"


class UnexpectedLambda(ConfigurationError):
    code = "UnexpectedLambdaException"


class UserLambdaValidation(ConfigurationError):
    code = "UserLambdaValidationException"


class InvalidLambdaResponse(ConfigurationError):
    code = "InvalidLambdaResponseException"


class InternalError(ServiceError):
    """Cognito failed on its side; safe to retry only where the request is idempotent."""

    retryable = True
    code = "InternalErrorException"


class UnknownServiceError(ServiceError):
    """An error code this library does not know; ``error_code`` keeps Cognito's code."""


# Cognito's wording for the NotAuthorized cases that need a distinct class (docs/protocol.md §7).
_NOT_AUTHORIZED_BY_MESSAGE: tuple[tuple[re.Pattern[str], type[ServiceError]], ...] = (
    (re.compile(r"session is expired", re.I), SessionExpired),
    (re.compile(r"session can only be used once", re.I), SessionAlreadyUsed),
    (re.compile(r"^Invalid session", re.I), InvalidSession),
    (re.compile(r"(Refresh|Access) Token has (expired|been revoked)", re.I), TokenRevoked),
    (re.compile(r"Invalid Refresh Token", re.I), TokenRevoked),
    (re.compile(r"Password attempts exceeded", re.I), PasswordAttemptsExceeded),
)


def _normalise_code(raw: str) -> str:
    # botocore's rule: drop anything after ':' and keep what follows the last '#'
    return raw.split(":", 1)[0].rsplit("#", 1)[-1]


def error_for_code(
    code: str,
    message: str = "",
    *,
    operation: str | None = None,
    request_id: str | None = None,
    status: int | None = None,
) -> ServiceError:
    """Build the typed error for a Cognito error code (unknown codes keep their raw code)."""
    code = _normalise_code(code)
    cls: type[ServiceError] = ServiceError._by_code.get(code, UnknownServiceError)
    if cls is NotAuthorized:
        for pattern, special in _NOT_AUTHORIZED_BY_MESSAGE:
            if pattern.search(message):
                cls = special
                break
    if cls is UnknownServiceError and status is not None and status >= 500:
        cls = InternalError  # an unknown fault is still a server fault, retryable as such
    return cls(message, code=code, operation=operation, request_id=request_id, status=status)


# --- token verification (TokenVerifier) ----------------------------------------------------


class TokenError(CognitoError):
    """A token was refused by :class:`~cognito_mfa.TokenVerifier`.

    The message says what failed (a header field, a claim, the signature); it never contains
    the token or any part of it.
    """


class TokenMalformed(TokenError):
    """Not a token we accept: too large, not three base64url parts, not JSON objects, or a
    header that is missing ``kid`` or names its own key source (``jku``, ``x5u``, ``jwk``,
    ``x5c``) or extensions (``crit``)."""


class TokenSignatureInvalid(TokenError):
    """The header's ``alg`` is not RS256, or the RS256 signature does not verify."""


class UnknownSigningKey(TokenSignatureInvalid):
    """No key of the pool's JWKS has the token's ``kid``, after a refetch (or while refetches
    wait out the penalty period that follows the last one)."""


class SigningKeyNotCached(TokenError):
    """:meth:`~cognito_mfa.TokenVerifier.verify_cached` does no I/O and the token's key is not
    loaded: ``await verify(...)`` (which may fetch the JWKS) or ``hydrate()`` first."""


class TokenExpired(TokenError):
    """The token's ``exp`` (plus the verifier's grace) has passed."""


class TokenClaimMismatch(TokenError):
    """A claim is missing, of the wrong type or not what the verifier requires.

    ``claim`` is the claim's name (``iss``, ``token_use``, ``client_id``, ``aud``,
    ``cognito:groups``, ``scope``, ...; ``custom_check`` for the verifier's own check).
    """

    def __init__(self, claim: str, problem: str) -> None:
        super().__init__(f"claim {claim!r}: {problem}")
        self.claim = claim


class TokenNotYetValid(TokenClaimMismatch):
    """The token's ``nbf`` or ``iat`` lies in the future, beyond the verifier's grace."""


class JwksUnavailable(TokenError):
    """The pool's JWKS could not be fetched (connection, timeout, status), was too large or was
    not a JWKS with an RSA signing key; also while a failed fetch's penalty period runs."""
