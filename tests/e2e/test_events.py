"""Events in a real browser on the whole stack: an admin plans and publishes a webinar, employees
register (one is wait-listed), the admin's table shows registrations live, and a canceled
event says so to those registered."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Iterator
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import Browser, Page, expect

from comms_portal.stack import Stack
from tests.e2e.accessibility import axe_source, serious_violations, sideways_overflow
from tests.e2e.signin import sign_in
from tests.events.consents import forget_consents
from tests.support.cast import AIKO, MEGAN, SAMUEL, TOMAS
from tests.support.session_sandbox import control

pytestmark = pytest.mark.e2e
WAIT_MS = 30_000
# Graph's notification, the worker's drain and the live channel, on a busy machine.
NOTIFIED_MS = 60_000


@pytest.fixture(autouse=True)
def consents_withdrawn_afterwards() -> Iterator[None]:
    """Leave the shared sandbox's people with no events consent, as other tests expect."""
    yield
    forget_consents()


@pytest.fixture
def roomy_write_budget() -> Iterator[None]:
    control(
        "POST",
        "/throttling",
        {
            "bucket": "virtual-events-write",
            "requests": 1000,
            "window_seconds": 30,
            "per_tenant": False,
        },
    )
    yield
    control("DELETE", "/throttling")


def person(browser: Browser, stack: Stack, upn: str, *, axe: bool = False) -> Page:
    """A browser of its own for ``upn``, signed in, who granted the events permission."""
    context = browser.new_context(base_url=stack.base_url, bypass_csp=axe)
    page = context.new_page()
    sign_in(page, stack.base_url, upn, next_path="/events/")
    page.goto("/accounts/consent/?feature=events&next=/events/")
    portal = re.compile("^" + re.escape(stack.base_url) + "/events/")
    for _ in range(150):
        if portal.match(page.url):
            break
        accept = page.locator("#idBtn_Accept")
        if accept.is_visible():
            accept.click()
            break
        page.wait_for_timeout(100)
    page.wait_for_url(portal)
    return page


def local(moment: timedelta) -> str:
    return (timezone.now() + moment).strftime("%Y-%m-%dT%H:%M")


