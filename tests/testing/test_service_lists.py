"""ListUserPools and ListUserPoolClients over the wire (both fronts), boto3's paginators on them,
and apply_seed keeping what exists (the lookups these listings serve)."""

from __future__ import annotations

from typing import Any

import fronts
import pytest
from botocore.exceptions import ClientError
from conftest import Harness
from fronts import PASSWORD, Front
from pydantic import SecretStr

from cognito_mfa.testing import Seeder
from cognito_mfa.testing.seedfile import SeedClient, SeedFile, SeedPool, SeedUser, apply_seed

front = fronts.front  # the shared fixture

POOL_KEYS = {"Id", "Name", "LambdaConfig", "LastModifiedDate", "CreationDate"}


def _all_pools(h: Harness, page_size: int) -> tuple[list[dict[str, Any]], int]:
    """Every pool, page by page; returns them and the number of pages."""
    pools: list[dict[str, Any]] = []
    request: dict[str, Any] = {"MaxResults": page_size}
    pages = 0
    while True:
        page = h.ok("ListUserPools", **request)
        pages += 1
        assert len(page["UserPools"]) <= page_size
        pools += page["UserPools"]
        if "NextToken" not in page:
            return pools, pages
        request["NextToken"] = page["NextToken"]


# --- ListUserPools ------------------------------------------------------------------------------


def test_list_user_pools_pages_in_creation_order(h: Harness) -> None:
    assert h.ok("ListUserPools", MaxResults=60) == {"UserPools": []}
    ids = [h.pool(PoolName=name) for name in ("b", "a", "c", "a", "d")]
    pools, pages = _all_pools(h, 2)
    assert pages == 3
    assert [p["Id"] for p in pools] == ids
    assert [p["Name"] for p in pools] == ["b", "a", "c", "a", "d"]
    for pool in pools:
        assert set(pool) == POOL_KEYS
        assert pool["LambdaConfig"] == {}
    described = h.ok("DescribeUserPool", UserPoolId=ids[0])["UserPool"]
    assert pools[0]["CreationDate"] == described["CreationDate"]
    assert pools[0]["LastModifiedDate"] == described["LastModifiedDate"]
    # a page that holds the rest exactly has no NextToken
    exact = h.ok("ListUserPools", MaxResults=5)
    assert len(exact["UserPools"]) == 5 and "NextToken" not in exact


def test_list_user_pools_goes_on_after_the_last_listed_pool_is_deleted(h: Harness) -> None:
    ids = [h.pool(PoolName=f"p{i}") for i in range(4)]
    first = h.ok("ListUserPools", MaxResults=2)
    assert [p["Id"] for p in first["UserPools"]] == ids[:2]
    h.ok("DeleteUserPool", UserPoolId=ids[1])
    rest = h.ok("ListUserPools", MaxResults=2, NextToken=first["NextToken"])
    assert [p["Id"] for p in rest["UserPools"]] == ids[2:]
    assert "NextToken" not in rest
    # both named pools gone: the listing goes on with the pools created after the last listed
    again = h.ok("ListUserPools", MaxResults=1)
    h.emu.advance(1)
    later = h.pool(PoolName="later")
    h.ok("DeleteUserPool", UserPoolId=ids[0])
    h.ok("DeleteUserPool", UserPoolId=ids[2])
    tail = h.ok("ListUserPools", MaxResults=5, NextToken=again["NextToken"])
    assert [p["Id"] for p in tail["UserPools"]] == [later]


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({}, "Value null at 'maxResults' failed to satisfy constraint: Member must not be null"),
        ({"MaxResults": 0}, "Member must have value greater than or equal to 1"),
        ({"MaxResults": 61}, "Member must have value less than or equal to 60"),
        ({"MaxResults": 1, "NextToken": "forged.token"}, "Invalid pagination token"),
        ({"MaxResults": 1, "NextToken": "no-dot"}, "Invalid pagination token"),
        ({"MaxResults": 1, "NextToken": "%%%.%%%"}, "Invalid pagination token"),
    ],
)
def test_list_user_pools_refusals(h: Harness, body: dict[str, Any], fragment: str) -> None:
    h.pool()
    failure = h.fail("ListUserPools", **body)
    assert failure.code == "InvalidParameterException"
    assert fragment in failure.message


