"""Celery tasks of call records; each takes ids or nothing and calls one service."""

from __future__ import annotations

from datetime import datetime

from celery import shared_task

from callrecords import services
from comms_portal.graph import GraphTransportError, ServiceUnavailable, Throttled


@shared_task(
    name="callrecords.collect_record",
    ignore_result=True,
    autoretry_for=(Throttled, ServiceUnavailable, GraphTransportError),
    retry_backoff=30,
    retry_backoff_max=900,
    max_retries=8,
)
def collect_record(graph_id: str) -> None:
    """Read one call record whole and store it."""
    services.collect_record(graph_id=graph_id)


@shared_task(
    name="callrecords.collect_records",
    ignore_result=True,
    autoretry_for=(Throttled, ServiceUnavailable, GraphTransportError),
    retry_backoff=30,
    retry_backoff_max=900,
    max_retries=8,
)
def collect_records(graph_ids: list[str]) -> None:
    """Read a few call records whole, in one JSON batch, and store them."""
    services.collect_records(graph_ids=graph_ids)


@shared_task(
    name="callrecords.heal",
    ignore_result=True,
    autoretry_for=(Throttled, ServiceUnavailable, GraphTransportError),
    retry_backoff=60,
    retry_backoff_max=1800,
    max_retries=10,
)
def heal(hours: int | None = None, since: str | None = None, until: str | None = None) -> None:
    """List recent records by start time and store any missed or newer, an hour per task.

    Each task heals the newest hour left and queues the next behind whatever arrived
    meanwhile (call callbacks, notification drains), so a long heal never holds them up.
    """
    if since is None or until is None:
        start, end = services.heal_window(hours=hours)
    else:
        start, end = datetime.fromisoformat(since), datetime.fromisoformat(until)
    rest_until = services.heal_slice(since=start, until=end)
    if rest_until is not None:
        heal.delay(since=start.isoformat(), until=rest_until.isoformat())


@shared_task(name="callrecords.pull_pstn_usage", ignore_result=True)
def pull_pstn_usage() -> None:
    """Store the last two days of PSTN and direct-routing calls."""
    services.pull_recent_pstn_usage()


@shared_task(name="callrecords.purge", ignore_result=True)
def purge() -> None:
    """Delete calls older than the retention setting."""
    services.purge_expired()
