"""The devices family: remembered devices, their operations, and what sign-in asks of them.

Operations: ConfirmDevice, UpdateDeviceStatus, ListDevices, GetDevice, ForgetDevice, and the
admin variants AdminListDevices, AdminGetDevice, AdminForgetDevice, AdminUpdateDeviceStatus.

A pool tracks devices when it has a ``DeviceConfiguration``. A sign-in to such a pool that
names no known device makes one (tracked, unconfirmed) and returns it as
``NewDeviceMetadata``; ConfirmDevice stores the device's SRP salt and verifier and remembers
it at once, or (``DeviceOnlyRememberedOnUserPrompt``) answers ``UserConfirmationNecessary``
and waits for UpdateDeviceStatus. Only confirmed devices are listed, read, changed or
forgotten; an unknown key is ResourceNotFoundException "Device does not exist.". The sign-in
family asks :func:`stands_in` whether a remembered device replaces the MFA challenge with
device SRP. docs/emulator-fidelity.md says which of this is confirmed and which assumed.

Sources: the API reference pages of these operations and the botocore ``cognito-idp`` model
(shapes and declared errors); "Working with user devices in your user pool" in the developer
guide.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable
from typing import Any, Final

from .. import _srp as srp
from . import _codes
from ._model import Device, Pool, User
from ._paging import open_token, sign_token
from ._shapes import device_shape
from ._state import Model
from ._tokens import verify_access
from ._wire import CognitoError, invalid

__all__ = [
    "HANDLERS",
    "MSG_NO_DEVICE",
    "bind",
    "known_device",
    "stands_in",
]

MSG_NO_DEVICE: Final = "Device does not exist."
PAGE_LIMIT: Final = 60  # ListDevices' most (and, assumed, its default)
# unconfirmed devices kept per user: each sign-in without a device key makes one, so the
# oldest go first (assumed: Cognito's own limit is not documented)
UNCONFIRMED_KEPT: Final = 100
# the factors a remembered device stands in for, always (EMAIL_OTP: per the settings)
_SKIPPED: Final = frozenset({"SMS_MFA", "SOFTWARE_TOKEN_MFA"})


def _no_device() -> CognitoError:
    return CognitoError("ResourceNotFoundException", MSG_NO_DEVICE)


def known_device(user: User, key: str) -> Device:
    """A device of ``user`` (confirmed or only tracked), or ResourceNotFoundException."""
    device = user.devices.get(key)
    if device is None:
        raise _no_device()
    return device


def _confirmed(user: User, key: str) -> Device:
    device = user.devices.get(key)
    if device is None or not device.confirmed:
        raise _no_device()
    return device


def tracks_devices(pool: Pool) -> bool:
    return pool.device_configuration is not None


def bind(model: Model, pool: Pool, user: User, key: str | None) -> tuple[Device | None, bool]:
    """The device a finished sign-in is bound to, and whether it is new (NewDeviceMetadata).

    A pool without device tracking binds none; a known device has its last sign-in noted;
    otherwise a new, unconfirmed device is made.
    """
    if not tracks_devices(pool):
        return None, False
    now = model.now()
    model.touched.add(("user", pool.id, user.username))
    device = user.devices.get(key) if key is not None else None
    if device is not None:
        device.last_authenticated = now
        return device, False
    if user.device_group_key is None:
        user.device_group_key = _codes.device_group_key(model.random)
    new_key = _codes.device_key(model.random, model.settings.region)
    while new_key in user.devices:  # pragma: no cover - a UUID collision
        new_key = _codes.device_key(model.random, model.settings.region)
    device = Device(
        key=new_key,
        group_key=user.device_group_key,
        created=now,
        modified=now,
        last_authenticated=now,
    )
    user.devices[device.key] = device
    unconfirmed = [d for d in user.devices.values() if not d.confirmed]
    for old in unconfirmed[: max(0, len(unconfirmed) - UNCONFIRMED_KEPT)]:
        del user.devices[old.key]
    return device, True


def stands_in(model: Model, pool: Pool, user: User, key: str | None, factors: list[str]) -> bool:
    """Whether the remembered device ``key`` replaces a challenge for ``factors`` (device SRP).

    Only where the pool asks for it (``ChallengeRequiredOnNewDevice``), for a confirmed and
    remembered device, and when every offered factor is one a device stands in for.
    """
    config = pool.device_configuration
    if key is None or config is None or not config.get("ChallengeRequiredOnNewDevice", False):
        return False
    device = user.devices.get(key)
    if device is None or not device.confirmed or not device.remembered:
        return False
    skipped = set(_SKIPPED)
    if model.settings.device_skips_email_mfa:
        skipped.add("EMAIL_OTP")
    return bool(factors) and all(name in skipped for name in factors)


# --- ConfirmDevice ------------------------------------------------------------------------------


def _decoded(text: str | None) -> int:
    """A DeviceSecretVerifierConfig member: base64 of a big-endian number."""
    if not text:
        raise invalid("Invalid DeviceSecretVerifierConfig")  # UNCONFIRMED text
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise invalid("Invalid DeviceSecretVerifierConfig") from None
    return int.from_bytes(raw, "big")


def confirm_device(model: Model, data: dict[str, Any]) -> dict[str, Any]:
    pool, user, _ = verify_access(model, data["AccessToken"])
    device = known_device(user, data["DeviceKey"])
    if device.confirmed:
        # UNCONFIRMED text; the model declares the exception
        raise CognitoError("DeviceKeyExistsException", "Device already exists.")
    config = data.get("DeviceSecretVerifierConfig")
    if config is None:
        raise invalid("Missing required parameter DeviceSecretVerifierConfig")
    salt = _decoded(config.get("Salt"))
    verifier = _decoded(config.get("PasswordVerifier"))
    if salt == 0 or not 0 < verifier < srp.N:
        raise invalid("Invalid DeviceSecretVerifierConfig")
    prompt = bool((pool.device_configuration or {}).get("DeviceOnlyRememberedOnUserPrompt"))
    device.salt, device.verifier = salt, verifier
    device.confirmed = True
    device.remembered = not prompt
    device.name = data.get("DeviceName")
    device.modified = model.now()
    return {"UserConfirmationNecessary": prompt}


# --- the other operations -----------------------------------------------------------------------


def _status(model: Model, device: Device, data: dict[str, Any]) -> dict[str, Any]:
    status = data.get("DeviceRememberedStatus")
    if status is None:
        raise invalid("Missing required parameter DeviceRememberedStatus")
    device.remembered = status == "remembered"
    device.modified = model.now()
    return {}


def _page_token(pool: Pool, user: User, after: Device, model: Model) -> str:
    """An opaque token for "the devices after ``after``", good for this user only."""
    return sign_token(model, _scope(pool, user), [after.created, after.key])


def _scope(pool: Pool, user: User) -> bytes:
    return f"{pool.id}\0{user.username}\0".encode()


def _after(model: Model, pool: Pool, user: User, token: str) -> tuple[float, str]:
    created, key = open_token(model, _scope(pool, user), token)
    return float(created), str(key)


def _list(model: Model, pool: Pool, user: User, data: dict[str, Any]) -> dict[str, Any]:
    limit = data.get("Limit") or PAGE_LIMIT  # 0 or absent: the default
    devices: Iterable[Device] = sorted(
        (d for d in user.devices.values() if d.confirmed), key=lambda d: (d.created, d.key)
    )
    token = data.get("PaginationToken")
    if token is not None:
        after = _after(model, pool, user, token)
        devices = [d for d in devices if (d.created, d.key) > after]
    listed = list(devices)
    page = listed[:limit]
    result: dict[str, Any] = {"Devices": [device_shape(d) for d in page]}
    if len(listed) > limit:
        result["PaginationToken"] = _page_token(pool, user, page[-1], model)
    return result


def _token_user(model: Model, data: dict[str, Any]) -> tuple[Pool, User]:
    token = data.get("AccessToken")
    if token is None:
        # UNCONFIRMED text: optional in the model, yet nothing else says whose device it is
        raise invalid("Missing required parameter AccessToken")
    pool, user, _ = verify_access(model, token)
    return pool, user


def update_device_status(model: Model, data: dict[str, Any]) -> dict[str, Any]:
    _, user = _token_user(model, data)
    return _status(model, _confirmed(user, data["DeviceKey"]), data)


def list_devices(model: Model, data: dict[str, Any]) -> dict[str, Any]:
    pool, user = _token_user(model, data)
    return _list(model, pool, user, data)


def get_device(model: Model, data: dict[str, Any]) -> dict[str, Any]:
    _, user = _token_user(model, data)
    return {"Device": device_shape(_confirmed(user, data["DeviceKey"]))}


def forget_device(model: Model, data: dict[str, Any]) -> dict[str, Any]:
    _, user = _token_user(model, data)
    del user.devices[_confirmed(user, data["DeviceKey"]).key]
    return {}


def admin_update_device_status(model: Model, data: dict[str, Any]) -> dict[str, Any]:
    _, user = model.admin_user(data)
    return _status(model, _confirmed(user, data["DeviceKey"]), data)


def admin_list_devices(model: Model, data: dict[str, Any]) -> dict[str, Any]:
    pool, user = model.admin_user(data)
    return _list(model, pool, user, data)


def admin_get_device(model: Model, data: dict[str, Any]) -> dict[str, Any]:
    _, user = model.admin_user(data)
    return {"Device": device_shape(_confirmed(user, data["DeviceKey"]))}


def admin_forget_device(model: Model, data: dict[str, Any]) -> dict[str, Any]:
    _, user = model.admin_user(data)
    del user.devices[_confirmed(user, data["DeviceKey"]).key]
    return {}


HANDLERS: Final = {
    "ConfirmDevice": confirm_device,
    "UpdateDeviceStatus": update_device_status,
    "ListDevices": list_devices,
    "GetDevice": get_device,
    "ForgetDevice": forget_device,
    "AdminUpdateDeviceStatus": admin_update_device_status,
    "AdminListDevices": admin_list_devices,
    "AdminGetDevice": admin_get_device,
    "AdminForgetDevice": admin_forget_device,
}
