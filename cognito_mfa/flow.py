"""Deprecated alias of an internal module (the sign-in flow's async driver).

``cognito_mfa._flow`` is internal: its code is in ``cognito_mfa._flow``, and its public
names are exported from ``cognito_mfa``. Importing this module still works and warns.
"""

import warnings

from ._flow import *  # noqa: F403
from ._flow import __all__ as __all__

warnings.warn(
    "cognito_mfa.flow is internal; import public names from cognito_mfa",
    DeprecationWarning,
    stacklevel=2,
)
