"""Seed files: pools, app clients and users for ``emulator serve --seed FILE``, without code.

A seed file is JSON or TOML (by its ``.toml`` suffix), checked with pydantic before anything
is served; a mistake is reported as one line naming the file and the field, never echoing a
value (passwords stay out of it). Everything is created through Cognito's own admin API
(:class:`~cognito_mfa.testing.Seeder`) against the emulator's application.

A seed is applied once per state: :func:`apply_seed` looks each pool up by name
(ListUserPools), each client by name in its pool (ListUserPoolClients), each user by name
(AdminGetUser), keeps what exists as it is (its settings, ids and secrets: a changed setting in
the file does not change an existing pool) and creates only what is missing. With ``serve
--state FILE --seed SEED`` a restart thus prints the same ids, and a user added to SEED between
two starts is the only thing created. TOML example::

    [[pools]]
    name = "main"                 # letters, digits, '-' and '_'; unique
    mfa = "OPTIONAL"              # OFF | ON | OPTIONAL (default OPTIONAL)
    sms = true                    # factors the pool offers (default: all three)
    totp = true
    email = true
    username_attributes = []      # e.g. ["email"]
    alias_attributes = []         # e.g. ["email", "preferred_username"] (not with the above);
                                  # no two users may share an alias (a verified email or phone,
                                  # a preferred_username)
    case_sensitive = false        # UsernameConfiguration.CaseSensitive (default: not sent,
                                  # which Cognito takes as true)
    device_configuration = { ChallengeRequiredOnNewDevice = true }  # passed to CreateUserPool

    [[pools.clients]]
    name = "web"                  # unique in the pool
    secret = false                # generate a client secret
    # auth_flows = ["ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"]   (default: all four)

    [[pools.users]]
    username = "alice"
    password = "Correct-Horse-9"
    phone = "+15555550100"        # verified phone_number
    email = "alice@example.com"   # verified email
    attributes = { given_name = "Alice" }
    totp = true                   # enrol an authenticator (its code: GET /_emulator/totp)
    mfa = ["SMS", "TOTP"]         # factors enabled
    preferred = "TOTP"            # the preferred factor

``demo`` instead of a file name seeds :data:`DEMO_SEED`: pool ``demo`` (MFA optional, SMS,
TOTP and e-mail), app client ``app`` without a secret, user ``alice`` with password
``Correct-Horse-9``, a phone number and an e-mail address.

What is printed (:func:`export_lines`): shell ``export`` lines, ready for ``source`` or
``eval``: ``COGNITO_ENDPOINT_URL``; ``COGNITO_USER_POOL_ID``, ``COGNITO_CLIENT_ID`` (and
``COGNITO_CLIENT_SECRET``) for the first pool's first client, the names ``cognito-mfa
sign-in`` reads; and for every pool ``COGNITO_POOL_<POOL>_ID`` and every client
``COGNITO_CLIENT_<POOL>_<CLIENT>_ID`` (and ``..._SECRET``), names upper-cased with ``-`` as
``_``. Passwords and TOTP secrets are never printed.
"""

from __future__ import annotations

import json
import shlex
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    StrictBool,
    ValidationError,
    model_validator,
)

from ._model import CASELESS_ATTRIBUTES, VERIFIED_ALIASES, fold
from .seed import DEFAULT_AUTH_FLOWS, SeededPool, Seeder

__all__ = [
    "DEMO_SEED",
    "SeedClient",
    "SeedError",
    "SeedFile",
    "SeedPool",
    "SeedUser",
    "SeededClient",
    "apply_seed",
    "export_lines",
    "load_seed",
]

_NAME_PATTERN: Final = r"^[A-Za-z][A-Za-z0-9_-]{0,63}$"
_FLOW_NAMES: Final = frozenset(
    {
        "ALLOW_USER_SRP_AUTH",
        "ALLOW_USER_PASSWORD_AUTH",
        "ALLOW_ADMIN_USER_PASSWORD_AUTH",
        "ALLOW_REFRESH_TOKEN_AUTH",
        "ALLOW_CUSTOM_AUTH",
        "ALLOW_USER_AUTH",
    }
)

Factor = Literal["SMS", "TOTP", "EMAIL"]


