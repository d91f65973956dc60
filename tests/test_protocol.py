"""Request builders and response parsers of cognito_mfa.protocol (pure, no network)."""

from __future__ import annotations

import ast
import base64
import hashlib
import hmac
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import botocore.session
import pytest
from botocore.validate import validate_parameters
from pycognito.aws_srp import AWSSRP
from pydantic import SecretStr

from cognito_mfa import MfaType, ProtocolError
from cognito_mfa import _protocol as protocol
from cognito_mfa._protocol import AppClient, AuthFlowType, Call

MODEL = botocore.session.get_session().get_service_model("cognito-idp")
PUBLIC = AppClient("eu-west-1_Pool1", "client1")
SECRET = AppClient("eu-west-1_Pool1", "client1", SecretStr("s3cr3t-client-secret-value"))


def _valid_for_botocore(call: Call) -> None:
    # botocore raises ParamValidationError when a key or type does not match the model
    validate_parameters(dict(call.params), MODEL.operation_model(call.operation).input_shape)


def _hash(username: str, client: AppClient = SECRET) -> str:
    assert client.client_secret is not None
    return AWSSRP.get_secret_hash(
        username, client.client_id, client.client_secret.get_secret_value()
    )


def test_secret_hash_matches_pycognito_and_the_formula() -> None:
    expected = base64.b64encode(
        hmac.new(b"key", b"alice@example.comclient", hashlib.sha256).digest()
    ).decode()
    assert protocol.secret_hash("alice@example.com", "client", "key") == expected
    assert protocol.secret_hash("ü-user", "c", "k") == AWSSRP.get_secret_hash("ü-user", "c", "k")


def test_start_srp_auth_public_client() -> None:
    call = protocol.start_srp_auth(PUBLIC, "alice", "abc123")
    assert call.operation == "InitiateAuth"
    assert call.params == {
        "ClientId": "client1",
        "AuthFlow": "USER_SRP_AUTH",
        "AuthParameters": {"USERNAME": "alice", "SRP_A": "abc123"},
    }
    _valid_for_botocore(call)


def test_start_srp_auth_secret_client_admin_with_metadata() -> None:
    call = protocol.start_srp_auth(
        SECRET, "alice", "abc123", client_metadata={"k": "v"}, admin=True
    )
    assert call.operation == "AdminInitiateAuth"
    assert call.params["UserPoolId"] == "eu-west-1_Pool1"
    assert call.params["ClientMetadata"] == {"k": "v"}
    assert call.params["AuthParameters"]["SECRET_HASH"] == _hash("alice")
    _valid_for_botocore(call)


@pytest.mark.parametrize(
    ("flow", "operation"),
    [
        (AuthFlowType.USER_PASSWORD_AUTH, "InitiateAuth"),
        (AuthFlowType.ADMIN_USER_PASSWORD_AUTH, "AdminInitiateAuth"),
    ],
)
def test_start_password_auth(flow: AuthFlowType, operation: str) -> None:
    call = protocol.start_password_auth(SECRET, "bob", "pw", auth_flow=flow)
    assert call.operation == operation
    assert call.params["AuthFlow"] == flow.value
    assert call.params["AuthParameters"] == {
        "USERNAME": "bob",
        "PASSWORD": "pw",
        "SECRET_HASH": _hash("bob"),
    }
    assert "ClientMetadata" not in call.params
    _valid_for_botocore(call)


def test_call_repr_hides_params() -> None:
    call = protocol.start_password_auth(
        PUBLIC, "bob", "hunter2-password", auth_flow=AuthFlowType.USER_PASSWORD_AUTH
    )
    assert "hunter2" not in repr(call)
    assert "hunter2" not in str(call)
    assert "s3cr3t" not in repr(SECRET)


