"""What call records register with the notification pipeline: the kind, its upkeep, handler.

https://learn.microsoft.com/graph/api/subscription-post-subscriptions (communications/
callRecords: application CallRecords.Read.All, at most 4,230 minutes, no resource data).
One app-only subscription covers the tenant. A notification only names the record, so each
one queues a read of the whole record (ten records a task, read in one JSON batch); the
periodic heal lists by start time for any missed.
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Sequence
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from callrecords import services, tasks
from comms_portal.graph.callrecords import RECORDS_PER_BATCH
from comms_portal.notifications import registry
from comms_portal.notifications import subscriptions as pipeline
from comms_portal.notifications.models import Subscription
from comms_portal.notifications.registry import Change, Handled

logger = logging.getLogger(__name__)

KIND = "callrecords"
RESOURCE = "communications/callRecords"
CHANGE_TYPE = "created,updated"
# Graph keeps a call-records subscription alive for at most 4,230 minutes.
MAX_LIFETIME = timedelta(minutes=4230)
# Graph keeps call records 30 days.
GRAPH_KEEPS_HOURS = 30 * 24
_RECORD = re.compile(r"^/?communications/callRecords/([0-9A-Za-z-]{1,64})/?$", re.IGNORECASE)
_ID = re.compile(r"^[0-9A-Za-z-]{1,64}$")


def record_id_of(change: Change) -> str | None:
    """Return the record a change names, or None when it names something else."""
    match = _RECORD.match(change.resource or "")
    if match is None:
        return None
    named = match.group(1)
    if change.resource_id is not None and change.resource_id.lower() != named.lower():
        return None
    return named if _ID.match(named) else None


def handle_call_record_changes(changes: Sequence[Change]) -> Handled:
    """Queue a whole read of each record a batch of notifications names (once per record)."""
    handled = Handled()
    wanted: dict[str, None] = {}
    for change in changes:
        if change.subscription.kind != KIND:
            handled.drop("a change of another kind")
            continue
        graph_id = record_id_of(change)
        if graph_id is None:
            handled.drop(f"resource {change.resource!r} is not a call record")
            continue
        wanted.setdefault(graph_id, None)
    # Ten records a task: their reads go in one JSON batch, one round trip for them all.
    ids = list(wanted)
    for begin in range(0, len(ids), RECORDS_PER_BATCH):
        chunk = ids[begin : begin + RECORDS_PER_BATCH]
        transaction.on_commit(functools.partial(tasks.collect_records.delay, chunk))
    handled.changed = len(wanted)
    return handled


def keep_subscribed() -> list[str]:
    """Hold one live app-only subscription on call records; return what was done."""
    now = timezone.now()
    done: list[str] = []
    held = list(Subscription.objects.of_kind(KIND).select_related("certificate"))
    live = [one for one in held if one.expires_at > now]
    for stale in held:
        if stale.expires_at <= now:
            pipeline.forget(stale)
            done.append(f"forgot expired {stale.graph_id}")
    for extra in live[1:]:
        pipeline.drop(extra)
        done.append(f"dropped extra {extra.graph_id}")
    if live:
        if pipeline.is_due(live[0], now) and pipeline.renew(live[0], now=now) is None:
            done.append(f"lost {live[0].graph_id}")
            live = []
        else:
            return done
    created = pipeline.subscribe(
        KIND, owner=None, resource=RESOURCE, change_type=CHANGE_TYPE, now=now
    )
    done.append(f"created {created.graph_id}")
    # Whatever happened while no subscription was held is found by the list: all the 30 days
    # Graph keeps (only records missing here, or newer, are read whole).
    transaction.on_commit(functools.partial(tasks.heal.delay, GRAPH_KEEPS_HOURS))
    return done


def resync(subscription: Subscription) -> int:
    """Re-read recent records after notifications may have been lost."""
    return services.heal_recent().listed


def register() -> None:
    """Declare call records to the notification pipeline."""
    registry.register(
        registry.ResourceKind(
            name=KIND,
            handle_changes=handle_call_record_changes,
            maintain=keep_subscribed,
            resync=resync,
            max_lifetime=min(
                MAX_LIFETIME, timedelta(minutes=settings.CALLRECORDS_SUBSCRIPTION_MINUTES)
            ),
            renew_before=timedelta(hours=12),
            acts_as="app",
            include_resource_data=False,
        )
    )
