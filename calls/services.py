"""What the bot does with each callback: the reception line's flow, routing, and the board.

The reception line answers, greets and listens for a key of its menu; the key's team is
routed by presence: the Available member free longest gets the call by transfer; when the
team is one person who is Busy or Do not disturb, an Available delegate who receives their
calls gets it instead; when nobody is free, the caller is offered a call back (press 1), and
the bot places a group call of the caller and the first member to become Available.

Only metadata is kept: states, who, when, how routed. Tones are used for the decision and
dropped.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, TypeVar
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts.graph_clients import graph_for_user
from accounts.identity import FEATURE_SCOPES
from calls import incidents, selectors, steps, teams
from calls.bot import graph_for_bot
from calls.models import (
    STATE_RANK,
    Call,
    CallbackOffer,
    CallDelegate,
    CallParticipant,
    DelegationRead,
    Incident,
    MenuOption,
    ReceptionLine,
)
from calls.teams import Member
from comms_portal.graph import GraphError
from comms_portal.graph import calls as graph_calls
from comms_portal.graph.calls import CommsNotification
from comms_portal.graph.presence import get_presences_by_user_id
from comms_portal.redis_client import get_redis
from directory.models import Person
from presence.selectors import availability_since, longest_in, presence_states
from presence.services import keep_watched, presence_from_graph, record_presence

logger = logging.getLogger(__name__)

TONE_DIGITS = {f"tone{digit}": str(digit) for digit in range(10)}
# What the flow waits for, as the clientContext of the media operation it started.
MENU, OFFER, BYE, CLOSED = "menu", "offer", "bye", "closed"
# Rung at once when nobody is Available: everyone but Do not disturb and Offline.
RINGS_WHEN_NOT_FREE = frozenset({"AvailableIdle", "Busy", "BusyIdle", "Away", "BeRightBack"})
REDIRECT_RING_SECONDS = 30
OFFER_FIRST = "offer-first"
# New calls seen, by id: each is answered once, whatever the platform sends again.
INCOMING_SEEN_PREFIX = "portal:calls:incoming-seen:"
INCOMING_SEEN_SECONDS = 24 * 3600


def the_line() -> ReceptionLine:
    """Return the reception line, made with its defaults on first use."""
    line = ReceptionLine.objects.order_by("pk").first()
    return line if line is not None else ReceptionLine.objects.create()


def is_open(line: ReceptionLine, moment: datetime) -> bool:
    """Tell whether the line is open at ``moment`` (its own time zone)."""
    local = moment.astimezone(ZoneInfo(line.time_zone))
    opens, closes = line.opens_at, line.closes_at
    if isinstance(opens, str) or isinstance(closes, str):
        line.refresh_from_db()
        opens, closes = line.opens_at, line.closes_at
    if str(local.weekday()) not in line.open_days:
        return False
    # Opening and closing at the same time means open all day.
    return opens == closes or opens <= local.time() < closes


# --- the callback flow ------------------------------------------------------------------------


@dataclass
class Outcome:
    """What one notification did."""

    applied: bool
    reason: str = ""


def apply_notification(item: CommsNotification) -> Outcome:
    """Apply one callback notification to its call, and take the flow's next step."""
    if item.about == "call" and item.change_type == "created":
        data = graph_calls.call_of(item)
        if data.state == "incoming":
            # Not in one transaction: the answer goes out before any database work.
            return _on_incoming(item.call_id, data)
    with transaction.atomic():
        if item.about == "call":
            return _on_call(item)
        call = Call.objects.select_for_update().filter(graph_id=item.call_id).first()
        if call is None:
            return Outcome(False, f"notification about a call we do not hold: {item.call_id}")
        if item.about == "participants":
            _on_roster(call, graph_calls.participants_of(item))
            return Outcome(True)
        if item.about == "operation":
            return _on_operation(call, graph_calls.operation_of(item))
        return Outcome(False, f"notification about {item.resource_url[:80]!r} not handled")


