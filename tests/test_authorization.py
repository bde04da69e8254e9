"""Who may use each route: every URL and websocket route, as anonymous, employee and admin.

The tables below declare, for each route of the URLconf (by name) and each websocket route
(by path), what each kind of caller gets. A route that the tables do not list fails the first
test, so a new view cannot ship without someone deciding who may use it.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import pytest
import redis
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.http import HttpResponse
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from pytest_django.fixtures import Settings as SettingsWrapper

from accounts.identity import authority_metadata
from accounts.models import User
from comms_portal.asgi import application
from comms_portal.celery import WORKER_HEARTBEAT_KEY
from comms_portal.origins import origin_of
from comms_portal.routing import websocket_urlpatterns
from directory.models import Person

ROLES = ("anonymous", "employee", "admin")
PERSON_ID = "a17e0000-0000-4000-8000-0000000000b1"
# A value for each parameter a route may take.
SAMPLES = {
    "graph_id": PERSON_ID,
    "kind": "presence",
    # No call or menu key of these numbers: admins get 404 once they are let in.
    "pk": "424242",
    "participant": "1",
    "slot": "greeting",
    "token": "no-such-message",
    "event_id": "1",
    "registration_id": "1",
    "meeting_id": 1,
    "report_id": 1,
    "table": "network",
}


@dataclass(frozen=True)
class Redirect:
    """A 302 to ``target``: the sign-in page, the authority, or a route of ours by name."""

    target: str


SIGN_IN = Redirect("the sign-in page, to come back here")
CONSENT = Redirect("the consent step for the feature's permissions")
AUTHORITY = Redirect("the identity provider")
# A feature's permissions asked for first (the callers granted none), then back here.
MEETINGS_CONSENT = Redirect("the consent page for meetings")
Outcome = int | Redirect


@dataclass(frozen=True)
class Expect:
    """What each kind of caller gets from one route, and how the route is called."""

    anonymous: Outcome
    employee: Outcome
    admin: Outcome
    method: str = "GET"
    query: dict[str, str] = field(default_factory=dict)
    data: dict[str, str] = field(default_factory=dict)
    # The socket peer the request comes from (the test client's default: loopback).
    remote_addr: str = "127.0.0.1"


def page(**call: Any) -> Expect:
    """A page for signed-in people: others are sent to sign in."""
    return Expect(anonymous=SIGN_IN, employee=200, admin=200, **call)


def page_action(done: Outcome, **call: Any) -> Expect:
    """A form of a page, posted: signed-out people are sent to sign in."""
    return Expect(anonymous=SIGN_IN, employee=done, admin=done, method="POST", **call)


def admin_page(admin: Outcome = 200, **call: Any) -> Expect:
    """A page for portal admins: signed-out people sign in, employees are refused."""
    return Expect(anonymous=SIGN_IN, employee=403, admin=admin, **call)


def public(outcome: Outcome, **call: Any) -> Expect:
    """A route that answers everyone alike."""
    return Expect(anonymous=outcome, employee=outcome, admin=outcome, **call)


HTTP_ROUTES: dict[str, Expect] = {
    "home": public(200),
    # Load balancers and monitors call it; what it shows depends on who asks (test_healthz).
    "healthz": public(200),
    # Prometheus scrapes it from METRICS_ALLOWED_NETWORKS (loopback by default; see
    # tests/comms_portal/metrics): from anywhere else only admins, and others find nothing.
    "metrics": Expect(anonymous=404, employee=404, admin=200, remote_addr="203.0.113.9"),
    # The same checks in words, for people; details only for admins (test_status_page).
    "status": public(200),
    # Sign-in starts anywhere and the authority answers the callback: public by design; a
    # callback without the flow's state is refused.
    "accounts:signin": public(AUTHORITY),
    "accounts:consent": public(AUTHORITY, query={"feature": "presence"}),
    "accounts:callback": public(400),
    "accounts:signout": public(AUTHORITY, method="POST"),
    # A person chooses the zone their times are shown in; done, back to where they were.
    "accounts:time_zone": page_action(Redirect("home"), data={"time_zone": "Asia/Tokyo"}),
    "admin_portal": admin_page(),
    "admin_grant_consent": admin_page(AUTHORITY),
    "admin_consent_done": admin_page(Redirect("admin_portal")),
    # An image: a signed-out browser gets 401 rather than a redirect to an HTML page.
    "directory:photo": Expect(anonymous=401, employee=200, admin=200),
    # The people picker's search, read by scripts: 401 JSON rather than a redirect.
    "directory:search": Expect(anonymous=401, employee=200, admin=200, query={"q": "a"}),
    # Graph posts change notifications here, guarded by clientState and validation tokens,
    # never by a session: public by design.
    "notifications:intake": public(200, method="POST", query={"validationToken": "hello"}),
    "notifications:lifecycle": public(200, method="POST", query={"validationToken": "hello"}),
    "notifications:kind-lifecycle": public(200, method="POST", query={"validationToken": "hello"}),
    "presence:wall": page(),
    "presence:cards": page(),
    "presence:snapshot": Expect(
        anonymous=401, employee=200, admin=200, query={"ids": "not-in-the-directory"}
    ),
    "presence:my_status": page(),
    "presence:person": page(),
    # Forms of the wall and the person page: done, they go back where they came from.
    "presence:favourite": page_action(Redirect("presence:wall"), data={"favourite": "1"}),
    "presence:alert": page_action(Redirect("presence:person"), data={"alert": "0"}),
    # How the wall is shown, remembered per person: done, it goes back to the wall.
    "presence:wall_display": page_action(Redirect("presence:wall"), data={"layout": "list"}),
    # Reading out followed people's changes, remembered per person: done, back to the wall.
    "presence:announce": page_action(Redirect("presence:wall"), data={"announce": "1"}),
    "presence:alerts": page(),
    # The header's alerts panel, an HTML fragment fetched by a page of a signed-in person.
    "presence:alerts_recent": page(),
    "meetings:home": page(),
    # Pages that call Graph ask for the meetings permissions first (the callers have none).
    "meetings:new": Expect(anonymous=SIGN_IN, employee=MEETINGS_CONSENT, admin=MEETINGS_CONSENT),
    "meetings:lookup": Expect(anonymous=SIGN_IN, employee=MEETINGS_CONSENT, admin=MEETINGS_CONSENT),
    "meetings:meet_now": page_action(MEETINGS_CONSENT, data={"person": PERSON_ID}),
    "meetings:edit": Expect(anonymous=SIGN_IN, employee=MEETINGS_CONSENT, admin=MEETINGS_CONSENT),
    "meetings:attendance": Expect(
        anonymous=SIGN_IN, employee=MEETINGS_CONSENT, admin=MEETINGS_CONSENT
    ),
    # A meeting is shown only to its organizer and invitees: anyone else finds nothing.
    "meetings:detail": Expect(anonymous=SIGN_IN, employee=404, admin=404),
    "meetings:roster": Expect(anonymous=401, employee=404, admin=404),
    "meetings:ics": Expect(anonymous=SIGN_IN, employee=404, admin=404),
    "meetings:delete": page_action(404),
    "meetings:attendance_csv": Expect(anonymous=SIGN_IN, employee=404, admin=404),
    # Call quality: everyone sees their own calls; the dashboard, its CSV tables, buildings and
    # PSTN usage are for admins. A call's timeline shows only to its participants and admins
    # (the sample call does not exist: 404 for both).
    "callrecords:mine": page(),
    "callrecords:dashboard": admin_page(),
    "callrecords:export": admin_page(),
    "callrecords:call": Expect(anonymous=SIGN_IN, employee=404, admin=404),
    "callrecords:pstn": admin_page(),
    "callrecords:buildings": admin_page(),
    "events:home": page(),
    # The call board and the reception line: portal admins only.
    "calls:board": admin_page(),
    "calls:board_rows": admin_page(),
    "calls:reception": admin_page(),
    "calls:incidents": admin_page(),
    "calls:incident": admin_page(404),
    "calls:incident_live": admin_page(404),
    "calls:delete_option": admin_page(404, method="POST"),
    "calls:delete_team": admin_page(404, method="POST"),
    "calls:teams": admin_page(),
    "calls:team_new": admin_page(),
    "calls:team_edit": admin_page(404),
    "calls:call": admin_page(404),
    "calls:call_live": admin_page(404),
    "calls:hang_up": admin_page(404, method="POST"),
    "calls:invite": admin_page(404, method="POST"),
    "calls:mute": admin_page(404, method="POST"),
    "calls:remove": admin_page(404, method="POST"),
    # The calling platform fetches the line's prompts without a session: public by design
    # (recordings the admin uploaded to be played to any caller).
    "calls:prompt": public(200),
    # A call-out's spoken message, fetched by the platform by its unguessable token alone.
    "calls:spoken_message": public(404),
    # A person's own delegates: signed-in people, asked for CallDelegation.Read first.
    "calls:my_delegates": Expect(anonymous=SIGN_IN, employee=CONSENT, admin=CONSENT),
    # Event pages of events one may attend; there is no event 1 here.
    "events:detail": Expect(anonymous=SIGN_IN, employee=404, admin=404),
    "events:register": page_action(404),
    "events:cancel_mine": page_action(404),
    "events:ics": Expect(anonymous=SIGN_IN, employee=404, admin=404),
    # The console: admins and an event's co-organizers (tests/events/test_console_access.py);
    # anyone else is refused every console URL, whether the event exists or not.
    "events:console": Expect(anonymous=SIGN_IN, employee=403, admin=200),
    "events:create": admin_page(),
    "events:teams_import": Expect(anonymous=SIGN_IN, employee=403, admin=200),
    "events:manage": Expect(anonymous=SIGN_IN, employee=403, admin=404),
    "events:edit": Expect(anonymous=SIGN_IN, employee=403, admin=404),
    "events:preview": Expect(anonymous=SIGN_IN, employee=403, admin=404),
    "events:publish": Expect(anonymous=SIGN_IN, employee=403, admin=404, method="POST"),
    "events:cancel": Expect(anonymous=SIGN_IN, employee=403, admin=404),
    "events:registration_rows": Expect(anonymous=401, employee=403, admin=404),
    "events:registrations_csv": Expect(anonymous=SIGN_IN, employee=403, admin=404),
    "events:cancel_registration": Expect(anonymous=SIGN_IN, employee=403, admin=404, method="POST"),
    "events:attendance": Expect(anonymous=SIGN_IN, employee=403, admin=404),
    "events:attendance_csv": Expect(anonymous=SIGN_IN, employee=403, admin=404),
}


@dataclass(frozen=True)
class Closed:
    """The socket is accepted, then closed at once with ``code``."""

    code: int


@dataclass(frozen=True)
class Opens:
    """The socket stays open: sending ``probe`` gets an answer of type ``answer``."""

    probe: dict[str, Any]
    answer: str


SocketOutcome = Closed | Opens


@dataclass(frozen=True)
class SocketExpect:
    """What each kind of caller gets from one websocket route (opened from our own origin)."""

    anonymous: SocketOutcome
    employee: SocketOutcome
    admin: SocketOutcome


# Keyed by the route's path as comms_portal.routing declares it; each socket is opened from
# the portal's own origin. A renamed route is renamed here, with what its consumer does.
SOCKET_ROUTES: dict[str, SocketExpect] = {
    "ws/live/": SocketExpect(
        anonymous=Closed(4401),
        employee=Opens({"type": "watch", "topics": []}, "watching"),
        admin=Opens({"type": "watch", "topics": []}, "watching"),
    ),
}


def url_routes(
    patterns: Sequence[URLPattern | URLResolver], namespace: str = "", params: tuple[str, ...] = ()
) -> Iterator[tuple[str, tuple[str, ...]]]:
    """Yield each route of the URLconf: its name (or pattern when unnamed) and parameters."""
    for entry in patterns:
        found = params + tuple(entry.pattern.regex.groupindex)
        if isinstance(entry, URLResolver):
            inner = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            yield from url_routes(entry.url_patterns, inner, found)
        elif entry.name:
            yield f"{namespace}{entry.name}", found
        else:
            yield f"{namespace}<unnamed {entry.pattern}>", found


def socket_routes() -> list[str]:
    """Return the path of each websocket route."""
    return [str(entry.pattern) for entry in websocket_urlpatterns]


ROUTE_PARAMS = dict(url_routes(get_resolver().url_patterns))


def test_every_route_declares_who_may_use_it() -> None:
    assert len(ROUTE_PARAMS) > 15, "the URLconf walk no longer finds the routes"
    assert set(ROUTE_PARAMS) - set(HTTP_ROUTES) == set(), "declare each new route in HTTP_ROUTES"
    assert set(HTTP_ROUTES) - set(ROUTE_PARAMS) == set(), "remove routes that no longer exist"
    assert set(socket_routes()) ^ set(SOCKET_ROUTES) == set(), "SOCKET_ROUTES is out of step"
    unknown = {param for params in ROUTE_PARAMS.values() for param in params} - set(SAMPLES)
    assert unknown == set(), "give a sample value for each new route parameter"


@pytest.fixture
def callers(transactional_db: None, settings: SettingsWrapper) -> dict[str, User | None]:
    """Create the people each role signs in as, and the person the routes name.

    Committed, not rolled back: photos are read on a worker thread with its own connection.
    """
    Person.objects.create(
        graph_id=PERSON_ID, user_principal_name="ada@example.org", display_name="Ada Byron"
    )
    # Every part of /healthz up: its answer is then the same 200 for everyone.
    settings.HEALTHZ_CACHE_SECONDS = 0
    redis.Redis.from_url(settings.REDIS_URL).set(WORKER_HEARTBEAT_KEY, str(time.time()))
    return {
        "anonymous": None,
        "employee": User.objects.create(username="adele", display_name="Adele Vance"),
        "admin": User.objects.create(
            username="megan", display_name="Megan Bowen", is_portal_admin=True
        ),
    }


def _url(name: str) -> str:
    return reverse(name, kwargs={param: SAMPLES[param] for param in ROUTE_PARAMS[name]})


def _authority_origins() -> set[str]:
    metadata = authority_metadata()
    urls = [
        settings.MICROSOFT_AUTHORITY,
        metadata["authorization_endpoint"],
        metadata["end_session_endpoint"],
    ]
    return {origin_of(url, name="the authority") for url in urls}


def _assert_outcome(response: HttpResponse, expected: Outcome, path: str) -> None:
    if isinstance(expected, int):
        assert response.status_code == expected
        return
    assert response.status_code == 302
    location = response["Location"]
    if expected is SIGN_IN:
        assert location == f"{reverse('accounts:signin')}?{urlencode({'next': path}, safe='/')}"
    elif expected is CONSENT:
        assert location.startswith(f"{reverse('accounts:consent')}?feature=")
    elif expected is AUTHORITY:
        assert origin_of(location, name="Location") in _authority_origins()
    elif expected is MEETINGS_CONSENT:
        assert location.startswith(f"{reverse('accounts:consent')}?feature=meetings&next=")
    else:
        assert location == _url(expected.target)


@pytest.mark.parametrize(("name", "role"), [(n, r) for n in HTTP_ROUTES for r in ROLES])
def test_each_route_answers_each_role_as_declared(
    name: str, role: str, callers: dict[str, User | None]
) -> None:
    expect = HTTP_ROUTES[name]
    client = Client()
    user = callers[role]
    if user is not None:
        client.force_login(user)
    path = _url(name)
    if expect.method == "POST":
        query = f"?{urlencode(expect.query)}" if expect.query else ""
        response = client.post(path + query, expect.data, REMOTE_ADDR=expect.remote_addr)
    else:
        response = client.get(path, expect.query, REMOTE_ADDR=expect.remote_addr)
    _assert_outcome(response, getattr(expect, role), path)


def _session_cookie(user: User | None) -> list[tuple[bytes, bytes]]:
    if user is None:
        return []
    client = Client()
    client.force_login(user)
    session = client.cookies[settings.SESSION_COOKIE_NAME].value
    return [(b"cookie", f"{settings.SESSION_COOKIE_NAME}={session}".encode())]


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio(loop_scope="session")
@pytest.mark.parametrize(("route", "role"), [(p, r) for p in SOCKET_ROUTES for r in ROLES])
async def test_each_socket_answers_each_role_as_declared(route: str, role: str) -> None:
    expect: SocketOutcome = getattr(SOCKET_ROUTES[route], role)
    user = None
    if role != "anonymous":
        user = await User.objects.acreate(
            username=role, display_name=role.title(), is_portal_admin=role == "admin"
        )
    own_origin = origin_of(settings.PUBLIC_BASE_URL, name="PUBLIC_BASE_URL")
    headers = [(b"origin", own_origin.encode()), *await sync_to_async(_session_cookie)(user)]
    communicator = WebsocketCommunicator(application, f"/{route}", headers=headers)
    connected, _ = await communicator.connect()
    assert connected
    try:
        if isinstance(expect, Closed):
            closing = await communicator.receive_output(timeout=5)
            assert closing == {"type": "websocket.close", "code": expect.code}
        else:
            await communicator.send_json_to(expect.probe)
            # The socket may say other things first (a resync after an earlier test's Redis
            # trouble); a close instead of a message fails receive_json_from.
            kinds = [(await communicator.receive_json_from(timeout=5))["type"]]
            while kinds[-1] != expect.answer and len(kinds) < 10:
                kinds.append((await communicator.receive_json_from(timeout=5))["type"])
            assert kinds[-1] == expect.answer, kinds
    finally:
        await communicator.disconnect()