@pytest.mark.parametrize("admin", [False, True])
def test_respond_to_challenge_sends_username_and_hash_over_it(admin: bool) -> None:
    call = protocol.respond_to_challenge(
        SECRET,
        "SMS_MFA",
        session="S" * 40,
        username="uuid-1234",
        responses=protocol.mfa_code_responses(MfaType.SMS_MFA, "123456"),
        client_metadata={"a": "b"},
        admin=admin,
    )
    assert call.operation == ("AdminRespondToAuthChallenge" if admin else "RespondToAuthChallenge")
    assert call.params["ChallengeResponses"] == {
        "USERNAME": "uuid-1234",
        "SMS_MFA_CODE": "123456",
        "SECRET_HASH": _hash("uuid-1234"),
    }
    assert call.params["Session"] == "S" * 40
    assert call.params["ClientMetadata"] == {"a": "b"}
    assert ("UserPoolId" in call.params) is admin
    _valid_for_botocore(call)


def test_respond_without_session_omits_it() -> None:
    call = protocol.respond_to_challenge(
        PUBLIC, "PASSWORD_VERIFIER", session=None, username="u", responses={}
    )
    assert "Session" not in call.params
    assert call.params["ChallengeResponses"] == {"USERNAME": "u"}


@pytest.mark.parametrize(
    ("mfa", "key"),
    [
        (MfaType.SMS_MFA, "SMS_MFA_CODE"),
        (MfaType.SOFTWARE_TOKEN_MFA, "SOFTWARE_TOKEN_MFA_CODE"),
        (MfaType.EMAIL_OTP, "EMAIL_OTP_CODE"),
    ],
)
def test_mfa_code_keys(mfa: MfaType, key: str) -> None:
    assert protocol.mfa_code_responses(mfa, "1") == {key: "1"}


def test_other_responses() -> None:
    assert protocol.select_mfa_type_responses(MfaType.SOFTWARE_TOKEN_MFA) == {
        "ANSWER": "SOFTWARE_TOKEN_MFA"
    }
    assert protocol.mfa_setup_email_responses("a@b.c") == {"EMAIL": "a@b.c"}
    assert protocol.new_password_responses(
        "New-pw1!", {"name": "Al", "userAttributes.email": "a@b.c"}
    ) == {
        "NEW_PASSWORD": "New-pw1!",
        "userAttributes.name": "Al",
        "userAttributes.email": "a@b.c",
    }
    assert protocol.password_verifier_responses(secret_block="B", signature="S", timestamp="T") == {
        "PASSWORD_CLAIM_SECRET_BLOCK": "B",
        "PASSWORD_CLAIM_SIGNATURE": "S",
        "TIMESTAMP": "T",
    }


def test_software_token_calls() -> None:
    associate = protocol.associate_software_token("S" * 30)
    assert associate == Call("AssociateSoftwareToken", {"Session": "S" * 30})
    _valid_for_botocore(associate)
    verify = protocol.verify_software_token("S" * 30, "123456", "My Phone")
    assert verify.params == {
        "Session": "S" * 30,
        "UserCode": "123456",
        "FriendlyDeviceName": "My Phone",
    }
    _valid_for_botocore(verify)
    assert "FriendlyDeviceName" not in protocol.verify_software_token("S" * 30, "1", None).params


def test_refresh_tokens() -> None:
    call = protocol.refresh_tokens(PUBLIC, "rt", username=None)
    assert call.params["AuthParameters"] == {"REFRESH_TOKEN": "rt"}
    assert call.params["AuthFlow"] == "REFRESH_TOKEN_AUTH"
    secret_call = protocol.refresh_tokens(SECRET, "rt", username="uuid-1")
    assert secret_call.params["AuthParameters"]["SECRET_HASH"] == _hash("uuid-1")
    _valid_for_botocore(secret_call)
    with pytest.raises(ProtocolError):
        protocol.refresh_tokens(SECRET, "rt", username=None)


# --- parsers ---------------------------------------------------------------------------------


