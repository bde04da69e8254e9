"""People's photos: only for the signed-in, from Graph and cached, initials when there is none."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client

from accounts.models import User
from directory.models import Person
from tests.presence.wall_cast import Directory, directory_fixture, graph_id  # noqa: F401  (fixture)

pytestmark = pytest.mark.django_db


def test_photos_are_only_for_people_signed_in(client: Client, directory: Directory) -> None:
    assert client.get(f"/directory/people/{directory.ada.graph_id}/photo").status_code == 401


def test_unknown_or_hidden_people_have_no_photo(client: Client, directory: Directory) -> None:
    directory.hedy.is_hidden = True
    directory.hedy.save()
    client.force_login(directory.viewer)
    assert client.get(f"/directory/people/{graph_id(424242)}/photo").status_code == 404
    assert client.get(f"/directory/people/{directory.hedy.graph_id}/photo").status_code == 404


def _sandbox_user(upn: str) -> dict[str, str]:
    info = json.loads(Path(settings.SANDBOX_INFO_FILE).read_text())
    return next(u for u in info["users"] if u["userPrincipalName"] == upn)


# Photos are fetched on a worker thread with its own database connection.
@pytest.mark.django_db(transaction=True)
def test_photo_comes_from_graph_and_is_cached(
    client: Client,
    directory: Directory,
    django_user_model: type[User],
) -> None:
    priya = _sandbox_user("priya.natarajan@lumenhall.example")
    Person.objects.create(
        graph_id=priya["id"],
        display_name=priya["displayName"],
        user_principal_name=priya["userPrincipalName"],
    )
    client.force_login(directory.viewer)
    first = client.get(f"/directory/people/{priya['id']}/photo")
    assert first.status_code == 200
    assert first["Content-Type"].startswith("image/")
    assert first["Content-Type"] != "image/svg+xml"
    assert first["Cache-Control"] == "private, max-age=3600"
    assert client.get(f"/directory/people/{priya['id']}/photo").content == first.content


# Photos are fetched on a worker thread with its own database connection.
@pytest.mark.django_db(transaction=True)
def test_a_person_graph_has_no_photo_for_gets_their_initials(
    client: Client,
    directory: Directory,
) -> None:
    # The cast's ids are not in the sandbox tenant, so Graph answers 404 for their photo.
    client.force_login(directory.viewer)
    response = client.get(f"/directory/people/{directory.ada.graph_id}/photo")
    assert response.status_code == 200
    assert response["Content-Type"] == "image/svg+xml"
    assert b">AL</text>" in response.content
