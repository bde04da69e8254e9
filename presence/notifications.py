"""The slow half of the webhook, run in a task: verify, decrypt, record; answer lifecycle events."""

# https://learn.microsoft.com/graph/change-notifications-with-resource-data
# https://learn.microsoft.com/graph/change-notifications-lifecycle-events

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings

from accounts.identity import IdTokenRejected, signing_key
from comms_portal.celery import app as celery_app
from comms_portal.graph import (
    ChangeNotification,
    ChangeNotificationCollection,
    DecryptionError,
    InvalidNotification,
    InvalidResponse,
    ValidationTokenError,
    decrypt_resource_data,
    parse_notifications,
    verify_validation_tokens,
)
from comms_portal.graph.presence import presence_from_resource_data
from presence import certificates, inbox, polling, subscriptions
from presence.models import PresenceSubscription
from presence.services import presence_from_graph, record_presence
from presence.store import PresenceState
from presence.webhook import split_trusted, trusted_items

logger = logging.getLogger(__name__)

DRAIN_TASK = "presence.drain_notifications"
RETRY_TASK = "presence.process_notifications"


@dataclass
class ProcessReport:
    """What became of one notification body."""

    recorded: int = 0
    changed: int = 0
    dropped: int = 0
    to_poll: list[str] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)

    def drop(self, count: int, reason: str) -> None:
        """Count ``count`` notifications as dropped, and say why in the log."""
        self.dropped += count
        self.reasons.append(reason)
        logger.warning("presence notification dropped: %s", reason)


def _published_key(kid: str) -> Any:
    try:
        return signing_key(kid)
    except IdTokenRejected:
        return None


def _parse(body: str, report: ProcessReport) -> ChangeNotificationCollection | None:
    try:
        return parse_notifications(body)
    except InvalidNotification as error:
        report.drop(1, f"malformed body: {error}")
        return None


def _trusted(
    body: str, report: ProcessReport
) -> tuple[ChangeNotificationCollection | None, list[ChangeNotification]]:
    collection = _parse(body, report)
    if collection is None:
        return None, []
    ours, refused = trusted_items(collection)
    if refused:
        report.drop(len(refused), "unknown subscription or wrong clientState")
    return collection, [collection.value[position] for position in ours]


def _check_tokens(
    collection: ChangeNotificationCollection, items: list[ChangeNotification], report: ProcessReport
) -> bool:
    if not any(item.encrypted_content is not None for item in items):
        return True
    try:
        verify_validation_tokens(
            collection.validation_tokens,
            keys=_published_key,
            audience=settings.MICROSOFT_CLIENT_ID,
            allowed_tenant_ids=settings.ALLOWED_TENANTS,
        )
    except ValidationTokenError as error:
        report.drop(len(items), f"validation tokens refused: {type(error).__name__}: {error}")
        return False
    return True


def _covers(subscription: PresenceSubscription, person_id: str) -> bool:
    # The lower-cased ids are kept on the instance: a batch asks about the same subscription
    # (up to 650 ids) once per notification.
    covered: frozenset[str] | None = getattr(subscription, "_covered_ids", None)
    if covered is None:
        covered = frozenset(p.lower() for p in subscription.person_ids)
        subscription._covered_ids = covered  # type: ignore[attr-defined]
    return person_id.lower() in covered


def process_notifications(body: str) -> ProcessReport:
    """Verify, decrypt and record the presence changes in a webhook body."""
    return process_notification_bodies([body])


