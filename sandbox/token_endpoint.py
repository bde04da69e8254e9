"""Entra v2.0 token endpoint: authorization_code (PKCE), refresh_token, client_credentials.

https://learn.microsoft.com/entra/identity-platform/v2-oauth2-auth-code-flow#redeem-a-code-for-an-access-token
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import uuid
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, unquote

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from sandbox import tokens
from sandbox.discovery import GENERIC_TENANTS, known_tenant
from sandbox.identity import client_info
from sandbox.scopes import ScopeError, delegated_permissions, graph_permission, split_scopes
from sandbox.state import RefreshGrant, SandboxState, state_of
from sandbox.tenant import OIDC_SCOPES, App, User

REFRESH_TOKEN_LIFETIME = 90 * 24 * 3600


class TokenError(Exception):
    """An Entra token endpoint error: OAuth ``error`` plus an AADSTS code."""

    def __init__(self, error: str, code: int, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.error, self.code, self.message, self.status = error, code, message, status


def error_response(failure: TokenError, correlation_id: str) -> Response:
    """Return Entra's JSON error body."""
    trace_id = str(uuid.uuid4())
    timestamp = datetime.now(tz=UTC).strftime("%Y-%m-%d %H:%M:%SZ")
    description = (
        f"AADSTS{failure.code}: {failure.message} Trace ID: {trace_id} "
        f"Correlation ID: {correlation_id} Timestamp: {timestamp}"
    )
    return JSONResponse(
        {
            "error": failure.error,
            "error_description": description,
            "error_codes": [failure.code],
            "timestamp": timestamp,
            "trace_id": trace_id,
            "correlation_id": correlation_id,
        },
        status_code=failure.status,
        headers={"Cache-Control": "no-store", "Pragma": "no-cache"},
    )


async def token(request: Request) -> Response:
    """Answer a token request for any of the supported grants."""
    state = state_of(request)
    correlation_id = request.headers.get("client-request-id") or str(uuid.uuid4())
    try:
        form = await _form(request)
        segment = request.path_params["tenant"]
        tenant_id = known_tenant(state, segment)
        if tenant_id is None:
            raise TokenError("invalid_tenant", 90002, f"Tenant '{segment}' not found.")
        app = _authenticate_client(request, state, form)
        grant_type = form.get("grant_type")
        if grant_type == "authorization_code":
            body = _redeem_code(state, app, form)
        elif grant_type == "refresh_token":
            body = _redeem_refresh_token(state, app, form)
        elif grant_type == "client_credentials":
            body = _client_credentials(state, app, form, tenant_id)
        elif not grant_type:
            raise _missing("grant_type")
        else:
            raise TokenError(
                "unsupported_grant_type", 70003, f"The grant type '{grant_type}' is not supported."
            )
    except TokenError as failure:
        return error_response(failure, correlation_id)
    return JSONResponse(body, headers={"Cache-Control": "no-store", "Pragma": "no-cache"})


async def _form(request: Request) -> dict[str, str]:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/x-www-form-urlencoded":
        raise TokenError(
            "invalid_request",
            900144,
            "The request body must be application/x-www-form-urlencoded.",
        )
    return dict(parse_qsl((await request.body()).decode("utf-8", "replace")))


def _missing(name: str) -> TokenError:
    return TokenError(
        "invalid_request", 900144, f"The request body must contain the parameter '{name}'."
    )


def _authenticate_client(request: Request, state: SandboxState, form: dict[str, str]) -> App:
    client_id, secret = form.get("client_id"), form.get("client_secret")
    header = request.headers.get("authorization", "")
    if header.lower().startswith("basic "):
        try:
            decoded = base64.b64decode(header[6:]).decode()
        except ValueError as exc:
            raise TokenError(
                "invalid_client", 7000215, "Malformed Basic credentials.", 401
            ) from exc
        basic_id, _, basic_secret = decoded.partition(":")
        client_id, secret = unquote(basic_id), unquote(basic_secret)
    if not client_id:
        raise _missing("client_id")
    app = state.tenant.app(client_id)
    if app is None:
        raise TokenError(
            "unauthorized_client",
            700016,
            f"Application with identifier '{client_id}' was not found in the directory.",
        )
    if not secret:
        raise TokenError(
            "invalid_client",
            7000218,
            "The request body must contain the parameter 'client_assertion' or 'client_secret'.",
            401,
        )
    if not secrets.compare_digest(secret, app.client_secret):
        raise TokenError("invalid_client", 7000215, "Invalid client secret provided.", 401)
    return app


