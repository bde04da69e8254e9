"""Graph-side upkeep of one subscription of any registered kind: create, renew, reauthorize, drop.

Which subscriptions should exist is each app's decision (its kind's ``maintain``); how one is
made and kept alive is the same for all, and lives here: the certificate to encrypt to, a
fresh clientState, the intake URLs, a lifetime within the kind's limit, the right token
(the owner's delegated one, or the app's).
"""

# https://learn.microsoft.com/graph/api/subscription-post-subscriptions
# https://learn.microsoft.com/graph/api/subscription-update
# https://learn.microsoft.com/graph/api/subscription-reauthorize

from __future__ import annotations

import logging
import secrets
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from accounts.graph_clients import graph_for_app, graph_for_user
from accounts.models import User
from accounts.token_store import ReauthRequired, TokenUnavailable
from comms_portal.graph import GraphClient, GraphError, NotFound, Unauthorized
from comms_portal.graph.subscriptions import (
    create_subscription,
    delete_subscription,
    get_subscription,
    reauthorize_subscription,
    renew_subscription,
)
from comms_portal.notifications import pending, registry, trust
from comms_portal.notifications.certificates import current_certificate
from comms_portal.notifications.models import Subscription
from comms_portal.redis_client import get_redis

logger = logging.getLogger(__name__)

OWNER_BLOCK_PREFIX = "portal:notifications:owner-blocked:"
# An owner Graph refused a subscription to is left alone this long before another try.
OWNER_BLOCK_SECONDS = 1800


def notification_url(kind: str) -> str:
    """Return where Graph posts the change notifications of ``kind``."""
    return settings.PUBLIC_BASE_URL + reverse("notifications:intake", kwargs={"kind": kind})


def lifecycle_url() -> str:
    """Return where Graph posts lifecycle notifications, of every kind."""
    return settings.PUBLIC_BASE_URL + reverse("notifications:lifecycle")


def _owner_block_key(kind: str, user_id: int) -> str:
    return f"{OWNER_BLOCK_PREFIX}{kind}:{user_id}"


def block_owner(kind: str, user_id: int, reason: str) -> None:
    """Leave a person out of ``kind``'s subscription ownership for a while."""
    logger.warning("%s subscriptions: owner %s set aside: %s", kind, user_id, reason)
    get_redis().set(_owner_block_key(kind, user_id), reason[:200], ex=OWNER_BLOCK_SECONDS)


def is_owner_blocked(kind: str, user_id: int) -> bool:
    """Tell whether a person is set aside as an owner of ``kind``'s subscriptions."""
    return bool(get_redis().exists(_owner_block_key(kind, user_id)))


def client_for(owner_id: int | None, kind_name: str | None = None) -> GraphClient:
    """Return the Graph client a subscription is kept with: its owner's, or the app's.

    Kinds whose resource Graph offers on beta only get a client of that version.
    """
    beta = (
        kind_name is not None
        and registry.is_registered(kind_name)
        and registry.get(kind_name).api_version == "beta"
    )
    if owner_id is None:
        return graph_for_app(beta=beta)
    return graph_for_user(owner_id, beta=beta)


def _expiry(kind: registry.ResourceKind, now: datetime, lifetime: timedelta | None) -> datetime:
    wanted = lifetime or kind.max_lifetime
    return now + min(wanted, kind.max_lifetime)


def subscribe(
    kind_name: str,
    *,
    owner: User | None,
    resource: str,
    change_type: str,
    scope: list[Any] | None = None,
    lifetime: timedelta | None = None,
    now: datetime | None = None,
) -> Subscription:
    """Subscribe at Graph for ``kind_name`` and record it; Graph's refusals are raised."""
    kind = registry.get(kind_name)
    if (owner is None) != (kind.acts_as == "app"):
        raise ValueError(f"{kind.name} subscriptions are kept with the {kind.acts_as} token")
    moment = now or timezone.now()
    certificate = current_certificate(moment) if kind.include_resource_data else None
    client_state = secrets.token_urlsafe(48)
    # Graph may notify before the record below is committed: the intake and the worker
    # recognise those notifications by this clientState meanwhile.
    pending.expect(client_state, kind.name)
    try:
        created = create_subscription(
            client_for(owner.pk if owner else None, kind.name),
            resource=resource,
            change_type=change_type,
            notification_url=notification_url(kind.name),
            lifecycle_notification_url=lifecycle_url(),
            expiration=_expiry(kind, moment, lifetime),
            client_state=client_state,
            include_resource_data=kind.include_resource_data,
            encryption_certificate=certificate.certificate_base64 if certificate else None,
            encryption_certificate_id=certificate.certificate_id if certificate else None,
        )
    except BaseException:
        pending.settle(client_state)
        raise
    subscription = Subscription.objects.create(
        kind=kind.name,
        graph_id=created.id,
        client_state=client_state,
        resource=resource,
        change_type=change_type,
        owner=owner,
        scope=scope or [],
        expires_at=created.expiration_date_time,
        certificate=certificate,
    )

    def recorded() -> None:
        trust.cache(subscription)
        pending.settle(client_state)

    transaction.on_commit(recorded)
    return subscription