def _on_call(item: CommsNotification) -> Outcome:
    data = graph_calls.call_of(item)
    call = Call.objects.select_for_update().filter(graph_id=item.call_id).first()
    if call is None:
        return Outcome(False, f"notification about a call we do not hold: {item.call_id}")
    if data.tone_info is not None:
        return _on_tone(call, data.tone_info.tone)
    state = data.state or ("terminated" if item.change_type == "deleted" else call.state)
    return _on_state(call, state, data.result_info)


def _caller_of(data: graph_calls.Call) -> tuple[str, str, Person | None]:
    identity = data.source.identity if data.source else None
    if identity is not None and identity.phone is not None and identity.phone.id:
        return identity.phone.id, identity.phone.id, None
    if identity is not None and identity.user is not None and identity.user.id:
        person = Person.objects.filter(graph_id=identity.user.id).first()
        label = person.display_name if person else (identity.user.display_name or "Teams user")
        return label, "", person
    return "Unknown caller", "", None


def line_now() -> tuple[ReceptionLine, list[MenuOption]]:
    """Return the line and its first two keys, as lately read (any change is seen at once)."""

    def read() -> tuple[ReceptionLine, list[MenuOption]]:
        line = the_line()
        return line, list(line.options.all()[:2])

    return teams.remembered("line", read)


def _on_incoming(call_id: str, data: graph_calls.Call) -> Outcome:
    # Seen once, in Redis: a caller waits in silence, and a database read before the answer
    # (a connection, a query) is the slowest part of it when the worker is busy.
    seen = INCOMING_SEEN_PREFIX + call_id
    if not get_redis().set(seen, b"1", nx=True, ex=INCOMING_SEEN_SECONDS):
        return Outcome(False, f"incoming call {call_id} seen already")
    try:
        return _take_incoming(call_id, data)
    except BaseException:
        # Not taken: its next try (a retry, the platform's again) must find it new.
        get_redis().delete(seen)
        raise


def _take_incoming(call_id: str, data: graph_calls.Call) -> Outcome:
    line, options = line_now()
    is_open_now = is_open(line, timezone.now())
    if is_open_now and len(options) == 1:
        # One team and no menu: ring it before answering (a redirect needs an unanswered call).
        with transaction.atomic():
            return _ring_one_team(call_id, data, options[0])
    # The caller hears nothing until the answer, so it goes first; the call is recorded
    # before its next callback is handled (they queue behind this one).
    _answer(call_id)
    with transaction.atomic():
        if Call.objects.filter(graph_id=call_id).exists():
            return Outcome(False, f"incoming call {call_id} seen already")
        call = _incoming_call(call_id, data)
        call.waiting_for = MENU if is_open_now else CLOSED
        call.routing = "Answering" if is_open_now else "Closed: answering to say so"
        call.save()
        steps.event(call, f"Incoming call from {call.caller_label}.")
        steps.publish(call)
    return Outcome(True)


def _incoming_call(call_id: str, data: graph_calls.Call) -> Call:
    label, phone, person = _caller_of(data)
    return Call(
        graph_id=call_id,
        purpose=Call.Purpose.RECEPTION,
        direction="incoming",
        state="incoming",
        caller_label=label,
        caller_phone=phone,
        caller_person=person,
    )


def _ring_one_team(call_id: str, data: graph_calls.Call, option: MenuOption) -> Outcome:
    if Call.objects.filter(graph_id=call_id).exists():
        return Outcome(False, f"incoming call {call_id} seen already")
    call = _incoming_call(call_id, data)
    call.option = option
    call.save()
    steps.event(call, f"Incoming call from {call.caller_label}.")
    if _ring_team(call, option):
        steps.publish(call)
        return Outcome(True)
    call.waiting_for = OFFER_FIRST
    call.routing = "Nobody can take it: answering to offer a call back"
    call.save(update_fields=["waiting_for", "routing", "updated_at"])
    _answer(call_id)
    steps.publish(call)
    return Outcome(True)


def _answer(call_id: str) -> None:
    # Within 15 seconds of the incoming notification, or the platform drops the call.
    graph_calls.answer(graph_for_bot(), call_id, callback_uri=steps.callback_uri())


