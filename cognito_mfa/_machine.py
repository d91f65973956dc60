"""The sign-in state machine, pure: phases, events, the transition table and its rules.

No I/O, no clock, no randomness: :class:`FlowMachine` is fed events and parsed answers by
the async driver in :mod:`cognito_mfa._flow` (``docs/protocol.md`` §3 describes the challenge
sequences it follows).

Rules of the machine (after h11's ``_state.py``):

* The phase is a :class:`Phase`; every move is an :class:`Event`; :data:`TRANSITIONS` is the
  whole table. A pair not in the table is illegal: a caller's event raises
  :class:`~cognito_mfa.errors.FlowStateError`, a server's raises
  :class:`~cognito_mfa.errors.ProtocolError`, and either leaves the flow FAILED ("fail
  closed"): no further request is sent on its session. DONE and FAILED are terminal; an
  illegal event there raises but does not change them.
* A caller's event while a request of the flow is in flight (a second, concurrent answer)
  is refused with :class:`~cognito_mfa.errors.FlowStateError` and changes nothing: the
  request in flight completes and keeps what it wins. So is an answer to a challenge that is
  no longer current (nothing is sent for it).
* Only a code the server rejected as wrong (``CodeMismatch``; ``EnableSoftwareTokenMFA`` while
  verifying a TOTP setup; ``InvalidPassword`` for a new password) returns to the same
  challenge, on the same session. Any other error, and cancellation while a request is in
  flight, fails the flow: we cannot know whether Cognito consumed the session.
* A challenge model answers only while it is its flow's current challenge: answering one twice
  (or after the end) is refused.

Table, as a diagram (user events upper case on the left of ``->``)::

    IDLE --NEXT--> STARTING --PASSWORD_VERIFIER--> VERIFYING_PASSWORD
    VERIFYING_PASSWORD --DEVICE_CHALLENGE--> VERIFYING_DEVICE    (a remembered device, in
    VERIFYING_DEVICE --DEVICE_CHALLENGE--> VERIFYING_DEVICE       place of the MFA challenge)
    STARTING / VERIFYING_PASSWORD / VERIFYING_DEVICE / ANSWERING --CHALLENGE--> CHALLENGED
    STARTING / VERIFYING_PASSWORD / VERIFYING_DEVICE / ANSWERING --TOKENS--> DONE
    CHALLENGED --NEXT--> WAITING          (the iterator hands the challenge out)
    CHALLENGED / WAITING --ANSWER--> ANSWERING --REJECTED--> CHALLENGED
    CHALLENGED / WAITING --ASSOCIATE--> ASSOCIATING --ASSOCIATED--> ASSOCIATED
    ASSOCIATED --NEXT--> ASSOCIATED       (hands the setup challenge out again)
    ASSOCIATED --VERIFY--> VERIFYING --REJECTED--> ASSOCIATED
    VERIFYING --VERIFIED--> ANSWERING     (MFA_SETUP is answered with the new session)
    DONE --NEXT--> DONE                   (iteration ends)
    any phase but DONE / FAILED --FAIL--> FAILED
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Final

from pydantic import SecretStr

from . import _protocol as protocol
from ._protocol import ChallengeStep, TokensStep
from .errors import (
    CodeMismatch,
    FlowStateError,
    InvalidPassword,
    PasswordHistoryPolicyViolation,
    ProtocolError,
    UnsupportedChallenge,
)

__all__ = [
    "CALLER_EVENTS",
    "INTERNAL_CHALLENGES",
    "IN_FLIGHT_PHASES",
    "RESUMABLE_PHASES",
    "SERVER_EVENTS",
    "SUPPORTED_CHALLENGES",
    "TERMINAL_PHASES",
    "TRANSITIONS",
    "Event",
    "FlowMachine",
    "Phase",
    "is_retryable_rejection",
    "transitions_mermaid",
]

SUPPORTED_CHALLENGES: Final = protocol.SUPPORTED_CHALLENGES
INTERNAL_CHALLENGES: Final = protocol.INTERNAL_CHALLENGES


class Phase(Enum):
    """Where a sign-in stands."""

    IDLE = "IDLE"  # created; nothing sent
    STARTING = "STARTING"  # (Admin)InitiateAuth in flight
    VERIFYING_PASSWORD = "VERIFYING_PASSWORD"  # the SRP proof is computed and sent
    VERIFYING_DEVICE = "VERIFYING_DEVICE"  # a remembered device proves itself (device SRP)
    CHALLENGED = "CHALLENGED"  # a challenge arrived and was not handed out yet
    WAITING = "WAITING"  # the challenge was handed out; waiting for the caller's answer
    ANSWERING = "ANSWERING"  # an answer is in flight
    ASSOCIATING = "ASSOCIATING"  # AssociateSoftwareToken in flight (MFA_SETUP)
    ASSOCIATED = "ASSOCIATED"  # the TOTP secret was issued; waiting for a code to verify
    VERIFYING = "VERIFYING"  # VerifySoftwareToken in flight
    DONE = "DONE"  # signed in: tokens available
    FAILED = "FAILED"  # closed after an error or an illegal move


class Event(Enum):
    """What can happen to a sign-in."""

    # the caller's
    NEXT = "NEXT"  # the iterator asks for the next challenge
    ANSWER = "ANSWER"
    ASSOCIATE = "ASSOCIATE"
    VERIFY = "VERIFY"
    # the server's
    PASSWORD_VERIFIER = "PASSWORD_VERIFIER"
    DEVICE_CHALLENGE = "DEVICE_CHALLENGE"  # DEVICE_SRP_AUTH, then DEVICE_PASSWORD_VERIFIER
    CHALLENGE = "CHALLENGE"
    TOKENS = "TOKENS"
    REJECTED = "REJECTED"
    ASSOCIATED = "ASSOCIATED"
    VERIFIED = "VERIFIED"
    # either side's
    FAIL = "FAIL"


CALLER_EVENTS: Final = frozenset({Event.NEXT, Event.ANSWER, Event.ASSOCIATE, Event.VERIFY})
SERVER_EVENTS: Final = frozenset(
    {
        Event.PASSWORD_VERIFIER,
        Event.DEVICE_CHALLENGE,
        Event.CHALLENGE,
        Event.TOKENS,
        Event.REJECTED,
        Event.ASSOCIATED,
        Event.VERIFIED,
    }
)
TERMINAL_PHASES: Final = frozenset({Phase.DONE, Phase.FAILED})
# a request of the flow is on the wire: a caller's event now would race it
IN_FLIGHT_PHASES: Final = frozenset(
    {
        Phase.STARTING,
        Phase.VERIFYING_PASSWORD,
        Phase.VERIFYING_DEVICE,
        Phase.ANSWERING,
        Phase.ASSOCIATING,
        Phase.VERIFYING,
    }
)
RESUMABLE_PHASES: Final = frozenset({Phase.CHALLENGED, Phase.WAITING, Phase.ASSOCIATED})

_P, _E = Phase, Event
TRANSITIONS: Final[Mapping[tuple[Phase, Event], Phase]] = {
    (_P.IDLE, _E.NEXT): _P.STARTING,
    (_P.STARTING, _E.PASSWORD_VERIFIER): _P.VERIFYING_PASSWORD,
    (_P.STARTING, _E.CHALLENGE): _P.CHALLENGED,
    (_P.STARTING, _E.TOKENS): _P.DONE,
    (_P.VERIFYING_PASSWORD, _E.CHALLENGE): _P.CHALLENGED,
    (_P.VERIFYING_PASSWORD, _E.TOKENS): _P.DONE,
    (_P.VERIFYING_PASSWORD, _E.DEVICE_CHALLENGE): _P.VERIFYING_DEVICE,
    (_P.VERIFYING_DEVICE, _E.DEVICE_CHALLENGE): _P.VERIFYING_DEVICE,
    (_P.VERIFYING_DEVICE, _E.CHALLENGE): _P.CHALLENGED,
    (_P.VERIFYING_DEVICE, _E.TOKENS): _P.DONE,
    (_P.CHALLENGED, _E.NEXT): _P.WAITING,
    (_P.CHALLENGED, _E.ANSWER): _P.ANSWERING,
    (_P.WAITING, _E.ANSWER): _P.ANSWERING,
    (_P.ANSWERING, _E.CHALLENGE): _P.CHALLENGED,
    (_P.ANSWERING, _E.TOKENS): _P.DONE,
    (_P.ANSWERING, _E.REJECTED): _P.CHALLENGED,
    (_P.CHALLENGED, _E.ASSOCIATE): _P.ASSOCIATING,
    (_P.WAITING, _E.ASSOCIATE): _P.ASSOCIATING,
    (_P.ASSOCIATING, _E.ASSOCIATED): _P.ASSOCIATED,
    (_P.ASSOCIATED, _E.NEXT): _P.ASSOCIATED,
    (_P.ASSOCIATED, _E.VERIFY): _P.VERIFYING,
    (_P.VERIFYING, _E.REJECTED): _P.ASSOCIATED,
    (_P.VERIFYING, _E.VERIFIED): _P.ANSWERING,
    (_P.DONE, _E.NEXT): _P.DONE,
    **{(phase, _E.FAIL): _P.FAILED for phase in Phase if phase is not _P.DONE},
}


def transitions_mermaid() -> str:
    """:data:`TRANSITIONS` as a Mermaid ``stateDiagram-v2``, for the docs."""
    lines = ["stateDiagram-v2", f"    [*] --> {Phase.IDLE.value}"]
    for (source, event), target in TRANSITIONS.items():
        if event is Event.FAIL and source is not Phase.IDLE:
            continue  # every phase can fail: drawn once, from IDLE, to keep the picture legible
        lines.append(f"    {source.value} --> {target.value}: {event.value}")
    lines += [f"    {Phase.DONE.value} --> [*]", f"    {Phase.FAILED.value} --> [*]"]
    return "\n".join(lines)


def is_retryable_rejection(challenge_name: str, error: Exception) -> bool:
    """Whether ``error`` answers a wrong code or password, leaving the same challenge open."""
    if challenge_name == "NEW_PASSWORD_REQUIRED":
        return isinstance(error, InvalidPassword | PasswordHistoryPolicyViolation)
    if challenge_name in {"SMS_MFA", "SOFTWARE_TOKEN_MFA", "EMAIL_OTP"}:
        return isinstance(error, CodeMismatch)
    return False


@dataclass
class FlowMachine:
    """The pure core of one sign-in: its phase and the challenge it stands at.

    No I/O, no clock: the driver feeds it events and parsed responses. ``session`` is the
    Cognito challenge Session (``challenge_session``: a bearer secret, kept wrapped, not in the
    repr; not the tokens, which the driver keeps).
    """

    phase: Phase = Phase.IDLE
    username: str = ""
    """The USERNAME to answer with (and to compute SECRET_HASH over)."""
    challenge_name: str | None = None
    challenge_parameters: Mapping[str, str] = field(default_factory=dict, repr=False)
    challenge_session: SecretStr | None = field(default=None, repr=False)
    step: int = 0
    """Number of the current challenge; bumps with every challenge Cognito sends."""

    def _move(self, event: Event, error: type[Exception]) -> Phase:
        target = TRANSITIONS.get((self.phase, event))
        if target is None:
            was = self.phase
            if was not in TERMINAL_PHASES:
                self.phase = Phase.FAILED
            if was is Phase.FAILED:
                error = FlowStateError  # the flow is closed; nothing the server did is wrong
            raise error(f"{event.value} is not allowed in phase {was.value}")
        self.phase = target
        return target

    def send(self, event: Event, *, step: int | None = None) -> Phase:
        """Apply a caller's event. ``step`` names the challenge the caller answers.

        Raises FlowStateError (and fails the flow closed) for an illegal move. A move while a
        request is in flight, or an answer to a challenge that is no longer current, raises
        FlowStateError and changes nothing: nothing is sent for it, and the request in flight
        must be free to complete.
        """
        if event not in CALLER_EVENTS:
            raise ValueError(f"{event.value} is not a caller event")
        if self.phase in IN_FLIGHT_PHASES:
            raise FlowStateError(
                f"{event.value} refused: a request of this sign-in is in flight "
                f"(phase {self.phase.value})"
            )
        if step is not None and step != self.step and self.phase not in TERMINAL_PHASES:
            raise FlowStateError("this challenge was already answered")
        return self._move(event, FlowStateError)

    def receive(self, event: Event) -> Phase:
        """Apply a server's event; an illegal one raises ProtocolError and fails the flow."""
        if event not in SERVER_EVENTS:
            raise ValueError(f"{event.value} is not a server event")
        return self._move(event, ProtocolError)

    def fail(self) -> None:
        """Close the flow (an error, or cancellation while a request was in flight)."""
        if self.phase not in TERMINAL_PHASES:
            self._move(Event.FAIL, FlowStateError)

    def receive_auth_step(self, step: TokensStep | ChallengeStep) -> TokensStep | ChallengeStep:
        """Apply a parsed sign-in response and remember the challenge it asks for.

        Raises UnsupportedChallenge (naming it) for a challenge this library does not answer,
        ProtocolError for one that cannot come now; both fail the flow.
        """
        if isinstance(step, TokensStep):
            self.receive(Event.TOKENS)
            self.challenge_session = None
            return step
        if step.name in protocol.DEVICE_CHALLENGES:
            self.receive(Event.DEVICE_CHALLENGE)
        elif step.name in INTERNAL_CHALLENGES:
            self.receive(Event.PASSWORD_VERIFIER)
        elif step.name in SUPPORTED_CHALLENGES:
            if step.session is None:
                self.fail()
                raise ProtocolError(f"{step.name} challenge came without a Session")
            self.receive(Event.CHALLENGE)
            self.step += 1
        else:
            self.fail()
            raise UnsupportedChallenge(step.name)
        self.challenge_name = step.name
        self.challenge_parameters = dict(step.parameters)
        self.challenge_session = step.session
        self.username = protocol.answer_username(step.parameters, self.username)
        return step
