"""COGNITO_MFA_SRP_BACKEND: choosing gmpy2 or pure Python for SRP's modular exponentiation."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from cognito_mfa import _srp as srp

_PROBE = (
    "import json, cognito_mfa._srp as s; "
    "print(json.dumps({'fast': s.FAST, 'g2': s.modpow(2, 10, 1000)}))"
)


def _probe(value: str | None) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env.pop(srp.BACKEND_ENV, None)
    if value is not None:
        env[srp.BACKEND_ENV] = value
    return subprocess.run(
        [sys.executable, "-c", _PROBE], env=env, capture_output=True, text=True, timeout=60
    )


@pytest.mark.parametrize(
    ("choice", "have_gmpy2", "expected"),
    [
        ("", True, True),
        ("", False, False),
        ("auto", True, True),
        (" Auto ", False, False),
        ("python", True, False),
        ("PYTHON", False, False),
        ("gmpy2", True, True),
    ],
)
def test_default_fast_choices(choice: str, have_gmpy2: bool, expected: bool) -> None:
    assert srp._default_fast(choice, have_gmpy2) is expected


def test_gmpy2_required_but_missing_fails_loudly() -> None:
    with pytest.raises(ImportError, match="gmpy2 is not installed"):
        srp._default_fast("gmpy2", False)


def test_unknown_backend_is_refused() -> None:
    with pytest.raises(ValueError, match="COGNITO_MFA_SRP_BACKEND"):
        srp._default_fast("gmp", True)


def test_env_var_forces_python_at_import() -> None:
    pytest.importorskip("gmpy2")
    default = _probe(None)
    forced = _probe("python")
    assert default.returncode == 0, default.stderr
    assert forced.returncode == 0, forced.stderr
    assert json.loads(default.stdout) == {"fast": True, "g2": 24}
    assert json.loads(forced.stdout) == {"fast": False, "g2": 24}


def test_bad_env_value_fails_the_import() -> None:
    result = _probe("fastest")
    assert result.returncode != 0
    assert "COGNITO_MFA_SRP_BACKEND" in result.stderr


def test_forced_fast_still_uses_gmpy2_and_agrees() -> None:
    pytest.importorskip("gmpy2")
    base, exp = 0xC0FFEE, (1 << 255) + 12345
    assert srp.modpow(base, exp, srp.N, fast=True) == srp.modpow(base, exp, srp.N, fast=False)
    assert srp.modpow(base, exp, srp.N, fast=False) == pow(base, exp, srp.N)
