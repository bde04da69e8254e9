"""A feature asks for its extra permissions the first time it is used."""

from __future__ import annotations

import httpx
import pytest
from django.test import Client

from accounts.graph_clients import graph_for_user
from accounts.guards import requires_consent
from accounts.identity import FEATURE_SCOPES
from accounts.models import User
from accounts.views import BINDING_COOKIE
from comms_portal.graph import users
from tests.support.cast import PRIYA, TOMAS
from tests.support.entra_signin import sign_in as answer_sign_in_pages
from tests.support.portal_signin import sign_in_person

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.urls("tests.accounts.consent_urls"),
]


def test_signed_out_people_are_sent_to_sign_in_first(client: Client) -> None:
    response = client.get("/needs-meetings/")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/signin/?next=/needs-meetings/"


def test_the_first_use_asks_for_consent_and_returns_the_person(client: Client) -> None:
    user = sign_in_person(TOMAS)
    assert not user.has_scopes(FEATURE_SCOPES["meetings"])
    client.force_login(user)

    asked = client.get("/needs-meetings/")
    assert asked.status_code == 302
    assert asked["Location"] == "/accounts/consent/?feature=meetings&next=%2Fneeds-meetings%2F"

    to_authority = client.get(asked["Location"])
    assert to_authority.status_code == 302
    authorize_url = to_authority["Location"]
    assert "OnlineMeetings.ReadWrite" in authorize_url
    with httpx.Client(timeout=10) as browser:
        answer = answer_sign_in_pages(
            browser,
            authorize_url,
            "http://127.0.0.1:8000/accounts/callback",
            username=TOMAS,
            password="Sandbox-Demo-2024!",
        )
    client.cookies[BINDING_COOKIE] = to_authority.cookies[BINDING_COOKIE].value
    back = client.post("/accounts/callback", answer)
    assert back.status_code == 302
    assert back["Location"] == "/needs-meetings/"

    user.refresh_from_db()
    assert user.has_scopes(FEATURE_SCOPES["meetings"])
    assert user.has_scopes(["Presence.Read.All"])  # earlier consent is kept
    assert client.get("/needs-meetings/").content == b"meetings for you"
    # The stored refresh token now yields tokens for the new scopes too.
    assert users.get_me(graph_for_user(user.pk, FEATURE_SCOPES["meetings"])).id == user.object_id


def test_people_who_consented_go_straight_in(client: Client) -> None:
    user = sign_in_person(PRIYA, scopes=FEATURE_SCOPES["meetings"])
    client.force_login(User.objects.get(pk=user.pk))
    assert client.get("/needs-meetings/").content == b"meetings for you"


def test_an_unknown_feature_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="unknown feature"):
        requires_consent("teleportation")
