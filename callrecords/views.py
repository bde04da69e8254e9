"""Call-quality pages: the admins' dashboard, a call's timeline, My calls, PSTN usage."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods

from accounts.guards import admin_required, is_portal_admin, signed_in
from callrecords import charts, selectors, services
from callrecords.forms import BuildingForm, FiltersForm, default_filters
from callrecords.models import BuildingSubnet, CallParticipant, CallRecord
from callrecords.selectors import DIMENSIONS, Filters

MY_CALLS_DAYS = 30
PSTN_MONTHS = 6
EXPORTS = {"time": "Poor-stream rate over time", **DIMENSIONS, "worst": "Worst calls"}


def _filters(request: HttpRequest) -> tuple[FiltersForm, Filters]:
    form = FiltersForm(request.GET or None)
    if form.is_bound and form.is_valid():
        return form, form.filters()
    return form, default_filters()


@admin_required
@require_GET
def dashboard(request: HttpRequest) -> HttpResponse:
    """Show where calls go bad: over time, by network, building, device, client, person."""
    form, filters = _filters(request)
    over_time = selectors.poor_rate_over_time(filters)
    sections = []
    for key, title in DIMENSIONS.items():
        rows, groups = selectors.top_rates_by(filters, key, selectors.DASHBOARD_ROWS)
        sections.append(
            {
                "key": key,
                "title": f"By {title.lower()}",
                "rows": rows,
                "more": max(0, groups - len(rows)),
                "chart": charts.rate_bars(
                    f"chart-{key}", f"Poor-stream rate by {title.lower()}", rows
                ),
            }
        )
    context = {
        "active_nav": "quality",
        "form": form,
        "query": request.GET.urlencode(),
        "over_time": over_time,
        "over_time_chart": charts.rate_columns(
            "chart-time", f"Poor-stream rate by {filters.bucket}", over_time
        ),
        "total": sum(row.classified for row in over_time),
        "poor": sum(row.poor for row in over_time),
        "sections": sections,
        "worst": selectors.worst_calls(filters),
        "concern": f"{charts.CONCERN_RATE:.0%}".replace("%", " %"),
    }
    return render(request, "callrecords/dashboard.html", context)


class _Echo:
    def write(self, value: str) -> str:
        return value


def _export_rows(table: str, filters: Filters) -> Iterator[list[Any]]:
    if table == "worst":
        yield ["call id", "start (UTC)", "type", "organizer", "poor streams", "classified", "cause"]
        for call in selectors.worst_calls(filters):
            yield [call.graph_id, call.start.isoformat(), call.call_type, call.organizer,
                   call.poor, call.classified, call.cause]  # fmt: skip
        return
    rows = (
        selectors.poor_rate_over_time(filters)
        if table == "time"
        else selectors.poor_rate_by(filters, table)
    )
    yield ["group", "key", "classified streams", "poor streams", "poor rate"]
    for row in rows:
        yield [row.label, row.key, row.classified, row.poor, f"{row.rate:.4f}"]


@admin_required
@require_GET
def export(request: HttpRequest, table: str) -> StreamingHttpResponse:
    """Stream one of the dashboard's tables as CSV, with the same filters."""
    if table not in EXPORTS:
        raise Http404("No such table.")
    _, filters = _filters(request)
    writer = csv.writer(_Echo())
    response = StreamingHttpResponse(
        (writer.writerow(row) for row in _export_rows(table, filters)),
        content_type="text/csv; charset=utf-8",
    )
    response["Content-Disposition"] = f'attachment; filename="call-quality-{table}.csv"'
    return response


@signed_in
@require_GET
def call_detail(request: HttpRequest, graph_id: str) -> HttpResponse:
    """Show a call's timeline: admins see any call, people the calls they took part in."""
    call = get_object_or_404(CallRecord, graph_id=graph_id)
    if not is_portal_admin(request.user):
        person_id = getattr(request.user, "object_id", "")
        if (
            not person_id
            or not CallParticipant.objects.filter(call=call, person_id=person_id).exists()
        ):
            raise Http404("No such call.")
    context = {
        "active_nav": "quality" if is_portal_admin(request.user) else "mycalls",
        "timeline": selectors.call_timeline(call),
    }
    return render(request, "callrecords/call_detail.html", context)


@signed_in
@require_GET
def my_calls(request: HttpRequest) -> HttpResponse:
    """Show the person's own calls of the last 30 days, judged in plain words."""
    person_id = getattr(request.user, "object_id", "")
    since = timezone.now() - timedelta(days=MY_CALLS_DAYS)
    mine = selectors.my_calls(person_id, since=since) if person_id else selectors.MyCalls([], [], 0)
    context = {"active_nav": "mycalls", "mine": mine, "days": MY_CALLS_DAYS}
    return render(request, "callrecords/my_calls.html", context)


@admin_required
@require_GET
def pstn(request: HttpRequest) -> HttpResponse:
    """Show PSTN and direct-routing minutes and calls by person and month."""
    since = timezone.now() - timedelta(days=31 * PSTN_MONTHS)
    rows = selectors.pstn_usage(since=since)
    return render(
        request,
        "callrecords/pstn.html",
        {"active_nav": "quality", "rows": rows, "months": PSTN_MONTHS},
    )


@admin_required
@require_http_methods(["GET", "POST"])
def buildings(request: HttpRequest) -> HttpResponse:
    """List, add and remove the subnet-to-building mapping."""
    form = BuildingForm()
    if request.method == "POST":
        if "remove" in request.POST:
            if services.unmap_subnet(mapping_id=request.POST.get("remove", "")):
                messages.success(request, "The mapping was removed.")
            return redirect("callrecords:buildings")
        form = BuildingForm(request.POST)
        if form.is_valid():
            mapping = services.map_subnet(
                subnet=form.cleaned_data["subnet"], building=form.cleaned_data["building"]
            )
            messages.success(request, f"{mapping.subnet} now counts as {mapping.building}.")
            return redirect("callrecords:buildings")
    return render(
        request,
        "callrecords/buildings.html",
        {
            "active_nav": "quality",
            "form": form,
            "mappings": BuildingSubnet.objects.order_by("building", "subnet"),
        },
        status=400 if form.errors else 200,
    )
