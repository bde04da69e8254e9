"""An admin sets up the reception line in the browser and watches a call arrive and be routed;
an admin starts an incident call-out and watches the team gather in the meeting the bot made."""

from __future__ import annotations

import json
import re
import time

import pytest
from playwright.sync_api import Browser, Page, expect

from comms_portal.stack import Stack
from tests.e2e.accessibility import axe_source, serious_violations
from tests.e2e.conftest import PageWatch
from tests.e2e.signin import sign_in
from tests.support.cast import AIKO, LENA, MEGAN
from tests.support.session_sandbox import control

pytestmark = pytest.mark.e2e
CALLER = "+447700900777"


def user_id(upn: str) -> str:
    info = control("GET", "/info").json()
    return str(next(u["id"] for u in info["users"] if u["userPrincipalName"] == upn))


def test_reception_line_set_up_in_the_browser_routes_a_live_call(
    page: Page, live_stack: Stack, watch: PageWatch, directory_synced: None
) -> None:
    control("POST", "/calls/webhook", {"url": f"{live_stack.base_url}/graph/notifications/calls"})
    control("POST", "/calls/settings", {"answerSeconds": 0.5, "promptSeconds": 0.2})
    control(
        "POST", f"/presence/{user_id(AIKO)}", {"availability": "Available", "activity": "Available"}
    )
    sign_in(page, live_stack.base_url, MEGAN)

    nav = page.get_by_role("navigation", name="Main")
    nav.get_by_role("link", name="Calls", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Call board")
    page.get_by_role("link", name="Reception line").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Reception line")

    # Open every day, all day (the same opening and closing time).
    page.get_by_label("Opens at").fill("00:00")
    page.get_by_label("Closes at").fill("00:00")
    for day in ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"):
        page.get_by_label(day, exact=True).check()
    page.get_by_role("button", name="Save the line").click()
    expect(page.get_by_text("The reception line is saved.")).to_be_visible()

    # Key 1 leads to a list of one person, chosen with the directory picker, by keyboard.
    page.get_by_label("Key", exact=True).select_option("1")
    page.get_by_label("Label").fill("Front desk")
    page.get_by_label("Leads to").select_option("list")
    picker = page.get_by_role("combobox", name="People (a list, or the one person)")
    picker.fill("Aiko")
    expect(page.get_by_role("option", name=re.compile("^Aiko Tanaka"))).to_be_visible(
        timeout=10_000
    )
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")
    page.get_by_role("button", name="Save the key").click()
    expect(page.locator('[data-digit="1"]')).to_contain_text("Front desk")

    # The board, open while the call comes in, updates by itself.
    page.get_by_role("link", name="Call board").click()
    expect(page.get_by_role("status").filter(has_text="Live")).to_be_visible(timeout=10_000)
    # With one key only, the line rings its team at once, without a menu.
    call = control("POST", "/calls/incoming", {"from": {"phone": CALLER}}).json()["id"]
    ended = page.locator('[data-calls="recent"] tr', has_text=CALLER)
    expect(ended).to_contain_text("Taken by Aiko Tanaka", timeout=15_000)

    ended.get_by_role("link", name=CALLER).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Call from {CALLER}")
    expect(page.locator("[data-steps]")).to_contain_text("Ringing Aiko Tanaka (Available longest)")
    control("POST", f"/calls/{call}/hangup")
    page.wait_for_load_state("networkidle")
    assert watch.console_errors == []
    assert watch.outside_requests == []


def wait_for_prompt_outcome(call_id: str, context: str) -> str:
    """Return how the platform ended the call's playPrompt of ``context``: completed or failed."""
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        deliveries = control("GET", f"/calls/deliveries?callId={call_id}").json()["deliveries"]
        for delivery in deliveries:
            for item in delivery["body"]["value"]:
                data = item["resourceData"]
                if (
                    isinstance(data, dict)
                    and data.get("clientContext") == context
                    and data.get("status") in ("completed", "failed")
                ):
                    return str(data["status"])
        time.sleep(0.1)
    raise AssertionError(f"the {context} prompt did not end")


def pick(page: Page, label: str, name: str) -> None:
    picker = page.get_by_role("combobox", name=label)
    picker.fill(name.split()[0])
    expect(page.get_by_role("option", name=re.compile(f"^{name}"))).to_be_visible(timeout=10_000)
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")


def test_an_incident_call_out_creates_the_meeting_and_shows_who_joined(
    page: Page, live_stack: Stack, watch: PageWatch, directory_synced: None
) -> None:
    control("POST", "/calls/webhook", {"url": f"{live_stack.base_url}/graph/notifications/calls"})
    control("POST", "/calls/settings", {"answerSeconds": 0.5, "promptSeconds": 0.2})
    aiko, lena = user_id(AIKO), user_id(LENA)
    control("POST", f"/presence/{aiko}", {"availability": "Available", "activity": "Available"})
    control("POST", f"/presence/{lena}", {"availability": "Offline", "activity": "Offline"})
    sign_in(page, live_stack.base_url, MEGAN)

    nav = page.get_by_role("navigation", name="Main")
    nav.get_by_role("link", name="Calls", exact=True).click()
    page.get_by_role("link", name="Incident call-outs").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Incident call-outs")
    page.get_by_label("Title").fill("Checkout errors")
    page.get_by_label("Message").fill("Checkout fails for one customer in three.")
    # The team: two people picked by hand and saved under a name.
    page.get_by_label("Team to call").select_option("list")
    picker = "People (the team picked by hand, or the one person)"
    pick(page, picker, "Aiko Tanaka")
    pick(page, picker, "Lena Brandt")
    page.get_by_label("Save the people picked as a team named").fill("Checkout on-call")
    expect(page.get_by_label("Also call people who are Offline")).not_to_be_checked()
    expect(page.get_by_role("button", name="Start the call-out")).to_have_count(0)
    page.get_by_role("button", name="Show who will be called").click()

    # Before anything starts: the members, their presence, and the order they are called in.
    order = page.get_by_role("table", name=re.compile("Who will be called"))
    expect(order.get_by_role("row", name=re.compile("Aiko Tanaka"))).to_contain_text("1")
    expect(order.get_by_role("row", name=re.compile("Aiko Tanaka"))).to_contain_text("Available")
    expect(order.get_by_role("row", name=re.compile("Lena Brandt"))).to_contain_text("Not called")
    expect(page.get_by_label("Team to call")).to_have_value("list")
    page.get_by_role("button", name="Start the call-out").click()

    # No link was given: the bot created the meeting, with Megan as its organizer.
    expect(page.get_by_role("heading", level=1)).to_have_text("Checkout errors")
    expect(page.locator("[data-team]")).to_have_text("Calling the team Checkout on-call.")
    meeting_note = page.locator('[data-meeting="created"]')
    expect(meeting_note).to_contain_text("The bot created the incident meeting in Teams")
    link = meeting_note.get_by_role("link", name="Join the incident meeting in Teams")
    join_url = link.get_attribute("href") or ""
    made = [m for m in control("GET", "/meetings").json()["value"] if m["joinWebUrl"] == join_url]
    assert len(made) == 1 and made[0]["subject"] == "Checkout errors"
    assert made[0]["organizerId"] == user_id(MEGAN)

    expect(page.locator(f'[data-target="{lena}"]')).to_contain_text("Offline: not called")
    aiko_row = page.locator(f'[data-target="{aiko}"]')
    # A fresh stack's one worker may first spend a while storing the sandbox's call records.
    expect(aiko_row).to_contain_text("Hearing the message", timeout=180_000)
    aiko_call = next(
        c["id"]
        for c in control("GET", "/calls").json()["calls"]
        if c["state"] == "established" and aiko in json.dumps(c["targets"])
    )
    # Aiko hears Megan's message itself, spoken, fetched by the platform from the portal.
    expect(page.locator('[data-speech="spoken"]')).to_contain_text("read out in a synthetic voice")
    played = next(c for c in control("GET", "/calls").json()["calls"] if c["id"] == aiko_call)
    message_uri = played["promptsPlayed"][0]
    assert "/calls/spoken/" in message_uri
    heard = page.request.get(message_uri)
    assert heard.status == 200 and heard.headers["content-type"] == "audio/wav"
    assert heard.body()[:4] == b"RIFF"
    # The platform fetched the message from the portal itself, found it playable, played it
    # (waited for before Aiko answers: a call moved into the meeting ends its prompt unfinished).
    assert wait_for_prompt_outcome(aiko_call, "incident") == "completed"
    control("POST", f"/calls/{aiko_call}/tones", {"tones": "1"})
    # The page updates by itself as Aiko presses 1 and is moved into the meeting.
    expect(aiko_row).to_contain_text("Joined the meeting", timeout=15_000)
    # Nobody is left to call: the spoken message is gone.
    assert page.request.get(message_uri).status == 404

    # On the board, the bot's call in the meeting has Aiko in it.
    page.get_by_role("link", name="Incident call-outs").click()
    page.get_by_role("link", name="Call board").click()
    page.locator('[data-calls="live"]').get_by_role(
        "link", name="Incident: Checkout errors"
    ).click()
    expect(page.locator("[data-participants]")).to_contain_text("Aiko Tanaka", timeout=15_000)
    page.get_by_role("button", name="Hang up").click()
    expect(page.locator("[data-call-state]")).to_have_text("terminated", timeout=15_000)
    assert watch.console_errors == []
    assert watch.outside_requests == []


def test_the_calls_pages_have_no_serious_accessibility_violations(
    browser: Browser, live_stack: Stack, directory_synced: None
) -> None:
    context = browser.new_context(base_url=live_stack.base_url, bypass_csp=True)
    page = context.new_page()
    sign_in(page, live_stack.base_url, MEGAN)
    axe = axe_source()
    found = {}
    for width in (1280, 320):
        page.set_viewport_size({"width": width, "height": 800})
        for path in (
            "/calls/",
            "/calls/reception/",
            "/calls/incidents/",
            "/calls/teams/",
            "/calls/teams/new",
        ):
            page.goto(path)
            page.wait_for_load_state("networkidle")
            violations = serious_violations(page, axe)
            if violations:
                found[f"{path} at {width}px"] = violations
    context.close()
    assert found == {}
