"""The endpoints Graph posts presence notifications to (changes and lifecycle events)."""

# https://learn.microsoft.com/graph/change-notifications-delivery-webhooks

from __future__ import annotations

import logging

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from comms_portal.graph import InvalidNotification, parse_notifications
from presence import webhook
from presence.webhook import Channel

logger = logging.getLogger(__name__)

# Graph's validation tokens are short opaque strings; anything longer is not one of them.
MAX_VALIDATION_TOKEN_LENGTH = 4096


def _validation_echo(token: str) -> HttpResponse:
    """Answer Graph's handshake: 200, text/plain, the token exactly as decoded."""
    if len(token) > MAX_VALIDATION_TOKEN_LENGTH:
        return HttpResponse("validationToken too long", status=400, content_type="text/plain")
    response = HttpResponse(token, content_type="text/plain; charset=utf-8")
    # The token is echoed verbatim; never let a browser render it as anything else.
    response["X-Content-Type-Options"] = "nosniff"
    return response


async def _receive(request: HttpRequest, channel: Channel) -> HttpResponse:
    token = request.GET.get("validationToken")
    if token is not None:
        return _validation_echo(token)
    declared = request.META.get("CONTENT_LENGTH") or "0"
    if not declared.isdigit() or int(declared) > settings.WEBHOOK_MAX_BODY_BYTES:
        return HttpResponse("body too large", status=413, content_type="text/plain")
    body = request.read(settings.WEBHOOK_MAX_BODY_BYTES + 1)
    if len(body) > settings.WEBHOOK_MAX_BODY_BYTES:
        return HttpResponse("body too large", status=413, content_type="text/plain")
    try:
        collection = parse_notifications(body)
    except InvalidNotification as error:
        logger.warning("webhook: malformed %s body refused: %s", channel, error)
        return HttpResponse(str(error), status=400, content_type="text/plain")
    # Notifications that are not ours still get 202: Graph would otherwise retry them for
    # hours, and a forger learns nothing. They are logged and dropped.
    await webhook.accept(collection, body, channel)
    return HttpResponse(status=202)


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
