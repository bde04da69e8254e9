"""Upgrading keeps the certificates and presence subscriptions Graph still posts to."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

pytestmark = pytest.mark.django_db(transaction=True)
# Before directory and notifications moved out of presence.
BEFORE = [("presence", "0002_engine"), ("notifications", None), ("directory", None)]


def test_certificates_and_presence_subscriptions_are_carried_over() -> None:
    executor = MigrationExecutor(connection)
    latest = executor.loader.graph.leaf_nodes()
    executor.migrate(BEFORE)
    old = executor.loader.project_state([("presence", "0002_engine")]).apps
    try:
        owner = old.get_model("accounts", "User").objects.create(
            username="priya", object_id="priya-oid", tenant_id="tenant"
        )
        certificate = old.get_model("presence", "NotificationCertificate").objects.create(
            certificate_id="portal-presence-1",
            certificate_base64="MIIB",
            thumbprint="AB12",
            private_key_ciphertext=b"sealed",
            not_valid_after=timezone.now() + timedelta(days=300),
        )
        expires = timezone.now() + timedelta(minutes=40)
        old.get_model("presence", "PresenceSubscription").objects.create(
            owner=owner,
            graph_id="graph-sub-1",
            client_state="secret-state",
            person_ids=["grace", "o'neil"],
            expires_at=expires,
            certificate=certificate,
        )
    finally:
        executor = MigrationExecutor(connection)
        executor.loader.build_graph()
        executor.migrate(latest)

    new = executor.loader.project_state(latest).apps
    subscription = new.get_model("notifications", "Subscription").objects.get()
    assert subscription.kind == "presence"
    assert subscription.graph_id == "graph-sub-1"
    assert subscription.client_state == "secret-state"
    assert subscription.owner.object_id == "priya-oid"
    assert subscription.scope == ["grace", "o'neil"]
    assert subscription.resource == "/communications/presences?$filter=id in ('grace','o''neil')"
    assert subscription.expires_at == expires
    assert subscription.certificate.certificate_id == "portal-presence-1"
    assert bytes(subscription.certificate.private_key_ciphertext) == b"sealed"
