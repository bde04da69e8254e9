"""Access guards: pages send people to sign in, scripts get JSON, admins only where asked."""

from __future__ import annotations

import pytest
from django.test import Client

from accounts.models import User

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.accounts.guard_urls")]

BOTH_KINDS = pytest.mark.parametrize("kind", ["sync", "async"])


@pytest.fixture
def adele() -> Client:
    client = Client()
    client.force_login(User.objects.create(username="adele", display_name="Adele Vance"))
    return client


@pytest.fixture
def megan() -> Client:
    client = Client()
    admin = User.objects.create(username="megan", display_name="Megan Bowen", is_portal_admin=True)
    client.force_login(admin)
    return client


@BOTH_KINDS
def test_signed_out_people_are_sent_to_sign_in_and_back_to_the_whole_address(
    client: Client, kind: str
) -> None:
    for guarded in ("signed-in", "admin"):
        response = client.get(f"/guarded/{guarded}/{kind}", {"tab": "2"})
        assert response.status_code == 302
        assert response["Location"] == (
            f"/accounts/signin/?next=/guarded/{guarded}/{kind}%3Ftab%3D2"
        )


@BOTH_KINDS
def test_signed_in_people_reach_the_page(adele: Client, kind: str) -> None:
    response = adele.get(f"/guarded/signed-in/{kind}")
    assert response.status_code == 200
    assert response.content == b"for people signed in"


@BOTH_KINDS
def test_a_signed_out_script_gets_json_401_and_no_redirect(client: Client, kind: str) -> None:
    for guarded in ("signed-in-api", "admin-api"):
        response = client.get(f"/guarded/{guarded}/{kind}")
        assert response.status_code == 401
        assert "Location" not in response
        assert response["Content-Type"] == "application/json"
        assert response.json() == {"error": "You are signed out; sign in first."}


@BOTH_KINDS
def test_a_signed_in_script_gets_its_answer(adele: Client, kind: str) -> None:
    response = adele.get(f"/guarded/signed-in-api/{kind}")
    assert response.status_code == 200
    assert response.content == b"for people signed in"


@BOTH_KINDS
def test_people_who_are_not_admins_get_the_forbidden_page(adele: Client, kind: str) -> None:
    response = adele.get(f"/guarded/admin/{kind}")
    assert response.status_code == 403
    page = response.content.decode()
    assert "have access to this page" in page
    assert "Adele Vance" in page


@BOTH_KINDS
def test_scripts_of_people_who_are_not_admins_get_json_403(adele: Client, kind: str) -> None:
    response = adele.get(f"/guarded/admin-api/{kind}")
    assert response.status_code == 403
    assert response.json() == {"error": "Only portal admins may do this."}


@BOTH_KINDS
def test_admins_reach_admin_pages_and_scripts(megan: Client, kind: str) -> None:
    for guarded in ("admin", "admin-api"):
        response = megan.get(f"/guarded/{guarded}/{kind}")
        assert response.status_code == 200
        assert response.content == b"for admins"


def test_an_async_feature_page_asks_for_consent_first(client: Client, adele: Client) -> None:
    signed_out = client.get("/guarded/consent/async")
    assert signed_out["Location"] == "/accounts/signin/?next=/guarded/consent/async"
    asked = adele.get("/guarded/consent/async")
    assert asked.status_code == 302
    assert asked["Location"] == (
        "/accounts/consent/?feature=meetings&next=%2Fguarded%2Fconsent%2Fasync"
    )
