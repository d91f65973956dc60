"""Verifying Cognito user-pool tokens (id and access JWTs) in async services.

The rules are those AWS's JavaScript verifier, aws-jwt-verify, applies to Cognito tokens, after
the Cognito developer guide's "Verifying a JSON web token", RFC 7515 (JWS), RFC 7517 (JWK) and
RFC 7519 (JWT):

* the token is a JWS in compact form of at most :data:`MAX_TOKEN_CHARS` characters; its header
  names ``alg`` ``RS256`` (Cognito signs with RS256 only: ``none`` and the HMAC algorithms, which
  would let anyone holding the public key sign, are refused) and a ``kid``, and names no key
  source of its own (``jku``, ``x5u``, ``jwk``, ``x5c``) and no extension (``crit``);
* the signature verifies with the key of that ``kid`` in the pool's JWKS;
* ``iss`` is exactly ``https://cognito-idp.{region}.amazonaws.com/{pool_id}``;
* ``token_use`` is ``access`` or ``id`` as asked; the app client is the ``client_id`` claim of an
  access token and the ``aud`` claim of an id token;
* ``exp`` has not passed, and ``nbf`` (when present) and ``iat`` are not in the future, each with
  the verifier's grace;
* ``cognito:groups`` holds one of the groups asked for, ``scope`` one of the scopes asked for;
* last, the caller's own async check.

The signature is checked first: nothing of an unsigned token's claims is looked at.

The keys: one :class:`JwksCache` per issuer and JWKS address, shared by every verifier of the
process. It fetches the JWKS (``{issuer}/.well-known/jwks.json`` unless told otherwise) with
httpx, and fetches again only when a token names a ``kid`` it does not hold, at most once per
:data:`REFETCH_PENALTY_SECONDS` (a flood of tokens with made-up ``kid`` values cannot make us
hammer the JWKS). Concurrent misses share one fetch; a fetch is bounded in time
(:data:`FETCH_TIMEOUT_SECONDS`) and size (:data:`MAX_JWKS_BYTES`); only RSA keys for signatures
(``use`` ``sig``) of at least 2048 bits are kept.

The event loop: an RS256 verification costs tens of microseconds of CPU. When many requests
arrive together, every one of them verifying in the same loop iteration would add up to one
long stall, so each verification first takes a turn (``cognito_mfa._turns``: one CPU step per
loop iteration, free when uncontended), and the waiters of a JWKS fetch are woken one per
iteration when it ends.

PyJWT (the RSA verification and JWK parsing, on ``cryptography``) is imported when the first
verifier is made, so ``import cognito_mfa`` stays light; both are dependencies of the library.
That first verifier also pays, once per process, for what the first JWKS fetch would otherwise
do on the event loop (importing httpcore, loading the CA certificates: tens of milliseconds).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import math
import re
import ssl
import time
from collections import deque
from collections.abc import Awaitable, Callable, Collection, Mapping
from functools import cache
from typing import TYPE_CHECKING, Any, ClassVar, Final, Literal

import httpx
from pydantic import BaseModel, ConfigDict

from ._turns import take_turn
from .errors import (
    InvalidInput,
    JwksUnavailable,
    SigningKeyNotCached,
    TokenClaimMismatch,
    TokenExpired,
    TokenMalformed,
    TokenNotYetValid,
    TokenSignatureInvalid,
    UnknownSigningKey,
    UsageError,
)

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey

__all__ = [
    "FETCH_TIMEOUT_SECONDS",
    "MAX_JWKS_BYTES",
    "MAX_TOKEN_CHARS",
    "REFETCH_PENALTY_SECONDS",
    "JwksCache",
    "TokenUse",
    "TokenVerifier",
    "VerifiedClaims",
]

TokenUse = Literal["access", "id"]

#: Longer tokens are refused before any parsing (Cognito's are 1-2 KB; large id tokens
#: with many custom attributes stay well under this).
MAX_TOKEN_CHARS: Final = 16 * 1024
#: A JWKS document larger than this is refused (Cognito's, with two keys, is under 1 KB).
MAX_JWKS_BYTES: Final = 64 * 1024
#: The longest a JWKS fetch may take, connection included.
FETCH_TIMEOUT_SECONDS: Final = 5.0
#: After a fetch (successful or not), no other fetch of that JWKS for this long.
REFETCH_PENALTY_SECONDS: Final = 10.0

_MIN_RSA_BITS: Final = 2048
_MAX_KEYS: Final = 100
_SEGMENT: Final = re.compile(r"[A-Za-z0-9_-]+")
_POOL_ID: Final = re.compile(r"(?P<region>[a-z]{2}(?:-[a-z]+)+-\d+)_[0-9a-zA-Z]+")
_REGION: Final = re.compile(r"[a-z]{2}(?:-[a-z]+)+-\d+")
# header fields that name a key source or extensions of their own: a verifier that honoured
# them would let the token choose the key it is checked with
_FORBIDDEN_HEADERS: Final = ("jku", "x5u", "jwk", "x5c", "crit")

Clock = Callable[[], float]


class VerifiedClaims(BaseModel):
    """The claims of a token that passed every check.

    ``username`` is ``username`` in an access token and ``cognito:username`` in an id token
    (None for a client-credentials access token, which names no user); ``client_id`` is the
    ``client_id`` claim of an access token and the ``aud`` of an id token; ``groups`` come from
    ``cognito:groups``, ``scopes`` from the space-separated ``scope`` (access tokens only);
    ``device_key`` is there after a sign-in on a remembered device. ``claims`` holds every claim
    as the token carries it.
    """

    model_config = ConfigDict(frozen=True)

    sub: str
    username: str | None
    token_use: TokenUse
    client_id: str
    groups: tuple[str, ...] = ()
    scopes: tuple[str, ...] = ()
    exp: int
    iat: int
    auth_time: int | None = None
    device_key: str | None = None
    claims: dict[str, Any]


CustomCheck = Callable[[VerifiedClaims], Awaitable[bool]]


# --- the pure part: parsing and checking ---------------------------------------------------


class _Parsed:
    __slots__ = ("claims", "kid", "signature", "signing_input")

    def __init__(self, kid: str, claims: dict[str, Any], signing_input: bytes, signature: bytes):
        self.kid = kid
        self.claims = claims
        self.signing_input = signing_input
        self.signature = signature


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # two values for one name could be read differently by another parser: refuse them
    result = dict(pairs)
    if len(result) != len(pairs):
        raise ValueError("duplicate member")
    return result


def _json_object(raw: bytes) -> dict[str, Any] | None:
    try:
        value = json.loads(raw.decode("utf-8"), object_pairs_hook=_no_duplicates)
    except (ValueError, RecursionError):  # UnicodeDecodeError and JSONDecodeError included
        return None
    return value if isinstance(value, dict) else None


def _b64url(segment: str) -> bytes | None:
    if not _SEGMENT.fullmatch(segment) or len(segment) % 4 == 1:
        return None
    try:
        return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
    except (binascii.Error, ValueError):
        return None


def parse_token(token: object) -> _Parsed:
    """Split and decode a compact JWS, applying the header rules; no key or claim is checked.

    Raises:
        TokenMalformed: too long, not three base64url parts, not JSON objects, no ``kid``, a
            forbidden header field.
        TokenSignatureInvalid: ``alg`` is not RS256.
    """
    if not isinstance(token, str):
        raise TokenMalformed("the token is not a string")
    if len(token) > MAX_TOKEN_CHARS:
        raise TokenMalformed(f"the token is longer than {MAX_TOKEN_CHARS} characters")
    parts = token.split(".")
    if len(parts) != 3:
        raise TokenMalformed("the token is not three dot-separated parts")
    header_b64, payload_b64, signature_b64 = parts
    header_raw = _b64url(header_b64)
    header = _json_object(header_raw) if header_raw is not None else None
    if header is None:
        raise TokenMalformed("the token's header is not a base64url JSON object")
    if header.get("alg") != "RS256":
        raise TokenSignatureInvalid("the token is not signed with RS256")
    for name in _FORBIDDEN_HEADERS:
        if name in header:
            raise TokenMalformed(f"the token's header has {name!r}, which is not accepted")
    kid = header.get("kid")
    if not isinstance(kid, str) or not kid:
        raise TokenMalformed("the token's header has no 'kid'")
    payload_raw = _b64url(payload_b64)
    claims = _json_object(payload_raw) if payload_raw is not None else None
    if claims is None:
        raise TokenMalformed("the token's payload is not a base64url JSON object")
    signature = _b64url(signature_b64)
    if signature is None:
        raise TokenMalformed("the token's signature is missing or not base64url")
    signing_input = f"{header_b64}.{payload_b64}".encode("ascii")
    return _Parsed(kid, claims, signing_input, signature)


@cache
def _rs256() -> Any:
    from jwt.algorithms import RSAAlgorithm

    return RSAAlgorithm(RSAAlgorithm.SHA256)


@cache
def _ssl_context() -> ssl.SSLContext:
    """The CA bundle, loaded once per process for the per-fetch clients."""
    import httpcore  # noqa: F401  (httpx imports it at its first client: pay that here)

    return httpx.create_ssl_context()


def check_signature(parsed: _Parsed, key: RSAPublicKey) -> None:
    """RS256 (RSASSA-PKCS1-v1_5 with SHA-256) through PyJWT and ``cryptography``."""
    if not _rs256().verify(parsed.signing_input, key, parsed.signature):
        raise TokenSignatureInvalid("the token's signature does not verify")


def _number(claims: Mapping[str, Any], name: str, *, required: bool) -> float | None:
    value = claims.get(name)
    if value is None and not required:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise TokenClaimMismatch(name, "missing or not a number")
    return float(value)


def _string(claims: Mapping[str, Any], name: str, *, required: bool) -> str | None:
    value = claims.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value:
        raise TokenClaimMismatch(name, "missing or not a string")
    return value


class _Policy:
    """What a verifier requires of a token's claims (validated by TokenVerifier)."""

    __slots__ = ("client_ids", "grace", "groups", "issuer", "scopes", "token_use")

    def __init__(
        self,
        *,
        issuer: str,
        token_use: TokenUse | None,
        client_ids: frozenset[str] | None,
        grace: float,
        groups: frozenset[str] | None,
        scopes: frozenset[str] | None,
    ) -> None:
        self.issuer = issuer
        self.token_use = token_use
        self.client_ids = client_ids
        self.grace = grace
        self.groups = groups
        self.scopes = scopes


