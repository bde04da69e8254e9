"""Every Graph request the portal sends is counted by method and status class, 429s apart."""

# Fixtures are imported by name from the presence tests, so their parameters shadow them.
# ruff: noqa: F811

from __future__ import annotations

from collections.abc import Iterator

import pytest

from accounts.graph_clients import graph_for_app
from comms_portal.graph.users import get_user
from tests.comms_portal.metrics.scrape import scrape
from tests.presence.engine_fixtures import (  # noqa: F401  (fixtures)
    Control,
    session_control,
    session_sandbox_info,
    user_id_of,
)
from tests.support.cast import GRACE

pytestmark = pytest.mark.django_db(transaction=True)
REQUESTS = "comms_portal_graph_requests_total"
THROTTLED = "comms_portal_graph_throttled_total"


@pytest.fixture
def faults(session_control: Control) -> Iterator[Control]:
    """The session sandbox's control API; no fault is left behind."""
    yield session_control
    session_control("DELETE", "/faults")


def test_a_throttled_request_and_its_successful_retry_are_both_counted(faults: Control) -> None:
    grace_id = user_id_of(session_sandbox_info(), GRACE)
    path = f"/v1.0/users/{grace_id}"
    faults("POST", "/faults", {"path": path, "kind": "429", "count": 1, "retry_after": 0})
    before = scrape()

    assert get_user(graph_for_app(), grace_id).id == grace_id

    after = scrape()
    for status_class in ("2xx", "4xx"):
        labels = {"method": "GET", "status_class": status_class}
        assert after.value(REQUESTS, **labels) - before.value(REQUESTS, **labels) == 1
    assert after.value(THROTTLED, method="GET") - before.value(THROTTLED, method="GET") == 1
