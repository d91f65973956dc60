"""The challenges a sign-in can hand to the caller, as frozen pydantic models.

One model per challenge Cognito may answer a first factor with (RespondToAuthChallenge API
reference; ``docs/protocol.md`` §3.1): ``SMS_MFA``, ``SOFTWARE_TOKEN_MFA``,
``EMAIL_OTP``, ``SELECT_MFA_TYPE``, ``MFA_SETUP`` and ``NEW_PASSWORD_REQUIRED``. They form the
discriminated union :data:`Challenge` on ``challenge_name``.

A challenge carries the useful parameters, parsed (masked delivery destination, the factors on
offer, required attributes), and answer methods that go through the :class:`ChallengeDriver`
of the :class:`~cognito_mfa.AuthFlow` that produced it. The challenge session never lives on
the model, so it cannot leak through a repr or a ``model_dump``; it stays in the flow (and in
``flow.state`` when saved).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, SecretStr

from ._checks import check_code, check_device_name, check_secret, check_string_map, check_text
from ._protocol import (
    mfa_code_responses,
    mfa_setup_email_responses,
    new_password_responses,
    parse_code_delivery,
    parse_friendly_device_name,
    parse_mfas_can_choose,
    parse_mfas_can_setup,
    parse_new_password_required,
    select_mfa_type_responses,
)
from .errors import FlowStateError, InvalidInput
from .models import MfaType

if TYPE_CHECKING:
    from .totp import SoftwareTokenSecret

__all__ = [
    "Challenge",
    "ChallengeDriver",
    "EmailOtpChallenge",
    "MfaCodeChallenge",
    "MfaSetupChallenge",
    "NewPasswordRequiredChallenge",
    "SelectMfaTypeChallenge",
    "SmsMfaChallenge",
    "SoftwareTokenMfaChallenge",
    "build_challenge",
    "check_code",
]


class ChallengeDriver(Protocol):
    """What a challenge model answers through: the driver of the flow that produced it.

    ``step`` names the challenge answered; the driver refuses (FlowStateError) an answer to a
    challenge that is no longer current. Implemented by :mod:`cognito_mfa._flow`; the models
    never reach into the flow itself.
    """

    async def respond(
        self, step: int, responses: Mapping[str, str], client_metadata: Mapping[str, str] | None
    ) -> None:
        """Answer the challenge with these ChallengeResponses (built by the protocol module)."""
        ...

    async def associate_software_token(self, step: int) -> SoftwareTokenSecret:
        """AssociateSoftwareToken with the challenge's session (MFA_SETUP)."""
        ...

    async def verify_software_token(
        self,
        step: int,
        code: SecretStr,
        friendly_device_name: str | None,
        client_metadata: Mapping[str, str] | None,
    ) -> None:
        """VerifySoftwareToken, then answer MFA_SETUP with the session it returned."""
        ...


class _ChallengeBase(BaseModel):
    model_config = ConfigDict(frozen=True)

    username: str
    """The name Cognito knows the user by (sent back as USERNAME), not the alias typed."""

    _driver: ChallengeDriver | None = PrivateAttr(default=None)
    _step: int = PrivateAttr(default=0)

    def bind(self, driver: ChallengeDriver, step: int) -> None:
        """Attach the model to the driver of its flow, as challenge number ``step``.

        Called by the flow that builds the model; a model built by hand has no driver and its
        answer methods raise FlowStateError.
        """
        self._driver = driver
        self._step = step

    def _require_driver(self) -> ChallengeDriver:
        if self._driver is None:
            raise FlowStateError("this challenge is not attached to a sign-in flow")
        return self._driver

    @property
    def step(self) -> int:
        """Which challenge of its flow this is (1 for the first); a new one gets a new number."""
        return self._step


class MfaCodeChallenge(_ChallengeBase):
    """Shared shape of the three code challenges (SMS, TOTP, email)."""

    mfa_type: ClassVar[MfaType]

    @property
    def code_length(self) -> int:
        """How many digits the code has."""
        return self.mfa_type.code_length

    async def answer(
        self, code: str | SecretStr, *, client_metadata: Mapping[str, str] | None = None
    ) -> None:
        """Send the code (a ``str`` or ``SecretStr``). On success the flow moves on (next
        challenge or tokens).

        Raises InvalidInput (not ``code_length`` digits, bad ``client_metadata``; nothing
        sent), CodeMismatch (wrong code: the same challenge may be answered again),
        SessionExpired / InvalidSession (start over), FlowStateError (answered already, or the
        flow is over), other ServiceError and TransportError subclasses.
        """
        __tracebackhide__ = True  # keeps the code out of pytest's failure output
        checked = check_code(code, self.code_length)
        await self._require_driver().respond(
            self.step, mfa_code_responses(self.mfa_type, checked), client_metadata
        )