def _ring_team(call: Call, option: MenuOption) -> bool:
    """Ring a one-team line's call before answering it; False when nobody can take it.

    The Available member free longest is rung alone; when nobody is Available, everyone who
    may pick up (not in Do not disturb, not Offline) is rung at once, up to 25.
    """
    pick = pick_from_team(option)
    free = pick.free
    targets: list[Member] = []
    if free is not None:
        targets = [free]
        call.routed_to_id = free.pk
        call.routing = f"Ringing {free.display_name} (Available longest)"
    else:
        targets = pick.may_pick_up
        if not targets:
            steps.event(call, f"Nobody of {option.label} can take a call.")
            return False
        call.routing = f"Ringing {len(targets)} of {option.label} at once"
    call.save(update_fields=["routed_to", "routing", "updated_at"])
    steps.event(call, call.routing + ".")
    graph_calls.redirect(
        graph_for_bot(),
        call.graph_id,
        targets=[graph_calls.identity("user", m.graph_id, m.display_name) for m in targets],
        timeout=REDIRECT_RING_SECONDS,
        callback_uri=steps.callback_uri(),
    )
    return True


def _on_state(call: Call, state: str, result: graph_calls.ResultInfo | None) -> Outcome:
    old = call.state
    failed_transfer = old in ("transferring", "transferAccepted") and state == "established"
    if STATE_RANK.get(state, 0) < STATE_RANK.get(old, 0) and not failed_transfer:
        # establishing and established may arrive out of order; never step back.
        return Outcome(True, f"state {state} after {old} ignored")
    if state == old and not failed_transfer:
        return Outcome(True)
    call.state = state
    if state == "terminated":
        call.ended_at = timezone.now()
        if result is not None:
            call.result_code = "" if result.code is None else str(result.code)
            call.result_subcode = "" if result.subcode is None else str(result.subcode)
            call.result_message = (result.message or "")[:256]
        if call.state == "terminated" and old == "redirecting":
            if call.result_code != "200":
                call.routing = "Nobody answered the ring"
            elif call.routed_to is not None:
                call.routing = f"Taken by {call.routed_to.display_name}"
            else:
                call.routing = "Taken by the team"
        if call.result_subcode == "7015":
            call.routing = (
                f"Transferred to {call.routed_to.display_name}" if call.routed_to else call.routing
            )
        CallParticipant.objects.filter(call=call).delete()
        steps.event(call, f"Ended: {call.result_message or 'terminated'}.")
    else:
        steps.event(call, f"State: {state}.")
    call.save()
    if call.purpose == Call.Purpose.INCIDENT:
        if state == "established" and old != "established":
            incidents.on_established(call)
        elif state == "terminated":
            incidents.on_ended(call)
    elif failed_transfer:
        steps.event(call, "The transfer did not go through.")
        _offer_call_back(call)
    elif state == "established" and old != "established" and call.purpose == Call.Purpose.RECEPTION:
        _greet(call)
    elif state == "established" and call.purpose == Call.Purpose.CALL_BACK:
        call.routing = "Call-back connected"
        call.save(update_fields=["routing", "updated_at"])
    steps.publish(call)
    return Outcome(True)


def _greet(call: Call) -> None:
    if call.waiting_for == OFFER_FIRST:
        client = graph_for_bot()
        graph_calls.subscribe_to_tone(client, call.graph_id, client_context="tones")
        _offer_call_back(call)
        return
    if call.waiting_for == CLOSED:
        call.routing = "Closed"
        steps.play(call, "closed", BYE)
        return
    call.routing = "Menu"
    call.save(update_fields=["routing", "updated_at"])
    client = graph_for_bot()
    graph_calls.subscribe_to_tone(client, call.graph_id, client_context="tones")
    steps.play(call, selectors.greeting_slots(), MENU)