def _pkce_matches(verifier: str, challenge: str) -> bool:
    digest = hashlib.sha256(verifier.encode("ascii", "replace")).digest()
    expected = base64.urlsafe_b64encode(digest).decode().rstrip("=")
    return secrets.compare_digest(expected, challenge)


def _redeem_code(state: SandboxState, app: App, form: dict[str, str]) -> dict[str, Any]:
    for name in ("code", "redirect_uri"):
        if not form.get(name):
            raise _missing(name)
    code = form["code"]
    with state.lock:
        if code in state.tokens.redeemed_codes:
            raise TokenError("invalid_grant", 54005, "The authorization code was already redeemed.")
        grant = state.tokens.codes.pop(code, None)
        if grant is not None:
            state.tokens.redeemed_codes.add(code)
    if grant is None:
        raise TokenError("invalid_grant", 9002313, "The authorization code is not valid.")
    if grant.client_id != app.client_id:
        raise TokenError("invalid_grant", 70000, "The code was issued to another application.")
    if grant.expires_at <= state.clock.timestamp():
        raise TokenError("invalid_grant", 70008, "The authorization code has expired.")
    if form["redirect_uri"] != grant.redirect_uri:
        raise TokenError(
            "invalid_grant", 50011, "The redirect_uri does not match the one used to get the code."
        )
    verifier = form.get("code_verifier")
    if not verifier:
        raise _missing("code_verifier")
    if not _pkce_matches(verifier, grant.code_challenge):
        raise TokenError(
            "invalid_grant",
            501481,
            "The code_verifier does not match the code_challenge of the authorization request.",
        )
    user = _live_user(state, grant.user_id)
    asked = split_scopes(form.get("scope")) or list(grant.scopes)
    return _user_tokens(state, app, user, asked, nonce=grant.nonce, auth_time=grant.auth_time)


def _live_user(state: SandboxState, user_id: str) -> User:
    user = state.tenant.find_user(user_id)
    if user is None or not user.account_enabled:
        raise TokenError("invalid_grant", 50057, "The user account is disabled or was deleted.")
    return user


def _redeem_refresh_token(state: SandboxState, app: App, form: dict[str, str]) -> dict[str, Any]:
    presented = form.get("refresh_token")
    if not presented:
        raise _missing("refresh_token")
    with state.lock:
        spent = state.tokens.spent_refresh_tokens.get(presented)
        grant = state.tokens.refresh_tokens.pop(presented, None)
        if grant is not None:
            state.tokens.spent_refresh_tokens[presented] = "redeemed"
    if spent == "revoked":
        raise TokenError(
            "invalid_grant", 50173, "The provided grant has expired because it was revoked."
        )
    if spent == "redeemed":
        raise TokenError(
            "invalid_grant", 70000, "The refresh token was already used; refresh tokens rotate."
        )
    if grant is None:
        raise TokenError("invalid_grant", 9002313, "The refresh token is malformed or unknown.")
    if grant.client_id != app.client_id:
        raise TokenError("invalid_grant", 70000, "The refresh token belongs to another app.")
    if grant.expires_at <= state.clock.timestamp():
        raise TokenError("invalid_grant", 700082, "The refresh token has expired.")
    user = _live_user(state, grant.user_id)
    asked = split_scopes(form.get("scope")) or list(grant.scopes)
    consented = state.tokens.consents.get((user.id, app.client_id), set())
    try:
        wanted = delegated_permissions(app, asked)
    except ScopeError as error:
        raise TokenError("invalid_scope", 70011, str(error)) from error
    missing = [p for p in wanted if p.lower() not in consented]
    if missing:
        raise TokenError(
            "invalid_grant",
            65001,
            f"The user has not consented to {', '.join(missing)} for this application.",
        )
    return _user_tokens(state, app, user, asked, nonce=None, auth_time=grant.issued_at)


