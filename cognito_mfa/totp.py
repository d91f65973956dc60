"""The TOTP shared secret Cognito hands out, as an otpauth URI and a QR code.

Sources:

* ``AssociateSoftwareToken`` (Cognito API reference): ``SecretCode`` is the base32 shared
  secret, at least 16 characters (botocore model ``SecretCodeType``). Other services that speak
  the protocol send other secrets (moto's server mode sends a fixed 12-character one), so any
  non-empty secret is accepted as it comes; whether it is base32, which codes and an
  authenticator app need, is checked where they are made.
* Cognito's TOTP parameters (``docs/protocol.md`` §7.3): 6 digits, 30-second steps, SHA-1, which are
  the Key URI defaults, so the URI carries no ``algorithm``/``digits``/``period`` parameter.
* The Key URI format (google-authenticator wiki, "Key-Uri-Format"):
  ``otpauth://totp/ISSUER:ACCOUNT?secret=...&issuer=ISSUER``, where issuer and account are
  percent-encoded separately (RFC 3986) and joined by a literal ``:``, and the issuer is
  repeated as a parameter.

The URI is built by pyotp (``pyotp.TOTP.provisioning_uri``). pyotp 2.12 percent-encodes the
issuer and the account separately with ``urllib.parse.quote`` (spaces as ``%20``, ``@`` as
``%40``, a ``:`` inside a name as ``%3A``, non-ASCII as UTF-8 escapes) and repeats the issuer
as a parameter; ``tests/test_totp.py`` pins that for every character class we care about, so a
pyotp change that breaks it fails there.

QR rendering uses segno, from the optional ``qr`` extra (``pip install cognito-mfa[qr]``).
Without it the ``qr_*`` methods raise :class:`QrSupportMissing`.
"""

from __future__ import annotations

import io
import re
import time
from datetime import datetime
from types import ModuleType
from typing import Any, Final

import pyotp
from pydantic import BaseModel, ConfigDict, SecretStr, field_validator

from ._checks import check_encodable
from .errors import InvalidInput, ProtocolError, UsageError

__all__ = ["QrSupportMissing", "SoftwareTokenSecret"]

# RFC 4648 base32 alphabet, case-insensitive, padding optional: what an authenticator app (and
# the code computation) can take.
_BASE32: Final = re.compile(r"[A-Za-z2-7]+=*")


class QrSupportMissing(UsageError, ImportError):
    """QR rendering needs segno: install the ``qr`` extra (``pip install cognito-mfa[qr]``)."""


class _ServiceTotp(pyotp.TOTP):
    """pyotp's TOTP without its minimum secret length (112 bits by default).

    The secret is the service's choice, not ours: Cognito's floor is 80 bits, moto's fixed
    secret has 60, and codes must match what the service computes from it.
    """

    min_secret_length_bits = 0


def _segno() -> ModuleType:
    try:
        import segno
    except ImportError as exc:
        raise QrSupportMissing("QR rendering needs segno: pip install 'cognito-mfa[qr]'") from exc
    return segno


def _check_name(value: str, what: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput(f"{what} must be a non-empty string")
    # the URI percent-encodes the name's UTF-8 bytes: a lone surrogate has none
    return check_encodable(value, what)


class SoftwareTokenSecret(BaseModel):
    """The TOTP secret of an ``AssociateSoftwareToken`` answer.

    ``secret_code`` is a :class:`~pydantic.SecretStr`: ``repr``/``str`` mask it; read it with
    ``secret_code.get_secret_value()`` only to hand it to the user's authenticator app. The URI
    and the QR code contain the secret too: show them to the user, never log them.
    """

    # hide_input_in_errors: a validation error must not echo the secret it refused
    model_config = ConfigDict(frozen=True, hide_input_in_errors=True)

    secret_code: SecretStr

    @field_validator("secret_code")
    @classmethod
    def _not_empty(cls, value: SecretStr) -> SecretStr:
        if not value.get_secret_value():
            raise ValueError("secret_code must not be empty")
        return value

    @property
    def is_base32(self) -> bool:
        """Whether the secret is base32, as authenticator apps and code computation need."""
        return _BASE32.fullmatch(self.secret_code.get_secret_value()) is not None

    def totp(self) -> pyotp.TOTP:
        """A :class:`pyotp.TOTP` for this secret with Cognito's parameters (SHA-1, 6, 30 s).

        Raises :class:`~cognito_mfa.errors.ProtocolError` when the secret the service sent is
        not base32 (no authenticator app could use it either).
        """
        if not self.is_base32:
            raise ProtocolError("the TOTP secret the service sent is not base32")
        return _ServiceTotp(self.secret_code.get_secret_value().upper().rstrip("="))

    def code_at(self, when: float | datetime) -> str:
        """The 6-digit code for the 30 s step containing ``when`` (epoch seconds or a datetime)."""
        return self.totp().at(when)

    def now_code(self) -> str:
        """The code for the current time step, by the system clock (for demos and tests)."""
        return self.code_at(time.time())

    def provisioning_uri(self, account_name: str, issuer: str | None = None) -> str:
        """The ``otpauth://totp/...`` Key URI for an authenticator app.

        ``account_name`` is what the app shows under the code (e.g. the user's email);
        ``issuer`` names the service. Both are percent-encoded in the label; the issuer is also
        sent as the ``issuer`` parameter. Raises :class:`~cognito_mfa.errors.InvalidInput` for
        an empty account name or issuer, or one that is not valid Unicode, and
        :class:`~cognito_mfa.errors.ProtocolError` when the secret is not base32.
        """
        _check_name(account_name, "account_name")
        if issuer is not None:
            _check_name(issuer, "issuer")
        return self.totp().provisioning_uri(name=account_name, issuer_name=issuer)

    # --- QR codes (optional ``qr`` extra) --------------------------------------------------

    def _qr(self, account_name: str, issuer: str | None) -> Any:
        segno = _segno()
        # error level M: the usual choice for screen-scanned codes of this size
        return segno.make_qr(self.provisioning_uri(account_name, issuer), error="m")

    def qr_terminal(self, account_name: str, issuer: str | None = None, *, border: int = 2) -> str:
        """The QR code of :meth:`provisioning_uri` as compact terminal text (half blocks).

        Raises :class:`QrSupportMissing` without segno, and
        :class:`~cognito_mfa.errors.InvalidInput` as :meth:`provisioning_uri` does.
        """
        out = io.StringIO()
        self._qr(account_name, issuer).terminal(out=out, compact=True, border=border)
        return out.getvalue()

    def qr_svg(
        self, account_name: str, issuer: str | None = None, *, scale: int = 4, border: int = 4
    ) -> str:
        """The QR code of :meth:`provisioning_uri` as an SVG document (for web pages).

        Raises :class:`QrSupportMissing` without segno, and
        :class:`~cognito_mfa.errors.InvalidInput` as :meth:`provisioning_uri` does.
        """
        out = io.BytesIO()
        self._qr(account_name, issuer).save(
            out, kind="svg", scale=scale, border=border, xmldecl=False
        )
        return out.getvalue().decode("utf-8")

    def qr_png(
        self, account_name: str, issuer: str | None = None, *, scale: int = 4, border: int = 4
    ) -> bytes:
        """The QR code of :meth:`provisioning_uri` as PNG bytes.

        Raises :class:`QrSupportMissing` without segno, and
        :class:`~cognito_mfa.errors.InvalidInput` as :meth:`provisioning_uri` does.
        """
        out = io.BytesIO()
        self._qr(account_name, issuer).save(out, kind="png", scale=scale, border=border)
        return out.getvalue()
