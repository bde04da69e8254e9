"""Reads of the directory: one visible person, and the people search."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count, Window

from directory.models import Person, search_words

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
    """The best matches of a search, and how many people match in all."""

    people: list[Person]
    count: int


def visible_person(graph_id: str) -> Person | None:
    """Return the person with this Entra object id, if colleagues may see them."""
    return Person.objects.visible().with_graph_id(graph_id).first()


def search_people(*, text: str, limit: int) -> PeopleFound:
    """Return the first ``limit`` visible people matching ``text``, best first, and the total."""
    if not search_words(text) or limit < 1:
        return PeopleFound(people=[], count=0)
    # One query: the total comes from a window over every match, computed before the LIMIT.
    found = list(
        Person.objects.visible()
        .search(text)
        .only(*SEARCH_FIELDS)
        .annotate(matches=Window(Count("pk")))[:limit]
    )
    count = int(getattr(found[0], "matches", len(found))) if found else 0
    return PeopleFound(people=found, count=count)
