"""The events a fresh tenant already holds, organized in Teams by the cast.

The same seed gives the same events, ids and registrations; their days follow the sandbox
clock (a webinar "next week" stays next week), as the call records' thirty days do.
Megan Reyes (a portal admin) organizes most of them, with Daniel Okafor as co-organizer:

* a published webinar next week, two sessions, a presenter of the organization and a guest,
  a capacity, a required question and three dozen registrations;
* a published town hall; a draft webinar; a webinar two weeks ago, with its attendance;
  a canceled webinar;
* and a webinar Priya Natarajan organizes alone, which is none of Megan's business.
"""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime, time, timedelta
from typing import TYPE_CHECKING

from sandbox.virtual_events.model import (
    Presenter,
    Question,
    Session,
    VirtualEvent,
    VirtualEventStore,
    attendance_for,
    register,
)

if TYPE_CHECKING:
    from sandbox.tenant import Tenant, User

UPCOMING_REGISTRATIONS = 36
PAST_REGISTRATIONS = 24
TOPICS = ("Product roadmap", "Pricing", "Integrations", "Security")


class _Ids:
    """GUIDs drawn from the seed, so that a tenant's events keep their ids."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def __call__(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))


def topic_question(question_id: str, *, required: bool) -> Question:
    """The custom question the seeded webinars ask their registrants."""
    return Question(
        id=question_id,
        custom=True,
        display_name="Which topic interests you most?",
        answer_input_type="singleChoice",
        answer_choices=list(TOPICS),
        is_required=required,
    )


def seed_events(store: VirtualEventStore, tenant: Tenant, now: datetime) -> None:
    """Add the tenant's seeded events to ``store``."""
    people = [u for u in tenant.live_users() if not u.is_service_account]
    cast = {user.user_principal_name.split("@")[0]: user for user in people[:12]}
    megan, daniel, priya = (
        cast.get(n) for n in ("megan.reyes", "daniel.okafor", "priya.natarajan")
    )
    if megan is None or daniel is None or priya is None:
        return
    rng = random.Random(f"{tenant.tenant_id}:virtual-events")
    ids = _Ids(rng)
    today = datetime.combine(now.astimezone(UTC).date(), time(0), tzinfo=UTC)

    def event(
        kind: str, title: str, text: str, day: int, hour: int, minutes: int, organizer: User
    ) -> VirtualEvent:
        start = today + timedelta(days=day, hours=hour)
        made = VirtualEvent(
            id=f"{ids()}@{tenant.tenant_id}",
            kind="webinar" if kind == "webinar" else "townhall",
            tenant_id=tenant.tenant_id,
            organizer_id=organizer.id,
            organizer_name=organizer.display_name,
            display_name=title,
            description={"contentType": "text", "content": text},
            start=start,
            end=start + timedelta(minutes=minutes),
            start_zone="GMT Standard Time",
            end_zone="GMT Standard Time",
            audience="organization",
            # Planned a few weeks before it starts, and never after "now".
            created_at=min(now, start) - timedelta(days=21, minutes=day),
        )
        store.add(made)
        return made

    def session(of: VirtualEvent, subject: str, start: datetime, end: datetime) -> Session:
        meeting = ids().replace("-", "")
        thread = f"19:meeting_{meeting}@thread.v2"
        made = Session(
            id=ids(),
            subject=subject,
            start=start,
            end=end,
            join_url=f"https://teams.microsoft.com/l/meetup-join/{thread.replace(':', '%3a')}/0",
            thread_id=thread,
        )
        of.sessions.append(made)
        return made

    def identity(user: User) -> dict[str, str]:
        return {"id": user.id, "displayName": user.display_name, "tenantId": user.tenant_id}

    def registrations(of: VirtualEvent, count: int, before: datetime) -> None:
        attendees = [u for u in people if u.id not in (of.organizer_id,)]
        rng.shuffle(attendees)
        for number in range(count):
            at = before - timedelta(hours=2 + 6 * number + rng.randint(0, 5))
            who: tuple[str | None, str, str, str]
            if attendees:
                user = attendees.pop()
                who = (user.id, user.given_name or user.display_name, user.surname or "", user.mail)
            else:
                who = (None, "Guest", f"Attendee {number}", f"guest{number}@attendees.example")
            answers = [
                {
                    "questionId": question.id,
                    "displayName": question.display_name,
                    "value": None,
                    "booleanValue": None,
                    "multiChoiceValues": [rng.choice(question.answer_choices)],
                }
                for question in of.questions
            ]
            register(
                of,
                user_id=who[0],
                first_name=who[1],
                last_name=who[2],
                email=who[3],
                preferred_timezone="GMT Standard Time",
                preferred_language="en-us",
                answers=answers,
                now=at,
                registration_id=ids(),
            )

    # The webinar next week: two sessions, two presenters, a question, three dozen registered.
    roadmap = event(
        "webinar",
        "Lumenhall product roadmap 2027",
        "Where the product goes next year, and time for your questions.",
        7,
        15,
        90,
        megan,
    )
    roadmap.co_organizers = [identity(daniel)]
    roadmap.capacity = 150
    session(roadmap, "Keynote: the roadmap", roadmap.start, roadmap.start + timedelta(hours=1))
    session(roadmap, "Questions and answers", roadmap.start + timedelta(hours=1), roadmap.end)
    guest_id = ids()
    roadmap.presenters = [
        Presenter(
            id=ids(),
            email=priya.mail,
            identity={
                "@odata.type": "#microsoft.graph.communicationsUserIdentity",
                **identity(priya),
            },
        ),
        Presenter(
            id=guest_id,
            email="nora.whitcombe@fabrikam.example",
            identity={
                "@odata.type": "#microsoft.graph.communicationsGuestIdentity",
                "id": guest_id,
                "displayName": "Nora Whitcombe",
                "email": "nora.whitcombe@fabrikam.example",
            },
        ),
    ]
    roadmap.questions = [topic_question(ids(), required=True)]
    roadmap.status = "published"
    registrations(roadmap, UPCOMING_REGISTRATIONS, now)

    # The town hall of the month.
    town_hall = event(
        "townhall",
        "All hands: winter update",
        "The quarter in numbers, and what comes next.",
        10,
        16,
        60,
        megan,
    )
    town_hall.co_organizers = [identity(daniel)]
    session(town_hall, town_hall.display_name, town_hall.start, town_hall.end)
    town_hall.status = "published"

    # A draft still being planned.
    draft = event(
        "webinar",
        "Security awareness for everyone",
        "Phishing, passwords and reporting, in forty-five minutes.",
        21,
        10,
        45,
        megan,
    )
    session(draft, draft.display_name, draft.start, draft.end)

    # A webinar two weeks ago, with who attended.
    past = event(
        "webinar",
        "Customer onboarding, the new way",
        "How new customers are welcomed from their first day.",
        -14,
        14,
        60,
        megan,
    )
    past.co_organizers = [identity(daniel)]
    past.questions = [topic_question(ids(), required=False)]
    past.status = "published"
    registrations(past, PAST_REGISTRATIONS, past.start)
    ran = session(past, past.display_name, past.start, past.end)
    ran.reports.append(attendance_for(past, past.start, past.end, rng, new_id=ids))

    # A webinar called off.
    canceled = event(
        "webinar",
        "Partner summit preview",
        "Called off: the summit moves to the spring.",
        12,
        13,
        60,
        megan,
    )
    session(canceled, canceled.display_name, canceled.start, canceled.end)
    canceled.status = "canceled"

    # Someone else's webinar: Megan neither organizes nor co-organizes it.
    others = event(
        "webinar",
        "Engineering brown bag: observability",
        "How we find out what production is doing.",
        5,
        12,
        45,
        priya,
    )
    session(others, others.display_name, others.start, others.end)
    others.status = "published"
