"""The sign-in family: InitiateAuth and RespondToAuthChallenge, user-facing and admin.

First factors: USER_SRP_AUTH (real SRP-6a as Cognito runs it: PASSWORD_VERIFIER with SALT,
SRP_B and SECRET_BLOCK, the answer's TIMESTAMP checked against the emulator's clock),
USER_PASSWORD_AUTH / ADMIN_USER_PASSWORD_AUTH, and the refresh flows (see :mod:`._tokens`).
Then what follows the password: NEW_PASSWORD_REQUIRED for FORCE_CHANGE_PASSWORD users, and
the MFA table (SMS_MFA, SOFTWARE_TOKEN_MFA, EMAIL_OTP, SELECT_MFA_TYPE, MFA_SETUP) from the
pool's MFA configuration and the user's enabled and preferred factors.

Wrong passwords and wrong MFA codes each count towards a per-user lockout as the Cognito
developer guide describes it: from the fifth failure in a row, 2^(n-5) seconds (at most 15
minutes) during which attempts are answered "Password attempts exceeded" unchecked; 15 quiet
minutes or a success start the count afresh. docs/emulator-fidelity.md lists what is confirmed.
Sources: the API reference pages of the four operations; "User pool authentication flow" and
"Adding MFA to a user pool" in the developer guide.
"""

from __future__ import annotations

import base64
import hmac
import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

from .. import _srp as srp
from .._wire_keys import MFA_CODE_KEYS
from . import _codes, _devices
from ._admin import change_attributes, check_policy, password_matches, set_password
from ._mfa import totp_accepts
from ._model import AuthSession, Client, Device, Pool, SrpState, User
from ._shapes import challenge
from ._state import (
    MSG_ATTEMPTS_EXCEEDED,
    MSG_BAD_PASSWORD,
    MSG_NO_USER,
    MSG_SESSION,
    Model,
    not_authorized,
)
from ._tokens import check_secret_hash, issue, refresh_auth
from ._wire import CognitoError, invalid

__all__ = ["HANDLERS"]

_MSG_SESSION_EXPIRED: Final = "Invalid session for the user, session is expired."
_WRONG_CODE: Final = {
    "SMS_MFA": "Invalid code or auth state for the user.",
    "SOFTWARE_TOKEN_MFA": "Invalid code received for user",
    # UNCONFIRMED: the EMAIL_OTP text; SMS's wording is the closest observed one
    "EMAIL_OTP": "Invalid code or auth state for the user.",
}
_USER_FLOWS: Final = frozenset(
    {"USER_SRP_AUTH", "USER_PASSWORD_AUTH", "REFRESH_TOKEN_AUTH", "REFRESH_TOKEN"}
)
_ADMIN_FLOWS: Final = frozenset(
    {
        "USER_SRP_AUTH",
        "ADMIN_USER_PASSWORD_AUTH",
        "ADMIN_NO_SRP_AUTH",
        "REFRESH_TOKEN_AUTH",
        "REFRESH_TOKEN",
    }
)


@dataclass
class Step:
    """One sign-in step: who signs in, where, and (answering a challenge) with what."""

    model: Model
    pool: Pool
    client: Client
    user: User
    admin: bool
    session: AuthSession | None = None
    responses: dict[str, str] = field(default_factory=dict)
    device_key: str | None = None  # a known device of the user (DEVICE_KEY)
    srp_flow: bool = False  # user-side SRP: a remembered device may stand in for MFA

    def challenge(self, name: str, parameters: dict[str, str], **extra: Any) -> dict[str, Any]:
        """Open a session for challenge ``name`` and answer with it."""
        session = self.new_session(name, **extra)
        return challenge(session, parameters)

    def new_session(self, name: str, **extra: Any) -> AuthSession:
        return self.model.new_session(
            self.pool,
            self.client,
            self.user,
            name,
            admin=self.admin,
            device_key=self.device_key,
            srp_flow=self.srp_flow,
            **extra,
        )

    def tokens(self) -> dict[str, Any]:
        device, new = _devices.bind(self.model, self.pool, self.user, self.device_key)
        result = issue(
            self.model,
            self.pool,
            self.client,
            self.user,
            device_key=device.key if device is not None else None,
        )
        if device is not None and new:
            result["NewDeviceMetadata"] = {
                "DeviceKey": device.key,
                "DeviceGroupKey": device.group_key,
            }
        return {"ChallengeParameters": {}, "AuthenticationResult": result}

    def spend(self) -> None:
        if self.session is not None:
            self.model.spend(self.session)


