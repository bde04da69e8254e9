"""The call-records collector against a sandbox: notifications, pages, versions, heal, 404, 429."""

# Fixtures are imported by name from engine_fixtures, so their parameters shadow them.
# ruff: noqa: F811

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import msgspec
import pytest
from pytest_django.fixtures import Settings as SettingsWrapper
from pytest_django.live_server_helper import LiveServer

from accounts.graph_clients import graph_for_app
from callrecords import handlers, services
from callrecords.models import CallParticipant, CallRecord, CallSession, CallStream
from comms_portal.graph import NotFound, Throttled
from comms_portal.graph.callrecords import get_call_record
from comms_portal.notifications import drain
from comms_portal.notifications.models import Subscription
from tests.presence.engine_fixtures import (  # noqa: F401  (fixtures)
    Control,
    clean_presence,
    control,
    delivered_bodies,
    enqueued,
    point_settings_at,
    sandbox,
    user_id_of,
    wait_for,
)
from tests.support.cast import GRACE, PRIYA, SAMUEL, TOMAS
from tests.support.sandbox import RunningSandbox

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("clean_presence")]
COLLECT = "callrecords.collect_records"


@pytest.fixture(autouse=True)
def portal(settings: SettingsWrapper, sandbox: RunningSandbox, live_server: LiveServer) -> None:
    """The portal on the private sandbox, reachable by it at the live server's address."""
    point_settings_at(settings, sandbox)
    settings.PUBLIC_BASE_URL = live_server.url


def people(sandbox: RunningSandbox, *upns: str) -> list[str]:
    return [user_id_of(sandbox.info, upn) for upn in upns]


def make_record(control: Control, **body: Any) -> str:
    return str(control("POST", "/callrecords", body)["id"])


def collected_ids(captured: list[tuple[str, list[Any]]]) -> list[str]:
    return [str(one) for name, args in captured if name == COLLECT for one in args[0]]


def test_a_notification_reads_the_whole_record_across_pages_and_stores_it(
    sandbox: RunningSandbox, control: Control, enqueued: list[tuple[str, list[Any]]]
) -> None:
    done = handlers.keep_subscribed()
    [subscription] = Subscription.objects.of_kind(handlers.KIND)
    assert done[-1] == f"created {subscription.graph_id}"
    [remote] = [
        s for s in control("GET", "/subscriptions")["value"] if "callRecords" in s["resource"]
    ]
    assert remote["changeType"] == "created,updated" and remote["includeResourceData"] is False
    # 143 sessions (three pages of 60) and 143 participants (two pages of 130).
    priya, grace, tomas = people(sandbox, PRIYA, GRACE, TOMAS)
    record_id = make_record(
        control, participants=[priya, grace, tomas], type="groupCall", guests=140, key="pages"
    )

    bodies = wait_for(delivered_bodies, what="the call-record notification")
    report = drain.process_bodies(bodies)

    assert report.changed == 1 and report.by_kind == {"callrecords": 1}
    assert collected_ids(enqueued) == [record_id]
    # Subscribing asked for a heal of the 30 days Graph keeps.
    assert ("callrecords.heal", [30 * 24]) in enqueued
    stored = services.collect_record(graph_id=record_id)
    assert stored.created == 1
    call = CallRecord.objects.get(graph_id=record_id)
    assert call.call_type == "groupCall" and call.version == 1
    assert CallSession.objects.filter(call=call).count() == 143
    assert CallParticipant.objects.filter(call=call).count() == 143
    assert {priya, grace, tomas} <= set(
        CallParticipant.objects.filter(call=call).values_list("person_id", flat=True)
    )
    # Each session: one segment of audio, two directions.
    assert CallStream.objects.filter(call=call).count() >= 143 * 2


def test_a_lower_version_never_replaces_a_higher_one(
    sandbox: RunningSandbox, control: Control
) -> None:
    priya, grace = people(sandbox, PRIYA, GRACE)
    record_id = make_record(control, participants=[priya, grace], secondVersionInMinutes=0, key="v")
    client = graph_for_app()
    second = get_call_record(client, record_id)
    assert second.version == 2

    assert services.store_records([second]).created == 1
    older = msgspec.structs.replace(second, version=1)
    assert services.store_records([older]).ignored == 1
    assert services.store_records([second]).ignored == 1  # the same version again
    assert CallRecord.objects.get(graph_id=record_id).version == 2

    control("POST", f"/callrecords/{record_id}/versions")
    assert services.collect_record(graph_id=record_id).replaced == 1
    call = CallRecord.objects.get(graph_id=record_id)
    assert call.version == 3
    # Replaced whole: one set of sessions, not two.
    assert CallSession.objects.filter(call=call).count() == 1


