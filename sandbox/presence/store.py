"""Everyone's presence, the timers that fade and expire it, and the change feed.

Each person is settled (expired parts dropped, view recomputed) whenever something touches
them and at the one moment their presence next changes by itself, kept in a heap; so a
tenant of 20,000 people costs nothing while nothing happens. A visible change bumps the
person's ``sequenceNumber`` and is handed to the publisher exactly once.
"""

from __future__ import annotations

import heapq
import itertools
import time
from collections.abc import Callable, Iterable

from sandbox.presence.model import PersonPresence, aggregate, drop_expired, next_due

Publisher = Callable[[PersonPresence], object]


class PresenceStore:
    """The presence of every person in the tenant, by lowercase object id."""

    def __init__(self, user_ids: Iterable[str], now: float) -> None:
        # Stamps start from the wall clock in microseconds, so a restarted sandbox never hands
        # out a sequenceNumber older than one a subscriber kept from its previous run.
        self._sequence = itertools.count(time.time_ns() // 1000)
        self._due: list[tuple[float, str]] = []
        self._publishers: list[Publisher] = []
        self.people: dict[str, PersonPresence] = {}
        for user_id in user_ids:
            person = PersonPresence(user_id=user_id)
            person.view = aggregate(person, now)
            person.sequence = next(self._sequence)
            person.changed_at = now
            self.people[user_id.lower()] = person

    def subscribe(self, publisher: Publisher) -> None:
        """Call ``publisher(person)`` after every visible change."""
        self._publishers.append(publisher)

    def get(self, user_id: str) -> PersonPresence | None:
        """Return a person's presence by object id (case-insensitive)."""
        return self.people.get(user_id.lower())

    def change(
        self, user_id: str, now: float, mutate: Callable[[PersonPresence], None]
    ) -> PersonPresence:
        """Apply ``mutate`` to a person and publish the result if readers see a difference."""
        person = self.people[user_id.lower()]
        mutate(person)
        self.settle(person, now)
        return person

    def settle(self, person: PersonPresence, now: float) -> bool:
        """Drop what expired, recompute the view, reschedule; return whether it changed."""
        drop_expired(person, now)
        view = aggregate(person, now)
        due = next_due(person, now)
        if due is not None and due != person.due_at:
            heapq.heappush(self._due, (due, person.user_id.lower()))
        person.due_at = due
        if view == person.view:
            return False
        person.view = view
        person.sequence = next(self._sequence)
        person.changed_at = now
        for publisher in self._publishers:
            publisher(person)
        return True

    def process_due(self, now: float) -> int:
        """Settle every person whose presence changed by itself up to ``now``."""
        changed = 0
        while self._due and self._due[0][0] <= now:
            due, user_id = heapq.heappop(self._due)
            person = self.people.get(user_id)
            # A person rescheduled since this entry was pushed has a newer entry.
            if person is None or person.due_at != due:
                continue
            person.due_at = None
            changed += self.settle(person, now)
        return changed