def _on_tone(call: Call, tone: str) -> Outcome:
    digit = TONE_DIGITS.get(tone)
    if call.state != "established" or digit is None:
        return Outcome(True, "tone ignored")
    if call.purpose == Call.Purpose.INCIDENT:
        incidents.on_tone(call, digit)
    elif call.waiting_for == MENU:
        option = MenuOption.objects.filter(line=the_line(), digit=digit).first()
        if option is None:
            steps.event(call, f"Key {digit} leads nowhere.")
            return Outcome(True)
        call.option = option
        call.save(update_fields=["option", "updated_at"])
        steps.event(call, f"Chose {option.label}.")
        route(call)
    elif call.waiting_for == OFFER:
        if digit == "1" and call.caller_phone:
            CallbackOffer.objects.create(option=call.option, caller_phone=call.caller_phone)
            call.routing = "Call back requested"
            steps.event(call, "The caller asked to be called back.")
            steps.play(call, "callback", BYE)
        else:
            call.routing = "Declined a call back"
            steps.play(call, "goodbye", BYE)
    steps.publish(call)
    return Outcome(True)


def _on_operation(call: Call, operation: graph_calls.Operation) -> Outcome:
    if operation.status not in ("completed", "failed"):
        return Outcome(True)
    if operation.status == "failed":
        steps.note_unplayed(call, operation)
    if operation.client_context == BYE and call.waiting_for == BYE and call.state != "terminated":
        call.waiting_for = ""
        call.save(update_fields=["waiting_for", "updated_at"])
        graph_calls.hang_up(graph_for_bot(), call.graph_id)
    return Outcome(True)


def _on_roster(call: Call, participants: list[graph_calls.Participant]) -> None:
    seen = set()
    for participant in participants:
        identity = participant.info.identity if participant.info else None
        person = None
        label = "Unknown"
        is_bot = False
        if identity is not None:
            if identity.user is not None and identity.user.id:
                person = Person.objects.filter(graph_id=identity.user.id).first()
                label = person.display_name if person else (identity.user.display_name or "User")
            elif identity.phone is not None and identity.phone.id:
                label = identity.phone.id
            elif identity.application is not None or identity.application_instance is not None:
                label, is_bot = "Reception bot", True
        CallParticipant.objects.update_or_create(
            call=call,
            graph_id=participant.id,
            defaults={
                "label": label[:256],
                "person": person,
                "is_bot": is_bot,
                "is_muted": participant.is_muted,
            },
        )
        seen.add(participant.id)
    CallParticipant.objects.filter(call=call).exclude(graph_id__in=seen).delete()
    steps.publish(call)


# --- routing by presence ------------------------------------------------------------------------


def members_of(option: MenuOption) -> list[Person]:
    """Return the people a menu key leads to."""
    if option.kind == MenuOption.Kind.DEPARTMENT:
        return list(Person.objects.visible().in_department(option.department))
    if option.kind == MenuOption.Kind.PERSON:
        return [option.person] if option.person else []
    return list(option.members.all())


class _Named(Protocol):
    @property
    def graph_id(self) -> str: ...

    @property
    def display_name(self) -> str: ...


NamedT = TypeVar("NamedT", bound=_Named)


def team_of(option: MenuOption) -> list[Member]:
    """Return the members a menu key leads to, as routing needs them."""
    return teams.members(option)


def watch_routing_people() -> int:
    """Keep everyone the menu may route to, and their call delegates, watched by the presence
    engine, so routing reads a current store rather than what it last held; return how many.

    Run well within PRESENCE_WATCH_SECONDS (the beat does), as an open page would.
    """
    ids = {
        member.graph_id
        for option in MenuOption.objects.all()
        for member in team_of(option)
        if member.graph_id
    }
    ids.update(
        CallDelegate.objects.filter(receives_calls=True, delegator__graph_id__in=ids)
        .values_list("delegate__graph_id", flat=True)
        .distinct()
    )
    people = sorted(graph_id for graph_id in ids if graph_id)
    keep_watched(people)
    return len(people)


