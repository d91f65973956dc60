"""An example web application: plain server-rendered HTML pages over :class:`WebSignIn`.

Run it with one command, on an emulator embedded in the process (a demo user is printed at
start-up)::

    pip install 'cognito-mfa[webdemo]'
    python -m cognito_mfa web-demo --port 8000

The pages: sign-in, the code page (SMS, TOTP, e-mail, with "remember this browser"), the
choice page (SELECT_MFA_TYPE, MFA_SETUP), the TOTP set-up page with its QR code, the
new-password page, and the account page (MFA settings, remembered devices, sign-out). Each POST
answers with the next page, so the pages work without any script.

The source lives in the repository's ``examples/web_app/`` and uses only the library's public
API, so it can be read and copied as it is: ``pages.py`` renders the HTML, ``app.py`` routes the
forms to :class:`WebSignIn` (:func:`create_app`), ``serve.py`` is the command (:func:`main`).
It ships in the package as ``cognito_mfa.webdemo`` so that the command runs it from an
installed package too.
"""

from __future__ import annotations

from .app import create_app
from .serve import DEMO_PASSWORD, DEMO_USERNAME, main

__all__ = ["DEMO_PASSWORD", "DEMO_USERNAME", "create_app", "main"]
