"""Directory sync: people from Graph's /users/delta into Person rows, with managers and rules."""

# https://learn.microsoft.com/graph/api/user-delta
# https://learn.microsoft.com/graph/delta-query-overview

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts.graph_clients import graph_for_app
from comms_portal.graph import (
    BatchRequest,
    GraphClient,
    GraphError,
    User,
    UsersDelta,
    send_batch,
)
from comms_portal.graph.users import users_delta
from comms_portal.redis_client import get_redis
from directory.models import DirectorySync, Person
from directory.rules import HideRule, is_hidden_by, parse_hide_rules
from directory.signals import people_disabled, people_enabled, people_removed

logger = logging.getLogger(__name__)

SYNC_NAME = "users"
LOCK_KEY = "portal:directory-sync-lock"
# Longer than any sync of a large tenant; a crashed run frees the lock after this.
LOCK_TIMEOUT_SECONDS = 1800
BULK_SIZE = 500
QUERY_CHUNK = 900

_SYNCED_FIELDS = [
    "user_principal_name",
    "display_name",
    "given_name",
    "surname",
    "mail",
    "job_title",
    "department",
    "office_location",
    "account_enabled",
    "is_hidden",
    "removed_at",
    "synced_at",
]


@dataclass(frozen=True)
class SyncResult:
    """What one sync run did."""

    skipped: bool = False
    full: bool = False
    created: int = 0
    updated: int = 0
    removed: int = 0
    managers_checked: int = 0


