"""The pipeline's metrics move as real notifications go through the intake and the drain."""

# Fixtures are imported by name from the presence tests, so their parameters shadow them.
# ruff: noqa: F811

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.utils import timezone
from pytest_django.fixtures import Settings as SettingsWrapper

from comms_portal.notifications import drain, inbox
from comms_portal.notifications.models import Subscription
from tests.comms_portal.metrics.scrape import Scrape, scrape
from tests.presence.engine_fixtures import (  # noqa: F401  (fixtures)
    Control,
    clean_presence,
    control,
    delivered_bodies,
    sandbox,
)
from tests.presence.test_webhook import (  # noqa: F401  (fixtures)
    URL,
    _tampered_data,
    edited,
    grace,
    real_body,
)
from tests.presence.test_webhook_asgi import through_asgi

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("clean_presence")]

ACCEPTED = "comms_portal_notifications_accepted_total"
REFUSED = "comms_portal_notifications_refused_total"
HANDLED = "comms_portal_notifications_handled_total"
DROPPED = "comms_portal_notifications_dropped_total"
INBOX = "comms_portal_notification_inbox_bodies"
LAG = "comms_portal_notification_drain_lag_seconds"


def moved(before: Scrape, after: Scrape, sample: str, **labels: str) -> float:
    """Return how far a counter moved between two scrapes."""
    return after.value(sample, **labels) - before.value(sample, **labels)


def notifications_in(bodies: list[str]) -> int:
    return sum(len(json.loads(body)["value"]) for body in bodies)


def test_real_notifications_move_the_intake_and_drain_counters(
    grace: str, control: Control
) -> None:
    before = scrape()

    genuine = real_body(control, grace, ("Busy", "InACall"))
    forged = edited(genuine, lambda d: d["value"][0].update(clientState="not-the-secret"))
    tampered = edited(genuine, _tampered_data)
    assert through_asgi("POST", URL, forged.encode()).status_code == 202
    assert through_asgi("POST", URL, b"{not json").status_code == 400
    assert through_asgi("POST", URL, tampered.encode()).status_code == 202

    waiting = scrape()
    bodies = delivered_bodies()
    # The sandbox's deliveries and the tampered body wait; the forged one was refused.
    assert len(bodies) >= 2 and bodies[-1] == tampered
    assert moved(before, waiting, ACCEPTED, kind="presence") == notifications_in(bodies)
    assert moved(before, waiting, REFUSED, kind="presence", reason="untrusted") == 1
    assert moved(before, waiting, REFUSED, kind="presence", reason="malformed") == 1
    assert waiting.value(INBOX) == len(bodies)
    assert waiting.value(LAG) > 0

    assert drain.drain_inbox("metrics-drain", hand_over=lambda: None) == len(bodies)

    drained = scrape()
    assert drained.value(INBOX) == 0
    assert drained.value(LAG) == 0
    # The tampered body is dropped by the drain, every other notification handed over.
    assert moved(waiting, drained, DROPPED, kind="presence", reason="decryption") == 1
    assert moved(waiting, drained, HANDLED, kind="presence") == notifications_in(bodies) - 1
    # The drain's own counting does not count at the intake again.
    assert moved(waiting, drained, ACCEPTED, kind="presence") == 0


def test_refusals_for_size_and_a_full_inbox_are_counted_by_reason(
    grace: str, control: Control, settings: SettingsWrapper
) -> None:
    genuine = real_body(control, grace, ("DoNotDisturb", "Presenting"))
    before = scrape()

    settings.NOTIFICATION_INBOX_MAX_BODIES = inbox.waiting()
    assert through_asgi("POST", URL, genuine.encode()).status_code == 503
    settings.WEBHOOK_MAX_BODY_BYTES = 4096
    assert through_asgi("POST", URL, b" " * 5000).status_code == 413

    after = scrape()
    full = notifications_in([genuine])
    assert moved(before, after, REFUSED, kind="presence", reason="inbox_full") == full
    assert moved(before, after, REFUSED, kind="presence", reason="too_large") == 1
    assert moved(before, after, ACCEPTED, kind="presence") == 0
    assert after.value(INBOX) == before.value(INBOX)


def test_unknown_subscriptions_and_a_failed_token_check_are_dropped_by_reason(
    grace: str, control: Control
) -> None:
    genuine = real_body(control, grace, ("Busy", "InACall"))
    no_tokens = edited(genuine, lambda d: d.pop("validationTokens"))
    before = scrape()

    drain.handle_batch(["[]", no_tokens])

    after = scrape()
    assert moved(before, after, DROPPED, kind="unknown", reason="malformed") == 1
    assert moved(before, after, DROPPED, kind="presence", reason="validation_tokens") == 1
    assert moved(before, after, HANDLED, kind="presence") == 0


def test_subscriptions_are_shown_by_kind_and_state(grace: str) -> None:
    live = Subscription.objects.get()
    now = timezone.now()
    for graph_id, expires_at in (("expiring", now + timedelta(minutes=5)), ("gone", now)):
        Subscription.objects.create(
            kind="presence",
            graph_id=graph_id,
            client_state=graph_id,
            resource="/communications/presences",
            change_type="updated",
            expires_at=expires_at,
        )

    shown = scrape()

    name = "comms_portal_notification_subscriptions"
    assert live.expires_at > now + timedelta(minutes=30)
    assert shown.value(name, kind="presence", state="live") == 1
    assert shown.value(name, kind="presence", state="expiring") == 1
    assert shown.value(name, kind="presence", state="expired") == 1
