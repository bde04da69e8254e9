"""Reads behind the people pages: one page of the wall, one person, and their presence."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Exists, OuterRef, Q

from accounts.models import User
from directory.models import Person, PersonQuerySet
from presence import store
from presence.models import AvailabilityAlert, Favourite
from presence.store import PresenceState

PAGE_SIZE = 60
VIEWS = ("all", "favourites", "team")
ORDERS = ("name", "available")

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
    order: str = "name"
    page: int = 1


@dataclass(frozen=True)
class PersonCard:
    """One person on the wall, with their presence and the viewer's marks on them."""

    person: Person
    presence: PresenceState | None
    is_favourite: bool
    alert_waiting: bool


@dataclass(frozen=True)
class WallPage:
    """One page of cards and whether more follow."""

    cards: list[PersonCard]
    page: int
    has_next: bool


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
    if query.text:
        people = people.matching(query.text)
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


def _cards(people: list[Person]) -> list[PersonCard]:
    states = store.get_many(person.graph_id for person in people)
    return [
        PersonCard(
            person=person,
            presence=states.get(person.graph_id),
            is_favourite=bool(getattr(person, "is_favourite", False)),
            alert_waiting=bool(getattr(person, "alert_waiting", False)),
        )
        for person in people
    ]


def departments() -> list[str]:
    """Return the departments of everyone on the wall, for the filter."""
    names = (
        Person.objects.visible()
        .exclude(department="")
        .order_by("department")
        .values_list("department", flat=True)
        .distinct()
    )
    return list(names)


def wall_page(user: User, query: WallQuery) -> WallPage:
    """Return one page of the wall for ``user``: favourites first, then the chosen order."""
    people = _marked(_filtered(user, query), user).order_by("-is_favourite", "display_name", "pk")
    start = (query.page - 1) * PAGE_SIZE
    if not query.available_only and query.order == "name":
        chosen = list(people[start : start + PAGE_SIZE + 1])
        has_next = len(chosen) > PAGE_SIZE
        return WallPage(cards=_cards(chosen[:PAGE_SIZE]), page=query.page, has_next=has_next)

    # Presence lives in Redis, so filtering or sorting by it reads the ids of every match
    # (one query, one MGET) and loads full rows only for the page shown.
    # "is_favourite" is the annotation of _marked, which the type stubs cannot follow.
    rows = list(people.values_list("pk", "graph_id", "is_favourite"))  # type: ignore[misc]
    availability = store.availabilities(graph_id for _, graph_id, _ in rows)

    def rank(graph_id: str) -> int:
        return _AVAILABILITY_RANK.get(availability.get(graph_id, ""), _UNKNOWN_RANK)

    if query.available_only:
        rows = [row for row in rows if rank(row[1]) == 0]
    if query.order == "available":
        # Stable sort: within a rank the name order from the database stays.
        rows.sort(key=lambda row: (not row[2], rank(row[1])))
    window = rows[start : start + PAGE_SIZE]
    by_pk = _marked(Person.objects.filter(pk__in=[pk for pk, _, _ in window]), user).in_bulk()
    chosen_people = [by_pk[pk] for pk, _, _ in window if pk in by_pk]
    return WallPage(
        cards=_cards(chosen_people), page=query.page, has_next=len(rows) > start + PAGE_SIZE
    )


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
