"""The periodic directory sync reaches the task that runs it."""

from __future__ import annotations

from comms_portal.celery import app
from directory.tasks import sync_directory


def test_the_beat_entry_names_the_directory_sync_task() -> None:
    app.loader.import_default_modules()
    entry = app.conf.beat_schedule["sync-directory"]
    assert entry["task"] == sync_directory.name == "directory.tasks.sync_directory"
    assert "presence.sync_directory" not in app.tasks
