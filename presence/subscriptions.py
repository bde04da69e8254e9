"""Which presence subscriptions should exist: spread over signed-in people, 650 people each.

Graph allows one presence subscription per person per application, at most 650 ids each, for
at most 60 minutes (https://learn.microsoft.com/graph/changenotifications-for-presence), so
coverage grows with the number of people who signed in. Whoever no subscription covers is
polled instead (``presence.polling``). How one subscription is made, renewed and dropped is
the notification pipeline's (``comms_portal.notifications.subscriptions``).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime

from accounts.models import User
from accounts.token_store import ReauthRequired, TokenUnavailable
from comms_portal.graph import BadRequest, Conflict, Forbidden, GraphError, Unauthorized
from comms_portal.graph.presence import MAX_IDS_PER_REQUEST
from comms_portal.notifications import subscriptions as pipeline
from comms_portal.notifications.models import Subscription
from comms_portal.redis_client import get_redis
from directory.models import Person
from presence import watchlist
from presence.models import Favourite
from presence.services import now_utc

logger = logging.getLogger(__name__)

KIND = "presence"
PRESENCE_SCOPE = "Presence.Read.All"
MAINTAIN_LOCK_KEY = "portal:presence:subscriptions-lock"


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

    def lost(self, subscription: Subscription) -> None:
        """Note a subscription that ended, and that the people it covered need a fresh read."""
        self.dropped.append(subscription.graph_id)
        self.to_reconcile.extend(subscription.scope)


def presence_subscriptions() -> Iterator[Subscription]:
    """Return the presence subscriptions held, with their owners and certificates."""
    return iter(Subscription.objects.of_kind(KIND).select_related("owner", "certificate"))


def presence_resource(person_ids: list[str]) -> str:
    """Return the subscription resource for up to 650 people."""
    if not 1 <= len(person_ids) <= MAX_IDS_PER_REQUEST:
        raise ValueError(f"A presence subscription covers 1 to {MAX_IDS_PER_REQUEST} people.")
    quoted = ",".join("'" + person_id.replace("'", "''") + "'" for person_id in person_ids)
    return f"/communications/presences?$filter=id in ({quoted})"


def usable_owners() -> list[User]:
    """Signed-in people with a live token who granted Presence.Read.All, oldest account first."""
    candidates = User.objects.filter(
        needs_reauth=False, token_cache__isnull=False, is_active=True
    ).order_by("pk")
    return [
        user
        for user in candidates
        if user.has_scopes([PRESENCE_SCOPE]) and not pipeline.is_owner_blocked(KIND, user.pk)
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


def drop_subscription(subscription: Subscription, report: MaintainReport) -> None:
    """Delete a subscription at Graph (when the owner's token still works) and here."""
    pipeline.drop(subscription)
    report.lost(subscription)


def create_for(
    owner: User, person_ids: list[str], now: datetime, report: MaintainReport
) -> Subscription | None:
    """Subscribe as ``owner`` to the presence of ``person_ids``; None when Graph refused."""
    try:
        subscription = pipeline.subscribe(
            KIND,
            owner=owner,
            resource=presence_resource(person_ids),
            change_type="updated",
            scope=person_ids,
            now=now,
        )
    except (Forbidden, Conflict) as error:
        # One presence subscription per person per app: this owner already holds one we do
        # not know about (made elsewhere), or lacks the permission.
        pipeline.block_owner(KIND, owner.pk, f"Graph refused a subscription: {error}")
        report.refused_owners.append(owner.pk)
        return None
    except (ReauthRequired, Unauthorized) as error:
        pipeline.block_owner(KIND, owner.pk, f"token unusable: {error}")
        report.refused_owners.append(owner.pk)
        return None
    report.created.append(subscription.graph_id)
    report.to_reconcile.extend(person_ids)
    return subscription


def _keep_or_renew(now: datetime, report: MaintainReport) -> list[Subscription]:
    kept: list[Subscription] = []
    for subscription in presence_subscriptions():
        if pipeline.owner_gone(subscription):
            drop_subscription(subscription, report)
            continue
        if subscription.expires_at <= now:
            # Graph deleted it at expiry; nothing to delete there.
            pipeline.forget(subscription)
            report.lost(subscription)
            continue
        due = pipeline.is_due(subscription, now)
        if not due and not pipeline.still_exists(subscription):
            # Lost without a word (a service outage, a restarted tenant): presence sends no
            # "missed" event, so ask. The coverage step below subscribes again.
            pipeline.forget(subscription)
            report.lost(subscription)
            continue
        if due:
            try:
                if pipeline.renew(subscription, now=now) is None:
                    report.lost(subscription)
                    continue
                report.renewed.append(subscription.graph_id)
            except (GraphError, TokenUnavailable) as error:
                # Kept as it is: a passing fault, and the next pass tries again.
                logger.warning("renewing %s failed: %s", subscription.graph_id, error)
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


def _cover(kept: list[Subscription], now: datetime, report: MaintainReport) -> None:
    desired = desired_people()
    owners_with_one = {subscription.owner_id for subscription in kept}
    free_owners = [owner for owner in usable_owners() if owner.pk not in owners_with_one]
    covered: set[str] = set()
    for subscription in kept:
        covered.update(subscription.scope)
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
    kept: list[Subscription], uncovered: list[str], now: datetime, report: MaintainReport
) -> None:
    """Rebuild a subscription that covers people nobody wants when watched people wait."""
    watched = set(watchlist.watched_ids())
    waiting = [person_id for person_id in uncovered if person_id in watched]
    if not waiting:
        return
    wanted = set(desired_people())
    for subscription in sorted(kept, key=lambda s: len(s.scope)):
        still_wanted = [p for p in subscription.scope if p in wanted]
        room = MAX_IDS_PER_REQUEST - len(still_wanted)
        if room <= 0 or not waiting or subscription.owner is None:
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