def _lockout_check(step: Step) -> None:
    """Refuse, unchecked, a password attempt during the user's lockout."""
    if step.model.settings.password_lockout and step.user.password_lockout.locked(step.model.now()):
        raise not_authorized(MSG_ATTEMPTS_EXCEEDED)


def _wrong_password(step: Step) -> CognitoError:
    step.user.password_lockout.fail(step.model.now())
    return not_authorized(MSG_BAD_PASSWORD)


# --- first factor -------------------------------------------------------------------------------


def _initiate(model: Model, data: dict[str, Any], *, admin: bool) -> dict[str, Any]:
    pool, client = model.client(data["ClientId"], data["UserPoolId"] if admin else None)
    flow = data["AuthFlow"]
    params: dict[str, str] = data.get("AuthParameters", {})
    if flow not in (_ADMIN_FLOWS if admin else _USER_FLOWS):
        # CUSTOM_AUTH and USER_AUTH are not emulated; the admin/user flows are disjoint
        raise invalid("Initiate Auth method not supported.")
    if flow in ("REFRESH_TOKEN_AUTH", "REFRESH_TOKEN"):
        return refresh_auth(model, pool, client, params)
    if not client.allows(flow):
        raise invalid(f"{flow} flow not enabled for this client")
    username = params.get("USERNAME")
    if username is None:
        raise invalid("Missing required parameter USERNAME")
    check_secret_hash(client, username, params.get("SECRET_HASH"))
    user = model.user(pool, username)
    if user is None:
        raise CognitoError("UserNotFoundException", MSG_NO_USER)
    if not user.enabled:
        raise not_authorized("User is disabled.")
    step = Step(model, pool, client, user, admin, srp_flow=flow == "USER_SRP_AUTH" and not admin)
    device_key = params.get("DEVICE_KEY")
    if device_key is not None:
        # an unknown device is refused before anything starts (the client retries without)
        step.device_key = _devices.known_device(user, device_key).key
    if flow == "USER_SRP_AUTH":
        return _start_srp(step, params)
    password = params.get("PASSWORD")
    if password is None:
        raise invalid("Missing required parameter PASSWORD")
    _lockout_check(step)
    if not password_matches(pool, user, password):
        raise _wrong_password(step)
    user.password_lockout.clear()
    return _after_password(step)


def _srp_a(params: dict[str, str]) -> str:
    srp_a = params.get("SRP_A")
    if srp_a is None:
        raise invalid("Missing required parameter SRP_A")
    try:
        big_a = int(srp_a, 16)
    except ValueError:
        big_a = 0
    if big_a <= 0 or big_a % srp.N == 0:
        # UNCONFIRMED: Cognito's answer to an unusable SRP_A
        raise invalid("Invalid SRP_A")
    return srp_a


