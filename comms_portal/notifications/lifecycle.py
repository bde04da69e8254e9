"""Answering lifecycle events, for every kind alike: reauthorize, subscribe anew, re-read.

https://learn.microsoft.com/graph/change-notifications-lifecycle-events
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from comms_portal.notifications import registry, subscriptions
from comms_portal.notifications.drain import ProcessReport, parse
from comms_portal.notifications.models import Subscription
from comms_portal.notifications.trust import known_subscriptions, split_trusted

logger = logging.getLogger(__name__)


@dataclass
class LifecycleReport:
    """What the lifecycle events of one body led to."""

    handled: list[str] = field(default_factory=list)
    dropped: int = 0
    # Resources the kinds re-read because changes to them may have been lost.
    resynced: int = 0


def process_lifecycle(body: str) -> LifecycleReport:
    """Answer each lifecycle event of ours, then let the kinds concerned restore coverage."""
    report = ProcessReport()
    collection = parse(body, report)
    result = LifecycleReport(dropped=report.dropped)
    if collection is None:
        return result
    known = known_subscriptions({item.subscription_id for item in collection.value})
    ours, refused = split_trusted(collection, known, kind=None)
    if refused:
        result.dropped += len(refused)
        logger.warning("%d lifecycle notification(s) refused: not ours", len(refused))
    to_maintain: set[str] = set()
    for position in ours:
        item = collection.value[position]
        subscription = (
            Subscription.objects.select_related("owner", "certificate")
            .filter(graph_id=item.subscription_id)
            .first()
        )
        if subscription is None or not registry.is_registered(subscription.kind):
            result.dropped += 1
            continue
        kind = registry.get(subscription.kind)
        event = item.lifecycle_event
        if event == "reauthorizationRequired":
            if subscriptions.reauthorize(subscription) is None:
                # Dropped: what it covered may have changed unseen, and needs a new owner.
                result.resynced += kind.resync(subscription)
                to_maintain.add(kind.name)
        elif event == "missed":
            # Some changes never arrived: the kind re-reads what the subscription covers.
            result.resynced += kind.resync(subscription)
        elif event == "subscriptionRemoved":
            subscriptions.forget(subscription)
            result.resynced += kind.resync(subscription)
            to_maintain.add(kind.name)
        else:
            result.dropped += 1
            logger.warning("unknown lifecycle event %r ignored", event)
            continue
        result.handled.append(f"{event}:{item.subscription_id}")
    for name in sorted(to_maintain):
        registry.get(name).maintain()
    return result
