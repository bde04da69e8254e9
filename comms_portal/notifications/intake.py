"""The intake's fast path: read a posted body, trust only our subscriptions, enqueue.

Graph wants an answer within 3 seconds
(https://learn.microsoft.com/graph/change-notifications-delivery-webhooks), so nothing slow
happens here: no decryption, no Graph call, no database write. A change-notification body
is appended to the inbox (``inbox``) that a drain task empties in batches; a lifecycle body
goes to a task of its own. The worker checks every item again against the database before
trusting it.

Every resource kind posts to an intake URL of its own (``<kind>``) and every lifecycle event
to one URL; all share this code. Subscriptions' kinds and clientStates are read from a
short-lived Redis copy, and the broker is reached from a worker thread only when a drain must
be requested, so a burst of notifications does not queue behind Django's one thread for
synchronous code.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import redis
from asgiref.sync import sync_to_async
from django.conf import settings

from comms_portal.graph import (
    ChangeNotificationCollection,
    InvalidNotification,
    parse_notifications,
)
from comms_portal.metrics import counters
from comms_portal.metrics.counters import NOTIFICATIONS_ACCEPTED, NOTIFICATIONS_REFUSED, Refused
from comms_portal.notifications import inbox, pending, registry, tasks, trust
from comms_portal.notifications.trust import Known, known_subscriptions, split_trusted
from comms_portal.redis_client import get_async_redis

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Endpoint:
    """Which intake URL a body came to: one kind's changes, or lifecycle events (no kind)."""

    kind: str | None
    # A callback kind's endpoint (a bearer token proves each body), not a subscription's.
    callback: bool = False

    @property
    def label(self) -> str:
        """Name the endpoint in the log."""
        return "lifecycle" if self.kind is None else self.kind


LIFECYCLE = Endpoint(kind=None)


@dataclass(frozen=True)
class Intake:
    """How many notifications of a body are ours (and so were enqueued) and how many not."""

    accepted: int
    refused: int


# Each process also keeps what it has read for a moment, so most bodies need no Redis read
# before the one write that queues them. (The worker checks every item again.)
LOCAL_CACHE_SECONDS = 30.0
LOCAL_CACHE_MAX = 10_000
_local: dict[str, tuple[Known, float]] = {}


async def _cached_known(subscription_ids: set[str]) -> dict[str, Known]:
    now = time.monotonic()
    known = {i: hit[0] for i in subscription_ids if (hit := _local.get(i)) and hit[1] > now}
    missing = subscription_ids - known.keys()
    if missing:
        fetched = await _shared_known(missing)
        if len(_local) > LOCAL_CACHE_MAX:
            _local.clear()
        for subscription_id, found in fetched.items():
            _local[subscription_id] = (found, now + LOCAL_CACHE_SECONDS)
        known.update(fetched)
    return known


async def _shared_known(subscription_ids: set[str]) -> dict[str, Known]:
    redis = get_async_redis()
    ids = sorted(subscription_ids)
    cached = await redis.mget([trust.CACHE_PREFIX + i for i in ids])
    found: dict[str, Known] = {}
    missing: set[str] = set()
    for subscription_id, raw in zip(ids, cached, strict=True):
        if raw is None:
            missing.add(subscription_id)
        elif (decoded := trust.decode(raw)) is not None:
            found[subscription_id] = decoded
    if missing:
        # Rare (the copy lasts minutes), so it may take its turn on Django's sync thread,
        # where database connections belong.
        fresh = await sync_to_async(known_subscriptions)(missing)
        pipeline = redis.pipeline(transaction=False)
        for subscription_id in missing:
            key = trust.CACHE_PREFIX + subscription_id
            hit = fresh.get(subscription_id)
            if hit is None:
                pipeline.set(key, trust.UNKNOWN, ex=trust.UNKNOWN_CACHE_SECONDS)
            else:
                pipeline.set(key, trust.encode(hit), ex=trust.CACHE_SECONDS)
        await pipeline.execute()
        found.update(fresh)
    return found


async def _with_pending(
    collection: ChangeNotificationCollection, known: dict[str, Known]
) -> dict[str, Known]:
    """Add subscriptions under way: their clientState is already ours, their id not yet."""
    unknown_states = {
        item.client_state or "" for item in collection.value if item.subscription_id not in known
    }
    if not unknown_states:
        return known
    expecting = await pending.kinds_expecting(unknown_states)
    if not expecting:
        return known
    widened = dict(known)
    for item in collection.value:
        kind = expecting.get(item.client_state or "")
        if item.subscription_id not in widened and kind is not None:
            widened[item.subscription_id] = Known(kind, item.client_state or "")
    return widened