def test_parse_tokens() -> None:
    step = protocol.parse_auth_response(
        {"AuthenticationResult": {"IdToken": "i", "AccessToken": "a"}, "ChallengeParameters": {}}
    )
    assert isinstance(step, protocol.TokensStep)
    assert step.result["IdToken"] == "i"
    assert "AccessToken" not in repr(step)


def test_parse_challenge() -> None:
    step = protocol.parse_auth_response(
        {
            "ChallengeName": "SMS_MFA",
            "Session": "secret-session-value",
            "ChallengeParameters": {"CODE_DELIVERY_DESTINATION": "+***12", "X": None},
        }
    )
    assert isinstance(step, protocol.ChallengeStep)
    assert step.name == "SMS_MFA"
    assert step.session is not None
    assert step.session.get_secret_value() == "secret-session-value"
    assert step.parameters == {"CODE_DELIVERY_DESTINATION": "+***12"}
    assert "secret-session-value" not in repr(step)


@pytest.mark.parametrize("length", [0, 19, 2049, 100_000])
def test_a_session_outside_cognitos_bounds_is_refused_without_echoing_it(length: int) -> None:
    # SessionType is 20 to 2048 characters: anything else would only fail in botocore's
    # validation of the next request
    session = "q" * length
    responses: list[Any] = [
        lambda: protocol.parse_auth_response({"ChallengeName": "SMS_MFA", "Session": session}),
        lambda: protocol.parse_associate_software_token({"SecretCode": "A", "Session": session}),
        lambda: protocol.parse_verify_software_token({"Status": "SUCCESS", "Session": session}),
    ]
    for parse in responses:
        with pytest.raises(ProtocolError, match=f"{length} characters") as caught:
            parse()
        assert "qq" not in str(caught.value)


@pytest.mark.parametrize("session", [20, 2048])
def test_a_session_at_cognitos_bounds_is_kept(session: int) -> None:
    step = protocol.parse_auth_response({"ChallengeName": "SMS_MFA", "Session": "s" * session})
    assert isinstance(step, protocol.ChallengeStep) and step.session is not None
    assert step.session.get_secret_value() == "s" * session


def test_a_session_that_is_not_a_string_is_refused() -> None:
    with pytest.raises(ProtocolError, match="not a string"):
        protocol.parse_auth_response({"ChallengeName": "SMS_MFA", "Session": 12345678901234567890})


@pytest.mark.parametrize(
    "response",
    [{}, {"ChallengeName": ""}, {"ChallengeName": "SMS_MFA", "ChallengeParameters": ["x"]}],
)
def test_parse_unusable_response(response: Mapping[str, Any]) -> None:
    with pytest.raises(ProtocolError):
        protocol.parse_auth_response(response)


def test_answer_username_precedence() -> None:
    # moto's server mode: USERNAME is the plain name, USER_ID_FOR_SRP a UUID; USERNAME wins
    assert protocol.answer_username({"USERNAME": "bob", "USER_ID_FOR_SRP": "uuid"}, "x") == "bob"
    assert protocol.answer_username({"USER_ID_FOR_SRP": "uuid"}, "x") == "uuid"
    assert protocol.answer_username({}, "typed@alias") == "typed@alias"