def check_claims(claims: dict[str, Any], policy: _Policy, now: float) -> VerifiedClaims:
    """Apply the claim rules (module docstring) at time ``now``; return the typed claims.

    Raises:
        TokenClaimMismatch: a claim is missing, ill-typed or not what ``policy`` requires.
        TokenNotYetValid: ``nbf`` or ``iat`` beyond ``now`` plus the grace.
        TokenExpired: ``exp`` plus the grace is not after ``now``.
    """
    if claims.get("iss") != policy.issuer:
        raise TokenClaimMismatch("iss", "not this user pool's issuer")
    token_use = claims.get("token_use")
    if token_use not in ("access", "id"):
        raise TokenClaimMismatch("token_use", "neither 'access' nor 'id'")
    if policy.token_use is not None and token_use != policy.token_use:
        raise TokenClaimMismatch("token_use", f"expected {policy.token_use!r}")
    if token_use == "access":
        client_claim = "client_id"
        client_id = _string(claims, "client_id", required=True)
    else:
        client_claim = "aud"
        client_id = _string(claims, "aud", required=True)
    assert client_id is not None
    if policy.client_ids is not None and client_id not in policy.client_ids:
        raise TokenClaimMismatch(client_claim, "not an app client this verifier accepts")
    exp = _number(claims, "exp", required=True)
    iat = _number(claims, "iat", required=True)
    nbf = _number(claims, "nbf", required=False)
    assert exp is not None and iat is not None
    if now >= exp + policy.grace:
        raise TokenExpired("the token has expired")
    if nbf is not None and nbf > now + policy.grace:
        raise TokenNotYetValid("nbf", "the token is not valid yet")
    if iat > now + policy.grace:
        raise TokenNotYetValid("iat", "the token was issued in the future")
    sub = _string(claims, "sub", required=True)
    assert sub is not None
    username = _string(
        claims, "username" if token_use == "access" else "cognito:username", required=False
    )
    groups_claim = claims.get("cognito:groups", [])
    if not isinstance(groups_claim, list) or not all(isinstance(g, str) for g in groups_claim):
        raise TokenClaimMismatch("cognito:groups", "not a list of strings")
    groups = tuple(groups_claim)
    if policy.groups is not None and policy.groups.isdisjoint(groups):
        raise TokenClaimMismatch("cognito:groups", "in none of the groups this verifier requires")
    scope_claim = claims.get("scope", "")
    if not isinstance(scope_claim, str):
        raise TokenClaimMismatch("scope", "not a string")
    scopes = tuple(scope_claim.split())
    if policy.scopes is not None and policy.scopes.isdisjoint(scopes):
        raise TokenClaimMismatch("scope", "has none of the scopes this verifier requires")
    auth_time = _number(claims, "auth_time", required=False)
    return VerifiedClaims(
        sub=sub,
        username=username,
        token_use=token_use,
        client_id=client_id,
        groups=groups,
        scopes=scopes,
        exp=int(exp),
        iat=int(iat),
        auth_time=None if auth_time is None else int(auth_time),
        device_key=_string(claims, "device_key", required=False),
        claims=claims,
    )