def test_a_missed_notification_is_healed_by_the_list(
    sandbox: RunningSandbox, control: Control
) -> None:
    handlers.keep_subscribed()
    control("POST", "/delivery-faults", {"kind": "drop", "count": 50})
    samuel, tomas = people(sandbox, SAMUEL, TOMAS)
    start = datetime.fromisoformat(control("GET", "/clock")["now"].replace("Z", "+00:00"))
    record_id = make_record(
        control,
        participants=[samuel, tomas],
        start=(start - timedelta(minutes=30)).isoformat().replace("+00:00", "Z"),
        conditions={samuel: "wifi-24-weak"},
        key="missed",
    )
    assert not CallRecord.objects.filter(graph_id=record_id).exists()

    report = services.heal(since=start - timedelta(hours=1))

    assert report.fetched >= 1
    call = CallRecord.objects.get(graph_id=record_id)
    assert call.streams_poor > 0
    # A second pass reads nothing again: the versions match.
    assert services.heal(since=start - timedelta(hours=1)).fetched == 0


def test_a_heal_goes_an_hour_at_a_time_newest_first_and_covers_the_whole_window(
    sandbox: RunningSandbox, control: Control
) -> None:
    samuel, tomas = people(sandbox, SAMUEL, TOMAS)
    now = datetime.fromisoformat(control("GET", "/clock")["now"].replace("Z", "+00:00"))
    made = [
        make_record(
            control,
            participants=[samuel, tomas],
            start=(now - timedelta(minutes=minutes)).isoformat().replace("+00:00", "Z"),
            key=f"sliced-{minutes}",
        )
        for minutes in (170, 100, 40)
    ]
    CallRecord.objects.filter(graph_id__in=made).delete()
    since, until = services.heal_window(hours=3, now=now)

    boundaries = []
    stored_after_each = []
    rest: datetime | None = until
    while rest is not None:
        rest = services.heal_slice(since=since, until=rest)
        boundaries.append(rest)
        stored_after_each.append(
            set(CallRecord.objects.filter(graph_id__in=made).values_list("graph_id", flat=True))
        )

    assert boundaries == [now - timedelta(hours=1), now - timedelta(hours=2), None]
    # The newest call is stored by the first slice, the oldest only by the last.
    assert stored_after_each[0] == {made[2]}
    assert stored_after_each[1] == {made[2], made[1]}
    assert stored_after_each[2] == set(made)


def test_a_record_older_than_thirty_days_is_skipped(
    sandbox: RunningSandbox, control: Control
) -> None:
    priya, grace = people(sandbox, PRIYA, GRACE)
    now = datetime.fromisoformat(control("GET", "/clock")["now"].replace("Z", "+00:00"))
    old = (now - timedelta(days=31)).isoformat().replace("+00:00", "Z")
    record_id = make_record(control, participants=[priya, grace], start=old, key="old")
    with pytest.raises(NotFound):
        get_call_record(graph_for_app(), record_id)

    assert services.collect_record(graph_id=record_id).ignored == 1
    assert not CallRecord.objects.filter(graph_id=record_id).exists()


def test_throttled_reads_are_retried(sandbox: RunningSandbox, control: Control) -> None:
    priya, grace = people(sandbox, PRIYA, GRACE)
    record_id = make_record(control, participants=[priya, grace], key="throttled")
    control(
        "POST",
        "/faults",
        {"path": "/v1.0/communications/callRecords/*", "kind": "429", "count": 2, "retry_after": 1},
    )
    try:
        assert services.collect_record(graph_id=record_id).created == 1
    finally:
        control("DELETE", "/faults")
    assert control("GET", "/faults")["faults"] == []
    assert CallRecord.objects.filter(graph_id=record_id).exists()


def test_the_subscription_is_kept_one_and_renewed(
    sandbox: RunningSandbox, control: Control
) -> None:
    handlers.keep_subscribed()
    assert handlers.keep_subscribed() == []
    [subscription] = Subscription.objects.of_kind(handlers.KIND)
    assert subscription.owner is None
    lifetime = subscription.expires_at - subscription.created_at
    assert timedelta(minutes=4200) < lifetime <= timedelta(minutes=4231)


def test_a_heal_throttled_past_patience_keeps_what_it_read_and_the_next_one_finishes(
    sandbox: RunningSandbox, control: Control, settings: SettingsWrapper
) -> None:
    settings.GRAPH_MAX_RETRY_WAIT_SECONDS = 0
    priya, grace = people(sandbox, PRIYA, GRACE)
    start = datetime.fromisoformat(control("GET", "/clock")["now"].replace("Z", "+00:00"))
    made = [
        make_record(
            control,
            participants=[priya, grace],
            start=(start - timedelta(minutes=50 - n)).isoformat().replace("+00:00", "Z"),
            key=f"throttled-heal-{n}",
        )
        for n in range(4)
    ]
    # The list and two records' two reads each, then Graph says to wait.
    control("POST", "/throttling", {"bucket": "callrecords", "requests": 5, "window_seconds": 600})
    try:
        with pytest.raises(Throttled):
            services.heal(since=start - timedelta(hours=1))
    finally:
        control("DELETE", "/throttling")
    # Two records were read whole before the throttling: they are kept.
    assert CallRecord.objects.count() == 2

    report = services.heal(since=start - timedelta(hours=1))

    assert report.fetched == report.listed - 2  # what is stored is not read again
    assert CallRecord.objects.filter(graph_id__in=made).count() == 4
