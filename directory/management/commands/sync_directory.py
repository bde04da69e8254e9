"""``manage.py sync_directory``: bring the people directory up to date from Graph now."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from directory.sync import sync_directory


class Command(BaseCommand):
    help = "Sync the people directory from Graph (/users/delta); incremental after the first run."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--full", action="store_true", help="ignore the stored deltaLink and read everyone"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        result = sync_directory(full=bool(options["full"]))
        if result.skipped:
            self.stdout.write("Another directory sync is running; nothing done.")
            return
        kind = "full" if result.full else "incremental"
        self.stdout.write(
            f"Directory sync ({kind}): {result.created} new, {result.updated} updated, "
            f"{result.removed} removed."
        )
