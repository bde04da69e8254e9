"""Which notifications of a body are ours: a subscription we hold, of the kind, its clientState."""

# https://learn.microsoft.com/graph/change-notifications-delivery-webhooks

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from comms_portal.graph import ChangeNotificationCollection, client_state_matches
from comms_portal.notifications.models import Subscription
from comms_portal.redis_client import get_redis

# The intake's shared copy of each subscription's kind and clientState, by Graph id.
CACHE_PREFIX = "portal:notifications:subscription:"
CACHE_SECONDS = 300
# Cached for an id no subscription has; short, since the record may be a moment away.
UNKNOWN = b"-"
UNKNOWN_CACHE_SECONDS = 10


@dataclass(frozen=True)
class Known:
    """What a notification is checked against: its subscription's kind and clientState."""

    kind: str
    client_state: str


def encode(known: Known) -> bytes:
    """Return the cached form of a subscription's kind and clientState."""
    return f"{known.kind}\n{known.client_state}".encode()


def decode(raw: bytes) -> Known | None:
    """Read a cached entry; None for an id known to have no subscription."""
    if raw == UNKNOWN:
        return None
    kind, _, secret = raw.decode().partition("\n")
    return Known(kind, secret)


def cache(subscription: Subscription) -> None:
    """Give the intake the kind and clientState of a subscription just recorded."""
    known = Known(subscription.kind, subscription.client_state)
    get_redis().set(CACHE_PREFIX + subscription.graph_id, encode(known), ex=CACHE_SECONDS)


def uncache(graph_id: str) -> None:
    """Drop the intake's copy of a subscription that ended."""
    get_redis().delete(CACHE_PREFIX + graph_id)


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
