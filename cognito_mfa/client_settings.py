"""An app client's settings as DescribeUserPoolClient reports them: :class:`AppClientSettings`.

Read with :meth:`UserPool.describe_app_client <cognito_mfa.UserPool.describe_app_client>`
(an IAM-signed call). The durations are :class:`~datetime.timedelta` values, already converted
from Cognito's numbers and ``TokenValidityUnits``; a setting Cognito leaves out is given its
documented default (Cognito API reference, ``UserPoolClientType``): 3-minute sign-in sessions
(``AuthSessionValidity``), 1-hour access and ID tokens, 30-day refresh tokens, token
revocation on, and the sign-in flows ``ALLOW_CUSTOM_AUTH``, ``ALLOW_REFRESH_TOKEN_AUTH`` and
``ALLOW_USER_SRP_AUTH``. The client secret is never kept: only whether there is one.
"""

from __future__ import annotations

from datetime import timedelta

from pydantic import AwareDatetime, BaseModel, ConfigDict

__all__ = ["AppClientSettings"]


class AppClientSettings(BaseModel):
    """The settings of the pool's app client (DescribeUserPoolClient).

    ``auth_session_validity``: how long each challenge session of a sign-in lives (Cognito's
    ``AuthSessionValidity``): a web service keeps a paused sign-in that long (see
    :meth:`WebSignIn.for_app_client <cognito_mfa.web.WebSignIn.for_app_client>`).
    ``access_token_validity``, ``id_token_validity``, ``refresh_token_validity``: the tokens'
    lifetimes. ``explicit_auth_flows``: the ``ALLOW_*`` flow names, as Cognito spells them.
    ``has_secret``: whether the client has a secret (the secret itself is not kept).
    """

    model_config = ConfigDict(frozen=True)

    pool_id: str
    client_id: str
    client_name: str | None
    auth_session_validity: timedelta
    access_token_validity: timedelta
    id_token_validity: timedelta
    refresh_token_validity: timedelta
    explicit_auth_flows: tuple[str, ...]
    enable_token_revocation: bool
    has_secret: bool
    created_at: AwareDatetime | None = None
    last_modified_at: AwareDatetime | None = None