def test_parse_password_verifier() -> None:
    params = {"SALT": "ab", "SRP_B": "cd", "SECRET_BLOCK": "ef==", "USER_ID_FOR_SRP": "uuid"}
    verifier = protocol.parse_password_verifier(params)
    assert verifier.user_id_for_srp == "uuid"
    assert (verifier.salt_hex, verifier.srp_b_hex, verifier.secret_block) == ("ab", "cd", "ef==")
    assert "cd" not in repr(verifier).replace("uuid", "")
    with pytest.raises(ProtocolError, match="SRP_B"):
        protocol.parse_password_verifier({**params, "SRP_B": ""})
    with pytest.raises(ProtocolError, match="USER_ID_FOR_SRP"):
        protocol.parse_password_verifier(
            {k: v for k, v in params.items() if k != "USER_ID_FOR_SRP"}
        )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('["SMS_MFA","SOFTWARE_TOKEN_MFA"]', (MfaType.SMS_MFA, MfaType.SOFTWARE_TOKEN_MFA)),
        ("['SOFTWARE_TOKEN_MFA']", (MfaType.SOFTWARE_TOKEN_MFA,)),  # moto's Python repr
        ('["EMAIL_OTP","WEB_AUTHN","EMAIL_OTP"]', (MfaType.EMAIL_OTP,)),
        ("[]", ()),
    ],
)
def test_parse_mfa_list(text: str, expected: tuple[MfaType, ...]) -> None:
    assert protocol.parse_mfa_list({"MFAS_CAN_CHOOSE": text}, "MFAS_CAN_CHOOSE") == expected


@pytest.mark.parametrize("text", ['"SMS_MFA"', "{not json", '{"a": 1}'])
def test_parse_mfa_list_refuses_garbage(text: str) -> None:
    with pytest.raises(ProtocolError):
        protocol.parse_mfa_list({"K": text}, "K")
    with pytest.raises(ProtocolError, match="MISSING"):
        protocol.parse_mfa_list({}, "MISSING")


def test_parse_code_delivery() -> None:
    assert protocol.parse_code_delivery(
        {"CODE_DELIVERY_DESTINATION": "+***1", "CODE_DELIVERY_DELIVERY_MEDIUM": "SMS"}
    ) == ("+***1", "SMS")
    assert protocol.parse_code_delivery({}) == (None, None)


def test_parse_new_password_required() -> None:
    required, attributes = protocol.parse_new_password_required(
        {
            "requiredAttributes": '["userAttributes.name"]',
            "userAttributes": '{"email": "a@b.c", "email_verified": "true", "phone": null}',
        }
    )
    assert required == ("name",)
    assert attributes == {"email": "a@b.c", "email_verified": "true"}
    assert protocol.parse_new_password_required({}) == ((), {})
    with pytest.raises(ProtocolError):
        protocol.parse_new_password_required({"userAttributes": "[1]"})
    with pytest.raises(ProtocolError):
        protocol.parse_new_password_required({"userAttributes": "{"})


def _revealed(pair: tuple[Any, Any]) -> tuple[Any, Any]:
    first, second = (v.get_secret_value() if isinstance(v, SecretStr) else v for v in pair)
    return first, second


def test_parse_software_token_answers() -> None:
    session = "S" * 20
    answer = protocol.parse_associate_software_token({"SecretCode": "ABC", "Session": session})
    assert _revealed(answer) == ("ABC", session)
    answer = protocol.parse_associate_software_token({"SecretCode": "ABC"})
    assert _revealed(answer) == ("ABC", None)
    with pytest.raises(ProtocolError):
        protocol.parse_associate_software_token({"Session": session})
    status = protocol.parse_verify_software_token({"Status": "SUCCESS", "Session": session})
    assert _revealed(status) == (protocol.VerifyStatus.SUCCESS, session)
    status = protocol.parse_verify_software_token({"Status": "ERROR"})
    assert status == (protocol.VerifyStatus.ERROR, None)
    # one parser for both callers: any other Status is Cognito answering nonsense
    for other in ({"Status": "PENDING"}, {}):
        with pytest.raises(ProtocolError):
            protocol.parse_verify_software_token(other)


# --- one wire layer: every Cognito wire key is spelled in protocol.py only ----------------------

