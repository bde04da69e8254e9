"""The meetings pages: my meetings, schedule, Meet now, look up, a meeting with its live
roster, change, cancel, calendar file, attendance report and its CSV."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote, urlencode

from django.contrib import messages
from django.db import transaction
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseRedirect,
    JsonResponse,
    StreamingHttpResponse,
)
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.guards import requires_consent, signed_in, signed_in_api
from accounts.identity import FEATURE_SCOPES
from accounts.models import User
from comms_portal.times import zone_named
from meetings import calendar, selectors, services, watching
from meetings.attendance import attendance_sheet, chosen_sort, sort_headers
from meetings.forms import LookupForm, MeetingForm, MeetNowForm
from meetings.handlers import WATCH_AFTER, WATCH_BEFORE
from meetings.models import Meeting
from meetings.selectors import AttendanceLine
from meetings.tasks import watch_meetings
from meetings.topics import meeting_topic

# The timeline draws this many people at most (longest in the meeting first); the table and
# the CSV have everyone.
TIMELINE_PEOPLE = 100
# Reports are read again from Graph when the page is opened this long after the last read.
REPORTS_FRESH = timedelta(minutes=1)
# The attendance CSV is streamed this many rows to a chunk.
CSV_ROWS_PER_CHUNK = 250
# The subscription upkeep (every two minutes) takes up a meeting's call events 15 minutes
# before it starts: a pass at once only matters for a meeting starting sooner than this, and
# asking for one costs every other new meeting a round trip to the broker.
WATCH_AT_ONCE_WITHIN = timedelta(hours=1)
# Stands for a person's id in the photo address the roster's script fills in.
PHOTO_ID = "__id__"


def _user(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)
    return user


def _meeting_or_404(request: HttpRequest, meeting_id: int) -> Meeting:
    meeting = selectors.meeting_for(_user(request), meeting_id)
    if meeting is None:
        raise Http404("No meeting of yours has that number.")
    return meeting


def _organized_or_404(request: HttpRequest, meeting_id: int) -> Meeting:
    meeting = _meeting_or_404(request, meeting_id)
    if meeting.organizer_id != request.user.pk:
        raise Http404("Only the organizer may do this.")
    return meeting


def _consent_first(request: HttpRequest, back: str) -> HttpResponse | None:
    """Send a person who has not granted the meetings permissions to grant them first."""
    if _user(request).has_scopes(FEATURE_SCOPES["meetings"]):
        return None
    query = urlencode({"feature": "meetings", "next": back})
    return HttpResponseRedirect(f"{reverse('accounts:consent')}?{query}")


def _home_page(
    request: HttpRequest, *, lookup_form: LookupForm | None = None, code: int = 200
) -> HttpResponse:
    user = _user(request)
    now = timezone.now()
    context = {
        "active_nav": "meetings",
        "upcoming": selectors.upcoming_meetings(user, now),
        "past": selectors.past_meetings(user, now, limit=20),
        "lookup_form": lookup_form or LookupForm(),
        "now": now,
    }
    return render(request, "meetings/home.html", context, status=code)


@never_cache
@signed_in
@require_GET
def home(request: HttpRequest) -> HttpResponse:
    """Show my meetings (coming and past) and the lookup box."""
    return _home_page(request)


def _form_page(
    request: HttpRequest, form: MeetingForm, meeting: Meeting | None, code: int = 200
) -> HttpResponse:
    return render(
        request,
        "meetings/form.html",
        {
            "active_nav": "meetings",
            "form": form,
            "meeting": meeting,
            "chosen": form.cleaned_data.get("invitees", [])
            if form.is_bound and hasattr(form, "cleaned_data")
            else form.initial.get("invitees", []),
            "selected_zone": form.data.get("time_zone")
            if form.is_bound
            else form.initial.get("time_zone"),
        },
        status=code,
    )


def _initial_for_new() -> dict[str, Any]:
    zone = timezone.get_current_timezone()
    start = (timezone.now() + timedelta(hours=1)).astimezone(zone)
    start = start.replace(minute=0 if start.minute < 30 else 30, second=0, microsecond=0)
    return {
        "day": start.date(),
        "start_time": start.time(),
        "end_time": (start + timedelta(minutes=30)).time(),
        "time_zone": timezone.get_current_timezone_name(),
    }


@never_cache
@requires_consent("meetings")
@require_http_methods(["GET", "POST"])
def new(request: HttpRequest) -> HttpResponse:
    """Schedule a Teams meeting: subject, day, times in a zone, invitees, options."""
    if request.method == "GET":
        return _form_page(request, MeetingForm(initial=_initial_for_new()), None)
    form = MeetingForm(request.POST)
    if not form.is_valid():
        return _form_page(request, form, None, code=400)
    try:
        meeting = services.schedule_meeting(organizer=_user(request), plan=form.plan())
    except services.MeetingActionFailed as failure:
        form.add_error(None, str(failure))
        return _form_page(request, form, None, code=502)
    if meeting.start - timezone.now() <= WATCH_AT_ONCE_WITHIN:
        transaction.on_commit(watch_meetings.delay)
    messages.success(request, f"“{meeting.subject}” is scheduled. Share the join link below.")
    return HttpResponseRedirect(reverse("meetings:detail", args=[meeting.pk]))


def _followed_now(meeting: Meeting) -> bool:
    """Tell whether the upkeep follows the meeting's call now. Graph's refusal is only asked
    for and only matters then, so other pages (most: meetings days away) skip asking Redis."""
    now = timezone.now()
    return meeting.start - WATCH_BEFORE <= now <= meeting.end + WATCH_AFTER


def _roster_people(snapshot: dict[str, object]) -> list[dict[str, object]]:
    """Return a snapshot's people with a time for ``since`` and their photo's address."""
    photo = reverse("directory:photo", args=[PHOTO_ID])
    people = snapshot.get("people")
    return [
        {
            **person,
            "since_at": datetime.fromisoformat(str(person["since"])),
            "photo": photo.replace(PHOTO_ID, quote(str(person["id"]), safe="")),
        }
        for person in (people if isinstance(people, list) else [])
    ]


@never_cache
@signed_in
@require_GET
def detail(request: HttpRequest, meeting_id: int) -> HttpResponse:
    """Show a meeting: when, how to join, who is invited, and who is in it now."""
    meeting = _meeting_or_404(request, meeting_id)
    roster = services.roster_message(meeting)
    return render(
        request,
        "meetings/detail.html",
        {
            "active_nav": "meetings",
            "meeting": meeting,
            "is_organizer": meeting.organizer_id == request.user.pk,
            "invitees": list(meeting.invitees.order_by("display_name")),
            "roster": roster,
            "roster_people": _roster_people(roster),
            "topic": meeting_topic(meeting.pk),
            "roster_refused": _followed_now(meeting) and watching.is_set_aside(meeting.pk),
            "photo_url": reverse("directory:photo", args=[PHOTO_ID]),
        },
    )


@never_cache
@signed_in_api
@require_GET
def roster(request: HttpRequest, meeting_id: int) -> JsonResponse:
    """Answer the meeting's roster now (pages read it after watching its topic)."""
    meeting = selectors.meeting_for(_user(request), meeting_id)
    if meeting is None:
        return JsonResponse({"error": "No meeting of yours has that number."}, status=404)
    return JsonResponse(services.roster_message(meeting))


