"""Certificate rotation: a retired certificate is swapped at renewal and keeps decrypting."""

# Fixtures are imported by name from engine_fixtures, so their parameters shadow them.
# ruff: noqa: F811

from __future__ import annotations

import pytest

from comms_portal.notifications import certificates, drain
from comms_portal.notifications.models import Subscription
from presence import store, subscriptions
from tests.presence.engine_fixtures import (  # noqa: F401  (fixtures)
    Control,
    clean_presence,
    control,
    sandbox,
)
from tests.presence.test_webhook import grace, real_body  # noqa: F401  (fixtures)

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("clean_presence")]


def test_a_retired_certificate_is_replaced_at_renewal_and_still_decrypts(
    grace: str, control: Control
) -> None:
    subscription = Subscription.objects.of_kind("presence").get()
    old = subscription.certificate
    assert old is not None
    sent_before = real_body(control, grace, ("Busy", "InACall"))

    certificates.retire(old.certificate_id)
    report = subscriptions.maintain_subscriptions()

    assert report.renewed == [subscription.graph_id]
    subscription.refresh_from_db()
    assert subscription.certificate is not None
    assert subscription.certificate.certificate_id != old.certificate_id
    [remote] = control("GET", "/subscriptions")["value"]
    assert remote["encryptionCertificateId"] == subscription.certificate.certificate_id
    # Graph encrypts to the new certificate from now on; what it sent before still opens.
    sent_after = real_body(control, grace, ("DoNotDisturb", "Presenting"))
    assert subscription.certificate.certificate_id in sent_after
    assert drain.process_bodies([sent_before]).changed == 1
    assert drain.process_bodies([sent_after]).changed == 1
    stored = store.get_one(grace)
    assert stored is not None and stored.availability == "DoNotDisturb"


def test_a_certificate_made_after_the_drain_read_its_keys_still_decrypts(
    grace: str, control: Control
) -> None:
    # The drain has read the keys it holds (one batch handled) before the rotation.
    assert drain.process_bodies([real_body(control, grace, ("Busy", "InACall"))]).changed == 1
    subscription = Subscription.objects.of_kind("presence").get()
    assert subscription.certificate is not None
    certificates.retire(subscription.certificate.certificate_id)
    subscriptions.maintain_subscriptions()
    subscription.refresh_from_db()
    assert subscription.certificate is not None

    sent_after = real_body(control, grace, ("Away", "Away"))

    assert subscription.certificate.certificate_id in sent_after
    assert drain.process_bodies([sent_after]).changed == 1
    stored = store.get_one(grace)
    assert stored is not None and stored.availability == "Away"