def _user_tokens(
    state: SandboxState,
    app: App,
    user: User,
    asked: list[str],
    *,
    nonce: str | None,
    auth_time: float,
) -> dict[str, Any]:
    try:
        permissions = delegated_permissions(app, asked)
    except ScopeError as error:
        raise TokenError("invalid_scope", 70011, str(error)) from error
    # Entra's scopes are additive: a token carries every Graph permission the person has
    # consented to for this app, not only the ones this request named.
    consented = state.tokens.consents.get((user.id, app.client_id), set())
    asked_lower = {permission.lower() for permission in permissions}
    earlier = [
        permission
        for permission in app.delegated
        if permission.lower() in consented
        and permission.lower() not in asked_lower
        and permission.lower() not in OIDC_SCOPES
    ]
    permissions = [*permissions, *earlier]
    lifetime = state.access_token_lifetime
    lowered = {scope.lower() for scope in asked}
    body: dict[str, Any] = {
        "token_type": "Bearer",
        # The asked scopes keep the form the client used (MSAL keys its cache on them).
        "scope": " ".join([*asked, *earlier]),
        "expires_in": lifetime,
        "ext_expires_in": lifetime,
        "access_token": tokens.delegated_access_token(
            state, app=app, user=user, scopes=permissions, lifetime=lifetime
        ),
        "client_info": client_info(user),
    }
    if "offline_access" in lowered:
        refresh_token = secrets.token_urlsafe(64)
        now = state.clock.timestamp()
        with state.lock:
            state.tokens.refresh_tokens[refresh_token] = RefreshGrant(
                client_id=app.client_id,
                user_id=user.id,
                tenant_id=user.tenant_id,
                scopes=tuple(asked),
                issued_at=now,
                expires_at=now + REFRESH_TOKEN_LIFETIME,
            )
        body["refresh_token"] = refresh_token
    if "openid" in lowered:
        body["id_token"] = tokens.id_token(
            state, app=app, user=user, nonce=nonce, auth_time=auth_time
        )
    return body


def _client_credentials(
    state: SandboxState, app: App, form: dict[str, str], tenant_id: str
) -> dict[str, Any]:
    scopes = split_scopes(form.get("scope"))
    if not scopes:
        raise _missing("scope")
    if tenant_id in GENERIC_TENANTS:
        raise TokenError(
            "invalid_request",
            90014,
            f"The client credentials grant needs a tenant-specific authority, not '{tenant_id}'.",
        )
    if len(scopes) != 1 or not scopes[0].endswith("/.default") or scopes[0].lower() in OIDC_SCOPES:
        raise TokenError(
            "invalid_scope",
            1002012,
            f"The scope '{' '.join(scopes)}' is not valid: client credential flows need one "
            "scope ending in /.default.",
        )
    try:
        resource_ok = graph_permission(scopes[0]) == ".default"
    except ScopeError:
        resource_ok = False
    if not resource_ok:
        raise TokenError(
            "invalid_resource", 500011, f"The resource of '{scopes[0]}' is not served here."
        )
    # Application permissions count only in the app's home tenant, where they were granted.
    roles = list(app.application) if tenant_id == state.tenant.tenant_id else []
    lifetime = state.access_token_lifetime
    return {
        "token_type": "Bearer",
        "expires_in": lifetime,
        "ext_expires_in": lifetime,
        "access_token": tokens.application_access_token(
            state, app=app, tenant_id=tenant_id, roles=roles, lifetime=lifetime
        ),
    }


def token_routes() -> list[Route]:
    """Return the token endpoint's route."""
    return [Route("/{tenant}/oauth2/v2.0/token", token, methods=["POST"])]
