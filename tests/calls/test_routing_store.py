"""Routing a reception call from the portal's presence store, Graph only for who it lacks."""

from __future__ import annotations

import time

import pytest

from calls import services
from calls.models import CallDelegate, MenuOption, ReceptionLine
from presence import store, watchlist
from tests.calls.support import set_presence, user_id
from tests.calls.test_reception_flow import AIKO, GRACE, LENA, SAMUEL, person
from tests.presence.engine_fixtures import clean_presence  # noqa: F401  (fixture)

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("clean_presence")]


def stored(upn: str, availability: str, *, since_minutes: float) -> None:
    """Store a presence as the presence engine would have, Available since a while."""
    observed = time.time() - since_minutes * 60
    store.apply_updates(
        [
            store.PresenceState(
                person_id=user_id(upn),
                availability=availability,
                activity=availability,
                observed_at=observed,
                source="notification",
            )
        ]
    )


@pytest.fixture
def support() -> MenuOption:
    line = ReceptionLine.objects.create()
    option = MenuOption.objects.create(line=line, digit="1", label="Support", kind="list")
    option.members.set([person(GRACE), person(SAMUEL), person(AIKO)])
    return option


def test_the_member_free_longest_is_chosen_from_the_store_not_from_graph(
    support: MenuOption,
) -> None:
    stored(GRACE, "Available", since_minutes=5)
    stored(SAMUEL, "Available", since_minutes=50)
    stored(AIKO, "Busy", since_minutes=90)
    # Graph says otherwise: the store, kept current by the presence engine, is what counts.
    set_presence(SAMUEL, "Busy", "InACall")
    set_presence(AIKO, "Available", "Available")

    chosen = services.choose_free_longest(support)

    assert chosen is not None and chosen.graph_id == user_id(SAMUEL)


def test_a_member_the_store_lacks_is_read_from_graph_and_stored(support: MenuOption) -> None:
    stored(GRACE, "Busy", since_minutes=5)
    stored(SAMUEL, "DoNotDisturb", since_minutes=50)
    set_presence(AIKO, "Available", "Available")

    chosen = services.choose_free_longest(support)

    assert chosen is not None and chosen.graph_id == user_id(AIKO)
    kept = store.get_one(user_id(AIKO))
    assert kept is not None and kept.availability == "Available"
    # Only the missing member was read: the others keep what the store said.
    grace = store.get_one(user_id(GRACE))
    assert grace is not None and grace.availability == "Busy"


def test_nobody_available_in_the_store_or_graph_chooses_nobody(support: MenuOption) -> None:
    stored(GRACE, "Busy", since_minutes=5)
    stored(SAMUEL, "Away", since_minutes=50)
    set_presence(AIKO, "Offline", "Offline")

    assert services.choose_free_longest(support) is None


def test_a_department_key_routes_from_the_store_too() -> None:
    for upn, department in ((GRACE, "Finance"), (LENA, "Finance"), (SAMUEL, "Legal")):
        entry = person(upn)
        entry.department = department
        entry.save(update_fields=["department"])
    option = MenuOption.objects.create(
        line=ReceptionLine.objects.create(),
        digit="2",
        label="Finance",
        kind="department",
        department="Finance",
    )
    stored(GRACE, "Available", since_minutes=5)
    stored(LENA, "Available", since_minutes=30)
    stored(SAMUEL, "Available", since_minutes=60)

    chosen = services.choose_free_longest(option)

    assert chosen is not None and chosen.graph_id == user_id(LENA)


def test_a_change_to_the_team_is_routed_by_at_the_next_call(support: MenuOption) -> None:
    stored(GRACE, "Available", since_minutes=50)
    stored(SAMUEL, "Available", since_minutes=5)
    stored(AIKO, "Busy", since_minutes=5)
    first = services.choose_free_longest(support)

    support.members.remove(person(GRACE))
    then = services.choose_free_longest(support)

    assert first is not None and first.graph_id == user_id(GRACE)
    assert then is not None and then.graph_id == user_id(SAMUEL)


def test_everyone_the_menu_routes_to_and_their_delegates_are_kept_watched(
    support: MenuOption,
) -> None:
    team = {user_id(GRACE), user_id(SAMUEL), user_id(AIKO)}
    # Lena is no one's team member; she is Grace's delegate, but may not take her calls yet.
    delegation = CallDelegate.objects.create(
        delegator=person(GRACE), delegate=person(LENA), receives_calls=False
    )
    watchlist.forget_watched([*team, user_id(LENA)])

    assert services.watch_routing_people() == 3
    watched = set(watchlist.watched_ids())
    assert team <= watched
    assert user_id(LENA) not in watched

    # Once she takes Grace's calls, routing may call her too: she is kept watched as well.
    delegation.receives_calls = True
    delegation.save()
    assert services.watch_routing_people() == 4
    assert user_id(LENA) in set(watchlist.watched_ids())
