"""Call delegation (beta): read with the person's own token, shown on person pages."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.identity import FEATURE_SCOPES
from accounts.models import User
from calls import delegation, services
from calls.models import CallDelegate, DelegationRead
from calls.tasks import refresh_delegations
from comms_portal.celery import app
from directory.models import Person
from directory.sync import sync_directory
from tests.calls.support import control
from tests.support.cast import DANIEL, LENA, MEGAN, PRIYA, TOMAS
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
    assert "Read from Teams at" in on_megan
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


def test_signed_in_people_s_delegation_is_read_in_the_background_a_few_at_a_time(
    client: Client, settings: Any
) -> None:
    sync_directory()
    # Two people read once per ten minutes, at a pass every five: one a pass.
    settings.CALLS_DELEGATION_REFRESH_SECONDS = 600
    sign_in_person(MEGAN, scopes=FEATURE_SCOPES["calldelegation"])
    sign_in_person(PRIYA, scopes=FEATURE_SCOPES["calldelegation"])
    sign_in_person(LENA)  # not allowed: never read
    start = timezone.now()

    assert delegation.refresh_due_delegations(now=start) == 1
    assert delegation.refresh_due_delegations(now=start + timedelta(minutes=5)) == 1
    assert delegation.refresh_due_delegations(now=start + timedelta(minutes=6)) == 0

    pairs = {
        (row.delegator.user_principal_name, row.delegate.user_principal_name, row.makes_calls)
        for row in CallDelegate.objects.select_related("delegator", "delegate")
    }
    assert pairs == {(MEGAN, DANIEL, True), (MEGAN, LENA, False), (PRIYA, TOMAS, True)}
    megan = Person.objects.get(user_principal_name=MEGAN)
    # The reception line's routing has Megan's delegates without her opening My delegates.
    routed = {p.user_principal_name for p in services.delegates_receiving_calls(megan)}
    assert routed == {DANIEL, LENA}
    read = {r.person.user_principal_name: r.read_at for r in DelegationRead.objects.all()}
    assert set(read) == {MEGAN, PRIYA} and all(read.values())

    # Anyone may see it, and when it was read, on the person pages.
    viewer = sign_in_person(TOMAS)
    client.force_login(User.objects.get(pk=viewer.pk))
    on_megan = client.get(reverse("presence:person", args=[megan.graph_id])).content.decode()
    assert "Read from Teams at" in on_megan
    daniel = Person.objects.get(user_principal_name=DANIEL)
    assert f'data-delegate="{daniel.graph_id}"' in on_megan
    assert "answers their calls, makes calls for them" in on_megan
    lena = Person.objects.get(user_principal_name=LENA)
    on_lena = client.get(reverse("presence:person", args=[lena.graph_id])).content.decode()
    assert 'data-delegation-read="never"' in on_lena and "Takes calls for" in on_lena

    # A change made in Teams reaches the portal once the person's turn comes again.
    priya = Person.objects.get(user_principal_name=PRIYA)
    control("POST", f"/calls/delegates/{priya.graph_id}", {"delegates": [{"id": daniel.graph_id}]})
    try:
        later = start + timedelta(minutes=11)
        assert delegation.refresh_due_delegations(now=later) == 1
        assert delegation.refresh_due_delegations(now=later + timedelta(minutes=5)) == 1
        assert [p.user_principal_name for p in services.delegates_receiving_calls(priya)] == [
            DANIEL
        ]
    finally:
        tomas = Person.objects.get(user_principal_name=TOMAS)
        control(
            "POST",
            f"/calls/delegates/{priya.graph_id}",
            {"delegates": [{"id": tomas.graph_id, "makeCalls": True}]},
        )


def test_the_beat_runs_the_refresh_at_the_period_its_spread_assumes() -> None:
    app.loader.import_default_modules()
    entry = app.conf.beat_schedule["refresh-call-delegation"]

    assert entry["task"] == refresh_delegations.name
    assert entry["schedule"] == delegation.PASS_SECONDS
    # 72 passes in six hours: 1,000 people take 14 a pass.
    assert delegation.per_pass(1000, 6 * 3600) == 14
    assert delegation.per_pass(0, 6 * 3600) == 0
