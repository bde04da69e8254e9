"""The portal's metrics in Prometheus's exposition formats, read afresh at every scrape.

No metric lives in this process's memory (prometheus-client's own registry would count one
process of many): a collector turns one ``readings.read()`` into metric families.
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.exposition import choose_encoder
from prometheus_client.metrics_core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from comms_portal.metrics.counters import (
    FAMILIES,
    NOTIFICATIONS_ACCEPTED,
    NOTIFICATIONS_HANDLED,
    STALE_SECONDS,
    CounterFamily,
)
from comms_portal.metrics.readings import Reading, read
from comms_portal.notifications import registry
from comms_portal.notifications.inbox import DEAD_KEEP

# Counters shown at zero before their first count, so that rates start from the first scrape.
_PER_KIND = (NOTIFICATIONS_ACCEPTED, NOTIFICATIONS_HANDLED)


def _gauge(name: str, documentation: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, documentation, value=value)


class PortalCollector(Collector):
    """Every metric of the portal, read from Redis and the database when collected."""

    def collect(self) -> Iterator[Metric]:
        """Read the portal's state and yield its metric families."""
        reading = read()
        inbox = reading.inbox
        yield _gauge(
            "comms_portal_notification_inbox_bodies",
            "Change-notification bodies waiting in the inbox for the drain.",
            inbox.waiting,
        )
        yield _gauge(
            "comms_portal_notification_deferred_bodies",
            "Bodies to be looked at again shortly (their subscription was being created).",
            inbox.deferred,
        )
        yield _gauge(
            "comms_portal_notification_dead_letter_bodies",
            f"Bodies no handler could take, kept for operators (the newest {DEAD_KEEP:,}).",
            inbox.dead,
        )
        yield _gauge(
            "comms_portal_notification_drain_lag_seconds",
            "Seconds since the inbox last went from empty to holding a body (0 when empty): "
            "the oldest waiting body's age while each batch empties the inbox, an upper "
            "bound of it during a backlog.",
            inbox.lag_seconds,
        )
        yield _subscriptions(reading)
        yield _gauge(
            "comms_portal_live_sockets",
            f"Open live sockets, summed over the ASGI processes that reported in the last "
            f"{STALE_SECONDS:.0f} s.",
            reading.sockets.sockets,
        )
        yield _gauge(
            "comms_portal_live_processes",
            f"ASGI processes that reported their live sockets in the last {STALE_SECONDS:.0f} s "
            "(each that has served one since it started).",
            reading.sockets.processes,
        )
        yield from _counters(reading)


def _subscriptions(reading: Reading) -> GaugeMetricFamily:
    family = GaugeMetricFamily(
        "comms_portal_notification_subscriptions",
        "Change-notification subscriptions held, by kind and state: live, expiring (within "
        "the kind's renew window) or expired.",
        labels=("kind", "state"),
    )
    for (kind, state), count in sorted(reading.subscriptions.items()):
        family.add_metric([kind, state], count)
    return family


def _counters(reading: Reading) -> Iterator[CounterMetricFamily]:
    kinds = [kind.name for kind in registry.all_kinds()]
    for family in FAMILIES:
        values: dict[tuple[str, ...], int] = {}
        if not family.labels:
            values[()] = 0
        elif family in _PER_KIND:
            values.update({(kind,): 0 for kind in kinds})
        values.update(reading.counts.get(family, {}))
        yield _counter(family, values)


def _counter(family: CounterFamily, values: dict[tuple[str, ...], int]) -> CounterMetricFamily:
    metric = CounterMetricFamily(family.name, family.documentation, labels=family.labels)
    for labels, value in sorted(values.items()):
        metric.add_metric(list(labels), value)
    return metric


def exposition(accept: str) -> tuple[bytes, str]:
    """Render every metric in the format ``accept`` prefers; return it and its content type."""
    encode, content_type = choose_encoder(accept)
    return encode(PortalCollector()), content_type
