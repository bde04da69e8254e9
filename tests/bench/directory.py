"""Bring the benchmark's database to the state every benchmark starts from."""

from __future__ import annotations

import time
from typing import Any

from django.core.management import call_command

from directory.models import Person
from directory.sync import sync_directory


def prepare_directory() -> dict[str, Any]:
    """Migrate the fresh database and sync the whole directory from the sandbox tenant."""
    started = time.perf_counter()
    call_command("migrate", verbosity=0, interactive=False)
    migrated = time.perf_counter()
    result = sync_directory(full=True)
    synced = time.perf_counter()
    return {
        "migrate_seconds": round(migrated - started, 2),
        "directory_sync_seconds": round(synced - migrated, 2),
        "people": Person.objects.count(),
        "visible_people": Person.objects.visible().count(),
        "created": result.created,
    }
