"""The slow half of the intake, run by the worker: verify, decrypt, hand changes to their kinds.

https://learn.microsoft.com/graph/change-notifications-with-resource-data
"""

from __future__ import annotations

import logging
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import redis
from django.conf import settings
from django.db import DatabaseError

from accounts.identity import AuthorityUnreachable, IdTokenRejected, signing_key
from comms_portal.graph import (
    ChangeNotification,
    ChangeNotificationCollection,
    DecryptionError,
    GraphTransportError,
    InvalidNotification,
    ServiceUnavailable,
    Throttled,
    ValidationTokenError,
    decrypt_resource_data,
    parse_notifications,
    verify_validation_tokens,
)
from comms_portal.metrics import counters
from comms_portal.metrics.counters import (
    NOTIFICATIONS_DROPPED,
    NOTIFICATIONS_HANDLED,
    UNKNOWN_KIND,
    Dropped,
)
from comms_portal.notifications import certificates, inbox, pending, registry
from comms_portal.notifications.models import Subscription
from comms_portal.notifications.registry import Change
from comms_portal.notifications.trust import Known, split_trusted

logger = logging.getLogger(__name__)


@dataclass
class ProcessReport:
    """What became of the notifications of one or more bodies."""

    # Verified changes handed to their kinds' handlers, and what those made of them.
    handed: int = 0
    changed: int = 0
    dropped: int = 0
    reasons: list[str] = field(default_factory=list)
    by_kind: dict[str, int] = field(default_factory=dict)
    # Bodies of subscriptions still being created: looked at again in a moment.
    deferred: list[str] = field(default_factory=list)
    # Drops by (kind, why), for the metrics: a fixed set of reasons, never the log's text.
    dropped_by: Counter[tuple[str, Dropped]] = field(default_factory=Counter)

    def drop(self, count: int, reason: str, *, why: Dropped, kind: str = UNKNOWN_KIND) -> None:
        """Count ``count`` notifications as dropped, and say why in the log."""
        self.dropped += count
        self.reasons.append(reason)
        self.dropped_by[(kind, why)] += count
        logger.warning("change notification dropped: %s", reason)

    def add(self, other: ProcessReport) -> None:
        """Add the counts of ``other`` (a body processed on its own) to this report."""
        self.handed += other.handed
        self.changed += other.changed
        self.dropped += other.dropped
        self.reasons.extend(other.reasons)
        self.deferred.extend(other.deferred)
        self.dropped_by.update(other.dropped_by)
        for kind, handed in other.by_kind.items():
            self.by_kind[kind] = self.by_kind.get(kind, 0) + handed

    def count(self) -> None:
        """Add what became of the notifications to the metrics."""
        for kind, handed in self.by_kind.items():
            counters.count(NOTIFICATIONS_HANDLED, kind, amount=handed)
        for (kind, why), dropped in self.dropped_by.items():
            counters.count(NOTIFICATIONS_DROPPED, kind, why, amount=dropped)


def _published_key(kid: str) -> Any:
    try:
        return signing_key(kid)
    except IdTokenRejected:
        return None


def parse(body: str, report: ProcessReport) -> ChangeNotificationCollection | None:
    """Parse one body; a malformed one is counted as dropped."""
    try:
        return parse_notifications(body)
    except InvalidNotification as error:
        report.drop(1, f"malformed body: {error}", why=Dropped.MALFORMED)
        return None


# Validation tokens that held, with when the earliest of them expires: Graph issues one per
# app and tenant and sends the same again with later bodies, and each check is an RSA
# signature verification. A token is trusted again only until it expires, and at most this long.
TRUSTED_TOKENS_SECONDS = 600.0
TRUSTED_TOKENS_MAX = 1_000
_trusted_tokens: dict[tuple[str, str, tuple[str, ...]], float] = {}


def tokens_hold(collection: ChangeNotificationCollection) -> str | None:
    """Check a body's validation tokens; return why they fail, or None when they hold."""
    tokens = tuple(str(token) for token in collection.validation_tokens)
    trusted_key = (settings.MICROSOFT_CLIENT_ID, ",".join(sorted(settings.ALLOWED_TENANTS)), tokens)
    now = time.time()
    if tokens and _trusted_tokens.get(trusted_key, 0.0) > now:
        return None
    try:
        claims = verify_validation_tokens(
            collection.validation_tokens,
            keys=_published_key,
            audience=settings.MICROSOFT_CLIENT_ID,
            allowed_tenant_ids=settings.ALLOWED_TENANTS,
        )
    except ValidationTokenError as error:
        return f"validation tokens refused: {type(error).__name__}: {error}"
    if len(_trusted_tokens) >= TRUSTED_TOKENS_MAX:
        _trusted_tokens.clear()
    earliest = min(claim.expires_at.timestamp() for claim in claims)
    _trusted_tokens[trusted_key] = min(earliest, now + TRUSTED_TOKENS_SECONDS)
    return None


