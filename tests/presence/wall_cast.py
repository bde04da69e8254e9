"""A small named directory for the people-page tests, and presence to put in the store."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from accounts.models import User
from directory.models import Person
from presence import store
from presence.store import PresenceState


@dataclass(frozen=True)
class Directory:
    """The people of the wall tests and the portal user who looks at them."""

    viewer: User
    margaret: Person  # the viewer's own directory entry
    grace: Person  # Margaret's manager
    ada: Person  # reports to Margaret
    katherine: Person  # reports to Margaret
    alan: Person
    hedy: Person

    @property
    def everyone(self) -> list[Person]:
        return [self.margaret, self.grace, self.ada, self.katherine, self.alan, self.hedy]


def graph_id(number: int) -> str:
    """Return a GUID-shaped id for a test person."""
    return f"7e570000-0000-4000-8000-{number:012d}"


def make_person(number: int, name: str, **fields: object) -> Person:
    """Create a directory entry with a deterministic id and sign-in name."""
    upn = name.lower().replace(" ", ".") + "@wall.example"
    return Person.objects.create(
        graph_id=graph_id(number), display_name=name, user_principal_name=upn, **fields
    )


def presence(person: Person, availability: str, activity: str, **fields: object) -> PresenceState:
    """Return a presence for ``person`` observed now."""
    return PresenceState(
        person_id=person.graph_id,
        availability=availability,
        activity=activity,
        observed_at=time.time(),
        source="poll",
        **fields,  # type: ignore[arg-type]
    )


@pytest.fixture(name="directory")
def directory_fixture(django_user_model: type[User]) -> Iterator[Directory]:
    """Create the cast, sign nobody in, and clear their presence afterwards."""
    grace = make_person(1, "Grace Hopper", job_title="Head of Platform", department="Platform")
    margaret = make_person(
        2, "Margaret Hamilton", job_title="Lead Engineer", department="Platform", manager=grace
    )
    ada = make_person(
        3, "Ada Lovelace", job_title="Engineer", department="Platform", manager=margaret
    )
    katherine = make_person(
        4, "Katherine Johnson", job_title="Analyst", department="Flight", manager=margaret
    )
    alan = make_person(5, "Alan Turing", job_title="Researcher", department="Research")
    hedy = make_person(6, "Hedy Lamarr", job_title="Inventor", department="Research")
    viewer = django_user_model.objects.create(
        username="margaret", display_name="Margaret Hamilton", object_id=margaret.graph_id
    )
    cast = Directory(viewer, margaret, grace, ada, katherine, alan, hedy)
    store.forget(person.graph_id for person in cast.everyone)
    yield cast
    store.forget(person.graph_id for person in cast.everyone)
