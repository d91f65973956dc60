"""The error tree: code -> class mapping, the NotAuthorized specialisations, and drift."""

from __future__ import annotations

import botocore.session
import pytest

import cognito_mfa as cm
from cognito_mfa import errors

# Every operation the library sends (sign-in, MFA management, admin helpers).
OPERATIONS_WE_CALL = (
    "InitiateAuth",
    "RespondToAuthChallenge",
    "AdminInitiateAuth",
    "AdminRespondToAuthChallenge",
    "AssociateSoftwareToken",
    "VerifySoftwareToken",
    "SetUserMFAPreference",
    "AdminSetUserMFAPreference",
    "SetUserSettings",
    "GetUser",
    "AdminGetUser",
    "GlobalSignOut",
    "RevokeToken",
    "ConfirmDevice",
    "UpdateDeviceStatus",
    "ListDevices",
    "GetDevice",
    "ForgetDevice",
    "AdminUpdateDeviceStatus",
    "AdminListDevices",
    "AdminGetDevice",
    "AdminForgetDevice",
    "DescribeUserPoolClient",
)


def _model_error_codes() -> dict[str, set[str]]:
    model = botocore.session.get_session().get_service_model("cognito-idp")
    return {
        op: {shape.name for shape in model.operation_model(op).error_shapes}
        for op in OPERATIONS_WE_CALL
    }


def test_every_code_botocore_documents_for_our_operations_is_mapped() -> None:
    registered = errors.ServiceError.codes()
    unmapped = {
        op: sorted(codes - registered.keys())
        for op, codes in _model_error_codes().items()
        if codes - registered.keys()
    }
    assert unmapped == {}


@pytest.mark.parametrize(
    "code", sorted(set().union(*_model_error_codes().values())), ids=lambda c: c
)
def test_each_documented_code_builds_its_own_class(code: str) -> None:
    error = errors.error_for_code(code, "m", operation="InitiateAuth", request_id="r-1")
    assert not isinstance(error, errors.UnknownServiceError)
    assert type(error).code == code or isinstance(error, errors.NotAuthorized)
    assert error.error_code == code
    assert error.operation == "InitiateAuth"
    assert error.request_id == "r-1"
    assert error.message == "m"


def test_leaf_names_follow_the_code() -> None:
    for code, cls in errors.ServiceError.codes().items():
        assert code == cls.__name__ + "Exception" or code in cls.other_codes, code


@pytest.mark.parametrize("code", [cm.AccessDenied.code, *cm.AccessDenied.other_codes])
def test_aws_credential_refusals_are_access_denied(code: str) -> None:
    # the codes every AWS service answers for credentials IAM refuses or does not know
    error = errors.error_for_code(code, "not allowed", operation="AdminGetUser", status=400)
    assert type(error) is cm.AccessDenied
    assert isinstance(error, cm.ConfigurationError)
    assert error.error_code == code and not error.retryable


@pytest.mark.parametrize(
    ("code", "cls", "group"),
    [
        ("CodeMismatchException", cm.CodeMismatch, cm.CodeRejected),
        ("ExpiredCodeException", cm.ExpiredCode, cm.CodeRejected),
        ("LimitExceededException", cm.LimitExceeded, cm.Throttled),
        ("TooManyRequestsException", cm.TooManyRequests, cm.Throttled),
        ("SoftwareTokenMFANotFoundException", cm.SoftwareTokenMFANotFound, cm.MfaNotSetUp),
        ("NotAuthorizedException", cm.NotAuthorized, cm.AuthenticationFailed),
        ("UserNotFoundException", cm.UserNotFound, cm.AuthenticationFailed),
        ("PasswordResetRequiredException", cm.PasswordResetRequired, cm.AuthenticationFailed),
        ("UserNotConfirmedException", cm.UserNotConfirmed, cm.AuthenticationFailed),
        ("InvalidPasswordException", cm.InvalidPassword, cm.RequestRejected),
        ("ResourceNotFoundException", cm.ResourceNotFound, cm.ConfigurationError),
        ("InternalErrorException", cm.InternalError, cm.ServiceError),
    ],
)
def test_named_classes_and_groups(
    code: str, cls: type[cm.ServiceError], group: type[cm.ServiceError]
) -> None:
    error = errors.error_for_code(code, "x")
    assert type(error) is cls
    assert isinstance(error, group)
    assert isinstance(error, cm.CognitoError)


