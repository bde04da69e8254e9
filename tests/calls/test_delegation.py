"""Call delegation (beta): read with the person's own token, shown on person pages."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from accounts.identity import FEATURE_SCOPES
from accounts.models import User
from calls.models import CallDelegate
from directory.sync import sync_directory
from tests.support.cast import DANIEL, LENA, MEGAN
from tests.support.portal_signin import sign_in_person

pytestmark = pytest.mark.django_db(transaction=True)


def test_my_delegates_reads_graph_and_the_person_pages_show_it(client: Client) -> None:
    sync_directory()
    user = sign_in_person(MEGAN, scopes=FEATURE_SCOPES["calldelegation"])
    client.force_login(User.objects.get(pk=user.pk))

    page = client.get(reverse("calls:my_delegates"))

    assert page.status_code == 200
    text = page.content.decode()
    assert "Daniel Okafor" in text and "Lena Brandt" in text
    rows = CallDelegate.objects.filter(delegator__user_principal_name=MEGAN)
    assert {row.delegate.user_principal_name for row in rows} == {DANIEL, LENA}
    assert all(row.receives_calls for row in rows)
    megan = rows.first().delegator  # type: ignore[union-attr]
    daniel = rows.get(delegate__user_principal_name=DANIEL).delegate
    on_megan = client.get(reverse("presence:person", args=[megan.graph_id])).content.decode()
    on_daniel = client.get(reverse("presence:person", args=[daniel.graph_id])).content.decode()
    assert "Their calls can be taken by" in on_megan and "Daniel Okafor" in on_megan
    assert "Takes calls for" in on_daniel and "Megan Reyes" in on_daniel
    # Only one's own page leads to "My delegates".
    assert reverse("calls:my_delegates") in on_megan
    assert reverse("calls:my_delegates") not in on_daniel


def test_without_the_permission_the_person_is_asked_for_it_first(client: Client) -> None:
    user = sign_in_person(LENA)
    client.force_login(User.objects.get(pk=user.pk))

    asked = client.get(reverse("calls:my_delegates"))

    assert asked.status_code == 302
    assert asked["Location"].startswith("/accounts/consent/?feature=calldelegation")
