"""People the directory removes lose their stored presence; everyone else keeps theirs."""

from __future__ import annotations

import pytest
from django.conf import settings

from directory.models import Person
from directory.signals import people_removed
from presence import store
from tests.presence.wall_cast import Directory, directory_fixture, presence  # noqa: F401  (fixture)

pytestmark = pytest.mark.django_db


def test_a_person_the_directory_removes_loses_their_stored_presence(directory: Directory) -> None:
    store.apply_updates(
        [
            presence(directory.alan, "Busy", "InACall"),
            presence(directory.hedy, "Available", "Available"),
        ]
    )

    people_removed.send(
        sender=Person, graph_ids=[directory.alan.graph_id], tenant_id=settings.MICROSOFT_TENANT_ID
    )

    assert store.get_one(directory.alan.graph_id) is None
    hedy = store.get_one(directory.hedy.graph_id)
    assert hedy is not None and hedy.availability == "Available"
