"""Reads behind the people pages: one page of the wall, one person, and their presence."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from typing import Any

from django.db.models import Count, Exists, F, OuterRef, Q, Window

from accounts.models import User
from directory.models import Person, PersonQuerySet
from directory.selectors import search_people, search_ranking
from presence import store
from presence.display import activity_label
from presence.models import AvailabilityAlert, Favourite
from presence.store import PresenceState

PAGE_SIZE = 60
VIEWS = ("all", "favourites", "team")

# "Available first" sorts by how reachable someone is right now.
_AVAILABILITY_RANK = {
    "Available": 0,
    "AvailableIdle": 1,
    "BeRightBack": 2,
    "Away": 3,
    "Busy": 4,
    "BusyIdle": 4,
    "DoNotDisturb": 5,
    "Offline": 6,
    "PresenceUnknown": 7,
}
_UNKNOWN_RANK = 7


@dataclass(frozen=True)
class WallQuery:
    """What a person asked the wall to show."""

    text: str = ""
    department: str = ""
    available_only: bool = False
    view: str = "all"
    # "available" (an address of the older wall) sorts by availability for this page only;
    # otherwise the person's remembered display decides.
    order: str = ""
    page: int = 1


@dataclass(frozen=True)
class WallDisplay:
    """How the wall is shown: cards or list, sort order and direction, grouping."""

    layout: str = "cards"
    sort: str = "name"
    descending: bool = False
    group: str = "none"


@dataclass(frozen=True)
class PersonCard:
    """One person on the wall, with their presence and the viewer's marks on them."""

    person: Person
    presence: PresenceState | None
    is_favourite: bool
    alert_waiting: bool
    # The heading of the person's group when the wall is grouped ("" otherwise), and
    # whether the person is the first of that group (the heading goes before them).
    group: str = ""
    group_start: bool = False


@dataclass(frozen=True)
class WallPage:
    """One page of cards, whether more follow, and how many people match in all."""

    cards: list[PersonCard]
    page: int
    has_next: bool
    count: int = 0
    # The search matched no one exactly; these people match it allowing typos.
    close: bool = False


@dataclass(frozen=True)
class PersonDetail:
    """Everything the person page shows."""

    card: PersonCard
    manager: PersonCard | None
    reports: list[PersonCard]


def own_person(user: User) -> Person | None:
    """Return the directory entry of a signed-in person, if the directory has them."""
    if not user.object_id:
        return None
    return Person.objects.with_graph_id(user.object_id).first()


def _marked(people: PersonQuerySet, user: User) -> PersonQuerySet:
    return people.annotate(
        is_favourite=Exists(Favourite.objects.filter(user=user, person=OuterRef("pk"))),
        alert_waiting=Exists(
            AvailabilityAlert.objects.filter(
                user=user, person=OuterRef("pk"), fired_at__isnull=True
            )
        ),
    )


def _filtered(user: User, query: WallQuery) -> PersonQuerySet:
    people = Person.objects.visible()
    if query.department:
        people = people.in_department(query.department)
    if query.view == "favourites":
        people = people.filter(
            pk__in=Favourite.objects.filter(user=user).values("person_id"),
        )
    elif query.view == "team":
        me = own_person(user)
        if me is None:
            return people.none()
        people = people.filter(Q(pk=me.manager_id) | Q(manager_id=me.pk))
    return people


_NO_GROUP = {"department": "No department", "manager": "No manager"}


def _group_of(person: Person, group: str) -> str:
    if group == "department":
        return person.department or _NO_GROUP[group]
    if group == "manager":
        manager = getattr(person, "manager_name", None)
        return f"Team of {manager}" if manager else _NO_GROUP[group]
    return ""


def _cards(people: list[Person], group: str = "none", previous: str = "") -> list[PersonCard]:
    """Return the cards of ``people``; ``previous`` is the group of whoever came before them."""
    states = store.get_many(person.graph_id for person in people)
    cards = []
    for person in people:
        heading = _group_of(person, group)
        cards.append(
            PersonCard(
                person=person,
                presence=states.get(person.graph_id),
                is_favourite=bool(getattr(person, "is_favourite", False)),
                alert_waiting=bool(getattr(person, "alert_waiting", False)),
                group=heading,
                group_start=bool(heading) and heading != previous,
            )
        )
        previous = heading
    return cards


def effective_display(query: WallQuery, shown: WallDisplay) -> WallDisplay:
    """Return how the wall is shown for ``query``: an older address's order wins for its page."""
    if query.order == "available":
        return replace(shown, sort="availability", descending=False)
    if query.order == "name":
        return replace(shown, sort="name", descending=False)
    return shown