def stored_presence(graph_ids: list[str]) -> dict[str, tuple[str, float]]:
    """Return availability and since when, by Graph id, from the portal's presence store.

    The presence engine keeps the store current, so a decision costs one Redis read for the
    whole team; only people the store does not hold yet are read from Graph (and stored).
    """
    presence = availability_since(graph_ids)
    missing = [graph_id for graph_id in graph_ids if graph_id not in presence]
    if missing:
        presence.update(_read_presence(missing))
    return presence


def fresh_presence(people: list[Person]) -> dict[str, tuple[str, float]]:
    """Read these people's presence now; return availability and since when, by Graph id."""
    return _read_presence([person.graph_id for person in people])


def _read_presence(ids: list[str]) -> dict[str, tuple[str, float]]:
    if not ids:
        return {}
    observed = time.time()
    read = get_presences_by_user_id(graph_for_bot(), ids)
    record_presence([presence_from_graph(p, source="poll", observed_at=observed) for p in read])
    stored = presence_states(ids)
    return {
        graph_id: (state.availability, state.changed_at or observed)
        for graph_id, state in stored.items()
    }


def free_longest(people: Sequence[NamedT], presence: dict[str, tuple[str, float]]) -> NamedT | None:
    """Return the Available person who has been Available longest."""
    available = [p for p in people if presence.get(p.graph_id, ("", 0.0))[0] == "Available"]
    if not available:
        return None
    return min(available, key=lambda p: (presence[p.graph_id][1], p.display_name))


@dataclass(frozen=True)
class TeamPick:
    """Whom a key's team call goes to, by stored presence."""

    # The Available member free longest, if anyone is Available.
    free: Member | None
    # When nobody is: everyone who may pick up (not Do not disturb, not Offline), at most 25.
    may_pick_up: list[Member]


def pick_from_team(option: MenuOption) -> TeamPick:
    """Decide whom a key's team call goes to, from the presence store.

    The store decides in one round trip, whatever the team's size; a team with someone it
    holds no presence for is decided member by member, those read from Graph first.
    """
    team = teams.routing_team(option)
    if team.group is not None:
        found = longest_in(
            team.group,
            "Available",
            fallback=RINGS_WHEN_NOT_FREE,
            at_most=graph_calls.MAX_REDIRECT_TARGETS,
        )
        if not found.lacking:
            if found.longest:
                # Free since the same moment: by name, as free_longest breaks ties.
                tied = [team.members[at] for at in found.longest]
                return TeamPick(free=min(tied, key=lambda m: m.display_name), may_pick_up=[])
            return TeamPick(free=None, may_pick_up=[team.members[at] for at in found.others])
    members = team.members
    presence = stored_presence([member.graph_id for member in members])
    free = free_longest(members, presence)
    if free is not None:
        return TeamPick(free=free, may_pick_up=[])
    may_pick_up = [
        m for m in members if presence.get(m.graph_id, ("", 0.0))[0] in RINGS_WHEN_NOT_FREE
    ]
    return TeamPick(free=None, may_pick_up=may_pick_up[: graph_calls.MAX_REDIRECT_TARGETS])


def choose_free_longest(option: MenuOption) -> Member | None:
    """Return the member of a key's team who has been Available longest, by stored presence."""
    return pick_from_team(option).free


def route(call: Call) -> None:
    """Route a reception call to its chosen team by presence."""
    option = call.option
    if option is None:
        return
    chosen: Member | Person | None = choose_free_longest(option)
    if chosen is None and option.kind == MenuOption.Kind.PERSON and option.person is not None:
        person = option.person
        availability = stored_presence([person.graph_id]).get(person.graph_id, ("Offline", 0.0))[0]
        if availability in ("Busy", "DoNotDisturb"):
            delegates = delegates_receiving_calls(person)
            chosen = free_longest(
                delegates, stored_presence([delegate.graph_id for delegate in delegates])
            )
            if chosen is not None:
                steps.event(call, f"{person.display_name} is {availability}; trying a delegate.")
    if chosen is None:
        steps.event(call, f"Nobody of {option.label} is Available.")
        _offer_call_back(call)
        return
    call.routed_to_id = chosen.pk
    call.routing = f"Transferring to {chosen.display_name}"
    call.save(update_fields=["routed_to", "routing", "updated_at"])
    steps.event(call, f"Transferring to {chosen.display_name} (Available longest).")
    graph_calls.transfer(
        graph_for_bot(),
        call.graph_id,
        target=graph_calls.identity("user", chosen.graph_id, chosen.display_name),
    )


