"""The token family: issuing, verifying, refreshing and revoking tokens, and signing out.

Operations: GetTokensFromRefreshToken, RevokeToken, GlobalSignOut; and for the sign-in family
the token issue at the end of a sign-in and the REFRESH_TOKEN_AUTH flow of InitiateAuth.

Every sign-in is an :class:`Origin` (``origin_jti`` in its tokens). Its refresh tokens are
kept by digest only (state files and reprs never hold them). Revoking a refresh token
(RevokeToken) or signing out everywhere (GlobalSignOut) revokes the origin, so the refresh
token and every access token issued from it are refused afterwards. With refresh-token
rotation on the app client (``RefreshTokenRotation``), GetTokensFromRefreshToken returns a new
refresh token of the same origin and the one it replaced is refused once the client's grace
period (``RetryGracePeriodSeconds``, 0-60 s) has passed. A sign-in bound to a device (a
device-tracking pool) refreshes only with that device's key, and only while the device exists.

Sources: the API reference pages of RevokeToken, GetTokensFromRefreshToken, GlobalSignOut and
InitiateAuth; "Refresh tokens" in the Cognito developer guide; docs/emulator-fidelity.md says
which behaviour is confirmed and which assumed.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any, Final

from .._wire_keys import secret_hash
from . import _codes
from ._jwt import ACCESS_SCOPE, TokenError, issuer, unverified_issuer
from ._model import Client, Origin, Pool, RefreshRecord, User
from ._shapes import authentication_result
from ._state import MSG_NO_USER, Model, not_authorized
from ._wire import CognitoError, invalid

__all__ = ["HANDLERS", "check_secret_hash", "issue", "refresh_auth", "verify_access"]

_REFRESH_HEADER: Final = "eyJjdHkiOiJKV1QiLCJlbmMiOiJBMjU2R0NNIiwiYWxnIjoiUlNBLU9BRVAifQ"


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def check_secret_hash(client: Client, username: str, given: str | None) -> None:
    """SECRET_HASH must be sent, and match, for a client with a secret."""
    if client.secret is None:
        return
    if given is None:
        raise not_authorized(
            f"Client {client.id} is configured with secret but SECRET_HASH was not received"
        )
    expected = secret_hash(username, client.id, client.secret)
    if not hmac.compare_digest(expected.encode(), given.encode()):
        raise not_authorized(f"Unable to verify secret hash for client {client.id}")


def _check_client_secret(client: Client, given: str | None) -> None:
    """The ClientSecret member of the token operations (UNCONFIRMED texts)."""
    if client.secret is None:
        return
    if given is None:
        raise not_authorized(
            f"Client {client.id} is configured with secret but ClientSecret was not received"
        )
    if not hmac.compare_digest(client.secret.encode(), given.encode()):
        raise not_authorized(f"Unable to verify client secret for client {client.id}")


# --- issuing ------------------------------------------------------------------------------------


def issue(
    model: Model,
    pool: Pool,
    client: Client,
    user: User,
    *,
    origin: Origin | None = None,
    auth_time: int | None = None,
    with_refresh: bool = True,
    device_key: str | None = None,
) -> dict[str, Any]:
    """An ``AuthenticationResult``: access and id tokens, and (``with_refresh``) a refresh token.

    Without ``origin`` this is a new sign-in; with one, a refresh within that sign-in.
    ``device_key``: the device the sign-in is bound to (the access token's ``device_key``).
    """
    now = model.now()
    iat = int(now)
    if origin is None:
        origin = Origin(
            jti=_codes.random_uuid(model.random),
            pool_id=pool.id,
            client_id=client.id,
            username=user.username,
            expires=now,
            device_key=device_key,
        )
        model.add_origin(origin)
    # the sign-in lives as long as its longest-lived token
    longest = max(client.access_validity_seconds, client.id_validity_seconds)
    if with_refresh:
        longest = max(longest, client.refresh_validity_seconds)
    origin.expires = max(origin.expires, now + longest)
    auth_time = iat if auth_time is None else auth_time
    event_id = _codes.random_uuid(model.random)
    iss = issuer(model.settings.region, pool.id)
    access = {
        "sub": user.sub,
        "iss": iss,
        "client_id": client.id,
        "origin_jti": origin.jti,
        "event_id": event_id,
        "token_use": "access",
        "scope": ACCESS_SCOPE,
        "auth_time": auth_time,
        "exp": iat + client.access_validity_seconds,
        "iat": iat,
        "jti": _codes.random_uuid(model.random),
        "username": user.username,
    }
    if device_key is not None:
        access["device_key"] = device_key
    id_claims: dict[str, Any] = {"sub": user.sub}
    for name, value in user.attributes.items():
        if name in ("email_verified", "phone_number_verified"):
            id_claims[name] = value == "true"
        elif name != "sub":
            id_claims[name] = value
    id_claims.update(
        {
            "iss": iss,
            "cognito:username": user.username,
            "origin_jti": origin.jti,
            "aud": client.id,
            "event_id": event_id,
            "token_use": "id",
            "auth_time": auth_time,
            "exp": iat + client.id_validity_seconds,
            "iat": iat,
            "jti": _codes.random_uuid(model.random),
        }
    )
    refresh = None
    if with_refresh:
        refresh = ".".join(
            [
                _REFRESH_HEADER,
                _codes.opaque_token(model.random, 192),
                _codes.opaque_token(model.random, 12),
                _codes.opaque_token(model.random, 288),
                _codes.opaque_token(model.random, 16),
            ]
        )
        model.add_refresh(
            RefreshRecord(
                digest=_digest(refresh),
                origin_jti=origin.jti,
                expires=now + client.refresh_validity_seconds,
                auth_time=auth_time,
            )
        )
    # the pool's signing key is made at first use: the pool record may change here
    model.touched.add(("pool", pool.id))
    return authentication_result(
        pool.key.sign(access), pool.key.sign(id_claims), client.access_validity_seconds, refresh
    )


# --- checking -----------------------------------------------------------------------------------


def verify_access(model: Model, token: str) -> tuple[Pool, User, dict[str, Any]]:
    """Verify an access token (signature, expiry, revocation) and find its user."""
    iss = unverified_issuer(token)
    pool_id = iss.rsplit("/", 1)[-1] if iss else ""
    pool = model.pools.get(pool_id)
    if pool is None or iss != issuer(model.settings.region, pool_id):
        raise not_authorized("Invalid Access Token")
    try:
        claims = pool.key.verify(token, now=model.now(), token_use="access")
    except TokenError as error:
        if error.reason == "expired":
            raise not_authorized("Access Token has expired") from None
        raise not_authorized("Invalid Access Token") from None
    user = model.user(pool, str(claims.get("username", "")), aliases=False)
    if user is None or user.sub != claims.get("sub"):
        raise CognitoError("UserNotFoundException", MSG_NO_USER)
    origin = model.origin(str(claims.get("origin_jti")))
    if origin is None or origin.revoked:
        raise not_authorized("Access Token has been revoked")
    return pool, user, claims


def _refresh_of(
    model: Model, pool: Pool, client: Client, token: str
) -> tuple[RefreshRecord | None, Origin | None]:
    """The record of a refresh token issued to this client (None: unknown here) and its
    sign-in (None: gone, every token of it expired)."""
    record = model.refresh_record(_digest(token))
    if record is None:
        return None, None
    origin = model.origin(record.origin_jti)
    if origin is not None and (origin.client_id != client.id or origin.pool_id != pool.id):
        return None, None
    return record, origin


def _usable_refresh(
    model: Model, pool: Pool, client: Client, token: str
) -> tuple[RefreshRecord, Origin, User]:
    """The record, sign-in and user of a refresh token this client may use now."""
    record, origin = _refresh_of(model, pool, client, token)
    if record is None:
        raise not_authorized("Invalid Refresh Token")
    user = model.user(pool, origin.username, aliases=False) if origin is not None else None
    if user is None or origin is None or origin.revoked:
        raise not_authorized("Refresh Token has been revoked")
    now = model.now()
    if now >= record.expires:
        raise not_authorized("Refresh Token has expired")
    if record.retired_at is not None and now >= record.retired_at:
        # UNCONFIRMED text; the exception is the model's for a token rotated out
        raise CognitoError("RefreshTokenReuseException", "Refresh Token has been reused")
    return record, origin, user


def _check_device(user: User, origin: Origin, given: str | None) -> None:
    """Tokens of a sign-in bound to a device refresh only with that device's key, while the
    device exists (the "Invalid Refresh Token" of device-tracking pools); others ignore it."""
    if origin.device_key is None:
        return
    if given != origin.device_key or origin.device_key not in user.devices:
        raise not_authorized("Invalid Refresh Token")


# --- operations ---------------------------------------------------------------------------------


def refresh_auth(
    model: Model, pool: Pool, client: Client, params: dict[str, str]
) -> dict[str, Any]:
    """InitiateAuth / AdminInitiateAuth with REFRESH_TOKEN_AUTH (or REFRESH_TOKEN)."""
    token = params.get("REFRESH_TOKEN")
    if token is None:
        raise invalid("Missing required parameter REFRESH_TOKEN")
    record, origin, user = _usable_refresh(model, pool, client, token)
    # the hash is over the USERNAME sent, or the internal name when none is sent
    check_secret_hash(client, params.get("USERNAME", user.username), params.get("SECRET_HASH"))
    _check_device(user, origin, params.get("DEVICE_KEY"))
    if not user.enabled:
        raise not_authorized("User is disabled.")
    # this flow never returns a refresh token: the client keeps the one it has
    result = issue(
        model,
        pool,
        client,
        user,
        origin=origin,
        auth_time=record.auth_time,
        with_refresh=False,
        device_key=origin.device_key,
    )
    return {"ChallengeParameters": {}, "AuthenticationResult": result}


def get_tokens_from_refresh_token(model: Model, data: dict[str, Any]) -> dict[str, Any]:
    pool, client = model.client(data["ClientId"])
    _check_client_secret(client, data.get("ClientSecret"))
    record, origin, user = _usable_refresh(model, pool, client, data["RefreshToken"])
    _check_device(user, origin, data.get("DeviceKey"))
    if not user.enabled:
        raise not_authorized("User is disabled.")
    if client.rotation and record.retired_at is None:
        # rotated out: still usable for the grace period, so a client can retry
        record.retired_at = model.now() + client.rotation_grace_seconds
    result = issue(
        model,
        pool,
        client,
        user,
        origin=origin,
        auth_time=record.auth_time,
        with_refresh=client.rotation,
        device_key=origin.device_key,
    )
    return {"AuthenticationResult": result}


def revoke_token(model: Model, data: dict[str, Any]) -> dict[str, Any]:
    pool, client = model.client(data["ClientId"])
    _check_client_secret(client, data.get("ClientSecret"))
    if not client.token_revocation:
        # UNCONFIRMED text
        raise CognitoError(
            "UnsupportedOperationException", "Token revocation is not enabled for this client."
        )
    token: str = data["Token"]
    if token.count(".") == 2:
        # an id or access token (a JWS): only refresh tokens can be revoked
        raise CognitoError("UnsupportedTokenTypeException", "Unsupported token type.")
    _, origin = _refresh_of(model, pool, client, token)
    # UNCONFIRMED: as OAuth token revocation (RFC 7009 §2.2), a token that is unknown,
    # expired or already revoked is not an error
    if origin is not None:
        origin.revoked = True
    return {}


def global_sign_out(model: Model, data: dict[str, Any]) -> dict[str, Any]:
    pool, user, _ = verify_access(model, data["AccessToken"])
    for origin in model.user_origins(pool, user):
        origin.revoked = True
    return {}


HANDLERS: Final = {
    "GetTokensFromRefreshToken": get_tokens_from_refresh_token,
    "RevokeToken": revoke_token,
    "GlobalSignOut": global_sign_out,
}