def wall_page(user: User, query: WallQuery, shown: WallDisplay | None = None) -> WallPage:
    """Return one page of the wall for ``user``, matching ``query``, shown as ``shown`` asks.

    Without search text favourites come first; with it, sorting by name lists the best
    matches first (the search's own order).
    """
    shown = effective_display(query, shown or WallDisplay())
    people = _marked(_filtered(user, query), user)
    start = (query.page - 1) * PAGE_SIZE
    plain = not query.available_only and shown.group == "none" and shown.sort == "name"
    if plain and not shown.descending and query.text:
        found = search_people(text=query.text, limit=PAGE_SIZE, offset=start, people=people)
        return WallPage(
            cards=_cards(found.people),
            page=query.page,
            has_next=found.count > start + PAGE_SIZE,
            count=found.count,
            close=found.close,
        )
    if plain and not query.text:
        name = "-display_name" if shown.descending else "display_name"
        chosen = list(
            people.annotate(total=Window(Count("pk"))).order_by("-is_favourite", name, "pk")[
                start : start + PAGE_SIZE
            ]
        )
        count = int(getattr(chosen[0], "total", 0)) if chosen else _count_past_end(people, start)
        return WallPage(
            cards=_cards(chosen), page=query.page, has_next=count > start + PAGE_SIZE, count=count
        )
    return _sorted_page(people, query, shown)


def _count_past_end(people: PersonQuerySet, start: int) -> int:
    # Only a page past the last person gets here: the first page of no one costs nothing.
    return people.count() if start else 0


_ROW_FIELDS = ("pk", "graph_id", "is_favourite", "display_name", "department", "job_title")


def _sorted_page(people: PersonQuerySet, query: WallQuery, shown: WallDisplay) -> WallPage:
    # Presence lives in Redis, so sorting by it (or grouping, or "available now") reads the
    # rows of every match (one query, one MGET) and loads full people only for the page.
    close = False
    position: dict[int, int] = {}
    if query.text:
        ranked, close = search_ranking(text=query.text, people=people)
        position = {pk: index for index, pk in enumerate(ranked)}
        people = people.filter(pk__in=ranked)
    rows = list(
        people.annotate(manager_name=F("manager__display_name")).values_list(
            *_ROW_FIELDS, "manager_name"
        )
    )
    needs_states = shown.sort in ("since", "activity")
    ids = [row[1] for row in rows]
    states = store.get_many(ids) if needs_states else {}
    availability = (
        {pid: state.availability for pid, state in states.items()}
        if needs_states
        else store.availabilities(ids)
    )

    def rank(graph_id: str) -> int:
        return _AVAILABILITY_RANK.get(availability.get(graph_id, ""), _UNKNOWN_RANK)

    if query.available_only:
        rows = [row for row in rows if rank(row[1]) == 0]
    rows.sort(key=lambda row: (position.get(row[0], 0), row[3].casefold(), row[0]))
    rows = _sort_rows(rows, _sort_key(shown.sort, rank, states), descending=shown.descending)
    group_at = 4 if shown.group == "department" else 6
    if shown.group != "none":
        # Stable: within a group the chosen order stays; people without one come last.
        rows.sort(key=lambda row: (not row[group_at], (row[group_at] or "").casefold()))
    elif not query.text:
        rows.sort(key=lambda row: not row[2])
    start = (query.page - 1) * PAGE_SIZE
    window = rows[start : start + PAGE_SIZE]
    before = rows[start - 1] if 0 < start <= len(rows) else None
    marked = people.annotate(manager_name=F("manager__display_name"))
    by_pk = marked.in_bulk([row[0] for row in window])
    chosen = [by_pk[row[0]] for row in window if row[0] in by_pk]
    return WallPage(
        cards=_cards(chosen, shown.group, _row_group(before, shown.group, group_at)),
        page=query.page,
        has_next=len(rows) > start + PAGE_SIZE,
        count=len(rows),
        close=close,
    )


def _row_group(row: tuple[Any, ...] | None, group: str, at: int) -> str:
    if row is None or group == "none":
        return ""
    if group == "department":
        return str(row[at]) or _NO_GROUP[group]
    return f"Team of {row[at]}" if row[at] else _NO_GROUP[group]


def _sort_key(
    sort: str, rank: Callable[[str], int], states: dict[str, PresenceState]
) -> Callable[[tuple[Any, ...]], Any]:
    """Return the key of one sort over wall rows; a row without the value gives None."""
    if sort == "availability":
        return lambda row: None if rank(row[1]) == _UNKNOWN_RANK else rank(row[1])
    if sort == "since":
        return lambda row: getattr(states.get(row[1]), "changed_at", None) or None
    if sort == "activity":

        def activity(row: tuple[Any, ...]) -> str | None:
            state = states.get(row[1])
            words = activity_label(state.availability, state.activity) if state else ""
            return words.casefold() or None

        return activity
    if sort in ("department", "job_title"):
        at = 4 if sort == "department" else 5
        return lambda row: row[at].casefold() or None
    return lambda row: row[3].casefold()


