"""Talking to Microsoft Entra ID: the MSAL application, the authority's metadata and keys,
and the verification of id_tokens that MSAL itself leaves undone."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

import jwt
import msal
import requests
from django.conf import settings

# Scopes every person consents to at sign-in. MSAL adds openid, profile and offline_access.
SIGN_IN_SCOPES = ["User.Read", "User.ReadBasic.All", "Presence.Read.All", "Presence.ReadWrite"]

# Scopes a feature asks for the first time it is used (incremental consent).
FEATURE_SCOPES: dict[str, list[str]] = {
    "presence": SIGN_IN_SCOPES,
    "meetings": ["OnlineMeetings.ReadWrite", "OnlineMeetingArtifact.Read.All"],
    "events": ["VirtualEvent.ReadWrite"],
    # Call delegation (beta) is readable with a person's own delegated permission only.
    "calldelegation": ["CallDelegation.Read"],
}

# Application permissions the app's own (client credentials) token is asked for.
APP_SCOPES = ["https://graph.microsoft.com/.default"]

# The app role that makes a portal admin, from the ``roles`` claim of the person's id_token.
ADMIN_ROLE = "Portal.Admin"

# Clock skew tolerated between this server and the authority.
CLOCK_SKEW_SECONDS = 120
# Do not refetch the signing keys more often than this when a token names an unknown key.
JWKS_MIN_REFRESH_SECONDS = 60


class IdTokenRejected(Exception):
    """The id_token fails a check; ``reason`` says which, for the sign-in error page."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class WrongTenant(IdTokenRejected):
    """The person belongs to a tenant this portal does not serve."""


class AuthorityUnreachable(Exception):
    """The authority's metadata or keys could not be fetched."""


def http_session() -> requests.Session:
    """Return a requests session that trusts exactly the configured CA bundle.

    ``trust_env`` is off because requests otherwise lets REQUESTS_CA_BUNDLE override the
    session's ``verify``, which would silently drop the sandbox certificate.
    """
    session = requests.Session()
    session.trust_env = False
    session.verify = settings.GRAPH_CA_BUNDLE or True
    return session


# MSAL caches the authority's metadata in this dict, shared by every application object of
# the process, so building one per request costs no extra round trip.
_msal_http_cache: dict[Any, Any] = {}
_session_local = threading.local()


def _shared_session() -> requests.Session:
    session: requests.Session | None = getattr(_session_local, "session", None)
    if session is None:
        session = http_session()
        _session_local.session = session
    return session


def build_msal_app(
    token_cache: msal.SerializableTokenCache | None = None,
) -> msal.ConfidentialClientApplication:
    """Return MSAL's confidential client for the portal's app registration."""
    return msal.ConfidentialClientApplication(
        settings.MICROSOFT_CLIENT_ID,
        client_credential=settings.MICROSOFT_CLIENT_SECRET,
        authority=settings.MICROSOFT_AUTHORITY,
        token_cache=token_cache,
        http_client=_shared_session(),
        http_cache=_msal_http_cache,
        # The authority is configured explicitly; no lookup at login.microsoftonline.com.
        instance_discovery=False,
        timeout=10,
    )


@dataclass
class _Metadata:
    document: dict[str, Any]
    keys: dict[str, Any]
    keys_fetched_at: float


_metadata_lock = threading.Lock()
_metadata: dict[str, _Metadata] = {}


def _get_json(url: str) -> dict[str, Any]:
    try:
        response = _shared_session().get(url, timeout=10)
        response.raise_for_status()
        document = response.json()
    except (requests.RequestException, ValueError) as exc:
        raise AuthorityUnreachable(f"{url}: {exc}") from exc
    if not isinstance(document, dict):
        raise AuthorityUnreachable(f"{url} did not answer a JSON object")
    return document


def _fetch_keys(jwks_uri: str) -> dict[str, Any]:
    document = _get_json(jwks_uri)
    keys: dict[str, Any] = {}
    for entry in document.get("keys", []):
        if isinstance(entry, dict) and entry.get("kid") and entry.get("kty") == "RSA":
            keys[str(entry["kid"])] = jwt.PyJWK.from_dict(entry).key
    return keys


