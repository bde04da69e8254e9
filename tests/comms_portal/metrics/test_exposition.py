"""The scrape's text is Prometheus's exposition format, and OpenMetrics when asked for it."""

from __future__ import annotations

import pytest
from django.test import Client
from prometheus_client.openmetrics.parser import (
    text_string_to_metric_families as openmetrics_families,
)

from tests.comms_portal.metrics.scrape import ALLOWED_PEER, scrape

pytestmark = pytest.mark.django_db(transaction=True)

EXPECTED = {
    "comms_portal_notification_inbox_bodies": "gauge",
    "comms_portal_notification_deferred_bodies": "gauge",
    "comms_portal_notification_dead_letter_bodies": "gauge",
    "comms_portal_notification_drain_lag_seconds": "gauge",
    "comms_portal_notification_subscriptions": "gauge",
    "comms_portal_live_sockets": "gauge",
    "comms_portal_live_processes": "gauge",
    "comms_portal_notifications_accepted": "counter",
    "comms_portal_notifications_refused": "counter",
    "comms_portal_notifications_handled": "counter",
    "comms_portal_notifications_dropped": "counter",
    "comms_portal_graph_requests": "counter",
    "comms_portal_graph_throttled": "counter",
    "comms_portal_live_pushes_published": "counter",
    "comms_portal_live_deliveries": "counter",
}


def test_every_metric_parses_with_its_type_and_help() -> None:
    shown = scrape()

    assert {name: family.type for name, family in shown.families.items()} == EXPECTED
    assert all(family.documentation for family in shown.families.values())
    # Counters of each registered kind are there from the start, at zero if need be.
    accepted = shown.families["comms_portal_notifications_accepted"].samples
    assert ("comms_portal_notifications_accepted_total", {"kind": "presence"}) in [
        (sample.name, sample.labels) for sample in accepted
    ]


def test_openmetrics_is_served_to_a_scraper_that_asks_for_it() -> None:
    response = Client().get(
        "/metrics",
        REMOTE_ADDR=ALLOWED_PEER,
        headers={"Accept": "application/openmetrics-text; version=1.0.0"},
    )

    assert response["Content-Type"].startswith("application/openmetrics-text")
    text = response.content.decode()
    assert text.endswith("# EOF\n")
    names = {family.name for family in openmetrics_families(text)}
    assert names == set(EXPECTED)
