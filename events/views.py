"""The events pages: the console of those who run events, and the pages of everyone else."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Q, QuerySet
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseRedirect,
    JsonResponse,
    StreamingHttpResponse,
)
from django.shortcuts import get_object_or_404, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from icalendar import Calendar, Event

from accounts.guards import admin_required, signed_in, signed_in_api
from accounts.models import User
from comms_portal.graph import GraphError
from directory.models import Person
from events import charts, services, tasks, teams_import
from events.forms import EventForm, RegistrationForm, TableQueryForm, initial_of
from events.models import Attendance, Registration, VirtualEvent
from events.topics import event_topic

PAGE_SIZE = 50
CSV_CHUNK = 500
NOT_YOURS = "Only portal admins and the event's co-organizers may run this event."


def _user(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)
    return user


def _managed(request: HttpRequest, event_id: int) -> VirtualEvent:
    """Return the event whose console the person reaches, else refuse (403) or 404 for admins."""
    user = _user(request)
    event = VirtualEvent.objects.filter(pk=event_id).first()
    if event is None:
        if user.is_portal_admin:
            raise Http404("No such event.")
        raise PermissionDenied(NOT_YOURS)
    if not services.can_manage(user, event):
        raise PermissionDenied(NOT_YOURS)
    return event


def consent_url(request: HttpRequest) -> str | None:
    """Return where to grant the events permissions, when the person has not yet."""
    if _user(request).has_scopes(services.EVENT_SCOPES):
        return None
    query = urlencode({"feature": "events", "next": request.get_full_path()})
    return f"{reverse('accounts:consent')}?{query}"


NEEDS_CONSENT = (
    "Teams needs your permission to plan events and register first. "
    "Grant it with the link below, then send this again: nothing you entered is lost."
)


def _zone_name() -> str:
    return timezone.get_current_timezone_name()


# --- the console --------------------------------------------------------------------------------


def _console_sections(user: User) -> list[tuple[str, str, list[VirtualEvent]]]:
    """The events the person runs, by status, each with its registered count."""
    events = services.managed_events(user)
    now = timezone.now()
    groups: dict[str, list[VirtualEvent]] = {
        "draft": [],
        "published": [],
        "canceled": [],
        "past": [],
    }
    ids = [event.pk for event in events]
    counts = {
        row["event"]: row["n"]
        for row in Registration.objects.filter(event__in=ids, status=Registration.Status.REGISTERED)
        .values("event")
        .annotate(n=services.models_count())
    }
    for event in sorted(events, key=lambda e: e.starts_at):
        event.registered = counts.get(event.pk, 0)
        key = "past" if event.ends_at <= now and event.status != "canceled" else event.status
        groups.setdefault(key, []).append(event)
    sections = [
        ("draft", "Drafts"),
        ("published", "Published"),
        ("past", "Past"),
        ("canceled", "Canceled"),
    ]
    return [(key, title, groups[key]) for key, title in sections]


def _console_consent_url() -> str:
    query = urlencode({"feature": "events", "next": reverse("events:console")})
    return f"{reverse('accounts:consent')}?{query}"


@signed_in
@require_GET
def console(request: HttpRequest) -> HttpResponse:
    """List the events the person runs, by status; look in Teams for the ones run there."""
    user = _user(request)
    if not user.is_portal_admin and not services.managed_events(user):
        raise PermissionDenied(NOT_YOURS)
    tasks.import_from_teams_soon(user)
    return render(
        request,
        "events/console.html",
        {
            "active_nav": "events",
            "sections": _console_sections(user),
            "can_create": user.is_portal_admin,
            "teams_import": teams_import.status_of(user),
            "consent_url": _console_consent_url(),
        },
    )


@signed_in
@require_http_methods(["GET", "POST"])
def teams_import_status(request: HttpRequest) -> HttpResponse:
    """GET: where the import from Teams stands (JSON, with the list once done); POST: look again."""
    user = _user(request)
    if not user.is_portal_admin and not services.managed_events(user):
        raise PermissionDenied(NOT_YOURS)
    if request.method == "POST":
        if tasks.import_from_teams_soon(user, force=True):
            messages.info(request, "Looking in Teams for your events again.")
        return HttpResponseRedirect(reverse("events:console"))
    status = teams_import.status_of(user)
    body = status.to_json()
    if status.state in ("done", "failed"):
        body["sectionsHtml"] = render_to_string(
            "events/_console_sections.html",
            {"sections": _console_sections(user)},
            request=request,
        )
    return JsonResponse(body)


def _form_page(
    request: HttpRequest, form: EventForm, event: VirtualEvent | None, error: str | None = None
) -> HttpResponse:
    chosen: dict[str, list[Person]] = {}
    for name in ("co_organizers", "presenters", "invited"):
        value = form[name].value()
        ids = (
            [one for one in str(value or "").split(",") if one]
            if not isinstance(value, list)
            else [p.graph_id for p in value]
        )
        people = Person.objects.filter(graph_id__in=ids).in_bulk(field_name="graph_id")
        chosen[name] = [people[one] for one in ids if one in people]
    return render(
        request,
        "events/event_form.html",
        {
            "active_nav": "events",
            "form": form,
            "event": event,
            "chosen": chosen,
            "error": error,
            "zone": _zone_name(),
            "zone_value": form["time_zone"].value() or _zone_name(),
            "consent_url": consent_url(request),
        },
        status=400 if error or form.errors else 200,
    )


@admin_required
@require_http_methods(["GET", "POST"])
def create(request: HttpRequest) -> HttpResponse:
    """Plan a new webinar or town hall (portal admins)."""
    if request.method == "GET":
        initial = {"kind": "webinar", "audience": "organization", "time_zone": _zone_name()}
        return _form_page(request, EventForm(initial=initial), None)
    form = EventForm(request.POST)
    if not form.is_valid():
        return _form_page(request, form, None)
    if consent_url(request):
        return _form_page(request, form, None, NEEDS_CONSENT)
    try:
        event, problems = services.create_event(_user(request), form.draft(_zone_name()))
    except services.EventError as error:
        return _form_page(request, form, None, str(error))
    messages.success(request, f"“{event.title}” is saved as a draft.")
    for problem in problems:
        messages.error(request, problem)
    return HttpResponseRedirect(reverse("events:manage", args=[event.pk]))


@signed_in
@require_http_methods(["GET", "POST"])
def edit(request: HttpRequest, event_id: int) -> HttpResponse:
    """Change an event that is not canceled."""
    event = _managed(request, event_id)
    if event.status == VirtualEvent.Status.CANCELED:
        messages.error(request, "A canceled event cannot change.")
        return HttpResponseRedirect(reverse("events:manage", args=[event.pk]))
    if request.method == "GET":
        return _form_page(request, EventForm(initial=initial_of(event)), event)
    form = EventForm(request.POST)
    form.is_valid()
    if request.POST.get("kind") != event.kind:
        form.add_error("kind", "The kind of an event cannot change.")
    if not form.is_valid():
        return _form_page(request, form, event)
    if consent_url(request):
        return _form_page(request, form, event, NEEDS_CONSENT)
    try:
        problems = services.update_event(_user(request), event, form.draft(_zone_name()))
    except services.EventError as error:
        return _form_page(request, form, event, str(error))
    messages.success(request, "Your changes are saved.")
    for problem in problems:
        messages.error(request, problem)
    return HttpResponseRedirect(reverse("events:manage", args=[event.pk]))


def _table(event: VirtualEvent, query: TableQueryForm) -> tuple[QuerySet[Registration], int]:
    rows = event.registrations.order_by("-registered_at", "-pk")
    page = 1
    if query.is_valid():
        text = str(query.cleaned_data.get("q") or "").lower()
        for word in text.split():
            rows = rows.filter(search_text__contains=word)
        status = query.cleaned_data.get("status")
        if status:
            rows = rows.filter(status=status)
        page = query.cleaned_data.get("page") or 1
    return rows, page


@signed_in
@require_GET
def manage(request: HttpRequest, event_id: int) -> HttpResponse:
    """One event's console: its state, actions, and the live registration table."""
    event = _managed(request, event_id)
    query = TableQueryForm(request.GET)
    rows, page_number = _table(event, query)
    page = Paginator(rows, PAGE_SIZE).get_page(page_number)
    counts = services.counts_of(event)
    capacity_share = (
        min(100, round(100 * counts["registered"] / event.capacity)) if event.capacity else None
    )
    return render(
        request,
        "events/manage.html",
        {
            "active_nav": "events",
            "event": event,
            "query": query,
            "page": page,
            "counts": counts,
            "capacity_share": capacity_share,
            "questions": list(event.questions.all()),
            "presenters": list(event.presenters.all()),
            "topic": event_topic(event.pk),
            "is_past": event.ends_at <= timezone.now(),
        },
    )