def process_bodies(bodies: list[str]) -> ProcessReport:
    """Verify and decrypt the notifications of several bodies; hand each kind its changes.

    Each body is judged on its own (its clientStates, its validation tokens), but the batch
    shares one read of the subscriptions, one check per distinct set of validation tokens,
    and one call of each kind's handler.
    """
    report = ProcessReport()
    bodies = _hand_callbacks(bodies, report)
    parsed = [(body, collection) for body in bodies if (collection := parse(body, report))]
    subscription_ids = {item.subscription_id for _, c in parsed for item in c.value}
    by_id = {s.graph_id: s for s in Subscription.objects.filter(graph_id__in=subscription_ids)}
    known = {graph_id: Known(s.kind, s.client_state) for graph_id, s in by_id.items()}
    token_checks: dict[tuple[str, ...], str | None] = {}
    keys = certificates.private_keys_for(
        {
            item.encrypted_content.encryption_certificate_id
            for _, c in parsed
            for item in c.value
            if item.encrypted_content is not None
        }
    )
    changes: dict[str, list[Change]] = defaultdict(list)
    for body, collection in parsed:
        if _still_being_created(collection, by_id):
            report.deferred.append(body)
            continue
        ours, refused = split_trusted(collection, known, kind=None)
        if refused:
            report.drop(
                len(refused), "unknown subscription or wrong clientState", why=Dropped.UNTRUSTED
            )
        items = [collection.value[position] for position in ours]
        if not items:
            continue
        if any(_is_rich(by_id[item.subscription_id]) for item in items):
            # Graph repeats the same tokens across bodies; each distinct set is checked once.
            tokens = tuple(collection.validation_tokens)
            if tokens not in token_checks:
                token_checks[tokens] = tokens_hold(collection)
            failure = token_checks[tokens]
            if failure is not None:
                kind = by_id[items[0].subscription_id].kind
                report.drop(len(items), failure, why=Dropped.VALIDATION_TOKENS, kind=kind)
                continue
        for item in items:
            change = _change_of(item, by_id[item.subscription_id], keys, report)
            if change is not None:
                changes[change.subscription.kind].append(change)
    for kind_name, batch in changes.items():
        _hand_over(kind_name, batch, report)
    return report


def _hand_callbacks(bodies: list[str], report: ProcessReport) -> list[str]:
    """Hand callback kinds their bodies, in arrival order; return the change-notification ones."""
    others: list[str] = []
    callbacks: dict[str, list[str]] = defaultdict(list)
    for body in bodies:
        split = inbox.split_callback(body)
        if split is None:
            others.append(body)
        else:
            callbacks[split[0]].append(split[1])
    for kind_name, batch in callbacks.items():
        kind = registry.callback_kind(kind_name)
        if kind is None:
            reason = f"no callback kind {kind_name!r}"
            report.drop(len(batch), reason, why=Dropped.UNKNOWN_KIND, kind=kind_name)
            continue
        handled = kind.handle_bodies(batch)
        report.handed += len(batch)
        report.by_kind[kind_name] = report.by_kind.get(kind_name, 0) + len(batch)
        report.changed += handled.changed
        if handled.dropped:
            report.dropped += handled.dropped
            report.reasons.extend(handled.reasons)
            report.dropped_by[(kind_name, Dropped.HANDLER)] += handled.dropped
            for reason in handled.reasons:
                logger.warning("%s callback dropped by its handler: %s", kind_name, reason)
    return others


def _is_rich(subscription: Subscription) -> bool:
    """Tell whether Graph signs and encrypts this subscription's notifications."""
    return (
        registry.is_registered(subscription.kind)
        and registry.get(subscription.kind).include_resource_data
    )


def _still_being_created(
    collection: ChangeNotificationCollection, by_id: dict[str, Subscription]
) -> bool:
    """Tell whether a body belongs to a subscription whose record is not written yet."""
    return any(
        item.subscription_id not in by_id and pending.kind_expecting(item.client_state)
        for item in collection.value
    )


