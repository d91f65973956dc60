"""``python -m cognito_mfa``: the command line (see :mod:`cognito_mfa.cli`)."""

import sys

from .cli import main

sys.exit(main())
