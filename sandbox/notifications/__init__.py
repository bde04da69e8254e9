"""Change notifications: subscriptions' delivery, lifecycle events and the delivery log."""

from sandbox.notifications.registry import register_subscription_resource
from sandbox.notifications.service import (
    hub_of,
    publish,
    start_notifications,
    stop_notifications,
)

__all__ = [
    "hub_of",
    "publish",
    "register_subscription_resource",
    "start_notifications",
    "stop_notifications",
]
