"""The webhook's fast path: read a notification body, trust only our subscriptions, enqueue.

Graph wants an answer within 3 seconds
(https://learn.microsoft.com/graph/change-notifications-delivery-webhooks), so nothing slow
happens here: no decryption, no Graph call, no database write. A change-notification body
is appended to the inbox (``presence.inbox``) that a drain task empties in batches; a
lifecycle body goes to a task of its own. The worker checks every item again against the
database before trusting it.

The intake is async: subscriptions' clientState secrets are read from a short-lived Redis
copy, and the broker is reached from a worker thread only when a drain must be requested,
so a burst of notifications does not queue behind Django's one thread for synchronous code.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Literal

from asgiref.sync import sync_to_async
from django.conf import settings

from comms_portal.celery import app as celery_app
from comms_portal.graph import (
    ChangeNotificationCollection,
    InvalidNotification,
    client_state_matches,
    parse_notifications,
)
from comms_portal.redis_client import get_async_redis
from presence import inbox
from presence.models import PresenceSubscription

logger = logging.getLogger(__name__)

Channel = Literal["change", "lifecycle"]
LIFECYCLE_TASK = "presence.process_lifecycle"
DRAIN_TASK = "presence.drain_notifications"


@dataclass(frozen=True)
class Intake:
    """How many notifications of a body are ours (and so were enqueued) and how many not."""

    accepted: int
    refused: int


CLIENT_STATE_CACHE_PREFIX = "portal:presence-sub-client-state:"
# How long the webhook trusts its copy of a subscription's clientState; an unknown id is
# remembered only briefly, since its row may be committed a moment after Graph's first post.
CLIENT_STATE_CACHE_SECONDS = 300
UNKNOWN_CACHE_SECONDS = 10
_UNKNOWN = b"-"
# Each process also keeps the secrets it has read for a moment, so most bodies need no Redis
# read before the one write that queues them. (The worker checks every item again.)
LOCAL_CACHE_SECONDS = 30.0
LOCAL_CACHE_MAX = 10_000
_local: dict[str, tuple[str, float]] = {}


def _client_states(subscription_ids: set[str]) -> dict[str, str]:
    return dict(
        PresenceSubscription.objects.filter(graph_id__in=subscription_ids).values_list(
            "graph_id", "client_state"
        )
    )


def trusted_items(
    collection: ChangeNotificationCollection,
) -> tuple[list[int], list[int]]:
    """Split a collection's positions into ours (known subscription, right clientState) and not."""
    return split_trusted(
        collection, _client_states({item.subscription_id for item in collection.value})
    )


async def _cached_client_states(subscription_ids: set[str]) -> dict[str, str]:
    now = time.monotonic()
    known = {i: hit[0] for i in subscription_ids if (hit := _local.get(i)) and hit[1] > now}
    missing = subscription_ids - known.keys()
    if missing:
        fetched = await _shared_client_states(missing)
        if len(_local) > LOCAL_CACHE_MAX:
            _local.clear()
        for subscription_id, secret in fetched.items():
            _local[subscription_id] = (secret, now + LOCAL_CACHE_SECONDS)
        known.update(fetched)
    return known


async def _shared_client_states(subscription_ids: set[str]) -> dict[str, str]:
    redis = get_async_redis()
    ids = sorted(subscription_ids)
    cached = await redis.mget([CLIENT_STATE_CACHE_PREFIX + i for i in ids])
    found = {i: value.decode() for i, value in zip(ids, cached, strict=True) if value}
    missing = {i for i, value in zip(ids, cached, strict=True) if value is None}
    if missing:
        # Rare (the copy lasts minutes), so it may take its turn on Django's sync thread,
        # where database connections belong.
        fresh = await sync_to_async(_client_states)(missing)
        pipeline = redis.pipeline(transaction=False)
        for subscription_id in missing:
            secret = fresh.get(subscription_id)
            if secret is None:
                stored, lifetime = _UNKNOWN, UNKNOWN_CACHE_SECONDS
            else:
                stored, lifetime = secret.encode(), CLIENT_STATE_CACHE_SECONDS
            pipeline.set(CLIENT_STATE_CACHE_PREFIX + subscription_id, stored, ex=lifetime)
        await pipeline.execute()
        found.update({i: fresh[i] for i in missing if i in fresh})
    return {i: secret for i, secret in found.items() if secret.encode() != _UNKNOWN}


def split_trusted(
    collection: ChangeNotificationCollection, secrets: dict[str, str]
) -> tuple[list[int], list[int]]:
    ours: list[int] = []
    refused: list[int] = []
    for position, item in enumerate(collection.value):
        expected = secrets.get(item.subscription_id)
        if expected is not None and client_state_matches(expected, item.client_state):
            ours.append(position)
        else:
            refused.append(position)
    return ours, refused


async def accept(collection: ChangeNotificationCollection, body: bytes, channel: Channel) -> Intake:
    """Enqueue the raw body when it holds notifications of ours; log the rest."""
    subscription_ids = {item.subscription_id for item in collection.value}
    ours, refused = split_trusted(collection, await _cached_client_states(subscription_ids))
    if refused:
        unknown = sorted({collection.value[i].subscription_id for i in refused})
        logger.warning(
            "webhook: %d %s notification(s) refused (unknown subscription or wrong "
            "clientState) for subscription ids %s",
            len(refused),
            channel,
            unknown[:5],
        )
    if not ours:
        return Intake(accepted=0, refused=len(refused))
    send = sync_to_async(celery_app.send_task, thread_sensitive=False)
    if channel == "lifecycle":
        # Rare, and each may lead to Graph calls: a task of its own.
        await send(LIFECYCLE_TASK, args=[body.decode("utf-8", "replace")])
    elif await inbox.append(body):
        # A Celery message only when no drain is pending: under load, none per body.
        await send(DRAIN_TASK)
    return Intake(accepted=len(ours), refused=len(refused))


# Graph's validation tokens are short opaque strings; anything longer is not one of them.
MAX_VALIDATION_TOKEN_LENGTH = 4096
PLAIN_TEXT = "text/plain; charset=utf-8"


@dataclass(frozen=True)
class Answer:
    """One answer of the webhook, whichever server code sends it (Django view or lean ASGI)."""

    status: int
    text: str = ""
    headers: tuple[tuple[str, str], ...] = ()


def validation_echo(token: str) -> Answer:
    """Answer Graph's handshake: 200, text/plain, the token exactly as decoded."""
    if len(token) > MAX_VALIDATION_TOKEN_LENGTH:
        return Answer(400, "validationToken too long")
    # The token is echoed verbatim; never let a browser render it as anything else.
    return Answer(200, token, (("X-Content-Type-Options", "nosniff"),))


def declared_length_refused(declared: str | None) -> Answer | None:
    """Refuse a body whose declared length is missing a number or beyond the limit."""
    text = declared or "0"
    if not text.isdigit() or int(text) > settings.WEBHOOK_MAX_BODY_BYTES:
        return Answer(413, "body too large")
    return None


async def answer_body(body: bytes, channel: Channel) -> Answer:
    """Check a posted body, enqueue the notifications of ours, and say what to answer."""
    if len(body) > settings.WEBHOOK_MAX_BODY_BYTES:
        return Answer(413, "body too large")
    try:
        collection = parse_notifications(body)
    except InvalidNotification as error:
        logger.warning("webhook: malformed %s body refused: %s", channel, error)
        return Answer(400, str(error))
    # Notifications that are not ours still get 202: Graph would otherwise retry them for
    # hours, and a forger learns nothing. They are logged and dropped.
    await accept(collection, body, channel)
    return Answer(202)
