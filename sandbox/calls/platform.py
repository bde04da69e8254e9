"""The calling platform's own signing keys, the OpenID configuration that publishes them, tokens.

Every callback the platform posts to a bot carries ``Authorization: Bearer <JWT>``, signed by
keys listed in the configuration at ``https://api.aps.skype.com/v1/.well-known/OpenIdConfiguration``
(issuer ``https://api.botframework.com``, audience the bot's app id, ``tid`` the tenant). The
sandbox serves its own at ``/calling/v1/.well-known/OpenIdConfiguration``. The keys are not
Entra's; they rotate (the control API adds a key and signs with it, keeping the old one
published until told to drop it).
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass, field
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from sandbox.certs import SigningKey
from sandbox.state import SandboxState, state_of

ISSUER = "https://api.botframework.com"
CONFIGURATION_PATH = "/calling/v1/.well-known/OpenIdConfiguration"
KEYS_PATH = "/calling/v1/keys"
CALLBACK_TOKEN_SECONDS = 3600


def new_key() -> SigningKey:
    """Return a fresh RSA key with a random key id."""
    return SigningKey(
        kid=secrets.token_hex(16),
        private_key=rsa.generate_private_key(public_exponent=65537, key_size=2048),
    )


@dataclass
class PlatformKeys:
    """The keys the platform publishes; the last one signs."""

    keys: list[SigningKey] = field(default_factory=lambda: [new_key()])

    @property
    def signing(self) -> SigningKey:
        return self.keys[-1]

    def rotate(self, *, drop_old: bool) -> SigningKey:
        """Add a key that signs from now on; forget the others when ``drop_old``."""
        key = new_key()
        self.keys = [key] if drop_old else [*self.keys[-2:], key]
        return key


_KEYS = "calls.platform-keys"


def platform_keys(state: SandboxState) -> PlatformKeys:
    """Return the platform keys of ``state``, made on first use."""
    with state.lock:
        keys = state.extensions.get(_KEYS)
        if not isinstance(keys, PlatformKeys):
            keys = PlatformKeys()
            state.extensions[_KEYS] = keys
        return keys


def callback_token(
    state: SandboxState,
    *,
    bot_app_id: str,
    tenant_id: str,
    lifetime: int = CALLBACK_TOKEN_SECONDS,
) -> str:
    """Return the bearer token of one callback to the bot ``bot_app_id``."""
    key = platform_keys(state).signing
    now = int(state.clock.timestamp())
    claims: dict[str, Any] = {
        "iss": ISSUER,
        "aud": bot_app_id,
        "iat": now,
        "nbf": now,
        "exp": now + lifetime,
        "tid": tenant_id,
        "serviceurl": state.endpoints.https_base,
        "jti": str(uuid.uuid4()),
    }
    return jwt.encode(
        claims, key.private_key, algorithm="RS256", headers={"kid": key.kid, "typ": "JWT"}
    )


def configuration_url(state: SandboxState) -> str:
    """Return where the OpenID configuration of the platform is served."""
    return state.endpoints.https_base + CONFIGURATION_PATH


async def openid_configuration(request: Request) -> Response:
    """Serve the platform's OpenID configuration."""
    state = state_of(request)
    return JSONResponse(
        {
            "issuer": ISSUER,
            "authorization_endpoint": f"{state.endpoints.https_base}/calling/v1/authorize",
            "jwks_uri": state.endpoints.https_base + KEYS_PATH,
            "id_token_signing_alg_values_supported": ["RS256"],
            "token_endpoint_auth_methods_supported": ["private_key_jwt"],
        }
    )


async def keys(request: Request) -> Response:
    """Serve the platform's public keys."""
    state = state_of(request)
    return JSONResponse({"keys": [key.public_jwk() for key in platform_keys(state).keys]})


def platform_routes() -> list[Route]:
    """Return the configuration and key routes."""
    return [Route(CONFIGURATION_PATH, openid_configuration), Route(KEYS_PATH, keys)]
