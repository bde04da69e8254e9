"""Control API for change notifications: the delivery log, delivery faults, test emits.

Mounted under ``/_sandbox/`` beside the rest of the control API (loopback only):

* ``GET  /_sandbox/deliveries?subscription_id=&limit=``: delivery attempts, oldest first.
* ``POST /_sandbox/delivery-faults`` ``{"kind": "drop"|"delay", "count": N, "seconds": S,
  "url": glob, "regex": false}``; ``GET`` lists armed faults, ``DELETE`` disarms them all.
* ``POST /_sandbox/notify`` ``{"resource", "changeType", "resourceData", "richPayload"}``:
  publish a change as a resource module would.
* ``GET /_sandbox/subscriptions``: every live subscription with its bookkeeping;
  ``DELETE /_sandbox/subscriptions/{id}`` removes one (``subscriptionRemoved`` follows only
  for resources Graph sends it for).
* ``GET``/``POST /_sandbox/delivery-settings``: retry and lifecycle timing.
"""

from __future__ import annotations

import re

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from sandbox.app import on_shutdown, on_startup
from sandbox.control import ControlError, add_control_route, json_object
from sandbox.graph.faults import compile_path_pattern
from sandbox.notifications.delivery_log import DeliveryFault
from sandbox.notifications.service import (
    hub_of,
    publish,
    start_notifications,
    stop_notifications,
)
from sandbox.state import state_of

CHANGE_TYPES = ("created", "updated", "deleted")
MAX_LOG_LIMIT = 10_000


async def list_deliveries(request: Request) -> Response:
    """Return the delivery log, optionally for one subscription and only the newest N."""
    state = state_of(request)
    subscription_id = request.query_params.get("subscription_id") or None
    limit_text = request.query_params.get("limit")
    limit = None
    if limit_text is not None:
        if not limit_text.isdigit() or not 0 < int(limit_text) <= MAX_LOG_LIMIT:
            raise ControlError(f"limit must be a whole number from 1 to {MAX_LOG_LIMIT}")
        limit = int(limit_text)
    hub = hub_of(state)
    entries = hub.log.entries(subscription_id=subscription_id, limit=limit)
    return JSONResponse(
        {
            "value": [entry.to_json() for entry in entries],
            "pending": hub.pending_count(subscription_id),
        }
    )


async def add_delivery_fault(request: Request) -> Response:
    """Arm a fault that drops or delays the next N deliveries (to matching URLs)."""
    state = state_of(request)
    body = await json_object(request)
    unknown = sorted(set(body) - {"kind", "count", "seconds", "url", "regex"})
    if unknown:
        raise ControlError(f"unknown properties: {', '.join(unknown)}")
    kind = body.get("kind")
    if kind not in ("drop", "delay"):
        raise ControlError('kind must be "drop" or "delay"')
    count = body.get("count", 1)
    if not isinstance(count, int) or isinstance(count, bool) or not 1 <= count <= 10_000:
        raise ControlError("count must be a whole number from 1 to 10000")
    seconds = body.get("seconds", 0)
    if not isinstance(seconds, int | float) or isinstance(seconds, bool) or seconds < 0:
        raise ControlError("seconds must be a number of seconds, 0 or more")
    if kind == "delay" and seconds == 0:
        raise ControlError("a delay fault needs seconds greater than 0")
    url = body.get("url")
    if url is not None and (not isinstance(url, str) or not url):
        raise ControlError("url must be a non-empty glob (or a regex with regex: true)")
    pattern = None
    if url is not None:
        try:
            pattern = compile_path_pattern(url, is_regex=bool(body.get("regex", False)))
        except re.error as exc:
            raise ControlError(f"url is not a valid regular expression: {exc}") from exc
    fault = DeliveryFault(kind=kind, remaining=count, seconds=float(seconds), url_pattern=pattern)
    hub_of(state).faults.add(fault)
    return JSONResponse(fault.to_json(), status_code=201)


async def list_delivery_faults(request: Request) -> Response:
    """Return the delivery faults still armed."""
    state = state_of(request)
    return JSONResponse({"value": [fault.to_json() for fault in hub_of(state).faults.faults]})


async def clear_delivery_faults(request: Request) -> Response:
    """Disarm every delivery fault."""
    state = state_of(request)
    hub_of(state).faults.clear()
    return Response(status_code=204)


