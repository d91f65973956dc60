"""Cognito's SRP-6a variant, as pure functions.

Implements the protocol amazon-cognito-identity-js's ``AuthenticationHelper`` speaks with
Cognito user pools (3072-bit RFC 3526 group, g = 2, k = H(padHex(N) | padHex(g)), HKDF with
"Caldera Derived Key"). Both sides live here: the client proof (used by the library) and the
verifier check (used by the emulator in :mod:`cognito_mfa.testing`).

Nothing here draws randomness or reads a clock: the secret exponents and the timestamp are
arguments. Modular exponentiation goes through gmpy2 when it is installed (the ``fast`` extra),
inside a context that releases the GIL, so callers can run it in a worker thread without
stalling an event loop. The environment variable ``COGNITO_MFA_SRP_BACKEND`` (read once, at
import) chooses the default: ``auto`` or unset (gmpy2 when installed), ``gmpy2`` (required:
import fails without it) or ``python`` (pure Python even when gmpy2 is installed, to compare
the two or to rule gmpy2 out).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Final

__all__ = [
    "BACKEND_ENV",
    "DEVICE_PASSWORD_BYTES",
    "DEVICE_SALT_BYTES",
    "FAST",
    "SECRET_EXPONENT_BITS",
    "G",
    "K",
    "N",
    "SrpError",
    "client_key",
    "client_public",
    "compute_u",
    "compute_x",
    "device_password",
    "device_verifier_config",
    "format_timestamp",
    "g_pow",
    "hkdf_key",
    "pad_hex",
    "parse_timestamp",
    "password_claim_signature",
    "pool_name_of",
    "secret_exponent",
    "server_key",
    "server_public",
    "verifier",
    "verify_password_claim",
]

# RFC 3526 group 15 (3072-bit MODP prime).
N_HEX: Final = (
    "FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74020BBEA63B139B22514A08798E3404DD"
    "EF9519B3CD3A431B302B0A6DF25F14374FE1356D6D51C245E485B576625E7EC6F44C42E9A637ED6B0BFF5CB6F406B7ED"
    "EE386BFB5A899FA5AE9F24117C4B1FE649286651ECE45B3DC2007CB8A163BF0598DA48361C55D39A69163FA8FD24CF5F"
    "83655D23DCA3AD961C62F356208552BB9ED529077096966D670C354E4ABC9804F1746C08CA18217C32905E462E36CE3B"
    "E39E772C180E86039B2783A2EC07A28FB5C55DF06F4C52C9DE2BCBF6955817183995497CEA956AE515D2261898FA0510"
    "15728E5A8AAAC42DAD33170D04507A33A85521ABDF1CBA64ECFB850458DBEF0A8AEA71575D060C7DB3970F85A6E1E4C7"
    "ABF5AE8CDB0933D71E8C94E04A25619DCEE3D2261AD2EE6BF12FFA06D98A0864D87602733EC86A64521F2B18177B200C"
    "BBE117577A615D6C770988C0BAD946E208E24FA074E5AB3143DB5BFCE0FD108E4B82D120A93AD2CAFFFFFFFFFFFFFFFF"
)
N: Final = int(N_HEX, 16)
G: Final = 2

# 256 bits: the 3072-bit group offers about 128-bit security, and an exponent of twice that
# size keeps the discrete-log work (Pollard's kangaroo, ~2^(bits/2)) at the same level, while
# costing a quarter of the 1024-bit exponent AWS's client draws. See benchmarks/README.md.
SECRET_EXPONENT_BITS: Final = 256

_TIMESTAMP_RE: Final = re.compile(
    r"^(Mon|Tue|Wed|Thu|Fri|Sat|Sun) (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) "
    r"([1-9]|[12][0-9]|3[01]) ([01][0-9]|2[0-3]):([0-5][0-9]):([0-5][0-9]) UTC ([0-9]{4})$"
)
_DAYS: Final = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS: Final = (
    "Jan",
    "Feb",
    "Mar",
    "Apr",
    "May",
    "Jun",
    "Jul",
    "Aug",
    "Sep",
    "Oct",
    "Nov",
    "Dec",
)
_INFO: Final = b"Caldera Derived Key"


class SrpError(ValueError):
    """An SRP value is unusable (B or A ≡ 0 mod N, u = 0, malformed hex or timestamp).

    The message names the check, never the value: SRP values are secret-derived.
    """


def _modpow_python(base: int, exp: int, mod: int) -> int:
    return pow(base, exp, mod)


def _load_gmpy2() -> Callable[[int, int, int], int] | None:
    try:
        import gmpy2
    except ImportError:  # the ``fast`` extra is optional
        return None
    ctx = gmpy2.get_context()

    def _modpow_gmpy2(base: int, exp: int, mod: int) -> int:
        # allow_release_gil lets other threads (and so the event loop) run during powmod
        with gmpy2.context(ctx, allow_release_gil=True):
            return int(gmpy2.powmod(base, exp, mod))

    return _modpow_gmpy2


BACKEND_ENV: Final = "COGNITO_MFA_SRP_BACKEND"
"""Environment variable naming the default backend: ``auto`` (or unset), ``gmpy2``, ``python``."""


def _default_fast(choice: str, have_gmpy2: bool) -> bool:
    """Whether gmpy2 is the default, from the value of :data:`BACKEND_ENV`."""
    normalised = choice.strip().lower()
    if normalised in ("", "auto"):
        return have_gmpy2
    if normalised == "python":
        return False
    if normalised == "gmpy2":
        if not have_gmpy2:
            raise ImportError(
                f"{BACKEND_ENV}=gmpy2 but gmpy2 is not installed (pip install 'cognito-mfa[fast]')"
            )
        return True
    # a typo must not silently fall back to the slow path (or the fast one)
    raise ValueError(f"{BACKEND_ENV} must be 'auto', 'gmpy2' or 'python', not {choice!r}")


_gmpy2_modpow = _load_gmpy2()
FAST: Final = _default_fast(os.environ.get(BACKEND_ENV, ""), _gmpy2_modpow is not None)
"""True when modular exponentiation uses gmpy2 by default (installed, not overridden)."""


def modpow(base: int, exp: int, mod: int, *, fast: bool | None = None) -> int:
    """``base ** exp % mod`` through gmpy2 when :data:`FAST` (or forced with ``fast``).

    ``fast=True`` uses gmpy2 whenever it is installed, even if :data:`BACKEND_ENV` chose Python.
    """
    use_fast = FAST if fast is None else fast
    if use_fast:
        if _gmpy2_modpow is None:
            raise RuntimeError("gmpy2 is not installed (pip install 'cognito-mfa[fast]')")
        return _gmpy2_modpow(base, exp, mod)
    return _modpow_python(base, exp, mod)


# Fixed-base exponentiation for g on the pure-Python path: g^a, g^x and g^b all have g as
# base and exponents of at most 256 bits (a and b are SECRET_EXPONENT_BITS long, x is a
# SHA-256 value), so a table of g^(d * 16^i) turns each into at most 64 multiplications,
# about a quarter of what pow() spends. Built on first use (1,024 entries, ~0.4 MB, ~20 ms).
_WINDOW: Final = 4
_TABLE_BITS: Final = SECRET_EXPONENT_BITS
_g_table: list[list[int]] | None = None


def _build_g_table() -> list[list[int]]:
    table: list[list[int]] = []
    base = G
    for _ in range(-(-_TABLE_BITS // _WINDOW)):
        row = [1]
        for _ in range((1 << _WINDOW) - 1):
            row.append(row[-1] * base % N)
        table.append(row)
        base = row[-1] * base % N  # base^(2^WINDOW): the next window's unit
    return table


def g_pow(exp: int, *, fast: bool | None = None) -> int:
    """``g ** exp % N``: gmpy2 when fast, else the fixed-base table for exponents it covers."""
    use_fast = FAST if fast is None else fast
    if use_fast or exp < 0 or exp.bit_length() > _TABLE_BITS:
        return modpow(G, exp, N, fast=fast)
    global _g_table
    table = _g_table
    if table is None:
        # two threads may both build it; the results are equal and the assignment is atomic
        table = _g_table = _build_g_table()
    result, index, mask = 1, 0, (1 << _WINDOW) - 1
    while exp:
        digit = exp & mask
        if digit:
            result = result * table[index][digit] % N
        exp >>= _WINDOW
        index += 1
    return result


def pad_hex(value: int) -> str:
    """Java ``BigInteger.toByteArray()`` as lower-case hex, as Cognito's SRP hashes it.

    Positive values get a leading ``00`` byte when their top bit is set; negative values are
    two's complement (they never occur on the wire, but the JS client defines them).
    """
    if value >= 0:
        text = format(value, "x")
        if len(text) % 2:
            text = "0" + text
        if text[0] in "89abcdef":
            text = "00" + text
        return text
    magnitude = pad_hex(-value)
    inverted = "".join(format(15 - int(ch, 16), "x") for ch in magnitude)
    result = format(int(inverted, 16) + 1, "x").rjust(len(magnitude), "0")
    if result.startswith("ff8"):
        result = result[2:]
    return result


def _hex_hash(hex_text: str) -> str:
    return hashlib.sha256(bytes.fromhex(hex_text)).hexdigest()


def _int_from_hex(name: str, text: str) -> int:
    try:
        value = int(text, 16)
    except ValueError:
        raise SrpError(f"{name} is not hexadecimal") from None
    if value < 0:
        raise SrpError(f"{name} is negative")
    return value


K: Final = int(_hex_hash(pad_hex(N) + pad_hex(G)), 16)


def pool_name_of(pool_id: str) -> str:
    """The part of a user-pool id after the underscore, which enters x and the signature."""
    _, sep, name = pool_id.partition("_")
    if not sep or not name:
        raise SrpError("user pool id must look like '<region>_<name>'")
    return name


def secret_exponent(random_bytes: bytes) -> int:
    """The SRP secret exponent (client ``a`` or server ``b``) from caller-supplied randomness."""
    if len(random_bytes) * 8 < SECRET_EXPONENT_BITS:
        raise SrpError(f"need at least {SECRET_EXPONENT_BITS // 8} random bytes")
    value = int.from_bytes(random_bytes, "big")
    if value == 0:
        raise SrpError("secret exponent is zero")
    return value


def client_public(a: int, *, fast: bool | None = None) -> int:
    """A = g^a mod N (sent as SRP_A, unpadded hex)."""
    big_a = g_pow(a, fast=fast)
    if big_a % N == 0:  # pragma: no cover - impossible for a prime N and 0 < a
        raise SrpError("A is zero")
    return big_a


def compute_u(big_a: int, big_b: int) -> int:
    """u = H(padHex(A) | padHex(B))."""
    return int(_hex_hash(pad_hex(big_a) + pad_hex(big_b)), 16)


def compute_x(pool_name: str, user_id: str, password: str, salt: int) -> int:
    """x = H(padHex(salt) | hex(H(poolName | userIdForSrp | ":" | password)))."""
    inner = hashlib.sha256(f"{pool_name}{user_id}:{password}".encode()).hexdigest()
    return int(_hex_hash(pad_hex(salt) + inner), 16)


def hkdf_key(premaster: int, u: int) -> bytes:
    """HKDF-SHA256(IKM=padHex(S), salt=padHex(u), info="Caldera Derived Key"), 16 bytes."""
    prk = hmac.new(bytes.fromhex(pad_hex(u)), bytes.fromhex(pad_hex(premaster)), hashlib.sha256)
    okm = hmac.new(prk.digest(), _INFO + b"\x01", hashlib.sha256).digest()
    return okm[:16]


def client_key(
    *,
    pool_name: str,
    user_id: str,
    password: str,
    a: int,
    big_a: int,
    srp_b_hex: str,
    salt_hex: str,
    fast: bool | None = None,
) -> bytes:
    """The client's 16-byte session key from the PASSWORD_VERIFIER parameters.

    Raises SrpError when B ≡ 0 (mod N) or u = 0, the checks the official client makes.
    """
    __tracebackhide__ = True  # keeps the password and a out of pytest's failure output
    big_b = _int_from_hex("SRP_B", srp_b_hex)
    salt = _int_from_hex("SALT", salt_hex)
    if big_b % N == 0:
        raise SrpError("SRP_B is zero modulo N")
    u = compute_u(big_a, big_b)
    if u == 0:
        raise SrpError("u is zero")
    x = compute_x(pool_name, user_id, password, salt)
    g_x = g_pow(x, fast=fast)
    base = (big_b - K * g_x) % N
    premaster = modpow(base, a + u * x, N, fast=fast)
    return hkdf_key(premaster, u)


def password_claim_signature(
    key: bytes, pool_name: str, user_id: str, secret_block_b64: str, timestamp: str
) -> str:
    """PASSWORD_CLAIM_SIGNATURE: base64(HMAC-SHA256(key, pool | user | block | timestamp))."""
    try:
        # lenient, as the official client's Buffer.from(..., "base64") is: characters outside
        # the alphabet are skipped (moto's SECRET_BLOCK is a UUID, dashes included)
        block = base64.b64decode(secret_block_b64)
    except ValueError:
        raise SrpError("SECRET_BLOCK is not base64") from None
    message = pool_name.encode() + user_id.encode() + block + timestamp.encode()
    return base64.b64encode(hmac.new(key, message, hashlib.sha256).digest()).decode()


def format_timestamp(moment: datetime) -> str:
    """TIMESTAMP as Cognito expects it: ``Tue Jan 2 03:04:05 UTC 2024`` (day not zero-padded)."""
    utc = moment.astimezone(UTC)
    return (
        f"{_DAYS[utc.weekday()]} {_MONTHS[utc.month - 1]} {utc.day} "
        f"{utc.hour:02d}:{utc.minute:02d}:{utc.second:02d} UTC {utc.year}"
    )


def parse_timestamp(text: str) -> datetime:
    """Parse a TIMESTAMP strictly (a zero-padded day is refused, as Cognito refuses it)."""
    match = _TIMESTAMP_RE.match(text)
    if match is None:
        raise SrpError("TIMESTAMP is not in the 'EEE MMM d HH:mm:ss UTC yyyy' form")
    weekday, month, day, hour, minute, second, year = match.groups()
    try:
        moment = datetime(
            int(year),
            _MONTHS.index(month) + 1,
            int(day),
            int(hour),
            int(minute),
            int(second),
            tzinfo=UTC,
        )
    except ValueError:
        raise SrpError("TIMESTAMP names a date that does not exist") from None
    if _DAYS[moment.weekday()] != weekday:
        raise SrpError("TIMESTAMP weekday does not match its date")
    return moment


# --- server side (the emulator) -------------------------------------------------------------


def verifier(
    pool_name: str, user_id: str, password: str, salt: int, *, fast: bool | None = None
) -> int:
    """v = g^x mod N, stored per user instead of the password."""
    return g_pow(compute_x(pool_name, user_id, password, salt), fast=fast)


def server_public(v: int, b: int, *, fast: bool | None = None) -> int:
    """B = (k·v + g^b) mod N."""
    return (K * v + g_pow(b, fast=fast)) % N


def server_key(*, srp_a_hex: str, v: int, b: int, big_b: int, fast: bool | None = None) -> bytes:
    """The server's 16-byte session key: S = (A·v^u)^b mod N, then the same HKDF.

    Raises SrpError when A ≡ 0 (mod N) or u = 0 (a client could otherwise force S = 0).
    """
    big_a = _int_from_hex("SRP_A", srp_a_hex)
    if big_a % N == 0:
        raise SrpError("SRP_A is zero modulo N")
    u = compute_u(big_a, big_b)
    if u == 0:
        raise SrpError("u is zero")
    premaster = modpow(big_a * modpow(v, u, N, fast=fast) % N, b, N, fast=fast)
    return hkdf_key(premaster, u)


def verify_password_claim(
    key: bytes,
    pool_name: str,
    user_id: str,
    secret_block_b64: str,
    timestamp: str,
    signature_b64: str,
) -> bool:
    """Check PASSWORD_CLAIM_SIGNATURE in constant time over the exact strings received."""
    try:
        expected = password_claim_signature(key, pool_name, user_id, secret_block_b64, timestamp)
    except SrpError:
        return False
    return hmac.compare_digest(expected.encode(), signature_b64.encode())


# --- remembered devices -------------------------------------------------------------------------

DEVICE_PASSWORD_BYTES: Final = 40
"""Random bytes in a device password (base64 of them, as the official clients make it)."""
DEVICE_SALT_BYTES: Final = 16


def device_password(random_bytes: bytes) -> str:
    """A device's random password: base64 of ``random_bytes`` (at least 40 of them)."""
    if len(random_bytes) < DEVICE_PASSWORD_BYTES:
        raise SrpError(f"need at least {DEVICE_PASSWORD_BYTES} random bytes")
    return base64.b64encode(random_bytes).decode()


def device_verifier_config(
    group_key: str, device_key: str, password: str, salt_bytes: bytes, *, fast: bool | None = None
) -> tuple[str, str]:
    """ConfirmDevice's ``DeviceSecretVerifierConfig``: (``Salt``, ``PasswordVerifier``), base64.

    The user formula with the device group key as the pool name and the device key as the
    user name: x = H(padHex(salt) | H(groupKey | deviceKey | ":" | password)), v = g^x mod N.
    Both are sent as the bytes of their padded hex. ``salt_bytes`` is 16 random bytes.
    """
    __tracebackhide__ = True  # keeps the device password out of pytest's failure output
    if len(salt_bytes) < DEVICE_SALT_BYTES:
        raise SrpError(f"need at least {DEVICE_SALT_BYTES} random bytes for the salt")
    salt = int.from_bytes(salt_bytes, "big") or 1  # a zero salt is refused by the service
    v = verifier(group_key, device_key, password, salt, fast=fast)
    return (
        base64.b64encode(bytes.fromhex(pad_hex(salt))).decode(),
        base64.b64encode(bytes.fromhex(pad_hex(v))).decode(),
    )
