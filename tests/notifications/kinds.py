"""Resource kinds that tests register on the pipeline, recording the changes they receive."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import timedelta

from comms_portal.notifications import registry
from comms_portal.notifications.registry import Change, Handled, ResourceKind


@contextmanager
def app_only_kind(
    name: str,
    *,
    rich: bool,
    refuse: Callable[[Change], bool] = lambda change: False,
) -> Iterator[list[Change]]:
    """Register an app-only kind for the block; yield the changes its handler received.

    A change ``refuse`` picks makes the handler fail, as a bug in an app's handler would.
    """
    received: list[Change] = []

    def handle(changes: Sequence[Change]) -> Handled:
        if any(refuse(change) for change in changes):
            raise ValueError("this change cannot be handled")
        received.extend(changes)
        return Handled(changed=len(changes))

    registry.register(
        ResourceKind(
            name=name,
            handle_changes=handle,
            maintain=lambda: None,
            resync=lambda subscription: 0,
            max_lifetime=timedelta(days=1),
            renew_before=timedelta(hours=1),
            acts_as="app",
            include_resource_data=rich,
        )
    )
    try:
        yield received
    finally:
        registry.unregister(name)