def _offer_call_back(call: Call) -> None:
    call.routing = "Offering a call back"
    call.save(update_fields=["routing", "updated_at"])
    steps.play(call, "offer", OFFER)


def delegates_receiving_calls(person: Person) -> list[Person]:
    """Return the delegates a person lets take their calls, as last read from Graph."""
    ids = CallDelegate.objects.filter(delegator=person, receives_calls=True).values_list(
        "delegate_id", flat=True
    )
    return list(Person.objects.filter(pk__in=list(ids)))


# --- incident call-out -------------------------------------------------------------------------


def start_call_out(
    *,
    title: str,
    message: str,
    people: list[Person],
    created_by: str,
    organizer_id: str = "",
    join_url: str = "",
    call_offline: bool = False,
    team_label: str = "",
) -> Incident:
    """Create the incident meeting (unless given one), join it, and call the people in order."""
    return incidents.start_incident(
        title=title,
        message=message,
        people=people,
        created_by=created_by,
        presence=fresh_presence(people),
        organizer_id=organizer_id,
        join_url=join_url,
        call_offline=call_offline,
        team_label=team_label,
    )


@dataclass(frozen=True)
class PreviewRow:
    """One person of a call-out's preview: the plan, and their stored presence to show."""

    planned: incidents.PlannedCall
    # The stored presence (presence's own type), shown with its template filters.
    presence: Any


def preview_call_out(*, people: list[Person], call_offline: bool) -> list[PreviewRow]:
    """Read the people's presence now and return the order a call-out would call them in."""
    presence = fresh_presence(people)
    stored = presence_states([p.graph_id for p in people])
    return [
        PreviewRow(planned=planned, presence=stored.get(planned.person.graph_id))
        for planned in incidents.plan(people, presence, call_offline=call_offline)
    ]


# --- call delegation ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Delegation:
    """Whom a person lets take their calls, and whose calls they may take."""

    delegates: list[tuple[Person, bool]]  # (person, receives calls)
    delegators: list[Person]


def refresh_delegation(*, user_id: int, person: Person) -> Delegation:
    """Read a person's delegates and delegators from Graph (beta) with their own token."""
    client = graph_for_user(user_id, FEATURE_SCOPES["calldelegation"])
    beta = settings.GRAPH_BETA_BASE_URL
    delegates = graph_calls.list_delegation(client, beta, person.graph_id, "delegates")
    delegators = graph_calls.list_delegation(client, beta, person.graph_id, "delegators")
    found = Person.objects.in_bulk(
        [one.id for one in [*delegates, *delegators]], field_name="graph_id"
    )
    with transaction.atomic():
        CallDelegate.objects.filter(delegator=person).delete()
        for one in delegates:
            if one.id in found and one.is_active:
                CallDelegate.objects.create(
                    delegator=person,
                    delegate=found[one.id],
                    receives_calls=one.receives_calls,
                    makes_calls=bool(one.allowed_actions.get("makeCalls")),
                )
        CallDelegate.objects.filter(delegate=person).delete()
        for one in delegators:
            if one.id in found and one.is_active:
                CallDelegate.objects.update_or_create(
                    delegator=found[one.id],
                    delegate=person,
                    defaults={
                        "receives_calls": one.receives_calls,
                        "makes_calls": bool(one.allowed_actions.get("makeCalls")),
                    },
                )
        read_at = timezone.now()
        DelegationRead.objects.update_or_create(
            person=person, defaults={"read_at": read_at, "tried_at": read_at, "error": ""}
        )
    return delegation_of(person)