async def emit_notification(request: Request) -> Response:
    """Publish a change to ``resource`` as if a resource module had changed it."""
    state = state_of(request)
    body = await json_object(request)
    unknown = sorted(set(body) - {"resource", "changeType", "resourceData", "richPayload"})
    if unknown:
        raise ControlError(f"unknown properties: {', '.join(unknown)}")
    resource = body.get("resource")
    if not isinstance(resource, str) or not resource.strip():
        raise ControlError("resource must be a non-empty string such as users/{id}")
    change_type = body.get("changeType")
    if change_type not in CHANGE_TYPES:
        raise ControlError(f"changeType must be one of {', '.join(CHANGE_TYPES)}")
    resource_data = body.get("resourceData")
    if resource_data is None:
        resource_data = {"@odata.id": resource, "id": resource.rstrip("/").split("/")[-1]}
    if not isinstance(resource_data, dict):
        raise ControlError("resourceData must be a JSON object")
    rich_payload = body.get("richPayload", resource_data)
    if rich_payload is not None and not isinstance(rich_payload, dict):
        raise ControlError("richPayload must be a JSON object or null")
    queued = publish(state, resource, change_type, resource_data, rich_payload=rich_payload)
    return JSONResponse({"queued": queued}, status_code=202)


async def list_all_subscriptions(request: Request) -> Response:
    """Return every live subscription of every app, with delivery bookkeeping."""
    state = state_of(request)
    hub = hub_of(state)
    hub.subscriptions.remove_expired(state.clock.now())
    return JSONResponse(
        {
            "value": [
                {
                    **item.to_graph(),
                    "challengePending": item.challenge_pending,
                    "notificationsSent": item.notifications_sent,
                    "missedNotifications": item.missed_notifications,
                    "userId": item.user_id,
                }
                for item in hub.subscriptions.all()
            ]
        }
    )


async def remove_subscription(request: Request) -> Response:
    """Remove a subscription as Graph might.

    Graph sends ``subscriptionRemoved`` only for some resources (none of the sandbox's yet:
    presence and users subscriptions simply vanish). ``?notify=false`` loses any
    subscription silently, as a service outage or a restart of the sandbox itself would.
    """
    state = state_of(request)
    notify = request.query_params.get("notify", "true").lower() != "false"
    removed = hub_of(state).remove(request.path_params["subscription_id"], notify=notify)
    if removed is None:
        return JSONResponse({"error": "no such subscription"}, status_code=404)
    return Response(status_code=204)


_SETTING_NAMES = {
    "retryInitialDelay": "retry_initial_delay",
    "retryMaxDelay": "retry_max_delay",
    "maxAge": "max_age",
    "deliveryTimeout": "delivery_timeout",
    "validationTimeout": "validation_timeout",
    "maxBatchSize": "max_batch_size",
    "reauthorizationLead": "reauthorization_lead",
    "reauthorizationInterval": "reauthorization_interval",
    "reauthorizationJitter": "reauthorization_jitter",
}


async def delivery_settings(request: Request) -> Response:
    """Read (GET) or change (POST, partial) the delivery timing."""
    state = state_of(request)
    settings = hub_of(state).settings
    if request.method == "POST":
        body = await json_object(request)
        unknown = sorted(set(body) - set(_SETTING_NAMES))
        if unknown:
            raise ControlError(f"unknown settings: {', '.join(unknown)}")
        for name, value in body.items():
            if not isinstance(value, int | float) or isinstance(value, bool) or value < 0:
                raise ControlError(f"{name} must be a number, 0 or more")
        for name, value in body.items():
            attribute = _SETTING_NAMES[name]
            setattr(settings, attribute, int(value) if attribute == "max_batch_size" else value)
    return JSONResponse(settings.to_json())


add_control_route("/deliveries", list_deliveries, ["GET"])
add_control_route("/delivery-faults", list_delivery_faults, ["GET"])
add_control_route("/delivery-faults", add_delivery_fault, ["POST"])
add_control_route("/delivery-faults", clear_delivery_faults, ["DELETE"])
add_control_route("/notify", emit_notification, ["POST"])
add_control_route("/subscriptions", list_all_subscriptions, ["GET"])
add_control_route("/subscriptions/{subscription_id}", remove_subscription, ["DELETE"])
add_control_route("/delivery-settings", delivery_settings, ["GET", "POST"])
on_startup(start_notifications)
on_shutdown(stop_notifications)
