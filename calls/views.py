"""The calls pages: the board, one call with its controls, the reception line, prompts."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST

from accounts.guards import admin_required, requires_consent
from accounts.models import User
from calls import incidents as incidents_flow
from calls import recordings, selectors, services, speech, team_choices
from calls.forms import (
    MAX_CALLED,
    PROMPT_SLOTS,
    IncidentForm,
    InviteForm,
    LineForm,
    OptionForm,
    PromptForm,
    SavedTeamForm,
)
from calls.incidents import MeetingRefused
from calls.models import Call, CallParticipant, MenuOption, Prompt, ReceptionLine, Team
from comms_portal.graph import GraphError
from directory.models import Person

SLOTS = dict(PROMPT_SLOTS)


@admin_required
@require_GET
def board(request: HttpRequest) -> HttpResponse:
    """Show the live calls and the latest ended ones."""
    return render(request, "calls/board.html", {"board": selectors.board(), "active_nav": "calls"})


@admin_required
@require_GET
def board_rows(request: HttpRequest) -> HttpResponse:
    """Return the board's tables alone (the page fetches them on each live message)."""
    return render(request, "calls/_board_tables.html", {"board": selectors.board()})


def _detail(pk: int) -> selectors.CallDetail:
    detail = selectors.call_detail(pk)
    if detail is None:
        raise Http404("No such call.")
    return detail


@admin_required
@require_GET
def call_page(request: HttpRequest, pk: int) -> HttpResponse:
    """Show one call: who is in it, its steps, and the controls."""
    return render(
        request,
        "calls/call.html",
        {"detail": _detail(pk), "invite_form": InviteForm(), "active_nav": "calls"},
    )


@admin_required
@require_GET
def call_live(request: HttpRequest, pk: int) -> HttpResponse:
    """Return a call's live part alone."""
    return render(request, "calls/_call_live.html", {"detail": _detail(pk)})


def _run(request: HttpRequest, action: object, done: str) -> None:
    try:
        action()  # type: ignore[operator]
    except services.ControlRefused as error:
        messages.error(request, str(error))
    else:
        messages.success(request, done)


@admin_required
@require_POST
def hang_up(request: HttpRequest, pk: int) -> HttpResponse:
    """Hang up the bot's leg of a call."""
    call = get_object_or_404(Call.objects.live(), pk=pk)
    _run(request, lambda: services.hang_up(call=call), "Hanging up.")
    return redirect("calls:call", pk=pk)


@admin_required
@require_POST
def mute(request: HttpRequest, pk: int, participant: int) -> HttpResponse:
    """Mute one participant."""
    call = get_object_or_404(Call.objects.live(), pk=pk)
    who = get_object_or_404(CallParticipant, call=call, pk=participant)
    _run(request, lambda: services.mute(call=call, participant=who), f"Muting {who.label}.")
    return redirect("calls:call", pk=pk)


@admin_required
@require_POST
def remove(request: HttpRequest, pk: int, participant: int) -> HttpResponse:
    """Remove one participant."""
    call = get_object_or_404(Call.objects.live(), pk=pk)
    who = get_object_or_404(CallParticipant, call=call, pk=participant)
    _run(request, lambda: services.remove(call=call, participant=who), f"Removing {who.label}.")
    return redirect("calls:call", pk=pk)


@admin_required
@require_POST
def invite(request: HttpRequest, pk: int) -> HttpResponse:
    """Invite people chosen in the directory picker."""
    call = get_object_or_404(Call.objects.live(), pk=pk)
    form = InviteForm(request.POST)
    if not form.is_valid():
        return render(
            request,
            "calls/call.html",
            {"detail": _detail(pk), "invite_form": form, "active_nav": "calls"},
            status=400,
        )
    people = form.cleaned_data["people"]
    _run(request, lambda: services.invite(call=call, people=people), "Inviting.")
    return redirect("calls:call", pk=pk)


@admin_required
def reception(request: HttpRequest) -> HttpResponse:
    """Set the reception line's greeting, hours, menu and prompts."""
    line = services.the_line()
    uploaded = selectors.uploaded_slots(line)
    line_form = LineForm(instance=line)
    option_form = OptionForm()
    prompt_form = PromptForm()
    status = 200
    if request.method == "POST":
        which = request.POST.get("form")
        if which == "line":
            line_form = LineForm(request.POST, instance=line)
            if line_form.is_valid():
                line_form.save()
                messages.success(request, "The reception line is saved.")
                return redirect("calls:reception")
        elif which == "option":
            option_form = OptionForm(request.POST)
            if option_form.is_valid():
                _save_option(line, option_form)
                messages.success(request, "The menu key is saved.")
                return redirect("calls:reception")
        elif which == "prompt":
            prompt_form = PromptForm(request.POST, request.FILES)
            if prompt_form.is_valid():
                Prompt.objects.update_or_create(
                    line=line,
                    slot=prompt_form.cleaned_data["slot"],
                    defaults={"content": prompt_form.cleaned_data["recording"]},
                )
                messages.success(request, "The recording is saved.")
                return redirect("calls:reception")
        status = 400
    return render(
        request,
        "calls/reception.html",
        {
            "line": line,
            "line_form": line_form,
            "option_form": option_form,
            "option_chosen": _chosen(option_form, "people"),
            "prompt_form": prompt_form,
            "menu": selectors.menu(line),
            "teams": selectors.saved_teams(),
            "slots": [
                (slot, label, slot in uploaded, recordings.TEXTS[slot])
                for slot, label in PROMPT_SLOTS
            ],
            "active_nav": "calls",
        },
        status=status,
    )