class SmsMfaChallenge(MfaCodeChallenge):
    """``SMS_MFA``: a code was texted to ``destination`` (masked, e.g. ``+*******1234``)."""

    mfa_type: ClassVar[MfaType] = MfaType.SMS_MFA
    challenge_name: Literal["SMS_MFA"] = "SMS_MFA"
    destination: str | None = None
    delivery_medium: str | None = None


class SoftwareTokenMfaChallenge(MfaCodeChallenge):
    """``SOFTWARE_TOKEN_MFA``: a code from the user's authenticator app."""

    mfa_type: ClassVar[MfaType] = MfaType.SOFTWARE_TOKEN_MFA
    challenge_name: Literal["SOFTWARE_TOKEN_MFA"] = "SOFTWARE_TOKEN_MFA"
    friendly_device_name: str | None = None


class EmailOtpChallenge(MfaCodeChallenge):
    """``EMAIL_OTP``: a code was emailed to ``destination`` (masked, e.g. ``j***@e***``)."""

    mfa_type: ClassVar[MfaType] = MfaType.EMAIL_OTP
    challenge_name: Literal["EMAIL_OTP"] = "EMAIL_OTP"
    destination: str | None = None
    delivery_medium: str | None = None


class SelectMfaTypeChallenge(_ChallengeBase):
    """``SELECT_MFA_TYPE``: the user has several factors and none preferred; pick one."""

    challenge_name: Literal["SELECT_MFA_TYPE"] = "SELECT_MFA_TYPE"
    options: tuple[MfaType, ...]
    """The factors Cognito offers (MFAS_CAN_CHOOSE)."""

    async def select(
        self, mfa_type: MfaType | str, *, client_metadata: Mapping[str, str] | None = None
    ) -> None:
        """Choose a factor: the enum, a wire name (``SMS_MFA``) or a short name (``SMS``,
        ``SOFTWARE_TOKEN``, ``TOTP``, ``EMAIL``). The flow then yields that factor's challenge.

        Raises InvalidInput (unknown name) or FlowStateError (not offered) before anything is
        sent; otherwise as :meth:`MfaCodeChallenge.answer`.
        """
        chosen = MfaType.parse(mfa_type)
        if chosen not in self.options:
            raise FlowStateError(f"{chosen.value} was not offered by this challenge")
        await self._require_driver().respond(
            self.step, select_mfa_type_responses(chosen), client_metadata
        )


class MfaSetupChallenge(_ChallengeBase):
    """``MFA_SETUP``: the pool requires MFA and the user has none; set one up now.

    TOTP: ``secret = await associate_software_token()``, show it to the user (QR code), then
    ``await verify_software_token(code, "My Phone")``. Email (when ``EMAIL_OTP`` is offered):
    ``await setup_email("user@example.com")``, then answer the :class:`EmailOtpChallenge`.
    """

    challenge_name: Literal["MFA_SETUP"] = "MFA_SETUP"
    options: tuple[MfaType, ...]
    """The factors that can be set up (MFAS_CAN_SETUP)."""

    def _require_option(self, mfa_type: MfaType) -> None:
        if mfa_type not in self.options:
            raise FlowStateError(f"{mfa_type.value} cannot be set up in this challenge")

    async def associate_software_token(self) -> SoftwareTokenSecret:
        """AssociateSoftwareToken with the challenge session; returns the TOTP secret.

        Raises FlowStateError (TOTP not offered, or not the current step), SessionExpired,
        SoftwareTokenMFANotFound (TOTP disabled for the pool), other service/transport errors.
        """
        self._require_option(MfaType.SOFTWARE_TOKEN_MFA)
        return await self._require_driver().associate_software_token(self.step)

    async def verify_software_token(
        self,
        code: str | SecretStr,
        friendly_device_name: str | None = None,
        *,
        client_metadata: Mapping[str, str] | None = None,
    ) -> None:
        """VerifySoftwareToken, then answer MFA_SETUP with the session it returned.

        ``code`` is the 6-digit code (a ``str`` or ``SecretStr``); ``friendly_device_name``
        (optional, 1-1024 characters) names the authenticator in the user's settings.

        Raises InvalidInput (not 6 digits, a bad device name or ``client_metadata``; nothing
        sent), FlowStateError (call :meth:`associate_software_token` first),
        EnableSoftwareTokenMFA / CodeMismatch (wrong code: verify again), SessionExpired, other
        service/transport errors.
        """
        __tracebackhide__ = True  # keeps the code out of pytest's failure output
        checked = check_code(code, MfaType.SOFTWARE_TOKEN_MFA.code_length)
        if friendly_device_name is not None:
            check_device_name(friendly_device_name)
        await self._require_driver().verify_software_token(
            self.step, checked, friendly_device_name, client_metadata
        )

    async def setup_email(
        self, email: str, *, client_metadata: Mapping[str, str] | None = None
    ) -> None:
        """Answer MFA_SETUP with an email address; Cognito then sends an EMAIL_OTP challenge.

        Raises InvalidInput (not an address), FlowStateError (EMAIL_OTP not offered), and the
        errors of :meth:`MfaCodeChallenge.answer`.
        """
        if not isinstance(email, str) or "@" not in email.strip("@"):
            raise InvalidInput("email must be an email address")
        check_text(email, "email")
        self._require_option(MfaType.EMAIL_OTP)
        await self._require_driver().respond(
            self.step, mfa_setup_email_responses(email), client_metadata
        )