def parse_jwks(body: bytes) -> dict[str, RSAPublicKey]:
    """The RSA signature keys of a JWKS document, by ``kid``; other keys are skipped.

    Raises:
        JwksUnavailable: not a JWKS, or not one usable key in it.
    """
    from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey
    from jwt.algorithms import RSAAlgorithm
    from jwt.exceptions import InvalidKeyError

    document = _json_object(body)
    keys = document.get("keys") if document is not None else None
    if not isinstance(keys, list) or len(keys) > _MAX_KEYS:
        raise JwksUnavailable("the JWKS is not a JSON object with a list of keys")
    found: dict[str, RSAPublicKey] = {}
    for jwk in keys:
        if not isinstance(jwk, dict) or jwk.get("kty") != "RSA" or jwk.get("use") != "sig":
            continue
        kid = jwk.get("kid")
        if not isinstance(kid, str) or not kid or jwk.get("alg", "RS256") != "RS256":
            continue
        # the public members only: a JWK that also carries the private ones is still usable
        public = {name: jwk[name] for name in ("kty", "n", "e") if name in jwk}
        try:
            key = RSAAlgorithm.from_jwk(public)
        except (InvalidKeyError, ValueError, TypeError):
            continue
        if isinstance(key, RSAPublicKey) and key.key_size >= _MIN_RSA_BITS:
            found[kid] = key
    if not found:
        raise JwksUnavailable("the JWKS has no RSA signature key")
    return found


