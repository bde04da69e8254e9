"""The call board: admins only, live on its topic, with controls that reach the platform."""

# Fixtures are imported by name, so their parameters shadow them.
# ruff: noqa: F811

from __future__ import annotations

import io
import wave
from datetime import time as clock_time

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from django.test import Client
from django.urls import reverse

from accounts.models import User
from calls import services
from calls.models import Call, CallbackOffer, CallParticipant, MenuOption, Prompt, ReceptionLine
from tests.calls.support import (  # noqa: F401  (fixtures)
    CallbackPump,
    bot_webhook,
    control,
    receiver,
    set_presence,
    user_id,
)
from tests.calls.test_reception_flow import CALLER, GRACE, SAMUEL, ended, person, ring
from tests.presence.engine_fixtures import clean_presence  # noqa: F401  (fixture)
from tests.support.live import TopicInbox, open_socket, session_cookie, watch
from tests.support.webhook_receiver import WebhookReceiver

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("clean_presence")]


@pytest.fixture
def admin() -> Client:
    client = Client()
    client.force_login(
        User.objects.create(username="megan", display_name="Megan Reyes", is_portal_admin=True)
    )
    return client


@pytest.fixture
def open_line() -> ReceptionLine:
    line = ReceptionLine.objects.create(
        opens_at=clock_time(0, 0), closes_at=clock_time(0, 0), open_days="0123456"
    )
    support = MenuOption.objects.create(line=line, digit="1", label="Support", kind="list")
    support.members.set([person(GRACE), person(SAMUEL)])
    MenuOption.objects.create(line=line, digit="9", label="Operator", kind="person")
    return line


def test_only_admins_may_watch_the_board() -> None:
    async def run() -> tuple[dict[str, object], dict[str, object]]:
        employee = await open_socket(await sync_to_async(session_cookie)("adele"))
        admin = await open_socket(
            await sync_to_async(session_cookie)("megan", is_portal_admin=True)
        )
        try:
            return await watch(employee, ["calls:board"]), await watch(admin, ["calls:board"])
        finally:
            await employee.disconnect()
            await admin.disconnect()

    refused, allowed = async_to_sync(run)()

    assert refused["type"] == "error" and "calls:board" in str(refused)
    assert allowed["type"] == "watching"


def test_each_change_of_a_call_is_published_on_the_board_and_shown(
    bot_webhook: WebhookReceiver, open_line: ReceptionLine, admin: Client
) -> None:
    inbox = TopicInbox("calls:board")
    pump = CallbackPump(bot_webhook)
    call = ring(pump)

    states = [m["call"]["state"] for m in inbox.messages() if m["type"] == "call"]
    board = admin.get(reverse("calls:board"))
    rows = admin.get(reverse("calls:board_rows"))

    assert "incoming" in states and "established" in states
    assert all(m["call"]["id"] == call.pk for m in inbox.messages(0.1) if m["type"] == "call")
    assert board.status_code == 200
    assert f'data-call="{call.pk}"' in rows.content.decode()
    assert CALLER in rows.content.decode()
    admin.post(reverse("calls:hang_up", args=[call.pk]))
    done = ended(pump, call)
    assert done.result_subcode == "5001"
    inbox.close()


def test_mute_invite_and_remove_from_the_call_page(
    bot_webhook: WebhookReceiver, open_line: ReceptionLine, admin: Client
) -> None:
    pump = CallbackPump(bot_webhook)
    set_presence(GRACE, "Available", "Available")
    set_presence(SAMUEL, "Available", "Available")
    CallbackOffer.objects.create(option=open_line.options.get(digit="1"), caller_phone=CALLER)
    assert services.place_call_backs() == 1
    call = pump.until(lambda: Call.objects.filter(purpose="callback", state="established").first())
    pump.until(lambda: call.participants.count() == 3)
    page = admin.get(reverse("calls:call", args=[call.pk]))
    assert page.status_code == 200
    phone = CallParticipant.objects.get(call=call, label=CALLER)

    muted = admin.post(reverse("calls:mute", args=[call.pk, phone.pk]), follow=True)
    assert b"Muting" in muted.content
    pump.until(lambda: CallParticipant.objects.get(pk=phone.pk).is_muted)

    refused = admin.post(reverse("calls:remove", args=[call.pk, phone.pk]), follow=True)
    assert b"Removing was refused" in refused.content
    control("POST", "/calls/settings", {"allowRemoveParticipants": True})
    try:
        admin.post(reverse("calls:remove", args=[call.pk, phone.pk]))
        pump.until(lambda: not CallParticipant.objects.filter(pk=phone.pk).exists())
    finally:
        control("POST", "/calls/settings", {"allowRemoveParticipants": False})

    lena = person("lena.brandt@lumenhall.example")
    set_presence("lena.brandt@lumenhall.example", "Available", "Available")
    bad = admin.post(reverse("calls:invite", args=[call.pk]), {"people": "not-an-id"})
    assert bad.status_code == 400
    admin.post(reverse("calls:invite", args=[call.pk]), {"people": lena.graph_id})
    pump.until(lambda: call.participants.filter(person=lena).exists())
    admin.post(reverse("calls:hang_up", args=[call.pk]))
    ended(pump, call)


