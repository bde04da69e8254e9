"""App-only batched presence polls: 650 people a request, inside the shared request budget."""

# https://learn.microsoft.com/graph/api/cloudcommunications-getpresencesbyuserid

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from accounts.graph_clients import graph_for_app
from comms_portal.graph import GraphClient, Throttled
from comms_portal.graph.presence import MAX_IDS_PER_REQUEST, get_presences_by_user_id
from comms_portal.notifications.models import Subscription
from presence import ratelimit, store, subscriptions, watchlist
from presence.services import now_utc, presence_from_graph, record_presence

logger = logging.getLogger(__name__)

# A 429 without Retry-After holds polls this long.
DEFAULT_BACKOFF_SECONDS = 30


@dataclass(frozen=True)
class PollResult:
    """What one poll pass did."""

    requested: int = 0
    requests: int = 0
    read: int = 0
    changed: int = 0
    deferred: int = 0
    throttled: bool = False


def poll_people(person_ids: Iterable[str], *, client: GraphClient | None = None) -> PollResult:
    """Read the presence of ``person_ids`` in requests of 650 and record it."""
    ids = [person_id for person_id in dict.fromkeys(person_ids) if person_id]
    if not ids:
        return PollResult()
    if ratelimit.backing_off():
        logger.info("presence polls on hold after a 429; %d people wait", len(ids))
        return PollResult(requested=len(ids), deferred=len(ids), throttled=True)
    graph = client or graph_for_app()
    requests = read = changed = 0
    for start in range(0, len(ids), MAX_IDS_PER_REQUEST):
        chunk = ids[start : start + MAX_IDS_PER_REQUEST]
        if not ratelimit.take_presence_request():
            deferred = len(ids) - start
            logger.warning("presence request budget spent; %d people left for later", deferred)
            return PollResult(len(ids), requests, read, changed, deferred)
        try:
            presences = get_presences_by_user_id(graph, chunk)
        except Throttled as error:
            ratelimit.back_off(error.retry_after or DEFAULT_BACKOFF_SECONDS)
            logger.warning("presence poll throttled; holding polls for %s s", error.retry_after)
            return PollResult(len(ids), requests + 1, read, changed, len(ids) - start, True)
        requests += 1
        observed_at = time.time()
        states = [presence_from_graph(p, source="poll", observed_at=observed_at) for p in presences]
        read += len(states)
        changed += len(record_presence(states))
    return PollResult(len(ids), requests, read, changed)


def covered_ids(now: datetime | None = None) -> set[str]:
    """Return everyone a live subscription covers."""
    covered: set[str] = set()
    live = Subscription.objects.of_kind(subscriptions.KIND).live(now or now_utc())
    for person_ids in live.values_list("scope", flat=True):
        covered.update(person_ids)
    return covered


def people_to_poll(now: datetime | None = None) -> list[str]:
    """Watched people no live subscription covers, and watched people the store has lost."""
    watched = watchlist.watched_ids()
    covered = covered_ids(now)
    known = store.get_many(watched)
    return [p for p in watched if p not in covered or p not in known]


def poll_uncovered(*, client: GraphClient | None = None) -> PollResult:
    """Run the regular poll pass."""
    return poll_people(people_to_poll(), client=client)


def reconcile(
    person_ids: Iterable[str] | None = None, *, client: GraphClient | None = None
) -> PollResult:
    """Re-read everyone watched (or ``person_ids``), however they are covered."""
    ids = watchlist.watched_ids() if person_ids is None else list(person_ids)
    return poll_people(ids, client=client)