@never_cache
@requires_consent("meetings")
@require_http_methods(["GET", "POST"])
def edit(request: HttpRequest, meeting_id: int) -> HttpResponse:
    """Change a meeting's subject, times, invitees and options (organizer only)."""
    meeting = _organized_or_404(request, meeting_id)
    zone_name = meeting.time_zone or timezone.get_current_timezone_name()
    if request.method == "GET":
        zone = zone_named(zone_name)
        local_start, local_end = meeting.start.astimezone(zone), meeting.end.astimezone(zone)
        people = services.invited_people(meeting)
        form = MeetingForm(
            editing=True,
            initial={
                "subject": meeting.subject,
                "day": local_start.date(),
                "start_time": local_start.time(),
                "end_time": local_end.time(),
                "time_zone": zone_name,
                "invitees": people,
                "lobby_scope": meeting.lobby_scope or "organization",
                "allowed_presenters": meeting.allowed_presenters or "everyone",
            },
        )
        return _form_page(request, form, meeting)
    form = MeetingForm(request.POST, editing=True)
    if not form.is_valid():
        return _form_page(request, form, meeting, code=400)
    try:
        services.change_meeting(user=_user(request), meeting=meeting, plan=form.plan())
    except services.MeetingActionFailed as failure:
        form.add_error(None, str(failure))
        return _form_page(request, form, meeting, code=502)
    transaction.on_commit(watch_meetings.delay)
    messages.success(request, "The meeting is changed.")
    return HttpResponseRedirect(reverse("meetings:detail", args=[meeting.pk]))


