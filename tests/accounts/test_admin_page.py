"""The admin page: permissions and their grants, people's tokens, Graph errors, admin consent."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from html import unescape
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.contrib.messages import get_messages
from django.test import Client
from pytest_django.fixtures import Settings

from accounts.graph_clients import graph_for_app, graph_for_user
from accounts.graph_errors import GRAPH_ERRORS_KEY, GraphErrorRecorder, recent_graph_errors
from accounts.models import TokenCache, User
from accounts.permissions import FEATURES
from accounts.token_store import APP_CACHE_KEY, ReauthRequired, acquire_user_token
from comms_portal.graph import NotFound
from comms_portal.graph.users import get_user
from comms_portal.redis_client import get_redis
from tests.support.cast import LENA, MEGAN, PRIYA
from tests.support.portal_signin import sign_in_person
from tests.support.session_sandbox import control

pytestmark = pytest.mark.django_db(transaction=True)

ADMIN_URL = "/admin-portal/"
UNKNOWN_UPN = "nobody.here@lumenhall.example"
_ROW = re.compile(
    r'<tr data-permission="([^"]+)" data-kind="([^"]+)" data-grant="([^"]+)">(.*?)</tr>', re.S
)
_PERSON = re.compile(r'<tr data-user="(\d+)" data-token="([^"]+)">(.*?)</tr>', re.S)


@pytest.fixture(autouse=True)
def no_recorded_errors() -> Iterator[None]:
    get_redis().delete(GRAPH_ERRORS_KEY)
    yield
    get_redis().delete(GRAPH_ERRORS_KEY)


def sandbox_info() -> dict[str, object]:
    info: dict[str, object] = json.loads(Path(django_settings.SANDBOX_INFO_FILE).read_text())
    return info


def portal_app_permissions() -> set[str]:
    apps = sandbox_info()["apps"]
    assert isinstance(apps, list)
    portal = next(a for a in apps if a["client_id"] == django_settings.MICROSOFT_CLIENT_ID)
    return set(portal["application"])


def browser_as(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def flash(response: object) -> list[str]:
    """Return the messages a response left for the next page."""
    return [str(m) for m in get_messages(response.wsgi_request)]  # type: ignore[attr-defined]


def permission_rows(html: str) -> dict[tuple[str, str, str], str]:
    """Map (feature, permission, kind) to its grant state, as the page marks them."""
    rows: dict[tuple[str, str, str], str] = {}
    for section in re.split(r'(?=<div class="admin-table-wrap" data-feature=")', html)[1:]:
        feature = re.match(r'<div class="admin-table-wrap" data-feature="([^"]+)"', section)
        assert feature is not None
        for name, kind, grant, _cells in _ROW.findall(section):
            rows[(feature.group(1), name, kind)] = grant
    return rows


def people_rows(html: str) -> dict[int, tuple[str, str]]:
    """Map user id to (token state, row text) from the people table."""
    return {
        int(user_id): (state, unescape(re.sub(r"<[^>]+>", " ", cells)))
        for user_id, state, cells in _PERSON.findall(html)
    }


def test_signed_out_people_are_sent_to_sign_in_and_back() -> None:
    response = Client().get(ADMIN_URL)
    assert response.status_code == 302
    assert response["Location"] == "/accounts/signin/?next=/admin-portal/"


def test_people_who_are_not_admins_get_the_forbidden_page() -> None:
    priya = User.objects.create(username="priya", display_name="Priya Natarajan")
    response = browser_as(priya).get(ADMIN_URL)
    assert response.status_code == 403
    page = response.content.decode()
    assert "have access to this page" in page
    assert "Priya Natarajan" in page
    assert 'href="/admin-portal/"' not in page  # no Admin link in the navigation either
    for path in ("grant-consent", "consent-done"):
        assert browser_as(priya).get(ADMIN_URL + path).status_code == 403


def test_catalogue_shows_app_grants_read_from_the_real_app_token() -> None:
    megan = sign_in_person(MEGAN)
    TokenCache.objects.filter(key=APP_CACHE_KEY).delete()

    response = browser_as(megan).get(ADMIN_URL)

    assert response.status_code == 200
    assert response.context["active_nav"] == "admin"
    rows = permission_rows(response.content.decode())
    catalogued = {
        (feature.key, p.name, p.kind) for feature in FEATURES for p in feature.permissions
    }
    assert set(rows) == catalogued
    granted_to_app = portal_app_permissions()
    for (_feature, name, kind), grant in rows.items():
        if kind == "application":
            assert grant == ("granted" if name in granted_to_app else "not-granted"), name
    assert rows[("presence", "Presence.Read.All", "application")] == "granted"
    assert rows[("callrecords", "CallRecords.Read.All", "application")] == "granted"
    # Documented for calls, but the sandbox tenant never granted it to the portal.
    assert "Calls.JoinGroupCallAsGuest.All" not in granted_to_app
    assert rows[("calls", "Calls.JoinGroupCallAsGuest.All", "application")] == "not-granted"
    # The app token was fetched for real and kept, encrypted, in the token store.
    assert TokenCache.objects.filter(key=APP_CACHE_KEY).exists()


def test_state_is_given_in_words_and_icons_not_colour_alone() -> None:
    megan = sign_in_person(MEGAN)
    page = browser_as(megan).get(ADMIN_URL).content.decode()
    guest = re.search(r'data-permission="Calls.JoinGroupCallAsGuest.All".*?</tr>', page, re.S)
    assert guest is not None
    assert '<span aria-hidden="true">\u2717</span> Not granted' in guest.group(0)
    presence = re.search(r'data-permission="CallRecords.Read.All".*?</tr>', page, re.S)
    assert presence is not None
    assert '<span aria-hidden="true">\u2713</span> Granted' in presence.group(0)


def test_delegated_grants_are_counted_over_the_people_who_signed_in() -> None:
    megan = sign_in_person(MEGAN)
    sign_in_person(PRIYA)
    client = browser_as(megan)

    rows = permission_rows(client.get(ADMIN_URL).content.decode())
    assert rows[("presence", "Presence.Read.All", "delegated")] == "granted"
    assert rows[("directory", "User.Read", "delegated")] == "granted"
    assert rows[("events", "VirtualEvent.ReadWrite", "delegated")] == "not-granted"

    # Priya uses events once: incremental consent grows her scopes, not Megan's.
    sign_in_person(PRIYA, scopes=["VirtualEvent.ReadWrite"])
    page = client.get(ADMIN_URL).content.decode()
    assert permission_rows(page)[("events", "VirtualEvent.ReadWrite", "delegated")] == "partly"
    assert "Granted by 1 of 2 people." in page


def test_app_permissions_are_unknown_when_the_app_cannot_get_a_token(
    settings: Settings,
) -> None:
    megan = sign_in_person(MEGAN)
    TokenCache.objects.filter(key=APP_CACHE_KEY).delete()
    settings.MICROSOFT_CLIENT_SECRET = "not-the-secret"

    response = browser_as(megan).get(ADMIN_URL)

    assert response.status_code == 200
    rows = permission_rows(response.content.decode())
    assert {g for (_, _, kind), g in rows.items() if kind == "application"} == {"unknown"}
    assert rows[("presence", "Presence.Read.All", "delegated")] == "granted"
    assert "Application permissions are unknown: the app could not get a token" in unescape(
        response.content.decode()
    )


def test_an_app_the_tenant_granted_nothing_shows_every_app_permission_not_granted(
    settings: Settings,
) -> None:
    megan = sign_in_person(MEGAN)
    apps = sandbox_info()["apps"]
    assert isinstance(apps, list)
    limited = next(a for a in apps if a["client_id"] == sandbox_info()["limited_client_id"])
    settings.MICROSOFT_CLIENT_ID = limited["client_id"]
    settings.MICROSOFT_CLIENT_SECRET = limited["client_secret"]

    rows = permission_rows(browser_as(megan).get(ADMIN_URL).content.decode())

    assert {g for (_, _, kind), g in rows.items() if kind == "application"} == {"not-granted"}


def test_a_person_whose_refresh_token_was_revoked_is_listed_as_needing_sign_in() -> None:
    megan = sign_in_person(MEGAN)
    priya = sign_in_person(PRIYA)
    lena = sign_in_person(LENA)
    control("POST", "/tokens/revoke", {"user_id": lena.object_id})
    with pytest.raises(ReauthRequired):
        acquire_user_token(lena.pk, force_refresh=True)
    client = browser_as(megan)

    everyone = people_rows(client.get(ADMIN_URL).content.decode())
    assert everyone[lena.pk][0] == "needs-sign-in"
    assert "Needs sign-in again" in everyone[lena.pk][1]
    assert "invalid_grant" in everyone[lena.pk][1]
    assert everyone[priya.pk][0] == "fine"
    assert "Token fine" in everyone[priya.pk][1]
    assert "Lena Brandt" in everyone[lena.pk][1]

    only_stuck = people_rows(client.get(ADMIN_URL, {"tokens": "needs-sign-in"}).content.decode())
    assert set(only_stuck) == {lena.pk}


def test_an_unknown_token_filter_is_explained_and_shows_everyone() -> None:
    megan = sign_in_person(MEGAN)
    response = browser_as(megan).get(ADMIN_URL, {"tokens": "sleepy"})
    assert response.status_code == 200
    assert [str(m) for m in get_messages(response.wsgi_request)] == [
        "There is no token filter called 'sleepy'."
    ]
    assert megan.pk in people_rows(response.content.decode())


def test_failed_graph_calls_appear_with_status_request_id_and_caller() -> None:
    megan = sign_in_person(MEGAN)
    with pytest.raises(NotFound) as as_person:
        get_user(graph_for_user(megan.pk), UNKNOWN_UPN)
    with pytest.raises(NotFound) as as_app:
        get_user(graph_for_app(), UNKNOWN_UPN)

    recorded = recent_graph_errors()
    assert [(e.who, e.status, e.method) for e in recorded] == [
        ("app", 404, "GET"),
        (str(megan.pk), 404, "GET"),
    ]
    assert recorded[1].request_id == as_person.value.request_id
    assert recorded[1].path == f"/v1.0/users/{UNKNOWN_UPN}"

    page = unescape(browser_as(megan).get(ADMIN_URL).content.decode())
    table = page[page.index('id="graph-errors"') :]
    assert f"GET /v1.0/users/{UNKNOWN_UPN}" in table
    assert "HTTP 404" in table
    assert str(as_person.value.request_id) in table
    assert str(as_app.value.request_id) in table
    assert "Megan Reyes" in table and "The app" in table
    assert "just now" in table
    assert "minutes ago" not in table


def test_only_the_last_hundred_errors_are_kept_and_twenty_shown() -> None:
    megan = sign_in_person(MEGAN)
    recorder = GraphErrorRecorder("app")
    for number in range(105):
        recorder(NotFound(f"missing {number}", status=404), "GET", f"/v1.0/users/u{number}")

    assert get_redis().llen(GRAPH_ERRORS_KEY) == 100
    page = browser_as(megan).get(ADMIN_URL).content.decode()
    table = page[page.index('id="graph-errors"') :]
    assert table.count("<time ") == 20
    assert "/v1.0/users/u104<" in table and "/v1.0/users/u85<" in table
    assert "/v1.0/users/u84<" not in table


def test_an_unreadable_error_entry_is_skipped_not_fatal() -> None:
    megan = sign_in_person(MEGAN)
    GraphErrorRecorder("app")(NotFound("gone", status=404), "GET", "/v1.0/users/x")
    get_redis().lpush(GRAPH_ERRORS_KEY, b"not json", json.dumps({"status": 500}))

    response = browser_as(megan).get(ADMIN_URL)

    assert response.status_code == 200
    assert [e.path for e in recent_graph_errors()] == ["/v1.0/users/x"]


def test_recording_without_redis_loses_the_record_but_not_the_error(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    settings.REDIS_URL = "redis://127.0.0.1:9/0"  # the discard port: nothing listens
    GraphErrorRecorder("app")(NotFound("gone", status=404), "GET", "/v1.0/users/x")
    assert "could not record a Graph error" in caplog.text


def test_connection_health_is_shown_as_cards() -> None:
    megan = sign_in_person(MEGAN)
    page = unescape(browser_as(megan).get(ADMIN_URL).content.decode())
    cards = re.findall(
        r'<li class="card health-card health-(up|down)" data-part="(\w+)">\s*<h3[^>]*>([^<]+)', page
    )
    assert [(name, title) for _state, name, title in cards] == [
        ("database", "Database"),
        ("redis", "Live updates and queues"),
        ("worker", "Background worker"),
        ("graph", "Microsoft Teams (Graph)"),
    ]
    states = {name: state for state, name, _title in cards}
    assert states["database"] == states["redis"] == states["graph"] == "up"
    # Graph is checked as the portal's app, so its card says that app gets answers.
    assert "Answers the portal's app at " in health_card(page, "graph")


def health_card(page: str, part: str) -> str:
    """Return one part's card of the admin page, from its opening tag."""
    start = page.rindex("<li", 0, page.index(f'data-part="{part}"'))
    return page[start : page.index("</li>", start)]


def test_a_refused_client_secret_is_said_in_words(settings: Settings) -> None:
    megan = sign_in_person(MEGAN)
    TokenCache.objects.filter(key=APP_CACHE_KEY).delete()
    settings.MICROSOFT_CLIENT_SECRET = "not-the-secret"
    page = unescape(browser_as(megan).get(ADMIN_URL).content.decode())
    card = health_card(page, "graph")
    assert card.startswith('<li class="card health-card health-down"')
    assert "Down" in card
    assert "The portal's app credentials were refused: check the client secret" in card
    assert "HTTP 401" not in card


def test_documentation_links_are_named_by_their_page() -> None:
    megan = sign_in_person(MEGAN)
    page = unescape(browser_as(megan).get(ADMIN_URL).content.decode())
    for feature in FEATURES:
        for doc in feature.docs:
            assert f'<a href="{doc.url}" rel="noreferrer">{doc.title}</a>' in page
    names = re.findall(
        r'<a href="https://learn\.microsoft\.com[^"]*" rel="noreferrer">([^<]*)<', page
    )
    assert names and not [name for name in names if name.strip().isdigit()]
    assert "Get presence" in names
