"""The endpoints Graph posts change notifications to: one per resource kind, one for lifecycle."""

# https://learn.microsoft.com/graph/change-notifications-delivery-webhooks

from __future__ import annotations

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from comms_portal.notifications import intake, registry
from comms_portal.notifications.intake import LIFECYCLE, Answer, Endpoint


def _response(answer: Answer) -> HttpResponse:
    response = HttpResponse(answer.text, status=answer.status, content_type=intake.PLAIN_TEXT)
    for name, value in answer.headers:
        response[name] = value
    return response


async def _receive(request: HttpRequest, endpoint: Endpoint) -> HttpResponse:
    if endpoint.callback:
        refused = intake.declared_length_refused(request.META.get("CONTENT_LENGTH"), endpoint)
        if refused is not None:
            return _response(refused)
        body = request.read(settings.WEBHOOK_MAX_BODY_BYTES + 1)
        authorization = request.headers.get("Authorization")
        return _response(await intake.answer_callback(body, endpoint, authorization))
    token = request.GET.get("validationToken")
    if token is not None:
        return _response(intake.validation_echo(token))
    refused = intake.declared_length_refused(request.META.get("CONTENT_LENGTH"), endpoint)
    if refused is not None:
        return _response(refused)
    body = request.read(settings.WEBHOOK_MAX_BODY_BYTES + 1)
    return _response(await intake.answer_body(body, endpoint))


def _registered(kind: str) -> str:
    if not registry.is_registered(kind):
        raise Http404("No resource kind of that name.")
    return kind


@csrf_exempt  # Graph cannot send a CSRF token; clientState and validation tokens guard this.
async def changes(request: HttpRequest, kind: str) -> HttpResponse:
    """Receive the change notifications of one resource kind."""
    # An unknown kind is no URL of ours, whatever the method.
    if registry.callback_kind(kind) is not None:
        endpoint = Endpoint(kind=kind, callback=True)
    else:
        endpoint = Endpoint(kind=_registered(kind))
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    return await _receive(request, endpoint)


@csrf_exempt  # As above: Graph posts lifecycle events without a CSRF token.
@require_POST
async def lifecycle(request: HttpRequest) -> HttpResponse:
    """Receive lifecycle notifications (reauthorizationRequired, missed, removed) of any kind."""
    return await _receive(request, LIFECYCLE)


@csrf_exempt  # As above.
async def lifecycle_of_kind(request: HttpRequest, kind: str) -> HttpResponse:
    """Receive lifecycle notifications at a kind's own URL (subscriptions made before)."""
    _registered(kind)
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    return await _receive(request, LIFECYCLE)
