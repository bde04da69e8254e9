"""The call-quality pages: what an admin and a person see, filters, CSV, buildings, PSTN."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from callrecords import services
from callrecords.models import BuildingSubnet, PstnCall
from tests.callrecords.cast_calls import make_cast_calls, user_id
from tests.support.cast import PRIYA, SAMUEL
from tests.support.session_sandbox import control as session_control

pytestmark = pytest.mark.django_db


def info() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(Path(settings.SANDBOX_INFO_FILE).read_text())
    return loaded


def control(method: str, path: str, body: Any = None) -> Any:
    return session_control(method, path, body).json()


@pytest.fixture
def calls(request: pytest.FixtureRequest) -> dict[str, str]:
    made = make_cast_calls(control, info(), tag=request.node.name)
    for graph_id in made.values():
        assert services.collect_record(graph_id=graph_id).created == 1
    return made


def person(upn: str, *, admin: bool = False) -> Client:
    user = User.objects.create(
        username=upn,
        display_name=upn.split("@")[0],
        object_id=user_id(info(), upn),
        tenant_id=info()["tenant_id"],
        is_portal_admin=admin,
    )
    client = Client()
    client.force_login(user)
    return client


def test_the_dashboard_finds_the_weak_wifi_calls_and_explains_them(calls: dict[str, str]) -> None:
    admin = person("megan.reyes@lumenhall.example", admin=True)

    page = admin.get(reverse("callrecords:dashboard")).content.decode()

    assert 'data-key="wifi-24"' in page and "Wi-Fi 2.4 GHz" in page
    assert f'data-call="{calls["weak-wifi"]}"' in page
    assert f'data-call="{calls["fine"]}"' not in page  # no poor stream: not among the worst
    assert "<svg" in page and 'role="img"' in page
    detail = admin.get(reverse("callrecords:call", args=[calls["weak-wifi"]])).content.decode()
    assert "packet loss" in detail and "Wi-Fi 2.4 GHz (signal" in detail
    assert "Samuel Ortega" in detail


def test_filters_narrow_the_dashboard_and_bad_ones_fall_back(calls: dict[str, str]) -> None:
    admin = person("megan.reyes@lumenhall.example", admin=True)
    url = reverse("callrecords:dashboard")

    meetings = admin.get(url, {"call_type": "groupCall"}).content.decode()
    assert f'data-call="{calls["vpn"]}"' in meetings
    assert f'data-call="{calls["weak-wifi"]}"' not in meetings

    tomorrow = (timezone.localdate() + timedelta(days=1)).isoformat()
    future = admin.get(url, {"since": tomorrow, "until": tomorrow}).content.decode()
    assert f'data-call="{calls["weak-wifi"]}"' not in future

    backwards = admin.get(url, {"since": "2026-12-01", "until": "2026-11-01", "modality": "x"})
    assert backwards.status_code == 200
    assert "Some filters were not valid" in backwards.content.decode()


def test_every_table_downloads_as_csv(calls: dict[str, str]) -> None:
    admin = person("megan.reyes@lumenhall.example", admin=True)

    response = admin.get(reverse("callrecords:export", args=["network"]))

    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0] == ["group", "key", "classified streams", "poor streams", "poor rate"]
    assert "Wi-Fi 2.4 GHz" in [row[0] for row in rows[1:]]
    worst = admin.get(reverse("callrecords:export", args=["worst"]))
    assert calls["weak-wifi"] in b"".join(worst.streaming_content).decode()
    assert admin.get(reverse("callrecords:export", args=["nonsense"])).status_code == 404


def test_a_person_sees_their_own_calls_with_a_cause_and_a_tip(calls: dict[str, str]) -> None:
    samuel = person(SAMUEL)

    page = samuel.get(reverse("callrecords:mine")).content.decode()

    assert f'data-call="{calls["weak-wifi"]}" data-verdict="poor"' in page
    assert "Likely cause: weak Wi-Fi" in page
    assert "Sit closer to the access point" in page  # the same cause twice: a tip
    assert calls["fine"] not in page and calls["vpn"] not in page


def test_a_person_cannot_open_someone_elses_call(calls: dict[str, str]) -> None:
    priya = person(PRIYA)

    page = priya.get(reverse("callrecords:mine")).content.decode()
    assert f'data-call="{calls["fine"]}" data-verdict="good"' in page
    assert calls["weak-wifi"] not in page and calls["vpn"] not in page
    assert priya.get(reverse("callrecords:call", args=[calls["fine"]])).status_code == 200
    assert priya.get(reverse("callrecords:call", args=[calls["weak-wifi"]])).status_code == 404


def test_admins_map_subnets_to_buildings(calls: dict[str, str]) -> None:
    admin = person("megan.reyes@lumenhall.example", admin=True)
    url = reverse("callrecords:buildings")

    refused = admin.post(url, {"subnet": "not a subnet", "building": "Harbour Tower"})
    assert refused.status_code == 400 and "Enter an IP subnet" in refused.content.decode()
    assert (
        admin.post(url, {"subnet": "192.168.0.0/16", "building": "Home offices"}).status_code == 302
    )
    assert (
        admin.post(url, {"subnet": "10.12.0.0/16", "building": "Harbour Tower 12"}).status_code
        == 302
    )
    assert set(BuildingSubnet.objects.values_list("building", flat=True)) == {
        "Home offices",
        "Harbour Tower 12",
    }

    dashboard = admin.get(reverse("callrecords:dashboard")).content.decode()
    assert 'data-key="Home offices"' in dashboard or 'data-key="Harbour Tower 12"' in dashboard

    mapping = BuildingSubnet.objects.get(building="Home offices")
    assert admin.post(url, {"remove": str(mapping.pk)}).status_code == 302
    assert admin.post(url, {"remove": "'; drop table"}).status_code == 302
    assert not BuildingSubnet.objects.filter(pk=mapping.pk).exists()


def test_pstn_usage_is_pulled_and_shown_by_person_and_month() -> None:
    now = timezone.now()
    read = services.pull_pstn_usage(since=now - timedelta(days=30), until=now)
    assert read == PstnCall.objects.count() > 0
    # Pulling again changes nothing: rows are kept once each.
    assert services.pull_pstn_usage(since=now - timedelta(days=30), until=now) == read
    assert PstnCall.objects.count() == read
    admin = person("megan.reyes@lumenhall.example", admin=True)
    page = admin.get(reverse("callrecords:pstn")).content.decode()
    first = PstnCall.objects.order_by("-start").first()
    assert first is not None and first.display_name in page


def test_purge_keeps_only_the_retention_period(calls: dict[str, str]) -> None:
    later = timezone.now() + timedelta(days=settings.CALLRECORDS_RETENTION_DAYS + 1)
    assert services.purge_expired(now=later) >= len(calls)
    assert services.purge_expired(now=later) == 0
