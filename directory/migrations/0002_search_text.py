"""People's searchable text, and on PostgreSQL a trigram index over it for typo-tolerant search.

The index needs the pg_trgm extension. Creating an extension needs rights a deployment may
not grant, so its absence is not an error: the search then uses its own fallback (as on SQLite).
"""

from __future__ import annotations

import logging

from django.db import DatabaseError, migrations, models, transaction
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.migrations.state import StateApps
from django.db.models.functions import Concat, Lower

logger = logging.getLogger(__name__)

INDEX = "directory_person_search_trgm"


def create_trigram_index(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    connection = schema_editor.connection
    if connection.vendor != "postgresql":
        return
    try:
        # A savepoint: a refused CREATE EXTENSION must not abort the migration's transaction.
        with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
            cursor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    except DatabaseError as error:
        logger.warning("pg_trgm could not be created (%s); search uses its fallback", error)
        return
    with connection.cursor() as cursor:
        cursor.execute(
            f"CREATE INDEX IF NOT EXISTS {INDEX} ON directory_person "
            "USING gin (search_text gin_trgm_ops)"
        )


def drop_trigram_index(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    if schema_editor.connection.vendor == "postgresql":
        with schema_editor.connection.cursor() as cursor:
            # The extension stays: other databases objects may use it.
            cursor.execute(f"DROP INDEX IF EXISTS {INDEX}")


class Migration(migrations.Migration):
    dependencies = [
        ("directory", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="person",
            name="search_text",
            field=models.GeneratedField(
                db_persist=True,
                expression=Lower(
                    Concat(
                        "display_name",
                        models.Value(" "),
                        "job_title",
                        models.Value(" "),
                        "department",
                        models.Value(" "),
                        "user_principal_name",
                        models.Value(" "),
                        "mail",
                        output_field=models.TextField(),
                    )
                ),
                output_field=models.TextField(),
            ),
        ),
        migrations.RunPython(create_trigram_index, drop_trigram_index),
    ]
