"""The dashboard's hourly counts agree with the streams stored, through versions and purge."""

from __future__ import annotations

import json
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.utils import timezone

from callrecords import quality, selectors, services
from callrecords.models import CallRecord, StreamRollup
from tests.callrecords.cast_calls import make_cast_calls
from tests.support.session_sandbox import control as session_control

pytestmark = pytest.mark.django_db


def control(method: str, path: str, body: Any = None) -> Any:
    return session_control(method, path, body).json()


def counted_from_streams(filters: selectors.Filters, field: str) -> dict[str, tuple[int, int]]:
    """Group the stored streams directly, as the counts should say."""
    totals: Counter[str] = Counter()
    poor: Counter[str] = Counter()
    streams = selectors.classified_streams(filters)
    if field == "person_id":
        streams = streams.exclude(person_id="")
    for key, verdict in streams.values_list(field, "verdict"):
        totals[key] += 1
        poor[key] += verdict == quality.POOR
    return {key: (totals[key], poor[key]) for key in totals}


def counted_from_rollups(filters: selectors.Filters, dimension: str) -> dict[str, tuple[int, int]]:
    return {
        row.key: (row.classified, row.poor) for row in selectors.poor_rate_by(filters, dimension)
    }


def filters() -> selectors.Filters:
    now = timezone.now()
    return selectors.Filters(since=now - timedelta(days=2), until=now + timedelta(days=1))


def assert_in_step() -> None:
    chosen = filters()
    for dimension, field in (
        ("network", "network"),
        ("subnet", "subnet"),
        ("device", "device"),
        ("client", "client"),
        ("person", "person_id"),
    ):
        assert counted_from_rollups(chosen, dimension) == counted_from_streams(chosen, field)
        # The dashboard's tables show the first rows of the same order, and count the rest.
        every = selectors.poor_rate_by(chosen, dimension)
        assert len(every) > 2
        assert selectors.top_rates_by(chosen, dimension, 2) == (every[:2], len(every))
    over_time = selectors.poor_rate_over_time(chosen)
    streams = selectors.classified_streams(chosen)
    assert sum(row.classified for row in over_time) == streams.count()
    assert sum(row.poor for row in over_time) == streams.filter(verdict=quality.POOR).count()


def test_counts_follow_new_records_later_versions_and_the_purge(
    request: pytest.FixtureRequest,
) -> None:
    info = json.loads(Path(settings.SANDBOX_INFO_FILE).read_text())
    made = make_cast_calls(control, info, tag=request.node.name)
    for graph_id in made.values():
        services.collect_record(graph_id=graph_id)
    assert_in_step()

    # A later version replaces the record whole: its streams are not counted twice.
    control("POST", f"/callrecords/{made['vpn']}/versions")
    assert services.collect_record(graph_id=made["vpn"]).replaced == 1
    assert_in_step()
    meetings = selectors.Filters(**{**filters().__dict__, "call_type": "groupCall"})
    assert sum(r.classified for r in selectors.poor_rate_over_time(meetings)) == (
        CallRecord.objects.get(graph_id=made["vpn"]).streams_classified
    )

    later = timezone.now() + timedelta(days=settings.CALLRECORDS_RETENTION_DAYS + 1)
    services.purge_expired(now=later)
    assert not StreamRollup.objects.exists()
    assert selectors.poor_rate_over_time(filters()) == []
