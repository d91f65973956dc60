"""The library's sign-in against case-insensitive emulated pools, end to end (both fronts).

``UserPool.sign_in`` with the username typed in another case: SRP and USER_PASSWORD_AUTH, with
and without a client secret, answering TOTP MFA, and with a remembered device standing in for
MFA. The session names the stored user. A case-sensitive pool still refuses the other case.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import fronts
import pyotp
import pytest
from fronts import PASSWORD, Front
from pydantic import SecretStr

import cognito_mfa as cm
from cognito_mfa.testing import SeededPool, SeededUser, Seeder
from cognito_mfa.testing.seedfile import SeedFile, SeedPool, SeedUser, apply_seed

front = fronts.front  # the shared fixture

TRACKING = {"ChallengeRequiredOnNewDevice": True, "DeviceOnlyRememberedOnUserPrompt": False}
FLOWS = [cm.AuthFlowType.USER_SRP_AUTH, cm.AuthFlowType.USER_PASSWORD_AUTH]


async def _seeded(
    front: Front, *, case_sensitive: bool | None, secret: bool = False, devices: bool = False
) -> tuple[SeededPool, SeededUser]:
    client = await front.client()
    seeder = Seeder(client, clock=_now(front))
    seeded = await seeder.create_pool_and_client(
        case_sensitive=case_sensitive, generate_secret=secret
    )
    user = await seeder.create_user(seeded, "Alice", PASSWORD, preferred="TOTP")
    if devices:
        # tracking turned on after seeding: the enrolment's own sign-in made no device
        await client.update_user_pool(
            UserPoolId=seeded.pool_id, MfaConfiguration="OPTIONAL", DeviceConfiguration=TRACKING
        )
    return seeded, user


def _now(front: Front) -> Any:
    def now() -> float:
        with front.lock:
            return front.emulator.now()

    return now


def _user_pool(front: Front, seeded: SeededPool) -> cm.UserPool:
    now = _now(front)
    return cm.UserPool(
        seeded.pool_id,
        seeded.client_id,
        endpoint_url=front.endpoint,
        botocore_config=front.config,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        clock=lambda: datetime.fromtimestamp(now(), UTC),
        client_secret=seeded.client_secret,
    )


async def _sign_in(
    front: Front,
    pool: cm.UserPool,
    user: SeededUser,
    name: str,
    *,
    flow_type: cm.AuthFlowType = cm.AuthFlowType.USER_SRP_AUTH,
    device: cm.DeviceCredentials | None = None,
) -> tuple[cm.AuthFlow, list[str]]:
    """Sign in as ``name``, answering TOTP; returns the flow and the challenges asked."""
    flow = pool.sign_in(name, PASSWORD, auth_flow=flow_type, device=device)
    asked = []
    async for challenge in flow:
        asked.append(challenge.challenge_name)
        assert isinstance(challenge, cm.SoftwareTokenMfaChallenge), challenge
        assert user.totp_secret is not None
        await challenge.answer(pyotp.TOTP(user.totp_secret).at(int(_now(front)())))
        with front.lock:
            front.emulator.advance(30)  # the code's time step is spent
    return flow, asked


@pytest.mark.parametrize("flow_type", FLOWS, ids=lambda f: f.value)
@pytest.mark.parametrize("secret", [False, True], ids=["public-client", "secret-client"])
async def test_another_case_signs_in_with_totp_as_the_stored_user(
    front: Front, flow_type: cm.AuthFlowType, secret: bool
) -> None:
    seeded, user = await _seeded(front, case_sensitive=False, secret=secret)
    async with _user_pool(front, seeded) as pool:
        for name in ("ALICE", "alice"):
            flow, asked = await _sign_in(front, pool, user, name, flow_type=flow_type)
            assert asked == ["SOFTWARE_TOKEN_MFA"]
            assert flow.session.username == "Alice"
            assert flow.session.unverified_access_claims["username"] == "Alice"


async def test_a_remembered_device_signs_in_another_case_without_mfa(front: Front) -> None:
    seeded, user = await _seeded(front, case_sensitive=False, devices=True)
    async with _user_pool(front, seeded) as pool:
        flow, asked = await _sign_in(front, pool, user, "alice")
        assert asked == ["SOFTWARE_TOKEN_MFA"]
        creds = await pool.user(flow.session).confirm_device(device_name="laptop")
        for name in ("ALICE", "Alice", "aLiCe"):
            flow, asked = await _sign_in(front, pool, user, name, device=creds)
            assert asked == []
            assert flow.session.username == "Alice"
            assert flow.session.device_key == creds.device_key
            assert flow.session.new_device is None


@pytest.mark.parametrize("flow_type", FLOWS, ids=lambda f: f.value)
@pytest.mark.parametrize("case_sensitive", [None, True], ids=["default", "case-sensitive"])
async def test_a_case_sensitive_pool_refuses_another_case(
    front: Front, flow_type: cm.AuthFlowType, case_sensitive: bool | None
) -> None:
    seeded, user = await _seeded(front, case_sensitive=case_sensitive)
    async with _user_pool(front, seeded) as pool:
        with pytest.raises(cm.UserNotFound):
            await _sign_in(front, pool, user, "ALICE", flow_type=flow_type)
        flow, asked = await _sign_in(front, pool, user, "Alice", flow_type=flow_type)
        assert asked == ["SOFTWARE_TOKEN_MFA"]
        assert flow.session.username == "Alice"


async def test_apply_seed_makes_a_case_insensitive_pool(front: Front) -> None:
    client = await front.client()
    seed = SeedFile(
        pools=[
            SeedPool(
                name="main",
                case_sensitive=False,
                alias_attributes=["email", "preferred_username"],
                users=[
                    SeedUser(
                        username="Alice",
                        password=SecretStr(PASSWORD),
                        email="Alice@Example.com",
                        attributes={"preferred_username": "Ally"},
                    )
                ],
            )
        ]
    )
    (seeded,) = await apply_seed(seed, Seeder(client, clock=_now(front)))
    described = (await client.describe_user_pool(UserPoolId=seeded.pool.pool_id))["UserPool"]
    assert described["UsernameConfiguration"] == {"CaseSensitive": False}
    assert described["AliasAttributes"] == ["email", "preferred_username"]
    # applied again: the user is found (in any case) and not made twice
    assert await apply_seed(seed, Seeder(client, clock=_now(front))) == [seeded]
    async with _user_pool(front, seeded.pool) as pool:
        for name in ("alice", "ALICE@EXAMPLE.COM", "ally"):
            flow = pool.sign_in(name, PASSWORD)
            assert [c async for c in flow] == []
            assert flow.session.username == "Alice"
