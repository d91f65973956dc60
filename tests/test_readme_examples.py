"""The README's MFA examples (the seed's usage examples in Python), run as written.

The ``python`` blocks between ``<!-- mfa-examples:start -->`` and ``<!-- mfa-examples:end -->``
in README.md are executed in order, unchanged, against the emulator (both fronts). The only
thing the test supplies is the user: its ``ask`` stands in for the terminal one (defined in the
first block) and answers like a person holding the authenticator app, the phone and the
mailbox: it reads what the example printed (the otpauth URI, the challenge name) and types the
matching code.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyotp
import pytest

import cognito_mfa as cm
from cognito_mfa.testing.seed import SeededPool

if TYPE_CHECKING:
    from conftest import Front  # the shared fixtures' type (tests/conftest.py)

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
START, END = "<!-- mfa-examples:start -->", "<!-- mfa-examples:end -->"
PASSWORD = "Correct-Horse-9"


def example_blocks() -> list[str]:
    """The python blocks of the README's MFA examples section, in order."""
    text = README.read_text(encoding="utf-8")
    if START not in text or END not in text:
        pytest.fail(f"README.md has no MFA examples section ({START} ... {END})")
    section = text[text.index(START) : text.index(END)]
    blocks = re.findall(r"```python\n(.*?)```", section, flags=re.S)
    assert blocks, "the MFA examples section has no python blocks"
    return blocks


def load_examples(ask: Callable[[str], Any]) -> dict[str, Any]:
    """Run the blocks; after the first (which defines the terminal ``ask``) ours replaces it."""
    blocks = example_blocks()
    namespace: dict[str, Any] = {"__name__": "readme_mfa_examples"}
    exec(compile(blocks[0], "README.md[mfa-examples:0]", "exec"), namespace)
    assert callable(namespace.get("ask")), "the first block defines ask(prompt)"
    namespace["ask"] = ask
    for number, block in enumerate(blocks[1:], start=1):
        exec(compile(block, f"README.md[mfa-examples:{number}]", "exec"), namespace)
    return namespace


# --- the user at the terminal (the emulator's fronts: conftest.py) ------------------------


@dataclass
class Person:
    """Answers the examples' prompts: reads the screen, types codes, picks factors."""

    front: Front
    username: str
    capsys: pytest.CaptureFixture[str]
    choose: str = "SOFTWARE_TOKEN"
    wrong_first: bool = False
    screen: str = ""
    prompts: list[str] = field(default_factory=list)

    def _read_screen(self) -> str:
        self.screen += self.capsys.readouterr().out
        return self.screen

    def _totp(self) -> str:
        uris = re.findall(r"otpauth://\S+", self._read_screen())
        assert uris, "the example showed no otpauth URI"
        # a new code: the app shows the next 30-second step
        self.front.advance(30)
        return str(pyotp.parse_uri(uris[-1]).at(self.front.now()))

    async def __call__(self, prompt: str) -> str:
        self.prompts.append(prompt)
        screen = self._read_screen()
        if prompt.startswith("Enter TOTP code"):
            return self._totp()
        if prompt.startswith("Choose MFA"):
            return self.choose
        assert prompt.startswith("Enter MFA code"), prompt
        challenge = re.findall(r"MFA required: (\w+)", screen)[-1]
        if self.wrong_first:
            self.wrong_first = False
            return "000000" if challenge != "EMAIL_OTP" else "00000000"
        if challenge == "SOFTWARE_TOKEN_MFA":
            return self._totp()
        medium = "SMS" if challenge == "SMS_MFA" else "EMAIL"
        return self.front.last_code(self.username, medium)


def options_for(front: Front) -> dict[str, Any]:
    """The examples' pool options: the front's endpoint and the emulator's clock.

    In-process the pool shares the seeding client's config (no retries); served, botocore's.
    """
    return {
        "endpoint_url": front.endpoint_url,
        **({"botocore_config": front.seeding_config} if front.name == "in-process" else {}),
        "clock": lambda: datetime.fromtimestamp(front.now(), UTC),
    }


# --- the examples -------------------------------------------------------------------------


async def test_putting_it_together(
    front: Front, seeded: SeededPool, capsys: pytest.CaptureFixture[str]
) -> None:
    """main(): sign in, set up TOTP (seed example 1), sign out, sign in with TOTP (example 2)."""
    await front.seeder.create_user(seeded, "alice", PASSWORD, email="alice@example.com")
    person = Person(front, "alice", capsys, wrong_first=True)
    examples = load_examples(person)
    await examples["main"](
        seeded.pool_id, seeded.client_id, "alice", PASSWORD, **options_for(front)
    )
    screen = person._read_screen()
    assert "TOTP MFA setup successful" in screen
    assert "TOTP MFA enabled as preferred method" in screen
    assert "MFA required: SOFTWARE_TOKEN_MFA" in screen
    assert "Wrong code, try again" in screen  # the second sign-in's first answer was wrong
    assert screen.count("Authentication successful") == 2
    assert "enabled: ['SOFTWARE_TOKEN_MFA']" in screen
    assert "preferred: SOFTWARE_TOKEN_MFA" in screen
    # the QR code was printed too
    assert "▀" in screen or "▄" in screen
    assert person.prompts == [
        "Enter TOTP code from your authenticator app: ",
        "Enter MFA code: ",
        "Enter MFA code: ",
    ]