def test_a_webinar_from_plan_to_cancellation(
    browser: Browser, live_stack: Stack, directory_synced: None, roomy_write_budget: None
) -> None:
    admin = person(browser, live_stack, MEGAN, axe=True)
    admin.goto("/events/console/new/")
    title = f"Browser webinar {uuid.uuid4().hex[:6]}"
    admin.get_by_label("Title").fill(title)
    admin.get_by_label("Starts").fill(local(timedelta(days=3)))
    admin.get_by_label("Ends").fill(local(timedelta(days=3, hours=1)))
    admin.get_by_label("Guest presenters").fill("Ada Guest <ada@guests.example>")
    for picker, text, name in (
        ("Co-organizers", "priya", "Priya Natarajan"),
        ("Presenters from the organization", "whitf", "Grace Whitfield"),
    ):
        admin.get_by_role("combobox", name=picker).click()
        admin.keyboard.type(text)
        expect(admin.get_by_role("option", name=re.compile("^" + name))).to_be_visible(
            timeout=WAIT_MS
        )
        admin.keyboard.press("ArrowDown")
        admin.keyboard.press("Enter")
        expect(admin.get_by_role("button", name=f"Remove {name}").first).to_be_visible()
    admin.get_by_label("Capacity (webinars)").fill("1")
    admin.get_by_label("Question 1").fill("Which team are you in?")
    admin.locator("#id_q1_type").select_option("singleChoice")
    admin.locator("#id_q1_choices").fill("Platform\nProduct")
    admin.locator("#id_q1_required").check()
    admin.get_by_role("button", name="Save as draft").click()
    expect(admin.get_by_role("heading", level=1)).to_have_text(title)
    expect(admin.get_by_text("Ada Guest (guest, ada@guests.example)")).to_be_visible()
    expect(admin.get_by_text("Grace Whitfield", exact=True)).to_be_visible()
    admin.get_by_role("button", name="Publish").click()
    expect(admin.locator("[data-event-status]")).to_have_text("Published")
    expect(admin.locator("[data-registrations]")).to_have_attribute(
        "data-live", "on", timeout=WAIT_MS
    )
    assert serious_violations(admin, axe_source()) == []
    manage_url = admin.url

    tomas = person(browser, live_stack, TOMAS)
    tomas.get_by_role("link", name=title).click()
    tomas.get_by_role("button", name="Register").click()
    # The required question, unanswered: the page says so and nothing is sent.
    expect(tomas.locator(".field-error")).to_contain_text("required")
    tomas.get_by_label("Platform").check()
    tomas.get_by_role("button", name="Register").click()
    expect(tomas.locator(".event-status")).to_contain_text("Registered")

    # The admin's open table shows Tomas without a reload.
    rows = admin.locator("[data-rows] tr[data-registration-id]")
    expect(rows.filter(has_text="Tomas Lindqvist")).to_have_count(1, timeout=WAIT_MS)
    expect(admin.locator('[data-count="registered"]')).to_have_text("1")

    samuel = person(browser, live_stack, SAMUEL)
    samuel.get_by_role("link", name=title).click()
    samuel.get_by_label("Product").check()
    samuel.get_by_role("button", name="Register").click()
    expect(samuel.locator(".event-status")).to_contain_text("Wait-listed")
    expect(admin.locator('[data-count="waitlisted"]')).to_have_text("1", timeout=WAIT_MS)

    # Someone registers through Teams itself: the notification brings them to the table.
    event_id = manage_url.rstrip("/").rsplit("/", 1)[-1]
    graph_id = _graph_id(title)
    subscription = _registrations_subscription(graph_id)
    control("POST", f"/virtual-events/{graph_id}/register", {"count": 1})
    expect(rows).to_have_count(3, timeout=NOTIFIED_MS)
    _wait_for_a_delivery(subscription)

    # The pages hold at 320 pixels, and the employee's page has no serious axe findings.
    admin.set_viewport_size({"width": 320, "height": 800})
    assert sideways_overflow(admin) == 0
    aiko = person(browser, live_stack, AIKO, axe=True)
    aiko.goto(f"/events/{event_id}/")
    assert serious_violations(aiko, axe_source()) == []
    aiko.set_viewport_size({"width": 320, "height": 800})
    assert sideways_overflow(aiko) == 0
    aiko.context.close()

    admin.get_by_role("link", name="Cancel the event").click()
    admin.get_by_label("Yes, cancel this event for good").check()
    admin.get_by_role("button", name="Cancel the event").click()
    expect(admin.locator("[data-event-status]")).to_have_text("Canceled")
    samuel.goto(f"/events/{event_id}/")
    expect(samuel.locator("[data-event-status=canceled]")).to_have_text("This event is canceled.")
    admin.context.close()
    tomas.context.close()
    samuel.context.close()


def _graph_id(title: str) -> str:
    """Read the event's Graph id from the sandbox's list of events, by its title."""
    events = control("GET", "/virtual-events/state").json()["events"]
    (found,) = [event["id"] for event in events if event["displayName"] == title]
    return str(found)


def _registrations_subscription(graph_id: str) -> str:
    """Wait for the portal's subscription to the webinar's registrations; return its id."""
    resource = f"solutions/virtualEvents/webinars/{graph_id}/registrations".lower()
    for _ in range(300):
        held = control("GET", "/subscriptions").json()["value"]
        found = [s["id"] for s in held if s["resource"].strip("/").lower() == resource]
        if found:
            return str(found[0])
        time.sleep(0.1)
    raise AssertionError("the portal did not subscribe to the webinar's registrations")


def _wait_for_a_delivery(subscription: str) -> None:
    """Wait until the sandbox has delivered a notification of ``subscription`` to the portal."""
    deliveries: list[dict[str, object]] = []
    for _ in range(300):
        deliveries = control("GET", f"/deliveries?subscription_id={subscription}").json()["value"]
        if any(200 <= int(str(entry.get("status") or 0)) < 300 for entry in deliveries):
            return
        time.sleep(0.1)
    raise AssertionError(f"no notification of {subscription} was delivered: {deliveries}")
