"""Who may read /metrics: admins, and scrapers whose own address is on an allowed network."""

from __future__ import annotations

import ipaddress

import httpx
import pytest
from django.test import Client
from pytest_django.fixtures import Settings as SettingsWrapper

from accounts.models import User
from comms_portal.asgi import application

pytestmark = pytest.mark.django_db(transaction=True)
STRANGER = "203.0.113.9"


@pytest.mark.parametrize("peer", ["127.0.0.1", "::1", "::ffff:127.0.0.1"])
def test_a_scraper_on_loopback_reads_the_metrics_without_signing_in(peer: str) -> None:
    response = Client().get("/metrics", REMOTE_ADDR=peer)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain; version=")
    assert b"# TYPE comms_portal_notification_inbox_bodies gauge" in response.content


def test_a_stranger_finds_nothing_there_as_at_any_unknown_address(
    settings: SettingsWrapper,
) -> None:
    settings.DEBUG = False  # the 404 page the public sees
    metrics = Client().get("/metrics", REMOTE_ADDR=STRANGER)
    unknown = Client().get("/metrics-of-nothing", REMOTE_ADDR=STRANGER)
    assert metrics.status_code == unknown.status_code == 404
    # The same page, but for the path in its sign-in link.
    assert metrics.content == unknown.content.replace(b"/metrics-of-nothing", b"/metrics")
    # Whatever the method: a 405 would say that something answers here.
    assert Client().post("/metrics", REMOTE_ADDR=STRANGER).status_code == 404


def test_signed_in_people_off_the_network_find_nothing_but_admins_read_it() -> None:
    employee = User.objects.create(username="adele", display_name="Adele Vance")
    admin = User.objects.create(username="megan", display_name="Megan Bowen", is_portal_admin=True)
    as_employee, as_admin = Client(), Client()
    as_employee.force_login(employee)
    as_admin.force_login(admin)

    assert as_employee.get("/metrics", REMOTE_ADDR=STRANGER).status_code == 404
    answer = as_admin.get("/metrics", REMOTE_ADDR=STRANGER)
    assert answer.status_code == 200
    assert b"comms_portal_notifications_accepted_total" in answer.content


def test_only_reading_is_allowed_to_those_who_may_read() -> None:
    response = Client().post("/metrics", REMOTE_ADDR="127.0.0.1")
    assert response.status_code == 405
    assert response["Allow"] == "GET, HEAD"


@pytest.mark.parametrize(
    "header",
    ["X-Forwarded-For", "X-Forwarded-Proto", "X-Forwarded-Host", "Forwarded", "X-Real-IP"],
)
def test_a_request_through_a_proxy_is_not_admitted_by_its_loopback_address(header: str) -> None:
    # A proxy on the same host connects from loopback, whoever its client is.
    response = Client().get("/metrics", REMOTE_ADDR="127.0.0.1", headers={header: "https"})
    assert response.status_code == 404


def test_the_allowed_networks_are_the_setting_s(settings: SettingsWrapper) -> None:
    settings.METRICS_ALLOWED_NETWORKS = [ipaddress.ip_network("10.20.0.0/16")]
    assert Client().get("/metrics", REMOTE_ADDR="10.20.30.40").status_code == 200
    assert Client().get("/metrics", REMOTE_ADDR="10.21.0.1").status_code == 404
    assert Client().get("/metrics", REMOTE_ADDR="127.0.0.1").status_code == 404
    settings.METRICS_ALLOWED_NETWORKS = []
    assert Client().get("/metrics", REMOTE_ADDR="10.20.30.40").status_code == 404


async def _get_over_asgi(peer: str, headers: dict[str, str] | None = None) -> httpx.Response:
    transport = httpx.ASGITransport(app=application, client=(peer, 51234))
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
        return await client.get("/metrics", headers=headers)


@pytest.mark.asyncio(loop_scope="session")
async def test_the_portal_goes_by_the_socket_peer_and_never_by_x_forwarded_for() -> None:
    assert (await _get_over_asgi("127.0.0.1")).status_code == 200
    assert (await _get_over_asgi(STRANGER)).status_code == 404
    # A stranger claiming to be loopback is still a stranger.
    forged = await _get_over_asgi(STRANGER, {"X-Forwarded-For": "127.0.0.1"})
    assert forged.status_code == 404