def _sort_rows(
    rows: list[tuple[Any, ...]], key: Callable[[tuple[Any, ...]], Any], *, descending: bool
) -> list[tuple[Any, ...]]:
    """Sort ``rows`` stably by ``key``; rows without a value come last in either direction."""
    keyed = [(key(row), row) for row in rows]
    present = [pair for pair in keyed if pair[0] is not None]
    present.sort(key=lambda pair: pair[0], reverse=descending)
    return [row for _, row in present] + [row for value, row in keyed if value is None]


def person_detail(user: User, graph_id: str) -> PersonDetail | None:
    """Return a visible person with their manager and reports, or None."""
    marked = _marked(Person.objects.visible(), user)
    person = marked.with_graph_id(graph_id).first()
    if person is None:
        return None
    manager = marked.manager_of(person).first()
    reports = list(marked.reports_of(person).order_by("display_name"))
    everyone = [person, *([manager] if manager else []), *reports]
    cards = {card.person.pk: card for card in _cards(everyone)}
    return PersonDetail(
        card=cards[person.pk],
        manager=cards[manager.pk] if manager else None,
        reports=[cards[report.pk] for report in reports],
    )


def visible_graph_ids(candidates: list[str]) -> list[str]:
    """Return those of ``candidates`` who are people on the wall."""
    found = set(
        Person.objects.visible().filter(graph_id__in=candidates).values_list("graph_id", flat=True)
    )
    return [graph_id for graph_id in candidates if graph_id in found]


# Alerts the header's inbox keeps showing after they fired.
INBOX_SIZE = 10


@dataclass(frozen=True)
class AlertsInbox:
    """A person's alerts: the last that fired (newest first) and those still waiting."""

    fired: list[AvailabilityAlert]
    waiting: list[AvailabilityAlert]


def alerts_inbox(user: User) -> AlertsInbox:
    """Return the last alerts that fired for ``user`` and the ones still waiting."""
    mine = AvailabilityAlert.objects.filter(
        user=user, person__in=Person.objects.visible()
    ).select_related("person")
    return AlertsInbox(
        fired=list(mine.filter(fired_at__isnull=False).order_by("-fired_at", "-pk")[:INBOX_SIZE]),
        waiting=list(mine.filter(fired_at__isnull=True).order_by("person__display_name")),
    )


def presence_states(person_ids: list[str]) -> dict[str, store.PresenceState]:
    """Return the stored presence of these people (other apps' face to the store)."""
    return store.get_many(person_ids)


def availability_since(person_ids: list[str]) -> dict[str, tuple[str, float]]:
    """Return the stored availability and since when (epoch seconds) of these people."""
    return store.availabilities_since(person_ids)


# People prepared for repeated decisions over them (see presence_group).
PresenceGroup = store.Group


def presence_group(person_ids: list[str]) -> PresenceGroup:
    """Prepare people for repeated decisions over the group (Graph ids, in decision order)."""
    return store.Group.of(person_ids)


def longest_in(
    group: PresenceGroup, availability: str, *, fallback: Iterable[str] = (), at_most: int = 0
) -> store.LongestIn:
    """Return who of a group has been in ``availability`` longest, else who is in a
    ``fallback`` one (at most ``at_most``), from the store in one round trip."""
    return store.longest_in(group, availability, fallback=fallback, at_most=at_most)


@dataclass(frozen=True)
class Followed:
    """Whom a person follows on their live pages: favourites and people they wait for."""

    announce: bool
    favourites: dict[str, str]
    waiting: dict[str, str]

    def as_json(self) -> dict[str, dict[str, str]]:
        """Return the ids and names the page's script reads."""
        return {"favourites": self.favourites, "waiting": self.waiting}


def followed_people(user: User, *, announce: bool) -> Followed:
    """Return ``user``'s visible favourites and the people they wait for, by id with names."""
    rows = (
        Person.objects.visible()
        .annotate(
            favourite=Exists(Favourite.objects.filter(user=user, person=OuterRef("pk"))),
            waited_for=Exists(
                AvailabilityAlert.objects.filter(
                    user=user, person=OuterRef("pk"), fired_at__isnull=True
                )
            ),
        )
        .filter(Q(favourite=True) | Q(waited_for=True))
        .values_list("graph_id", "display_name", "favourite", "waited_for")
    )
    favourites: dict[str, str] = {}
    waiting: dict[str, str] = {}
    for graph_id, name, favourite, waited_for in rows:
        if favourite:
            favourites[graph_id] = name
        if waited_for:
            waiting[graph_id] = name
    return Followed(announce=announce, favourites=favourites, waiting=waiting)