@signed_in_api
@require_GET
def registration_rows(request: HttpRequest, event_id: int) -> JsonResponse:
    """The registration table's rows and counts as JSON (search, status, page; the safety net)."""
    event = _managed(request, event_id)
    query = TableQueryForm(request.GET)
    if not query.is_valid():
        return JsonResponse({"error": "Bad search: " + query.errors.as_text()}, status=400)
    rows, page_number = _table(event, query)
    page = Paginator(rows, PAGE_SIZE).get_page(page_number)
    # The page polls this: now and then, Graph is asked again, in case a notification was lost.
    tasks.resync_soon(event)
    return JsonResponse(
        {
            "rows": [services.registration_row(r) for r in page.object_list],
            "counts": services.counts_of(event),
            "page": page.number,
            "pages": page.paginator.num_pages,
            "status": event.status,
        }
    )


class _Echo:
    """A file-like object whose write returns the line, for csv.writer."""

    def write(self, value: str) -> str:
        return value


def _csv_rows(event: VirtualEvent) -> Iterator[str]:
    writer = csv.writer(_Echo())
    questions = list(event.questions.values_list("graph_id", "text"))
    yield "\ufeff" + writer.writerow(
        [
            "Name",
            "E-mail",
            "Status",
            "Registered (UTC)",
            "Canceled (UTC)",
            *[t for _, t in questions],
        ]
    )
    rows = (
        event.registrations.order_by("registered_at", "pk")
        .values_list(
            "first_name", "last_name", "email", "status", "registered_at", "canceled_at", "answers"
        )
        .iterator(chunk_size=CSV_CHUNK)
    )
    for first, last, email, status, registered, canceled, answers in rows:
        by_question = {str(a.get("questionId")): services.answer_text(a) for a in answers or []}
        yield writer.writerow(
            [
                _cell(f"{first} {last}".strip()),
                _cell(email),
                status,
                registered.strftime("%Y-%m-%d %H:%M"),
                canceled.strftime("%Y-%m-%d %H:%M") if canceled else "",
                *[_cell(by_question.get(graph_id, "")) for graph_id, _ in questions],
            ]
        )


