"""Each person's time zone: learnt from their browser once, changed by them, refused clearly."""

from __future__ import annotations

import pytest
from django.test import Client

from accounts.models import User
from accounts.time_zones import BROWSER_ZONE_COOKIE
from tests.ui.markup import Element, elements

pytestmark = pytest.mark.django_db

URL = "/accounts/time-zone/"


@pytest.fixture
def vera(django_user_model: type[User]) -> User:
    return django_user_model.objects.create(username="vera", display_name="Vera Haddad")


def signed_in(user: User, browser_zone: str | None = None) -> Client:
    client = Client()
    client.force_login(user)
    if browser_zone is not None:
        client.cookies[BROWSER_ZONE_COOKIE] = browser_zone
    return client


def root(html: str) -> Element:
    return next(e for e in elements(html) if e.tag == "html")


def test_the_first_visit_keeps_the_zone_the_browser_reports(vera: User) -> None:
    html = signed_in(vera, "America/New_York").get("/people/me/status/").content.decode()
    vera.refresh_from_db()
    assert vera.time_zone == "America/New_York"
    assert root(html).attrs["data-time-zone"] == "America/New_York"
    assert "data-time-zone-detect" not in root(html).attrs
    summary = next(e for e in elements(html) if e.tag == "summary")
    assert summary.text == "Time zone: New York time"


def test_later_the_browser_does_not_change_a_known_zone(vera: User) -> None:
    vera.time_zone = "Asia/Tokyo"
    vera.save()
    html = signed_in(vera, "Europe/Paris").get("/").content.decode()
    vera.refresh_from_db()
    assert vera.time_zone == "Asia/Tokyo"
    assert root(html).attrs["data-time-zone"] == "Asia/Tokyo"


def test_an_unknown_browser_zone_is_ignored(vera: User) -> None:
    html = signed_in(vera, "Mars/Olympus_Mons").get("/").content.decode()
    vera.refresh_from_db()
    assert vera.time_zone == ""
    assert root(html).attrs["data-time-zone"] == "UTC"
    # The page asks its script to tell the zone (the script sees the cookie and stops there).
    assert root(html).attrs["data-time-zone-detect"] == "reload"


def test_a_signed_in_page_without_a_zone_asks_the_browser_for_it(vera: User) -> None:
    client = signed_in(vera)
    assert root(client.get("/").content.decode()).attrs["data-time-zone-detect"] == "reload"
    # After a form post the page is not reloaded (that would post again): only remembered.
    response = client.post("/people/me/status/", {"action": "teleport"})
    assert root(response.content.decode()).attrs["data-time-zone-detect"] == "remember"


def test_a_signed_out_visitors_browser_zone_shows_but_is_kept_nowhere(client: Client) -> None:
    client.cookies[BROWSER_ZONE_COOKIE] = "Asia/Tokyo"
    html = client.get("/").content.decode()
    assert root(html).attrs["data-time-zone"] == "Asia/Tokyo"
    assert not User.objects.exclude(time_zone="").exists()


def test_the_header_lists_zones_by_region_with_the_persons_own_chosen(vera: User) -> None:
    vera.time_zone = "America/New_York"
    vera.save()
    html = signed_in(vera).get("/").content.decode()
    parts = elements(html)
    select = next(e for e in parts if e.tag == "select" and e.attrs.get("name") == "time_zone")
    label = next(e for e in parts if e.tag == "label" and e.attrs.get("for") == select.attrs["id"])
    assert label.text == "Show times in"
    regions = [e.attrs["label"] for e in parts if e.tag == "optgroup" and e.parent is select]
    assert regions[:3] == ["Universal", "Africa", "Americas"]
    assert {"Asia", "Europe", "Pacific Ocean"} <= set(regions)
    options = {e.attrs["value"]: e for e in parts if e.tag == "option" and e.parent}
    assert "selected" in options["America/New_York"].attrs
    assert options["America/New_York"].text.startswith("New York (UTC-0")
    assert options["America/Argentina/Buenos_Aires"].text.startswith("Buenos Aires, Argentina")
    assert options["Asia/Tokyo"].text == "Tokyo (UTC+09:00)"
    # Old aliases are accepted but not offered twice.
    assert "US/Eastern" not in options


def test_an_old_alias_from_the_browser_is_shown_as_chosen(vera: User) -> None:
    html = signed_in(vera, "Asia/Calcutta").get("/").content.decode()
    chosen = [e for e in elements(html) if e.tag == "option" and "selected" in e.attrs and e.parent]
    assert [(e.attrs["value"], e.text) for e in chosen] == [
        ("Asia/Calcutta", "Calcutta time (Asia/Calcutta)")
    ]


def test_choosing_a_zone_keeps_it_and_goes_back(vera: User) -> None:
    client = signed_in(vera)
    response = client.post(URL, {"time_zone": "Asia/Tokyo", "next": "/people/"})
    assert response.status_code == 302
    assert response["Location"] == "/people/"
    vera.refresh_from_db()
    assert vera.time_zone == "Asia/Tokyo"
    page = client.get("/people/").content.decode()
    assert "Times now show in Tokyo time." in page
    assert "Times are Tokyo time." in page


def test_going_back_only_to_the_portal(vera: User) -> None:
    response = signed_in(vera).post(
        URL, {"time_zone": "Europe/Paris", "next": "https://evil.example/"}
    )
    assert response["Location"] == "/"


@pytest.mark.parametrize(
    ("sent", "error"),
    [
        (
            "Mars/Olympus_Mons",
            "“Mars/Olympus_Mons” is not a time zone the portal knows; choose one from the list "
            "(IANA names such as Europe/Paris or America/New_York).",
        ),
        ("", "Choose a time zone from the list."),
        ("Europe/" + "x" * 500, "is not a time zone the portal knows"),
    ],
)
def test_an_unknown_zone_is_refused_clearly(vera: User, sent: str, error: str) -> None:
    vera.time_zone = "Europe/Paris"
    vera.save()
    response = signed_in(vera).post(URL, {"time_zone": sent, "next": "/people/"})
    assert response.status_code == 400
    html = response.content.decode()
    shown = [e.text for e in elements(html) if "field-error" in e.classes]
    assert len(shown) == 1 and error in shown[0]
    assert len(shown[0]) < 300
    vera.refresh_from_db()
    assert vera.time_zone == "Europe/Paris"


def test_the_time_zone_page_offers_the_same_choice(vera: User) -> None:
    html = signed_in(vera).get(URL).content.decode()
    assert next(e for e in elements(html) if e.tag == "h1").text == "Time zone"
    selects = [e for e in elements(html) if e.tag == "select" and e.attrs.get("name")]
    # The header's and the page's, each with a label of its own.
    assert len({e.attrs["id"] for e in selects}) == 2
