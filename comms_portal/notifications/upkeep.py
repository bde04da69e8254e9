"""Subscription upkeep for every registered kind, one kind's failure not stopping the others."""

from __future__ import annotations

import logging

from comms_portal.notifications import registry

logger = logging.getLogger(__name__)


def maintain_all() -> list[str]:
    """Run every kind's upkeep; return the names of the kinds whose upkeep failed."""
    failed: list[str] = []
    for kind in registry.all_kinds():
        try:
            kind.maintain()
        except Exception:
            logger.exception("subscription upkeep of %s failed", kind.name)
            failed.append(kind.name)
    return failed
