"""After the event: attendance read from Teams per session, with a chart and CSV; and the
registrations CSV streams without holding every row in memory."""

from __future__ import annotations

import csv
import io
import tracemalloc
import uuid
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from accounts.models import User
from events.models import Registration, VirtualEvent
from tests.events.test_console_flow import create, roomy_write_budget, signed_in
from tests.support.cast import MEGAN
from tests.support.session_sandbox import control

pytestmark = pytest.mark.django_db
__all__ = ["roomy_write_budget"]


def test_attendance_of_an_ended_session_is_shown_with_a_chart_and_exported() -> None:
    admin, _ = signed_in(MEGAN)
    event = create(admin, q1_text="", capacity="")
    admin.post(f"/events/console/{event.pk}/publish")
    control("POST", f"/virtual-events/{event.graph_id}/register", {"count": 8})
    state = control("GET", "/virtual-events/state").json()
    (mine,) = [e for e in state["events"] if e["id"] == event.graph_id]
    session_id = mine["sessions"][0]["id"]
    ended = control("POST", f"/virtual-events/{event.graph_id}/sessions/{session_id}/end").json()

    before = admin.get(f"/events/console/{event.pk}/attendance/").content.decode()
    assert "No attendance yet" in before
    assert admin.post(f"/events/console/{event.pk}/attendance/").status_code == 302
    page = admin.get(f"/events/console/{event.pk}/attendance/").content.decode()
    assert f"{ended['attendees']} attendees" in page
    assert '<svg class="attendance-chart"' in page and 'role="img"' in page
    assert "<script" not in page.split("<main", 1)[1].split("</main>", 1)[0]

    exported = admin.get(f"/events/console/{event.pk}/attendance.csv")
    text = b"".join(exported.streaming_content).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0][:4] == ["Session", "Name", "E-mail", "Role"]
    assert len(rows) - 1 == ended["attendees"]
    assert "Organizer" in {row[3] for row in rows[1:]}


def _webinar_with(registrations: int) -> VirtualEvent:
    start = timezone.now() + timedelta(days=1)
    event = VirtualEvent.objects.create(
        graph_id=f"{uuid.uuid4()}@t",
        kind="webinar",
        status="published",
        title="Big webinar",
        starts_at=start,
        ends_at=start + timedelta(hours=1),
        audience="organization",
        organizer_graph_id="o",
    )
    Registration.objects.bulk_create(
        Registration(
            event=event,
            graph_id=str(uuid.uuid4()),
            first_name=f"P{number}",
            last_name="X" * 60,
            email=f"p{number}@example.org",
            status="registered",
            registered_at=start - timedelta(days=1, seconds=number),
            answers=[{"questionId": "q", "displayName": "Q", "value": "A" * 100}],
        )
        for number in range(registrations)
    )
    return event


def _export_peak(client: Client, event: VirtualEvent) -> tuple[int, int]:
    tracemalloc.start()
    response = client.get(f"/events/console/{event.pk}/registrations.csv")
    lines = sum(bytes(chunk).count(b"\n") for chunk in response.streaming_content)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return lines - 1, peak


def test_the_registrations_csv_streams_in_chunks(client: Client) -> None:
    client.force_login(User.objects.create(username="a", display_name="A", is_portal_admin=True))
    small, large = _webinar_with(2_000), _webinar_with(10_000)
    small_rows, small_peak = _export_peak(client, small)
    large_rows, large_peak = _export_peak(client, large)
    assert (small_rows, large_rows) == (2_000, 10_000)
    # Five times the rows, about the same memory: rows are read a chunk at a time.
    assert large_peak < small_peak * 1.5, (small_peak, large_peak)


def test_a_formula_in_a_name_is_kept_as_text(client: Client) -> None:
    client.force_login(User.objects.create(username="a", display_name="A", is_portal_admin=True))
    event = _webinar_with(1)
    Registration.objects.filter(event=event).update(first_name="=HYPERLINK(1)", last_name="")
    response = client.get(f"/events/console/{event.pk}/registrations.csv")
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))
    assert rows[1][0] == "'=HYPERLINK(1)"


def test_search_status_filter_and_bad_input_of_the_table(client: Client) -> None:
    client.force_login(User.objects.create(username="a", display_name="A", is_portal_admin=True))
    event = _webinar_with(120)
    Registration.objects.filter(event=event, first_name="P7").update(
        status="canceled", search_text="p7 x p7@example.org"
    )
    rows = client.get(f"/events/console/{event.pk}/registrations", {"status": "canceled"}).json()
    assert [row["name"] for row in rows["rows"]] == ["P7 " + "X" * 60]
    assert rows["counts"]["canceled"] == 1 and rows["pages"] == 1
    first = client.get(f"/events/console/{event.pk}/registrations").json()
    assert len(first["rows"]) == 50 and first["pages"] == 3
    bad = client.get(f"/events/console/{event.pk}/registrations", {"status": "sleeping"})
    assert bad.status_code == 400
    too_long = client.get(f"/events/console/{event.pk}/registrations", {"q": "x" * 101})
    assert too_long.status_code == 400
    page = client.get(f"/events/console/{event.pk}/", {"q": "p7@"}).content.decode()
    assert "p7@example.org" in page and "p8@example.org" not in page