class NewPasswordRequiredChallenge(_ChallengeBase):
    """``NEW_PASSWORD_REQUIRED``: an admin-created user must choose a password.

    ``required_attributes`` must be given to :meth:`answer` unless already set;
    ``user_attributes`` are the current ones (names without the ``userAttributes.`` prefix).
    """

    challenge_name: Literal["NEW_PASSWORD_REQUIRED"] = "NEW_PASSWORD_REQUIRED"
    required_attributes: tuple[str, ...] = ()
    user_attributes: dict[str, str] = Field(default_factory=dict, repr=False)

    async def answer(
        self,
        new_password: str | SecretStr,
        attributes: Mapping[str, str] | None = None,
        *,
        client_metadata: Mapping[str, str] | None = None,
    ) -> None:
        """Set the new password (a ``str`` or ``SecretStr``) and required attributes (names
        without the ``userAttributes.`` prefix, mapped to strings). The flow may then ask for
        MFA.

        Raises InvalidInput (empty password, attributes that are not strings, a required
        attribute missing) before anything is sent; InvalidPassword (policy: answer again), and
        as :meth:`MfaCodeChallenge.answer`.
        """
        __tracebackhide__ = True  # keeps the password out of pytest's failure output
        password = check_secret(new_password, "new_password")
        given = check_string_map(attributes, "attributes", non_empty_keys=True) or {}
        missing = [
            name
            for name in self.required_attributes
            if not given.get(name) and name not in self.user_attributes
        ]
        if missing:
            raise InvalidInput(f"required attributes missing: {', '.join(missing)}")
        await self._require_driver().respond(
            self.step, new_password_responses(password, given), client_metadata
        )


Challenge = Annotated[
    SmsMfaChallenge
    | SoftwareTokenMfaChallenge
    | EmailOtpChallenge
    | SelectMfaTypeChallenge
    | MfaSetupChallenge
    | NewPasswordRequiredChallenge,
    Field(discriminator="challenge_name"),
]
"""Any challenge a flow can yield, discriminated on ``challenge_name``."""


def build_challenge(name: str, parameters: Mapping[str, str], username: str) -> Challenge:
    """The typed challenge for a supported ChallengeName and its ChallengeParameters.

    Raises ProtocolError when a parameter it needs is missing or malformed; a KeyError for a
    name outside :data:`~cognito_mfa._protocol.SUPPORTED_CHALLENGES` (a programming error: the
    flow checks first).
    """
    common: dict[str, Any] = {"username": username}
    if name == "SMS_MFA":
        destination, medium = parse_code_delivery(parameters)
        return SmsMfaChallenge(destination=destination, delivery_medium=medium, **common)
    if name == "SOFTWARE_TOKEN_MFA":
        return SoftwareTokenMfaChallenge(
            friendly_device_name=parse_friendly_device_name(parameters), **common
        )
    if name == "EMAIL_OTP":
        destination, medium = parse_code_delivery(parameters)
        return EmailOtpChallenge(destination=destination, delivery_medium=medium, **common)
    if name == "SELECT_MFA_TYPE":
        return SelectMfaTypeChallenge(options=parse_mfas_can_choose(parameters), **common)
    if name == "MFA_SETUP":
        return MfaSetupChallenge(options=parse_mfas_can_setup(parameters), **common)
    if name == "NEW_PASSWORD_REQUIRED":
        required, attributes = parse_new_password_required(parameters)
        return NewPasswordRequiredChallenge(
            required_attributes=required, user_attributes=attributes, **common
        )
    raise KeyError(name)
