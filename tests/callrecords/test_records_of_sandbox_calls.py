"""A call the sandbox's calling bot really places is collected by the portal and shown to the
people who were in it under My calls."""

# Fixtures are imported by name from engine_fixtures, so their parameters shadow them.
# ruff: noqa: F811

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import msal
import pytest
from django.test import Client
from django.urls import reverse
from pytest_django.fixtures import Settings as SettingsWrapper

from accounts.models import User
from callrecords import services
from callrecords.models import CallParticipant, CallRecord
from tests.presence.engine_fixtures import (  # noqa: F401  (fixtures)
    Control,
    control,
    point_settings_at,
    sandbox,
    user_id_of,
)
from tests.sandbox.conftest import GRAPH_DEFAULT, bearer, ca_context, trusting_session
from tests.support.cast import GRACE, PRIYA, SAMUEL
from tests.support.sandbox import RunningSandbox
from tests.support.webhook_receiver import WebhookReceiver

pytestmark = pytest.mark.django_db(transaction=True)
WEBHOOK = "/bot/calls"


@pytest.fixture(autouse=True)
def portal(settings: SettingsWrapper, sandbox: RunningSandbox) -> None:
    point_settings_at(settings, sandbox)


@pytest.fixture
def bot(sandbox: RunningSandbox) -> Iterator[httpx.Client]:
    """Graph as the sandbox's calling bot sees it."""
    calling = sandbox.info["calling"]
    app = msal.ConfidentialClientApplication(
        calling["bot_app_id"],
        client_credential=calling["bot_client_secret"],
        authority=sandbox.info["authority"],
        instance_discovery=False,
        http_client=trusting_session(sandbox.ca_bundle),
    )
    result = app.acquire_token_for_client(scopes=[GRAPH_DEFAULT])
    assert "access_token" in result, result
    with httpx.Client(
        base_url=sandbox.info["graph_base_url"] + "/",
        verify=ca_context(sandbox),
        trust_env=False,
        headers=bearer(str(result["access_token"])),
    ) as client:
        yield client


def wait_until(check: Any, timeout: float = 10.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(0.05)
    raise AssertionError("condition not met in time")


def person(sandbox: RunningSandbox, upn: str) -> Client:
    user = User.objects.create(
        username=upn,
        display_name=upn.split("@")[0],
        object_id=user_id_of(sandbox.info, upn),
        tenant_id=sandbox.info["tenant_id"],
    )
    client = Client()
    client.force_login(user)
    return client


def test_a_group_call_the_bot_places_is_collected_and_shown_under_my_calls(
    sandbox: RunningSandbox, control: Control, bot: httpx.Client
) -> None:
    samuel, grace = (user_id_of(sandbox.info, upn) for upn in (SAMUEL, GRACE))
    with WebhookReceiver() as receiver:
        control("POST", "/calls/webhook", {"url": receiver.url(WEBHOOK)})
        control("POST", "/calls/settings", {"answerSeconds": 0.2})
        for who in (samuel, grace):
            control("POST", f"/calls/behaviours/{who}", {"behaviour": "answer"})
        placed = bot.post(
            "communications/calls",
            json={
                "callbackUri": receiver.url(WEBHOOK),
                "targets": [{"identity": {"user": {"id": who}}} for who in (samuel, grace)],
                "requestedModalities": ["audio"],
                "mediaConfig": {"@odata.type": "#microsoft.graph.serviceHostedMediaConfig"},
            },
        )
        assert placed.status_code == 201, placed.text
        call = placed.json()
        wait_until(
            lambda: (
                len(bot.get(f"communications/calls/{call['id']}/participants").json()["value"]) == 3
            )
        )
        control("POST", "/clock", {"advance_seconds": 8 * 60})
        assert bot.delete(f"communications/calls/{call['id']}").status_code == 204
    record_id = call["callChainId"]

    # Not written yet: the collector finds nothing and stores nothing.
    assert services.collect_record(graph_id=record_id).ignored == 1
    assert not CallRecord.objects.filter(graph_id=record_id).exists()
    control("POST", "/clock", {"advance_seconds": 151 * 60})
    assert services.collect_record(graph_id=record_id).created == 1

    stored = CallRecord.objects.get(graph_id=record_id)
    assert stored.call_type == "groupCall"
    assert set(CallParticipant.objects.filter(call=stored).values_list("person_id", flat=True)) == {
        samuel,
        grace,
    }
    for upn in (SAMUEL, GRACE):
        page = person(sandbox, upn).get(reverse("callrecords:mine")).content.decode()
        assert f'data-call="{record_id}"' in page
    stranger = person(sandbox, PRIYA).get(reverse("callrecords:mine")).content.decode()
    assert record_id not in stranger
