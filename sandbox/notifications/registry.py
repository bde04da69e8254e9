"""The resources a client may subscribe to, each declared with the rules Graph documents for it.

Resource modules call :func:`register_subscription_resource` at import time; the subscription
endpoints look a requested ``resource`` string up here to learn its permissions, its maximum
lifetime, its quotas and whether it needs an encryption certificate.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sandbox.graph.routing import GraphError, Principal

if TYPE_CHECKING:
    from sandbox.state import SandboxState

# ``validate(resource, principal, state)`` raises GraphError when the resource string names
# something the caller may not watch (an unknown user, a meeting of another organizer...).
ResourceValidator = Callable[[str, Principal, "SandboxState"], None]

# https://learn.microsoft.com/graph/change-notifications-lifecycle-events#supported-resources
# reauthorizationRequired reaches subscriptions on every resource; subscriptionRemoved only
# those on Outlook messages, events and contacts and Teams chatMessages; missed only those on
# Outlook messages, events and contacts. Each resource declares which it gets.
LIFECYCLE_EVENTS = frozenset({"reauthorizationRequired", "subscriptionRemoved", "missed"})
EVERY_RESOURCE_GETS = frozenset({"reauthorizationRequired"})

_ID_IN_FILTER = re.compile(
    r"^(?P<base>[^?]+)\?\$filter=\s*id\s+in\s*\((?P<ids>[^)]*)\)\s*$", re.IGNORECASE
)
_QUOTED = re.compile(r"'((?:[^']|'')*)'")


@dataclass(frozen=True)
class SubscriptionResource:
    """One subscribable resource family and its documented rules."""

    name: str
    pattern: re.Pattern[str]
    change_types: frozenset[str]
    max_expiration_minutes: int
    delegated_permissions: tuple[str, ...]
    application_permissions: tuple[str, ...]
    requires_encryption: bool
    max_ids: int | None
    per_user_per_app_limit: int | None
    org_quota: int | None
    validate: ResourceValidator | None
    # Whether ``includeResourceData`` is accepted at all for this resource.
    supports_resource_data: bool
    # Presence and meeting notifications carry ``organizationId`` beside ``tenantId``.
    include_organization_id: bool
    # The lifecycle notifications Graph sends for this resource (see LIFECYCLE_EVENTS).
    lifecycle_events: frozenset[str]
    # The API versions that accept subscriptions on it (meeting call events: beta only).
    versions: tuple[str, ...] = ("v1.0", "beta")

    def allowed_permissions(self, principal: Principal) -> tuple[str, ...]:
        """Return the permissions that let ``principal`` subscribe to this resource."""
        if principal.kind == "delegated":
            return self.delegated_permissions
        return self.application_permissions


_REGISTRY: list[SubscriptionResource] = []


def register_subscription_resource(
    name: str,
    pattern: str,
    change_types: tuple[str, ...],
    max_expiration_minutes: int,
    delegated_permissions: tuple[str, ...],
    application_permissions: tuple[str, ...],
    *,
    requires_encryption: bool = False,
    max_ids: int | None = None,
    per_user_per_app_limit: int | None = None,
    org_quota: int | None = None,
    validate: ResourceValidator | None = None,
    supports_resource_data: bool = True,
    include_organization_id: bool = False,
    lifecycle_events: frozenset[str] = EVERY_RESOURCE_GETS,
    versions: tuple[str, ...] = ("v1.0", "beta"),
) -> SubscriptionResource:
    """Declare a subscribable resource; ``pattern`` is a regex over the resource string."""
    if any(existing.name == name for existing in _REGISTRY):
        raise ValueError(f"subscription resource {name!r} is already registered")
    if not EVERY_RESOURCE_GETS <= lifecycle_events <= LIFECYCLE_EVENTS:
        raise ValueError(
            f"lifecycle events of {name!r} must include reauthorizationRequired and be among "
            f"{', '.join(sorted(LIFECYCLE_EVENTS))}"
        )
    entry = SubscriptionResource(
        name=name,
        pattern=re.compile(pattern, re.IGNORECASE),
        change_types=frozenset(change_types),
        max_expiration_minutes=max_expiration_minutes,
        delegated_permissions=delegated_permissions,
        application_permissions=application_permissions,
        requires_encryption=requires_encryption,
        max_ids=max_ids,
        per_user_per_app_limit=per_user_per_app_limit,
        org_quota=org_quota,
        validate=validate,
        supports_resource_data=supports_resource_data,
        include_organization_id=include_organization_id,
        lifecycle_events=lifecycle_events,
        versions=versions,
    )
    _REGISTRY.append(entry)
    return entry


def lifecycle_events_of(name: str) -> frozenset[str]:
    """Return the lifecycle events Graph sends for the registered resource ``name``."""
    for entry in _REGISTRY:
        if entry.name == name:
            return entry.lifecycle_events
    return EVERY_RESOURCE_GETS


def registered_resources() -> tuple[SubscriptionResource, ...]:
    """Return every registered resource, in registration order."""
    return tuple(_REGISTRY)


def normalize_resource(resource: str) -> str:
    """Strip the leading slash Graph tolerates on a subscription's ``resource``."""
    return resource.strip().lstrip("/")


