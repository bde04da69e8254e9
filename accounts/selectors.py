"""Reads for the admin page: granted permissions, people's token states, consent links."""

from __future__ import annotations

import enum
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlencode

import jwt
import requests
from django.conf import settings
from django.db.models import Exists, OuterRef
from django.urls import reverse

from accounts.graph_errors import APP_CALLER, RecordedGraphError, recent_graph_errors
from accounts.identity import AuthorityUnreachable
from accounts.models import TokenCache, User
from accounts.permissions import FEATURES, Feature, Permission
from accounts.token_store import TokenUnavailable, acquire_app_token

# Scopes of OpenID Connect itself, not Graph permissions; left out of the counts.
OIDC_SCOPES = frozenset({"openid", "profile", "offline_access", "email"})


class Grant(enum.Enum):
    """Whether the tenant granted a permission, as far as the tokens tell."""

    GRANTED = "granted"
    PARTLY = "partly"
    NOT_GRANTED = "not-granted"
    UNKNOWN = "unknown"

    @property
    def label(self) -> str:
        """Return the state in words (shown next to its icon, never colour alone)."""
        return _GRANT_DISPLAY[self][0]

    @property
    def icon(self) -> str:
        """Return the symbol shown before the label."""
        return _GRANT_DISPLAY[self][1]

    @property
    def badge(self) -> str:
        """Return the badge style of the state."""
        return _GRANT_DISPLAY[self][2]


_GRANT_DISPLAY: dict[Grant, tuple[str, str, str]] = {
    Grant.GRANTED: ("Granted", "\u2713", "badge-success"),
    Grant.PARTLY: ("Partly granted", "\u25d0", "badge-warning"),
    Grant.NOT_GRANTED: ("Not granted", "\u2717", "badge-danger"),
    Grant.UNKNOWN: ("Unknown", "?", "badge-info"),
}


@dataclass(frozen=True)
class AppGrants:
    """The application permissions in the app's own token; ``roles`` is None when unknown."""

    roles: frozenset[str] | None
    problem: str = ""


@dataclass(frozen=True)
class DelegatedGrants:
    """How many signed-in people granted each delegated scope (keys lowercase)."""

    people: int
    granted_by: Counter[str]


@dataclass(frozen=True)
class PermissionState:
    """One permission of a feature and whether it is granted, in words."""

    permission: Permission
    grant: Grant
    detail: str


@dataclass(frozen=True)
class FeaturePermissions:
    """A feature with the state of each permission it needs."""

    feature: Feature
    permissions: list[PermissionState]


def app_grants() -> AppGrants:
    """Read the ``roles`` claim of the app's own access token."""
    try:
        token = acquire_app_token().value
    except (TokenUnavailable, AuthorityUnreachable, requests.RequestException, ValueError) as exc:
        return AppGrants(None, f"the app could not get a token ({exc})")
    try:
        # For display only: the token is meant for Graph, which checks it; nothing here
        # trusts it, so its signature is not verified.
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.InvalidTokenError:
        return AppGrants(None, "the app's access token is not a readable JWT")
    roles = claims.get("roles") or []
    if not isinstance(roles, list):
        return AppGrants(None, "the app's access token has a malformed roles claim")
    return AppGrants(frozenset(str(role).lower() for role in roles))


def delegated_grants() -> DelegatedGrants:
    """Count, per scope, the signed-in people whose sign-in granted it."""
    scope_lists = User.objects.exclude(object_id="").values_list("granted_scopes", flat=True)
    granted_by: Counter[str] = Counter()
    people = 0
    for scopes in scope_lists:
        people += 1
        granted_by.update({scope.lower() for scope in scopes.split()})
    return DelegatedGrants(people, granted_by)


def _application_state(permission: Permission, app: AppGrants) -> PermissionState:
    if app.roles is None:
        return PermissionState(permission, Grant.UNKNOWN, f"Unknown: {app.problem}.")
    if permission.name.lower() in app.roles:
        return PermissionState(permission, Grant.GRANTED, "Granted to the app.")
    return PermissionState(permission, Grant.NOT_GRANTED, "Not in the app's token.")


def _delegated_state(permission: Permission, delegated: DelegatedGrants) -> PermissionState:
    if delegated.people == 0:
        return PermissionState(permission, Grant.UNKNOWN, "Unknown: no one has signed in yet.")
    count = delegated.granted_by[permission.name.lower()]
    of_people = f"{count} of {delegated.people} {'person' if delegated.people == 1 else 'people'}"
    if count == 0:
        return PermissionState(permission, Grant.NOT_GRANTED, "No one has granted it yet.")
    if count < delegated.people:
        return PermissionState(permission, Grant.PARTLY, f"Granted by {of_people}.")
    return PermissionState(permission, Grant.GRANTED, f"Granted by {of_people}.")


