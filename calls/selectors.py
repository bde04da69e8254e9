"""Reads of the calls pages."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from calls.models import (
    Call,
    CallDelegate,
    CallEvent,
    CallParticipant,
    DelegationRead,
    Incident,
    IncidentTarget,
    MenuOption,
    Prompt,
    ReceptionLine,
    Team,
)
from directory.models import Person
from presence.selectors import presence_states

RECENT = 20


@dataclass(frozen=True)
class Board:
    """The calls on the board: live ones first, then the latest ended."""

    live: list[Call]
    recent: list[Call]


def board() -> Board:
    """Return the board's calls."""
    related = ("routed_to", "option")
    return Board(
        live=list(Call.objects.live().select_related(*related)),
        recent=list(Call.objects.filter(state="terminated").select_related(*related)[:RECENT]),
    )


@dataclass(frozen=True)
class CallDetail:
    """One call with its participants and steps."""

    call: Call
    participants: list[CallParticipant]
    events: list[CallEvent]


def call_detail(pk: int) -> CallDetail | None:
    """Return a call's page data, or None."""
    call = Call.objects.select_related("routed_to", "option").filter(pk=pk).first()
    if call is None:
        return None
    return CallDetail(
        call=call,
        participants=list(call.participants.select_related("person").order_by("pk")),
        events=list(call.events.all()),
    )


def menu(line: ReceptionLine) -> list[MenuOption]:
    """Return the line's menu, key by key."""
    return list(line.options.select_related("person", "team").prefetch_related("members"))


def saved_teams() -> list[Team]:
    """Return the saved teams by name, with their people and the menu keys leading to them."""
    return list(Team.objects.select_related("person").prefetch_related("members", "options"))


def uploaded_slots(line: ReceptionLine) -> set[str]:
    """Return the prompt slots with an uploaded recording."""
    return set(Prompt.objects.filter(line=line).values_list("slot", flat=True))


def greeting_slots() -> list[str]:
    """Return what a caller hears on answering: the greeting, then the menu.

    A line whose greeting was uploaded before the menu had a recording of its own said its
    keys in the greeting; it keeps doing so until a menu is uploaded too.
    """
    uploaded = set(
        Prompt.objects.filter(slot__in=["greeting", "menu"]).values_list("slot", flat=True)
    )
    if "greeting" in uploaded and "menu" not in uploaded:
        return ["greeting"]
    return ["greeting", "menu"]


def prompt_content(line: ReceptionLine, slot: str) -> bytes | None:
    """Return an uploaded recording, or None."""
    prompt = Prompt.objects.filter(line=line, slot=slot).first()
    return bytes(prompt.content) if prompt is not None else None


@dataclass(frozen=True)
class ShownDelegate:
    """A delegate on a person's page: who, their presence now, and what they may do."""

    person: Person
    # The stored presence (presence's own type), shown with its template filters.
    presence: object | None
    receives_calls: bool
    makes_calls: bool


@dataclass(frozen=True)
class PersonDelegation:
    """Who takes a person's calls, and whose calls they take, as last read from Graph."""

    delegates: list[ShownDelegate]
    delegators: list[Person]
    # When the person's delegation was last read (None: never, they have not allowed it).
    read_at: datetime | None


def person_delegation(graph_id: str) -> PersonDelegation:
    """Return the call delegation shown on a person's page."""
    rows = CallDelegate.objects.select_related("delegate", "delegator")
    delegates = list(rows.filter(delegator__graph_id=graph_id).order_by("delegate__display_name"))
    presence = presence_states([row.delegate.graph_id for row in delegates])
    read = DelegationRead.objects.filter(person__graph_id=graph_id).first()
    return PersonDelegation(
        delegates=[
            ShownDelegate(
                person=row.delegate,
                presence=presence.get(row.delegate.graph_id),
                receives_calls=row.receives_calls,
                makes_calls=row.makes_calls,
            )
            for row in delegates
        ],
        delegators=[
            r.delegator
            for r in rows.filter(delegate__graph_id=graph_id).order_by("delegator__display_name")
        ],
        read_at=read.read_at if read is not None else None,
    )


def incidents() -> list[Incident]:
    """Return the latest call-outs."""
    return list(Incident.objects.all()[:RECENT])


@dataclass(frozen=True)
class IncidentDetail:
    """A call-out and the people it calls."""

    incident: Incident
    targets: list[IncidentTarget]


def incident_detail(pk: int) -> IncidentDetail | None:
    """Return a call-out's page data, or None."""
    incident = Incident.objects.filter(pk=pk).first()
    if incident is None:
        return None
    return IncidentDetail(
        incident=incident, targets=list(incident.targets.select_related("person"))
    )