@pytest.mark.parametrize(
    ("message", "cls"),
    [
        ("Invalid session for the user, session is expired.", cm.SessionExpired),
        ("Invalid session for the user, session can only be used once.", cm.SessionAlreadyUsed),
        ("Invalid session for the user.", cm.InvalidSession),
        ("Refresh Token has expired", cm.TokenRevoked),
        ("Refresh Token has been revoked", cm.TokenRevoked),
        ("Access Token has expired", cm.TokenRevoked),
        ("Incorrect username or password.", cm.NotAuthorized),
    ],
)
def test_not_authorized_is_specialised_by_message(
    message: str, cls: type[cm.NotAuthorized]
) -> None:
    error = errors.error_for_code("NotAuthorizedException", message)
    assert type(error) is cls
    assert isinstance(error, cm.NotAuthorized)
    assert error.error_code == "NotAuthorizedException"


def test_a_lock_out_is_told_from_a_wrong_password_by_one_except() -> None:
    locked = errors.error_for_code("NotAuthorizedException", "Password attempts exceeded")
    wrong = errors.error_for_code("NotAuthorizedException", "Incorrect username or password.")
    assert type(locked) is cm.PasswordAttemptsExceeded
    assert locked.error_code == "NotAuthorizedException"  # Cognito's code is kept
    # a wrong-password handler never sees a lock-out, and one except takes every "too many"
    assert not isinstance(locked, cm.NotAuthorized | cm.AuthenticationFailed | cm.CodeRejected)
    assert isinstance(locked, cm.SlowDown)
    assert not isinstance(wrong, cm.SlowDown)
    for code in ("LimitExceededException", "TooManyRequestsException"):
        throttled = errors.error_for_code(code, "slow down")
        assert isinstance(throttled, cm.SlowDown)
        assert isinstance(throttled, cm.Throttled)  # the old group still catches them
    # the transport retries Throttled with backoff; a lock-out must never be retried
    assert not isinstance(locked, cm.Throttled)
    assert not cm.RetryPolicy().should_retry("RespondToAuthChallenge", locked, 1)


def test_the_command_line_tells_a_lock_out_to_wait() -> None:
    from cognito_mfa.cli import _one_line

    locked = errors.error_for_code("NotAuthorizedException", "Password attempts exceeded")
    wrong = errors.error_for_code("NotAuthorizedException", "Incorrect username or password.")
    assert _one_line(locked).endswith("Next: wait a little and try again.")
    assert _one_line(wrong).endswith("Next: check the username and password.")


def test_the_errors_that_keep_a_sign_in_alive() -> None:
    alive = {
        name
        for name in cm.__all__
        if isinstance(getattr(cm, name), type)
        and issubclass(getattr(cm, name), cm.CognitoError)
        and getattr(cm, name).sign_in_alive
    }
    assert alive == {
        "InvalidInput",
        "CodeMismatch",
        "EnableSoftwareTokenMFA",
        "InvalidPassword",
        "PasswordHistoryPolicyViolation",
    }
    assert errors.error_for_code("CodeMismatchException", "wrong").sign_in_alive
    assert not errors.error_for_code("ExpiredCodeException", "late").sign_in_alive
    assert not cm.SessionExpired("x").sign_in_alive
    assert not cm.FlowStateError("x").sign_in_alive


def test_session_expired_is_an_invalid_session_is_not_authorized() -> None:
    assert issubclass(cm.SessionExpired, cm.InvalidSession)
    assert issubclass(cm.SessionAlreadyUsed, cm.InvalidSession)
    assert issubclass(cm.InvalidSession, cm.NotAuthorized)


def test_unknown_code_keeps_the_raw_code() -> None:
    error = errors.error_for_code("BrandNewException", "hi", status=400)
    assert type(error) is cm.UnknownServiceError
    assert error.error_code == "BrandNewException"
    unknown_fault = errors.error_for_code("BrandNewFault", "", status=503)
    assert type(unknown_fault) is cm.InternalError
    assert unknown_fault.error_code == "BrandNewFault"


def test_botocore_code_normalisation() -> None:
    error = errors.error_for_code("aws.cognito#CodeMismatchException:http://x", "m")
    assert type(error) is cm.CodeMismatch
    assert error.error_code == "CodeMismatchException"


def test_usage_errors_are_typed() -> None:
    assert issubclass(cm.InvalidInput, cm.UsageError)
    assert issubclass(cm.InvalidInput, ValueError)
    assert issubclass(cm.FlowStateError, cm.UsageError)
    assert issubclass(cm.PoolClosed, cm.UsageError)
    assert issubclass(cm.UnsupportedChallenge, cm.ProtocolError)
    assert cm.UnsupportedChallenge("CUSTOM_CHALLENGE").challenge_name == "CUSTOM_CHALLENGE"
    assert "CUSTOM_CHALLENGE" in str(cm.UnsupportedChallenge("CUSTOM_CHALLENGE"))


def test_str_includes_code_and_operation() -> None:
    error = errors.error_for_code(
        "CodeMismatchException", "bad", operation="RespondToAuthChallenge"
    )
    assert str(error) == "CodeMismatchException (RespondToAuthChallenge): bad"