class SeedError(ValueError):
    """A seed file that cannot be read or is not valid (one line, no secret in it)."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SeedUser(_Strict):
    username: str = Field(min_length=1, max_length=128)
    password: SecretStr = Field(min_length=6, max_length=256)
    phone: str | None = Field(default=None, pattern=r"^\+[0-9]{4,15}$")
    email: str | None = Field(default=None, pattern=r"^[^@\s]+@[^@\s]+$", max_length=254)
    attributes: dict[str, str] = Field(default_factory=dict)
    totp: bool = False
    mfa: list[Factor] = Field(default_factory=list)
    preferred: Factor | None = None


class SeedClient(_Strict):
    name: str = Field(pattern=_NAME_PATTERN)
    secret: bool = False
    auth_flows: list[str] = Field(default_factory=lambda: list(DEFAULT_AUTH_FLOWS), min_length=1)

    @model_validator(mode="after")
    def _known_flows(self) -> SeedClient:
        unknown = sorted(set(self.auth_flows) - _FLOW_NAMES)
        if unknown:
            raise ValueError(f"unknown auth flow {unknown[0][:40]!r}")
        return self


class SeedPool(_Strict):
    name: str = Field(pattern=_NAME_PATTERN)
    mfa: Literal["OFF", "ON", "OPTIONAL"] = "OPTIONAL"
    sms: bool = True
    totp: bool = True
    email: bool = True
    username_attributes: list[Literal["email", "phone_number"]] = Field(default_factory=list)
    alias_attributes: list[Literal["email", "phone_number", "preferred_username"]] = Field(
        default_factory=list
    )
    # strict: a quoted "no" must not pass for false on a setting that cannot change later
    case_sensitive: StrictBool | None = None
    device_configuration: dict[str, bool] | None = None
    clients: list[SeedClient] = Field(default_factory=lambda: [SeedClient(name="app")])
    users: list[SeedUser] = Field(default_factory=list)

    @model_validator(mode="after")
    def _unique_names(self) -> SeedPool:
        _check_unique([c.name for c in self.clients], "client name")
        # upper-cased, so names that differ only in case clash whatever case_sensitive says
        _check_unique([u.username for u in self.users], "username")
        if self.username_attributes and self.alias_attributes:
            # CreateUserPool's own rule
            raise ValueError("only one of username_attributes and alias_attributes can be given")
        _check_aliases(self)
        if self.users and not self.clients:
            # users are created (and TOTP enrolled) through the pool's first client
            raise ValueError("a pool with users needs at least one client")
        return self


class SeedFile(_Strict):
    pools: list[SeedPool] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique_pools(self) -> SeedFile:
        _check_unique([p.name for p in self.pools], "pool name")
        return self


def _env_part(name: str) -> str:
    return name.upper().replace("-", "_")


def _check_unique(names: list[str], what: str) -> None:
    seen: set[str] = set()
    for name in names:
        key = _env_part(name)
        if key in seen:
            raise ValueError(f"two of them share the {what} {name[:64]!r}")
        seen.add(key)


def _check_aliases(pool: SeedPool) -> None:
    """No two users share a sign-in alias: AdminCreateUser would refuse the second one."""
    labels = {
        "email": "email",
        "phone_number": "phone number",
        "preferred_username": "preferred username",
    }
    holders: dict[tuple[str, str], str] = {}
    for user in pool.users:
        # what the seeder sends: the attributes, then phone and email as verified
        attributes = dict(user.attributes)
        if user.phone is not None:
            attributes |= {"phone_number": user.phone, "phone_number_verified": "true"}
        if user.email is not None:
            attributes |= {"email": user.email, "email_verified": "true"}
        for attribute in pool.alias_attributes:
            value = attributes.get(attribute)
            if not value or (
                attribute in VERIFIED_ALIASES and attributes.get(f"{attribute}_verified") != "true"
            ):
                continue
            if pool.case_sensitive is False and attribute in CASELESS_ATTRIBUTES:
                value = fold(value)
            first = holders.setdefault((attribute, value), user.username)
            if first != user.username:
                # the users are named, not the value
                raise ValueError(
                    f"users {first[:64]!r} and {user.username[:64]!r} share the "
                    f"{labels[attribute]} alias"
                )


#: What ``--seed demo`` creates.
DEMO_SEED: Final = SeedFile(
    pools=[
        SeedPool(
            name="demo",
            clients=[SeedClient(name="app")],
            users=[
                SeedUser(
                    username="alice",
                    password=SecretStr("Correct-Horse-9"),
                    phone="+15550100123",
                    email="alice@example.com",
                )
            ],
        )
    ]
)


def load_seed(source: str | Path) -> SeedFile:
    """The seed in file ``source`` (JSON, or TOML by suffix), or :data:`DEMO_SEED` for "demo".

    Raises :class:`SeedError` with one line naming the file and the field.
    """
    if str(source) == "demo":
        return DEMO_SEED
    path = Path(source)
    try:
        text = path.read_bytes()
    except OSError as exc:
        raise SeedError(f"{path}: cannot read the seed file: {exc.strerror}") from None
    try:
        if path.suffix.lower() == ".toml":
            raw: Any = tomllib.loads(text.decode("utf-8"))
        else:
            raw = json.loads(text)
    except (ValueError, UnicodeDecodeError) as exc:
        kind = "TOML" if path.suffix.lower() == ".toml" else "JSON"
        # the decoders' messages give a position, never the content
        raise SeedError(f"{path}: not valid {kind}: {_position(exc)}") from None
    try:
        return SeedFile.model_validate(raw)
    except ValidationError as exc:
        raise SeedError(f"{path}: {_first_error(exc)}") from None


def _position(exc: Exception) -> str:
    if isinstance(exc, json.JSONDecodeError):
        return f"{exc.msg} at line {exc.lineno}, column {exc.colno}"
    if isinstance(exc, UnicodeDecodeError):
        return "the file is not UTF-8"
    return " ".join(str(exc).split())


def _first_error(exc: ValidationError) -> str:
    errors = exc.errors(include_input=False, include_url=False, include_context=False)
    first = errors[0]
    where = ".".join(str(part) for part in first["loc"]) or "(top level)"
    message = first["msg"].removeprefix("Value error, ")
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return f"{where}: {message}{more}"


@dataclass(frozen=True)
class SeededClient:
    """One app client created from a seed file."""

    pool_name: str
    client_name: str
    pool: SeededPool


async def apply_seed(seed: SeedFile, seeder: Seeder) -> list[SeededClient]:
    """Make sure every pool, client and user of ``seed`` exists; returns the clients.

    What exists is kept as it is: a pool of the seed's name (the first created, when several
    have it) with its settings, a client of the name in that pool (its id and secret), a user
    of the name. Only what is missing is created, so applying a seed again to the same state
    gives the same ids.
    """
    found: list[SeededClient] = []
    for pool in seed.pools:
        pool_id = await seeder.find_pool(pool.name)
        if pool_id is None:
            pool_id = await seeder.create_pool(
                pool.name,
                mfa=pool.mfa,
                sms=pool.sms,
                totp=pool.totp,
                email=pool.email,
                username_attributes=pool.username_attributes,
                alias_attributes=pool.alias_attributes,
                case_sensitive=pool.case_sensitive,
                device_configuration=pool.device_configuration,
            )
            existing: dict[str, SeededPool] = {}
        else:
            existing = {
                client.name: kept
                for client in pool.clients
                if (kept := await seeder.find_client(pool_id, client.name)) is not None
            }
        clients = [
            existing.get(client.name)
            or await seeder.create_client(
                pool_id, client.name, generate_secret=client.secret, auth_flows=client.auth_flows
            )
            for client in pool.clients
        ]
        found += [
            SeededClient(pool.name, spec.name, seeded)
            for spec, seeded in zip(pool.clients, clients, strict=True)
        ]
        for user in pool.users:
            if await seeder.user_exists(pool_id, user.username):
                continue
            await seeder.create_user(
                clients[0],
                user.username,
                user.password.get_secret_value(),
                phone=user.phone,
                email=user.email,
                attributes=user.attributes,
                totp=user.totp,
                mfa=user.mfa,
                preferred=user.preferred,
            )
    return found


def export_lines(endpoint_url: str, clients: Sequence[SeededClient]) -> list[str]:
    """Shell ``export NAME=value`` lines for the seeded clients (names: module docstring)."""
    values: dict[str, str] = {"COGNITO_ENDPOINT_URL": endpoint_url}
    if clients:
        first = clients[0].pool
        values["COGNITO_USER_POOL_ID"] = first.pool_id
        values["COGNITO_CLIENT_ID"] = first.client_id
        if first.client_secret is not None:
            values["COGNITO_CLIENT_SECRET"] = first.client_secret
    for client in clients:
        pool_part = _env_part(client.pool_name)
        values[f"COGNITO_POOL_{pool_part}_ID"] = client.pool.pool_id
        prefix = f"COGNITO_CLIENT_{pool_part}_{_env_part(client.client_name)}"
        values[f"{prefix}_ID"] = client.pool.client_id
        if client.pool.client_secret is not None:
            values[f"{prefix}_SECRET"] = client.pool.client_secret
    return [f"export {name}={shlex.quote(value)}" for name, value in values.items()]
