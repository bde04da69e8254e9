"""``python -m tests.bench [--quick] [--only NAME]``: run the presence benchmarks, print, save."""

from __future__ import annotations

import argparse
import importlib
import sys
import time
import traceback
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import django

from tests.bench.harness import FULL, QUICK, BenchEnvironment
from tests.bench.report import RESULTS_DIR, Section, format_section, write_results

# Benchmark name -> module with ``run(bench) -> Section``. Modules load once Django is set up,
# because they work with the portal's models.
BENCHMARKS = {
    "graph": "tests.bench.graph_requests",
    "wall": "tests.bench.wall",
    "search": "tests.bench.search",
    "latency": "tests.bench.latency",
    "company": "tests.bench.company",
    "webhook": "tests.bench.webhook",
    "calls": "tests.bench.calls",
    "events": "tests.bench.events",
    "meetings": "tests.bench.meetings",
    "meeting-roster": "tests.bench.meeting_roster",
    "callrecords": "tests.bench.callrecords",
}


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m tests.bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke test")
    parser.add_argument(
        "--only",
        action="append",
        choices=sorted(BENCHMARKS),
        help="run only this benchmark (repeatable)",
    )
    parser.add_argument(
        "--part",
        action="append",
        default=[],
        help="run only this part of a benchmark made of parts (repeatable; meetings: create, "
        "roster, attendance)",
    )
    parser.add_argument(
        "--database",
        choices=("auto", "postgres", "sqlite"),
        default="auto",
        help="the portal's database: the local PostgreSQL when it answers (auto), or SQLite",
    )
    parser.add_argument(
        "--output-dir", type=Path, default=RESULTS_DIR, help="where the JSON results go"
    )
    parser.add_argument(
        "--keep-files", action="store_true", help="keep the run's logs and state afterwards"
    )
    return parser.parse_args(argv)


def say(message: str) -> None:
    print(f"[bench] {message}", flush=True)


def failed_section(name: str, error: BaseException) -> Section:
    """Return a section that records why a benchmark could not finish."""
    section = Section(name=name, title=f"{name}: did not finish", columns=["error"])
    section.rows.append({"error": f"{type(error).__name__}: {error}"})
    section.details["traceback"] = traceback.format_exception(error)
    return section


def main(argv: Sequence[str] | None = None) -> int:
    """Start the services, run the chosen benchmarks, print the tables and write the JSON."""
    args = parse_args(argv)
    names = [name for name in BENCHMARKS if not args.only or name in args.only]
    bench = BenchEnvironment(
        sizes=QUICK if args.quick else FULL,
        database=args.database,
        keep_files=args.keep_files,
        parts=tuple(args.part),
    )
    started_at = datetime.now(UTC)
    started = time.monotonic()
    sections: list[Section] = []
    setup: dict[str, Any] = {}
    failed = False
    try:
        say(f"starting Redis and a {bench.sizes.users:,}-person sandbox tenant in {bench.run_dir}")
        bench.start()
        django.setup()
        directory = importlib.import_module("tests.bench.directory")
        setup = directory.prepare_directory()
        say(f"database {bench.database_kind}, directory synced: {setup}")
        for name in names:
            say(f"running {name}")
            begun = time.monotonic()
            try:
                section = importlib.import_module(BENCHMARKS[name]).run(bench)
            except Exception as error:  # recorded; the other benchmarks still run
                failed = True
                section = failed_section(name, error)
                traceback.print_exc()
            section.details["seconds"] = round(time.monotonic() - begun, 1)
            sections.append(section)
            print("\n" + format_section(section) + "\n", flush=True)
    finally:
        bench.stop()
    run = {
        "started_at": started_at.isoformat(),
        "quick": args.quick,
        "benchmarks": names,
        "seconds": round(time.monotonic() - started, 1),
        "setup": {**setup, "database": bench.database_kind, "users": bench.sizes.users},
    }
    path = write_results(sections, run=run, output_dir=args.output_dir)
    say(f"results written to {path} (and latest.json) in {run['seconds']} s")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
