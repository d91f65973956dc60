"""The users family: creating, reading, changing and deleting users, and their passwords.

Operations: AdminCreateUser, AdminSetUserPassword, AdminUpdateUserAttributes, AdminDeleteUser,
AdminGetUser and GetUser. Passwords are kept as SRP verifiers only (salt and v = g^x), so a
password check recomputes the verifier; the pool's password policy is checked with Cognito's
own complaint texts.

Sign-in names stay unique. With UsernameAttributes an email or phone number belongs to one user
(UsernameExistsException on creation, AliasExistsException on a change). With AliasAttributes
a verified email or phone number, and a preferred_username, is an alias of at most one user:
AdminCreateUser refuses another user's with AliasExistsException unless ``ForceAliasCreation``
moves an email or phone alias to the new user; AdminUpdateUserAttributes that verifies another
user's email or phone moves the alias (the previous user keeps the value, unverified); a
preferred_username another user holds is refused. A refused call changes nothing.

Sources: the API reference pages of these operations (AdminCreateUser: ``ForceAliasCreation``);
"User pool attributes" in the developer guide (aliases: unique, verified in only one account,
moving one marks it unverified in the previous account; email or phone number as the sign-in
name: the internal username is then a UUID).
"""

from __future__ import annotations

import hmac
from typing import Any, Final

from .. import _srp as srp
from . import _codes
from ._model import VERIFIED_ALIASES, Pool, SentMessage, User
from ._shapes import admin_user_shape, get_user_shape, user_shape
from ._state import Model
from ._tokens import verify_access
from ._wire import CognitoError, invalid

__all__ = ["HANDLERS", "change_attributes", "check_policy", "password_matches", "set_password"]

# how AliasExistsException and UsernameExistsException name a sign-in attribute
_LABELS: Final = {
    "email": "email",
    "phone_number": "phone number",
    "preferred_username": "preferred username",
}


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
                raise _taken(code, name)


def _taken(code: str, attribute: str) -> CognitoError:
    return CognitoError(code, f"An account with the given {_LABELS[attribute]} already exists.")


def _aliases_to_move(
    model: Model,
    pool: Pool,
    attributes: dict[str, str],
    exclude: str | None,
    *,
    move: bool,
    only: set[str] | None = None,
) -> list[tuple[str, User]]:
    """The aliases ``attributes`` make sign-in names that other users hold, to be moved.

    An email or phone alias another user holds is moved when ``move``, refused otherwise; a
    preferred_username is always refused (nothing documents moving one). Nothing changes
    here: the caller applies its change, then :func:`_release`.
    """
    moved = model.aliases_taken(pool, attributes, exclude=exclude, only=only)
    for attribute, _ in moved:
        if not move or attribute not in VERIFIED_ALIASES:
            raise _taken("AliasExistsException", attribute)
    return moved


def _release(moved: list[tuple[str, User]], now: float) -> None:
    """The previous holders keep the values, no longer verified: no longer their aliases."""
    for attribute, holder in moved:
        holder.attributes[f"{attribute}_verified"] = "false"
        holder.modified = now


def change_attributes(
    model: Model, pool: Pool, user: User, changes: dict[str, str], *, move: bool
) -> None:
    """Apply ``changes`` to ``user`` in one step, keeping sign-in names unique.

    A changed email or phone number is no longer verified unless the change says so (Cognito
    marks an updated address unverified). Refusals (AliasExistsException) come before any
    change; with ``move`` a verified email or phone alias of another user moves to ``user``.
    """
    result = {**user.attributes, **changes}
    for name in VERIFIED_ALIASES:
        flag = f"{name}_verified"
        old = user.attributes.get(name)
        new = changes.get(name)
        if (
            new is not None
            and flag not in changes
            and result.get(flag) == "true"
            and (old is None or not pool.same_value(name, new, old))
        ):
            result[flag] = "false"
    _check_unique(pool, changes, user.username, "AliasExistsException")
    touched = set(changes) | {name for name in VERIFIED_ALIASES if f"{name}_verified" in changes}
    moved = _aliases_to_move(model, pool, result, user.username, move=move, only=touched)
    now = model.now()
    user.attributes.clear()
    user.attributes.update(result)
    user.modified = now
    _release(moved, now)


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
    force = bool(data.get("ForceAliasCreation"))
    moved = _aliases_to_move(model, pool, attributes, None, move=force)
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
    _release(moved, now)
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
    # verifying another user's email or phone moves the alias (reported: no refusal)
    change_attributes(model, pool, user, changes, move=True)
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
