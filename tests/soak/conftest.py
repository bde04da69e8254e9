"""The soak scenarios' table: printed at the end of the run and written under var/soak/."""

from __future__ import annotations

import pytest

from tests.soak import report, services


def pytest_sessionfinish(session: pytest.Session) -> None:
    """Drop the scenarios' databases still queued, and the migrated template."""
    services.finish_drops()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Print the scenarios' table and write it under var/soak/."""
    if not report.ROWS:
        return
    path = report.write(report.ROWS)
    terminalreporter.write_sep("=", "soak scenarios")
    terminalreporter.write_line(report.table(report.ROWS))
    terminalreporter.write_line(f"written to {path}")
