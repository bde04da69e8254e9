"""Reads of the directory: one visible person, and the people search."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count, Window

from directory import search
from directory.models import Person, PersonQuerySet, search_words

SEARCH_FIELDS = (
    "graph_id",
    "display_name",
    "user_principal_name",
    "mail",
    "job_title",
    "department",
)


@dataclass(frozen=True)
class PeopleFound:
    """The best matches of a search, how many people match in all, and whether only closely."""

    people: list[Person]
    count: int
    # No one matched every word exactly; these people match allowing a typo per word.
    close: bool = False


def departments() -> list[str]:
    """Return the departments of the people shown in the directory, by name."""
    names = (
        Person.objects.visible()
        .exclude(department="")
        .order_by("department")
        .values_list("department", flat=True)
        .distinct()
    )
    return list(names)


def visible_person(graph_id: str) -> Person | None:
    """Return the person with this Entra object id, if colleagues may see them."""
    return Person.objects.visible().with_graph_id(graph_id).first()


def search_people(
    *, text: str, limit: int, offset: int = 0, people: PersonQuerySet | None = None
) -> PeopleFound:
    """Return ``limit`` visible people matching ``text`` from ``offset``, best first, and the total.

    ``people`` narrows the search (the wall's filters) and may carry annotations; it is
    the visible directory when not given. The picker and the wall both search through here.
    """
    if not search_words(text) or limit < 1:
        return PeopleFound(people=[], count=0)
    base = Person.objects.visible() if people is None else people
    # One query: the total comes from a window over every match, computed before the LIMIT.
    found = list(
        search.exact(base, text)
        .annotate(matches=Window(Count("pk")))
        .only(*SEARCH_FIELDS)[offset : offset + limit]
    )
    if found:
        return PeopleFound(people=found, count=int(getattr(found[0], "matches", len(found))))
    # Past the last exact match the page is empty, but the total is still the exact one.
    exact_total = search.exact(base, text).count() if offset else 0
    if exact_total:
        return PeopleFound(people=[], count=exact_total)
    close = search.close_matches(base, text)
    window = close[offset : offset + limit]
    by_pk = base.only(*SEARCH_FIELDS).in_bulk(window)
    return PeopleFound(
        people=[by_pk[pk] for pk in window if pk in by_pk], count=len(close), close=bool(close)
    )


def search_ranking(*, text: str, people: PersonQuerySet | None = None) -> tuple[list[int], bool]:
    """Return the ids of every visible person matching ``text``, best first, and if only closely.

    For orders the database cannot give (presence lives in Redis): the same matches as
    :func:`search_people`, without loading the people.
    """
    if not search_words(text):
        return [], False
    base = Person.objects.visible() if people is None else people
    ranked = list(search.exact(base, text).values_list("pk", flat=True))
    if ranked:
        return ranked, False
    close = search.close_matches(base, text)
    return close, bool(close)
