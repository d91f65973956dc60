"""Deprecated alias of an internal module (the aioboto3 transport).

``cognito_mfa._transport`` is internal: its code is in ``cognito_mfa._transport``, and its public
names are exported from ``cognito_mfa``. Importing this module still works and warns.
"""

import warnings

from ._transport import *  # noqa: F403
from ._transport import __all__ as __all__

warnings.warn(
    "cognito_mfa.transport is internal; import public names from cognito_mfa",
    DeprecationWarning,
    stacklevel=2,
)
