"""The pools family: user pools, their app clients and their MFA configuration.

Operations: CreateUserPool, UpdateUserPool (password policy, MFA level, DeviceConfiguration;
UsernameConfiguration is refused: it is fixed at creation),
DescribeUserPool, DeleteUserPool, ListUserPools, CreateUserPoolClient, UpdateUserPoolClient,
DescribeUserPoolClient, ListUserPoolClients, SetUserPoolMfaConfig, GetUserPoolMfaConfig.

Sources: the API reference pages of these operations and the botocore ``cognito-idp`` model
(defaults: 1-hour access and id tokens, 30-day refresh tokens, 3-minute auth sessions;
UpdateUserPoolClient resets every setting it is not given to its default, as its page warns).
``DeviceConfiguration`` turns device tracking on (see :mod:`._devices`);
``UsernameConfiguration: {CaseSensitive: false}`` makes sign-in names match in any case (see
:meth:`Pool.find_user <._model.Pool.find_user>`).

The two List operations answer in creation order, ``MaxResults`` (1-60) at a time; their
``NextToken`` is opaque: the ids of the last listed and the next item, signed with the
emulator's pagination key and bound to what is listed (the pools, or one pool's clients), so a
token is good only for the listing that gave it.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from typing import Any, Final, Protocol, TypeVar

from . import _codes
from ._jwt import SigningKey
from ._model import Client, PasswordPolicy, Pool
from ._paging import open_token, sign_token
from ._shapes import (
    UNIT_SECONDS,
    client_description_shape,
    client_shape,
    mfa_config_shape,
    pool_description_shape,
    pool_shape,
)
from ._state import Model
from ._wire import invalid

__all__ = ["HANDLERS"]

# ListUserPoolClients' MaxResults is optional; its default is not documented (assumed: the most)
_CLIENT_PAGE_DEFAULT: Final = 60


def create_user_pool(model: Model, data: dict[str, Any]) -> dict[str, Any]:
    if data.get("UsernameAttributes") and data.get("AliasAttributes"):
        raise invalid("Only one of UsernameAttributes or AliasAttributes can be specified.")
    message = data.get("SmsAuthenticationMessage")
    if message is not None and "{####}" not in message:
        raise invalid("SmsAuthenticationMessage must contain {####}")
    now = model.now()
    pool_id = _codes.pool_id(model.random, model.settings.region)
    while pool_id in model.pools:
        pool_id = _codes.pool_id(model.random, model.settings.region)
    mfa = data.get("MfaConfiguration", "OFF")
    devices = data.get("DeviceConfiguration")
    pool = Pool(
        id=pool_id,
        name=data["PoolName"],
        created=now,
        modified=now,
        key=SigningKey(kid=base64.b64encode(model.random(32)).decode()),
        mfa=mfa,
        # CreateUserPool can only configure SMS as a factor; TOTP and email MFA are turned
        # on with SetUserPoolMfaConfig
        sms_mfa=mfa != "OFF",
        sms_message=message,
        policy=PasswordPolicy.from_wire(data.get("Policies", {}).get("PasswordPolicy", {})),
        username_attributes=list(data.get("UsernameAttributes", [])),
        alias_attributes=list(data.get("AliasAttributes", [])),
        auto_verified=list(data.get("AutoVerifiedAttributes", [])),
        required_attributes=[
            item["Name"]
            for item in data.get("Schema", [])
            if item.get("Required") and "Name" in item
        ],
        device_configuration=dict(devices) if devices is not None else None,
        case_sensitive=data.get("UsernameConfiguration", {}).get("CaseSensitive"),
    )
    model.add_pool(pool)
    return {"UserPool": pool_shape(pool, model.settings.region)}


def update_user_pool(model: Model, data: dict[str, Any]) -> dict[str, Any]:
    """The settings emulated here; as the API page warns, an absent one returns to its default.

    MfaConfiguration ON or OPTIONAL needs a factor the pool has (SetUserPoolMfaConfig's rule).
    """
    pool = model.pool(data["UserPoolId"])
    if "UsernameConfiguration" in data:
        # UpdateUserPool has no such member (service model): case sensitivity is fixed when
        # the pool is created. UNCONFIRMED: how Cognito answers a raw request carrying it
        # (botocore refuses it before sending); the emulator refuses rather than ignore it
        raise invalid("UsernameConfiguration cannot be changed after the user pool is created.")
    mfa = data.get("MfaConfiguration", "OFF")
    if mfa != "OFF" and not (pool.sms_mfa or pool.totp_mfa or pool.email_mfa):
        raise invalid(
            "Invalid MFA configuration given, can't disable all MFAs with a required or "
            "optional configuration."
        )
    devices = data.get("DeviceConfiguration")
    pool.mfa = mfa
    pool.policy = PasswordPolicy.from_wire(data.get("Policies", {}).get("PasswordPolicy", {}))
    pool.device_configuration = dict(devices) if devices is not None else None
    pool.modified = model.now()
    return {}


def describe_user_pool(model: Model, data: dict[str, Any]) -> dict[str, Any]:
    return {"UserPool": pool_shape(model.pool(data["UserPoolId"]), model.settings.region)}


def delete_user_pool(model: Model, data: dict[str, Any]) -> dict[str, Any]:
    model.drop_pool(model.pool(data["UserPoolId"]))
    return {}


def list_user_pools(model: Model, data: dict[str, Any]) -> dict[str, Any]:
    # the pools themselves are only read: nothing is journalled for a listing
    pools = list(model.pools.values())
    page, token = _page(model, b"pools\0", pools, data["MaxResults"], data.get("NextToken"))
    result: dict[str, Any] = {"UserPools": [pool_description_shape(pool) for pool in page]}
    if token is not None:
        result["NextToken"] = token
    return result


def list_user_pool_clients(model: Model, data: dict[str, Any]) -> dict[str, Any]:
    pool = model.pool(data["UserPoolId"])
    clients = list(pool.clients.values())
    limit = data.get("MaxResults", _CLIENT_PAGE_DEFAULT)
    scope = f"clients\0{pool.id}\0".encode()
    page, token = _page(model, scope, clients, limit, data.get("NextToken"))
    result: dict[str, Any] = {"UserPoolClients": [client_description_shape(c) for c in page]}
    if token is not None:
        result["NextToken"] = token
    return result


class _Listed(Protocol):
    @property
    def id(self) -> str: ...

    @property
    def created(self) -> float: ...


_T = TypeVar("_T", bound=_Listed)


def _page(
    model: Model, scope: bytes, items: Sequence[_T], limit: int, token: str | None
) -> tuple[list[_T], str | None]:
    """One page of ``items`` (in creation order) after ``token``, and the token for the next.

    The token names the last item listed and the first one not listed yet: the next page
    starts after the first while it exists, else at the second, else (both gone by then) at
    the first item created after the last listed one.
    """
    start = 0
    if token is not None:
        last_id, next_id, last_created = _after(model, scope, token)
        ids = [item.id for item in items]
        if last_id in ids:
            start = ids.index(last_id) + 1
        elif next_id in ids:
            start = ids.index(next_id)
        else:
            start = next(
                (i for i, item in enumerate(items) if item.created > last_created), len(items)
            )
    end = start + limit
    page = list(items[start:end])
    if end >= len(items):
        return page, None
    return page, _token(model, scope, page[-1], items[end])


def _token(model: Model, scope: bytes, last: _Listed, following: _Listed) -> str:
    return sign_token(model, scope, [last.id, following.id, last.created])


def _after(model: Model, scope: bytes, token: str) -> tuple[str, str, float]:
    last_id, next_id, last_created = open_token(model, scope, token)
    return str(last_id), str(next_id), float(last_created)


def _configure_client(client: Client, data: dict[str, Any]) -> None:
    """Apply CreateUserPoolClient / UpdateUserPoolClient settings; absent ones get defaults."""
    units = {"AccessToken": "hours", "IdToken": "hours", "RefreshToken": "days"}
    units.update(data.get("TokenValidityUnits", {}))
    access = data.get("AccessTokenValidity")
    id_valid = data.get("IdTokenValidity")
    refresh = data.get("RefreshTokenValidity")
    access_seconds = 3600 if access is None else access * UNIT_SECONDS[units["AccessToken"]]
    id_seconds = 3600 if id_valid is None else id_valid * UNIT_SECONDS[units["IdToken"]]
    # 0 means the default too (the RefreshTokenValidity documentation)
    refresh_seconds = 30 * 86400 if not refresh else refresh * UNIT_SECONDS[units["RefreshToken"]]
    # checked before anything changes: a refused update leaves the client as it was
    _check_validities(access_seconds, id_seconds, refresh_seconds)
    client.session_validity_minutes = data.get("AuthSessionValidity", 3)
    client.access_validity_seconds = access_seconds
    client.id_validity_seconds = id_seconds
    client.refresh_validity_seconds = refresh_seconds
    client.token_units = units
    client.explicit_flows_given = "ExplicitAuthFlows" in data
    client.flows = list(data.get("ExplicitAuthFlows", Client.default_flows()))
    client.token_revocation = data.get("EnableTokenRevocation", True)
    rotation = data.get("RefreshTokenRotation", {})
    client.rotation = rotation.get("Feature") == "ENABLED"
    client.rotation_grace_seconds = rotation.get("RetryGracePeriodSeconds", 0)


# The ranges the developer guide gives for an app client's token lifetimes, in seconds.
_ID_ACCESS_RANGE: Final = (5 * 60, 86400)
_REFRESH_RANGE: Final = (60 * 60, 3650 * 86400)


def _check_validities(access: int, id_token: int, refresh: int) -> None:
    """Access and ID tokens live 5 minutes to 1 day, refresh tokens 60 minutes to 10 years
    (seconds, all three)."""
    low, high = _ID_ACCESS_RANGE
    for name, seconds in (("AccessTokenValidity", access), ("IdTokenValidity", id_token)):
        if not low <= seconds <= high:
            raise invalid(f"{name} must be between 5 minutes and 1 day.")
    low, high = _REFRESH_RANGE
    if not low <= refresh <= high:
        raise invalid("RefreshTokenValidity must be between 60 minutes and 10 years.")


def create_user_pool_client(model: Model, data: dict[str, Any]) -> dict[str, Any]:
    pool = model.pool(data["UserPoolId"])
    now = model.now()
    client = Client(
        id=_codes.client_id(model.random),
        pool_id=pool.id,
        name=data["ClientName"],
        secret=_codes.client_secret(model.random) if data.get("GenerateSecret") else None,
        created=now,
        modified=now,
    )
    _configure_client(client, data)
    model.add_client(pool, client)
    return {"UserPoolClient": client_shape(client)}


def update_user_pool_client(model: Model, data: dict[str, Any]) -> dict[str, Any]:
    _, client = model.client(data["ClientId"], data["UserPoolId"])
    _configure_client(client, data)
    if "ClientName" in data:
        client.name = data["ClientName"]
    client.modified = model.now()
    return {"UserPoolClient": client_shape(client)}


def describe_user_pool_client(model: Model, data: dict[str, Any]) -> dict[str, Any]:
    _, client = model.client(data["ClientId"], data["UserPoolId"])
    return {"UserPoolClient": client_shape(client)}


def set_user_pool_mfa_config(model: Model, data: dict[str, Any]) -> dict[str, Any]:
    pool = model.pool(data["UserPoolId"])
    mfa = data.get("MfaConfiguration", pool.mfa)
    # UNCONFIRMED: the call replaces the factor configuration, so an absent block turns
    # that factor off (as the console's single "save" does)
    sms_block = data.get("SmsMfaConfiguration")
    email_block = data.get("EmailMfaConfiguration")
    totp = bool(data.get("SoftwareTokenMfaConfiguration", {}).get("Enabled", False))
    if mfa != "OFF" and sms_block is None and not totp and email_block is None:
        raise invalid(
            "Invalid MFA configuration given, can't disable all MFAs with a required or "
            "optional configuration."
        )
    for block, key in ((sms_block, "SmsAuthenticationMessage"), (email_block, "Message")):
        if block is not None and key in block and "{####}" not in block[key]:
            raise invalid(f"{key} must contain {{####}}")
    pool.mfa = mfa
    pool.sms_mfa = sms_block is not None
    pool.sms_message = (sms_block or {}).get("SmsAuthenticationMessage", pool.sms_message)
    pool.totp_mfa = totp
    pool.email_mfa = email_block is not None
    pool.email_message = (email_block or {}).get("Message")
    pool.email_subject = (email_block or {}).get("Subject")
    pool.modified = model.now()
    return mfa_config_shape(pool)


def get_user_pool_mfa_config(model: Model, data: dict[str, Any]) -> dict[str, Any]:
    return mfa_config_shape(model.pool(data["UserPoolId"]))


HANDLERS: Final = {
    "CreateUserPool": create_user_pool,
    "UpdateUserPool": update_user_pool,
    "DescribeUserPool": describe_user_pool,
    "DeleteUserPool": delete_user_pool,
    "ListUserPools": list_user_pools,
    "CreateUserPoolClient": create_user_pool_client,
    "UpdateUserPoolClient": update_user_pool_client,
    "DescribeUserPoolClient": describe_user_pool_client,
    "ListUserPoolClients": list_user_pool_clients,
    "SetUserPoolMfaConfig": set_user_pool_mfa_config,
    "GetUserPoolMfaConfig": get_user_pool_mfa_config,
}