def permission_catalogue(app: AppGrants, delegated: DelegatedGrants) -> list[FeaturePermissions]:
    """Return every feature with the grant state of each permission it needs."""
    return [
        FeaturePermissions(
            feature,
            [
                _application_state(permission, app)
                if permission.kind == "application"
                else _delegated_state(permission, delegated)
                for permission in feature.permissions
            ],
        )
        for feature in FEATURES
    ]


class TokenHealth(enum.Enum):
    """The state of one person's stored sign-in."""

    FINE = "fine"
    NEEDS_SIGN_IN = "needs-sign-in"
    NO_TOKENS = "no-tokens"

    @property
    def label(self) -> str:
        """Return the state in words."""
        return _TOKEN_DISPLAY[self][0]

    @property
    def icon(self) -> str:
        """Return the symbol shown before the label."""
        return _TOKEN_DISPLAY[self][1]

    @property
    def badge(self) -> str:
        """Return the badge style of the state."""
        return _TOKEN_DISPLAY[self][2]


_TOKEN_DISPLAY: dict[TokenHealth, tuple[str, str, str]] = {
    TokenHealth.FINE: ("Token fine", "\u2713", "badge-success"),
    TokenHealth.NEEDS_SIGN_IN: ("Needs sign-in again", "!", "badge-danger"),
    TokenHealth.NO_TOKENS: ("Signed out", "\u2013", "badge-info"),
}


@dataclass(frozen=True)
class PersonToken:
    """A person who signed in, and whether background work can act for them."""

    user_id: int
    display_name: str
    email: str
    last_sign_in: datetime | None
    health: TokenHealth
    reason: str
    scope_count: int


def _person_token(user: User, *, has_tokens: bool) -> PersonToken:
    if user.needs_reauth:
        health, reason = TokenHealth.NEEDS_SIGN_IN, user.needs_reauth_reason
    elif not has_tokens:
        health, reason = TokenHealth.NO_TOKENS, "Signed out: no tokens are stored."
    else:
        health, reason = TokenHealth.FINE, ""
    scopes = {scope.lower() for scope in user.granted_scopes.split()} - OIDC_SCOPES
    return PersonToken(
        user_id=user.pk,
        display_name=str(user),
        email=user.email,
        last_sign_in=user.last_login,
        health=health,
        reason=reason,
        scope_count=len(scopes),
    )


def people_tokens(*, needs_sign_in_only: bool = False) -> list[PersonToken]:
    """Return the people who signed in with Microsoft, by name, with their token state."""
    people = (
        User.objects.exclude(object_id="")
        .annotate(has_tokens=Exists(TokenCache.objects.filter(user=OuterRef("pk"))))
        .order_by("display_name", "pk")
    )
    if needs_sign_in_only:
        people = people.filter(needs_reauth=True)
    return [
        _person_token(user, has_tokens=bool(getattr(user, "has_tokens", False))) for user in people
    ]


@dataclass(frozen=True)
class ShownGraphError:
    """A recorded Graph error with the name of whoever the call acted as."""

    error: RecordedGraphError
    caller: str


def last_graph_errors(limit: int) -> list[ShownGraphError]:
    """Return the newest recorded Graph errors, naming the person or the app behind each."""
    errors = recent_graph_errors(limit)
    user_ids = {int(e.who) for e in errors if e.who.isdigit()}
    names = {user.pk: str(user) for user in User.objects.filter(pk__in=user_ids)}

    def caller(who: str) -> str:
        if who == APP_CALLER:
            return "The app"
        if who.isdigit() and int(who) in names:
            return names[int(who)]
        return f"Person {who} (no longer here)"

    return [ShownGraphError(error, caller(error.who)) for error in errors]


def admin_consent_done_url() -> str:
    """Return where the authority sends the administrator after the consent page."""
    return settings.PUBLIC_BASE_URL + reverse("admin_consent_done")


def admin_consent_url(state: str) -> str:
    """Return the authority's tenant-wide admin-consent URL for the portal's app."""
    # https://learn.microsoft.com/entra/identity-platform/v2-admin-consent
    query = urlencode(
        {
            "client_id": settings.MICROSOFT_CLIENT_ID,
            "redirect_uri": admin_consent_done_url(),
            "state": state,
        }
    )
    return f"{settings.MICROSOFT_AUTHORITY}/adminconsent?{query}"
