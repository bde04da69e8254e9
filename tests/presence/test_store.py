"""The shared presence store never moves a person's state backwards."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pytest

from comms_portal.redis_client import get_redis
from presence import store
from presence.store import PresenceState

PERSON = "6e2f44f5-0000-4000-8000-00000000a11c"


@pytest.fixture(autouse=True)
def clean_store() -> Iterator[None]:
    store.forget([PERSON])
    yield
    store.forget([PERSON])


def state(availability: str, *, at: float, sequence: str = "", **extra: object) -> PresenceState:
    return PresenceState(
        person_id=PERSON,
        availability=availability,
        activity=availability,
        sequence=sequence,
        observed_at=at,
        source="poll",
        **extra,  # type: ignore[arg-type]
    )


def test_first_update_is_a_change_and_starts_the_since_clock() -> None:
    [change] = store.apply_updates([state("Busy", at=100.0)])
    assert change.previous is None
    assert change.current.changed_at == 100.0
    assert store.get_one(PERSON) == change.current


def test_an_older_update_is_dropped() -> None:
    store.apply_updates([state("Busy", at=200.0)])
    assert store.apply_updates([state("Available", at=150.0)]) == []
    stored = store.get_one(PERSON)
    assert stored is not None and stored.availability == "Busy"


def test_sequence_numbers_win_over_arrival_time() -> None:
    store.apply_updates([state("Busy", at=100.0, sequence="C00002")])
    # Read later, but Graph says it is an older version.
    assert store.apply_updates([state("Available", at=500.0, sequence="C00001")]) == []
    [change] = store.apply_updates([state("Away", at=90.0, sequence="C00003")])
    assert change.current.availability == "Away"


def test_a_duplicate_is_not_a_change() -> None:
    store.apply_updates([state("Busy", at=100.0)])
    assert store.apply_updates([state("Busy", at=101.0)]) == []


def test_since_moves_only_when_the_availability_changes() -> None:
    store.apply_updates([state("Busy", at=100.0)])
    [change] = store.apply_updates([state("Busy", at=130.0, status_message="In the lab")])
    assert change.current.changed_at == 100.0
    [change] = store.apply_updates([state("Available", at=160.0)])
    assert change.current.changed_at == 160.0
    assert change.became_available


def test_a_batch_reports_only_its_changes() -> None:
    other = "6e2f44f5-0000-4000-8000-00000000b0b0"
    store.forget([other])
    try:
        changes = store.apply_updates(
            [state("Busy", at=10.0), PresenceState(other, "Away", "Away", observed_at=10.0)]
        )
        assert {c.current.person_id for c in changes} == {PERSON, other}
        assert set(store.get_many([PERSON, other, "nobody"])) == {PERSON, other}
    finally:
        store.forget([other])


def test_availabilities_reads_only_what_is_stored_and_newest() -> None:
    unknown = "6e2f44f5-0000-4000-8000-00000000ffff"
    store.apply_updates([state("Busy", at=100.0), state("Available", at=150.0)])
    assert store.availabilities([PERSON, unknown, PERSON]) == {PERSON: "Available"}
    assert store.availabilities([]) == {}


def test_a_state_written_with_fields_this_version_does_not_know_still_reads() -> None:
    store.apply_updates([state("Away", at=100.0)])
    raw = get_redis().get(store.KEY_PREFIX + PERSON)
    assert raw is not None
    document = json.loads(raw)
    document["pronouns"] = "she/her"
    get_redis().set(store.KEY_PREFIX + PERSON, json.dumps(document))
    stored = store.get_one(PERSON)
    assert stored is not None and stored.availability == "Away"


def test_every_stored_write_has_a_higher_version_even_after_the_store_was_emptied() -> None:
    [first] = store.apply_updates([state("Busy", at=100.0)])
    [second] = store.apply_updates([state("Available", at=200.0)])
    assert second.current.version > first.current.version
    # Dropped as stale: the stored version stays.
    assert store.apply_updates([state("Away", at=150.0)]) == []
    stored = store.get_one(PERSON)
    assert stored is not None and stored.version == second.current.version

    store.forget([PERSON])  # as after a Redis restart, which takes longer than this
    time.sleep(0.01)
    [again] = store.apply_updates([state("Away", at=300.0)])
    assert again.current.version > second.current.version


def test_a_team_decision_reads_the_same_availability_and_since_as_the_whole_state() -> None:
    other = "6e2f44f5-0000-4000-8000-00000000b0b0"
    unknown = "6e2f44f5-0000-4000-8000-00000000ffff"
    try:
        store.apply_updates([state("Busy", at=100.0)])
        store.apply_updates([state("Available", at=1_733_580_000.123456)])
        store.apply_updates([state("Available", at=1_733_580_900.5)])  # still Available
        store.apply_updates([state("Away", at=50.0)])  # stale: dropped
        store.apply_updates([replace_person(state("DoNotDisturb", at=300.0), other)])

        found = store.availabilities_since([PERSON, unknown, other, PERSON])

        kept = store.get_one(PERSON)
        assert kept is not None
        assert found == {
            PERSON: ("Available", kept.changed_at),
            other: ("DoNotDisturb", 300.0),
        }
        assert kept.changed_at == pytest.approx(1_733_580_000.123456)
    finally:
        store.forget([other])


def test_a_state_stored_by_an_earlier_version_without_a_brief_is_still_read() -> None:
    store.apply_updates([state("Busy", at=100.0), state("Available", at=150.0)])
    get_redis().delete(store.BRIEF_PREFIX + PERSON)

    assert store.availabilities_since([PERSON]) == {PERSON: ("Available", 150.0)}


def test_a_forgotten_person_is_unknown_to_team_decisions() -> None:
    store.apply_updates([state("Available", at=150.0)])
    store.forget([PERSON])

    assert store.availabilities_since([PERSON]) == {}
    assert store.availabilities_since([]) == {}


def replace_person(one: PresenceState, person_id: str) -> PresenceState:
    return PresenceState(**{**one.as_payload(), "person_id": person_id})


def test_a_group_decision_in_the_store_finds_who_is_available_longest_and_who_else() -> None:
    ids = [f"6e2f44f5-0000-4000-8000-0000000{n:05d}" for n in range(6)]
    never_stored = "6e2f44f5-0000-4000-8000-00000000fff0"
    group = store.Group.of(ids)
    try:
        store.apply_updates(
            [
                replace_person(state("Busy", at=100.0), ids[0]),
                replace_person(state("Available", at=300.0), ids[1]),
                replace_person(state("Available", at=200.0), ids[2]),
                replace_person(state("Available", at=200.0), ids[3]),  # free as long as ids[2]
                replace_person(state("Away", at=50.0), ids[4]),
                replace_person(state("DoNotDisturb", at=50.0), ids[5]),
            ]
        )

        found = store.longest_in(group, "Available", fallback=("Busy", "Away"), at_most=25)
        assert found == store.LongestIn(longest=[2, 3], others=[], lacking=[])

        # Nobody in the availability wanted: those in a fallback one, in order, as many as asked.
        nobody = store.longest_in(group, "Offline", fallback=("Busy", "Away"), at_most=25)
        assert nobody == store.LongestIn(longest=[], others=[0, 4], lacking=[])
        assert store.longest_in(group, "Offline", fallback=("Busy", "Away"), at_most=1).others == [
            0
        ]

        # The group's list names keys, not states: the next decision sees each change.
        store.apply_updates([replace_person(state("Busy", at=400.0), ids[2])])
        assert store.longest_in(group, "Available").longest == [3]

        # Without a brief (never stored, or stored before briefs were kept): lacking.
        get_redis().delete(store.BRIEF_PREFIX + ids[5])
        partial = store.longest_in(store.Group.of([*ids, never_stored]), "Available")
        assert partial == store.LongestIn(longest=[3], others=[], lacking=[5, 6])
    finally:
        store.forget(ids)
        get_redis().delete(group.key)


def test_a_group_whose_list_lapsed_is_written_again_and_decided() -> None:
    ids = [f"6e2f44f5-0000-4000-8000-0000001{n:05d}" for n in range(2_500)]
    group = store.Group.of(ids)
    try:
        store.apply_updates(
            [
                replace_person(state(("Busy", "Available")[n % 2], at=1_733_580_000.5 + n), one)
                for n, one in enumerate(ids)
            ]
        )
        assert store.longest_in(group, "Available").longest == [1]
        get_redis().delete(group.key)

        assert store.longest_in(group, "Available").longest == [1]
        assert get_redis().llen(group.key) == len(ids)
        assert store.longest_in(store.Group.of([]), "Available") == store.LongestIn([], [], [])
    finally:
        store.forget(ids)
        get_redis().delete(group.key)
