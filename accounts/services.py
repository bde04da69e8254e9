"""Signing people in and out with Microsoft (auth-code flow with PKCE, form_post)."""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import msal
from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.urls import reverse

from accounts.graph_clients import graph_for_user
from accounts.identity import (
    AuthorityUnreachable,
    IdTokenRejected,
    authority_metadata,
    build_msal_app,
    holds_admin_role,
    verify_id_token,
)
from accounts.models import User
from accounts.token_store import (
    ReauthRequired,
    acquire_user_token,
    forget_user_tokens,
    save_sign_in,
)
from comms_portal.graph import users

logger = logging.getLogger(__name__)

# A started sign-in may take this long before its answer is refused as expired.
FLOW_TTL_SECONDS = 600
GRAPH_RESOURCE_PREFIX = "https://graph.microsoft.com/"


class SignInFailed(Exception):
    """A sign-in ended without a signed-in person; ``message`` is for that person."""

    def __init__(self, message: str, *, detail: str = "", status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.detail = detail
        # 400 for a sign-in that went wrong; 403 for a person the portal will not let in.
        self.status = status


ACCOUNT_DISABLED = (
    "Your account is disabled in your organisation's directory, so you cannot use the portal. "
    "If it has just been enabled again, try again in a few minutes, once the portal has "
    "caught up with the directory; otherwise ask your IT administrator."
)


def redirect_uri() -> str:
    """Return the callback URL registered with the authority."""
    return settings.PUBLIC_BASE_URL + reverse("accounts:callback")


def _flow_cache_key(state: str) -> str:
    return f"signin-flow:{hashlib.sha256(state.encode()).hexdigest()}"


def _binding_hash(binding: str) -> str:
    return hashlib.sha256(binding.encode()).hexdigest()


@dataclass(frozen=True)
class StartedSignIn:
    """Where to send the browser, and the secret that ties the answer to this browser."""

    authorize_url: str
    browser_binding: str


def begin_sign_in(
    *, scopes: list[str], next_url: str, login_hint: str | None = None, prompt: str | None = None
) -> StartedSignIn:
    """Start an auth-code flow with PKCE; the flow waits server-side, keyed by its state."""
    try:
        flow = build_msal_app().initiate_auth_code_flow(
            scopes,
            redirect_uri=redirect_uri(),
            login_hint=login_hint,
            prompt=prompt,
            response_mode="form_post",
        )
    except (AuthorityUnreachable, ValueError, OSError) as exc:
        raise SignInFailed(
            "Microsoft sign-in could not be reached. Please try again in a moment.",
            detail=str(exc),
        ) from exc
    if "auth_uri" not in flow:
        raise SignInFailed("Microsoft sign-in could not be started.", detail=str(flow))
    # The form_post answer arrives cross-site, where the session cookie may not be sent, so
    # the flow is kept by state and bound to this browser by a cookie of its own.
    binding = secrets.token_urlsafe(32)
    cache.set(
        _flow_cache_key(flow["state"]),
        {"flow": flow, "next": next_url, "binding": _binding_hash(binding)},
        FLOW_TTL_SECONDS,
    )
    return StartedSignIn(authorize_url=str(flow["auth_uri"]), browser_binding=binding)


def _describe_authority_error(params: dict[str, str]) -> SignInFailed:
    error = params.get("error", "")
    description = params.get("error_description", "")
    if error == "access_denied":
        return SignInFailed(
            "Sign-in was cancelled: the permissions the portal asks for were not accepted.",
            detail=description,
        )
    if error in {"login_required", "interaction_required", "consent_required"}:
        return SignInFailed("Microsoft needs you to sign in again.", detail=description)
    return SignInFailed(
        "Microsoft refused the sign-in.", detail=f"{error}: {description}".strip(": ")
    )


def normalise_scopes(scope: str | list[str] | None) -> str:
    """Return granted scopes space-separated, without Graph's resource prefix."""
    items = scope.split() if isinstance(scope, str) else list(scope or [])
    return " ".join(
        item[len(GRAPH_RESOURCE_PREFIX) :] if item.startswith(GRAPH_RESOURCE_PREFIX) else item
        for item in items
    )


@dataclass(frozen=True)
class CompletedSignIn:
    """The person now signed in, and where they were going."""

    user: User
    next_url: str


def complete_sign_in(*, params: dict[str, str], browser_binding: str | None) -> CompletedSignIn:
    """Redeem the authority's answer, verify the id_token and keep the person's tokens."""
    state = params.get("state", "")
    stored: dict[str, Any] | None = cache.get(_flow_cache_key(state)) if state else None
    if stored is None:
        raise SignInFailed(
            "This sign-in has expired or was already used. Please sign in again.",
            detail="no pending sign-in matches the answer's state",
        )
    # Single use: a replayed answer finds nothing.
    cache.delete(_flow_cache_key(state))
    if not browser_binding or not hmac.compare_digest(
        _binding_hash(browser_binding), str(stored["binding"])
    ):
        raise SignInFailed(
            "This sign-in was started in another browser. Please sign in again here.",
            detail="the browser binding cookie is missing or wrong",
        )
    if "error" in params:
        raise _describe_authority_error(params)

    token_cache = msal.SerializableTokenCache()
    app = build_msal_app(token_cache)
    try:
        result = app.acquire_token_by_auth_code_flow(stored["flow"], params)
    except (ValueError, RuntimeError) as exc:
        # MSAL raises for a state or nonce that does not match the flow.
        raise SignInFailed(
            "The sign-in answer did not match the sign-in that was started.", detail=str(exc)
        ) from exc
    if "error" in result:
        raise SignInFailed(
            "Microsoft refused the sign-in.",
            detail=f"{result.get('error')}: {result.get('error_description', '')}",
        )
    id_token = result.get("id_token")
    if not isinstance(id_token, str):
        raise SignInFailed("Microsoft's answer carried no id_token.")
    try:
        claims = verify_id_token(id_token)
    except IdTokenRejected as exc:
        raise SignInFailed(f"The sign-in was refused: {exc.reason}.", detail=exc.reason) from exc
    except AuthorityUnreachable as exc:
        raise SignInFailed("Microsoft sign-in could not be reached.", detail=str(exc)) from exc

    kept_out = User.objects.filter(
        tenant_id=str(claims["tid"]), object_id=str(claims["oid"]), is_active=False
    ).first()
    if kept_out is not None:
        # Disabled or removed in the tenant, as the directory sync last saw (accounts.leavers):
        # nothing of this sign-in is kept, tokens included.
        raise SignInFailed(
            ACCOUNT_DISABLED,
            detail=f"portal user {kept_out.pk} is inactive: disabled or removed in the tenant",
            status=403,
        )
    user = upsert_person(claims=claims, granted_scopes=normalise_scopes(result.get("scope")))
    save_sign_in(user, token_cache)
    return CompletedSignIn(user=user, next_url=str(stored["next"]))


def upsert_person(*, claims: dict[str, Any], granted_scopes: str) -> User:
    """Create or update the person named by verified id_token claims."""
    tenant_id, object_id = str(claims["tid"]), str(claims["oid"])
    name = str(claims.get("name") or claims.get("preferred_username") or object_id)
    email = str(claims.get("email") or claims.get("preferred_username") or "")
    with transaction.atomic():
        user, created = User.objects.select_for_update().get_or_create(
            tenant_id=tenant_id,
            object_id=object_id,
            defaults={"username": f"{object_id}@{tenant_id}"},
        )
        user.display_name = name
        user.first_name, _, user.last_name = name.partition(" ")
        user.email = email if "@" in email else ""
        user.is_portal_admin = holds_admin_role(claims)
        user.needs_reauth = False
        user.needs_reauth_reason = ""
        # Consent only grows: keep scopes granted earlier for other features.
        user.granted_scopes = " ".join(
            dict.fromkeys([*user.granted_scopes.split(), *granted_scopes.split()])
        )
        if user.has_usable_password():
            # Sign-in is Microsoft's alone. Set once only: the password field seeds every
            # session's auth hash, so a new value would sign the person out of their other
            # browsers at each sign-in.
            user.set_unusable_password()
        user.save()
    if created:
        logger.info("first sign-in of %s (tenant %s)", object_id, tenant_id)
    return user


def sign_out_url(*, user: User | None) -> str:
    """Forget the person's tokens and return the authority's sign-out URL."""
    if user is not None and user.is_authenticated:
        forget_user_tokens(user)
    try:
        end_session = authority_metadata().get("end_session_endpoint")
    except AuthorityUnreachable:
        end_session = None
    if not isinstance(end_session, str):
        end_session = f"{settings.MICROSOFT_AUTHORITY}/oauth2/v2.0/logout"
    query = urlencode({"post_logout_redirect_uri": settings.PUBLIC_BASE_URL + reverse("home")})
    return f"{end_session}?{query}"


def refresh_profile(*, user_id: int) -> bool:
    """Bring a person's name, e-mail and admin role up to date; False if they must sign in."""
    try:
        # A refresh brings a new id_token, whose roles the token store applies: an app role
        # removed in the tenant is gone here within a day even for someone never signing out.
        acquire_user_token(user_id, force_refresh=True)
        me = users.get_me(graph_for_user(user_id))
    except ReauthRequired:
        # Flagged by the token store; the banner asks them to sign in, nothing retries.
        return False
    name = me.display_name or me.user_principal_name or ""
    first, _, last = name.partition(" ")
    User.objects.filter(pk=user_id).update(
        display_name=name,
        first_name=first[:150],
        last_name=last[:150],
        email=me.mail or me.user_principal_name or "",
    )
    return True


def people_to_refresh() -> list[int]:
    """Return the ids of people whose profile background work may refresh."""
    return list(
        User.objects.filter(needs_reauth=False, is_active=True)
        .exclude(object_id="")
        .values_list("pk", flat=True)
    )
