"""Register everything presence adds to the sandbox: Graph routes, subscriptions, control API."""

from sandbox.presence import control, endpoints, location, subscriptions

__all__ = ["control", "endpoints", "location", "subscriptions"]