def _cell(value: str) -> str:
    """Keep spreadsheet programs from running a cell as a formula."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


@signed_in
@require_GET
def registrations_csv(request: HttpRequest, event_id: int) -> StreamingHttpResponse:
    """Every registration as CSV, streamed a chunk of rows at a time."""
    event = _managed(request, event_id)
    response = StreamingHttpResponse(_csv_rows(event), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="registrations-{event.pk}.csv"'
    return response


@signed_in
@require_POST
def cancel_registration(request: HttpRequest, event_id: int, registration_id: int) -> HttpResponse:
    """Cancel someone's registration, as an organizer."""
    event = _managed(request, event_id)
    registration = get_object_or_404(Registration, event=event, pk=registration_id)
    try:
        services.cancel_registration_as_organizer(_user(request), event, registration)
        messages.success(request, f"The registration of {registration.name} is canceled.")
    except services.EventError as error:
        messages.error(request, str(error))
    return HttpResponseRedirect(reverse("events:manage", args=[event.pk]))


@signed_in
@require_GET
def preview(request: HttpRequest, event_id: int) -> HttpResponse:
    """The event's page as employees will see it."""
    event = _managed(request, event_id)
    return _detail_page(request, event, preview=True)


@signed_in
@require_POST
def publish(request: HttpRequest, event_id: int) -> HttpResponse:
    """Publish a draft."""
    event = _managed(request, event_id)
    if consent_url(request):
        messages.error(request, NEEDS_CONSENT)
        return HttpResponseRedirect(reverse("events:manage", args=[event.pk]))
    try:
        services.publish_event(_user(request), event)
        messages.success(request, f"“{event.title}” is published.")
    except services.EventError as error:
        messages.error(request, str(error))
    return HttpResponseRedirect(reverse("events:manage", args=[event.pk]))