def _change_of(
    item: ChangeNotification,
    subscription: Subscription,
    keys: dict[str, bytes],
    report: ProcessReport,
) -> Change | None:
    kind = subscription.kind
    if item.is_lifecycle:
        report.drop(
            1, "a lifecycle event posted as a change", why=Dropped.LIFECYCLE_EVENT, kind=kind
        )
        return None
    if not registry.is_registered(kind):
        report.drop(1, f"no handler for kind {kind!r}", why=Dropped.UNKNOWN_KIND, kind=kind)
        return None
    document: dict[str, Any] | None = None
    if item.encrypted_content is not None:
        try:
            document = decrypt_resource_data(item.encrypted_content, private_keys=keys)
        except DecryptionError as error:
            reason = f"encrypted content refused: {type(error).__name__}: {error}"
            report.drop(1, reason, why=Dropped.DECRYPTION, kind=kind)
            return None
    elif _is_rich(subscription):
        # Graph encrypts every change of a rich subscription; one without is not Graph's.
        reason = "a rich subscription's notification without encrypted content"
        report.drop(1, reason, why=Dropped.NOT_ENCRYPTED, kind=kind)
        return None
    return Change(
        subscription=subscription,
        change_type=item.change_type or "",
        resource=item.resource or "",
        resource_data=document,
        resource_id=item.resource_data.id if item.resource_data else None,
        tenant_id=item.tenant_id,
    )


def _hand_over(kind_name: str, batch: list[Change], report: ProcessReport) -> None:
    handled = registry.get(kind_name).handle_changes(batch)
    report.handed += len(batch)
    report.by_kind[kind_name] = report.by_kind.get(kind_name, 0) + len(batch)
    report.changed += handled.changed
    if handled.dropped:
        report.dropped += handled.dropped
        report.reasons.extend(handled.reasons)
        report.dropped_by[(kind_name, Dropped.HANDLER)] += handled.dropped
        for reason in handled.reasons:
            logger.warning("%s change dropped by its handler: %s", kind_name, reason)


# Faults that pass: the database or Redis away, the authority's keys or Graph out of reach.
# A batch that meets one is kept whole and tried again; anything else is the body's own fault.
PASSING_FAULTS: tuple[type[BaseException], ...] = (
    DatabaseError,
    redis.RedisError,
    AuthorityUnreachable,
    Throttled,
    ServiceUnavailable,
    GraphTransportError,
)
# Bodies whose subscription is being created are looked at again after this long.
DEFER_SECONDS = 1.0


def handle_batch(bodies: list[str]) -> ProcessReport:
    """Process a batch as the drain does: keep it on a passing fault, isolate a bad body.

    A passing fault raises :class:`inbox.Interrupted` (the batch stays taken for a retry).
    Any other failure is retried body by body; a body that fails on its own is set aside
    with the reason, so one bad body never holds up the others and nothing vanishes unsaid.
    """
    try:
        report = process_bodies(bodies)
    except PASSING_FAULTS as error:
        raise inbox.Interrupted(error) from error
    except Exception:
        logger.exception("a batch of %d notification bodies failed; one by one", len(bodies))
        report = ProcessReport()
        for body in bodies:
            try:
                single = process_bodies([body])
            except PASSING_FAULTS as error:
                raise inbox.Interrupted(error) from error
            except Exception as error:
                inbox.bury(body, f"processing failed: {type(error).__name__}: {error}")
                report.drop(1, f"body set aside: {type(error).__name__}", why=Dropped.SET_ASIDE)
                continue
            report.add(single)
    inbox.defer(report.deferred, seconds=DEFER_SECONDS)
    # Counted once the batch is done with: a batch kept for a retry is counted when retried.
    report.count()
    return report


def warm_up() -> None:
    """Make ready what a worker process's first drain would otherwise do while callers wait.

    Its Redis connection and scripts, the private keys, and the code of a batch's path
    (imports, each kind's first use); a failure is logged and the first drain does it.
    """
    started = time.monotonic()
    try:
        inbox.warm_up_drain()
        certificates.preload_keys()
        process_bodies([])
    except Exception as error:
        logger.warning("drain: not made ready at start: %s: %s", type(error).__name__, error)
    else:
        logger.info("drain: ready in %.0f ms", (time.monotonic() - started) * 1000)


def drain_inbox(
    drainer_id: str,
    *,
    hand_over: Callable[[], object],
    hold_on_interrupt_seconds: float = 0.0,
) -> int:
    """Process the bodies the intake queued, in batches, until none is left; return how many.

    Raises :class:`inbox.Interrupted` on a passing fault, the batch kept for the next try.
    """
    return inbox.drain(
        drainer_id,
        handle_batch,
        hand_over=hand_over,
        hold_on_interrupt_seconds=hold_on_interrupt_seconds,
    )
