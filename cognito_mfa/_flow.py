"""The async driver of a sign-in, :class:`AuthFlow`, and its saved form :class:`FlowState`.

Ports amazon-cognito-identity-js's ``authenticateUser`` / ``sendMFACode`` /
``sendMFASelectionAnswer`` / ``associateSoftwareToken`` / ``verifySoftwareToken`` (see
``docs/protocol.md`` §3, §8) as an async iterator of typed challenges. The pure state
machine it drives (phases, events, the transition table and its rules) is
:mod:`cognito_mfa._machine`, re-exported here; the driver adds the network (through the pool's
transport), the clock and randomness, and the SRP math in worker threads.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from functools import partial
from typing import TYPE_CHECKING, Any, ClassVar, Literal

import anyio
import anyio.to_thread
from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_serializer, model_validator

from . import _protocol as protocol
from . import _srp as srp
from ._checks import check_string_map
from ._defaults import default_clock, default_random_bytes, srp_limiter
from ._hidden import Hidden, without_frames
from ._limits import MAX_TEXT, check_tree
from ._machine import (
    CALLER_EVENTS,
    IN_FLIGHT_PHASES,
    INTERNAL_CHALLENGES,
    RESUMABLE_PHASES,
    SERVER_EVENTS,
    SUPPORTED_CHALLENGES,
    TERMINAL_PHASES,
    TRANSITIONS,
    Event,
    FlowMachine,
    Phase,
    is_retryable_rejection,
    transitions_mermaid,
)
from ._protocol import DEVICE_CHALLENGES, AuthFlowType, Call, ChallengeStep, TokensStep
from ._transport import NOT_OPEN
from .challenges import Challenge, MfaCodeChallenge, SelectMfaTypeChallenge, build_challenge
from .errors import (
    CodeMismatch,
    DeviceNotFound,
    EnableSoftwareTokenMFA,
    FlowStateError,
    InvalidInput,
    PoolClosed,
    ProtocolError,
    ServiceError,
)
from .models import CognitoUserSession, DeviceCredentials, MfaType

if TYPE_CHECKING:
    from .pool import UserPool
    from .totp import SoftwareTokenSecret

__all__ = [
    "CALLER_EVENTS",
    "INTERNAL_CHALLENGES",
    "IN_FLIGHT_PHASES",
    "RESUMABLE_PHASES",
    "SERVER_EVENTS",
    "SUPPORTED_CHALLENGES",
    "TERMINAL_PHASES",
    "TRANSITIONS",
    "AuthFlow",
    "Event",
    "FlowDriver",
    "FlowMachine",
    "FlowState",
    "Phase",
    "default_clock",
    "default_random_bytes",
    "is_retryable_rejection",
    "srp_limiter",
    "transitions_mermaid",
]

logger = logging.getLogger("cognito_mfa.flow")


class FlowState(BaseModel):
    """A sign-in paused at a challenge, to continue later with ``pool.resume(state)``.

    **This is a bearer secret**: it holds Cognito's challenge session, and whoever has it can
    finish the sign-in with the second factor alone. ``repr`` masks the session, but
    ``model_dump_json()`` writes it in clear so the state survives a process boundary: keep the
    JSON server-side (never in a URL or an unencrypted cookie), and drop it once used. Cognito
    expires it after the app client's AuthSessionValidity (3 minutes by default); resuming an
    expired one raises :class:`~cognito_mfa.errors.SessionExpired`.
    """

    model_config = ConfigDict(frozen=True, hide_input_in_errors=True)

    MAX_JSON: ClassVar[int] = MAX_TEXT
    """The longest saved state ``pool.resume`` parses (characters or bytes)."""

    version: Literal[1] = 1
    pool_id: str
    client_id: str
    admin: bool = False
    phase: Literal["CHALLENGED", "ASSOCIATED"] = "CHALLENGED"
    challenge_name: str
    challenge_parameters: dict[str, str] = Field(default_factory=dict, repr=False)
    username: str = Field(min_length=1)
    # Cognito's SessionType: 20 to 2048 characters
    session: SecretStr = Field(min_length=20, max_length=2048)
    client_metadata: dict[str, str] | None = Field(default=None, repr=False)
    device_key: str | None = Field(default=None, max_length=55)
    """The remembered device the sign-in named (its key only: the device password is not
    needed past the first factor and is never saved here)."""

    @field_serializer("session", when_used="json")
    def _reveal(self, value: SecretStr) -> str:
        return value.get_secret_value()

    @model_validator(mode="after")
    def _bounded(self) -> FlowState:
        # a saved state comes from outside: refuse what could not be sent (lone surrogates)
        # or could not be parsed within bounds, before anything else reads it
        for what, value in (
            ("pool_id", self.pool_id),
            ("client_id", self.client_id),
            ("challenge_name", self.challenge_name),
            ("challenge_parameters", self.challenge_parameters),
            ("username", self.username),
            ("session", self.session.get_secret_value()),
            ("client_metadata", self.client_metadata),
            ("device_key", self.device_key),
        ):
            check_tree(value, f"the saved state's {what}", error=InvalidInput)
        return self


class AuthFlow:
    """One sign-in: iterate it for the challenges (``async for challenge in flow``).

    Created by :meth:`UserPool.sign_in <cognito_mfa.UserPool.sign_in>`,
    :meth:`~cognito_mfa.UserPool.admin_sign_in` or :meth:`~cognito_mfa.UserPool.resume`;
    nothing is sent until it is iterated. PASSWORD_VERIFIER is answered inside; each other
    challenge is yielded and must be answered (through its methods or :meth:`send_mfa_code` /
    :meth:`send_mfa_selection_answer`) before the loop asks for the next. When the loop ends,
    :attr:`tokens` holds the tokens.

    Iterating raises whatever the sign-in raises (NotAuthorized for a wrong password,
    UnsupportedChallenge, ...); after an error the flow is FAILED and a new sign-in is needed,
    except after a wrong code (see the challenge's ``answer``).
    """

    def __init__(
        self,
        pool: UserPool,
        *,
        username: str,
        password: SecretStr | None,
        auth_flow: AuthFlowType,
        admin: bool,
        client_metadata: Mapping[str, str] | None,
        machine: FlowMachine | None = None,
        device: DeviceCredentials | None = None,
        device_key: str | None = None,
    ) -> None:
        self._pool = pool
        self._password = password
        # the device's credentials are needed until the device SRP is done, its key to the end
        self._device = device
        self._device_key = device.device_key if device is not None else device_key
        self._auth_flow = auth_flow
        self._admin = admin
        self._client_metadata = dict(client_metadata) if client_metadata else None
        self._machine = machine or FlowMachine(username=username)
        self._challenge: Challenge | None = None
        self._session: CognitoUserSession | None = None
        self._driver = FlowDriver(self)
        if self._machine.phase in RESUMABLE_PHASES:
            self._challenge = self._build_challenge()

    def __repr__(self) -> str:
        challenge = self._machine.challenge_name if self._challenge else None
        return f"<AuthFlow phase={self._machine.phase.value} challenge={challenge}>"

    # --- public face --------------------------------------------------------------------

    @property
    def phase(self) -> Phase:
        """Where the sign-in stands."""
        return self._machine.phase

    @property
    def challenge(self) -> Challenge | None:
        """The challenge waiting for an answer, or None."""
        if self._machine.phase in RESUMABLE_PHASES:
            return self._challenge
        return None

    @property
    def done(self) -> bool:
        return self._machine.phase is Phase.DONE

    @property
    def tokens(self) -> CognitoUserSession:
        """The tokens, once signed in. Raises FlowStateError before that."""
        if self._session is None:
            raise FlowStateError(f"not signed in yet (phase {self._machine.phase.value})")
        return self._session

    @property
    def session(self) -> CognitoUserSession:
        """The tokens, once signed in: the same as :attr:`tokens` (``flow.session.new_device``
        reads the same as ``flow.tokens.new_device``). Raises FlowStateError before that."""
        return self.tokens

    @property
    def state(self) -> FlowState:
        """The flow paused at its current challenge, to resume elsewhere. A bearer secret.

        Raises FlowStateError when the flow is not waiting for the caller.
        """
        machine = self._machine
        if machine.phase not in RESUMABLE_PHASES or machine.challenge_name is None:
            raise FlowStateError(f"nothing to resume in phase {machine.phase.value}")
        if machine.challenge_session is None:  # pragma: no cover - receive_auth_step guarantees it
            raise FlowStateError("the challenge has no session")
        return FlowState(
            pool_id=self._pool.pool_id,
            client_id=self._pool.client_id,
            admin=self._admin,
            phase="ASSOCIATED" if machine.phase is Phase.ASSOCIATED else "CHALLENGED",
            challenge_name=machine.challenge_name,
            challenge_parameters=dict(machine.challenge_parameters),
            username=machine.username,
            session=machine.challenge_session,
            client_metadata=self._client_metadata,
            device_key=self._device_key,
        )

    @classmethod
    def _from_state(cls, pool: UserPool, state: FlowState) -> AuthFlow:
        if state.challenge_name not in SUPPORTED_CHALLENGES:
            raise InvalidInput("the saved state names a challenge this library does not answer")
        if state.phase == "ASSOCIATED" and state.challenge_name != "MFA_SETUP":
            raise InvalidInput("the saved state is inconsistent")
        machine = FlowMachine(
            phase=Phase.ASSOCIATED if state.phase == "ASSOCIATED" else Phase.CHALLENGED,
            username=state.username,
            challenge_name=state.challenge_name,
            challenge_parameters=dict(state.challenge_parameters),
            challenge_session=state.session,
            step=1,
        )
        try:
            return cls(
                pool,
                username=state.username,
                password=None,
                auth_flow=AuthFlowType.USER_SRP_AUTH,
                admin=state.admin,
                client_metadata=state.client_metadata,
                machine=machine,
                device_key=state.device_key,
            )
        except ProtocolError:
            # the parameters came from the caller's saved state, not from Cognito just now
            raise InvalidInput("the saved state's challenge parameters are malformed") from None

    def __aiter__(self) -> AuthFlow:
        return self

    async def __anext__(self) -> Challenge:
        phase = self._machine.send(Event.NEXT)
        if phase is Phase.STARTING:
            await self._start()
            if self._machine.phase is Phase.CHALLENGED:
                self._machine.send(Event.NEXT)
        if self._machine.phase is Phase.DONE:
            raise StopAsyncIteration
        assert self._challenge is not None
        return self._challenge

    async def send_mfa_code(
        self,
        code: str | SecretStr,
        mfa_type: MfaType | str | None = None,
        client_metadata: Mapping[str, str] | None = None,
    ) -> None:
        """Answer the current SMS / TOTP / email challenge (the seed's ``sendMFACode``).

        ``code`` is a ``str`` or ``SecretStr``; ``mfa_type``, when given, must name the current
        challenge's factor. Raises FlowStateError when the current challenge is not a code
        challenge (or not that one), and as :meth:`MfaCodeChallenge.answer`.
        """
        __tracebackhide__ = True  # keeps the code out of pytest's failure output
        challenge = self.challenge
        if not isinstance(challenge, MfaCodeChallenge):
            raise FlowStateError("the current step does not take an MFA code")
        if mfa_type is not None and MfaType.parse(mfa_type) is not challenge.mfa_type:
            raise FlowStateError(f"the current challenge is {challenge.mfa_type.value}")
        await challenge.answer(code, client_metadata=client_metadata)

    async def send_mfa_selection_answer(
        self, answer: MfaType | str, client_metadata: Mapping[str, str] | None = None
    ) -> None:
        """Answer the current SELECT_MFA_TYPE (the seed's ``sendMFASelectionAnswer``).

        Accepts ``SMS``/``SOFTWARE_TOKEN`` as the seed does, and the wire names. Raises
        FlowStateError when the current challenge is not SELECT_MFA_TYPE.
        """
        challenge = self.challenge
        if not isinstance(challenge, SelectMfaTypeChallenge):
            raise FlowStateError("the current step is not SELECT_MFA_TYPE")
        await challenge.select(answer, client_metadata=client_metadata)

    # --- the driver ------------------------------------------------------------------------

    def _build_challenge(self) -> Challenge:
        machine = self._machine
        assert machine.challenge_name is not None
        try:
            challenge = build_challenge(
                machine.challenge_name, machine.challenge_parameters, machine.username
            )
        except ProtocolError:
            machine.fail()
            raise
        challenge.bind(self._driver, machine.step)
        return challenge

    async def _call(self, call: Call) -> dict[str, Any]:
        logger.debug("sign-in step %s", call.operation)
        return await self._pool.transport.call(call.operation, call.params)

    def _metadata(self, override: Mapping[str, str] | None) -> Mapping[str, str] | None:
        """An answer's client_metadata (checked: InvalidInput), else the sign-in's."""
        checked = check_string_map(override, "client_metadata")
        return checked if checked is not None else self._client_metadata

    def _after_auth_step(self, step: TokensStep | ChallengeStep) -> None:
        session = None
        if isinstance(step, TokensStep):
            # built before the machine moves to DONE: unusable tokens (ProtocolError) must fail
            # the flow, and DONE cannot fail
            session = protocol.parse_authentication_result(
                step.result, issued_at=self._pool.clock(), device_key=self._device_key
            )
        self._machine.receive_auth_step(step)
        if session is not None:
            self._challenge = None
            self._session = session
        elif self._machine.phase is Phase.CHALLENGED:
            self._challenge = self._build_challenge()

    async def _start(self) -> None:
        __tracebackhide__ = True  # keeps the SRP secret exponent out of pytest's failure output
        machine, pool = self._machine, self._pool
        password = self._password
        assert password is not None
        # the SRP values stay boxed: a traceback recording locals must not show the exponent
        a: Hidden[int] = Hidden(0)
        big_a: Hidden[int] = Hidden(0)
        try:
            if self._auth_flow is AuthFlowType.USER_SRP_AUTH:
                a = Hidden(srp.secret_exponent(pool.random_bytes(srp.SECRET_EXPONENT_BITS // 8)))
                big_a = Hidden(
                    await anyio.to_thread.run_sync(
                        srp.client_public, a.value, limiter=srp_limiter()
                    )
                )
                call = protocol.start_srp_auth(
                    pool.app_client,
                    machine.username,
                    format(big_a.value, "x"),
                    client_metadata=self._client_metadata,
                    admin=self._admin,
                    device_key=self._device_key,
                )
            else:
                call = protocol.start_password_auth(
                    pool.app_client,
                    machine.username,
                    password,
                    auth_flow=self._auth_flow,
                    client_metadata=self._client_metadata,
                )
            step = protocol.parse_auth_response(await self._device_call(call))
            if isinstance(step, ChallengeStep) and step.name in INTERNAL_CHALLENGES:
                if self._auth_flow is not AuthFlowType.USER_SRP_AUTH:
                    raise ProtocolError(f"{step.name} without an SRP sign-in")
                self._machine.receive_auth_step(step)
                call = await self._password_verifier(step, password, a, big_a)
                step = protocol.parse_auth_response(await self._device_call(call))
                if isinstance(step, ChallengeStep) and step.name in DEVICE_CHALLENGES:
                    step = await self._device_srp(step)
            self._after_auth_step(step)
        except srp.SrpError as exc:
            machine.fail()
            # the SRP frames hold the password and the exponent: keep the cause, not its frames
            raise ProtocolError(f"{machine.challenge_name}: {exc}") from without_frames(exc)
        except BaseException:
            machine.fail()
            raise
        finally:
            self._password = None  # not needed past the first factor
            self._device = None  # nor the device password past the device SRP

    async def _device_call(self, call: Call) -> dict[str, Any]:
        """Send a step of the first factor; Cognito's "no such device" becomes DeviceNotFound."""
        try:
            return await self._call(call)
        except ServiceError as exc:
            if self._device is None or not protocol.is_device_not_found(exc):
                raise
            raise DeviceNotFound(
                exc.message,
                code=exc.error_code,
                operation=exc.operation,
                request_id=exc.request_id,
                status=exc.status,
            ) from without_frames(exc)

    async def _device_srp(self, step: ChallengeStep) -> TokensStep | ChallengeStep:
        """Answer DEVICE_SRP_AUTH and DEVICE_PASSWORD_VERIFIER; returns what follows them.

        The device proves its password as a user does, with the device group key in place of
        the pool name and the device key in place of the user name.
        """
        __tracebackhide__ = True  # keeps the device password out of pytest's failure output
        machine, pool, device = self._machine, self._pool, self._device
        if step.name != "DEVICE_SRP_AUTH" or device is None:
            raise ProtocolError(f"{step.name} came, but the sign-in named no device")
        machine.receive_auth_step(step)
        a = Hidden(srp.secret_exponent(pool.random_bytes(srp.SECRET_EXPONENT_BITS // 8)))
        big_a = Hidden(
            await anyio.to_thread.run_sync(srp.client_public, a.value, limiter=srp_limiter())
        )
        call = protocol.respond_to_challenge(
            pool.app_client,
            "DEVICE_SRP_AUTH",
            session=step.session,
            username=machine.username,
            responses=protocol.device_srp_auth_responses(
                device_key=device.device_key, srp_a_hex=format(big_a.value, "x")
            ),
            client_metadata=self._client_metadata,
            admin=self._admin,
        )
        answer = protocol.parse_auth_response(await self._device_call(call))
        if not isinstance(answer, ChallengeStep) or answer.name != "DEVICE_PASSWORD_VERIFIER":
            raise ProtocolError("DEVICE_SRP_AUTH was not answered with DEVICE_PASSWORD_VERIFIER")
        machine.receive_auth_step(answer)
        verifier = protocol.parse_password_verifier(answer.parameters, device_key=device.device_key)
        key = Hidden(
            await anyio.to_thread.run_sync(
                partial(
                    srp.client_key,
                    pool_name=device.device_group_key,
                    user_id=device.device_key,
                    password=device.device_password.get_secret_value(),
                    a=a.value,
                    big_a=big_a.value,
                    srp_b_hex=verifier.srp_b_hex,
                    salt_hex=verifier.salt_hex,
                ),
                limiter=srp_limiter(),
            )
        )
        timestamp = srp.format_timestamp(pool.clock())  # read as the proof is made
        call = protocol.respond_to_challenge(
            pool.app_client,
            "DEVICE_PASSWORD_VERIFIER",
            session=answer.session,
            username=machine.username,
            responses=protocol.device_password_verifier_responses(
                device_key=device.device_key,
                secret_block=verifier.secret_block,
                signature=srp.password_claim_signature(
                    key.value,
                    device.device_group_key,
                    device.device_key,
                    verifier.secret_block,
                    timestamp,
                ),
                timestamp=timestamp,
            ),
            client_metadata=self._client_metadata,
            admin=self._admin,
        )
        return protocol.parse_auth_response(await self._device_call(call))

    async def _password_verifier(
        self, step: ChallengeStep, password: SecretStr, a: Hidden[int], big_a: Hidden[int]
    ) -> Call:
        __tracebackhide__ = True  # keeps the SRP secret exponent out of pytest's failure output
        pool = self._pool
        verifier = protocol.parse_password_verifier(step.parameters)
        pool_name = srp.pool_name_of(pool.pool_id)
        key = Hidden(
            await anyio.to_thread.run_sync(
                partial(
                    srp.client_key,
                    pool_name=pool_name,
                    user_id=verifier.user_id_for_srp,
                    password=password.get_secret_value(),
                    a=a.value,
                    big_a=big_a.value,
                    srp_b_hex=verifier.srp_b_hex,
                    salt_hex=verifier.salt_hex,
                ),
                limiter=srp_limiter(),
            )
        )
        # TIMESTAMP is read now, as the proof is made: Cognito allows only a few seconds
        timestamp = srp.format_timestamp(pool.clock())
        return protocol.respond_to_challenge(
            pool.app_client,
            "PASSWORD_VERIFIER",
            session=step.session,
            username=self._machine.username,
            responses=protocol.password_verifier_responses(
                secret_block=verifier.secret_block,
                signature=srp.password_claim_signature(
                    key.value, pool_name, verifier.user_id_for_srp, verifier.secret_block, timestamp
                ),
                timestamp=timestamp,
                device_key=self._device_key,
            ),
            client_metadata=self._client_metadata,
            admin=self._admin,
        )

    async def _answer(
        self,
        step: int,
        responses: Mapping[str, str],
        client_metadata: Mapping[str, str] | None,
    ) -> None:
        __tracebackhide__ = True  # keeps the answer out of pytest's failure output
        machine = self._machine
        metadata = self._metadata(client_metadata)  # before the move: a usage error changes nothing
        self._check_pool()
        name = machine.challenge_name
        # built before the move: an answer that cannot be built leaves the flow as it was
        call = protocol.respond_to_challenge(
            self._pool.app_client,
            name or "",
            session=machine.challenge_session,
            username=machine.username,
            responses=responses,
            client_metadata=metadata,
            admin=self._admin,
        )
        machine.send(Event.ANSWER, step=step)
        assert name is not None
        await self._respond(call, retryable_for=name)

    async def _respond(self, call: Call, *, retryable_for: str | None) -> None:
        machine = self._machine
        try:
            response = await self._call(call)
        except ServiceError as exc:
            if retryable_for is not None and is_retryable_rejection(retryable_for, exc):
                self._receive_or_fail(Event.REJECTED)
                raise
            machine.fail()
            raise
        except BaseException:
            machine.fail()
            raise
        self._check_still_open()
        try:
            self._after_auth_step(protocol.parse_auth_response(response))
        except BaseException:
            machine.fail()
            raise

    def _receive_or_fail(self, event: Event) -> None:
        self._check_still_open()
        self._machine.receive(event)

    def _check_still_open(self) -> None:
        # another task may have failed the flow while our request was in flight
        if self._machine.phase is Phase.FAILED:
            raise FlowStateError("the flow was closed while a request was in flight")

    def _check_pool(self) -> None:
        if not self._pool.is_open:
            raise PoolClosed(NOT_OPEN)

    async def _associate(self, step: int) -> SoftwareTokenSecret:
        machine = self._machine
        self._check_pool()
        machine.send(Event.ASSOCIATE, step=step)
        assert machine.challenge_session is not None
        try:
            response = await self._call(
                protocol.associate_software_token(machine.challenge_session)
            )
            secret, session = protocol.parse_software_token_secret(response)
        except BaseException:
            machine.fail()
            raise
        self._check_still_open()
        if session is not None:
            machine.challenge_session = session
        machine.receive(Event.ASSOCIATED)
        return secret

    async def _verify(
        self,
        step: int,
        code: SecretStr,
        friendly_device_name: str | None,
        client_metadata: Mapping[str, str] | None,
    ) -> None:
        __tracebackhide__ = True  # keeps the code out of pytest's failure output
        machine = self._machine
        metadata = self._metadata(client_metadata)  # before the move: a usage error changes nothing
        self._check_pool()
        machine.send(Event.VERIFY, step=step)
        assert machine.challenge_session is not None
        call = protocol.verify_software_token(machine.challenge_session, code, friendly_device_name)
        try:
            response = await self._call(call)
        except (EnableSoftwareTokenMFA, CodeMismatch):
            self._receive_or_fail(Event.REJECTED)  # a wrong code: verify again
            raise
        except BaseException:
            machine.fail()
            raise
        self._check_still_open()
        try:
            status, session = protocol.parse_verify_software_token(response)
        except ProtocolError:
            machine.fail()
            raise
        if session is not None:
            machine.challenge_session = session
        if status is not protocol.VerifyStatus.SUCCESS:
            machine.receive(Event.REJECTED)
            raise EnableSoftwareTokenMFA(
                "VerifySoftwareToken answered Status ERROR",
                code="EnableSoftwareTokenMFAException",
                operation="VerifySoftwareToken",
            )
        machine.receive(Event.VERIFIED)
        name = machine.challenge_name
        assert name is not None
        call = protocol.respond_to_challenge(
            self._pool.app_client,
            name,
            session=machine.challenge_session,
            username=machine.username,
            responses={},
            client_metadata=metadata,
            admin=self._admin,
        )
        await self._respond(call, retryable_for=None)


class FlowDriver:
    """The :class:`~cognito_mfa.challenges.ChallengeDriver` of one :class:`AuthFlow`: the
    narrow interface its challenge models answer through."""

    __slots__ = ("_flow",)

    def __init__(self, flow: AuthFlow) -> None:
        self._flow = flow

    def __repr__(self) -> str:
        return f"<FlowDriver of {self._flow!r}>"

    async def respond(
        self, step: int, responses: Mapping[str, str], client_metadata: Mapping[str, str] | None
    ) -> None:
        __tracebackhide__ = True  # keeps the answer out of pytest's failure output
        await self._flow._answer(step, responses, client_metadata)

    async def associate_software_token(self, step: int) -> SoftwareTokenSecret:
        return await self._flow._associate(step)

    async def verify_software_token(
        self,
        step: int,
        code: SecretStr,
        friendly_device_name: str | None,
        client_metadata: Mapping[str, str] | None,
    ) -> None:
        __tracebackhide__ = True  # keeps the code out of pytest's failure output
        await self._flow._verify(step, code, friendly_device_name, client_metadata)
