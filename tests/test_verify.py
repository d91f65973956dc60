"""TokenVerifier: Cognito's tokens from the emulator verify, and every rule has a failing case.

The JWKS is served to the verifier through an ``httpx.MockTransport`` built here from
``Emulator.jwks`` (or from a key made here, for tokens with hand-made claims), so the tests
count the fetches and do not depend on the emulator's HTTP fronts. Assertions look at the
errors' classes and messages, never print a token; every refusal is also checked not to
echo the token.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import re
import subprocess
import sys
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

import cognito_mfa as cm
from cognito_mfa import verify
from cognito_mfa.testing.seed import SeededPool, SeededUser
from cognito_mfa.testing.service import Emulator

REGION = "us-east-1"
POOL_ID = "us-east-1_TestPool1"
ISSUER = f"https://cognito-idp.{REGION}.amazonaws.com/{POOL_ID}"
JWKS_URL = f"{ISSUER}/.well-known/jwks.json"
CLIENT_ID = "client-one"
NOW = 1_900_000_000.0
DUPLICATE = base64.urlsafe_b64encode(b'{"a": 1, "a": 2}').rstrip(b"=").decode()


class Token(str):
    """A token whose repr hides it: pytest's failure output (assertions, arguments in
    tracebacks) shows the repr, never the token."""

    def __repr__(self) -> str:
        return f"<token of {len(self)} characters>"


# --- a signing key of our own, for hand-made claims -----------------------------------------


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64json(value: object) -> str:
    return b64url(json.dumps(value).encode())


class Signer:
    """An RS256 key with a kid, its JWK, and tokens with any header and claims."""

    def __init__(self, kid: str, bits: int = 2048) -> None:
        self.kid = kid
        self.private = rsa.generate_private_key(public_exponent=65537, key_size=bits)

    def jwk(self, **extra: Any) -> dict[str, Any]:
        key: dict[str, Any] = json.loads(
            jwt.algorithms.RSAAlgorithm.to_jwk(self.private.public_key())
        )
        key.update({"kid": self.kid, "alg": "RS256", "use": "sig"}, **extra)
        return key

    def token(self, claims: dict[str, Any], **header: Any) -> Token:
        return Token(
            jwt.encode(claims, self.private, algorithm="RS256", headers={"kid": self.kid, **header})
        )

    def public_pem(self) -> bytes:
        return self.private.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )


@pytest.fixture(scope="module")
def signer() -> Signer:
    return Signer("key-1")


@pytest.fixture(scope="module")
def other_signer() -> Signer:
    return Signer("key-2")


def access_claims(**override: Any) -> dict[str, Any]:
    claims: dict[str, Any] = {
        "sub": "8f6c1b2e-0000-4000-8000-000000000001",
        "iss": ISSUER,
        "client_id": CLIENT_ID,
        "origin_jti": "o-1",
        "event_id": "e-1",
        "token_use": "access",
        "scope": "aws.cognito.signin.user.admin profile/read",
        "auth_time": int(NOW) - 60,
        "exp": int(NOW) + 3600,
        "iat": int(NOW) - 60,
        "jti": "j-1",
        "username": "alice",
        "cognito:groups": ["admins", "staff"],
        "device_key": "us-east-1_device-1",
    }
    claims.update(override)
    return {k: v for k, v in claims.items() if v is not None}


def id_claims(**override: Any) -> dict[str, Any]:
    claims = access_claims(token_use="id", aud=CLIENT_ID, client_id=None, scope=None)
    claims["cognito:username"] = claims.pop("username")
    claims.update(override)
    return claims


class Clock:
    def __init__(self, now: float = NOW) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class JwksServer:
    """An ``httpx.MockTransport`` answering the JWKS URL; counts fetches; can hold or fail."""

    def __init__(self, document: Callable[[], dict[str, Any] | None]) -> None:
        self.document = document
        self.fetches = 0
        self.gate: asyncio.Event | None = None
        self.status = 200
        self.body: bytes | None = None

    async def handle(self, request: httpx.Request) -> httpx.Response:
        self.fetches += 1
        if self.gate is not None:
            await self.gate.wait()
        if self.body is not None:
            return httpx.Response(self.status, content=self.body)
        document = self.document()
        if document is None:
            return httpx.Response(404)
        return httpx.Response(self.status, json=document)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def jwks(signer: Signer) -> JwksServer:
    return JwksServer(lambda: {"keys": [signer.jwk()]})


@pytest.fixture
async def http(jwks: JwksServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.MockTransport(jwks.handle)) as client:
        yield client


@pytest.fixture
def make(http: httpx.AsyncClient, clock: Clock) -> Callable[..., cm.TokenVerifier]:
    """A verifier of POOL_ID with a cache of its own (tests do not share keys)."""
    cache = cm.JwksCache(ISSUER, JWKS_URL)

    def build(**options: Any) -> cm.TokenVerifier:
        options.setdefault("client_id", CLIENT_ID)
        options.setdefault("http_client", http)
        options.setdefault("clock", clock)
        options.setdefault("jwks_cache", cache)
        return cm.TokenVerifier(POOL_ID, **options)

    return build


async def refused(
    verifier: cm.TokenVerifier, token: str, error: type[cm.TokenError]
) -> cm.TokenError:
    """The verifier refuses ``token`` with ``error``; the message does not echo it."""
    token = Token(token)  # what a traceback through here shows of it
    with pytest.raises(error) as caught:
        await verifier.verify(token)
    text = str(caught.value) + repr(caught.value)
    echoed = any(part and part in text for part in token.split("."))
    assert not echoed, "the error echoes the token"
    return caught.value


# --- tokens from the emulator ---------------------------------------------------------------


async def admin_sign_in(client: Any, pool: SeededPool, user: SeededUser) -> dict[str, str]:
    response = await client.admin_initiate_auth(
        UserPoolId=pool.pool_id,
        ClientId=pool.client_id,
        AuthFlow="ADMIN_USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": user.username, "PASSWORD": user.password},
    )
    return {
        name: Token(value)
        for name, value in response["AuthenticationResult"].items()
        if isinstance(value, str)
    }


@dataclass
class Emulated:
    emulator: Emulator
    cognito: Any  # the aioboto3 client on the emulator
    pool: SeededPool
    user: SeededUser
    tokens: dict[str, str]
    served: JwksServer
    http: httpx.AsyncClient

    def verifier(self, **options: Any) -> cm.TokenVerifier:
        issuer = f"https://cognito-idp.{REGION}.amazonaws.com/{self.pool.pool_id}"
        options.setdefault("client_id", self.pool.client_id)
        return cm.TokenVerifier(
            self.pool.pool_id,
            http_client=self.http,
            clock=self.emulator.now,
            jwks_cache=cm.JwksCache(issuer, f"{issuer}/.well-known/jwks.json"),
            **options,
        )

    async def sign_in(self) -> dict[str, str]:
        return await admin_sign_in(self.cognito, self.pool, self.user)

    def kids(self) -> list[str]:
        document = self.emulator.jwks(self.pool.pool_id)
        assert document is not None
        return [key["kid"] for key in document["keys"]]


@pytest.fixture
async def emulated(
    cognito_emulator: Emulator,
    cognito_client: Any,
    cognito_pool: SeededPool,
    cognito_user_factory: Callable[..., Any],
) -> AsyncIterator[Emulated]:
    user = await cognito_user_factory("alice", email="alice@example.com")
    tokens = await admin_sign_in(cognito_client, cognito_pool, user)
    served = JwksServer(lambda: cognito_emulator.jwks(cognito_pool.pool_id))
    async with httpx.AsyncClient(transport=httpx.MockTransport(served.handle)) as http:
        yield Emulated(cognito_emulator, cognito_client, cognito_pool, user, tokens, served, http)


async def test_emulator_tokens_verify(emulated: Emulated) -> None:
    tokens, pool = emulated.tokens, emulated.pool
    access = emulated.verifier()
    claims = await access.verify(tokens["AccessToken"])
    assert claims.token_use == "access" and claims.username == "alice"
    assert claims.client_id == pool.client_id
    assert claims.scopes == ("aws.cognito.signin.user.admin",) and claims.groups == ()
    assert claims.exp == claims.iat + 3600 and claims.auth_time == claims.iat
    assert claims.claims["iss"] == access.issuer
    id_verifier = emulated.verifier(token_use="id")
    id_claims_ = await id_verifier.verify(tokens["IdToken"])
    assert id_claims_.token_use == "id" and id_claims_.username == "alice"
    assert id_claims_.sub == claims.sub and id_claims_.client_id == pool.client_id
    assert id_claims_.claims["email"] == "alice@example.com"
    either = emulated.verifier(token_use=None)
    assert (await either.verify(tokens["IdToken"])).token_use == "id"
    assert (await either.verify(tokens["AccessToken"])).token_use == "access"
    assert emulated.served.fetches == 3  # each verifier above has a cache of its own


async def test_emulator_tokens_refused(emulated: Emulated) -> None:
    tokens = emulated.tokens
    access = emulated.verifier()
    # an id token where an access token is expected
    mismatch = await refused(access, tokens["IdToken"], cm.TokenClaimMismatch)
    assert isinstance(mismatch, cm.TokenClaimMismatch) and mismatch.claim == "token_use"
    # another app client
    other = emulated.verifier(client_id=["someone-else", "and-another"])
    wrong = await refused(other, tokens["AccessToken"], cm.TokenClaimMismatch)
    assert isinstance(wrong, cm.TokenClaimMismatch) and wrong.claim == "client_id"
    id_other = emulated.verifier(client_id="someone-else", token_use="id")
    wrong_aud = await refused(id_other, tokens["IdToken"], cm.TokenClaimMismatch)
    assert isinstance(wrong_aud, cm.TokenClaimMismatch) and wrong_aud.claim == "aud"
    # expiry on the emulator's clock, with and without grace
    emulated.emulator.advance(3600)
    await refused(access, tokens["AccessToken"], cm.TokenExpired)
    lenient = emulated.verifier(grace_seconds=5)
    assert (await lenient.verify(tokens["AccessToken"])).username == "alice"


async def test_tokens_from_both_fronts_verify(front: Any, seeded: SeededPool) -> None:
    user = await front.seeder.create_user(seeded, "bob", "Correct-Horse-9")
    tokens = await admin_sign_in(front.client, seeded, user)

    def document() -> dict[str, Any] | None:
        with front.lock:
            return front.emulator.jwks(seeded.pool_id)  # type: ignore[no-any-return]

    served = JwksServer(document)
    issuer = f"https://cognito-idp.{REGION}.amazonaws.com/{seeded.pool_id}"
    async with httpx.AsyncClient(transport=httpx.MockTransport(served.handle)) as http:
        verifier = cm.TokenVerifier(
            seeded.pool_id,
            client_id=seeded.client_id,
            token_use=None,
            http_client=http,
            clock=front.now,
            jwks_cache=cm.JwksCache(issuer, f"{issuer}/.well-known/jwks.json"),
        )
        assert (await verifier.verify(tokens["AccessToken"])).username == "bob"
        assert (await verifier.verify(tokens["IdToken"])).username == "bob"
    assert served.fetches == 1


async def test_rotation(emulated: Emulated) -> None:
    emulator, pool_id = emulated.emulator, emulated.pool.pool_id
    verifier = emulated.verifier()
    old_token = emulated.tokens["AccessToken"]
    await verifier.verify(old_token)
    old_kid = jwt.get_unverified_header(old_token)["kid"]
    assert verifier.jwks_cache.kids == {old_kid}

    new_kid = emulator.rotate_signing_key(pool_id)
    assert new_kid != old_kid and emulated.kids() == [new_kid, old_kid]
    fresh = (await emulated.sign_in())["AccessToken"]
    assert jwt.get_unverified_header(fresh)["kid"] == new_kid
    # within the penalty that follows the first fetch, the new kid is not fetched
    await refused(verifier, fresh, cm.UnknownSigningKey)
    assert emulated.served.fetches == 1
    emulator.advance(10)
    assert (await verifier.verify(fresh)).username == "alice"
    assert emulated.served.fetches == 2 and verifier.jwks_cache.kids == {new_kid, old_kid}
    # the old key is still served: tokens signed before the rotation still verify, for the
    # verifier and for the emulator itself
    assert (await verifier.verify(old_token)).username == "alice"
    assert (await emulated.cognito.get_user(AccessToken=old_token))["Username"] == "alice"

    emulator.retire_old_keys(pool_id)
    assert emulated.kids() == [new_kid]
    with pytest.raises(emulated.cognito.exceptions.NotAuthorizedException):
        await emulated.cognito.get_user(AccessToken=old_token)
    # the cache keeps what it fetched until a refetch replaces it
    assert (await verifier.verify(old_token)).username == "alice"
    emulator.advance(10)
    newest_kid = emulator.rotate_signing_key(pool_id)
    newest = (await emulated.sign_in())["AccessToken"]
    await verifier.verify(newest)
    assert verifier.jwks_cache.kids == {newest_kid, new_kid}
    await refused(verifier, old_token, cm.UnknownSigningKey)
    # rotating without keeping the old key drops it at once
    emulator.rotate_signing_key(pool_id, keep_old=False)
    assert len(emulated.kids()) == 1
    with pytest.raises(LookupError):
        emulator.rotate_signing_key("us-east-1_Missing1")
    with pytest.raises(LookupError):
        emulator.retire_old_keys("us-east-1_Missing1")


async def test_rotated_keys_survive_the_state_round_trip(emulated: Emulated) -> None:
    emulator, pool_id = emulated.emulator, emulated.pool.pool_id
    first = emulator.jwks(pool_id)
    assert first is not None
    emulator.rotate_signing_key(pool_id)
    rotated = emulator.jwks(pool_id)
    assert rotated is not None and rotated["keys"][1] == first["keys"][0]
    restored = Emulator.from_state(json.loads(json.dumps(emulator.to_state())))
    assert restored.jwks(pool_id) == rotated


# --- every rule, with hand-made tokens --------------------------------------------------------


async def test_a_valid_token_and_its_claims(
    make: Callable[..., cm.TokenVerifier], signer: Signer, jwks: JwksServer
) -> None:
    verifier = make()
    claims = await verifier.verify(signer.token(access_claims()))
    assert claims == cm.VerifiedClaims(
        sub="8f6c1b2e-0000-4000-8000-000000000001",
        username="alice",
        token_use="access",
        client_id=CLIENT_ID,
        groups=("admins", "staff"),
        scopes=("aws.cognito.signin.user.admin", "profile/read"),
        exp=int(NOW) + 3600,
        iat=int(NOW) - 60,
        auth_time=int(NOW) - 60,
        device_key="us-east-1_device-1",
        claims=access_claims(),
    )
    assert jwks.fetches == 1
    await verifier.verify(signer.token(access_claims()))
    assert jwks.fetches == 1  # cached
    # a client-credentials access token names no user
    m2m = await verifier.verify(
        signer.token(access_claims(username=None, **{"cognito:groups": None}))
    )
    assert m2m.username is None and m2m.groups == ()


def tamper(token: str) -> Token:
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["username"] = "mallory"
    return Token(f"{header}.{b64json(claims)}.{signature}")


def hs256_with_public_key(signer: Signer, claims: dict[str, Any]) -> Token:
    signing_input = f"{b64json({'alg': 'HS256', 'kid': signer.kid})}.{b64json(claims)}"
    mac = hmac.new(signer.public_pem(), signing_input.encode(), hashlib.sha256).digest()
    return Token(f"{signing_input}.{b64url(mac)}")


def unsigned(signer: Signer, claims: dict[str, Any], alg: str = "none") -> Token:
    return Token(f"{b64json({'alg': alg, 'kid': signer.kid})}.{b64json(claims)}.")


async def test_signature_and_header_rules(
    make: Callable[..., cm.TokenVerifier], signer: Signer, other_signer: Signer
) -> None:
    verifier = make()
    good = signer.token(access_claims())
    await verifier.verify(good)
    await refused(verifier, unsigned(signer, access_claims()), cm.TokenSignatureInvalid)
    await refused(verifier, unsigned(signer, access_claims(), "None"), cm.TokenSignatureInvalid)
    await refused(
        verifier, hs256_with_public_key(signer, access_claims()), cm.TokenSignatureInvalid
    )
    for alg in ("RS512", "PS256", "ES256"):
        header = b64json({"alg": alg, "kid": signer.kid})
        forged = Token(f"{header}.{good.split('.', 1)[1]}")
        await refused(verifier, forged, cm.TokenSignatureInvalid)
    # a payload changed after signing
    error = await refused(verifier, tamper(good), cm.TokenSignatureInvalid)
    assert type(error) is cm.TokenSignatureInvalid
    # signed by another key under our kid
    impostor = jwt.encode(
        access_claims(), other_signer.private, algorithm="RS256", headers={"kid": signer.kid}
    )
    await refused(verifier, impostor, cm.TokenSignatureInvalid)
    # header fields that would let the token pick its own key, or extensions
    for field, value in [
        ("jku", "https://evil.example/jwks.json"),
        ("x5u", "https://evil.example/cert.pem"),
        ("jwk", other_signer.jwk()),
        ("x5c", ["MIIB..."]),
        ("crit", ["exp"]),
    ]:
        token = signer.token(access_claims(), **{field: value})
        error = await refused(verifier, token, cm.TokenMalformed)
        assert repr(field) in str(error)
    no_kid = jwt.encode(access_claims(), signer.private, algorithm="RS256")
    await refused(verifier, no_kid, cm.TokenMalformed)
    empty_kid = jwt.encode(access_claims(), signer.private, algorithm="RS256", headers={"kid": ""})
    await refused(verifier, empty_kid, cm.TokenMalformed)


@pytest.mark.parametrize(
    "mangle",
    [
        pytest.param(lambda t: t[: len(t) // 2], id="truncated"),
        pytest.param(lambda t: t.rsplit(".", 1)[0], id="two-parts"),
        pytest.param(lambda t: t + ".x", id="four-parts"),
        pytest.param(lambda t: t[:-1] + "=", id="padding"),
        pytest.param(lambda t: "!" + t, id="not-base64url"),
        pytest.param(lambda t: "", id="empty"),
        pytest.param(lambda t: f"{b64url(b'[1]')}.{t.split('.', 1)[1]}", id="header-array"),
        pytest.param(lambda t: f"{b64url(b'{')}.{t.split('.', 1)[1]}", id="header-not-json"),
        pytest.param(
            lambda t: f"{t.split('.')[0]}.{b64url(b'[' * 5000 + b']' * 5000)}.{t.split('.')[2]}",
            id="deeply-nested-payload",
        ),
        pytest.param(
            lambda t: f"{t.split('.')[0]}.{DUPLICATE}.{t.split('.')[2]}",
            id="duplicate-claim",
        ),
        pytest.param(
            lambda t: f"{t.split('.')[0]}.{b64url(bytes([0xFF, 0xFE]))}.{t.split('.')[2]}",
            id="payload-not-utf8",
        ),
        pytest.param(lambda t: t.split(".", 1)[0] + ".." + t.rsplit(".", 1)[1], id="no-payload"),
        pytest.param(lambda t: t.rsplit(".", 1)[0] + ".", id="no-signature"),
    ],
)
async def test_malformed_tokens(
    make: Callable[..., cm.TokenVerifier], signer: Signer, mangle: Callable[[str], str]
) -> None:
    verifier = make()
    await verifier.hydrate()
    await refused(verifier, Token(mangle(signer.token(access_claims()))), cm.TokenMalformed)


async def test_huge_and_non_string_tokens(
    make: Callable[..., cm.TokenVerifier], signer: Signer, jwks: JwksServer
) -> None:
    verifier = make()
    huge = signer.token(access_claims(padding="x" * verify.MAX_TOKEN_CHARS))
    error = await refused(verifier, huge, cm.TokenMalformed)
    assert "longer than" in str(error)
    with pytest.raises(cm.TokenMalformed):
        await verifier.verify(b"a.b.c")  # type: ignore[arg-type]
    assert jwks.fetches == 0  # refused before any key was looked for


async def test_claim_rules(
    make: Callable[..., cm.TokenVerifier], signer: Signer, clock: Clock
) -> None:
    verifier = make()

    async def mismatch(claims: dict[str, Any], claim: str, v: cm.TokenVerifier = verifier) -> None:
        error = await refused(v, signer.token(claims), cm.TokenClaimMismatch)
        assert isinstance(error, cm.TokenClaimMismatch) and error.claim == claim
        assert repr(claim) in str(error)

    await mismatch(access_claims(iss=ISSUER + "/"), "iss")
    await mismatch(
        access_claims(iss="https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Other1"), "iss"
    )
    await mismatch(access_claims(iss=None), "iss")
    await mismatch(access_claims(token_use="refresh"), "token_use")
    await mismatch(id_claims(), "token_use")
    await mismatch(access_claims(client_id="another-client"), "client_id")
    await mismatch(access_claims(client_id=None), "client_id")
    await mismatch(access_claims(sub=None), "sub")
    await mismatch(access_claims(exp="soon"), "exp")
    await mismatch(access_claims(exp=True), "exp")
    await mismatch(access_claims(iat=None), "iat")
    await mismatch(access_claims(**{"cognito:groups": "admins"}), "cognito:groups")
    await mismatch(access_claims(scope=["a"]), "scope")

    ids = make(token_use="id", client_id=[CLIENT_ID, "second-client"])
    assert (await ids.verify(signer.token(id_claims()))).client_id == CLIENT_ID
    assert (await ids.verify(signer.token(id_claims(aud="second-client")))).username == "alice"
    await mismatch(id_claims(aud="another-client"), "aud", ids)
    await mismatch(access_claims(), "token_use", ids)

    # time: expired, not yet valid, issued in the future; the grace applies to each
    await refused(verifier, signer.token(access_claims(exp=int(NOW))), cm.TokenExpired)
    await refused(verifier, signer.token(access_claims(exp=int(NOW) - 1)), cm.TokenExpired)
    error = await refused(verifier, signer.token(access_claims(nbf=NOW + 1)), cm.TokenNotYetValid)
    assert isinstance(error, cm.TokenClaimMismatch) and error.claim == "nbf"
    error = await refused(verifier, signer.token(access_claims(iat=NOW + 1)), cm.TokenNotYetValid)
    assert isinstance(error, cm.TokenClaimMismatch) and error.claim == "iat"
    lenient = make(grace_seconds=30)
    await lenient.verify(signer.token(access_claims(exp=int(NOW) - 29)))
    await lenient.verify(signer.token(access_claims(nbf=NOW + 30, iat=NOW + 30)))
    await refused(lenient, signer.token(access_claims(exp=int(NOW) - 30)), cm.TokenExpired)
    await refused(lenient, signer.token(access_claims(nbf=NOW + 31)), cm.TokenNotYetValid)
    clock.now = NOW + 3600
    await refused(verifier, signer.token(access_claims()), cm.TokenExpired)


async def test_groups_scopes_and_client_any_of(
    make: Callable[..., cm.TokenVerifier], signer: Signer
) -> None:
    token = signer.token(access_claims())
    assert await make(groups="staff").verify(token)
    assert await make(groups=["nobody", "admins"]).verify(token)
    error = await refused(make(groups={"auditors"}), token, cm.TokenClaimMismatch)
    assert isinstance(error, cm.TokenClaimMismatch) and error.claim == "cognito:groups"
    no_groups = signer.token(access_claims(**{"cognito:groups": None}))
    await refused(make(groups="staff"), no_groups, cm.TokenClaimMismatch)
    assert await make(scopes="profile/read").verify(token)
    assert await make(scopes=["x/y", "aws.cognito.signin.user.admin"]).verify(token)
    error = await refused(make(scopes="profile/write"), token, cm.TokenClaimMismatch)
    assert isinstance(error, cm.TokenClaimMismatch) and error.claim == "scope"
    # an id token has no scopes
    await refused(
        make(token_use="id", scopes="profile/read"),
        signer.token(id_claims()),
        cm.TokenClaimMismatch,
    )
    # client_id=None (given explicitly) accepts any app client of the pool
    assert await make(client_id=None).verify(signer.token(access_claims(client_id="any")))


async def test_custom_check(make: Callable[..., cm.TokenVerifier], signer: Signer) -> None:
    token = signer.token(access_claims())
    seen: list[cm.VerifiedClaims] = []

    async def only_alice(claims: cm.VerifiedClaims) -> bool:
        seen.append(claims)
        await asyncio.sleep(0)
        return claims.username == "alice"

    assert (await make(custom_check=only_alice).verify(token)).username == "alice"
    assert seen[0].username == "alice"
    other = signer.token(access_claims(username="bob"))
    error = await refused(make(custom_check=only_alice), other, cm.TokenClaimMismatch)
    assert isinstance(error, cm.TokenClaimMismatch) and error.claim == "custom_check"

    async def raises(claims: cm.VerifiedClaims) -> bool:
        raise cm.TokenClaimMismatch("device_key", "not a known device")

    assert (await refused(make(custom_check=raises), token, cm.TokenClaimMismatch)).claim == (  # type: ignore[attr-defined]
        "device_key"
    )

    async def returns_none(claims: cm.VerifiedClaims) -> Any:
        return None

    await refused(make(custom_check=returns_none), token, cm.TokenClaimMismatch)

    def not_async(claims: cm.VerifiedClaims) -> bool:
        return True

    with pytest.raises(cm.UsageError, match="async"):
        await make(custom_check=not_async).verify(token)
    # a signature failure never reaches the custom check
    seen.clear()
    await refused(make(custom_check=only_alice), tamper(token), cm.TokenSignatureInvalid)
    assert seen == []


async def test_verify_cached_does_no_io(
    make: Callable[..., cm.TokenVerifier], signer: Signer, jwks: JwksServer
) -> None:
    verifier = make()
    token = signer.token(access_claims())
    with pytest.raises(cm.SigningKeyNotCached):
        verifier.verify_cached(token)
    assert jwks.fetches == 0
    await verifier.hydrate()
    assert jwks.fetches == 1
    assert verifier.verify_cached(token).username == "alice"
    await verifier.hydrate()  # loaded already: no fetch
    assert jwks.fetches == 1
    with pytest.raises(cm.TokenSignatureInvalid):
        verifier.verify_cached(tamper(token))
    with pytest.raises(cm.SigningKeyNotCached):
        verifier.verify_cached(Signer("unseen-kid", 2048).token(access_claims()))
    with pytest.raises(cm.TokenExpired):
        verifier.verify_cached(signer.token(access_claims(exp=int(NOW) - 1)))
    assert jwks.fetches == 1

    async def check(claims: cm.VerifiedClaims) -> bool:
        return True

    with pytest.raises(cm.UsageError, match="custom_check"):
        make(custom_check=check).verify_cached(token)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"pool_id": "not-a-pool"}, "pool_id"),
        ({"pool_id": ""}, "pool_id"),
        ({"pool_id": 42}, "pool_id"),
        ({"region": "eu-west-1"}, "region"),
        ({"region": "Mars"}, "region"),
        ({"client_id": ""}, "client_id"),
        ({"client_id": []}, "client_id"),
        ({"client_id": ["ok", ""]}, "client_id"),
        ({"client_id": {"a": "b"}}, "client_id"),
        ({"client_id": 7}, "client_id"),
        ({"token_use": "refresh"}, "token_use"),
        ({"grace_seconds": -1}, "grace_seconds"),
        ({"grace_seconds": float("inf")}, "grace_seconds"),
        ({"grace_seconds": True}, "grace_seconds"),
        ({"grace_seconds": "5"}, "grace_seconds"),
        ({"jwks_url": "ftp://example.com/jwks"}, "jwks_url"),
        ({"jwks_url": "/relative"}, "jwks_url"),
        ({"groups": [3]}, "groups"),
        ({"scopes": ""}, "scopes"),
        ({"custom_check": "yes"}, "custom_check"),
        ({"http_client": object()}, "http_client"),
        ({"clock": 12.0}, "clock"),
        ({"jwks_cache": object()}, "jwks_cache"),
        ({"jwks_cache": cm.JwksCache(ISSUER, "https://elsewhere.example/jwks.json")}, "jwks_cache"),
    ],
)
def test_constructor_validates_before_any_io(options: dict[str, Any], message: str) -> None:
    arguments: dict[str, Any] = {"pool_id": POOL_ID, "client_id": CLIENT_ID, **options}
    pool_id = arguments.pop("pool_id")
    with pytest.raises(cm.InvalidInput, match=message):
        cm.TokenVerifier(pool_id, **arguments)


def test_constructor_defaults_and_repr() -> None:
    verifier = cm.TokenVerifier(POOL_ID, client_id=["b", "a"])
    assert verifier.issuer == ISSUER and verifier.jwks_url == JWKS_URL
    assert verifier.jwks_cache is cm.JwksCache.shared(ISSUER, JWKS_URL)
    assert cm.TokenVerifier(POOL_ID, client_id="c").jwks_cache is verifier.jwks_cache
    proxied = cm.TokenVerifier(POOL_ID, client_id="c", jwks_url="http://127.0.0.1:9229/k.json")
    assert proxied.issuer == ISSUER and proxied.jwks_cache is not verifier.jwks_cache
    assert repr(verifier) == f"TokenVerifier('{POOL_ID}', client_id=['a', 'b'], token_use='access')"


# --- the key cache: penalty, single flight, failures -----------------------------------------


async def test_random_kid_flood_fetches_at_most_once_per_ten_seconds(
    make: Callable[..., cm.TokenVerifier], signer: Signer, jwks: JwksServer, clock: Clock
) -> None:
    verifier = make()
    good = signer.token(access_claims())
    await verifier.verify(good)
    assert jwks.fetches == 1
    payload = good.split(".", 1)[1]

    def flood(n: int) -> list[str]:
        # 1,000 tokens naming made-up kids (their signatures need not be valid: the key is
        # looked up first)
        return [
            Token(f"{b64json({'alg': 'RS256', 'kid': f'random-{clock.now}-{i}'})}.{payload}")
            for i in range(n)
        ]

    async def attack() -> None:
        results = await asyncio.gather(
            *(verifier.verify(t) for t in flood(1000)), return_exceptions=True
        )
        assert all(isinstance(r, cm.UnknownSigningKey) for r in results)

    await attack()
    assert jwks.fetches == 1  # within 10 s of the first fetch: none
    clock.now += 9.9
    await attack()
    assert jwks.fetches == 1
    clock.now += 0.1
    await attack()
    assert jwks.fetches == 2  # one per 10 s, for all 1,000 misses
    for _ in range(5):
        clock.now += 2
        await attack()
    assert jwks.fetches == 3  # 10 s later, one more
    assert (await verifier.verify(good)).username == "alice"  # known keys verify throughout


async def test_concurrent_misses_share_one_fetch(
    make: Callable[..., cm.TokenVerifier], signer: Signer, jwks: JwksServer
) -> None:
    verifier = make()
    jwks.gate = asyncio.Event()
    tokens = [signer.token(access_claims(jti=f"j-{i}")) for i in range(200)]
    tasks = [asyncio.ensure_future(verifier.verify(t)) for t in tokens]
    # a second verifier sharing the cache joins the same fetch
    tasks.append(asyncio.ensure_future(make().verify(tokens[0])))
    for _ in range(300):
        await asyncio.sleep(0)
    assert jwks.fetches == 1 and not any(task.done() for task in tasks)
    jwks.gate.set()
    results = await asyncio.gather(*tasks)
    assert all(r.username == "alice" for r in results)
    assert jwks.fetches == 1


async def test_a_cancelled_fetch_leaves_the_fetch_to_the_next_caller(
    make: Callable[..., cm.TokenVerifier], signer: Signer, jwks: JwksServer
) -> None:
    verifier = make()
    token = signer.token(access_claims())
    jwks.gate = asyncio.Event()
    first = asyncio.ensure_future(verifier.verify(token))
    for _ in range(5):
        await asyncio.sleep(0)
    second = asyncio.ensure_future(verifier.verify(token))
    for _ in range(5):
        await asyncio.sleep(0)
    assert jwks.fetches == 1
    first.cancel()
    for _ in range(10):
        await asyncio.sleep(0)
    assert jwks.fetches == 2  # the waiter fetched at once, no penalty for a cancelled fetch
    jwks.gate.set()
    assert (await second).username == "alice"
    with pytest.raises(asyncio.CancelledError):
        await first


async def test_fetch_failures(
    make: Callable[..., cm.TokenVerifier],
    signer: Signer,
    jwks: JwksServer,
    clock: Clock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    verifier = make()
    token = signer.token(access_claims())
    jwks.status = 503
    error = await refused(verifier, token, cm.JwksUnavailable)
    assert "HTTP 503" in str(error)
    # a failed fetch counts: no new one within the penalty
    with pytest.raises(cm.JwksUnavailable):
        await verifier.hydrate()
    assert jwks.fetches == 1
    jwks.status = 200
    clock.now += 10
    assert (await verifier.verify(token)).username == "alice"
    assert jwks.fetches == 2

    async def failing() -> cm.TokenError:
        fresh = make(jwks_cache=cm.JwksCache(ISSUER, JWKS_URL))
        return await refused(fresh, token, cm.JwksUnavailable)

    jwks.body = b"x" * (verify.MAX_JWKS_BYTES + 1)  # refused on its Content-Length
    assert "larger than" in str(await failing())
    jwks.body = b"not json"
    assert "list of keys" in str(await failing())
    ec_key = json.loads(
        jwt.algorithms.ECAlgorithm.to_jwk(ec.generate_private_key(ec.SECP256R1()).public_key())
    )
    small = Signer("small", 1024)
    for keys in (
        [{**ec_key, "kid": "ec", "use": "sig"}],
        [signer.jwk(use="enc")],
        [signer.jwk(alg="RS512")],
        [small.jwk()],
        [{"kty": "RSA", "kid": "broken", "use": "sig", "n": "AQAB"}],
        ["not an object"],
    ):
        jwks.body = json.dumps({"keys": keys}).encode()
        assert "no RSA signature key" in str(await failing())
    # only the usable keys are kept
    jwks.body = json.dumps(
        {"keys": [{**ec_key, "kid": "ec", "use": "sig"}, signer.jwk(), small.jwk()]}
    ).encode()
    mixed = make(jwks_cache=cm.JwksCache(ISSUER, JWKS_URL))
    await mixed.hydrate()
    assert mixed.jwks_cache.kids == {signer.kid}
    # a fetch that hangs is cut short
    jwks.body = None
    jwks.gate = asyncio.Event()
    monkeypatch.setattr(verify, "FETCH_TIMEOUT_SECONDS", 0.05)
    assert "longer than" in str(await failing())


async def test_an_undeclared_oversized_jwks_is_cut_off_while_read(signer: Signer) -> None:
    sent: list[int] = []

    async def endless() -> AsyncIterator[bytes]:
        # no Content-Length: the size is only known by reading
        for _ in range(100):
            sent.append(1)
            yield b" " * 4096

    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=endless())

    async with httpx.AsyncClient(transport=httpx.MockTransport(answer)) as client:
        verifier = cm.TokenVerifier(
            POOL_ID,
            client_id=CLIENT_ID,
            http_client=client,
            jwks_cache=cm.JwksCache(ISSUER, JWKS_URL),
        )
        with pytest.raises(cm.JwksUnavailable, match="larger than"):
            await verifier.hydrate()
    assert len(sent) < 20  # it stopped reading soon after the limit (64 KiB: 16 chunks)


async def test_transport_errors_become_jwks_unavailable(signer: Signer) -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    async with httpx.AsyncClient(transport=httpx.MockTransport(refuse)) as client:
        verifier = cm.TokenVerifier(
            POOL_ID,
            client_id=CLIENT_ID,
            http_client=client,
            jwks_cache=cm.JwksCache(ISSUER, JWKS_URL),
        )
        with pytest.raises(cm.JwksUnavailable, match="ConnectError") as caught:
            await verifier.hydrate()
        assert isinstance(caught.value.__cause__, httpx.ConnectError)


# --- without an http_client: a short-lived client per fetch, over a real socket --------------


@pytest.fixture
def loopback_jwks(signer: Signer) -> Iterator[tuple[str, list[str]]]:
    requests: list[str] = []
    body = json.dumps({"keys": [signer.jwk()]}).encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            requests.append(self.path)
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield (
            f"http://127.0.0.1:{server.server_address[1]}/{POOL_ID}/.well-known/jwks.json",
            requests,
        )
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


async def test_default_http_client_fetches_and_closes(
    loopback_jwks: tuple[str, list[str]], signer: Signer
) -> None:
    url, requests = loopback_jwks
    verifier = cm.TokenVerifier(
        POOL_ID,
        client_id=CLIENT_ID,
        jwks_url=url,
        clock=lambda: NOW,
        jwks_cache=cm.JwksCache(ISSUER, url),
    )
    # the issuer stays Cognito's while the keys come from the loopback address
    assert (await verifier.verify(signer.token(access_claims()))).username == "alice"
    assert requests == [f"/{POOL_ID}/.well-known/jwks.json"]
    # warnings are errors in this suite: an unclosed client would have failed the test


def test_importing_the_package_does_not_load_pyjwt_or_cryptography() -> None:
    code = (
        "import sys, cognito_mfa; "
        "print(sorted(m for m in ('jwt', 'cryptography') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


# --- the event loop stays responsive ----------------------------------------------------------


async def test_waiters_of_a_fetch_are_woken_one_per_loop_iteration(
    make: Callable[..., cm.TokenVerifier], signer: Signer, jwks: JwksServer
) -> None:
    """After a fetch, the waiting verifications resume one per loop iteration, not all at once."""
    verifier = make()
    jwks.gate = asyncio.Event()
    tokens = [signer.token(access_claims(jti=f"j-{i}")) for i in range(50)]
    tasks = [asyncio.ensure_future(verifier.verify(t)) for t in tokens]
    for _ in range(100):
        await asyncio.sleep(0)
    jwks.gate.set()
    done_per_iteration: list[int] = []
    while not all(task.done() for task in tasks):
        before = sum(task.done() for task in tasks)
        await asyncio.sleep(0)
        done_per_iteration.append(sum(task.done() for task in tasks) - before)
    assert sum(done_per_iteration) == 50
    assert max(done_per_iteration) <= 2  # a woken waiter, plus at most one taking a turn
    await asyncio.gather(*tasks)


# --- the README's example ---------------------------------------------------------------------


def readme_example() -> dict[str, Any]:
    text = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    start, end = "<!-- verify-examples:start -->", "<!-- verify-examples:end -->"
    assert start in text and end in text, "README.md has no verify-examples section"
    blocks = re.findall(r"```python\n(.*?)```", text[text.index(start) : text.index(end)], re.S)
    assert len(blocks) == 1
    namespace: dict[str, Any] = {"__name__": "readme_verify_example"}
    exec(compile(blocks[0], "README.md[verify-examples]", "exec"), namespace)
    return namespace


async def test_readme_example_runs_as_written(emulated: Emulated) -> None:
    example = readme_example()
    issuer = f"https://cognito-idp.{REGION}.amazonaws.com/{emulated.pool.pool_id}"
    verifier = example["make_verifier"](
        emulated.pool.pool_id,
        emulated.pool.client_id,
        http_client=emulated.http,
        clock=emulated.emulator.now,
        jwks_cache=cm.JwksCache(issuer, f"{issuer}/.well-known/jwks.json"),
    )
    user_of = example["user_of"]
    access, id_token = emulated.tokens["AccessToken"], emulated.tokens["IdToken"]

    async def answer(authorization: str) -> tuple[int, str]:
        outcome: tuple[int, str] = await user_of(verifier, Token(authorization))
        return outcome

    assert await answer(f"Bearer {access}") == (200, "hello alice")
    assert await answer(access) == (401, "a bearer token is required")
    assert await answer(f"Bearer {id_token}") == (401, "invalid token (TokenClaimMismatch)")
    assert await answer(f"Bearer {tamper(access)}") == (
        401,
        "invalid token (TokenSignatureInvalid)",
    )
    emulated.emulator.advance(3600)
    assert await answer(f"Bearer {access}") == (401, "the token has expired: refresh it")
    # the JWKS is down while a new key is needed
    emulated.emulator.advance(10)
    emulated.emulator.rotate_signing_key(emulated.pool.pool_id)
    fresh = (await emulated.sign_in())["AccessToken"]
    emulated.served.status = 503
    assert await answer(f"Bearer {fresh}") == (503, "cannot check tokens right now")
