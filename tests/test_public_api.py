"""The public names of cognito_mfa are pinned: adding or removing one is a deliberate change."""

from __future__ import annotations

import importlib
import sys

import pytest

import cognito_mfa as cm

PUBLIC = {
    # the face
    "UserPool",
    "AppClientSettings",
    "AuthFlow",
    "AuthFlowType",
    "FlowState",
    "Phase",
    "CognitoUserSession",
    "NewDeviceMetadata",
    "Device",
    "DeviceCredentials",
    "DeviceKeyExists",
    "DeviceNotFound",
    "MfaType",
    "RetryPolicy",
    "CognitoUser",
    "MfaSettings",
    "MfaOption",
    "UserData",
    "SoftwareTokenSecret",
    "QrSupportMissing",
    "__version__",
    # challenges
    "Challenge",
    "MfaCodeChallenge",
    "SmsMfaChallenge",
    "SoftwareTokenMfaChallenge",
    "EmailOtpChallenge",
    "SelectMfaTypeChallenge",
    "MfaSetupChallenge",
    "NewPasswordRequiredChallenge",
    # errors: ours
    "CognitoError",
    "UsageError",
    "InvalidInput",
    "FlowStateError",
    "PoolClosed",
    "CredentialsRequired",
    "ProtocolError",
    "UnsupportedChallenge",
    "TransportError",
    "ConnectionFailed",
    "RequestTimeout",
    # errors: Cognito's, by group
    "ServiceError",
    "UnknownServiceError",
    "InternalError",
    "CodeRejected",
    "CodeMismatch",
    "ExpiredCode",
    "EnableSoftwareTokenMFA",
    "SlowDown",
    "Throttled",
    "TooManyRequests",
    "LimitExceeded",
    "TooManyFailedAttempts",
    "AuthenticationFailed",
    "NotAuthorized",
    "InvalidSession",
    "SessionExpired",
    "SessionAlreadyUsed",
    "TokenRevoked",
    "PasswordAttemptsExceeded",
    "UserNotFound",
    "UserNotConfirmed",
    "PasswordResetRequired",
    "MfaNotSetUp",
    "SoftwareTokenMFANotFound",
    "MFAMethodNotFound",
    "RequestRejected",
    "InvalidParameter",
    "InvalidPassword",
    "PasswordHistoryPolicyViolation",
    "AliasExists",
    "UsernameExists",
    "CodeDeliveryFailure",
    "ConcurrentModification",
    "PreconditionNotMet",
    "UnsupportedUserState",
    "UnsupportedTokenType",
    "ScopeDoesNotExist",
    "InvalidOAuthFlow",
    "UserImportInProgress",
    "UserPoolTagging",
    "TierChangeNotAllowed",
    "ConfigurationError",
    "ResourceNotFound",
    "InvalidUserPoolConfiguration",
    "Forbidden",
    "Unauthorized",
    "AccessDenied",
    "UnsupportedOperation",
    "FeatureUnavailableInTier",
    "InvalidSmsRoleAccessPolicy",
    "InvalidSmsRoleTrustRelationship",
    "InvalidEmailRoleAccessPolicy",
    "UnexpectedLambda",
    "UserLambdaValidation",
    "InvalidLambdaResponse",
    # token verification
    "TokenVerifier",
    "VerifiedClaims",
    "JwksCache",
    "TokenError",
    "TokenMalformed",
    "TokenSignatureInvalid",
    "UnknownSigningKey",
    "SigningKeyNotCached",
    "TokenExpired",
    "TokenClaimMismatch",
    "TokenNotYetValid",
    "JwksUnavailable",
}


def test_all_is_pinned() -> None:
    assert set(cm.__all__) == PUBLIC
    assert len(cm.__all__) == len(set(cm.__all__))
    assert list(cm.__all__) == sorted(cm.__all__, key=lambda n: (n.startswith("_"), n))


def test_every_public_name_exists() -> None:
    for name in cm.__all__:
        assert hasattr(cm, name), name


def test_classes_say_cognito_mfa_in_their_repr() -> None:
    for name in cm.__all__:
        obj = getattr(cm, name)
        if isinstance(obj, type):
            assert obj.__module__ == "cognito_mfa", name
    assert repr(cm.UserPool) == "<class 'cognito_mfa.UserPool'>"


def test_every_error_in_errors_all_is_public() -> None:
    from cognito_mfa import errors

    missing = {n for n in errors.__all__ if n != "error_for_code"} - set(cm.__all__)
    assert missing == set()


def test_the_web_subpackages_names_are_pinned() -> None:
    import cognito_mfa.fastapi as cm_fastapi
    import cognito_mfa.web as cm_web

    assert set(cm_web.__all__) == {
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
    }
    assert set(cm_fastapi.__all__) == {
        "CSRF_HEADER",
        "CookieNames",
        "auth_router",
        "csrf_problem",
        "problem_response",
    }
    for module in (cm_web, cm_fastapi):
        for name in module.__all__:
            assert hasattr(module, name), name


@pytest.mark.parametrize("name", ["flow", "protocol", "transport", "srp"])
def test_internal_modules_keep_a_deprecated_alias(name: str) -> None:
    sys.modules.pop(f"cognito_mfa.{name}", None)
    with pytest.warns(DeprecationWarning, match=rf"cognito_mfa\.{name} is internal"):
        alias = importlib.import_module(f"cognito_mfa.{name}")
    private = importlib.import_module(f"cognito_mfa._{name}")
    assert alias.__all__ == private.__all__
    for public in private.__all__:
        assert getattr(alias, public) is getattr(private, public)
