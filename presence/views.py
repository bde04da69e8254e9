"""The people pages: the wall, its card pages and snapshot, a person, My status."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from django.contrib import messages
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseRedirect,
    JsonResponse,
)
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.guards import signed_in, signed_in_api
from accounts.models import User
from calls.selectors import person_delegation
from comms_portal import times
from directory.models import Person
from directory.selectors import departments, visible_person
from presence import alerts, display, favourites, selectors, status
from presence.forms import (
    AvailabilityForm,
    PeopleIdsForm,
    StatusMessageForm,
    WallFilterForm,
    WorkLocationForm,
)
from presence.models import WallPreference
from presence.my_status import read_my_status
from presence.preferences import (
    save_announce_preference,
    save_wall_preference,
    wall_preference,
)
from presence.services import keep_watched
from presence.store import get_many
from presence.wall_forms import WallDisplayForm

# The list's sortable columns, in the order they show.
SORT_COLUMNS = [
    ("name", "Name"),
    ("availability", "Availability"),
    ("activity", "Activity"),
    ("since", "Since"),
    ("department", "Department"),
    ("job_title", "Job title"),
]


def _user(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)  # guaranteed by the sign-in decorators
    return user


def _shown(preference: WallPreference) -> selectors.WallDisplay:
    return selectors.WallDisplay(
        layout=preference.layout,
        sort=preference.sort,
        descending=preference.descending,
        group=preference.group,
    )


def _wall_context(request: HttpRequest) -> tuple[dict[str, Any], int]:
    form = WallFilterForm(request.GET)
    if form.is_valid():
        query = form.wall_query()
        code = 200
    else:
        # Keep what was valid, drop what was not, and say which field was wrong.
        query = selectors.WallQuery(
            text=form.cleaned_data.get("q") or "",
            department=form.cleaned_data.get("department") or "",
        )
        code = 400
    preference = wall_preference(_user(request))
    shown = selectors.effective_display(query, _shown(preference))
    wall = selectors.wall_page(_user(request), query, shown)
    params = request.GET.copy()
    params["page"] = str(wall.page + 1)
    return {
        "form": form,
        "query": query,
        "wall": wall,
        "shown": shown,
        "count_text": display.count_text(wall.count, text=query.text, close=wall.close),
        "next_query": params.urlencode(),
        "preference": preference,
    }, code


@never_cache
@signed_in
@require_GET
def wall(request: HttpRequest) -> HttpResponse:
    """Show the people wall: the first page of cards, filters and live updates."""
    context, code = _wall_context(request)
    context.update(
        active_nav="people",
        departments=departments(),
        labels=display.label_tables(),
        sort_choices=WallPreference.SORTS,
        group_choices=WallPreference.GROUPS,
        sort_columns=SORT_COLUMNS,
    )
    context["followed"] = selectors.followed_people(
        _user(request), announce=context["preference"].announce_changes
    )
    return render(request, "presence/wall.html", context, status=code)


def _followed(user: User) -> selectors.Followed:
    return selectors.followed_people(user, announce=wall_preference(user).announce_changes)


@never_cache
@signed_in
@require_GET
def wall_cards(request: HttpRequest) -> HttpResponse:
    """Return people as an HTML fragment: the whole result for page 1, else the next cards.

    The wall's search asks for page 1 as one types; its scrolling asks for the pages after.
    """
    context, code = _wall_context(request)
    context["sort_columns"] = SORT_COLUMNS
    template = "presence/_results.html" if context["wall"].page == 1 else "presence/_cards.html"
    return render(request, template, context, status=code)


@signed_in
@require_POST
def wall_display(request: HttpRequest) -> HttpResponse:
    """Remember how the wall is shown: cards or list, sort order, grouping."""
    user = _user(request)
    form = WallDisplayForm(request.POST)
    if not form.is_valid():
        if _wants_json(request):
            return JsonResponse({"error": form.error_text()}, status=400)
        return HttpResponse(form.error_text(), status=400, content_type="text/plain")
    chosen = form.display(wall_preference(user))
    save_wall_preference(
        user=user,
        layout=chosen.layout,
        sort=chosen.sort,
        descending=chosen.descending,
        group=chosen.group,
    )
    if _wants_json(request):
        return JsonResponse(asdict(chosen))
    return _back(request, reverse("presence:wall"))


@never_cache
@signed_in
@require_GET
def alerts_page(request: HttpRequest) -> HttpResponse:
    """Show my alerts: who became available lately, and whom I am still waiting for."""
    return render(
        request,
        "presence/alerts.html",
        {"inbox": selectors.alerts_inbox(_user(request)), "active_nav": "people"},
    )


@never_cache
@signed_in
@require_GET
def alerts_recent(request: HttpRequest) -> HttpResponse:
    """Return my alerts as an HTML fragment, for the header's alerts panel."""
    return render(
        request, "presence/_alerts.html", {"inbox": selectors.alerts_inbox(_user(request))}
    )


