"""Register everything call records add to the sandbox: Graph routes, subscriptions, control."""

from sandbox.callrecords import control, endpoints, subscriptions

__all__ = ["control", "endpoints", "subscriptions"]