def _wav(rate: int = 16_000, channels: int = 1, width: int = 2, frames: int = 1600) -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as audio:
        audio.setnchannels(channels)
        audio.setsampwidth(width)
        audio.setframerate(rate)
        audio.writeframes(b"\0" * frames * width * channels)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("content", "error"),
    [
        (b"not audio at all", b"not a WAV file"),
        (_wav(rate=8000), b"must be PCM, 16-bit, mono, 16 kHz"),
        (_wav(channels=2), b"must be PCM, 16-bit, mono, 16 kHz"),
        (_wav(frames=0), b"The recording is empty"),
        (b"RIFF\0\0\0\0WAVEjunk", b"cannot be read"),
    ],
    ids=["not-wav", "8khz", "stereo", "empty", "truncated"],
)
def test_a_bad_recording_is_refused(admin: Client, content: bytes, error: bytes) -> None:
    upload = io.BytesIO(content)
    upload.name = "greeting.wav"

    answer = admin.post(
        reverse("calls:reception"), {"form": "prompt", "slot": "greeting", "recording": upload}
    )

    assert answer.status_code == 400
    assert error in answer.content
    assert not Prompt.objects.exists()


def test_an_uploaded_recording_replaces_the_bundled_one(admin: Client) -> None:
    bundled = Client().get(reverse("calls:prompt", args=["greeting"]))
    upload = io.BytesIO(_wav())
    upload.name = "greeting.wav"

    saved = admin.post(
        reverse("calls:reception"), {"form": "prompt", "slot": "greeting", "recording": upload}
    )
    served = Client().get(reverse("calls:prompt", args=["greeting"]))

    assert saved.status_code == 302
    assert bundled["Content-Type"] == "audio/wav" and bundled.content[:4] == b"RIFF"
    assert served.content == _wav()
    assert Client().get("/calls/prompts/other.wav").status_code == 404


def test_menu_keys_are_checked_and_saved(admin: Client) -> None:
    grace = person(GRACE)
    url = reverse("calls:reception")

    missing = admin.post(
        url, {"form": "option", "digit": "3", "label": "Sales", "kind": "department"}
    )
    two_people = admin.post(
        url,
        {
            "form": "option",
            "digit": "4",
            "label": "Grace",
            "kind": "person",
            "people": f"{grace.graph_id},{user_id(SAMUEL)}",
        },
    )
    saved = admin.post(
        url,
        {
            "form": "option",
            "digit": "4",
            "label": "Grace",
            "kind": "person",
            "people": grace.graph_id,
        },
    )

    assert missing.status_code == 400 and b"Choose a department" in missing.content
    assert two_people.status_code == 400
    assert saved.status_code == 302
    option = MenuOption.objects.get(digit="4")
    assert option.person == grace and option.kind == "person"


def test_opening_hours_must_close_after_they_open(admin: Client) -> None:
    answer = admin.post(
        reverse("calls:reception"),
        {
            "form": "line",
            "greeting": "Hello",
            "closed_message": "Closed",
            "opens_at": "18:00",
            "closes_at": "08:00",
            "open_days": ["0", "1"],
            "time_zone": "Europe/London",
        },
    )

    assert answer.status_code == 400
    assert b"must close after it opens" in answer.content


def test_employees_cannot_reach_the_board_or_its_controls() -> None:
    client = Client()
    client.force_login(User.objects.create(username="adele", display_name="Adele Vance"))
    call = Call.objects.create(graph_id="c0ffee00-0000-4000-8000-000000000001")

    assert client.get(reverse("calls:board")).status_code == 403
    assert client.post(reverse("calls:hang_up", args=[call.pk])).status_code == 403