async def accept(
    collection: ChangeNotificationCollection, body: bytes, endpoint: Endpoint
) -> Intake:
    """Enqueue the raw body when it holds notifications of ours; log the rest."""
    subscription_ids = {item.subscription_id for item in collection.value}
    known = await _with_pending(collection, await _cached_known(subscription_ids))
    ours, refused = split_trusted(collection, known, kind=endpoint.kind)
    if refused:
        unknown = sorted({collection.value[i].subscription_id for i in refused})
        logger.warning(
            "notification intake: %d %s notification(s) refused (unknown subscription, another "
            "kind's, or wrong clientState) for subscription ids %s",
            len(refused),
            endpoint.label,
            unknown[:5],
        )
    if not ours:
        # No Redis write of ours to ride on: counted in memory, sent within seconds.
        counters.count(
            NOTIFICATIONS_REFUSED, endpoint.label, Refused.UNTRUSTED, amount=len(refused)
        )
        return Intake(accepted=0, refused=len(refused))
    if endpoint.kind is None:
        # Rare, and each may lead to Graph calls: a task of its own.
        await _enqueue(tasks.process_lifecycle.delay, body.decode("utf-8", "replace"))
        counters.count(NOTIFICATIONS_ACCEPTED, endpoint.label, amount=len(ours))
        counters.count(
            NOTIFICATIONS_REFUSED, endpoint.label, Refused.UNTRUSTED, amount=len(refused)
        )
        return Intake(accepted=len(ours), refused=len(refused))
    # Counted by the append script itself, in the same round trip.
    appended = await inbox.append(
        body, kind=endpoint.kind, accepted=len(ours), untrusted=len(refused)
    )
    if appended is inbox.Appended.FULL:
        raise InboxFull
    if appended is inbox.Appended.DRAIN_NEEDED:
        # A Celery message only when no drain is pending: under load, none per body.
        await _enqueue(tasks.drain_notifications.delay)
    return Intake(accepted=len(ours), refused=len(refused))


class InboxFull(Exception):
    """The inbox holds as many bodies as it may; Graph must send this one again later."""


async def _enqueue(delay: Callable[..., object], *args: object) -> None:
    await sync_to_async(delay, thread_sensitive=False)(*args)


async def warm_up() -> None:
    """Open, as a web process starts, what the first body would otherwise open as it waits.

    The Redis connection and script, the broker connection and the thread that requests a
    drain, and each callback kind's own (the calling platform's keys). Nothing here is
    needed: a part that fails is logged, and the first body makes it ready as before.
    """
    started = time.monotonic()
    parts: list[tuple[str, Callable[[], Awaitable[object]]]] = [
        ("redis", inbox.warm_up),
        ("broker", sync_to_async(_open_broker, thread_sensitive=False)),
    ]
    parts += [
        (kind.name, kind.warm_up)
        for kind in registry.all_callback_kinds()
        if kind.warm_up is not None
    ]
    for name, part in parts:
        try:
            await part()
        except Exception as error:
            logger.warning(
                "intake: %s not made ready at start: %s: %s", name, type(error).__name__, error
            )
    logger.info("intake: ready in %.0f ms", (time.monotonic() - started) * 1000)


def _open_broker() -> None:
    # The producer pool ``delay`` takes from: its connection stays open once returned. The
    # task queue declared, as a first publish would do.
    app = tasks.drain_notifications.app
    with app.producer_or_acquire() as producer:
        producer.connection.ensure_connection(max_retries=1)
        producer.maybe_declare(app.amqp.queues[app.conf.task_default_queue])


# Graph's validation tokens are short opaque strings; anything longer is not one of them.
MAX_VALIDATION_TOKEN_LENGTH = 4096
PLAIN_TEXT = "text/plain; charset=utf-8"
INBOX_FULL_RETRY_SECONDS = 30


@dataclass(frozen=True)
class Answer:
    """One answer of the intake, whichever server code sends it (Django view or lean ASGI)."""

    status: int
    text: str = ""
    headers: tuple[tuple[str, str], ...] = ()


def validation_echo(token: str) -> Answer:
    """Answer Graph's handshake: 200, text/plain, the token exactly as decoded."""
    if len(token) > MAX_VALIDATION_TOKEN_LENGTH:
        return Answer(400, "validationToken too long")
    # The token is echoed verbatim; never let a browser render it as anything else.
    return Answer(200, token, (("X-Content-Type-Options", "nosniff"),))


