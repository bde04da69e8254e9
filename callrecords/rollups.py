"""Keeping the dashboard's hourly counts in step with the streams stored.

Counts are added when records are written, taken away when a newer version replaces a record,
and dropped with the hours the retention purge removes. Additions are upserts that add to
what is there (``ON CONFLICT ... DO UPDATE SET classified = classified + excluded...``), so
writers running at once do not lose each other's counts.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from django.db import connection, transaction

from callrecords import quality
from callrecords.models import CallStream, StreamRollup

# The stream's values each dimension groups by: (key, label).
DIMENSIONS = ("all", "network", "subnet", "device", "client", "person")
# The modality or call type of the people's rows that count every one of them.
ANY = ""
RollupKey = tuple[datetime, str, str, str, str, str]  # hour, modality, type, dimension, key, label


def _hour(moment: datetime) -> datetime:
    return moment.replace(minute=0, second=0, microsecond=0)


def keys_of(
    *,
    call_start: datetime,
    modality: str,
    call_type: str,
    network: str,
    subnet: str,
    device: str,
    client: str,
    person_id: str,
    person_name: str,
) -> list[RollupKey]:
    """Return the rollup rows one classified stream counts in."""
    hour = _hour(call_start)
    keys: list[RollupKey] = [
        (hour, modality, call_type, "all", "", ""),
        (
            hour,
            modality,
            call_type,
            "network",
            network,
            quality.NETWORK_LABELS.get(network, network),
        ),
        (hour, modality, call_type, "subnet", subnet, subnet),
        (hour, modality, call_type, "device", device, device),
        (hour, modality, call_type, "client", client, client),
    ]
    if person_id:
        # By the UTC day: an hour a person would make the table as long as the streams. Each
        # stream is also counted under "" for any modality, any call type and both, so the
        # chart of everyone reads one row per person and day, whatever the filters.
        day = hour.replace(hour=0)
        for kind in (modality, ANY):
            for type_ in (call_type, ANY):
                keys.append((day, kind, type_, "person", person_id, person_name))
    return keys


def count(
    streams: Iterable[dict[str, Any]], sign: int = 1
) -> tuple[Counter[RollupKey], Counter[RollupKey]]:
    """Count classified and poor streams per rollup row (negative to take them away)."""
    return count_streams(
        (tuple(stream[name] for name in STREAM_FIELDS) for stream in streams), sign
    )


def count_streams(
    streams: Iterable[tuple[Any, ...]], sign: int = 1
) -> tuple[Counter[RollupKey], Counter[RollupKey]]:
    """Count streams given as tuples of STREAM_FIELDS' values per rollup row.

    Streams alike in every value (the same call, subject, network, device and verdict) are
    counted together first, so each kind's rollup rows are worked out once.
    """
    classified: Counter[RollupKey] = Counter()
    poor: Counter[RollupKey] = Counter()
    for values, times in Counter(streams).items():
        start, modality, call_type, network, subnet, device, client, person, name, verdict = values
        if verdict == quality.UNCLASSIFIED:
            continue
        rows = keys_of(call_start=start, modality=modality, call_type=call_type, network=network,
                       subnet=subnet, device=device, client=client, person_id=person,
                       person_name=name)  # fmt: skip
        for key in rows:
            classified[key] += sign * times
            if verdict == quality.POOR:
                poor[key] += sign * times
    return classified, poor


def add(classified: Counter[RollupKey], poor: Counter[RollupKey]) -> None:
    """Add these counts to the stored rollup rows, creating those missing."""
    if not classified:
        return
    table = StreamRollup._meta.db_table
    rows = [(*key, classified[key], poor[key]) for key in classified]
    columns = '"hour", "modality", "call_type", "dimension", "key", "label", "classified", "poor"'
    upsert = (
        'ON CONFLICT ("hour", "modality", "call_type", "dimension", "key") DO UPDATE SET '
        f'"classified" = "{table}"."classified" + excluded."classified", '
        f'"poor" = "{table}"."poor" + excluded."poor", "label" = excluded."label"'
    )
    if connection.vendor != "postgresql":
        with connection.cursor() as cursor:
            cursor.executemany(
                f'INSERT INTO "{table}" ({columns}) '  # noqa: S608 - the model's own table
                f"VALUES (%s, %s, %s, %s, %s, %s, %s, %s) {upsert}",
                rows,
            )
        return
    # A thousand records count in some thirty thousand rows: they go in by COPY to a table of
    # this connection's own, then into the counts in one statement, rather than one each.
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"CREATE TEMPORARY TABLE IF NOT EXISTS {INCOMING} (hour timestamptz, modality text, "
            "call_type text, dimension text, key text, label text, classified int, poor int) "
            "ON COMMIT DELETE ROWS"
        )
        with cursor.cursor.copy(f"COPY {INCOMING} ({columns}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        # In key order, so writers running at once lock the rows they share in the same order.
        cursor.execute(
            f'INSERT INTO "{table}" ({columns}) '  # noqa: S608 - the model's own table
            f"SELECT {columns} FROM {INCOMING} ORDER BY 1, 2, 3, 4, 5 {upsert}"
        )
        cursor.execute(f"DELETE FROM {INCOMING}")  # noqa: S608 - a fixed name


INCOMING = "callrecords_rollup_incoming"
STREAM_FIELDS = (
    "call_start", "modality", "call_type", "network", "subnet", "device", "client",
    "person_id", "person_name", "verdict",
)  # fmt: skip


def take_away_calls(call_ids: Sequence[int]) -> None:
    """Remove the counts of calls about to be replaced by a newer version."""
    if not call_ids:
        return
    streams = CallStream.objects.filter(call_id__in=call_ids).values(*STREAM_FIELDS)
    add(*count(streams, sign=-1))


def purge_before(cutoff: datetime) -> int:
    """Drop the counts of hours before ``cutoff`` (the purge drops those calls)."""
    return StreamRollup.objects.filter(hour__lt=_hour(cutoff)).delete()[0]
