"""The webhook's fast path: read a notification body, trust only our subscriptions, enqueue.

Graph wants an answer within 3 seconds
(https://learn.microsoft.com/graph/change-notifications-delivery-webhooks), so nothing slow
happens here: no decryption, no Graph call, no write. The raw body goes to a Celery task.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Literal

from comms_portal.celery import app as celery_app
from comms_portal.graph import ChangeNotificationCollection, client_state_matches
from presence.models import PresenceSubscription

logger = logging.getLogger(__name__)

Channel = Literal["change", "lifecycle"]
TASK_FOR: dict[Channel, str] = {
    "change": "presence.process_notifications",
    "lifecycle": "presence.process_lifecycle",
}


@dataclass(frozen=True)
class Intake:
    """How many notifications of a body are ours (and so were enqueued) and how many not."""

    accepted: int
    refused: int


def trusted_items(
    collection: ChangeNotificationCollection,
) -> tuple[list[int], list[int]]:
    """Split a collection's positions into ours (known subscription, right clientState) and not."""
    wanted = {item.subscription_id for item in collection.value}
    secrets = dict(
        PresenceSubscription.objects.filter(graph_id__in=wanted).values_list(
            "graph_id", "client_state"
        )
    )
    ours: list[int] = []
    refused: list[int] = []
    for position, item in enumerate(collection.value):
        expected = secrets.get(item.subscription_id)
        if expected is not None and client_state_matches(expected, item.client_state):
            ours.append(position)
        else:
            refused.append(position)
    return ours, refused


def accept(collection: ChangeNotificationCollection, body: bytes, channel: Channel) -> Intake:
    """Enqueue the raw body when it holds notifications of ours; log the rest."""
    ours, refused = trusted_items(collection)
    if refused:
        unknown = sorted({collection.value[i].subscription_id for i in refused})
        logger.warning(
            "webhook: %d %s notification(s) refused (unknown subscription or wrong "
            "clientState) for subscription ids %s",
            len(refused),
            channel,
            unknown[:5],
        )
    if ours:
        celery_app.send_task(TASK_FOR[channel], args=[body.decode("utf-8", "replace")])
    return Intake(accepted=len(ours), refused=len(refused))
