"""Real faults a test can put the portal through: its database out of reach."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connection


@contextmanager
def database_unavailable() -> Iterator[None]:
    """Make every query of this process fail, as when the database is down, until the end."""
    if connection.vendor == "sqlite":
        # The test database lives in memory, shared by this process's connections: another
        # connection writing to every table makes each query fail "database table is locked".
        blocker = sqlite3.connect(connection.settings_dict["NAME"], uri=True, isolation_level=None)
        blocker.execute("BEGIN IMMEDIATE")
        for table in connection.introspection.table_names():
            blocker.execute(f'UPDATE "{table}" SET rowid = rowid WHERE 0')  # noqa: S608
        try:
            yield
        finally:
            blocker.execute("ROLLBACK")
            blocker.close()
        return
    # PostgreSQL: the connections (and their pool) go, and the address leads nowhere.
    real = dict(connection.settings_dict)
    _disconnect()
    connection.settings_dict["PORT"] = "1"
    try:
        yield
    finally:
        _disconnect()
        connection.settings_dict.clear()
        connection.settings_dict.update(real)


def _disconnect() -> None:
    connection.close()
    close_pool = getattr(connection, "close_pool", None)
    if close_pool is not None:
        close_pool()
