"""Collect call records from Graph and store them: one by id, healed by list, PSTN, purge.

Every write is idempotent by (id, version): a record is stored when the portal has none of
that id or an older version, replacing the older one whole; an equal or older version is
ignored. Records arrive in batches and are written with bulk inserts.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import islice

from django.conf import settings
from django.db import IntegrityError, connections, transaction
from django.utils import timezone

from accounts.graph_clients import graph_for_app
from callrecords import rollups, storage
from callrecords.models import (
    BuildingSubnet,
    CallRecord,
    PstnCall,
)
from comms_portal.graph import GraphClient, GraphError, NotFound
from comms_portal.graph.callrecords import (
    RECORDS_PER_BATCH,
    ListedRecord,
    get_call_record,
    get_call_records,
    get_direct_routing_calls,
    get_pstn_calls,
    list_call_records,
)
from comms_portal.graph.callrecords import (
    CallRecord as GraphCallRecord,
)

logger = logging.getLogger(__name__)

VERSION_LOOKUP_BATCH = 500


def store_batch() -> int:
    """Records a transaction stores (CALLRECORDS_STORE_BATCH).

    Larger batches share more of the hourly counts (fewer rows upserted) and statements;
    memory stays bounded by the batch and the reads ahead of it.
    """
    return int(settings.CALLRECORDS_STORE_BATCH)


def read_threads() -> int:
    """JSON batches a collecting process keeps in flight (CALLRECORDS_READ_THREADS).

    Each waits mostly on the round trip to Graph, so several at once keep the process busy;
    against real Graph more than a few would only queue at its throttle.
    """
    return int(settings.CALLRECORDS_READ_THREADS)


@dataclass
class StoreReport:
    """What storing a batch did."""

    created: int = 0
    replaced: int = 0
    ignored: int = 0

    def add(self, other: StoreReport) -> None:
        self.created += other.created
        self.replaced += other.replaced
        self.ignored += other.ignored


@dataclass
class HealReport:
    """What a pass over the list did."""

    listed: int = 0
    fetched: int = 0
    expired: int = 0
    stored: StoreReport = field(default_factory=StoreReport)


def _chunks(items: Iterable[str], size: int) -> Iterator[list[str]]:
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk


def stored_versions(graph_ids: Iterable[str]) -> dict[str, int]:
    """Return the version stored for each of ``graph_ids`` the portal holds."""
    found: dict[str, int] = {}
    for chunk in _chunks(graph_ids, VERSION_LOOKUP_BATCH):
        found.update(
            CallRecord.objects.filter(graph_id__in=chunk).values_list("graph_id", "version")
        )
    return found


def store_records(records: Sequence[GraphCallRecord]) -> StoreReport:
    """Store records newer than what the portal holds, replacing older versions whole."""
    report = StoreReport()
    newest: dict[str, GraphCallRecord] = {}
    for record in records:
        if record.id not in newest or newest[record.id].version < record.version:
            newest[record.id] = record
    report.ignored += len(records) - len(newest)
    try:
        with transaction.atomic():
            report.add(_store_newest(list(newest.values())))
    except IntegrityError:
        # Another worker stored one of them meanwhile: go one by one, each deciding afresh.
        for record in newest.values():
            try:
                with transaction.atomic():
                    report.add(_store_newest([record]))
            except IntegrityError:
                report.ignored += 1
    return report


def _store_newest(records: list[GraphCallRecord]) -> StoreReport:
    report = StoreReport()
    held = dict(
        CallRecord.objects.select_for_update()
        .filter(graph_id__in=[r.id for r in records])
        .values_list("graph_id", "version")
    )
    wanted = [r for r in records if r.id not in held or held[r.id] < r.version]
    report.ignored = len(records) - len(wanted)
    replaced = [r.id for r in wanted if r.id in held]
    report.replaced = len(replaced)
    report.created = len(wanted) - len(replaced)
    if replaced:
        old = CallRecord.objects.filter(graph_id__in=replaced)
        rollups.take_away_calls(list(old.values_list("pk", flat=True)))
        old.delete()
    if wanted:
        storage.write(wanted)
    return report


def collect_record(*, graph_id: str, client: GraphClient | None = None) -> StoreReport:
    """Read one record whole from Graph and store it; a record gone (404) is skipped."""
    graph = client or graph_for_app()
    try:
        record = get_call_record(graph, graph_id)
    except NotFound:
        logger.info("call record %s is gone (older than 30 days, or not written yet)", graph_id)
        return StoreReport(ignored=1)
    return store_records([record])


def _read_batch(graph: GraphClient, graph_ids: list[str]) -> list[GraphCallRecord | GraphError]:
    try:
        return get_call_records(graph, graph_ids)
    finally:
        # A read that needed a token read it from the database in this thread: hand the
        # connection back now (threads of the pool are not requests, nothing else would),
        # so several readers and processes never hold the pool empty while they wait for
        # the token lock held by one of them, itself waiting for a connection.
        connections.close_all()


def read_whole(
    graph: GraphClient, graph_ids: Iterable[str], *, threads: int | None = None
) -> Iterator[tuple[list[GraphCallRecord], int]]:
    """Read records whole, ten to a JSON batch, a few batches at once, in the order given.

    Yields, batch by batch, the records read and how many were gone (404). At most a store
    batch's worth and one batch a thread are read ahead of what was yielded, so memory stays
    bounded however many ids come. When a batch meets another error (throttled past the
    client's patience), no new batch is sent; what the batches under way did read is
    yielded, then it is raised.
    """
    failed: GraphError | None = None
    threads = max(1, threads or read_threads())
    # Batches read ahead of the one being stored, so reading goes on while a batch is stored.
    read_ahead = store_batch() // RECORDS_PER_BATCH + threads
    with ThreadPoolExecutor(threads, thread_name_prefix="callrecords-read") as pool:
        window: deque[Future[list[GraphCallRecord | GraphError]]] = deque()
        chunks = _chunks(graph_ids, RECORDS_PER_BATCH)
        try:
            while True:
                while failed is None and len(window) <= read_ahead:
                    chunk = next(chunks, None)
                    if chunk is None:
                        break
                    window.append(pool.submit(_read_batch, graph, chunk))
                if not window:
                    break
                results = window.popleft().result()
                records = [one for one in results if isinstance(one, GraphCallRecord)]
                errors = [one for one in results if isinstance(one, GraphError)]
                yield records, sum(1 for error in errors if isinstance(error, NotFound))
                failed = failed or next((e for e in errors if not isinstance(e, NotFound)), None)
        finally:
            for pending in window:
                pending.cancel()
    if failed is not None:
        raise failed


def heal(
    *, since: datetime, until: datetime | None = None, client: GraphClient | None = None
) -> HealReport:
    """List records by start time and read whole those missing here or newer at Graph."""
    graph = client or graph_for_app()
    report = HealReport()
    for listed_batch in _batched(
        list_call_records(graph, since=since, until=until, page_size=1000)
    ):
        report.listed += len(listed_batch)
        held = stored_versions(item.id for item in listed_batch)
        wanted = [item.id for item in listed_batch if held.get(item.id, -1) < item.version]
        read = HealReport()
        try:
            _collect_into(read, graph, wanted)
        finally:
            report.fetched += read.fetched
            report.expired += read.expired
            report.stored.add(read.stored)
    return report


def collect_records(*, graph_ids: Iterable[str], client: GraphClient | None = None) -> HealReport:
    """Read these records whole and store them, a store batch at a time (memory stays flat).

    Idempotent by id and version, so several processes may each take a share of the ids
    (or the same ids): whichever stores a version first wins, an older one is ignored.
    """
    graph = client or graph_for_app()
    report = HealReport()
    _collect_into(report, graph, graph_ids)
    return report


def _collect_into(report: HealReport, graph: GraphClient, graph_ids: Iterable[str]) -> None:
    """Read and store, a batch stored while the next batches are read."""
    fetched: list[GraphCallRecord] = []
    batch_size = store_batch()
    try:
        for records, gone in read_whole(graph, graph_ids):
            fetched.extend(records)
            report.listed += len(records) + gone
            report.expired += gone
            if len(fetched) >= batch_size:
                report.fetched += len(fetched)
                report.stored.add(store_records(fetched))
                fetched.clear()
    finally:
        # Throttled past the client's patience: keep what was read; the task's retry
        # goes on from there (what is stored is not read again).
        report.fetched += len(fetched)
        report.stored.add(store_records(fetched))


def _batched(
    items: Iterable[ListedRecord], size: int | None = None
) -> Iterator[list[ListedRecord]]:
    size = size or store_batch()
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk


def heal_recent(*, now: datetime | None = None, hours: int | None = None) -> HealReport:
    """Heal the records of the last ``hours`` (CALLRECORDS_HEAL_HOURS by default)."""
    moment = now or timezone.now()
    return heal(since=moment - timedelta(hours=hours or settings.CALLRECORDS_HEAL_HOURS))


# A heal goes an hour of calls at a time: one worker shares its queue with call callbacks that
# must be answered within seconds, so no single task may hold it for the whole window.
HEAL_SLICE = timedelta(hours=1)


def heal_window(
    *, hours: int | None = None, now: datetime | None = None
) -> tuple[datetime, datetime]:
    """Return the ``(since, until)`` a heal of the last ``hours`` covers."""
    until = now or timezone.now()
    return until - timedelta(hours=hours or settings.CALLRECORDS_HEAL_HOURS), until


def heal_slice(
    *, since: datetime, until: datetime, client: GraphClient | None = None
) -> datetime | None:
    """Heal the newest hour of ``[since, until)``; return where the rest ends, or None if done.

    Newest first, so the dashboard's recent days are whole soonest.
    """
    start = max(since, until - HEAL_SLICE)
    heal(since=start, until=until, client=client)
    return start if start > since else None


def pull_pstn_usage(*, since: datetime, until: datetime, client: GraphClient | None = None) -> int:
    """Store the PSTN and direct-routing calls of a range (idempotent); return rows read."""
    graph = client or graph_for_app()
    count = 0
    for source, rows in (
        ("pstn", get_pstn_calls(graph, since=since, until=until)),
        ("direct", get_direct_routing_calls(graph, since=since, until=until)),
    ):
        batch = [
            PstnCall(
                graph_id=row.id[:64],
                source=source,
                person_id=(row.user_id or "")[:64],
                user_principal_name=(row.user_principal_name or "")[:256],
                display_name=(row.user_display_name or "")[:256],
                start=row.start_date_time,
                duration_seconds=row.duration or 0,
                call_type=(row.call_type or "")[:64],
                charge=row.charge,
                currency=(row.currency or "")[:8],
                destination=(row.destination_name or "")[:128],
                successful=row.successful_call,
            )
            for row in rows
        ]
        count += len(batch)
        PstnCall.objects.bulk_create(
            batch,
            batch_size=1000,
            update_conflicts=True,
            unique_fields=["source", "graph_id"],
            update_fields=["duration_seconds", "charge", "successful", "call_type"],
        )
    return count


def pull_recent_pstn_usage(*, now: datetime | None = None) -> int:
    """Pull the last two days of PSTN and direct-routing calls (run daily)."""
    moment = now or timezone.now()
    return pull_pstn_usage(since=moment - timedelta(days=2), until=moment)


def purge_expired(*, now: datetime | None = None) -> int:
    """Delete calls and PSTN rows older than CALLRECORDS_RETENTION_DAYS; return calls deleted."""
    moment = now or timezone.now()
    # Whole hours, as the dashboard's counts are kept by the hour.
    cutoff = (moment - timedelta(days=settings.CALLRECORDS_RETENTION_DAYS)).replace(
        minute=0, second=0, microsecond=0
    )
    deleted = 0
    while True:
        ids = list(CallRecord.objects.filter(start__lt=cutoff).values_list("pk", flat=True)[:500])
        if not ids:
            break
        CallRecord.objects.filter(pk__in=ids).delete()
        deleted += len(ids)
    PstnCall.objects.filter(start__lt=cutoff).delete()
    rollups.purge_before(cutoff)
    return deleted


def map_subnet(*, subnet: str, building: str) -> BuildingSubnet:
    """Count calls from ``subnet`` (an address or a range) as made in ``building``."""
    mapping, _ = BuildingSubnet.objects.update_or_create(
        subnet=subnet, defaults={"building": building}
    )
    return mapping


def unmap_subnet(*, mapping_id: str) -> bool:
    """Remove one subnet mapping; False when there was none of that id."""
    if not mapping_id.isdigit():
        return False
    return BuildingSubnet.objects.filter(pk=int(mapping_id)).delete()[0] > 0
