"""Deprecated alias of an internal module (Cognito's SRP-6a math).

``cognito_mfa._srp`` is internal: its code is in ``cognito_mfa._srp``, and its public
names are exported from ``cognito_mfa``. Importing this module still works and warns.
"""

import warnings

from ._srp import *  # noqa: F403
from ._srp import __all__ as __all__

warnings.warn(
    "cognito_mfa.srp is internal; import public names from cognito_mfa",
    DeprecationWarning,
    stacklevel=2,
)