def _chosen(form: forms.Form, name: str) -> list[Person]:
    """Return the people a sent form had picked in a field, so they stay picked."""
    cleaned = getattr(form, "cleaned_data", None) or {}
    return list(cleaned.get(name) or [])


def _save_option(line: ReceptionLine, form: OptionForm) -> None:
    data = form.cleaned_data
    team_choices.save_menu_option(
        line=line,
        digit=data["digit"],
        label=data["label"],
        choice=team_choices.choose_team(**form.team_fields()),
    )


@admin_required
@require_POST
def delete_option(request: HttpRequest, pk: int) -> HttpResponse:
    """Take a key off the menu."""
    get_object_or_404(MenuOption, pk=pk).delete()
    messages.success(request, "The menu key is removed.")
    return redirect("calls:reception")


@admin_required
@require_GET
def teams(request: HttpRequest) -> HttpResponse:
    """List the saved teams: what each is, who is in it, and which menu keys lead to it."""
    return render(
        request,
        "calls/teams.html",
        {"teams": selectors.saved_teams(), "active_nav": "calls"},
    )


@admin_required
def team_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    """Create a saved team, or rename and change one (its kind, department or people)."""
    team = get_object_or_404(Team, pk=pk) if pk is not None else None
    if request.method == "POST":
        form = SavedTeamForm(request.POST, team=team)
        if form.is_valid():
            data = form.cleaned_data
            saved = team_choices.edit_team(
                team=team,
                name=data["name"],
                kind=data["kind"],
                department=data.get("department") or "",
                people=list(data.get("people") or []),
            )
            messages.success(request, f"The team {saved.name} is saved.")
            return redirect("calls:teams")
        chosen = _chosen(form, "people")
        status = 400
    else:
        form = SavedTeamForm(team=team, initial=_team_initial(team))
        chosen = _team_people(team)
        status = 200
    return render(
        request,
        "calls/team_form.html",
        {
            "form": form,
            "team": team,
            "chosen": chosen,
            "uses": team_choices.team_uses(team) if team is not None else [],
            "active_nav": "calls",
        },
        status=status,
    )


def _team_initial(team: Team | None) -> dict[str, object]:
    if team is None:
        return {"kind": MenuOption.Kind.LIST}
    return {"name": team.name, "kind": team.kind, "department": team.department}


def _team_people(team: Team | None) -> list[Person]:
    if team is None or team.kind == MenuOption.Kind.DEPARTMENT:
        return []
    return team_choices.team_members(team)


@admin_required
def delete_team(request: HttpRequest, pk: int) -> HttpResponse:
    """Ask before deleting a saved team, saying which menu keys lead to it; then delete it."""
    team = get_object_or_404(Team, pk=pk)
    uses = team_choices.team_uses(team)
    if request.method == "POST" and (not uses or request.POST.get("confirm") == "yes"):
        team_choices.delete_team(team=team)
        if uses:
            keys = ", ".join(option.digit for option in uses)
            messages.success(
                request,
                f"The team {team.name} is deleted. Menu key(s) {keys} keep leading where it "
                "did, on their own.",
            )
        else:
            messages.success(request, f"The team {team.name} is deleted.")
        return redirect("calls:teams")
    if request.method == "POST":
        messages.error(
            request,
            f"The team {team.name} is not deleted: the reception menu uses it. "
            "See where below, then confirm.",
        )
        return redirect("calls:delete_team", pk=team.pk)
    return render(
        request,
        "calls/team_delete.html",
        {"team": team, "uses": uses, "active_nav": "calls"},
    )


@require_GET
def prompt(request: HttpRequest, slot: str) -> HttpResponse:
    """Serve a prompt to the calling platform: the uploaded recording, else the bundled one."""
    if slot not in SLOTS:
        raise Http404("No such prompt.")
    content = selectors.prompt_content(services.the_line(), slot)
    if content is None:
        content = recordings.path_of(slot).read_bytes()
    response = HttpResponse(content, content_type="audio/wav")
    response["Cache-Control"] = "public, max-age=300"
    return response


