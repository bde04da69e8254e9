"""A socket's budget of watch messages: at most N in any sixty seconds, then closed if it floods."""

from __future__ import annotations

import pytest

from comms_portal.live.limits import WatchBudget


def test_the_budget_counts_any_sixty_seconds_not_calendar_minutes() -> None:
    budget = WatchBudget(per_minute=2)
    assert budget.wait_needed(now=0.0) == 0.0
    assert budget.wait_needed(now=10.0) == 0.0
    assert budget.wait_needed(now=20.0) == pytest.approx(40.0)
    # The first message leaves the window at 60 s: one more is allowed then, not before.
    assert budget.wait_needed(now=59.0) == pytest.approx(1.0)
    assert budget.wait_needed(now=60.0) == 0.0
    assert budget.wait_needed(now=61.0) == pytest.approx(9.0)


def test_more_refused_messages_than_the_budget_within_a_minute_is_flooding() -> None:
    budget = WatchBudget(per_minute=2)
    for now in (0.0, 1.0):
        assert budget.wait_needed(now=now) == 0.0
    for now in (2.0, 3.0):
        assert budget.wait_needed(now=now) > 0
    assert not budget.flooding(now=3.0)
    assert budget.wait_needed(now=4.0) > 0
    assert budget.flooding(now=4.0)
    # A page that backs off as told is forgiven once the refusals leave the window.
    assert not budget.flooding(now=64.5)
