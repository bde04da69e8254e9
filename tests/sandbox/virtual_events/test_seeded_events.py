"""The events a fresh tenant holds: the cast's webinars and town hall, served as Graph serves
events, the same for the same seed, and none when asked to start empty."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.sandbox.virtual_events.conftest import READ_ONLY, Tokens
from tests.support.cast import DANIEL, MEGAN, PRIYA
from tests.support.sandbox import RunningSandbox, start_sandbox

WEBINARS = "solutions/virtualEvents/webinars"
TOWNHALLS = "solutions/virtualEvents/townhalls"
ROADMAP = "Lumenhall product roadmap 2027"


def by_role(graph: httpx.Client, tokens: Tokens, upn: str, collection: str, role: str) -> list[str]:
    answer = graph.get(
        f"{collection}/getByUserRole(role='{role}')", headers=tokens.user(upn, READ_ONLY)
    )
    assert answer.status_code == 200, answer.text
    return sorted(str(one["displayName"]) for one in answer.json()["value"])


def state_of(sandbox: RunningSandbox) -> list[tuple[str, str, str, dict[str, int]]]:
    events = sandbox.control("GET", "/virtual-events/state").json()["events"]
    return sorted((e["id"], e["status"], e["displayName"], e["registrations"]) for e in events)


def test_the_cast_runs_seeded_events_in_teams(graph: httpx.Client, tokens: Tokens) -> None:
    organized = by_role(graph, tokens, MEGAN, WEBINARS, "organizer")
    assert set(organized) >= {
        ROADMAP,
        "Security awareness for everyone",
        "Customer onboarding, the new way",
        "Partner summit preview",
    }
    assert "All hands: winter update" in by_role(graph, tokens, MEGAN, TOWNHALLS, "organizer")
    co_organized = by_role(graph, tokens, DANIEL, WEBINARS, "coOrganizer")
    assert {ROADMAP, "Customer onboarding, the new way"} <= set(co_organized)
    assert "Engineering brown bag: observability" in by_role(
        graph, tokens, PRIYA, WEBINARS, "organizer"
    )
    assert "Engineering brown bag: observability" not in organized + co_organized

    listed = graph.get(f"{WEBINARS}/getByUserRole(role='organizer')", headers=tokens.user(MEGAN))
    (roadmap,) = [e for e in listed.json()["value"] if e["displayName"] == ROADMAP]
    assert roadmap["status"] == "published"
    assert roadmap["startDateTime"]["timeZone"] == "GMT Standard Time"
    one = f"{WEBINARS}/{roadmap['id']}"
    sessions = graph.get(f"{one}/sessions", headers=tokens.user(MEGAN)).json()["value"]
    assert len(sessions) == 2
    presenters = graph.get(f"{one}/presenters", headers=tokens.user(MEGAN)).json()["value"]
    assert sorted(p["identity"]["@odata.type"] for p in presenters) == [
        "#microsoft.graph.communicationsGuestIdentity",
        "#microsoft.graph.communicationsUserIdentity",
    ]
    registrations = graph.get(f"{one}/registrations", headers=tokens.user(MEGAN)).json()["value"]
    # 36 seeded (the simulator, when another test turns it on, may add more).
    assert len([r for r in registrations if r["status"] == "registered"]) >= 36
    assert all(r["registrationQuestionAnswers"][0]["multiChoiceValues"] for r in registrations)
    configuration = graph.get(f"{one}/registrationConfiguration", headers=tokens.user(MEGAN))
    assert configuration.json()["capacity"] == 150


@pytest.mark.parametrize("empty", [False, True])
def test_the_same_seed_gives_the_same_events_and_empty_gives_none(
    events_sandbox: RunningSandbox, tmp_path: Path, empty: bool
) -> None:
    other = start_sandbox(
        tmp_path / "other", users=60, extra_args=("--no-seed-events",) if empty else ()
    )
    try:
        if empty:
            assert state_of(other) == []
        else:
            # The package's sandbox holds the tests' own events too; the seeded ones match.
            fresh = {(e[0], e[2]) for e in state_of(other)}
            assert len(fresh) == 6
            assert fresh <= {(e[0], e[2]) for e in state_of(events_sandbox)}
    finally:
        other.stop()