@require_GET
def spoken_message(request: HttpRequest, token: str) -> HttpResponse:
    """Serve a call-out's spoken message to the calling platform, while the call-out runs."""
    content = speech.content_of(token)
    if content is None:
        raise Http404("No such message.")
    response = HttpResponse(content, content_type="audio/wav")
    # What the admin wrote: not kept by caches on the way.
    response["Cache-Control"] = "no-store"
    return response


@requires_consent("calldelegation")
@require_GET
def my_delegates(request: HttpRequest) -> HttpResponse:
    """Show whom the signed-in person lets take their calls, read from Graph now."""
    user = request.user
    assert isinstance(user, User)
    person = Person.objects.filter(graph_id=user.object_id).first()
    if person is None:
        raise Http404("You are not in the directory yet.")
    error = ""
    try:
        delegation = services.refresh_delegation(user_id=user.pk, person=person)
    except GraphError as failure:
        error = f"Microsoft Graph did not answer: {failure.message}"
        delegation = services.delegation_of(person)
    return render(
        request,
        "calls/my_delegates.html",
        {"delegation": delegation, "error": error, "active_nav": "people"},
    )


def _called(
    form: IncidentForm, *, save: bool
) -> tuple[team_choices.TeamChoice, list[Person], list[Person]]:
    """Return the team a valid call-out form names, whom it calls, and whom it leaves out."""
    data = form.cleaned_data
    choice = team_choices.choose_team(**form.team_fields(), save=save)
    everyone = incidents_flow.gather(
        team_choices.members(choice), also=data["also_call"] or [], leave_out=set()
    )
    leave_out = set(data["leave_out"])
    called = [p for p in everyone if p.graph_id not in leave_out]
    return choice, called, [p for p in everyone if p.graph_id in leave_out]


@admin_required
def incidents(request: HttpRequest) -> HttpResponse:
    """List call-outs; show whom a new one would call, in order, and start it."""
    form = IncidentForm()
    preview: list[services.PreviewRow] = []
    left_out: list[Person] = []
    status = 200
    if request.method == "POST":
        form = IncidentForm(request.POST)
        starting = request.POST.get("step") == "start"
        if form.is_valid():
            choice, people, left_out = _called(form, save=starting)
            data = form.cleaned_data
            user = request.user
            organizer_id = getattr(user, "object_id", "") or ""
            if not people:
                form.add_error(None, f"Nobody to call: {choice.label} has nobody in it.")
            elif len(people) > MAX_CALLED:
                form.add_error(
                    None,
                    f"{choice.label.capitalize()} has {len(people)} people with those added; "
                    f"a call-out calls at most {MAX_CALLED}. Leave some out or choose a "
                    "smaller team.",
                )
            elif not starting:
                preview = services.preview_call_out(
                    people=people, call_offline=data["call_offline"]
                )
            elif not data["join_url"] and not organizer_id:
                form.add_error(
                    None,
                    "The meeting needs an organizer signed in with Microsoft; give the link "
                    "of an existing meeting instead.",
                )
            else:
                try:
                    incident = services.start_call_out(
                        title=data["title"],
                        message=data["message"],
                        people=people,
                        created_by=getattr(user, "display_name", "") or "",
                        organizer_id=organizer_id,
                        join_url=data["join_url"],
                        call_offline=data["call_offline"],
                        team_label=choice.label,
                    )
                except MeetingRefused as refusal:
                    form.add_error(None, refusal.message)
                except GraphError as failure:
                    form.add_error(
                        None, f"The bot could not join the incident meeting: {failure.message}"
                    )
                else:
                    messages.success(request, "The call-out has started.")
                    return redirect("calls:incident", pk=incident.pk)
        if not preview:
            status = 400
    # Whom the admin had chosen stays chosen when the form comes back.
    return render(
        request,
        "calls/incidents.html",
        {
            "form": form,
            "chosen": _chosen(form, "people"),
            "also_chosen": _chosen(form, "also_call"),
            "left_out": left_out,
            "preview": preview,
            "incidents": selectors.incidents(),
            "active_nav": "calls",
        },
        status=status,
    )


def _incident(pk: int) -> selectors.IncidentDetail:
    detail = selectors.incident_detail(pk)
    if detail is None:
        raise Http404("No such call-out.")
    return detail


@admin_required
@require_GET
def incident(request: HttpRequest, pk: int) -> HttpResponse:
    """Show a call-out as it goes: whom it called and what they answered."""
    return render(request, "calls/incident.html", {"detail": _incident(pk), "active_nav": "calls"})


@admin_required
@require_GET
def incident_live(request: HttpRequest, pk: int) -> HttpResponse:
    """Return a call-out's live part alone."""
    return render(request, "calls/_incident_live.html", {"detail": _incident(pk)})
