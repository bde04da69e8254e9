"""Several reads sent to the database at once: one round trip where there would be one each.

On PostgreSQL the queries go out in psycopg's pipeline mode: the server still runs them one
after the other, each with its own snapshot taken when it starts (READ COMMITTED), so a read
that follows a ``SELECT ... FOR UPDATE`` sees what the lock's previous holder committed, as
it would one round trip later. Other databases run them one by one.
https://www.psycopg.org/psycopg3/docs/advanced/pipeline.html
"""

from __future__ import annotations

from typing import Any

from django.db import connections
from django.db.models import QuerySet
from django.db.models.query import FlatValuesListIterable, ModelIterable, ValuesListIterable

_KNOWN_ITERABLES = (ModelIterable, ValuesListIterable, FlatValuesListIterable)


def fetch_together(*querysets: QuerySet[Any, Any]) -> list[list[Any]]:
    """Evaluate ``querysets`` (of model instances or ``values_list`` rows), in order.

    Each must be a plain query of its model's own fields (no ``select_related``, no
    annotations, no ``only``), on one database.
    """
    for queryset in querysets:
        if queryset._iterable_class not in _KNOWN_ITERABLES:
            raise ValueError("only model instances and values_list rows are fetched together")
    aliases = {queryset.db for queryset in querysets}
    if len(querysets) < 2 or len(aliases) != 1:
        return [list(queryset) for queryset in querysets]
    (alias,) = aliases
    connection = connections[alias]
    if connection.vendor != "postgresql":
        return [list(queryset) for queryset in querysets]
    compilers = [queryset.query.get_compiler(using=alias) for queryset in querysets]
    statements = [compiler.as_sql() for compiler in compilers]
    connection.ensure_connection()
    cursors = []
    with connection.connection.pipeline():
        for sql, params in statements:
            cursor = connection.cursor()
            cursor.execute(sql, params)
            cursors.append(cursor)
        # The first fetch sends them all and waits once.
        fetched = [cursor.fetchall() for cursor in cursors]
    for cursor in cursors:
        cursor.close()
    return [
        _objects_of(queryset, compiler, rows)
        for queryset, compiler, rows in zip(querysets, compilers, fetched, strict=True)
    ]


def _objects_of(queryset: QuerySet[Any, Any], compiler: Any, rows: list[Any]) -> list[Any]:
    """Turn fetched rows into what iterating ``queryset`` would have given."""
    converted = compiler.results_iter(results=[rows], tuple_expected=True)
    if queryset._iterable_class is FlatValuesListIterable:
        return [row[0] for row in converted]
    if queryset._iterable_class is ValuesListIterable:
        return list(converted)
    model = compiler.klass_info["model"]
    positions = compiler.klass_info["select_fields"]
    start, end = positions[0], positions[-1] + 1
    names = [column[0].target.attname for column in compiler.select[start:end]]
    return [model.from_db(queryset.db, names, row[start:end]) for row in converted]