async def test_failed_verification_is_reported(
    front: Front, seeded: SeededPool, capsys: pytest.CaptureFixture[str]
) -> None:
    await front.seeder.create_user(seeded, "bob", PASSWORD)

    async def wrong(prompt: str) -> str:
        return "000000"

    examples = load_examples(wrong)
    async with cm.UserPool(seeded.pool_id, seeded.client_id, **options_for(front)) as pool:
        session = await examples["sign_in"](pool, "bob", PASSWORD)
        user = pool.user(session)
        assert await examples["set_up_totp"](user) is False
        assert (
            "TOTP verification failed: EnableSoftwareTokenMFAException" in capsys.readouterr().out
        )
        assert (await user.get_user_data()).enabled_mfa == ()


async def test_select_mfa_type_then_sms_and_preferences(
    front: Front, seeded: SeededPool, capsys: pytest.CaptureFixture[str]
) -> None:
    """The seed's selectMFAType → sendMFASelectionAnswer → mfaRequired → sendMFACode."""
    await front.seeder.create_user(
        seeded,
        "carol",
        PASSWORD,
        phone="+15555550100",
        email="carol@example.com",
        mfa=["SMS", "EMAIL"],
    )
    person = Person(front, "carol", capsys, choose="SMS")
    examples = load_examples(person)
    async with cm.UserPool(seeded.pool_id, seeded.client_id, **options_for(front)) as pool:
        session = await examples["sign_in"](pool, "carol", PASSWORD)
        screen = person._read_screen()
        assert "Select MFA type: SMS_MFA, EMAIL_OTP" in screen
        assert "MFA required: SMS_MFA" in screen
        user = pool.user(session)
        data = await examples["show_mfa"](user)
        assert set(data.enabled_mfa) == {cm.MfaType.SMS_MFA, cm.MfaType.EMAIL_OTP}
        assert data.preferred_mfa is None

        # prefer_email also enables TOTP, which needs a verified token first
        with pytest.raises(cm.InvalidParameter, match="SOFTWARE_TOKEN_MFA"):
            await examples["prefer_email"](user)
        assert await examples["set_up_totp"](user) is True
        await examples["prefer_email"](user)
        assert (await user.get_user_data()).preferred_mfa is cm.MfaType.EMAIL_OTP

        person.screen = ""
        await examples["sign_in"](pool, "carol", PASSWORD)
        assert "MFA required: EMAIL_OTP" in person._read_screen()


async def test_legacy_methods(
    front: Front, seeded: SeededPool, capsys: pytest.CaptureFixture[str]
) -> None:
    await front.seeder.create_user(seeded, "dave", PASSWORD, phone="+15555550100")
    person = Person(front, "dave", capsys)
    examples = load_examples(person)
    async with cm.UserPool(seeded.pool_id, seeded.client_id, **options_for(front)) as pool:
        session = await examples["sign_in"](pool, "dave", PASSWORD)
        with pytest.warns(DeprecationWarning) as warned:
            await examples["legacy_sms_mfa"](pool.user(session))
        assert len(warned) == 3
        out = person._read_screen()
        assert (
            "MFA options: (MfaOption(delivery_medium='SMS', attribute_name='phone_number'),)" in out
        )
        assert (await pool.user(session).get_user_data()).enabled_mfa == ()


async def test_remember_this_device(
    front: Front, seeded: SeededPool, capsys: pytest.CaptureFixture[str]
) -> None:
    """A remembered device signs in without a code; forgotten, the code is asked again."""
    erin = await front.seeder.create_user(seeded, "erin", PASSWORD, preferred="TOTP")
    await front.client.update_user_pool(
        UserPoolId=seeded.pool_id,
        MfaConfiguration="OPTIONAL",
        DeviceConfiguration={"ChallengeRequiredOnNewDevice": True},
    )
    person = Person(front, "erin", capsys)
    examples = load_examples(person)
    person.screen = f"otpauth://totp/erin?secret={erin.totp_secret}\n"  # the app holds this
    async with cm.UserPool(seeded.pool_id, seeded.client_id, **options_for(front)) as pool:
        session, stored = await examples["sign_in_remembering"](pool, "erin", PASSWORD)
        assert stored is not None and person.prompts == ["Enter MFA code: "]
        assert "Device remembered" in person._read_screen()

        session, again = await examples["sign_in_remembering"](pool, "erin", PASSWORD, stored)
        assert again == stored and person.prompts == ["Enter MFA code: "]  # no code asked
        assert session.device_key == stored.device_key

        await examples["forget_this_device"](pool.user(session))
        _, fresh = await examples["sign_in_remembering"](pool, "erin", PASSWORD, stored)
        assert "Stored device no longer known" in person._read_screen()
        assert len(person.prompts) == 2
        assert fresh is not None and fresh.device_key != stored.device_key
