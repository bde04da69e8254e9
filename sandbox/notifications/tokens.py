"""Validation tokens: the JWTs Graph adds to rich notifications so a receiver can trust them.

https://learn.microsoft.com/graph/change-notifications-with-resource-data#validation-tokens-in-the-change-notification
Each token is issued by the tenant's v1 issuer for the subscribing app (``aud``) on behalf of
the Graph change-notification publisher (``appid``/``azp``), signed with the identity keys
the sandbox publishes in its JWKS.
"""

from __future__ import annotations

import base64
import uuid
from datetime import datetime, timedelta
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

# The application id Graph uses when it publishes change notifications.
NOTIFICATION_PUBLISHER_APP_ID = "0bf30f3b-4a52-48df-9a82-234910c4a086"

# Long enough to outlive a notification's retries (Graph keeps retrying for up to 4 hours).
VALIDATION_TOKEN_LIFETIME = timedelta(hours=8)


def validation_token_issuer(tenant_id: str) -> str:
    """Return the issuer Graph's validation tokens carry for ``tenant_id``."""
    return f"https://sts.windows.net/{tenant_id}/"


def validation_token_claims(
    *, tenant_id: str, audience_app_id: str, now: datetime, token_id: str
) -> dict[str, Any]:
    """Return the claims of one validation token, shaped like the documented example."""
    issued_at = int(now.timestamp())
    issuer = validation_token_issuer(tenant_id)
    return {
        "aud": audience_app_id,
        "iss": issuer,
        "iat": issued_at,
        "nbf": issued_at,
        "exp": issued_at + int(VALIDATION_TOKEN_LIFETIME.total_seconds()),
        "aio": base64.b64encode(uuid.UUID(token_id).bytes).decode("ascii"),
        "appid": NOTIFICATION_PUBLISHER_APP_ID,
        "azp": NOTIFICATION_PUBLISHER_APP_ID,
        "appidacr": "2",
        "idp": issuer,
        "tid": tenant_id,
        "uti": base64.urlsafe_b64encode(uuid.UUID(token_id).bytes).decode("ascii").rstrip("="),
        "ver": "1.0",
    }


def mint_validation_token(
    *,
    signing_key: rsa.RSAPrivateKey,
    key_id: str,
    tenant_id: str,
    audience_app_id: str,
    now: datetime,
) -> str:
    """Return an RS256 validation token for ``audience_app_id`` in ``tenant_id``."""
    claims = validation_token_claims(
        tenant_id=tenant_id,
        audience_app_id=audience_app_id,
        now=now,
        token_id=str(uuid.uuid4()),
    )
    headers = {"kid": key_id, "x5t": key_id, "typ": "JWT"}
    return jwt.encode(claims, signing_key, algorithm="RS256", headers=headers)
