"""Entra ID v2.0 discovery: the OpenID metadata and the public signing keys."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from sandbox.graph.errors import RequestIds
from sandbox.graph.pipeline import apply_fault
from sandbox.state import SandboxState, state_of

GENERIC_TENANTS = ("organizations", "common")


def known_tenant(state: SandboxState, segment: str) -> str | None:
    """Return the tenant id for a path segment (id, domain, organizations, common), or None."""
    tenant = state.tenant
    lowered = segment.lower()
    if lowered in GENERIC_TENANTS:
        return lowered
    if lowered in (tenant.tenant_id, tenant.domain):
        return tenant.tenant_id
    if lowered == tenant.other_tenant_id:
        return tenant.other_tenant_id
    return None


# https://learn.microsoft.com/entra/identity-platform/v2-protocols-oidc#find-your-apps-openid-configuration-document-uri
async def openid_configuration(request: Request) -> Response:
    """Serve the OpenID metadata: server-to-server endpoints on https, browser ones on http."""
    state = state_of(request)
    segment = request.path_params["tenant"]
    tenant_id = known_tenant(state, segment)
    if tenant_id is None:
        return tenant_not_found(segment)
    https, http = state.endpoints.https_base, state.endpoints.http_base
    issuer_tenant = "{tenantid}" if tenant_id in GENERIC_TENANTS else tenant_id
    return JSONResponse(
        {
            "token_endpoint": f"{https}/{segment}/oauth2/v2.0/token",
            "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic"],
            "jwks_uri": f"{https}/{segment}/discovery/v2.0/keys",
            "response_modes_supported": ["query", "form_post"],
            "subject_types_supported": ["pairwise"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "response_types_supported": ["code"],
            "scopes_supported": ["openid", "profile", "email", "offline_access"],
            "issuer": f"{https}/{issuer_tenant}/v2.0",
            "request_uri_parameter_supported": False,
            "userinfo_endpoint": f"{https}/oidc/userinfo",
            "authorization_endpoint": f"{http}/{segment}/oauth2/v2.0/authorize",
            "end_session_endpoint": f"{http}/{segment}/oauth2/v2.0/logout",
            "http_logout_supported": True,
            "frontchannel_logout_supported": True,
            "claims_supported": [
                "sub",
                "iss",
                "aud",
                "exp",
                "iat",
                "auth_time",
                "nonce",
                "preferred_username",
                "name",
                "tid",
                "ver",
                "oid",
                "roles",
                "email",
            ],
            "code_challenge_methods_supported": ["S256"],
            "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials"],
            "tenant_region_scope": "EU",
            "cloud_instance_name": "sandbox.local",
        }
    )


# https://learn.microsoft.com/entra/identity-platform/access-tokens#validate-the-signature
async def jwks(request: Request) -> Response:
    """Serve the public signing keys."""
    state = state_of(request)
    if known_tenant(state, request.path_params["tenant"]) is None:
        return tenant_not_found(request.path_params["tenant"])
    # Injected faults reach the keys too: an authority whose keys cannot be read for a while.
    ids = RequestIds.for_request(request)
    faulted = await apply_fault(state, request.method, request.url.path, ids)
    if faulted is not None:
        return faulted
    return JSONResponse({"keys": [key.public_jwk() for key in state.keys]})


def tenant_not_found(segment: str) -> Response:
    return JSONResponse(
        {
            "error": "invalid_tenant",
            "error_description": f"AADSTS90002: Tenant '{segment}' not found.",
            "error_codes": [90002],
        },
        status_code=400,
    )


def discovery_routes() -> list[Route]:
    """Return the metadata and key routes."""
    return [
        Route("/{tenant}/v2.0/.well-known/openid-configuration", openid_configuration),
        Route("/{tenant}/discovery/v2.0/keys", jwks),
    ]
