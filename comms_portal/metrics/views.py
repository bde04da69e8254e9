"""``/metrics``: Prometheus's scrape, for admins and allowed networks; a 404 to anyone else."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.views.decorators.cache import never_cache

from comms_portal.metrics.access import may_read_metrics
from comms_portal.metrics.collector import exposition


@never_cache
def metrics(request: HttpRequest) -> HttpResponse:
    """Serve the metrics to admins and allowed networks, as if absent to everyone else."""
    if not may_read_metrics(request):
        # Not 401 or 403: those would tell a stranger that something is here.
        raise Http404
    if request.method not in {"GET", "HEAD"}:
        return HttpResponseNotAllowed(["GET", "HEAD"])
    body, content_type = exposition(request.headers.get("Accept", ""))
    return HttpResponse(body, content_type=content_type)