def process_notification_bodies(bodies: list[str]) -> ProcessReport:
    """Verify, decrypt and record the presence changes of several webhook bodies at once.

    Each body is judged on its own (its clientStates, its validation tokens), but the batch
    shares one read of the subscriptions, one check per distinct set of validation tokens,
    one write to the presence store and one publish.
    """
    report = ProcessReport()
    collections = [(collection, body) for body in bodies if (collection := _parse(body, report))]
    subscription_ids = {item.subscription_id for c, _ in collections for item in c.value}
    by_id = {
        s.graph_id: s for s in PresenceSubscription.objects.filter(graph_id__in=subscription_ids)
    }
    secrets = {graph_id: s.client_state for graph_id, s in by_id.items()}
    token_checks: dict[tuple[str, ...], bool] = {}
    keys = certificates.private_keys()
    states: list[PresenceState] = []
    observed_at = time.time()
    for collection, _body in collections:
        ours, refused = split_trusted(collection, secrets)
        if refused:
            report.drop(len(refused), "unknown subscription or wrong clientState")
        items = [collection.value[position] for position in ours]
        if not items:
            continue
        if any(item.encrypted_content is not None for item in items):
            # Graph repeats the same tokens across bodies; each distinct set is checked once.
            tokens = tuple(collection.validation_tokens)
            if tokens not in token_checks:
                token_checks[tokens] = _check_tokens(collection, items, report)
            elif not token_checks[tokens]:
                report.drop(len(items), "validation tokens refused")
            if not token_checks[tokens]:
                continue
        for item in items:
            state = _state_of(item, by_id.get(item.subscription_id), keys, report, observed_at)
            if state is not None:
                states.append(state)
    report.recorded = len(states)
    report.changed = len(record_presence(states))
    if report.to_poll:
        polling.poll_people(report.to_poll)
    return report


def _state_of(
    item: ChangeNotification,
    subscription: PresenceSubscription | None,
    keys: dict[str, bytes],
    report: ProcessReport,
    observed_at: float,
) -> PresenceState | None:
    if subscription is None or item.is_lifecycle:
        report.drop(1, "not a change of a subscription we hold")
        return None
    if item.encrypted_content is None:
        # A basic notification says only who changed: read them.
        person_id = item.resource_data.id if item.resource_data else None
        if person_id and _covers(subscription, person_id):
            report.to_poll.append(person_id)
        return None
    try:
        document = decrypt_resource_data(item.encrypted_content, private_keys=keys)
        presence = presence_from_resource_data(document)
    except (DecryptionError, InvalidResponse) as error:
        report.drop(1, f"encrypted content refused: {type(error).__name__}: {error}")
        return None
    if not _covers(subscription, presence.id):
        report.drop(1, f"presence of {presence.id} is outside its subscription")
        return None
    return presence_from_graph(presence, source="notification", observed_at=observed_at)


def drain_inbox(drainer_id: str) -> int:
    """Process the bodies the webhook queued, in batches, until none is left; return how many."""
    return inbox.drain(
        drainer_id, _process_batch, hand_over=lambda: celery_app.send_task(DRAIN_TASK)
    )


def _process_batch(bodies: list[str]) -> None:
    try:
        process_notification_bodies(bodies)
    except Exception:
        # The authority's keys unreachable, the database gone, one body tripping a bug:
        # each body then gets a task of its own, which retries what can be retried and
        # keeps one bad body from holding up the others.
        logger.exception("a batch of %d notification bodies failed; one task each", len(bodies))
        for body in bodies:
            celery_app.send_task(RETRY_TASK, args=[body])


@dataclass
class LifecycleReport:
    """What the lifecycle events of one body led to."""

    handled: list[str] = field(default_factory=list)
    dropped: int = 0
    reconciled: int = 0


def process_lifecycle(body: str) -> LifecycleReport:
    """Answer each lifecycle event of ours: reauthorize, re-create, reconcile."""
    report = ProcessReport()
    _, items = _trusted(body, report)
    result = LifecycleReport(dropped=report.dropped)
    to_reconcile: list[str] = []
    needs_coverage = False
    for item in items:
        event = item.lifecycle_event
        if event == "reauthorizationRequired":
            done = subscriptions.answer_reauthorization(item.subscription_id)
            needs_coverage = needs_coverage or bool(done.dropped)
            to_reconcile.extend(done.to_reconcile)
        elif event == "missed":
            # Some changes never arrived: read everyone the subscription covers.
            found = PresenceSubscription.objects.filter(graph_id=item.subscription_id).first()
            if found is not None:
                to_reconcile.extend(found.person_ids)
        elif event == "subscriptionRemoved":
            done = subscriptions.forget_removed(item.subscription_id)
            needs_coverage = True
            to_reconcile.extend(done.to_reconcile)
        else:
            result.dropped += 1
            logger.warning("unknown lifecycle event %r ignored", event)
            continue
        result.handled.append(f"{event}:{item.subscription_id}")
    if needs_coverage:
        subscriptions.maintain_subscriptions()
    if to_reconcile:
        result.reconciled = polling.reconcile(to_reconcile).read
    return result
