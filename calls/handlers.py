"""What calls register with the notification pipeline: the bot's signed callbacks."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from calls import authentication, services
from comms_portal.graph import GraphError, InvalidNotification, Throttled
from comms_portal.graph.calls import parse_comms_notifications
from comms_portal.graph.errors import GraphTransportError, ServiceUnavailable
from comms_portal.notifications import registry
from comms_portal.notifications.registry import CallbackKind, Handled

logger = logging.getLogger(__name__)
KIND = "calls"


def malformed(body: bytes) -> str | None:
    """Say why a callback body is not a commsNotifications collection, or None."""
    try:
        parse_comms_notifications(body)
    except InvalidNotification as error:
        return str(error)
    return None


def handle_bodies(bodies: Sequence[str]) -> Handled:
    """Apply the callbacks in the order they came: each call's steps stay in order."""
    handled = Handled()
    for body in bodies:
        try:
            collection = parse_comms_notifications(body)
        except InvalidNotification as error:
            handled.drop(f"malformed callback: {error}")
            continue
        for item in collection.value:
            try:
                outcome = services.apply_notification(item)
            except (Throttled, ServiceUnavailable, GraphTransportError):
                raise  # passing: the drain keeps the batch and tries again
            except (GraphError, InvalidNotification, services.ControlRefused) as error:
                handled.drop(f"call {item.call_id}: {type(error).__name__}: {error}")
                continue
            if outcome.applied:
                handled.changed += 1
            elif outcome.reason:
                handled.drop(outcome.reason)
    return handled


def register() -> None:
    """Declare the bot's callbacks to the notification pipeline."""
    registry.register_callbacks(
        CallbackKind(
            name=KIND,
            authenticate=authentication.authenticate,
            malformed=malformed,
            handle_bodies=handle_bodies,
            not_queued=authentication.not_queued,
        )
    )
