"""Keep everyone's call delegation fresh: a periodic read with each signed-in person's token.

Graph's call delegation (beta) is readable with the delegated ``CallDelegation.Read`` only (no
application permission), so the portal reads it as each person who signed in and allowed it.
Each pass of the beat schedule reads a few of them, those read longest ago first, so every one
is read again within ``CALLS_DELEGATION_REFRESH_SECONDS`` without a burst of requests.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from accounts.identity import FEATURE_SCOPES
from accounts.models import User
from accounts.token_store import ReauthRequired, TokenUnavailable
from calls import services
from calls.models import DelegationRead
from comms_portal.graph import GraphError
from directory.models import Person

logger = logging.getLogger(__name__)

SCOPES = FEATURE_SCOPES["calldelegation"]
# The period of the beat schedule's "refresh-call-delegation" entry.
PASS_SECONDS = 300.0


@dataclass(frozen=True)
class Reader:
    """A signed-in person who allowed the portal to read their call delegation."""

    user_id: int
    person: Person


def readers() -> list[Reader]:
    """Return the signed-in people whose token may read their call delegation."""
    users = [
        user
        for user in User.objects.filter(is_active=True, needs_reauth=False)
        .exclude(object_id="")
        .filter(granted_scopes__icontains=SCOPES[0])
        if user.has_scopes(SCOPES)
    ]
    people = Person.objects.in_bulk([user.object_id for user in users], field_name="graph_id")
    return [Reader(user.pk, people[user.object_id]) for user in users if user.object_id in people]


def per_pass(count: int, interval: float) -> int:
    """Return how many people a pass reads so that ``count`` are read once per ``interval``."""
    return max(1, math.ceil(count * PASS_SECONDS / interval)) if count else 0


def _claim(person: Person, now: datetime, interval: timedelta) -> bool:
    """Mark a person as being read now; False when another pass took them meanwhile."""
    DelegationRead.objects.get_or_create(person=person)
    due = Q(tried_at__isnull=True) | Q(tried_at__lte=now - interval)
    return DelegationRead.objects.filter(due, person=person).update(tried_at=now) == 1


def refresh_due_delegations(*, now: datetime | None = None) -> int:
    """Read the call delegation of the people whose turn it is; return how many were read."""
    now = now or timezone.now()
    interval = timedelta(seconds=settings.CALLS_DELEGATION_REFRESH_SECONDS)
    everyone = readers()
    tried = dict(
        DelegationRead.objects.filter(person__in=[r.person for r in everyone]).values_list(
            "person_id", "tried_at"
        )
    )

    def last_tried(reader: Reader) -> datetime | None:
        return tried.get(reader.person.pk)

    due = [r for r in everyone if (last_tried(r) or now - interval) <= now - interval]
    # Never read first, then those read longest ago.
    due.sort(key=lambda r: (last_tried(r) is not None, last_tried(r) or now, r.person.pk))
    read = 0
    for reader in due[: per_pass(len(everyone), interval.total_seconds())]:
        if not _claim(reader.person, now, interval):
            continue
        try:
            services.refresh_delegation(user_id=reader.user_id, person=reader.person)
        except (GraphError, ReauthRequired, TokenUnavailable) as error:
            logger.warning("call delegation of %s not read: %s", reader.person.pk, error)
            DelegationRead.objects.filter(person=reader.person).update(error=str(error)[:300])
            continue
        read += 1
    return read
