"""Moving Person and DirectorySync from presence to directory keeps every row and link."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from directory.models import DirectorySync, Person
from presence.models import AvailabilityAlert, Favourite

BEFORE_THE_MOVE = ("presence", "0002_engine")


def migrate_to(targets: list[tuple[str, str | None]]) -> None:
    executor = MigrationExecutor(connection)
    executor.migrate(targets)


def foreign_keys(table: str) -> set[tuple[str, str, str]]:
    """Return (column, referenced table, referenced column) of each foreign key of ``table``."""
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, table)
    return {
        (spec["columns"][0], *spec["foreign_key"])
        for spec in constraints.values()
        if spec["foreign_key"]
    }


def migrate_to_latest() -> None:
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())


# Migrations change the schema, so the test cannot run inside a transaction.
@pytest.mark.django_db(transaction=True)
def test_people_favourites_and_alerts_survive_the_move_to_the_directory_app() -> None:
    migrate_to([("directory", None)])
    try:
        tables = connection.introspection.table_names()
        assert "presence_person" in tables and "directory_person" not in tables

        old = MigrationExecutor(connection).loader.project_state([BEFORE_THE_MOVE]).apps
        old_person = old.get_model("presence", "Person")
        grace = old_person.objects.create(
            graph_id="grace-id", user_principal_name="grace@move.example", display_name="Grace"
        )
        ada = old_person.objects.create(
            graph_id="ada-id",
            user_principal_name="ada@move.example",
            display_name="Ada",
            job_title="Engineer",
            manager=grace,
        )
        viewer = old.get_model("accounts", "User").objects.create(username="viewer")
        old.get_model("presence", "Favourite").objects.create(user=viewer, person=ada)
        old.get_model("presence", "AvailabilityAlert").objects.create(user=viewer, person=grace)
        old.get_model("presence", "DirectorySync").objects.create(delta_link="https://resume")
    finally:
        migrate_to_latest()

    tables = connection.introspection.table_names()
    assert "directory_person" in tables and "presence_person" not in tables
    assert "directory_directorysync" in tables and "presence_directorysync" not in tables

    ada = Person.objects.get(graph_id="ada-id")
    assert (ada.display_name, ada.job_title) == ("Ada", "Engineer")
    assert ada.manager is not None and ada.manager.graph_id == "grace-id"
    assert [p.graph_id for p in Person.objects.get(graph_id="grace-id").reports.all()] == ["ada-id"]
    favourite = Favourite.objects.select_related("person", "user").get()
    assert (favourite.user.username, favourite.person.graph_id) == ("viewer", "ada-id")
    assert AvailabilityAlert.objects.get().person.graph_id == "grace-id"
    assert DirectorySync.objects.get().delta_link == "https://resume"

    assert ("person_id", "directory_person", "id") in foreign_keys("presence_favourite")
    assert ("person_id", "directory_person", "id") in foreign_keys("presence_availabilityalert")
    assert ("manager_id", "directory_person", "id") in foreign_keys("directory_person")

    # New rows get fresh ids after the rename, and the foreign keys still cascade.
    Person.objects.create(graph_id="hedy-id", user_principal_name="hedy@move.example")
    ada.delete()
    assert not Favourite.objects.exists()
    assert Person.objects.count() == 2
