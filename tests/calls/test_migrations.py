"""Saved teams arrive with their migration: every list key of the menu keeps its people, now
as a team named after the key."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from calls.models import MenuOption

BEFORE_TEAMS = ("calls", "0004_delegation_read")


def migrate_to(targets: list[tuple[str, str]]) -> None:
    MigrationExecutor(connection).migrate(targets)


def migrate_to_latest() -> None:
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())


# Migrations change the schema, so the test cannot run inside a transaction.
@pytest.mark.django_db(transaction=True)
def test_list_keys_of_the_menu_become_saved_teams_with_their_people() -> None:
    migrate_to([BEFORE_TEAMS])
    try:
        old = MigrationExecutor(connection).loader.project_state([BEFORE_TEAMS]).apps
        person = old.get_model("directory", "Person")
        grace = person.objects.create(graph_id="grace-id", display_name="Grace")
        samuel = person.objects.create(graph_id="samuel-id", display_name="Samuel")
        line = old.get_model("calls", "ReceptionLine").objects.create()
        option = old.get_model("calls", "MenuOption")
        support = option.objects.create(line=line, digit="1", label="Support", kind="list")
        support.members.set([grace, samuel])
        again = option.objects.create(line=line, digit="2", label="Support", kind="list")
        again.members.set([grace])
        option.objects.create(line=line, digit="3", label="Sales", kind="department")
    finally:
        migrate_to_latest()

    keys = {o.digit: o for o in MenuOption.objects.select_related("team")}
    assert keys["1"].team is not None and keys["1"].team.name == "Support"
    assert {p.graph_id for p in keys["1"].team.members.all()} == {"grace-id", "samuel-id"}
    assert keys["2"].team is not None and keys["2"].team.name == "Support (2)"
    assert [p.graph_id for p in keys["2"].members.all()] == ["grace-id"]
    assert keys["3"].team is None
