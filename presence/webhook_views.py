"""The endpoints Graph posts presence notifications to (changes and lifecycle events)."""

# https://learn.microsoft.com/graph/change-notifications-delivery-webhooks

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from presence import webhook
from presence.webhook import Answer, Channel


def _response(answer: Answer) -> HttpResponse:
    response = HttpResponse(answer.text, status=answer.status, content_type=webhook.PLAIN_TEXT)
    for name, value in answer.headers:
        response[name] = value
    return response


async def _receive(request: HttpRequest, channel: Channel) -> HttpResponse:
    token = request.GET.get("validationToken")
    if token is not None:
        return _response(webhook.validation_echo(token))
    refused = webhook.declared_length_refused(request.META.get("CONTENT_LENGTH"))
    if refused is not None:
        return _response(refused)
    body = request.read(settings.WEBHOOK_MAX_BODY_BYTES + 1)
    return _response(await webhook.answer_body(body, channel))


@csrf_exempt  # Graph cannot send a CSRF token; clientState and validation tokens guard this.
@require_POST
async def notifications(request: HttpRequest) -> HttpResponse:
    """Receive presence change notifications."""
    return await _receive(request, "change")


@csrf_exempt  # As above: Graph posts lifecycle events without a CSRF token.
@require_POST
async def lifecycle(request: HttpRequest) -> HttpResponse:
    """Receive presence lifecycle notifications (reauthorizationRequired, missed, removed)."""
    return await _receive(request, "lifecycle")