# --- ListUserPoolClients ------------------------------------------------------------------------


def test_list_user_pool_clients_pages_in_creation_order(h: Harness) -> None:
    pool_id = h.pool()
    other = h.pool(PoolName="other")
    h.client(other, ClientName="elsewhere")
    assert h.ok("ListUserPoolClients", UserPoolId=pool_id) == {"UserPoolClients": []}
    names = ["web", "back-end", "web", "cli", "admin"]
    ids = [h.client(pool_id, ClientName=name, GenerateSecret=True)[0] for name in names]

    everything = h.ok("ListUserPoolClients", UserPoolId=pool_id)  # MaxResults is optional
    assert "NextToken" not in everything
    assert everything["UserPoolClients"] == [
        {"ClientId": client_id, "UserPoolId": pool_id, "ClientName": name}
        for client_id, name in zip(ids, names, strict=True)
    ]  # no secret in a listing

    listed: list[str] = []
    request: dict[str, Any] = {"UserPoolId": pool_id, "MaxResults": 2}
    while True:
        page = h.ok("ListUserPoolClients", **request)
        listed += [c["ClientId"] for c in page["UserPoolClients"]]
        if "NextToken" not in page:
            break
        request["NextToken"] = page["NextToken"]
    assert listed == ids


def test_list_user_pool_clients_refusals(h: Harness) -> None:
    pool_id = h.pool()
    other = h.pool(PoolName="other")
    for name in ("a", "b"):
        h.client(pool_id, ClientName=name)
        h.client(other, ClientName=name)
    missing = h.fail("ListUserPoolClients", UserPoolId="us-east-1_Missing1")
    assert (missing.code, missing.message) == (
        "ResourceNotFoundException",
        "User pool us-east-1_Missing1 does not exist.",
    )
    for limit in (0, 61):
        failure = h.fail("ListUserPoolClients", UserPoolId=pool_id, MaxResults=limit)
        assert failure.code == "InvalidParameterException"
        assert "maxResults" in failure.message
    # a token is good only for the listing that gave it: not another pool's, not the pools'
    token = h.ok("ListUserPoolClients", UserPoolId=pool_id, MaxResults=1)["NextToken"]
    elsewhere = h.fail("ListUserPoolClients", UserPoolId=other, MaxResults=1, NextToken=token)
    assert (elsewhere.code, elsewhere.message) == (
        "InvalidParameterException",
        "Invalid pagination token",
    )
    assert h.fail("ListUserPools", MaxResults=1, NextToken=token).code == (
        "InvalidParameterException"
    )
    pools_token = h.ok("ListUserPools", MaxResults=1)["NextToken"]
    crossed = h.fail("ListUserPoolClients", UserPoolId=pool_id, NextToken=pools_token)
    assert crossed.code == "InvalidParameterException"
    assert h.fail("ListUserPoolClients").code == "InvalidParameterException"  # no pool id


# --- boto3's paginators -------------------------------------------------------------------------


async def test_boto3_paginators_walk_both_listings(front: Front) -> None:
    client, seeder, seeded = await front.seeded()
    pool_ids = [seeded.pool_id] + [await seeder.create_pool(f"pool-{i}") for i in range(4)]
    client_ids = [seeded.client_id] + [
        (await seeder.create_client(seeded.pool_id, f"app-{i}")).client_id for i in range(4)
    ]

    pools = client.get_paginator("list_user_pools")
    pages = [page async for page in pools.paginate(PaginationConfig={"PageSize": 2})]
    assert len(pages) == 3
    assert [p["Id"] for page in pages for p in page["UserPools"]] == pool_ids

    clients = client.get_paginator("list_user_pool_clients")
    listed = [
        c["ClientId"]
        async for page in clients.paginate(
            UserPoolId=seeded.pool_id, PaginationConfig={"PageSize": 3}
        )
        for c in page["UserPoolClients"]
    ]
    assert listed == client_ids


