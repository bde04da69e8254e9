"""Register everything meetings add to the sandbox: Graph routes, call events, control API."""

from sandbox.meetings import control, endpoints

__all__ = ["control", "endpoints"]
