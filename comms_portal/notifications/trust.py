"""Which notifications of a body are ours: a subscription we hold, of the kind, its clientState."""

# https://learn.microsoft.com/graph/change-notifications-delivery-webhooks

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from comms_portal.graph import ChangeNotificationCollection, client_state_matches
from comms_portal.notifications.models import Subscription


@dataclass(frozen=True)
class Known:
    """What a notification is checked against: its subscription's kind and clientState."""

    kind: str
    client_state: str


def known_subscriptions(subscription_ids: set[str]) -> dict[str, Known]:
    """Read the kind and clientState of the subscriptions we hold among ``subscription_ids``."""
    rows = Subscription.objects.filter(graph_id__in=subscription_ids).values_list(
        "graph_id", "kind", "client_state"
    )
    return {graph_id: Known(kind, secret) for graph_id, kind, secret in rows}


def split_trusted(
    collection: ChangeNotificationCollection,
    known: Mapping[str, Known],
    *,
    kind: str | None,
) -> tuple[list[int], list[int]]:
    """Split a collection's positions into ours and not.

    Ours: a subscription we hold, the right clientState and, when ``kind`` is given (the
    intake of one kind), a subscription of that kind.
    """
    ours: list[int] = []
    refused: list[int] = []
    for position, item in enumerate(collection.value):
        expected = known.get(item.subscription_id)
        if (
            expected is not None
            and (kind is None or expected.kind == kind)
            and client_state_matches(expected.client_state, item.client_state)
        ):
            ours.append(position)
        else:
            refused.append(position)
    return ours, refused