@never_cache
@signed_in_api
@require_GET
def presence_snapshot(request: HttpRequest) -> JsonResponse:
    """Return the stored presence of the asked people, and keep them watched."""
    form = PeopleIdsForm(request.GET)
    if not form.is_valid():
        return JsonResponse({"error": " ".join(str(e) for e in form.errors["ids"])}, status=400)
    known = selectors.visible_graph_ids(form.cleaned_data["ids"])
    if known:
        keep_watched(known)
    states = get_many(known)
    return JsonResponse(
        {
            "presence": {
                person_id: display.presence_payload(states.get(person_id), person_id)
                for person_id in known
            },
            "unknown": [pid for pid in form.cleaned_data["ids"] if pid not in set(known)],
        }
    )


@signed_in
@require_GET
def person_page(request: HttpRequest, graph_id: str) -> HttpResponse:
    """Show one person: presence in detail, manager and reports, and alerts."""
    detail = selectors.person_detail(_user(request), graph_id)
    if detail is None:
        raise Http404("No such person in the directory.")
    return render(
        request,
        "presence/person.html",
        {
            "detail": detail,
            "active_nav": "people",
            "labels": display.label_tables(),
            "delegation": person_delegation(graph_id),
            "followed": _followed(_user(request)),
        },
    )


def _back(request: HttpRequest, fallback: str) -> HttpResponseRedirect:
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        target = fallback
    return HttpResponseRedirect(target)


def _wants_json(request: HttpRequest) -> bool:
    return "application/json" in request.headers.get("Accept", "")


def _flag(request: HttpRequest, name: str) -> bool | None:
    value = request.POST.get(name)
    return {"1": True, "0": False}.get(value or "")


def _visible_person(graph_id: str) -> Person:
    person = visible_person(graph_id)
    if person is None:
        raise Http404("No such person in the directory.")
    return person


def _bad_flag(request: HttpRequest, name: str) -> HttpResponse:
    text = f"'{name}' must be 1 or 0."
    if _wants_json(request):
        return JsonResponse({"error": text}, status=400)
    return HttpResponse(text, status=400, content_type="text/plain")


@signed_in
@require_POST
def announce_changes(request: HttpRequest) -> HttpResponse:
    """Read out (announce=1) or not (announce=0) presence changes of the people one follows."""
    wanted = _flag(request, "announce")
    if wanted is None:
        return _bad_flag(request, "announce")
    save_announce_preference(user=_user(request), announce=wanted)
    if _wants_json(request):
        return JsonResponse({"announce": wanted})
    if wanted:
        messages.success(request, "Availability changes of the people you follow are read out.")
    else:
        messages.success(request, "Availability changes are no longer read out.")
    return _back(request, reverse("presence:wall"))


@signed_in
@require_POST
def favourite(request: HttpRequest, graph_id: str) -> HttpResponse:
    """Pin (favourite=1) or unpin (favourite=0) a colleague."""
    wanted = _flag(request, "favourite")
    if wanted is None:
        return _bad_flag(request, "favourite")
    person = _visible_person(graph_id)
    now = favourites.set_favourite(user=_user(request), person=person, favourite=wanted)
    if _wants_json(request):
        return JsonResponse({"person_id": graph_id, "favourite": now})
    return _back(request, reverse("presence:wall"))


