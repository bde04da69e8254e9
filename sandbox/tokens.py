"""Minting and checking the sandbox's JWTs (id tokens, access tokens) with its signing key.

Entra issues a token in the version its audience's registration asks for
(https://learn.microsoft.com/entra/identity-platform/access-tokens#token-formats). An id_token
is the client's own, from the v2.0 endpoint: ``ver`` 2.0 and the ``.../v2.0`` issuer. An access
token for Microsoft Graph follows Graph's registration, which takes v1.0 tokens whichever
endpoint issued them: ``ver`` 1.0, the ``https://sts.windows.net/{tid}/`` issuer, ``appid`` and
``appidacr`` (no ``azp``), as Graph's own validation tokens are.
"""

from __future__ import annotations

import uuid
from typing import Any

import jwt

from sandbox.state import SandboxState
from sandbox.tenant import GRAPH_APP_ID, GRAPH_RESOURCE, App, User

# Graph accepts its resource URI and its app id as the audience.
GRAPH_AUDIENCES = (GRAPH_RESOURCE, GRAPH_RESOURCE + "/", GRAPH_APP_ID)


class TokenRejected(Exception):
    """The bearer token cannot be used; the message says why."""


def sign(state: SandboxState, claims: dict[str, Any]) -> str:
    """Sign ``claims`` as an RS256 JWT with the sandbox key (its ``kid`` in the header)."""
    key = state.signing_key
    return jwt.encode(
        claims,
        key.private_key,
        algorithm="RS256",
        headers={"kid": key.kid, "x5t": key.kid, "typ": "JWT"},
    )


def v1_issuer(tenant_id: str) -> str:
    """Return the issuer of Entra's v1.0 tokens for ``tenant_id`` (Graph's access tokens)."""
    return f"https://sts.windows.net/{tenant_id}/"


def _common(state: SandboxState, issuer: str, tenant_id: str, lifetime: int) -> dict[str, Any]:
    now = int(state.clock.timestamp())
    return {
        "iss": issuer,
        "iat": now,
        "nbf": now,
        "exp": now + lifetime,
        "tid": tenant_id,
    }


def delegated_access_token(
    state: SandboxState, *, app: App, user: User, scopes: list[str], lifetime: int
) -> str:
    """Return a v1.0 access token for Graph on behalf of ``user`` with ``scp`` = ``scopes``."""
    claims = _common(state, v1_issuer(user.tenant_id), user.tenant_id, lifetime)
    claims.update(
        {
            "aud": GRAPH_RESOURCE,
            "acr": "1",
            "amr": ["pwd"],
            "oid": user.id,
            "sub": user.id,
            "upn": user.user_principal_name,
            "unique_name": user.user_principal_name,
            "name": user.display_name,
            "appid": app.client_id,
            "appidacr": "1",  # the client proved itself with its secret
            "app_displayname": app.name,
            "scp": " ".join(scopes),
            "idtyp": "user",
            "uti": uuid.uuid4().hex,
            "ver": "1.0",
        }
    )
    if user.given_name:
        claims["given_name"] = user.given_name
    if user.surname:
        claims["family_name"] = user.surname
    return sign(state, claims)


def application_access_token(
    state: SandboxState, *, app: App, tenant_id: str, roles: list[str], lifetime: int
) -> str:
    """Return a v1.0 app-only access token for Graph carrying ``roles``."""
    issuer = v1_issuer(tenant_id)
    claims = _common(state, issuer, tenant_id, lifetime)
    claims.update(
        {
            "aud": GRAPH_RESOURCE,
            "idp": issuer,
            "oid": app.client_id,
            "sub": app.client_id,
            "appid": app.client_id,
            "appidacr": "1",  # the client proved itself with its secret
            "app_displayname": app.name,
            "idtyp": "app",
            "uti": uuid.uuid4().hex,
            "ver": "1.0",
        }
    )
    if roles:
        claims["roles"] = roles
    return sign(state, claims)


def id_token(
    state: SandboxState,
    *,
    app: App,
    user: User,
    nonce: str | None,
    auth_time: float,
    lifetime: int = 3600,
) -> str:
    """Return an OpenID Connect id token (v2.0) for ``user`` signed in to ``app``."""
    claims = _common(state, state.endpoints.issuer(user.tenant_id), user.tenant_id, lifetime)
    claims.update(
        {
            "aud": app.client_id,
            "oid": user.id,
            "sub": user.id,
            "preferred_username": user.user_principal_name,
            "email": user.mail,
            "name": user.display_name,
            "roles": [role for role in user.roles if role in app.app_roles],
            "auth_time": int(auth_time),
            "ver": "2.0",
        }
    )
    if nonce is not None:
        claims["nonce"] = nonce
    return sign(state, claims)


def verify_access_token(state: SandboxState, token: str) -> dict[str, Any]:
    """Return the claims of a valid Graph access token for this tenant, else raise TokenRejected."""
    try:
        header = jwt.get_unverified_header(token)
    except jwt.InvalidTokenError as exc:
        raise TokenRejected("IDX14100: JWT is not well formed.") from exc
    if header.get("kid") != state.signing_key.kid:
        raise TokenRejected("IDX10503: Signature validation failed. The token's kid is unknown.")
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            state.signing_key.private_key.public_key(),
            algorithms=["RS256"],
            audience=list(GRAPH_AUDIENCES),
            options={"verify_exp": False, "verify_nbf": False, "verify_iat": False},
        )
    except jwt.InvalidAudienceError as exc:
        raise TokenRejected("Invalid audience.") from exc
    except jwt.InvalidSignatureError as exc:
        raise TokenRejected("IDX10511: Signature validation failed.") from exc
    except jwt.InvalidTokenError as exc:
        raise TokenRejected(f"The token could not be read: {exc}") from exc
    now = state.clock.timestamp()
    if not isinstance(claims.get("exp"), int) or claims["exp"] <= now:
        raise TokenRejected("Lifetime validation failed, the token is expired.")
    if isinstance(claims.get("nbf"), int) and claims["nbf"] > now + 300:
        raise TokenRejected("Lifetime validation failed, the token is not yet valid.")
    if claims.get("tid") != state.tenant.tenant_id:
        raise TokenRejected("The token was issued for a different tenant.")
    if claims.get("iss") != v1_issuer(state.tenant.tenant_id):
        raise TokenRejected("Invalid issuer.")
    return claims
