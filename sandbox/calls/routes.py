"""Register everything calls add to the sandbox: Graph routes, delegation, control API."""

from sandbox.calls import control, delegation, endpoints

__all__ = ["control", "delegation", "endpoints"]