def delegation_of(person: Person) -> Delegation:
    """Return a person's delegation as last read."""
    rows = CallDelegate.objects.select_related("delegate", "delegator")
    return Delegation(
        delegates=[(row.delegate, row.receives_calls) for row in rows.filter(delegator=person)],
        delegators=[row.delegator for row in rows.filter(delegate=person)],
    )


# --- call-backs -----------------------------------------------------------------------------


def place_call_backs() -> int:
    """Call back waiting callers whose team has someone Available now; return how many."""
    placed = 0
    for offer in CallbackOffer.objects.filter(state=CallbackOffer.State.WAITING).select_related(
        "option"
    ):
        if offer.option is None:
            offer.state = CallbackOffer.State.DONE
            offer.save(update_fields=["state"])
            continue
        members = members_of(offer.option)
        chosen = free_longest(members, fresh_presence(members))
        if chosen is None:
            continue
        created = graph_calls.create_call(
            graph_for_bot(),
            callback_uri=steps.callback_uri(),
            targets=[
                graph_calls.identity("user", chosen.graph_id, chosen.display_name),
                graph_calls.identity("phone", offer.caller_phone),
            ],
            source_instance_id=settings.CALLS_RECEPTION_INSTANCE_ID or None,
            subject=f"Call back: {offer.option.label}",
        )
        with transaction.atomic():
            call = Call.objects.create(
                graph_id=created.id or "",
                purpose=Call.Purpose.CALL_BACK,
                direction="outgoing",
                state=created.state or "establishing",
                caller_label=offer.caller_phone,
                caller_phone=offer.caller_phone,
                option=offer.option,
                routed_to=chosen,
                routing=f"Calling back with {chosen.display_name}",
            )
            steps.event(call, f"Call back placed: {chosen.display_name} and {offer.caller_phone}.")
            offer.state = CallbackOffer.State.CALLING
            offer.call_graph_id = call.graph_id
            offer.save(update_fields=["state", "call_graph_id"])
            steps.publish(call)
        placed += 1
    return placed


# --- the board's controls ---------------------------------------------------------------------


class ControlRefused(Exception):
    """The platform refused a control; the message says why, in words for the page."""


def _control(action: str, send: Any) -> None:
    try:
        send()
    except GraphError as error:
        raise ControlRefused(f"{action} was refused: {error.message}") from error


def hang_up(*, call: Call) -> None:
    """Hang up the bot's leg of a call."""
    _control("Hanging up", lambda: graph_calls.hang_up(graph_for_bot(), call.graph_id))
    steps.event(call, "Hung up from the board.")


def mute(*, call: Call, participant: CallParticipant) -> None:
    """Mute a participant."""
    _control(
        "Muting",
        lambda: graph_calls.mute(
            graph_for_bot(), call.graph_id, participant.graph_id, client_context="board-mute"
        ),
    )
    steps.event(call, f"Muted {participant.label} from the board.")


def remove(*, call: Call, participant: CallParticipant) -> None:
    """Remove a participant (where the tenant allows it)."""
    _control(
        "Removing",
        lambda: graph_calls.remove_participant(
            graph_for_bot(), call.graph_id, participant.graph_id
        ),
    )
    steps.event(call, f"Removed {participant.label} from the board.")


def invite(*, call: Call, people: list[Person]) -> None:
    """Invite people into a call."""
    targets = [graph_calls.identity("user", p.graph_id, p.display_name) for p in people]
    _control(
        "Inviting",
        lambda: graph_calls.invite(
            graph_for_bot(), call.graph_id, participants=targets, client_context="board-invite"
        ),
    )
    steps.event(call, "Invited " + ", ".join(p.display_name for p in people) + " from the board.")


def keep_calls_alive() -> int:
    """Send keepAlive for every live call (Graph ends calls without one for 45 minutes)."""
    kept = 0
    for graph_id in Call.objects.live().values_list("graph_id", flat=True):
        try:
            graph_calls.keep_alive(graph_for_bot(), graph_id)
            kept += 1
        except GraphError as error:
            logger.warning("keepAlive for call %s refused: %s", graph_id, error)
    return kept