@signed_in
@require_http_methods(["GET", "POST"])
def cancel(request: HttpRequest, event_id: int) -> HttpResponse:
    """Ask to confirm, then cancel the event for good."""
    event = _managed(request, event_id)
    if request.method == "GET":
        return render(request, "events/cancel.html", {"active_nav": "events", "event": event})
    if request.POST.get("confirm") != "yes":
        messages.error(request, "Tick the box to confirm that the event is to be canceled.")
        return HttpResponseRedirect(reverse("events:cancel", args=[event.pk]))
    try:
        services.cancel_event(_user(request), event)
        messages.success(request, f"“{event.title}” is canceled.")
    except services.EventError as error:
        messages.error(request, str(error))
    return HttpResponseRedirect(reverse("events:manage", args=[event.pk]))


@signed_in
@require_http_methods(["GET", "POST"])
def attendance(request: HttpRequest, event_id: int) -> HttpResponse:
    """Per-session attendance with a chart; POST reads it from Teams again."""
    event = _managed(request, event_id)
    if request.method == "POST":
        try:
            read = services.read_attendance(event)
            messages.success(request, f"Attendance read from Teams: {read} records.")
        except GraphError as error:
            messages.error(request, services.explain(error, "read the attendance"))
        return HttpResponseRedirect(reverse("events:attendance", args=[event.pk]))
    sessions = []
    for session in event.sessions.prefetch_related("attendance"):
        records = list(session.attendance.all())
        sessions.append(
            {
                "session": session,
                "records": records,
                "total": len(records),
                "minutes": round(sum(r.seconds for r in records) / 60),
                "chart": charts.attendance_chart(session, records),
            }
        )
    return render(
        request,
        "events/attendance.html",
        {"active_nav": "events", "event": event, "sessions": sessions},
    )


