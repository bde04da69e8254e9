"""Entra ID v2.0 stand-in: authorize (sign-in and consent) and logout.

Metadata and keys live in ``sandbox.discovery``, admin consent in ``sandbox.admin_consent``.

The token endpoint lives in ``sandbox.token_endpoint``.
"""

from __future__ import annotations

import base64
import json
import secrets
from urllib.parse import parse_qsl, urlencode, urlsplit

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from sandbox import pages
from sandbox.discovery import GENERIC_TENANTS, known_tenant
from sandbox.scopes import ScopeError, delegated_permissions, split_scopes
from sandbox.state import (
    AuthorizationCode,
    PendingAuthorization,
    SandboxState,
    SignInSession,
    state_of,
)
from sandbox.tenant import DEMO_PASSWORD, LOOPBACK_CALLBACK_PATH, App, User

SESSION_COOKIE = "sbx_session"
CODE_LIFETIME = 600  # seconds, as Entra's authorization codes
PROMPTS = (None, "login", "none", "select_account", "consent")


def client_info(user: User) -> str:
    """Return Entra's ``client_info``: base64url of ``{"uid", "utid"}``."""
    raw = json.dumps({"uid": user.id, "utid": user.tenant_id}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def redirect_uri_allowed(app: App, redirect_uri: str) -> bool:
    """Accept registered URIs and the portal callback on any loopback port."""
    if redirect_uri in app.redirect_uris:
        return True
    parts = urlsplit(redirect_uri)
    return (
        parts.scheme == "http"
        and parts.hostname in ("127.0.0.1", "localhost")
        and parts.port is not None
        and parts.path == LOOPBACK_CALLBACK_PATH
        and not parts.query
        and not parts.fragment
    )


async def request_params(request: Request) -> dict[str, str]:
    params = dict(request.query_params)
    if request.method == "POST":
        params.update(parse_qsl((await request.body()).decode("utf-8", "replace")))
    return params


def error_page_response(status: int, title: str, code: str, message: str) -> Response:
    return HTMLResponse(pages.error_page(title, code, message), status_code=status)


def _respond_to_app(
    pending: PendingAuthorization | None,
    redirect_uri: str,
    response_mode: str,
    fields: dict[str, str],
) -> Response:
    if pending is not None and pending.state is not None:
        fields = {**fields, "state": pending.state}
    if response_mode == "form_post":
        return HTMLResponse(pages.form_post_page(redirect_uri, fields))
    separator = "&" if "?" in redirect_uri else "?"
    return RedirectResponse(f"{redirect_uri}{separator}{urlencode(fields)}", status_code=302)


def _redirect_error(
    pending: PendingAuthorization, error: str, code: int, message: str, **extra: str
) -> Response:
    fields = {"error": error, "error_description": f"AADSTS{code}: {message}", **extra}
    return _respond_to_app(pending, pending.redirect_uri, pending.response_mode, fields)


# https://learn.microsoft.com/entra/identity-platform/v2-oauth2-auth-code-flow#request-an-authorization-code
async def authorize(request: Request) -> Response:
    """Start a sign-in: check the client and redirect URI, then sign in, consent, answer."""
    state = state_of(request)
    params = await request_params(request)
    segment = request.path_params["tenant"]
    if known_tenant(state, segment) is None:
        return error_page_response(
            400, "Sign-in failed", "AADSTS90002", f"Tenant '{segment}' not found."
        )
    app = state.tenant.app(params.get("client_id", ""))
    if app is None:
        return error_page_response(
            400,
            "Sign-in failed",
            "AADSTS700016",
            f"Application with identifier '{params.get('client_id', '')}' was not found "
            "in the directory.",
        )
    redirect_uri = params.get("redirect_uri", "")
    if not redirect_uri or not redirect_uri_allowed(app, redirect_uri):
        return error_page_response(
            400,
            "Sign-in failed",
            "AADSTS50011",
            f"The redirect URI '{redirect_uri}' does not match the redirect URIs configured "
            f"for the application '{app.client_id}'.",
        )
    response_mode = params.get("response_mode", "query")
    pending = PendingAuthorization(
        client_id=app.client_id,
        redirect_uri=redirect_uri,
        tenant_segment=segment,
        scopes=tuple(split_scopes(params.get("scope"))),
        state=params.get("state"),
        nonce=params.get("nonce"),
        code_challenge=params.get("code_challenge", ""),
        response_mode=response_mode if response_mode in ("query", "form_post") else "query",
        prompt=params.get("prompt"),
        login_hint=params.get("login_hint"),
    )
    problem = _check_request(app, pending, params)
    if problem is not None:
        return problem
    context_id = secrets.token_urlsafe(24)
    with state.lock:
        state.tokens.pending[context_id] = pending
    session_user = _session_user(request, state, pending)
    if pending.prompt == "none":
        if session_user is None:
            return _redirect_error(
                pending,
                "login_required",
                50058,
                "A silent sign-in was requested but no one is signed in.",
            )
        pending.user_id, pending.auth_time = session_user.id, state.clock.timestamp()
        if _needs_consent(state, pending):
            return _redirect_error(
                pending, "consent_required", 65001, "The user has not consented to the application."
            )
        return _issue_code(state, pending)
    if session_user is not None and pending.prompt not in ("login", "select_account"):
        pending.user_id, pending.auth_time = session_user.id, state.clock.timestamp()
        return _after_sign_in(state, context_id, pending)
    continue_as = (
        session_user.user_principal_name
        if session_user is not None and pending.prompt == "select_account"
        else None
    )
    return _sign_in_form(state, context_id, pending, continue_as=continue_as)


def _check_request(
    app: App, pending: PendingAuthorization, params: dict[str, str]
) -> Response | None:
    if params.get("response_type") != "code":
        return _redirect_error(
            pending, "unsupported_response_type", 700054, "Only response_type=code is supported."
        )
    if params.get("response_mode", "query") not in ("query", "form_post"):
        return _redirect_error(
            pending, "invalid_request", 900144, "response_mode must be query or form_post."
        )
    if not pending.code_challenge:
        return _redirect_error(
            pending, "invalid_request", 9002325, "Proof Key for Code Exchange is required."
        )
    if params.get("code_challenge_method", "plain") != "S256":
        return _redirect_error(
            pending, "invalid_request", 501491, "Only the S256 code_challenge_method is accepted."
        )
    if pending.prompt not in PROMPTS:
        return _redirect_error(
            pending, "invalid_request", 90023, f"Unsupported prompt value '{pending.prompt}'."
        )
    if not pending.scopes:
        return _redirect_error(
            pending, "invalid_request", 900144, "The request must contain the 'scope' parameter."
        )
    try:
        delegated_permissions(app, list(pending.scopes))
    except ScopeError as error:
        return _redirect_error(pending, "invalid_scope", 70011, str(error))
    return None


def _session_user(
    request: Request, state: SandboxState, pending: PendingAuthorization
) -> User | None:
    session = state.tokens.sessions.get(request.cookies.get(SESSION_COOKIE, ""))
    if session is None:
        return None
    user = state.tenant.find_user(session.user_id)
    if user is None or not user.account_enabled or not _tenant_accepts(state, pending, user):
        return None
    hint = (pending.login_hint or "").lower()
    if hint and hint != user.user_principal_name.lower():
        return None
    return user


def _tenant_accepts(state: SandboxState, pending: PendingAuthorization, user: User) -> bool:
    tenant_id = known_tenant(state, pending.tenant_segment)
    return tenant_id in GENERIC_TENANTS or tenant_id == user.tenant_id


def _sign_in_form(
    state: SandboxState,
    context_id: str,
    pending: PendingAuthorization,
    *,
    error: str | None = None,
    login: str | None = None,
    continue_as: str | None = None,
) -> Response:
    app = state.tenant.app(pending.client_id)
    assert app is not None
    html = pages.sign_in_page(
        action=f"/{pending.tenant_segment}/login",
        context_id=context_id,
        app_name=app.name,
        login_hint=login if login is not None else (pending.login_hint or ""),
        error=error,
        continue_as=continue_as,
    )
    return HTMLResponse(html, status_code=200 if error is None else 400)


async def sign_in(request: Request) -> Response:
    """Check the posted user name and password and continue the pending authorization."""
    state = state_of(request)
    form = await request_params(request)
    context_id = form.get("ctx", "")
    pending = state.tokens.pending.get(context_id)
    if pending is None:
        return error_page_response(
            400, "Sign-in failed", "AADSTS90014", "The sign-in request expired; start again."
        )
    if form.get("action") == "continue":
        session_user = _session_user(request, state, pending)
        if session_user is None:
            return _sign_in_form(state, context_id, pending, error="Please sign in again.")
        pending.user_id, pending.auth_time = session_user.id, state.clock.timestamp()
        return _after_sign_in(state, context_id, pending)
    login = form.get("loginfmt", "").strip()
    user = state.tenant.find_user(login)
    if user is None or not _tenant_accepts(state, pending, user):
        message = (
            f"We couldn't find an account named '{login}' in this organization."
            if login
            else "Enter your email or user name."
        )
        return _sign_in_form(state, context_id, pending, error=message, login=login)
    if not user.account_enabled:
        return _sign_in_form(
            state, context_id, pending, error="This account has been disabled.", login=login
        )
    if not secrets.compare_digest(form.get("passwd", ""), DEMO_PASSWORD):
        return _sign_in_form(
            state,
            context_id,
            pending,
            error="The password is incorrect for this account.",
            login=login,
        )
    now = state.clock.timestamp()
    session_id = secrets.token_urlsafe(24)
    with state.lock:
        state.tokens.sessions[session_id] = SignInSession(user_id=user.id, auth_time=now)
    pending.user_id, pending.auth_time = user.id, now
    response = _after_sign_in(state, context_id, pending)
    response.set_cookie(SESSION_COOKIE, session_id, httponly=True, samesite="lax", path="/")
    return response


def _consent_key(pending: PendingAuthorization) -> tuple[str, str]:
    assert pending.user_id is not None
    return (pending.user_id, pending.client_id)


def _requested_permissions(state: SandboxState, pending: PendingAuthorization) -> list[str]:
    app = state.tenant.app(pending.client_id)
    assert app is not None
    return delegated_permissions(app, list(pending.scopes))


def _needs_consent(state: SandboxState, pending: PendingAuthorization) -> bool:
    if pending.prompt == "consent":
        return True
    consented = state.tokens.consents.get(_consent_key(pending), set())
    return any(p.lower() not in consented for p in _requested_permissions(state, pending))


def _after_sign_in(state: SandboxState, context_id: str, pending: PendingAuthorization) -> Response:
    if not _needs_consent(state, pending):
        return _issue_code(state, pending)
    app = state.tenant.app(pending.client_id)
    user = state.tenant.find_user(pending.user_id or "")
    assert app is not None and user is not None
    permissions = _requested_permissions(state, pending)
    if "offline_access" in {scope.lower() for scope in pending.scopes}:
        permissions.append("Maintain access to data you have given it access to")
    html = pages.consent_page(
        action=f"/{pending.tenant_segment}/consent",
        context_id=context_id,
        app_name=app.name,
        user_name=user.user_principal_name,
        permissions=permissions or ["Sign you in and read your profile"],
    )
    return HTMLResponse(html)


async def consent(request: Request) -> Response:
    """Record the person's Accept, or send the app Entra's cancel error."""
    state = state_of(request)
    form = await request_params(request)
    with state.lock:
        pending = state.tokens.pending.get(form.get("ctx", ""))
    if pending is None or pending.user_id is None:
        return error_page_response(
            400, "Consent failed", "AADSTS90014", "The consent request expired; start again."
        )
    if form.get("decision") != "accept":
        state.tokens.pending.pop(form.get("ctx", ""), None)
        return _redirect_error(
            pending,
            "access_denied",
            65004,
            "The user declined to consent to access the app.",
            error_subcode="cancel",
            error_subcodes="cancel",
        )
    with state.lock:
        granted = state.tokens.consents.setdefault(_consent_key(pending), set())
        granted.update(p.lower() for p in _requested_permissions(state, pending))
    return _issue_code(state, pending)


def _issue_code(state: SandboxState, pending: PendingAuthorization) -> Response:
    user = state.tenant.find_user(pending.user_id or "")
    assert user is not None
    code = secrets.token_urlsafe(48)
    now = state.clock.timestamp()
    with state.lock:
        state.tokens.codes[code] = AuthorizationCode(
            client_id=pending.client_id,
            redirect_uri=pending.redirect_uri,
            user_id=user.id,
            tenant_id=user.tenant_id,
            scopes=pending.scopes,
            code_challenge=pending.code_challenge,
            nonce=pending.nonce,
            expires_at=now + CODE_LIFETIME,
            auth_time=pending.auth_time or now,
        )
        for context_id in [k for k, v in state.tokens.pending.items() if v is pending]:
            del state.tokens.pending[context_id]
    fields = {"code": code, "client_info": client_info(user), "session_state": user.id[:8]}
    return _respond_to_app(pending, pending.redirect_uri, pending.response_mode, fields)


def _safe_post_logout(state: SandboxState, target: str) -> bool:
    parts = urlsplit(target)
    if parts.scheme in ("http", "https") and parts.hostname in ("127.0.0.1", "localhost"):
        return True
    registered = {
        urlsplit(uri)._replace(path="", query="", fragment="").geturl()
        for app in state.tenant.apps.values()
        for uri in app.redirect_uris
    }
    return parts._replace(path="", query="", fragment="").geturl() in registered


# https://learn.microsoft.com/entra/identity-platform/v2-protocols-oidc#send-a-sign-out-request
async def logout(request: Request) -> Response:
    """End the sign-in session and return to ``post_logout_redirect_uri`` when it is safe."""
    state = state_of(request)
    params = await request_params(request)
    with state.lock:
        state.tokens.sessions.pop(request.cookies.get(SESSION_COOKIE, ""), None)
    target = params.get("post_logout_redirect_uri")
    if target and _safe_post_logout(state, target):
        response: Response = RedirectResponse(target, status_code=302)
    else:
        response = HTMLResponse(pages.message_page("Signed out", "You have signed out."))
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


def identity_routes() -> list[Route]:
    """Return the identity provider's routes."""
    return [
        Route("/{tenant}/oauth2/v2.0/authorize", authorize, methods=["GET", "POST"]),
        Route("/{tenant}/login", sign_in, methods=["POST"]),
        Route("/{tenant}/consent", consent, methods=["POST"]),
        Route("/{tenant}/oauth2/v2.0/logout", logout, methods=["GET", "POST"]),
    ]