def too_large(endpoint: Endpoint) -> Answer:
    """Refuse a body beyond ``WEBHOOK_MAX_BODY_BYTES`` (counted, as every refusal is)."""
    counters.count(NOTIFICATIONS_REFUSED, endpoint.label, Refused.TOO_LARGE)
    return Answer(413, "body too large")


def declared_length_refused(declared: str | None, endpoint: Endpoint) -> Answer | None:
    """Refuse a body whose declared length is missing a number or beyond the limit."""
    text = declared or "0"
    if not text.isdigit() or int(text) > settings.WEBHOOK_MAX_BODY_BYTES:
        return too_large(endpoint)
    return None


async def answer_callback(body: bytes, endpoint: Endpoint, authorization: str | None) -> Answer:
    """Check a callback's bearer token and shape, queue it, and say what to answer."""
    kind = registry.callback_kind(endpoint.kind or "")
    if kind is None:
        return Answer(404, "no such callback kind")
    if len(body) > settings.WEBHOOK_MAX_BODY_BYTES:
        return too_large(endpoint)
    refused = await kind.authenticate(authorization, body)
    if refused is not None:
        logger.warning("callback intake: %s callback refused: %s", endpoint.label, refused)
        counters.count(NOTIFICATIONS_REFUSED, endpoint.label, Refused.UNTRUSTED)
        return Answer(401, "unauthorized", (("WWW-Authenticate", 'Bearer error="invalid_token"'),))
    malformed = kind.malformed(body)
    if malformed is not None:
        logger.warning("callback intake: malformed %s body refused: %s", endpoint.label, malformed)
        counters.count(NOTIFICATIONS_REFUSED, endpoint.label, Refused.MALFORMED)
        return Answer(400, malformed)
    once_key = kind.replay_key(authorization, body) if kind.replay_key is not None else None
    try:
        appended = await inbox.append(
            inbox.callback_body(kind.name, body),
            kind=kind.name,
            accepted=1,
            once_key=once_key,
            once_seconds=kind.replay_seconds,
        )
    except redis.RedisError as error:
        # Nothing was queued (the script runs whole or not at all): the platform sends it again.
        logger.error("callback intake: %s body not queued: %s", endpoint.label, error)
        return Answer(503, "try again", (("Retry-After", "1"),))
    if appended is inbox.Appended.REPLAYED:
        logger.warning(
            "callback intake: %s callback refused: replayed: this token and body were taken "
            "already",
            endpoint.label,
        )
        counters.count(NOTIFICATIONS_REFUSED, endpoint.label, Refused.UNTRUSTED)
        return Answer(401, "unauthorized", (("WWW-Authenticate", 'Bearer error="invalid_token"'),))
    if appended is inbox.Appended.FULL:
        logger.error("callback intake: inbox full; %s body refused with 503", endpoint.label)
        if kind.not_queued is not None:
            await kind.not_queued(authorization, body)
        return Answer(503, "inbox full", (("Retry-After", str(INBOX_FULL_RETRY_SECONDS)),))
    if appended is inbox.Appended.DRAIN_NEEDED:
        try:
            await _enqueue(tasks.drain_notifications.delay)
        except Exception:
            # The body is queued: a refusal now would make its sender's next try a replay.
            # The beat's upkeep drain takes it once the drain flag lapses.
            logger.exception("callback intake: no drain requested for a queued body")
    return Answer(202)


async def answer_body(body: bytes, endpoint: Endpoint) -> Answer:
    """Check a posted body, enqueue the notifications of ours, and say what to answer."""
    if len(body) > settings.WEBHOOK_MAX_BODY_BYTES:
        return too_large(endpoint)
    try:
        collection = parse_notifications(body)
    except InvalidNotification as error:
        logger.warning("notification intake: malformed %s body refused: %s", endpoint.label, error)
        counters.count(NOTIFICATIONS_REFUSED, endpoint.label, Refused.MALFORMED)
        return Answer(400, str(error))
    # Notifications that are not ours still get 202: Graph would otherwise retry them for
    # hours, and a forger learns nothing. They are logged and dropped.
    try:
        await accept(collection, body, endpoint)
    except InboxFull:
        # Not kept: a 5xx makes Graph deliver it again later (it retries for hours).
        logger.error("notification intake: inbox full; %s body refused with 503", endpoint.label)
        return Answer(503, "inbox full", (("Retry-After", str(INBOX_FULL_RETRY_SECONDS)),))
    return Answer(202)