def find_subscription_resource(resource: str) -> SubscriptionResource | None:
    """Return the registered resource whose pattern matches ``resource``, if any."""
    normalized = normalize_resource(resource)
    for entry in _REGISTRY:
        if entry.pattern.fullmatch(normalized):
            return entry
    return None


def filtered_ids(resource: str) -> tuple[str, list[str]] | None:
    """Split ``base?$filter=id in ('a','b')`` into its base path and ids, else None."""
    match = _ID_IN_FILTER.match(normalize_resource(resource))
    if match is None:
        return None
    ids = [value.replace("''", "'") for value in _QUOTED.findall(match.group("ids"))]
    return match.group("base").rstrip("/"), ids


def subscription_covers(subscription_resource: str, changed_resource: str) -> bool:
    """Tell whether a change to ``changed_resource`` concerns ``subscription_resource``.

    A subscription on a collection (``users``) covers its members (``users/{id}``); one on
    ``base?$filter=id in (...)`` covers ``base/{id}`` for the listed ids. Paths compare
    case-insensitively, as Graph's do.
    """
    changed = normalize_resource(changed_resource).rstrip("/").lower()
    covered = _covered_paths(subscription_resource)
    if covered is not None:
        return changed in covered
    watched = normalize_resource(subscription_resource).rstrip("/").lower()
    return changed == watched or changed.startswith(watched + "/")


# Parsing a filter of 650 ids for every subscription on every change was most of the
# sandbox's work per presence change; a subscription's resource never changes.
@functools.lru_cache(maxsize=256)
def _covered_paths(subscription_resource: str) -> frozenset[str] | None:
    """Return the lowercase paths an ``id in (...)`` filter covers, or None for no filter."""
    by_ids = filtered_ids(subscription_resource)
    if by_ids is None:
        return None
    base, ids = by_ids
    return frozenset(f"{base}/{one_id}".lower() for one_id in ids)


def check_requested_ids(entry: SubscriptionResource, resource: str) -> None:
    """Refuse an ``id in (...)`` list that is empty, repeats itself or exceeds the limit."""
    by_ids = filtered_ids(resource)
    if by_ids is None:
        return
    _, ids = by_ids
    if not ids:
        raise GraphError(400, "InvalidRequest", "The $filter must list at least one id.")
    distinct = {one_id.lower() for one_id in ids}
    if entry.max_ids is not None and len(distinct) > entry.max_ids:
        raise GraphError(
            400,
            "InvalidRequest",
            f"Too many ids in the filter: {len(distinct)}. "
            f"A subscription on {entry.name} accepts at most {entry.max_ids} distinct ids.",
        )


def describe(entry: SubscriptionResource) -> dict[str, Any]:
    """Return a JSON-friendly summary of a registered resource, for the control API."""
    return {
        "name": entry.name,
        "pattern": entry.pattern.pattern,
        "changeTypes": sorted(entry.change_types),
        "maxExpirationMinutes": entry.max_expiration_minutes,
        "delegatedPermissions": list(entry.delegated_permissions),
        "applicationPermissions": list(entry.application_permissions),
        "requiresEncryption": entry.requires_encryption,
        "maxIds": entry.max_ids,
        "perUserPerAppLimit": entry.per_user_per_app_limit,
        "orgQuota": entry.org_quota,
        "lifecycleEvents": sorted(entry.lifecycle_events),
    }