def _srp_state(model: Model, verifier: int, srp_a: str) -> SrpState:
    """The server's half of one SRP exchange: b, B and a fresh SECRET_BLOCK."""
    b = srp.secret_exponent(model.random(srp.SECRET_EXPONENT_BITS // 8))
    big_b = srp.server_public(verifier, b)
    block = base64.b64encode(model.random(96)).decode()
    return SrpState(b=b, big_b=big_b, secret_block=block, srp_a=srp_a)


def _start_srp(step: Step, params: dict[str, str]) -> dict[str, Any]:
    srp_a = _srp_a(params)
    user = step.user
    if user.salt == 0:
        raise not_authorized(MSG_BAD_PASSWORD)
    state = _srp_state(step.model, user.verifier, srp_a)
    session = step.new_session("PASSWORD_VERIFIER", srp=state)
    block, big_b = state.secret_block, state.big_b
    # current Cognito's Session here is UNCONFIRMED; sending one is harmless and the answer is
    # accepted with or without it
    return challenge(
        session,
        {
            "SALT": srp.pad_hex(user.salt),
            "SECRET_BLOCK": block,
            "SRP_B": format(big_b, "x"),
            "USERNAME": user.username,
            "USER_ID_FOR_SRP": user.username,
        },
    )


# --- what follows the password ------------------------------------------------------------------


def _after_password(step: Step) -> dict[str, Any]:
    user, pool = step.user, step.pool
    if user.status == "FORCE_CHANGE_PASSWORD":
        attributes = {k: v for k, v in user.attributes.items() if k != "sub"}
        missing = [
            f"userAttributes.{name}"
            for name in pool.required_attributes
            if name not in user.attributes
        ]
        return step.challenge(
            "NEW_PASSWORD_REQUIRED",
            {
                "USER_ID_FOR_SRP": user.username,
                "requiredAttributes": json.dumps(missing),
                "userAttributes": json.dumps(attributes),
            },
        )
    return _mfa_or_tokens(step)


def _usable_factors(pool: Pool, user: User) -> list[str]:
    usable = []
    for name in user.enabled_factors():
        if name == "SMS_MFA" and pool.sms_mfa and "phone_number" in user.attributes:
            usable.append(name)
        elif name == "SOFTWARE_TOKEN_MFA" and user.totp_secret is not None:
            # a user keeps TOTP even after the pool turns TOTP off
            usable.append(name)
        elif name == "EMAIL_OTP" and pool.email_mfa and "email" in user.attributes:
            usable.append(name)
    return usable


def _device_stands_in(step: Step, factors: list[str]) -> bool:
    return step.srp_flow and _devices.stands_in(
        step.model, step.pool, step.user, step.device_key, factors
    )


def _mfa_or_tokens(step: Step) -> dict[str, Any]:
    """Which challenge (or tokens) follows the first factor."""
    pool, user = step.pool, step.user
    if pool.mfa == "OFF":
        return step.tokens()
    enabled = _usable_factors(pool, user)
    if enabled:
        offered = [user.preferred] if user.preferred in enabled else enabled
        if _device_stands_in(step, offered):
            return _start_device_srp(step)
        if len(offered) == 1:
            return _start_factor(step, offered[0])
        return step.challenge(
            "SELECT_MFA_TYPE",
            {"MFAS_CAN_CHOOSE": json.dumps(enabled), "USER_ID_FOR_SRP": user.username},
            options=enabled,
        )
    if pool.mfa == "OPTIONAL":
        return step.tokens()
    if pool.sms_mfa and "phone_number" in user.attributes:
        # ON + a phone + no preference: Cognito uses SMS implicitly (amplify-js #11258)
        if _device_stands_in(step, ["SMS_MFA"]):
            return _start_device_srp(step)
        return _start_factor(step, "SMS_MFA")
    can_setup = [
        name
        for name, allowed in (("SOFTWARE_TOKEN_MFA", pool.totp_mfa), ("EMAIL_OTP", pool.email_mfa))
        if allowed
    ]
    if not can_setup:
        # UNCONFIRMED: an ON pool whose only factor is SMS, for a user without a phone
        can_setup = ["SMS_MFA"]
    return step.challenge(
        "MFA_SETUP",
        {"MFAS_CAN_SETUP": json.dumps(can_setup), "USER_ID_FOR_SRP": user.username},
        options=can_setup,
    )


def _start_factor(step: Step, name: str, *, email: str | None = None) -> dict[str, Any]:
    user, model = step.user, step.model
    if name == "SOFTWARE_TOKEN_MFA":
        parameters = {"USER_ID_FOR_SRP": user.username}
        if user.totp_friendly_name:
            parameters["FRIENDLY_DEVICE_NAME"] = user.totp_friendly_name
        return step.challenge(name, parameters)
    if name == "SMS_MFA":
        to = user.attributes["phone_number"]
        code = model.send(step.pool, user, "SMS", to)
        medium, masked = "SMS", _codes.mask_phone(to)
    else:
        to = email if email is not None else user.attributes["email"]
        code = model.send(step.pool, user, "EMAIL", to)
        medium, masked = "EMAIL", _codes.mask_email(to)
    return step.challenge(
        name,
        {
            "CODE_DELIVERY_DELIVERY_MEDIUM": medium,
            "CODE_DELIVERY_DESTINATION": masked,
            "USER_ID_FOR_SRP": user.username,
        },
        code=code,
        pending_email=email,
    )


def _start_device_srp(step: Step) -> dict[str, Any]:
    """A remembered device proves itself instead of the MFA challenge (DEVICE_SRP_AUTH)."""
    user = step.user
    return step.challenge(
        "DEVICE_SRP_AUTH", {"USERNAME": user.username, "USER_ID_FOR_SRP": user.username}
    )


# --- challenge answers --------------------------------------------------------------------------


def _respond(model: Model, data: dict[str, Any], *, admin: bool) -> dict[str, Any]:
    pool, client = model.client(data["ClientId"], data["UserPoolId"] if admin else None)
    name = data["ChallengeName"]
    responses: dict[str, str] = data.get("ChallengeResponses", {})
    token = data.get("Session")
    if name == "DEVICE_SRP_AUTH" and token is None:
        # the official clients send the Session here, pycognito does not: the open device
        # challenge of this user and device stands for it
        token = _device_session(model, pool, client, responses)
    if name in ("PASSWORD_VERIFIER", "DEVICE_PASSWORD_VERIFIER") and token is None:
        # pycognito answers without Session; the state is bound to SECRET_BLOCK
        block = responses.get("PASSWORD_CLAIM_SECRET_BLOCK")
        if block is None:
            raise invalid("Missing required parameter PASSWORD_CLAIM_SECRET_BLOCK")
        token = model.secret_blocks.get(block)
        if token is None:
            raise not_authorized(MSG_SESSION)
    if token is None:
        raise invalid("Missing required parameter Session")
    session = model.session(token)
    if session.client_id != client.id or session.pool_id != pool.id:
        raise not_authorized(MSG_SESSION)
    username = responses.get("USERNAME")
    if username is None:
        raise invalid("Missing required parameter USERNAME")
    if not pool.same_name(username, session.username):
        # later steps must name the internal user (USER_ID_FOR_SRP), in any case when the
        # pool ignores case (assumed); an alias is not resolved here (pycognito #193: "User
        # does not exist." for the email)
        if pool.find_user(username, aliases=False) is None:
            raise CognitoError("UserNotFoundException", MSG_NO_USER)
        raise not_authorized(MSG_SESSION)
    pool, client, user = model.session_user(session)
    check_secret_hash(client, username, responses.get("SECRET_HASH"))
    if name != session.challenge:
        if name == "SOFTWARE_TOKEN_MFA" and user.totp_secret is None:
            raise CognitoError(
                "SoftwareTokenMFANotFoundException",
                "Software Token MFA has not been enabled for the user",
            )
        # UNCONFIRMED: Cognito's text for answering a different challenge than was asked
        raise invalid(f"Invalid challenge name {name} for this session")
    step = Step(
        model,
        pool,
        client,
        user,
        session.admin,
        session,
        responses,
        device_key=session.device_key,
        srp_flow=session.srp_flow,
    )
    if name == "PASSWORD_VERIFIER":
        return _answer_password_verifier(step)
    if name == "DEVICE_SRP_AUTH":
        return _answer_device_srp_auth(step)
    if name == "DEVICE_PASSWORD_VERIFIER":
        return _answer_device_password_verifier(step)
    if name in MFA_CODE_KEYS:
        return _answer_code(step)
    if name == "SELECT_MFA_TYPE":
        answer = responses.get("ANSWER")
        if answer is None:
            raise invalid("Missing required parameter ANSWER")
        if answer not in session.options:
            # UNCONFIRMED: the text for an answer not in MFAS_CAN_CHOOSE
            raise invalid("Invalid MFA type selected")
        step.spend()
        return _start_factor(step, answer)
    if name == "MFA_SETUP":
        return _answer_mfa_setup(step)
    return _answer_new_password(step)


def _device_session(model: Model, pool: Pool, client: Client, responses: dict[str, str]) -> str:
    """The newest open DEVICE_SRP_AUTH session of this client, user and device."""
    username, device_key = responses.get("USERNAME"), responses.get("DEVICE_KEY")
    for token, session in reversed(model.sessions.items()):
        if (
            session.challenge == "DEVICE_SRP_AUTH"
            and not session.used
            and session.client_id == client.id
            and username is not None
            and pool.same_name(username, session.username)
            and session.device_key == device_key
        ):
            return token
    raise not_authorized(MSG_SESSION)


def _timestamp_problem(model: Model, text: str) -> bool:
    """Whether TIMESTAMP is malformed or too far from the emulator's clock."""
    try:
        moment: datetime = srp.parse_timestamp(text)
    except srp.SrpError:
        # e.g. a zero-padded day, which Cognito refuses
        return True
    tolerance = model.settings.timestamp_tolerance
    return tolerance is not None and abs(moment.timestamp() - model.now()) > tolerance


def _answer_password_verifier(step: Step) -> dict[str, Any]:
    session, responses, model = step.session, step.responses, step.model
    assert session is not None
    state = session.srp
    if state is None:  # pragma: no cover - PASSWORD_VERIFIER sessions always carry it
        raise not_authorized(MSG_SESSION)
    _require_claim(responses)
    device_key = responses.get("DEVICE_KEY")
    if device_key is not None:
        # refused without spending the session: the official clients forget the device and
        # answer again without it
        step.device_key = _devices.known_device(step.user, device_key).key
        session.device_key = step.device_key
    timeout = model.settings.password_verifier_timeout
    if timeout is not None and model.now() - session.created > timeout:
        # "respond ... within a few seconds"; the limit is UNCONFIRMED (opt-in here)
        step.spend()
        raise not_authorized(_MSG_SESSION_EXPIRED)
    # a failed proof ends the attempt: the client must start the sign-in again
    step.spend()
    if _timestamp_problem(model, responses["TIMESTAMP"]):
        raise not_authorized(MSG_BAD_PASSWORD)
    _lockout_check(step)
    if not _claim_holds(
        responses, state, step.user.verifier, step.pool.pool_name, step.user.username
    ):
        raise _wrong_password(step)
    step.user.password_lockout.clear()
    return _after_password(step)


def _require_claim(responses: dict[str, str]) -> None:
    for needed in ("PASSWORD_CLAIM_SECRET_BLOCK", "PASSWORD_CLAIM_SIGNATURE", "TIMESTAMP"):
        if needed not in responses:
            raise invalid(f"Missing required parameter {needed}")


def _claim_holds(
    responses: dict[str, str], state: SrpState, verifier: int, pool_name: str, user_id: str
) -> bool:
    """Whether the answer proves the password behind ``verifier`` (real SRP, constant time)."""
    ok = hmac.compare_digest(
        responses["PASSWORD_CLAIM_SECRET_BLOCK"].encode(), state.secret_block.encode()
    )
    try:
        key = srp.server_key(srp_a_hex=state.srp_a, v=verifier, b=state.b, big_b=state.big_b)
    except srp.SrpError:
        return False
    return (
        srp.verify_password_claim(
            key,
            pool_name,
            user_id,
            state.secret_block,
            responses["TIMESTAMP"],
            responses["PASSWORD_CLAIM_SIGNATURE"],
        )
        and ok
    )


def _session_device(step: Step, given: str | None) -> Device:
    """The device a device step is about: the session's, still confirmed."""
    if given is not None and given != step.device_key:
        raise not_authorized(MSG_SESSION)
    device = step.user.devices.get(step.device_key or "")
    if device is None or not device.confirmed:
        # forgotten since the sign-in began
        raise CognitoError("ResourceNotFoundException", _devices.MSG_NO_DEVICE)
    return device


def _answer_device_srp_auth(step: Step) -> dict[str, Any]:
    """DEVICE_SRP_AUTH {USERNAME, DEVICE_KEY, SRP_A} -> DEVICE_PASSWORD_VERIFIER."""
    responses = step.responses
    given = responses.get("DEVICE_KEY")
    if given is None:
        raise invalid("Missing required parameter DEVICE_KEY")
    srp_a = _srp_a(responses)
    device = _session_device(step, given)
    step.spend()
    state = _srp_state(step.model, device.verifier, srp_a)
    return step.challenge(
        "DEVICE_PASSWORD_VERIFIER",
        {
            "DEVICE_KEY": device.key,
            "SALT": srp.pad_hex(device.salt),
            "SECRET_BLOCK": state.secret_block,
            "SRP_B": format(state.big_b, "x"),
            "USERNAME": step.user.username,
        },
        srp=state,
    )


def _answer_device_password_verifier(step: Step) -> dict[str, Any]:
    """The device's proof, checked against the verifier ConfirmDevice stored: then tokens.

    The device group key stands where the pool name stands in a user's proof, the device key
    where the user name does.
    """
    session, responses, model = step.session, step.responses, step.model
    assert session is not None
    state = session.srp
    if state is None:  # pragma: no cover - DEVICE_PASSWORD_VERIFIER sessions always carry it
        raise not_authorized(MSG_SESSION)
    _require_claim(responses)
    device = _session_device(step, responses.get("DEVICE_KEY"))
    # one proof per exchange, as for the password
    step.spend()
    if _timestamp_problem(model, responses["TIMESTAMP"]):
        raise not_authorized(MSG_BAD_PASSWORD)
    if not _claim_holds(responses, state, device.verifier, device.group_key, device.key):
        # UNCONFIRMED text for a wrong device password
        raise not_authorized(MSG_BAD_PASSWORD)
    return step.tokens()


def _answer_code(step: Step) -> dict[str, Any]:
    session, user, model = step.session, step.user, step.model
    assert session is not None
    name = session.challenge
    key = MFA_CODE_KEYS[name]
    code = step.responses.get(key)
    if code is None:
        raise invalid(f"Missing required parameter {key}")
    now = model.now()
    if model.settings.mfa_lockout and user.mfa_lockout.locked(now):
        # refused unchecked during a lockout, and the lockout is not extended
        raise not_authorized(MSG_ATTEMPTS_EXCEEDED)
    if name == "SOFTWARE_TOKEN_MFA":
        if user.totp_secret is None:
            raise CognitoError(
                "SoftwareTokenMFANotFoundException",
                "Software Token MFA has not been enabled for the user",
            )
        ok = totp_accepts(model, user, user.totp_secret, code)
    else:
        expected = session.code or ""
        ok = hmac.compare_digest(expected.encode(), code.encode())
    if not ok:
        # the session survives a wrong code, up to the attempt limit
        session.attempts += 1
        if session.attempts >= model.settings.mfa_attempt_limit:
            session.dead = True
        user.mfa_lockout.fail(now)
        raise CognitoError("CodeMismatchException", _WRONG_CODE[name])
    # a successful sign-in ends the lockout process
    user.mfa_lockout.clear()
    pending_email = session.pending_email
    if pending_email is not None:
        # MFA_SETUP answered with EMAIL: the confirmed address becomes the user's factor, a
        # verified one; another user's email alias is refused before the session is spent
        # (assumed, as VerifyUserAttribute is reported to refuse it)
        changes = {"email": pending_email, "email_verified": "true"}
        change_attributes(step.model, step.pool, user, changes, move=False)
        user.email_enabled = True
    step.spend()
    return step.tokens()


def _answer_mfa_setup(step: Step) -> dict[str, Any]:
    session, user = step.session, step.user
    assert session is not None
    if session.setup_state == "verified":
        step.spend()
        user.totp_enabled = True
        user.modified = step.model.now()
        return step.tokens()
    email = step.responses.get("EMAIL")
    if email is not None and "EMAIL_OTP" in session.options and session.setup_state == "":
        # Amplify v6 answers MFA_SETUP with EMAIL; UNCONFIRMED what follows: an EMAIL_OTP
        # challenge to that address, whose answer enables email MFA
        step.spend()
        return _start_factor(step, "EMAIL_OTP", email=email)
    # UNCONFIRMED: answering MFA_SETUP before any factor was set up
    raise CognitoError("MFAMethodNotFoundException", "No MFA method has been set up.")


def _answer_new_password(step: Step) -> dict[str, Any]:
    pool, user, responses = step.pool, step.user, step.responses
    password = responses.get("NEW_PASSWORD")
    if password is None:
        raise invalid("Missing required parameter NEW_PASSWORD")
    check_policy(pool, password)
    given = {
        key.removeprefix("userAttributes."): value
        for key, value in responses.items()
        if key.startswith("userAttributes.")
    }
    for name in pool.required_attributes:
        if name not in user.attributes and not given.get(name):
            raise invalid(
                f"Attributes did not conform to the schema: {name}: The attribute is required"
            )
    # the user's own change: another user's alias is refused (no ForceAliasCreation here),
    # before the password is set
    changes = {name: value for name, value in given.items() if name != "sub"}
    change_attributes(step.model, pool, user, changes, move=False)
    set_password(step.model, pool, user, password)
    user.status = "CONFIRMED"
    user.modified = step.model.now()
    step.spend()
    return _mfa_or_tokens(step)


HANDLERS: Final = {
    "InitiateAuth": lambda model, data: _initiate(model, data, admin=False),
    "AdminInitiateAuth": lambda model, data: _initiate(model, data, admin=True),
    "RespondToAuthChallenge": lambda model, data: _respond(model, data, admin=False),
    "AdminRespondToAuthChallenge": lambda model, data: _respond(model, data, admin=True),
}
