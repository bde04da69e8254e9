"""When Graph challenges a subscription with ``reauthorizationRequired``.

https://learn.microsoft.com/graph/change-notifications-lifecycle-events#reauthorizationrequired-notifications
Graph does not promise a cadence ("from once every few minutes ... to rarely"); the sandbox
challenges each subscription at a configurable interval, jittered per subscription.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from sandbox.notifications.delivery_log import DeliverySettings
from sandbox.notifications.subscription import Subscription


def next_challenge_time(
    subscription: Subscription, settings: DeliverySettings, now: datetime
) -> datetime | None:
    """Return when to challenge ``subscription`` next, or None when challenges are off."""
    interval = settings.reauthorization_interval
    if interval <= 0:
        return None
    # Seeded by the subscription and its challenge count: varied, yet repeatable.
    seed = f"{subscription.id}:{subscription.extras.get('challenges', 0)}"
    spread = settings.reauthorization_jitter * (2 * random.Random(seed).random() - 1)
    return now + timedelta(seconds=interval * (1 + spread))