def authority_metadata() -> dict[str, Any]:
    """Return the authority's OpenID configuration, fetched once per process."""
    return _load_metadata(settings.MICROSOFT_AUTHORITY).document


def _load_metadata(authority: str) -> _Metadata:
    with _metadata_lock:
        cached = _metadata.get(authority)
        if cached is None:
            document = _get_json(f"{authority}/v2.0/.well-known/openid-configuration")
            jwks_uri = document.get("jwks_uri")
            if not isinstance(jwks_uri, str):
                raise AuthorityUnreachable("the authority's metadata names no jwks_uri")
            cached = _Metadata(document, _fetch_keys(jwks_uri), time.monotonic())
            _metadata[authority] = cached
        return cached


def signing_key(kid: str) -> Any:
    """Return the authority's public key ``kid``, refetching the key set once if unknown."""
    meta = _load_metadata(settings.MICROSOFT_AUTHORITY)
    key = meta.keys.get(kid)
    if key is not None:
        return key
    with _metadata_lock:
        # Keys rotate: an unknown kid is worth one fresh look, but not a look per request.
        if time.monotonic() - meta.keys_fetched_at >= JWKS_MIN_REFRESH_SECONDS:
            meta.keys = _fetch_keys(str(meta.document["jwks_uri"]))
            meta.keys_fetched_at = time.monotonic()
    key = meta.keys.get(kid)
    if key is None:
        raise IdTokenRejected("the token is signed with a key the authority does not publish")
    return key


def forget_cached_metadata() -> None:
    """Drop the cached metadata and keys (after a configuration change)."""
    with _metadata_lock:
        _metadata.clear()
    _msal_http_cache.clear()


def verify_id_token(id_token: str, *, check_lifetime: bool = True) -> dict[str, Any]:
    """Check an id_token's signature, issuer, audience, lifetime and tenant; return its claims.

    MSAL checks only the nonce (bound to the sign-in flow), so everything else is done here.
    ``check_lifetime=False`` skips the times, for a token the token endpoint has just issued
    (a refresh): it is current by definition, and clock skew must not decide what it says.
    """
    try:
        header = jwt.get_unverified_header(id_token)
    except jwt.InvalidTokenError as exc:
        raise IdTokenRejected(f"the id_token is malformed ({exc})") from exc
    if header.get("alg") != "RS256":
        raise IdTokenRejected("the id_token is not signed with RS256")
    kid = header.get("kid")
    if not isinstance(kid, str):
        raise IdTokenRejected("the id_token names no signing key")
    key = signing_key(kid)
    try:
        claims: dict[str, Any] = jwt.decode(
            id_token,
            key,
            algorithms=["RS256"],
            audience=settings.MICROSOFT_CLIENT_ID,
            leeway=CLOCK_SKEW_SECONDS,
            options={
                "require": ["exp", "iat", "iss", "aud", "tid", "oid"],
                "verify_exp": check_lifetime,
                "verify_iat": check_lifetime,
                "verify_nbf": check_lifetime,
            },
        )
    except jwt.ExpiredSignatureError as exc:
        raise IdTokenRejected("the id_token has expired") from exc
    except jwt.ImmatureSignatureError as exc:
        raise IdTokenRejected("the id_token is not valid yet") from exc
    except jwt.InvalidAudienceError as exc:
        raise IdTokenRejected("the id_token was issued to another application") from exc
    except jwt.InvalidSignatureError as exc:
        raise IdTokenRejected("the id_token's signature is not valid") from exc
    except jwt.InvalidTokenError as exc:
        raise IdTokenRejected(f"the id_token is not valid ({exc})") from exc

    tenant_id = str(claims["tid"])
    if tenant_id not in settings.ALLOWED_TENANTS:
        raise WrongTenant(f"accounts of tenant {tenant_id} cannot sign in to this portal")
    issuer_template = str(authority_metadata().get("issuer", ""))
    expected_issuer = issuer_template.replace("{tenantid}", tenant_id)
    if claims["iss"] != expected_issuer:
        raise IdTokenRejected("the id_token comes from an unexpected issuer")
    return claims


def holds_admin_role(claims: dict[str, Any]) -> bool:
    """Tell whether verified id_token ``claims`` grant the portal's admin app role."""
    roles = claims.get("roles")
    return isinstance(roles, list) and ADMIN_ROLE in roles
