"""Read call records from Graph now: given ones by id, or every record of the last hours."""

from __future__ import annotations

from argparse import ArgumentParser
from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand
from django.utils import timezone

from callrecords import services


class Command(BaseCommand):
    help = "Store call records now: --id for given records, else a heal of the last --hours."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--id", action="append", default=[], help="a call record id")
        parser.add_argument("--hours", type=int, default=48, help="how far back to heal")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["id"]:
            for graph_id in options["id"]:
                report = services.collect_record(graph_id=graph_id)
                self.stdout.write(f"{graph_id}: {report}")
            return
        since = timezone.now() - timedelta(hours=options["hours"])
        self.stdout.write(str(services.heal(since=since)))
