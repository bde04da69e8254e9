"""What calls register with the notification pipeline: the bot's signed callbacks."""

from __future__ import annotations

from collections.abc import Sequence

from calls import authentication, dispatch
from comms_portal.graph import InvalidNotification
from comms_portal.graph.calls import parse_comms_notifications
from comms_portal.notifications import registry
from comms_portal.notifications.registry import CallbackKind, Handled

KIND = "calls"


def malformed(body: bytes) -> str | None:
    """Say why a callback body is not a commsNotifications collection, or None."""
    try:
        parse_comms_notifications(body)
    except InvalidNotification as error:
        return str(error)
    return None


def handle_bodies(bodies: Sequence[str]) -> Handled:
    """Hand each callback to its call's list: in order within a call, calls side by side."""
    handled = Handled()
    queued: list[dispatch.Queued] = []
    for body in bodies:
        try:
            queued += dispatch.split(body)
        except InvalidNotification as error:
            handled.drop(f"malformed callback: {error}")
    handled.changed = dispatch.dispatcher().enqueue(queued)
    return handled


def register() -> None:
    """Declare the bot's callbacks to the notification pipeline."""
    registry.register_callbacks(
        CallbackKind(
            name=KIND,
            authenticate=authentication.authenticate,
            malformed=malformed,
            handle_bodies=handle_bodies,
            replay_key=authentication.replay_key,
            replay_seconds=authentication.REPLAY_KEEP_SECONDS,
            warm_up=authentication.warm_up,
        )
    )