def _chunks(items: Sequence[str], size: int) -> Iterable[Sequence[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _apply_user(person: Person, user: User, *, hidden: bool, now: datetime) -> None:
    person.user_principal_name = user.user_principal_name or ""
    person.display_name = user.display_name or user.user_principal_name or user.id
    person.given_name = user.given_name or ""
    person.surname = user.surname or ""
    person.mail = user.mail or ""
    person.job_title = user.job_title or ""
    person.department = user.department or ""
    person.office_location = user.office_location or ""
    person.account_enabled = user.account_enabled is not False
    person.is_hidden = hidden
    person.removed_at = None
    person.synced_at = now


@dataclass(frozen=True)
class StoredChanges:
    """What storing one round's changed people did, and whose access changed with it."""

    created: int
    updated: int
    # Read as disabled this round (new, newly or still disabled).
    disabled_ids: list[str]
    # Enabled this round after being disabled or removed before.
    enabled_ids: list[str]


def _store_changed(users: list[User], rules: Sequence[HideRule], now: datetime) -> StoredChanges:
    """Create or update a Person per user in bulk; say who was disabled and who is back."""
    # The last entry for an id wins: a delta round may list a person more than once.
    latest = {user.id: user for user in users}
    ids = list(latest)
    existing: dict[str, Person] = {}
    for chunk in _chunks(ids, QUERY_CHUNK):
        existing.update((p.graph_id, p) for p in Person.objects.filter(graph_id__in=chunk))
    to_create: list[Person] = []
    to_update: list[Person] = []
    disabled: list[str] = []
    enabled: list[str] = []
    for graph_id, user in latest.items():
        person = existing.get(graph_id)
        if person is None:
            person = Person(graph_id=graph_id)
            to_create.append(person)
        else:
            to_update.append(person)
            if user.account_enabled is not False and (
                not person.account_enabled or person.removed_at is not None
            ):
                enabled.append(graph_id)
        if user.account_enabled is False:
            disabled.append(graph_id)
        _apply_user(person, user, hidden=is_hidden_by(rules, user), now=now)
    Person.objects.bulk_create(to_create, batch_size=BULK_SIZE)
    Person.objects.bulk_update(to_update, _SYNCED_FIELDS, batch_size=BULK_SIZE)
    return StoredChanges(len(to_create), len(to_update), disabled, enabled)


def _mark_removed(graph_ids: Sequence[str], now: datetime) -> int:
    removed = 0
    for chunk in _chunks(graph_ids, QUERY_CHUNK):
        removed += Person.objects.filter(graph_id__in=chunk, removed_at__isnull=True).update(
            removed_at=now, synced_at=now
        )
    return removed


def fetch_manager_ids(client: GraphClient, person_ids: Sequence[str]) -> dict[str, str | None]:
    """Return each person's manager id (None when they have none), 20 lookups per $batch."""
    # https://learn.microsoft.com/graph/api/user-list-manager
    requests = [
        BatchRequest("GET", f"/users/{person_id}/manager?$select=id") for person_id in person_ids
    ]
    managers: dict[str, str | None] = {}
    for person_id, result in zip(person_ids, send_batch(client, requests), strict=True):
        if result.status == 404:
            managers[person_id] = None
        elif result.ok and isinstance(result.body, dict) and isinstance(result.body.get("id"), str):
            managers[person_id] = result.body["id"]
        else:
            # Left as it was; the next full sync looks again.
            logger.warning("manager of %s unknown: %s", person_id, result.error)
    return managers


def _store_managers(managers: dict[str, str | None]) -> None:
    wanted = {m for m in managers.values() if m is not None} | set(managers)
    pk_by_graph_id: dict[str, int] = {}
    ordered = sorted(wanted)
    for chunk in _chunks(ordered, QUERY_CHUNK):
        pk_by_graph_id.update(
            Person.objects.filter(graph_id__in=chunk).values_list("graph_id", "pk")
        )
    people: list[Person] = []
    for person_id, manager_id in managers.items():
        pk = pk_by_graph_id.get(person_id)
        if pk is None:
            continue
        manager_pk = pk_by_graph_id.get(manager_id) if manager_id else None
        people.append(Person(pk=pk, manager_id=manager_pk))
    Person.objects.bulk_update(people, ["manager"], batch_size=BULK_SIZE)


def _resumable(client: GraphClient, delta_link: str) -> bool:
    # A link from another Graph host (configuration changed) cannot be followed with our token.
    return bool(delta_link) and client.is_own_origin(delta_link)


def _run_delta(client: GraphClient, record: DirectorySync, full: bool) -> tuple[bool, UsersDelta]:
    """Run one delta round, starting over when the stored link is gone or refused."""
    if not full and _resumable(client, record.delta_link):
        try:
            return False, users_delta(client, record.delta_link)
        except GraphError as error:
            # 410 Gone (token too old) or a token Graph no longer understands: resync.
            if error.status not in (400, 410):
                raise
            logger.warning("directory delta link refused (%s); starting a full sync", error)
    return True, users_delta(client, None)


def sync_directory(*, full: bool = False, client: GraphClient | None = None) -> SyncResult:
    """Bring Person rows in line with the directory; incremental unless ``full`` or first run."""
    lock = get_redis().lock(LOCK_KEY, timeout=LOCK_TIMEOUT_SECONDS, blocking=False)
    if not lock.acquire():
        logger.info("directory sync already running elsewhere; skipped")
        return SyncResult(skipped=True)
    try:
        return _sync_locked(full=full, client=client or graph_for_app())
    finally:
        lock.release()


def _sync_locked(*, full: bool, client: GraphClient) -> SyncResult:
    rules = parse_hide_rules(settings.DIRECTORY_HIDE_RULES)
    record, _ = DirectorySync.objects.get_or_create(name=SYNC_NAME)
    started = timezone.now()
    record.last_started_at = started
    record.save(update_fields=["last_started_at"])
    try:
        was_full, delta = _run_delta(client, record, full)
        changed = delta.changed
        removed_ids = list(delta.removed_ids)
        managers = fetch_manager_ids(client, [user.id for user in changed])
        with transaction.atomic():
            stored = _store_changed(changed, rules, started)
            created, updated = stored.created, stored.updated
            removed = _mark_removed(removed_ids, started)
            if was_full:
                # A full round lists everyone alive: whoever it left out is gone.
                gone = list(
                    Person.objects.filter(synced_at__lt=started, removed_at__isnull=True)
                    .values_list("graph_id", flat=True)
                    .iterator()
                )
                removed += _mark_removed(gone, started)
                removed_ids = [*removed_ids, *gone]
            _store_managers(managers)
            record.delta_link = delta.delta_link
            record.runs += 1
            record.full_runs += int(was_full)
            record.last_changed = created + updated
            record.last_removed = removed
            record.last_finished_at = timezone.now()
            record.last_error = ""
            record.save()
        # After commit: whoever keeps state about people (presence) lets go of the leavers,
        # and accounts keeps leavers and disabled people out.
        tenant_id = settings.MICROSOFT_TENANT_ID
        if removed_ids:
            people_removed.send(sender=Person, graph_ids=removed_ids, tenant_id=tenant_id)
        if stored.disabled_ids:
            people_disabled.send(sender=Person, graph_ids=stored.disabled_ids, tenant_id=tenant_id)
        if stored.enabled_ids:
            people_enabled.send(sender=Person, graph_ids=stored.enabled_ids, tenant_id=tenant_id)
    except Exception as error:
        DirectorySync.objects.filter(pk=record.pk).update(
            last_error=f"{type(error).__name__}: {error}"[:2000], last_error_at=timezone.now()
        )
        raise
    logger.info(
        "directory sync (%s): %d new, %d updated, %d removed",
        "full" if was_full else "incremental",
        created,
        updated,
        removed,
    )
    return SyncResult(
        full=was_full,
        created=created,
        updated=updated,
        removed=removed,
        managers_checked=len(managers),
    )
