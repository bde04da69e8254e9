"""Counts of separate processes add up in Redis, and none is sent twice."""

from __future__ import annotations

import pytest

from comms_portal.metrics import counters
from comms_portal.metrics.counters import GRAPH_REQUESTS, count
from comms_portal.redis_client import get_redis
from tests.comms_portal.metrics.scrape import scrape
from tests.comms_portal.test_settings import run_django

pytestmark = pytest.mark.django_db(transaction=True)
SAMPLE = "comms_portal_graph_requests_total"
LABELS = {"method": "PATCH", "status_class": "5xx"}

# A short-lived process: it ends long before its flushing thread would wake.
ANOTHER_PROCESS = """
from comms_portal.metrics.counters import GRAPH_REQUESTS, count
count(GRAPH_REQUESTS, "PATCH", "5xx", amount=3)
"""


def test_counts_of_two_processes_add_up_even_when_one_ends_at_once() -> None:
    before = scrape()

    count(GRAPH_REQUESTS, "PATCH", "5xx", amount=2)
    other = run_django(["shell", "--no-imports", "-c", ANOTHER_PROCESS])
    assert other.returncode == 0, other.stderr

    assert scrape().value(SAMPLE, **LABELS) - before.value(SAMPLE, **LABELS) == 5


def test_counts_riding_on_a_pipeline_are_not_sent_again_by_the_flush() -> None:
    before = scrape()
    count(GRAPH_REQUESTS, "PATCH", "5xx", amount=4)

    pipeline = get_redis().pipeline(transaction=False)
    counters.flush_into(pipeline)
    pipeline.execute()

    assert scrape().value(SAMPLE, **LABELS) - before.value(SAMPLE, **LABELS) == 4


@pytest.mark.parametrize("value", ["has space", "semi;colon", "", "x" * 65])
def test_a_label_value_that_is_not_an_id_is_refused(value: str) -> None:
    with pytest.raises(ValueError, match="is not a label value"):
        count(GRAPH_REQUESTS, "GET", value)