# --- the keys: one cache per issuer, shared -------------------------------------------------


class _Flight:
    """One JWKS fetch in progress; its waiters are woken one per loop iteration when it ends."""

    __slots__ = ("error", "fetched", "loop", "waiters")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.waiters: deque[asyncio.Future[None]] = deque()
        self.fetched = False
        # why the fetch failed; None when it succeeded or was abandoned (cancelled)
        self.error: str | None = None

    async def wait(self) -> None:
        waiter: asyncio.Future[None] = self.loop.create_future()
        self.waiters.append(waiter)
        await waiter

    def finish(self, error: str | None) -> None:
        self.error = error
        self.loop.call_soon(self._wake_next)

    def _wake_next(self) -> None:
        # one waiter per iteration: each goes on to verify a signature at once, and a
        # thousand of them woken together would be one long stall for everything else
        while self.waiters:
            waiter = self.waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                self.loop.call_soon(self._wake_next)
                return


class JwksCache:
    """The signing keys of one issuer's JWKS, shared by the verifiers of that issuer.

    :meth:`shared` returns the process's cache for an issuer and JWKS address (what
    :class:`TokenVerifier` uses unless given one); a cache made directly is private to the
    verifiers it is given to (tests). A fetch uses the ``http_client`` of the verifier whose
    token needed it.
    """

    _registry: ClassVar[dict[tuple[str, str], JwksCache]] = {}

    def __init__(self, issuer: str, jwks_url: str) -> None:
        self.issuer = issuer
        self.jwks_url = jwks_url
        self._keys: dict[str, RSAPublicKey] = {}
        self._last_fetch: float | None = None
        self._last_error: str | None = None
        self._flight: _Flight | None = None
        #: How many fetches were started (for tests and monitoring).
        self.fetches = 0

    @classmethod
    def shared(cls, issuer: str, jwks_url: str) -> JwksCache:
        """The process-wide cache for ``issuer`` fetched from ``jwks_url``."""
        cache_ = cls._registry.get((issuer, jwks_url))
        if cache_ is None:
            cache_ = cls._registry.setdefault((issuer, jwks_url), cls(issuer, jwks_url))
        return cache_

    def __repr__(self) -> str:
        return f"JwksCache({self.issuer!r}, {self.jwks_url!r}, kids={sorted(self._keys)!r})"

    @property
    def kids(self) -> frozenset[str]:
        """The ``kid`` values of the keys held now."""
        return frozenset(self._keys)

    def cached(self, kid: str) -> RSAPublicKey | None:
        """The key of ``kid`` if it is held; never does I/O."""
        return self._keys.get(kid)

    async def key(
        self, kid: str, *, clock: Clock, http_client: httpx.AsyncClient | None
    ) -> RSAPublicKey:
        """The key of ``kid``, fetching the JWKS once if it is not held and the penalty allows.

        Raises:
            UnknownSigningKey: the JWKS has no such key (after a refetch or within the penalty).
            JwksUnavailable: the JWKS could not be fetched.
        """
        outcome = "abandoned"
        while outcome == "abandoned":
            key = self._keys.get(kid)
            if key is not None:
                return key
            outcome = await self._refresh(clock=clock, http_client=http_client)
        key = self._keys.get(kid)
        if key is not None:
            return key
        raise UnknownSigningKey("no key of the pool's JWKS has the token's 'kid'")

    async def load(self, *, clock: Clock, http_client: httpx.AsyncClient | None) -> None:
        """Fetch the keys unless some are held (``hydrate``).

        Raises:
            JwksUnavailable: the JWKS could not be fetched (or a fetch failed moments ago).
        """
        while not self._keys:
            await self._refresh(clock=clock, http_client=http_client)

    async def _refresh(
        self, *, clock: Clock, http_client: httpx.AsyncClient | None
    ) -> Literal["fetched", "refused", "abandoned"]:
        """Fetch, or wait for this loop's fetch in progress.

        ``refused``: keys are held and the penalty forbids a fetch now (with no key held, that
        is an error); ``abandoned``: the fetch waited for was cancelled, go round again.
        Single flight is per event loop (a fetch's waiters are futures of its loop).
        """
        loop = asyncio.get_running_loop()
        flight = self._flight
        if flight is not None and flight.loop is loop:
            await flight.wait()
            if flight.error is not None:
                raise JwksUnavailable(flight.error)
            return "fetched" if flight.fetched else "abandoned"
        now = clock()
        last = self._last_fetch
        # abs(): a clock set back far enough does not lock the refetches out
        if last is not None and abs(now - last) < REFETCH_PENALTY_SECONDS:
            if self._keys:
                return "refused"
            # no key yet: the last fetch failed, or one is running on another event loop
            why = self._last_error or "no keys loaded yet"
            raise JwksUnavailable(f"{why} (no refetch within {REFETCH_PENALTY_SECONDS:g} s)")
        flight = self._flight = _Flight(loop)
        self._last_fetch = now
        self.fetches += 1
        error: str | None = None
        try:
            self._keys = await self._fetch(http_client)
        except JwksUnavailable as exc:
            error = str(exc)
            self._last_error = error
            raise
        except BaseException:
            # cancelled (or a bug): nobody got an answer, so the next caller may fetch at once
            # and the waiters go round again
            self._last_fetch = last
            raise
        else:
            self._last_error = None
            flight.fetched = True
        finally:
            if self._flight is flight:
                self._flight = None
            flight.finish(error)
        return "fetched"

    async def _fetch(self, http_client: httpx.AsyncClient | None) -> dict[str, RSAPublicKey]:
        try:
            async with asyncio.timeout(FETCH_TIMEOUT_SECONDS):
                if http_client is not None:
                    body = await self._get(http_client)
                else:
                    client = httpx.AsyncClient(verify=_ssl_context(), follow_redirects=False)
                    async with client:
                        body = await self._get(client)
        except TimeoutError:
            raise JwksUnavailable(
                f"the JWKS fetch took longer than {FETCH_TIMEOUT_SECONDS:g} s"
            ) from None
        except httpx.HTTPError as exc:
            raise JwksUnavailable(f"the JWKS fetch failed: {type(exc).__name__}") from exc
        return parse_jwks(body)

    async def _get(self, client: httpx.AsyncClient) -> bytes:
        headers = {"Accept": "application/json"}
        async with client.stream("GET", self.jwks_url, headers=headers) as response:
            if response.status_code != 200:
                raise JwksUnavailable(f"the JWKS fetch answered HTTP {response.status_code}")
            declared = response.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > MAX_JWKS_BYTES:
                raise JwksUnavailable(f"the JWKS is larger than {MAX_JWKS_BYTES} bytes")
            body = bytearray()
            async for chunk in response.aiter_bytes():
                body += chunk
                if len(body) > MAX_JWKS_BYTES:
                    raise JwksUnavailable(f"the JWKS is larger than {MAX_JWKS_BYTES} bytes")
        return bytes(body)


