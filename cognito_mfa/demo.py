"""``cognito-mfa demo``: the seed's MFA story, end to end, on the embedded emulator.

Everything runs in this process: the emulator's application (:mod:`cognito_mfa.testing`)
answers the aioboto3 client through its in-process transport, so the demo needs no network,
no AWS account and no credentials (``pip install 'cognito-mfa[emulator]'``). The pool and
the user are created through the real Cognito admin API, exactly as one would against AWS.
The transcript shows each step and how long it took; the TOTP codes are computed from the
enrolled secret as an authenticator app would, and the SMS code is read from the emulator's
outbox.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from typing import Final, TypeVar

from . import challenges as ch
from ._flow import AuthFlow
from .errors import CodeMismatch, DeviceNotFound
from .pool import UserPool
from .preferences import MfaOption, MfaSettings
from .testing.inprocess import EMULATOR_ENDPOINT, emulator_client, httpx_client_config
from .testing.seed import Seeder
from .testing.service import Emulator
from .totp import QrSupportMissing, SoftwareTokenSecret

__all__ = ["run_demo"]

USERNAME: Final = "alice"
PASSWORD: Final = "Correct-Horse-9"  # a throwaway user in a throwaway in-memory pool
ISSUER: Final = "cognito-mfa demo"

T = TypeVar("T")
Say = Callable[[str], None]


class _Transcript:
    def __init__(self, say: Say) -> None:
        self.say = say
        self.started = time.perf_counter()
        self.step = 0

    def heading(self, text: str) -> None:
        self.step += 1
        self.say("")
        self.say(f"{self.step}. {text}")

    async def timed(self, label: str, action: Awaitable[T]) -> T:
        began = time.perf_counter()
        result = await action
        self.say(f"   {label} ({(time.perf_counter() - began) * 1000:.1f} ms)")
        return result


async def run_demo(say: Say = print) -> int:
    """Run the demo, writing the transcript through ``say``; returns the exit status (0)."""
    out = _Transcript(say)
    emulator = Emulator()

    def emulator_clock() -> datetime:
        return datetime.fromtimestamp(emulator.now(), UTC)

    say("cognito-mfa demo: Cognito sign-in with MFA against the embedded emulator")
    out.heading("Create a user pool (MFA optional: SMS, TOTP, email) and a user")
    # fake credentials: the emulator accepts any SigV4 signature
    async with emulator_client(emulator) as admin:
        seeder = Seeder(admin, clock=emulator.now)
        seeded = await out.timed(
            "CreateUserPool + SetUserPoolMfaConfig + CreateUserPoolClient",
            seeder.create_pool_and_client("demo", mfa="OPTIONAL"),
        )
        await out.timed(
            f"AdminCreateUser {USERNAME} (+1 555 0100 123, alice@example.com)",
            seeder.create_user(
                seeded, USERNAME, PASSWORD, phone="+15550100123", email="alice@example.com"
            ),
        )
    say(f"   pool {seeded.pool_id}, app client {seeded.client_id}")

    async with UserPool(
        seeded.pool_id,
        seeded.client_id,
        endpoint_url=EMULATOR_ENDPOINT,
        botocore_config=httpx_client_config(emulator),
        clock=emulator_clock,
    ) as pool:
        out.heading("Sign in with SRP; no MFA is enabled yet, so tokens come straight back")
        flow = pool.sign_in(USERNAME, PASSWORD)
        challenges = await out.timed(
            "InitiateAuth(USER_SRP_AUTH) + PASSWORD_VERIFIER", _collect(flow)
        )
        say(f"   challenges asked: {challenges or 'none'}")
        session = flow.tokens
        say(f"   signed in as {session.username}; tokens expire at {session.expires_at:%H:%M:%S}")
        user = pool.user(session)

        out.heading("Enrol an authenticator app (TOTP)")
        secret = await out.timed("AssociateSoftwareToken", user.associate_software_token())
        say(f"   {secret.provisioning_uri(account_name='alice@example.com', issuer=ISSUER)}")
        try:
            say(secret.qr_terminal(account_name="alice@example.com", issuer=ISSUER))
        except QrSupportMissing:
            say("   (pip install 'cognito-mfa[qr]' to see the QR code here)")
        code = secret.code_at(emulator.now())
        say("   the app shows a code; the demo computes it from the secret, as the app does")
        await out.timed(
            "VerifySoftwareToken (friendly name 'My Phone')",
            user.verify_software_token(code, friendly_device_name="My Phone"),
        )

        out.heading("Make TOTP the preferred factor")
        await out.timed(
            "SetUserMFAPreference(SoftwareTokenMfaSettings: enabled, preferred)",
            user.set_user_mfa_preference(software_token=MfaSettings(enabled=True, preferred=True)),
        )
        data = await user.get_user_data()
        say(
            f"   enabled: {[f.value for f in data.enabled_mfa]}, "
            f"preferred: {data.preferred_mfa.value if data.preferred_mfa else None}"
        )

        # A code is accepted once; the app shows the next one 30 seconds later.
        emulator.advance(30)
        out.heading("Sign in again (30 s later): Cognito asks for SOFTWARE_TOKEN_MFA")
        flow = pool.sign_in(USERNAME, PASSWORD)
        async for challenge in flow:
            assert isinstance(challenge, ch.SoftwareTokenMfaChallenge)
            say(f"   challenge: {challenge.challenge_name} ({challenge.friendly_device_name})")
            try:
                await challenge.answer("000000" if code != "000000" else "111111")
            except CodeMismatch as exc:
                say(f"   a wrong code first -> {type(exc).__name__}: {exc.message}")
                say("   the same challenge stays open; answer it again")
                await out.timed(
                    "RespondToAuthChallenge with the right code",
                    challenge.answer(secret.code_at(emulator.now())),
                )
        say(f"   signed in as {flow.tokens.username}")

        out.heading("Enable SMS too, prefer neither: Cognito lets the user choose")
        await out.timed(
            "SetUserMFAPreference(SMS enabled, TOTP enabled, none preferred)",
            user.set_user_mfa_preference(
                sms=MfaSettings(enabled=True),
                software_token=MfaSettings(enabled=True, preferred=False),
            ),
        )
        flow = pool.sign_in(USERNAME, PASSWORD)
        async for challenge in flow:
            match challenge:
                case ch.SelectMfaTypeChallenge():
                    offered = [option.value for option in challenge.options]
                    say(f"   challenge: SELECT_MFA_TYPE, offered {offered}; choosing SMS")
                    await out.timed("answer SELECT_MFA_TYPE", challenge.select("SMS"))
                case ch.SmsMfaChallenge():
                    say(
                        f"   challenge: SMS_MFA, code sent by {challenge.delivery_medium} "
                        f"to {challenge.destination}"
                    )
                    sms = emulator.last_code(USERNAME, "SMS")
                    say(f"   the emulator's outbox holds the text message: code {sms}")
                    await out.timed("answer SMS_MFA", challenge.answer(sms))
                case _:
                    raise AssertionError(f"unexpected challenge {challenge.challenge_name}")
        say(f"   signed in as {flow.tokens.username}")

        await _remember_this_device(out, emulator, pool, seeded.pool_id, secret)

        out.heading("The legacy calls (deprecated, as in amazon-cognito-identity-js)")
        user = pool.user(flow.tokens)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", DeprecationWarning)
            await out.timed("disable_mfa (SetUserSettings MFAOptions [])", user.disable_mfa())
            say(f"   get_mfa_options -> {_options(await user.get_mfa_options())}")
            await out.timed("enable_mfa (SetUserSettings SMS/phone_number)", user.enable_mfa())
            say(f"   get_mfa_options -> {_options(await user.get_mfa_options())}")
        notes = sorted({str(w.message).split(";")[0] for w in caught})
        for note in notes:
            say(f"   DeprecationWarning: {note}")

        await user.global_sign_out()
        say("")
        say(f"done in {(time.perf_counter() - out.started) * 1000:.0f} ms; signed out.")
    return 0


async def _remember_this_device(
    out: _Transcript,
    emulator: Emulator,
    pool: UserPool,
    pool_id: str,
    secret: SoftwareTokenSecret,
) -> None:
    """Turn device tracking on, remember a device, sign in with it (no MFA), forget it."""
    say = out.say
    out.heading("Remember this device: the next sign-in skips MFA")
    async with emulator_client(emulator) as admin:
        await out.timed(
            "UpdateUserPool(DeviceConfiguration: ChallengeRequiredOnNewDevice)",
            admin.update_user_pool(
                UserPoolId=pool_id,
                MfaConfiguration="OPTIONAL",
                DeviceConfiguration={"ChallengeRequiredOnNewDevice": True},
            ),
        )
    emulator.advance(30)
    flow = pool.sign_in(USERNAME, PASSWORD)
    async for challenge in flow:
        match challenge:
            case ch.SelectMfaTypeChallenge():
                await challenge.select("SOFTWARE_TOKEN_MFA")
            case ch.SoftwareTokenMfaChallenge():
                await challenge.answer(secret.code_at(emulator.now()))
            case _:
                raise AssertionError(f"unexpected challenge {challenge.challenge_name}")
    new = flow.tokens.new_device
    assert new is not None
    say(f"   signed in with TOTP; Cognito made a new device {new.device_key}")
    user = pool.user(flow.tokens)
    device = await out.timed(
        "ConfirmDevice (an SRP verifier of a random device password)",
        user.confirm_device(device_name="Alice's laptop"),
    )
    say(f"   the device's credentials, to keep on the device: {device!r}")

    emulator.advance(30)
    flow = pool.sign_in(USERNAME, PASSWORD, device=device)
    challenges = await out.timed(
        "InitiateAuth + PASSWORD_VERIFIER + DEVICE_SRP_AUTH + DEVICE_PASSWORD_VERIFIER",
        _collect(flow),
    )
    say(f"   challenges asked: {challenges or 'none'} (the remembered device stood in for MFA)")
    await out.timed("refresh (REFRESH_TOKEN_AUTH with DEVICE_KEY)", pool.refresh(flow.tokens))
    listed = await user.list_devices()
    say(f"   ListDevices: {[(d.name, d.remembered) for d in listed]}")
    await out.timed("ForgetDevice", user.forget_device(device.device_key))
    try:
        await anext(aiter(pool.sign_in(USERNAME, PASSWORD, device=device)))
    except DeviceNotFound as exc:
        say(f"   signing in with the forgotten device -> {type(exc).__name__}: {exc.message}")
        say("   the app drops the stored credentials; the next sign-in asks for MFA again")


async def _collect(flow: AuthFlow) -> list[str]:
    return [challenge.challenge_name async for challenge in flow]


def _options(options: Sequence[MfaOption]) -> str:
    items = [f"{o.delivery_medium}/{o.attribute_name}" for o in options]
    return f"[{', '.join(items)}]" if items else "[] (no legacy SMS MFA)"
