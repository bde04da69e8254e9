"""The Graph client's settings, built from the portal's configuration."""

from __future__ import annotations

from django.conf import settings

from comms_portal.graph import GraphSettings, RetryPolicy


def portal_graph_settings(*, beta: bool = False) -> GraphSettings:
    """Return where Graph is and how to reach it, per GRAPH_* settings (beta if asked)."""
    return GraphSettings(
        base_url=settings.GRAPH_BETA_BASE_URL if beta else settings.GRAPH_BASE_URL,
        verify=settings.GRAPH_CA_BUNDLE or True,
        read_timeout=float(settings.GRAPH_TIMEOUT_SECONDS),
        write_timeout=float(settings.GRAPH_TIMEOUT_SECONDS),
        retry=RetryPolicy(max_total_wait=float(settings.GRAPH_MAX_RETRY_WAIT_SECONDS)),
    )