# --- the verifier ----------------------------------------------------------------------------


def _names(value: object, what: str) -> frozenset[str] | None:
    """None, one non-empty string, or a non-empty collection of them, as a set."""
    if value is None:
        return None
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, Collection) or isinstance(items, Mapping) or not items:
        raise InvalidInput(f"{what} must be a string or a non-empty collection of strings")
    if not all(isinstance(item, str) and item for item in items):
        raise InvalidInput(f"{what} must hold non-empty strings only")
    return frozenset(items)


class TokenVerifier:
    """Verifies a user pool's id or access tokens (the rules: this module's docstring).

    ``client_id``: the app client(s) whose tokens are accepted, one or several; None accepts
    any client of the pool (it must be given explicitly). ``token_use``: ``"access"``, ``"id"``
    or None for either. ``region`` defaults to the pool id's prefix; the issuer is always
    Cognito's, ``https://cognito-idp.{region}.amazonaws.com/{pool_id}``, while ``jwks_url``
    may point the key fetches elsewhere (a proxy, the emulator). ``grace_seconds`` is allowed
    on ``exp``, ``nbf`` and ``iat``. ``groups`` and ``scopes``: a token must carry at least one
    of them. ``custom_check``: an async callable given the :class:`VerifiedClaims`; the token
    is refused unless it returns True. ``http_client``: an ``httpx.AsyncClient`` to fetch the
    JWKS with (else one is opened and closed for each fetch). ``clock``: seconds since the
    epoch (tests). ``jwks_cache``: a cache of this issuer and address to use instead of the
    process's shared one.

    Raises:
        InvalidInput: an argument is invalid (before any I/O).
    """

    def __init__(
        self,
        pool_id: str,
        *,
        client_id: str | Collection[str] | None,
        token_use: TokenUse | None = "access",  # noqa: S107 (a claim value, not a secret)
        region: str | None = None,
        jwks_url: str | None = None,
        grace_seconds: float = 0,
        groups: str | Collection[str] | None = None,
        scopes: str | Collection[str] | None = None,
        custom_check: CustomCheck | None = None,
        http_client: httpx.AsyncClient | None = None,
        clock: Clock = time.time,
        jwks_cache: JwksCache | None = None,
    ) -> None:
        match = _POOL_ID.fullmatch(pool_id) if isinstance(pool_id, str) else None
        if match is None:
            raise InvalidInput("pool_id must look like 'us-east-1_AbC123xyz'")
        if region is None:
            region = match["region"]
        elif not isinstance(region, str) or not _REGION.fullmatch(region):
            raise InvalidInput("region must look like 'us-east-1'")
        elif region != match["region"]:
            raise InvalidInput("region is not the region of pool_id")
        if token_use not in ("access", "id", None):
            raise InvalidInput("token_use must be 'access', 'id' or None")
        if (
            isinstance(grace_seconds, bool)
            or not isinstance(grace_seconds, int | float)
            or not math.isfinite(grace_seconds)
            or grace_seconds < 0
        ):
            raise InvalidInput("grace_seconds must be a finite number, at least 0")
        issuer = f"https://cognito-idp.{region}.amazonaws.com/{pool_id}"
        if jwks_url is None:
            jwks_url = f"{issuer}/.well-known/jwks.json"
        elif not isinstance(jwks_url, str) or not re.match(r"https?://[^/?#\s]+", jwks_url):
            raise InvalidInput("jwks_url must be an http or https URL")
        if custom_check is not None and not callable(custom_check):
            raise InvalidInput("custom_check must be an async callable")
        if http_client is not None and not isinstance(http_client, httpx.AsyncClient):
            raise InvalidInput("http_client must be an httpx.AsyncClient")
        if not callable(clock):
            raise InvalidInput("clock must be a callable returning seconds since the epoch")
        if jwks_cache is None:
            jwks_cache = JwksCache.shared(issuer, jwks_url)
        elif not isinstance(jwks_cache, JwksCache):
            raise InvalidInput("jwks_cache must be a JwksCache")
        elif (jwks_cache.issuer, jwks_cache.jwks_url) != (issuer, jwks_url):
            raise InvalidInput("jwks_cache belongs to another issuer or JWKS address")
        self._policy = _Policy(
            issuer=issuer,
            token_use=token_use,
            client_ids=_names(client_id, "client_id"),
            grace=float(grace_seconds),
            groups=_names(groups, "groups"),
            scopes=_names(scopes, "scopes"),
        )
        # the one-off costs (module docstring) here, at start-up, not on the loop's first fetch
        _rs256()
        if http_client is None:
            _ssl_context()
        self.pool_id = pool_id
        self.jwks_url = jwks_url
        self.jwks_cache = jwks_cache
        self._custom_check = custom_check
        self._http_client = http_client
        self._clock = clock

    @property
    def issuer(self) -> str:
        return self._policy.issuer

    def __repr__(self) -> str:
        clients = sorted(self._policy.client_ids) if self._policy.client_ids else None
        return (
            f"TokenVerifier({self.pool_id!r}, client_id={clients!r}, "
            f"token_use={self._policy.token_use!r})"
        )

    async def hydrate(self) -> None:
        """Load the pool's keys now (at start-up), unless they are loaded already.

        Raises:
            JwksUnavailable: the JWKS could not be fetched.
        """
        await self.jwks_cache.load(clock=self._clock, http_client=self._http_client)

    async def verify(self, token: str) -> VerifiedClaims:
        """Verify ``token``; fetch the JWKS first if it names a key not loaded yet.

        Raises:
            TokenMalformed, TokenSignatureInvalid (UnknownSigningKey), TokenExpired,
            TokenClaimMismatch (TokenNotYetValid): the token is refused.
            JwksUnavailable: the keys could not be fetched.
            Whatever ``custom_check`` raises.
        """
        await take_turn()
        parsed = parse_token(token)
        key = self.jwks_cache.cached(parsed.kid)
        if key is None:
            key = await self.jwks_cache.key(
                parsed.kid, clock=self._clock, http_client=self._http_client
            )
        check_signature(parsed, key)
        claims = check_claims(parsed.claims, self._policy, self._clock())
        if self._custom_check is not None:
            await self._run_custom_check(claims)
        return claims

    def verify_cached(self, token: str) -> VerifiedClaims:
        """Verify ``token`` with the keys already loaded; never does I/O.

        Raises:
            SigningKeyNotCached: the token's key is not loaded (``await verify()`` instead).
            TokenMalformed, TokenSignatureInvalid, TokenExpired, TokenClaimMismatch
            (TokenNotYetValid): the token is refused.
            UsageError: the verifier has a ``custom_check``, which only ``verify`` can run.
        """
        if self._custom_check is not None:
            raise UsageError("verify_cached cannot run the async custom_check: use verify")
        parsed = parse_token(token)
        key = self.jwks_cache.cached(parsed.kid)
        if key is None:
            raise SigningKeyNotCached("the token's signing key is not loaded")
        check_signature(parsed, key)
        return check_claims(parsed.claims, self._policy, self._clock())

    async def _run_custom_check(self, claims: VerifiedClaims) -> None:
        assert self._custom_check is not None
        outcome = self._custom_check(claims)
        if not isinstance(outcome, Awaitable):
            raise UsageError("custom_check must be async (return an awaitable)")
        if await outcome is not True:
            raise TokenClaimMismatch("custom_check", "refused by the verifier's own check")