# --- apply_seed keeps what exists ---------------------------------------------------------------


def _seed(*users: str, clients: tuple[str, ...] = ("back-end", "web")) -> SeedFile:
    return SeedFile(
        pools=[
            SeedPool(
                name="main",
                # the first client (the one users are enrolled through) has a secret
                clients=[SeedClient(name=name, secret=name == "back-end") for name in clients],
                users=[
                    SeedUser(username=u, password=SecretStr(PASSWORD), totp=u == "alice")
                    for u in users
                ],
            ),
            SeedPool(name="other", mfa="OFF"),
        ]
    )


async def test_apply_seed_again_reuses_pools_clients_with_secrets_and_users(front: Front) -> None:
    client = await front.client()
    seeder = Seeder(client, clock=front.emulator.now)
    first = await apply_seed(_seed("alice"), seeder)
    main = first[0].pool
    assert main.client_secret is not None
    assert first[1].pool.client_secret is None

    again = await apply_seed(_seed("alice"), seeder)
    assert again == first  # the same pool ids, client ids and client secrets
    assert again[0].pool.client_secret == main.client_secret
    assert [p["Name"] for p in (await client.list_user_pools(MaxResults=60))["UserPools"]] == [
        "main",
        "other",
    ]
    listed = await client.list_user_pool_clients(UserPoolId=main.pool_id)
    assert [c["ClientName"] for c in listed["UserPoolClients"]] == ["back-end", "web"]
    # alice was left as she was: her authenticator is the one enrolled the first time
    alice = await client.admin_get_user(UserPoolId=main.pool_id, Username="alice")
    assert alice["UserMFASettingList"] == ["SOFTWARE_TOKEN_MFA"]


async def test_apply_seed_creates_only_what_is_missing(front: Front) -> None:
    client = await front.client()
    seeder = Seeder(client, clock=front.emulator.now)
    first = await apply_seed(_seed("alice"), seeder)
    pool_id = first[0].pool.pool_id
    # a change made since must survive the seed being applied again
    await client.admin_update_user_attributes(
        UserPoolId=pool_id,
        Username="alice",
        UserAttributes=[{"Name": "given_name", "Value": "Changed"}],
    )

    again = await apply_seed(_seed("alice", "bob", clients=("back-end", "web", "cli")), seeder)
    assert again[:2] + again[3:] == first
    added = again[2]
    assert (added.pool_name, added.client_name, added.pool.pool_id) == ("main", "cli", pool_id)
    assert added.pool.client_id not in {c.pool.client_id for c in first}
    listed = await client.list_user_pool_clients(UserPoolId=pool_id)
    assert [c["ClientName"] for c in listed["UserPoolClients"]] == ["back-end", "web", "cli"]

    bob = await client.admin_get_user(UserPoolId=pool_id, Username="bob")
    assert bob["UserStatus"] == "CONFIRMED"
    alice = await client.admin_get_user(UserPoolId=pool_id, Username="alice")
    attributes = {a["Name"]: a["Value"] for a in alice["UserAttributes"]}
    assert attributes["given_name"] == "Changed"


async def test_apply_seed_reuses_the_first_created_of_pools_sharing_a_name(
    front: Front,
) -> None:
    client = await front.client()
    seeder = Seeder(client, clock=front.emulator.now)
    oldest = await seeder.create_pool("main")
    await seeder.create_pool("main")
    kept = await seeder.create_client(oldest, "back-end", generate_secret=True)
    seeded = await apply_seed(_seed(), seeder)
    assert seeded[0].pool == kept
    assert seeded[1].pool.pool_id == oldest
    assert await seeder.find_pool("missing") is None
    assert await seeder.find_client(oldest, "missing") is None
    assert not await seeder.user_exists(oldest, "nobody")
    with pytest.raises(ClientError) as info:  # other refusals are not "no such user"
        await seeder.user_exists("us-east-1_Missing1", "nobody")
    assert info.value.response["Error"]["Code"] == "ResourceNotFoundException"