@signed_in
@require_GET
def attendance_csv(request: HttpRequest, event_id: int) -> StreamingHttpResponse:
    """Every attendance record of the event as CSV."""
    event = _managed(request, event_id)

    def rows() -> Iterator[str]:
        writer = csv.writer(_Echo())
        yield "\ufeff" + writer.writerow(
            ["Session", "Name", "E-mail", "Role", "Minutes", "Joined (UTC)", "Left (UTC)"]
        )
        records = (
            Attendance.objects.filter(session__event=event)
            .select_related("session")
            .order_by("session__starts_at", "joined_at", "pk")
            .iterator(chunk_size=CSV_CHUNK)
        )
        for r in records:
            yield writer.writerow(
                [
                    _cell(r.session.subject),
                    _cell(r.display_name),
                    _cell(r.email),
                    r.role,
                    round(r.seconds / 60),
                    r.joined_at.strftime("%Y-%m-%d %H:%M") if r.joined_at else "",
                    r.left_at.strftime("%Y-%m-%d %H:%M") if r.left_at else "",
                ]
            )

    response = StreamingHttpResponse(rows(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="attendance-{event.pk}.csv"'
    return response


# --- everyone's pages ----------------------------------------------------------------------------


def _visible_to(user: User) -> QuerySet[VirtualEvent]:
    """Published and canceled events the person may attend (invite-only town halls if invited)."""
    events = VirtualEvent.objects.filter(
        status__in=[VirtualEvent.Status.PUBLISHED, VirtualEvent.Status.CANCELED]
    )
    own = user.object_id or "-"
    invited = [e.pk for e in events.filter(is_invite_only=True) if own in e.invited_ids]
    return events.filter(Q(is_invite_only=False) | Q(pk__in=invited))


@signed_in
@require_GET
def home(request: HttpRequest) -> HttpResponse:
    """Published events the person may attend, soonest first, with their registration."""
    user = _user(request)
    now = timezone.now()
    events = list(
        _visible_to(user)
        .filter(status=VirtualEvent.Status.PUBLISHED, ends_at__gt=now)
        .order_by("starts_at")
    )
    mine = {
        r.event_id: r
        for r in Registration.objects.filter(event__in=events, user_graph_id=user.object_id or "-")
    }
    for event in events:
        event.mine = mine.get(event.pk)  # type: ignore[attr-defined]
    return render(
        request,
        "events/home.html",
        {
            "active_nav": "events",
            "events": events,
            "runs_events": user.is_portal_admin or bool(services.managed_events(user)),
        },
    )


def _attendable(request: HttpRequest, event_id: int) -> VirtualEvent:
    user = _user(request)
    event = _visible_to(user).filter(pk=event_id).first()
    if event is None:
        raise Http404("No such event.")
    return event


def _detail_page(
    request: HttpRequest,
    event: VirtualEvent,
    *,
    preview: bool = False,
    form: RegistrationForm | None = None,
    error: str | None = None,
) -> HttpResponse:
    user = _user(request)
    questions = list(event.questions.all())
    mine = (
        None
        if preview
        else Registration.objects.filter(event=event, user_graph_id=user.object_id or "-").first()
    )
    return render(
        request,
        "events/detail.html",
        {
            "active_nav": "events",
            "event": event,
            "preview": preview,
            "mine": mine,
            "form": form or RegistrationForm(questions=questions),
            "presenters": list(event.presenters.all()),
            "error": error,
            "is_past": event.ends_at <= timezone.now(),
            "topic": event_topic(event.pk) if services.can_manage(user, event) else None,
            "consent_url": consent_url(request),
        },
        status=400 if error or (form is not None and form.errors) else 200,
    )


@signed_in
@require_GET
def detail(request: HttpRequest, event_id: int) -> HttpResponse:
    """An event's page: what, when, who presents; register, see one's status, cancel."""
    return _detail_page(request, _attendable(request, event_id))


@signed_in
@require_POST
def register(request: HttpRequest, event_id: int) -> HttpResponse:
    """Register for a webinar, answering its questions."""
    event = _attendable(request, event_id)
    if not event.is_webinar or event.status != VirtualEvent.Status.PUBLISHED:
        return _detail_page(request, event, error="This event takes no registrations.")
    form = RegistrationForm(request.POST, questions=list(event.questions.all()))
    if not form.is_valid():
        return _detail_page(request, event, form=form)
    if consent_url(request):
        return _detail_page(request, event, form=form, error=NEEDS_CONSENT)
    try:
        registration = services.register_employee(
            _user(request), event, form.answers(), _zone_name()
        )
    except services.EventError as error:
        return _detail_page(request, event, form=form, error=str(error))
    if registration.status == Registration.Status.WAITLISTED:
        messages.warning(request, "The webinar is full: you are on the wait list.")
    else:
        messages.success(request, "You are registered.")
    return HttpResponseRedirect(reverse("events:detail", args=[event.pk]))


@signed_in
@require_POST
def cancel_mine(request: HttpRequest, event_id: int) -> HttpResponse:
    """Cancel one's own registration."""
    event = _attendable(request, event_id)
    user = _user(request)
    registration = (
        Registration.objects.filter(event=event, user_graph_id=user.object_id or "-")
        .exclude(status=Registration.Status.CANCELED)
        .first()
    )
    if registration is None:
        messages.error(request, "You have no registration to cancel.")
    else:
        try:
            services.cancel_own_registration(user, event, registration)
            messages.success(request, "Your registration is canceled.")
        except services.EventError as error:
            messages.error(request, str(error))
    return HttpResponseRedirect(reverse("events:detail", args=[event.pk]))


@signed_in
@require_GET
def ics(request: HttpRequest, event_id: int) -> HttpResponse:
    """The event as an iCalendar file, for one's calendar."""
    event = _attendable(request, event_id)
    calendar = Calendar()
    calendar.add("prodid", "-//Comms Portal//Events//EN")
    calendar.add("version", "2.0")
    entry = Event()
    entry.add("uid", f"{event.graph_id}")
    entry.add("summary", event.title)
    entry.add("description", event.description)
    entry.add("dtstart", event.starts_at)
    entry.add("dtend", event.ends_at)
    entry.add("dtstamp", timezone.now())
    entry.add("url", request.build_absolute_uri(reverse("events:detail", args=[event.pk])))
    entry.add(
        "status", "CANCELLED" if event.status == VirtualEvent.Status.CANCELED else "CONFIRMED"
    )
    calendar.add_component(entry)
    response = HttpResponse(calendar.to_ical(), content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="event-{event.pk}.ics"'
    return response
