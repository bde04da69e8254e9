"""Reads of the directory: one person, their manager and reports."""

from __future__ import annotations

from directory.models import Person


def visible_person(graph_id: str) -> Person | None:
    """Return the person with this Entra object id, if colleagues may see them."""
    return Person.objects.visible().with_graph_id(graph_id).first()


def manager_of(person: Person) -> Person | None:
    """Return a person's manager, if colleagues may see them."""
    if person.manager_id is None:
        return None
    return Person.objects.visible().filter(pk=person.manager_id).first()


def reports_of(person: Person) -> list[Person]:
    """Return the people who report to ``person`` and whom colleagues may see, by name."""
    return list(Person.objects.visible().reports_of(person).order_by("display_name", "pk"))