WIRE_OPERATIONS = (
    "InitiateAuth",
    "AdminInitiateAuth",
    "RespondToAuthChallenge",
    "AdminRespondToAuthChallenge",
    "AssociateSoftwareToken",
    "VerifySoftwareToken",
    "SetUserMFAPreference",
    "AdminSetUserMFAPreference",
    "SetUserSettings",
    "GetUser",
    "AdminGetUser",
    "GlobalSignOut",
    "DescribeUserPoolClient",
)
# the keys of the string maps (AuthParameters, ChallengeParameters, ChallengeResponses)
MAP_KEYS = frozenset(
    {
        "USERNAME",
        "PASSWORD",
        "SRP_A",
        "SRP_B",
        "SALT",
        "SECRET_BLOCK",
        "SECRET_HASH",
        "REFRESH_TOKEN",
        "USER_ID_FOR_SRP",
        "PASSWORD_CLAIM_SIGNATURE",
        "PASSWORD_CLAIM_SECRET_BLOCK",
        "TIMESTAMP",
        "SMS_MFA_CODE",
        "SOFTWARE_TOKEN_MFA_CODE",
        "EMAIL_OTP_CODE",
        "ANSWER",
        "EMAIL",
        "NEW_PASSWORD",
        "MFAS_CAN_CHOOSE",
        "MFAS_CAN_SETUP",
        "CODE_DELIVERY_DESTINATION",
        "CODE_DELIVERY_DELIVERY_MEDIUM",
        "FRIENDLY_DEVICE_NAME",
        "requiredAttributes",
        "userAttributes",
    }
)


def _member_names(shape: Any, seen: set[str]) -> set[str]:
    if shape is None or shape.name in seen:
        return set()
    seen.add(shape.name)
    names: set[str] = set()
    for name, member in getattr(shape, "members", {}).items():
        names.add(name)
        names |= _member_names(member, seen)
    for attr in ("member", "key", "value"):
        names |= _member_names(getattr(shape, attr, None), seen)
    return names


def _wire_keys() -> set[str]:
    keys = set(MAP_KEYS)
    for operation in WIRE_OPERATIONS:
        model = MODEL.operation_model(operation)
        for shape in (model.input_shape, model.output_shape):
            keys |= _member_names(shape, set())
    return keys


def _literals(source: str) -> list[tuple[int, str]]:
    """String constants outside docstrings, f-string text and ``__all__``, with their lines."""
    tree = ast.parse(source)
    exported = {
        (node.lineno, node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Assign)
        and any(isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets)
        for node in ast.walk(node.value)
        if isinstance(node, ast.Constant)
    }
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    in_fstrings = {
        id(part)
        for node in ast.walk(tree)
        if isinstance(node, ast.JoinedStr)
        for part in node.values
    }
    return [
        (node.lineno, node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and id(node) not in docstrings
        and id(node) not in in_fstrings
        and (node.lineno, node.value) not in exported
    ]


# Literals that happen to equal a wire key without being one: an event of the machine, the
# short factor name users type, a DeliveryMedium value, and the names SRP errors give values.
NOT_WIRE_KEYS = frozenset(
    {
        ("_machine.py", "ANSWER"),
        ("models.py", "EMAIL"),
        ("preferences.py", "EMAIL"),
        ("_srp.py", "SRP_A"),
        ("_srp.py", "SRP_B"),
        ("_srp.py", "SALT"),
    }
)


def test_wire_keys_are_spelled_only_in_protocol() -> None:
    keys = _wire_keys()
    assert {"AuthenticationResult", "ChallengeParameters", "UserMFASettingList"} <= keys
    root = Path(protocol.__file__).parent
    assert any(value in keys for _, value in _literals((root / "_protocol.py").read_text()))
    found = []
    for path in sorted(root.glob("*.py")):  # the library; the emulator (testing/) is the server
        if path.name in ("_protocol.py", "_wire_keys.py"):
            continue  # _wire_keys.py: the definitions protocol.py shares with the emulator
        for line, value in _literals(path.read_text(encoding="utf-8")):
            if value in keys and (path.name, value) not in NOT_WIRE_KEYS:
                found.append(f"{path.name}:{line} {value!r}")
    assert not found, f"wire keys outside protocol.py: {found}"