@signed_in
@require_POST
def delete(request: HttpRequest, meeting_id: int) -> HttpResponse:
    """Cancel a meeting (organizer only)."""
    meeting = _organized_or_404(request, meeting_id)
    back = reverse("meetings:detail", args=[meeting.pk])
    refusal = _consent_first(request, back)
    if refusal is not None:
        return refusal
    try:
        services.cancel_meeting(user=_user(request), meeting=meeting)
    except services.MeetingActionFailed as failure:
        messages.error(request, str(failure))
        return HttpResponseRedirect(back)
    transaction.on_commit(watch_meetings.delay)
    messages.success(request, f"“{meeting.subject or 'The meeting'}” is cancelled.")
    return HttpResponseRedirect(reverse("meetings:home"))


@signed_in
@require_POST
def meet_now(request: HttpRequest) -> HttpResponse:
    """Start a Teams meeting with a colleague now, and open it."""
    form = MeetNowForm(request.POST)
    if not form.is_valid():
        messages.error(request, " ".join(str(e) for e in form.errors.get("person", [])))
        return HttpResponseRedirect(reverse("presence:wall"))
    person = form.cleaned_data["person"]
    back = reverse("presence:person", args=[person.graph_id])
    refusal = _consent_first(request, back)
    if refusal is not None:
        return refusal
    try:
        meeting = services.meet_now(organizer=_user(request), person=person)
    except services.MeetingActionFailed as failure:
        messages.error(request, str(failure))
        return HttpResponseRedirect(back)
    transaction.on_commit(watch_meetings.delay)
    messages.success(request, f"Your meeting with {person.display_name} is ready: join it now.")
    return HttpResponseRedirect(reverse("meetings:detail", args=[meeting.pk]))


@never_cache
@requires_consent("meetings")
@require_GET
def lookup(request: HttpRequest) -> HttpResponse:
    """Find a meeting by its join link or meeting ID, and open it."""
    form = LookupForm(request.GET)
    if not form.is_valid():
        return _home_page(request, lookup_form=form, code=400)
    try:
        meeting = services.look_up_meeting(user=_user(request), text=form.cleaned_data["q"])
    except services.UnrecognisedLookup as error:
        form.add_error("q", str(error))
        return _home_page(request, lookup_form=form, code=400)
    except services.MeetingActionFailed as failure:
        form.add_error("q", str(failure))
        return _home_page(request, lookup_form=form, code=502)
    if meeting is None:
        form.add_error(
            "q", "No meeting you organise or are invited to has that join link or meeting ID."
        )
        return _home_page(request, lookup_form=form, code=404)
    return HttpResponseRedirect(reverse("meetings:detail", args=[meeting.pk]))


