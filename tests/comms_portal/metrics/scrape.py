"""Scraping ``/metrics`` as Prometheus does, and reading samples out of the answer."""

from __future__ import annotations

from django.test import Client
from prometheus_client.metrics_core import Metric
from prometheus_client.parser import text_string_to_metric_families

from comms_portal.metrics import counters

ALLOWED_PEER = "127.0.0.1"


class Scrape:
    """One answer of ``/metrics``, parsed with prometheus-client's own parser."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.families: dict[str, Metric] = {
            family.name: family for family in text_string_to_metric_families(text)
        }

    def value(self, sample: str, **labels: str) -> float:
        """Return the value of ``sample`` with exactly ``labels``; 0 when there is none yet."""
        for family in self.families.values():
            for found in family.samples:
                if found.name == sample and found.labels == labels:
                    return float(found.value)
        return 0.0


def scrape(client: Client | None = None) -> Scrape:
    """Send this process's pending counts to Redis, then scrape from an allowed peer."""
    counters.flush()
    response = (client or Client()).get("/metrics", REMOTE_ADDR=ALLOWED_PEER)
    assert response.status_code == 200, response.content[:300]
    return Scrape(response.content.decode())
