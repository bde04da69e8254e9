"""Register everything virtual events add to the sandbox: Graph routes, subscriptions, control."""

from sandbox.virtual_events import control, endpoints, notifications

__all__ = ["control", "endpoints", "notifications"]