@signed_in
@require_GET
def ics(request: HttpRequest, meeting_id: int) -> HttpResponse:
    """Answer the meeting as an iCalendar file, to add it to any calendar."""
    meeting = _meeting_or_404(request, meeting_id)
    body = calendar.meeting_calendar(meeting, host=request.get_host(), now=timezone.now())
    response = HttpResponse(body, content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="meeting-{meeting.pk}.ics"'
    return response


@never_cache
@requires_consent("meetings")
@require_GET
def attendance(request: HttpRequest, meeting_id: int) -> HttpResponse:
    """Show who attended (organizer only): a table and a timeline of each session."""
    meeting = _organized_or_404(request, meeting_id)
    error = ""
    synced = meeting.reports_synced_at
    if synced is None or timezone.now() - synced > REPORTS_FRESH or "refresh" in request.GET:
        try:
            services.sync_attendance(user=_user(request), meeting=meeting)
        except services.MeetingActionFailed as failure:
            error = str(failure)
    reports = list(meeting.attendance_reports.all())
    report_id = request.GET.get("report")
    chosen = None
    if report_id and report_id.isdigit():
        chosen = next((r for r in reports if r.pk == int(report_id)), None)
        if chosen is None:
            raise Http404("That meeting has no such report.")
    chosen = chosen or (reports[0] if reports else None)
    sort = chosen_sort(request.GET.get("sort"))
    sheet = (
        attendance_sheet(chosen, timezone.get_current_timezone(), TIMELINE_PEOPLE, sort)
        if chosen
        else None
    )
    headers = sort_headers(sort)
    sorted_by = next(header for header in headers if header.aria_sort)
    return render(
        request,
        "meetings/attendance.html",
        {
            "active_nav": "meetings",
            "meeting": meeting,
            "reports": reports,
            "report": chosen,
            "sheet": sheet,
            "sort_headers": headers,
            "sorted_by": sorted_by,
            "error": error,
        },
        status=502 if error and not reports else 200,
    )


class _Echo:
    """A file-like object whose write returns the text, for streaming csv rows."""

    def write(self, value: str) -> str:
        return value


def _csv_chunks(rows: Iterable[list[str]]) -> Iterator[str]:
    """Write the rows as CSV text, a few hundred rows a chunk: one chunk a row would make the
    server send (and the client receive) a thousand tiny pieces for a thousand people."""
    writer = csv.writer(_Echo())
    chunk: list[str] = []
    for row in rows:
        chunk.append(writer.writerow(row))
        if len(chunk) == CSV_ROWS_PER_CHUNK:
            yield "".join(chunk)
            chunk = []
    if chunk:
        yield "".join(chunk)


def _csv_rows(lines: Iterable[AttendanceLine], zone_name: str) -> Iterator[list[str]]:
    zone = zone_named(zone_name)
    yield [
        "Name",
        "Email",
        "Role",
        "Total seconds",
        f"First joined ({zone_name})",
        f"Last left ({zone_name})",
        "Times joined",
    ]
    for line in lines:
        first = line.first_joined.astimezone(zone) if line.first_joined else None
        last = line.last_left.astimezone(zone) if line.last_left else None
        yield [
            _safe_cell(line.display_name),
            _safe_cell(line.email),
            _safe_cell(line.role),
            str(line.total_seconds),
            first.strftime("%Y-%m-%d %H:%M:%S") if first else "",
            last.strftime("%Y-%m-%d %H:%M:%S") if last else "",
            str(line.times_joined),
        ]


def _safe_cell(text: str) -> str:
    """Keep spreadsheet programs from running a cell as a formula."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


@signed_in
@require_GET
def attendance_csv(request: HttpRequest, meeting_id: int, report_id: int) -> StreamingHttpResponse:
    """Stream one attendance report as CSV, times in the reader's zone (organizer only)."""
    meeting = _organized_or_404(request, meeting_id)
    report = selectors.latest_report(meeting, report_id)
    if report is None:
        raise Http404("That meeting has no such report.")
    services.roll_up_attendance(report)
    rows = _csv_rows(selectors.attendance_lines(report), timezone.get_current_timezone_name())
    response = StreamingHttpResponse(_csv_chunks(rows), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = (
        f'attachment; filename="attendance-{meeting.pk}-{report.pk}.csv"'
    )
    return response
