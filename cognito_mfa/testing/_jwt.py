"""Cognito-shaped JSON Web Tokens: one RS256 key per pool, id and access token claims, JWKS.

Sources: "Understanding user pool JSON web tokens" in the Cognito developer guide (claims of
the id and access tokens: ``sub``, ``iss`` = ``https://cognito-idp.{region}.amazonaws.com/
{pool_id}``, ``aud`` / ``client_id``, ``token_use``, ``cognito:username`` / ``username``,
``auth_time``, ``iat``, ``exp``, ``jti``, ``origin_jti``, ``event_id``, the access scope
``aws.cognito.signin.user.admin``) and the JWKS document at
``/{pool_id}/.well-known/jwks.json``.

A pool signs with one current key; rotating it (:meth:`SigningKey.rotate`) makes a new key with
a new ``kid`` and, as a JWKS publisher does during a key rollover, keeps serving the old public
keys in the JWKS (and accepting tokens signed with them) until they are retired.

The RSA key is made with ``cryptography`` (not from the emulator's injected randomness: RSA key
generation needs a CSPRNG and is not protocol logic), lazily at first use, and persisted as PEM.
The clock is a parameter: expiry is checked against the emulator's time, not the wall clock.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Final

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from ._records import TRANSIENT

__all__ = ["ACCESS_SCOPE", "SigningKey", "TokenError", "issuer"]

ACCESS_SCOPE: Final = "aws.cognito.signin.user.admin"


def issuer(region: str, pool_id: str) -> str:
    return f"https://cognito-idp.{region}.amazonaws.com/{pool_id}"


class TokenError(Exception):
    """A token failed verification; ``reason`` is ``invalid`` or ``expired``."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass
class SigningKey:
    """A pool's RS256 key; ``pem`` is empty until the key is first needed.

    ``retired`` holds the keys it replaced that are still served (newest first).
    """

    kid: str
    pem: str = field(default="", repr=False)
    _private: rsa.RSAPrivateKey | None = field(
        default=None, repr=False, compare=False, metadata=TRANSIENT
    )
    retired: list[SigningKey] = field(default_factory=list, repr=False)

    def rotate(self, kid: str, *, keep_old: bool = True) -> None:
        """Sign with a new key named ``kid`` from now on.

        ``keep_old``: the current key (and the already retired ones) stay in the JWKS and keep
        verifying until :meth:`retire_old`; otherwise they are dropped at once. A key that was
        never used (no token signed, no JWKS served) is dropped either way: nothing depends on it.
        """
        if kid == self.kid or any(old.kid == kid for old in self.retired):
            raise ValueError("the new key id is already in use")
        old = SigningKey(kid=self.kid, pem=self.pem, _private=self._private)
        self.retired = ([old] if old.pem else []) + self.retired if keep_old else []
        self.kid, self.pem, self._private = kid, "", None

    def retire_old(self) -> None:
        """Stop serving (and accepting tokens signed with) every key but the current one."""
        self.retired = []

    def jwks_keys(self) -> list[dict[str, Any]]:
        """The public keys the JWKS serves: the current one first, then the retired ones."""
        return [self.jwk()] + [old.jwk() for old in self.retired]

    def _by_kid(self, kid: object) -> SigningKey | None:
        if kid == self.kid:
            return self
        return next((old for old in self.retired if old.kid == kid), None)

    def private_key(self) -> rsa.RSAPrivateKey:
        if self._private is None:
            if self.pem:
                loaded = serialization.load_pem_private_key(self.pem.encode(), password=None)
                if not isinstance(loaded, rsa.RSAPrivateKey):
                    raise ValueError("the stored signing key is not an RSA key")
                self._private = loaded
            else:
                self._private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
                self.pem = self._private.private_bytes(
                    serialization.Encoding.PEM,
                    serialization.PrivateFormat.PKCS8,
                    serialization.NoEncryption(),
                ).decode()
        return self._private

    def jwk(self) -> dict[str, Any]:
        public = jwt.algorithms.RSAAlgorithm.to_jwk(self.private_key().public_key())
        key: dict[str, Any] = json.loads(public)
        key.update({"alg": "RS256", "kid": self.kid, "use": "sig"})
        return key

    def sign(self, claims: dict[str, Any]) -> str:
        return jwt.encode(claims, self.private_key(), algorithm="RS256", headers={"kid": self.kid})

    def verify(self, token: str, *, now: float, token_use: str) -> dict[str, Any]:
        """Check the signature, ``token_use`` and expiry (against ``now``); return the claims."""
        try:
            header = jwt.get_unverified_header(token)
            key = self._by_kid(header.get("kid"))
            if key is None:
                raise TokenError("invalid")
            claims: dict[str, Any] = jwt.decode(
                token,
                key.private_key().public_key(),
                algorithms=["RS256"],
                # expiry is judged on the emulator's clock below, not on time.time()
                options={"verify_exp": False, "verify_iat": False, "verify_aud": False},
            )
        except jwt.PyJWTError:
            raise TokenError("invalid") from None
        if claims.get("token_use") != token_use:
            raise TokenError("invalid")
        exp = claims.get("exp")
        if not isinstance(exp, int | float) or now >= exp:
            raise TokenError("expired")
        return claims


def unverified_issuer(token: str) -> str | None:
    """The ``iss`` claim read without verification, to find which pool's key to check with."""
    try:
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        return None
    iss = claims.get("iss")
    return iss if isinstance(iss, str) else None
