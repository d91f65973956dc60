"""Deprecated alias of an internal module (Cognito's request builders and answer parsers).

``cognito_mfa._protocol`` is internal: its code is in ``cognito_mfa._protocol``, and its public
names are exported from ``cognito_mfa``. Importing this module still works and warns.
"""

import warnings

from ._protocol import *  # noqa: F403
from ._protocol import __all__ as __all__

warnings.warn(
    "cognito_mfa.protocol is internal; import public names from cognito_mfa",
    DeprecationWarning,
    stacklevel=2,
)
