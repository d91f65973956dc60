"""The users family: creating, reading, changing and deleting users, and their passwords.

Operations: AdminCreateUser, AdminSetUserPassword, AdminUpdateUserAttributes, AdminDeleteUser,
AdminGetUser and GetUser. Passwords are kept as SRP verifiers only (salt and v = g^x), so a
password check recomputes the verifier; the pool's password policy is checked with Cognito's
own complaint texts.

Sources: the API reference pages of these operations; "Adding user pool attributes" (email or
phone number as the sign-in name: the internal username is then a UUID).
"""

from __future__ import annotations

import hmac
from typing import Any, Final

from .. import _srp as srp
from . import _codes
from ._model import Pool, SentMessage, User
from ._shapes import admin_user_shape, get_user_shape, user_shape
from ._state import Model
from ._tokens import verify_access
from ._wire import CognitoError, invalid

__all__ = ["HANDLERS", "check_policy", "password_matches", "set_password"]


def set_password(model: Model, pool: Pool, user: User, password: str) -> None:
    salt = 0
    while salt == 0:
        salt = int.from_bytes(model.random(16), "big")
    user.salt = salt
    user.verifier = srp.verifier(pool.pool_name, user.username, password, salt)


def password_matches(pool: Pool, user: User, password: str) -> bool:
    if user.salt == 0:
        return False
    candidate = srp.verifier(pool.pool_name, user.username, password, user.salt)
    return hmac.compare_digest(srp.pad_hex(candidate).encode(), srp.pad_hex(user.verifier).encode())


def check_policy(pool: Pool, password: str) -> None:
    problem = pool.policy.problem(password)
    if problem is not None:
        raise CognitoError("InvalidPasswordException", problem)


def _attributes_of(items: list[dict[str, Any]]) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in items:
        name = item["Name"]
        if name == "sub":
            raise invalid("Cannot modify an immutable attribute: sub")
        out[name] = item.get("Value", "")
    return out


def _check_unique(pool: Pool, attributes: dict[str, str], exclude: str | None, code: str) -> None:
    """Sign-in attributes (email/phone as username) must be unique in the pool.

    In a case-insensitive pool an email that differs only in case is the same sign-in name.
    """
    for name in pool.username_attributes:
        value = attributes.get(name)
        if value is None:
            continue
        for other in pool.users.values():
            stored = other.attributes.get(name)
            if (
                other.username != exclude
                and stored is not None
                and pool.same_value(name, value, stored)
            ):
                label = "email" if name == "email" else "phone number"
                raise CognitoError(code, f"An account with the given {label} already exists.")


def admin_create_user(model: Model, data: dict[str, Any]) -> dict[str, Any]:
    pool = model.pool(data["UserPoolId"])
    given_name = data["Username"]
    attributes = _attributes_of(data.get("UserAttributes", []))
    if pool.username_attributes:
        # email/phone as username: the sign-in name is an attribute, the internal
        # username a UUID (USER_ID_FOR_SRP is that UUID)
        if "@" in given_name and "email" in pool.username_attributes:
            attributes.setdefault("email", given_name)
        elif given_name.startswith("+") and "phone_number" in pool.username_attributes:
            attributes.setdefault("phone_number", given_name)
        else:
            kinds = " or ".join(
                "an email" if n == "email" else "a phone number" for n in pool.username_attributes
            )
            raise invalid(f"Username should be {kinds}.")
        sub = _codes.random_uuid(model.random)
        username = sub
    else:
        # in a case-insensitive pool a name that differs only in case is taken too
        if model.user(pool, given_name, aliases=False) is not None:
            raise CognitoError("UsernameExistsException", "User account already exists")
        sub = _codes.random_uuid(model.random)
        username = given_name
    _check_unique(pool, attributes, None, "UsernameExistsException")
    temporary = data.get("TemporaryPassword")
    if temporary is None:
        # Cognito makes one up and sends it in the invitation
        temporary = "Aa1!" + _codes.choose(
            model.random, "abcdefghijkmnpqrstuvwxyz23456789", max(pool.policy.minimum_length, 8)
        )
    else:
        check_policy(pool, temporary)
    now = model.now()
    user = User(
        username=username,
        sub=sub,
        attributes=attributes,
        status="FORCE_CHANGE_PASSWORD",
        created=now,
        modified=now,
    )
    set_password(model, pool, user, temporary)
    model.add_user(pool, user)
    if data.get("MessageAction") != "SUPPRESS":
        # the invitation; its "code" is the temporary password
        for medium in data.get("DesiredDeliveryMediums", ["SMS"]):
            to = attributes.get("phone_number" if medium == "SMS" else "email")
            if to is not None:
                model.messages.append(
                    SentMessage(pool.id, user.username, medium, to, temporary, now)
                )
    return {"User": user_shape(user)}


def admin_set_user_password(model: Model, data: dict[str, Any]) -> dict[str, Any]:
    pool, user = model.admin_user(data)
    check_policy(pool, data["Password"])
    set_password(model, pool, user, data["Password"])
    user.status = "CONFIRMED" if data.get("Permanent") else "FORCE_CHANGE_PASSWORD"
    user.modified = model.now()
    return {}


def admin_update_user_attributes(model: Model, data: dict[str, Any]) -> dict[str, Any]:
    pool, user = model.admin_user(data)
    changes = _attributes_of(data["UserAttributes"])
    _check_unique(pool, changes, user.username, "AliasExistsException")
    user.attributes.update(changes)
    user.modified = model.now()
    return {}


def admin_delete_user(model: Model, data: dict[str, Any]) -> dict[str, Any]:
    pool, user = model.admin_user(data)
    model.drop_user(pool, user)
    return {}


def admin_get_user(model: Model, data: dict[str, Any]) -> dict[str, Any]:
    _, user = model.admin_user(data)
    return admin_user_shape(user)


def get_user(model: Model, data: dict[str, Any]) -> dict[str, Any]:
    _, user, _ = verify_access(model, data["AccessToken"])
    return get_user_shape(user)


HANDLERS: Final = {
    "AdminCreateUser": admin_create_user,
    "AdminSetUserPassword": admin_set_user_password,
    "AdminUpdateUserAttributes": admin_update_user_attributes,
    "AdminDeleteUser": admin_delete_user,
    "AdminGetUser": admin_get_user,
    "GetUser": get_user,
}
