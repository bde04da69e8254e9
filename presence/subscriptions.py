"""Delegated presence subscriptions spread over signed-in people: create, renew, re-create, drop.

Graph allows one presence subscription per person per application, at most 650 ids each, for
at most 60 minutes (https://learn.microsoft.com/graph/changenotifications-for-presence), so
coverage grows with the number of people who signed in. Whoever no subscription covers is
polled instead (``presence.polling``).
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.urls import reverse

from accounts.graph_clients import graph_for_user
from accounts.models import User
from accounts.token_store import ReauthRequired, TokenUnavailable
from comms_portal.graph import (
    BadRequest,
    Conflict,
    Forbidden,
    GraphError,
    NotFound,
    Unauthorized,
)
from comms_portal.graph.presence import MAX_IDS_PER_REQUEST
from comms_portal.graph.subscriptions import (
    create_subscription,
    delete_subscription,
    get_subscription,
    reauthorize_subscription,
    renew_subscription,
)
from comms_portal.redis_client import get_redis
from directory.models import Person
from presence import watchlist
from presence.certificates import current_certificate
from presence.models import Favourite, PresenceSubscription
from presence.services import now_utc

logger = logging.getLogger(__name__)

PRESENCE_SCOPE = "Presence.Read.All"
MAINTAIN_LOCK_KEY = "portal:presence:subscriptions-lock"
OWNER_BLOCK_PREFIX = "portal:presence:owner-blocked:"
# An owner Graph refused a subscription to is left alone this long before another try.
OWNER_BLOCK_SECONDS = 1800


@dataclass
class MaintainReport:
    """What one maintenance pass did, by Graph subscription id or person id."""

    skipped: bool = False
    created: list[str] = field(default_factory=list)
    renewed: list[str] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)
    refused_owners: list[int] = field(default_factory=list)
    uncovered: int = 0
    # People whose coverage ended or began: worth a reconciliation poll.
    to_reconcile: list[str] = field(default_factory=list)


def notification_url() -> str:
    """Return where Graph posts presence change notifications."""
    return settings.PUBLIC_BASE_URL + reverse("presence-webhook:notifications")


def lifecycle_url() -> str:
    """Return where Graph posts presence lifecycle notifications."""
    return settings.PUBLIC_BASE_URL + reverse("presence-webhook:lifecycle")


def presence_resource(person_ids: list[str]) -> str:
    """Return the subscription resource for up to 650 people."""
    if not 1 <= len(person_ids) <= MAX_IDS_PER_REQUEST:
        raise ValueError(f"A presence subscription covers 1 to {MAX_IDS_PER_REQUEST} people.")
    quoted = ",".join("'" + person_id.replace("'", "''") + "'" for person_id in person_ids)
    return f"/communications/presences?$filter=id in ({quoted})"


def block_owner(user_id: int, reason: str) -> None:
    """Leave a person out of subscription ownership for a while."""
    logger.warning("presence subscriptions: owner %s set aside: %s", user_id, reason)
    get_redis().set(f"{OWNER_BLOCK_PREFIX}{user_id}", reason[:200], ex=OWNER_BLOCK_SECONDS)


def is_owner_blocked(user_id: int) -> bool:
    """Tell whether a person is set aside as a subscription owner."""
    return bool(get_redis().exists(f"{OWNER_BLOCK_PREFIX}{user_id}"))


def usable_owners() -> list[User]:
    """Signed-in people with a live token who granted Presence.Read.All, oldest account first."""
    candidates = User.objects.filter(
        needs_reauth=False, token_cache__isnull=False, is_active=True
    ).order_by("pk")
    return [
        user
        for user in candidates
        if user.has_scopes([PRESENCE_SCOPE]) and not is_owner_blocked(user.pk)
    ]


def desired_people() -> list[str]:
    """Everyone worth covering, in priority order: watched, favourites, then the rest."""
    ordered: dict[str, None] = dict.fromkeys(watchlist.watched_ids())
    ordered.update(dict.fromkeys(Favourite.objects.values_list("person__graph_id", flat=True)))
    ordered.update(
        dict.fromkeys(Person.objects.visible().order_by("pk").values_list("graph_id", flat=True))
    )
    return list(ordered)


@contextmanager
def _maintenance_lock() -> Iterator[bool]:
    lock = get_redis().lock(MAINTAIN_LOCK_KEY, timeout=600, blocking=False)
    acquired = bool(lock.acquire())
    try:
        yield acquired
    finally:
        if acquired:
            lock.release()


def _owner_gone(subscription: PresenceSubscription) -> bool:
    owner = subscription.owner
    return (
        owner.needs_reauth
        or not owner.is_active
        or not hasattr(owner, "token_cache")
        or is_owner_blocked(owner.pk)
    )


def drop_subscription(subscription: PresenceSubscription, report: MaintainReport) -> None:
    """Delete a subscription at Graph (when the owner's token still works) and here."""
    try:
        delete_subscription(graph_for_user(subscription.owner_id), subscription.graph_id)
    except (GraphError, ReauthRequired, TokenUnavailable) as error:
        # Graph forgets it at expiry anyway; its notifications are refused meanwhile.
        logger.info("subscription %s not deleted at Graph: %s", subscription.graph_id, error)
    subscription.delete()
    report.dropped.append(subscription.graph_id)
    report.to_reconcile.extend(subscription.person_ids)


def _expiry(now: datetime) -> datetime:
    return now + timedelta(minutes=settings.PRESENCE_SUBSCRIPTION_MINUTES)


def renew(
    subscription: PresenceSubscription, now: datetime, report: MaintainReport
) -> PresenceSubscription | None:
    """Extend a subscription (which also reauthorizes it); None when it had to be dropped."""
    certificate = current_certificate(now)
    switch = certificate.pk != subscription.certificate_id
    try:
        renewed = renew_subscription(
            graph_for_user(subscription.owner_id),
            subscription.graph_id,
            expiration=_expiry(now),
            encryption_certificate=certificate.certificate_base64 if switch else None,
            encryption_certificate_id=certificate.certificate_id if switch else None,
        )
    except NotFound:
        # Graph already deleted it (expired or removed): re-created by the coverage step.
        subscription.delete()
        report.dropped.append(subscription.graph_id)
        report.to_reconcile.extend(subscription.person_ids)
        return None
    except (ReauthRequired, Unauthorized) as error:
        block_owner(subscription.owner_id, f"token unusable: {error}")
        drop_subscription(subscription, report)
        return None
    subscription.expires_at = renewed.expiration_date_time
    subscription.renewed_at = now
    if switch:
        subscription.certificate = certificate
    subscription.save(update_fields=["expires_at", "renewed_at", "certificate"])
    report.renewed.append(subscription.graph_id)
    return subscription


def create_for(
    owner: User, person_ids: list[str], now: datetime, report: MaintainReport
) -> PresenceSubscription | None:
    """Subscribe as ``owner`` to the presence of ``person_ids``; None when Graph refused."""
    certificate = current_certificate(now)
    client_state = secrets.token_urlsafe(48)
    try:
        created = create_subscription(
            graph_for_user(owner.pk),
            resource=presence_resource(person_ids),
            change_type="updated",
            notification_url=notification_url(),
            lifecycle_notification_url=lifecycle_url(),
            expiration=_expiry(now),
            client_state=client_state,
            include_resource_data=True,
            encryption_certificate=certificate.certificate_base64,
            encryption_certificate_id=certificate.certificate_id,
        )
    except (Forbidden, Conflict) as error:
        # One presence subscription per person per app: this owner already holds one we do
        # not know about (made elsewhere), or lacks the permission.
        block_owner(owner.pk, f"Graph refused a subscription: {error}")
        report.refused_owners.append(owner.pk)
        return None
    except (ReauthRequired, Unauthorized) as error:
        block_owner(owner.pk, f"token unusable: {error}")
        report.refused_owners.append(owner.pk)
        return None
    subscription = PresenceSubscription.objects.create(
        owner=owner,
        graph_id=created.id,
        client_state=client_state,
        person_ids=person_ids,
        expires_at=created.expiration_date_time,
        certificate=certificate,
    )
    report.created.append(created.id)
    report.to_reconcile.extend(person_ids)
    return subscription


def _still_exists(subscription: PresenceSubscription) -> bool:
    """Tell whether Graph still holds the subscription; any doubt counts as yes."""
    try:
        # https://learn.microsoft.com/graph/api/subscription-get
        get_subscription(graph_for_user(subscription.owner_id), subscription.graph_id)
    except NotFound:
        return False
    except (GraphError, ReauthRequired, TokenUnavailable):
        return True
    return True


def _keep_or_renew(now: datetime, report: MaintainReport) -> list[PresenceSubscription]:
    renew_before = timedelta(minutes=settings.PRESENCE_RENEW_BEFORE_MINUTES)
    kept: list[PresenceSubscription] = []
    for subscription in PresenceSubscription.objects.select_related("owner", "certificate"):
        if _owner_gone(subscription):
            drop_subscription(subscription, report)
            continue
        if subscription.expires_at <= now:
            # Graph deleted it at expiry; nothing to delete there.
            subscription.delete()
            report.dropped.append(subscription.graph_id)
            report.to_reconcile.extend(subscription.person_ids)
            continue
        certificate_ending = subscription.certificate.retired_at is not None
        due = subscription.expires_at - now <= renew_before or certificate_ending
        if not due and not _still_exists(subscription):
            # Lost without a word (a service outage, a restarted tenant): presence sends no
            # "missed" event, so ask. The coverage step below subscribes again.
            subscription.delete()
            report.dropped.append(subscription.graph_id)
            report.to_reconcile.extend(subscription.person_ids)
            continue
        if due:
            try:
                renewed = renew(subscription, now, report)
            except (GraphError, TokenUnavailable) as error:
                logger.warning("renewing %s failed: %s", subscription.graph_id, error)
                renewed = subscription
            if renewed is None:
                continue
        kept.append(subscription)
    return kept


def maintain_subscriptions(*, now: datetime | None = None) -> MaintainReport:
    """Renew what is due, drop what lost its owner, cover as many people as owners allow."""
    moment = now or now_utc()
    report = MaintainReport()
    with _maintenance_lock() as acquired:
        if not acquired:
            report.skipped = True
            return report
        kept = _keep_or_renew(moment, report)
        _cover(kept, moment, report)
    return report


def _cover(kept: list[PresenceSubscription], now: datetime, report: MaintainReport) -> None:
    desired = desired_people()
    owners_with_one = {subscription.owner_id for subscription in kept}
    free_owners = [owner for owner in usable_owners() if owner.pk not in owners_with_one]
    covered: set[str] = set()
    for subscription in kept:
        covered.update(subscription.person_ids)
    uncovered = [person_id for person_id in desired if person_id not in covered]
    for owner in free_owners:
        if not uncovered:
            break
        chunk = uncovered[:MAX_IDS_PER_REQUEST]
        try:
            created = create_for(owner, chunk, now, report)
        except BadRequest as error:
            # Graph could not validate our webhook (unreachable PUBLIC_BASE_URL, say):
            # every other owner would fail the same way this round.
            logger.error("presence subscription refused: %s", error)
            break
        except (GraphError, TokenUnavailable) as error:
            logger.warning("presence subscription for owner %s failed: %s", owner.pk, error)
            continue
        if created is not None:
            uncovered = uncovered[len(chunk) :]
    _make_room_for_watched(kept, uncovered, now, report)
    report.uncovered = len(uncovered)


def _make_room_for_watched(
    kept: list[PresenceSubscription], uncovered: list[str], now: datetime, report: MaintainReport
) -> None:
    """Rebuild a subscription that covers people nobody wants when watched people wait."""
    watched = set(watchlist.watched_ids())
    waiting = [person_id for person_id in uncovered if person_id in watched]
    if not waiting:
        return
    wanted = set(desired_people())
    for subscription in sorted(kept, key=lambda s: len(s.person_ids)):
        still_wanted = [p for p in subscription.person_ids if p in wanted]
        room = MAX_IDS_PER_REQUEST - len(still_wanted)
        if room <= 0 or not waiting:
            continue
        moved, waiting = waiting[:room], waiting[room:]
        owner = subscription.owner
        # The resource of a subscription cannot change: delete it, then subscribe anew.
        drop_subscription(subscription, report)
        if create_for(owner, [*still_wanted, *moved], now, report) is None:
            waiting = [*moved, *waiting]
        else:
            for person_id in moved:
                uncovered.remove(person_id)


def answer_reauthorization(graph_id: str, *, now: datetime | None = None) -> MaintainReport:
    """Answer reauthorizationRequired: reauthorize, renewing when the expiry is near."""
    # https://learn.microsoft.com/graph/api/subscription-reauthorize
    moment = now or now_utc()
    report = MaintainReport()
    subscription = PresenceSubscription.objects.select_related("owner").filter(graph_id=graph_id)
    found = subscription.first()
    if found is None:
        return report
    if _owner_gone(found):
        drop_subscription(found, report)
        return report
    renew_before = timedelta(minutes=settings.PRESENCE_RENEW_BEFORE_MINUTES)
    try:
        if found.expires_at - moment <= renew_before:
            renew(found, moment, report)
        else:
            reauthorize_subscription(graph_for_user(found.owner_id), found.graph_id)
    except NotFound:
        found.delete()
        report.dropped.append(found.graph_id)
        report.to_reconcile.extend(found.person_ids)
    except (ReauthRequired, Unauthorized) as error:
        block_owner(found.owner_id, f"token unusable: {error}")
        drop_subscription(found, report)
    return report


def forget_removed(graph_id: str) -> MaintainReport:
    """Forget a subscription Graph removed (subscriptionRemoved); coverage re-creates one."""
    report = MaintainReport()
    found = PresenceSubscription.objects.filter(graph_id=graph_id).first()
    if found is not None:
        found.delete()
        report.dropped.append(graph_id)
        report.to_reconcile.extend(found.person_ids)
    return report