@signed_in
@require_POST
def availability_alert(request: HttpRequest, graph_id: str) -> HttpResponse:
    """Ask (alert=1) or stop asking (alert=0) to be told when a colleague is available."""
    wanted = _flag(request, "alert")
    if wanted is None:
        return _bad_flag(request, "alert")
    person = _visible_person(graph_id)
    if wanted:
        alerts.request_alert(user=_user(request), person=person)
        text = f"You will be told when {person.display_name} is available."
    else:
        alerts.cancel_alert(user=_user(request), person=person)
        text = f"You stopped waiting for {person.display_name}."
    if _wants_json(request):
        return JsonResponse({"person_id": graph_id, "alert": wanted, "message": text})
    messages.success(request, text)
    return _back(request, reverse("presence:person", args=[graph_id]))


_STATUS_FORMS = {
    "availability": AvailabilityForm,
    "message": StatusMessageForm,
    "location": WorkLocationForm,
}


def _status_page(
    request: HttpRequest, bound: dict[str, Any] | None = None, error: str = "", code: int = 200
) -> HttpResponse:
    user = _user(request)
    zone = timezone.get_current_timezone()
    now = timezone.now()
    shown = read_my_status(user=user, now=now, zone=zone)
    forms = {
        "availability_form": AvailabilityForm(initial=shown.availability_initial),
        "message_form": StatusMessageForm(initial=shown.message_initial, now=now, zone=zone),
        "location_form": WorkLocationForm(initial=shown.location_initial),
    }
    forms.update(bound or {})
    context = {
        **forms,
        "active_nav": "people",
        "shown": shown,
        "presence": shown.presence,
        "own_id": user.object_id,
        "error": error,
        "labels": display.label_tables(),
        "message_help": f"At most {status.STATUS_MESSAGE_MAX_LENGTH} characters.",
        "clear_at_help": (
            f"On your clock ({times.zone_label(timezone.get_current_timezone_name())}). "
            "Only used with “At a date and time”."
        ),
    }
    return render(request, "presence/my_status.html", context, status=code)


def _change_status(request: HttpRequest, action: str) -> HttpResponse:
    user = _user(request)
    now = timezone.now()
    zone = timezone.get_current_timezone()
    in_zone = times.zone_label(timezone.get_current_timezone_name())
    form: AvailabilityForm | StatusMessageForm | WorkLocationForm | None = None
    try:
        if action == "reset":
            status.reset_availability(user=user)
            done = "Your status is reset; Teams decides it again."
        elif action == "clear_message":
            status.clear_status_message(user=user)
            done = "Your status message is cleared."
        elif action == "availability":
            form = AvailabilityForm(request.POST)
            if not form.is_valid():
                return _status_page(request, {"availability_form": form}, code=400)
            ends_at = status.set_availability(
                user=user,
                choice=form.cleaned_data["availability"],
                duration=form.cleaned_data["duration"],
                now=now,
                zone=zone,
            )
            label = status.AVAILABILITY_CHOICES[form.cleaned_data["availability"]][0]
            period = status.DURATION_CHOICES[form.cleaned_data["duration"]].lower()
            ends = times.until_words(ends_at, zone, now)
            done = f"You show as {label} for {period}, until {ends} {in_zone}."
        elif action == "message":
            form = StatusMessageForm(request.POST, now=now, zone=zone)
            if not form.is_valid():
                return _status_page(request, {"message_form": form}, code=400)
            expires_at = form.expiry()
            status.set_status_message(
                user=user,
                message=form.cleaned_data["message"],
                expires_at=expires_at,
                clear_after=form.cleaned_data["clear_after"],
            )
            done = "Your status message is set"
            if expires_at is not None:
                done += f"; it clears at {times.until_words(expires_at, zone, now)} {in_zone}"
            done += "."
        elif action == "location":
            form = WorkLocationForm(request.POST)
            if not form.is_valid():
                return _status_page(request, {"location_form": form}, code=400)
            status.set_work_location(user=user, location=form.cleaned_data["location"])
            done = "Your work location is updated."
        else:
            return _status_page(request, error="That change is not one this page offers.", code=400)
    except status.StatusChangeFailed as failure:
        bound = {f"{action}_form": form} if form is not None else {}
        return _status_page(request, bound, error=str(failure), code=502)
    messages.success(request, done)
    return HttpResponseRedirect(reverse("presence:my_status"))


@never_cache
@signed_in
@require_http_methods(["GET", "POST"])
def my_status(request: HttpRequest) -> HttpResponse:
    """Show and change my availability, status message and work location."""
    if request.method == "POST":
        return _change_status(request, request.POST.get("action", ""))
    return _status_page(request)