def owner_gone(subscription: Subscription) -> bool:
    """Tell whether a delegated subscription's owner can no longer keep it."""
    owner = subscription.owner
    if owner is None:
        return False
    return (
        owner.needs_reauth
        or not owner.is_active
        or not hasattr(owner, "token_cache")
        or is_owner_blocked(subscription.kind, owner.pk)
    )


def drop(subscription: Subscription) -> None:
    """Delete a subscription at Graph (when its token still works) and here."""
    try:
        delete_subscription(
            client_for(subscription.owner_id, subscription.kind), subscription.graph_id
        )
    except (GraphError, ReauthRequired, TokenUnavailable) as error:
        # Graph forgets it at expiry anyway; its notifications are refused meanwhile.
        logger.info("subscription %s not deleted at Graph: %s", subscription.graph_id, error)
    forget(subscription)


def forget(subscription: Subscription) -> None:
    """Delete the record of a subscription Graph no longer holds."""
    graph_id = subscription.graph_id
    subscription.delete()
    transaction.on_commit(lambda: trust.uncache(graph_id))


def renew(subscription: Subscription, *, now: datetime | None = None) -> Subscription | None:
    """Extend a subscription (which also reauthorizes it); None when it had to be dropped.

    A subscription whose certificate is retired moves to the current one as it is renewed.
    Faults that may pass (throttling, an outage) are raised and the record is kept.
    """
    kind = registry.get(subscription.kind)
    moment = now or timezone.now()
    certificate = subscription.certificate
    if kind.include_resource_data:
        certificate = current_certificate(moment)
    switch = certificate is not None and certificate.pk != subscription.certificate_id
    try:
        renewed = renew_subscription(
            client_for(subscription.owner_id, subscription.kind),
            subscription.graph_id,
            expiration=_expiry(kind, moment, None),
            encryption_certificate=certificate.certificate_base64
            if switch and certificate
            else None,
            encryption_certificate_id=certificate.certificate_id
            if switch and certificate
            else None,
        )
    except (NotFound, ReauthRequired, Unauthorized) as error:
        _end_refused(subscription, error)
        return None
    subscription.expires_at = renewed.expiration_date_time
    subscription.renewed_at = moment
    subscription.certificate = certificate
    subscription.save(update_fields=["expires_at", "renewed_at", "certificate"])
    return subscription


def is_due(subscription: Subscription, now: datetime) -> bool:
    """Tell whether a subscription should be renewed now (near its end, or its key retired)."""
    kind = registry.get(subscription.kind)
    certificate = subscription.certificate
    retiring = certificate is not None and certificate.retired_at is not None
    return subscription.expires_at - now <= kind.renew_before or retiring


def reauthorize(subscription: Subscription, *, now: datetime | None = None) -> Subscription | None:
    """Answer reauthorizationRequired: renew when the end is near, else reauthorize.

    Return None when the subscription had to be dropped (owner gone, token refused, or Graph
    no longer holds it).
    """
    moment = now or timezone.now()
    if owner_gone(subscription):
        drop(subscription)
        return None
    if is_due(subscription, moment):
        return renew(subscription, now=moment)
    try:
        reauthorize_subscription(
            client_for(subscription.owner_id, subscription.kind), subscription.graph_id
        )
    except (NotFound, ReauthRequired, Unauthorized) as error:
        _end_refused(subscription, error)
        return None
    return subscription


def _end_refused(subscription: Subscription, error: Exception) -> None:
    """End a subscription Graph no longer holds (404), or whose token it refuses."""
    if isinstance(error, NotFound):
        # Graph already deleted it (expired or removed); the kind's upkeep subscribes anew.
        forget(subscription)
        return
    if subscription.owner_id is not None:
        block_owner(subscription.kind, subscription.owner_id, f"token unusable: {error}")
    drop(subscription)


def still_exists(subscription: Subscription) -> bool:
    """Tell whether Graph still holds the subscription; any doubt counts as yes."""
    try:
        # https://learn.microsoft.com/graph/api/subscription-get
        get_subscription(
            client_for(subscription.owner_id, subscription.kind), subscription.graph_id
        )
    except NotFound:
        return False
    except (GraphError, ReauthRequired, TokenUnavailable):
        return True
    return True
