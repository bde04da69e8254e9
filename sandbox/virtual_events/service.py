"""The virtual events area of a running sandbox: the store, and the simulated attendees.

While the simulator runs (it follows ``--simulate``, and the control API turns it on and
off), people of the tenant register for published webinars now and then, some of them
cancel, and those past the capacity are wait-listed; when a session's end passes, an
attendance report of those registered appears.
"""

from __future__ import annotations

import asyncio
import logging
import random
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from sandbox.graph.routing import GraphError
from sandbox.loops import start_loop, stop_loop
from sandbox.virtual_events.model import (
    Registration,
    Session,
    VirtualEvent,
    VirtualEventStore,
    attendance_for,
    cancel_registration,
    register,
)
from sandbox.virtual_events.notifications import publish_registrations
from sandbox.virtual_events.seed import seed_events

if TYPE_CHECKING:
    from sandbox.state import SandboxState

logger = logging.getLogger("sandbox.virtual_events")

_AREA_KEY = "virtual_events"
# Set to True (``--no-seed-events``) for a tenant that starts with no events.
EMPTY_KEY = "virtual_events.empty"
TICK_SECONDS = 1.0


@dataclass
class VirtualEventsArea:
    """The store plus the simulator's settings and task."""

    state: SandboxState
    store: VirtualEventStore = field(default_factory=VirtualEventStore)
    running: bool = False
    # On average one new registration per webinar this often (sandbox seconds).
    seconds_per_registration: float = 30.0
    cancel_share: float = 0.1
    rng: random.Random = field(default_factory=lambda: random.Random(7))
    _task: asyncio.Task[None] | None = field(default=None, repr=False)

    def register_people(self, event: VirtualEvent, count: int) -> list[Registration]:
        """Register up to ``count`` people of the tenant not yet registered, then guests."""
        now = self.state.clock.now()
        taken = {(r.user_id or r.email).lower() for r in event.registrations.values()}
        people = [
            user
            for user in self.state.tenant.live_users()
            if not user.is_service_account and user.id.lower() not in taken
        ]
        self.rng.shuffle(people)
        made: list[Registration] = []
        guest = len(event.registrations)
        while len(made) < count:
            if people:
                user = people.pop()
                user_id, first, last, email = (
                    user.id,
                    user.given_name or user.display_name,
                    user.surname or "",
                    user.mail,
                )
            else:
                guest += 1
                user_id, first, last = None, "Guest", f"Attendee {guest}"
                email = f"guest{guest}@attendees.example"
            try:
                made.append(
                    register(
                        event,
                        user_id=user_id,
                        first_name=first,
                        last_name=last,
                        email=email,
                        preferred_timezone="UTC",
                        preferred_language="en-us",
                        answers=self._answers(event),
                        now=now,
                    )
                )
            except GraphError as refused:
                logger.info("simulated registration refused: %s", refused.message)
                break
        for registration in made:
            publish_registrations(self.state, event, [registration], "created")
        return made

    def _answers(self, event: VirtualEvent) -> list[dict[str, object]]:
        answers: list[dict[str, object]] = []
        for question in event.questions:
            kind = question.answer_input_type if question.custom else "text"
            answer: dict[str, object] = {
                "questionId": question.id,
                "displayName": question.display_name,
                "value": None,
                "booleanValue": None,
                "multiChoiceValues": [],
            }
            if kind == "boolean":
                answer["booleanValue"] = self.rng.random() < 0.5
            elif kind in ("singleChoice", "multiChoice"):
                answer["multiChoiceValues"] = [self.rng.choice(question.answer_choices)]
            else:
                answer["value"] = "Looking forward to it"
            answers.append(answer)
        return answers

    def end_session(self, event: VirtualEvent, session: Session, at: datetime) -> None:
        """End a session at ``at``: its attendance report appears."""
        started = min(session.start, at)
        if session.end > at:
            session.end = at
        session.reports.append(attendance_for(event, started, at, self.rng))

    def turn(self) -> None:
        """One simulator step: registrations, cancellations, sessions that ended."""
        now = self.state.clock.now()
        for event in list(self.store.events.values()):
            for session in event.sessions:
                if event.status == "published" and session.end <= now and not session.reports:
                    self.end_session(event, session, session.end)
            if not self.running or event.kind != "webinar" or event.status != "published":
                continue
            if event.end <= now:
                continue
            chance = TICK_SECONDS / max(self.seconds_per_registration, 0.1)
            if self.rng.random() < chance:
                self.register_people(event, 1)
            live = [r for r in event.registrations.values() if r.status != "canceled"]
            if live and self.rng.random() < chance * self.cancel_share:
                changed = cancel_registration(event, self.rng.choice(live), now)
                publish_registrations(self.state, event, changed, "updated")

    async def run(self) -> None:
        while True:
            try:
                with self.state.lock:
                    self.turn()
            except Exception:  # one bad turn must not stop the area
                logger.exception("virtual events turn failed")
            await asyncio.sleep(TICK_SECONDS)


def area_of(state: SandboxState) -> VirtualEventsArea:
    """Return the virtual events area of ``state``, building it on first use."""
    area = state.extensions.get(_AREA_KEY)
    if isinstance(area, VirtualEventsArea):
        return area
    with state.lock:
        area = state.extensions.get(_AREA_KEY)
        if not isinstance(area, VirtualEventsArea):
            options = state.extensions.get("presence.options")
            area = VirtualEventsArea(state=state, running=bool(getattr(options, "simulate", False)))
            if not state.extensions.get(EMPTY_KEY):
                seed_events(area.store, state.tenant, state.clock.now())
            state.extensions[_AREA_KEY] = area
        return area


async def start_virtual_events(state: SandboxState) -> None:
    area = area_of(state)
    start_loop(area, "virtual-events")


async def stop_virtual_events(state: SandboxState) -> None:
    area = area_of(state)
    await stop_loop(area)
