"""The pipeline's own tables, filled with the certificates and subscriptions presence held."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.migrations.state import StateApps


def _presence_resource(person_ids: list[str]) -> str:
    quoted = ",".join("'" + person_id.replace("'", "''") + "'" for person_id in person_ids)
    return f"/communications/presences?$filter=id in ({quoted})"


def carry_over(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    """Copy presence's certificates and subscriptions; Graph's ids and secrets carry over."""
    old_certificate = apps.get_model("presence", "NotificationCertificate")
    old_subscription = apps.get_model("presence", "PresenceSubscription")
    certificate = apps.get_model("notifications", "NotificationCertificate")
    subscription = apps.get_model("notifications", "Subscription")
    new_ids: dict[int, int] = {}
    for row in old_certificate.objects.all():
        copy = certificate.objects.create(
            certificate_id=row.certificate_id,
            certificate_base64=row.certificate_base64,
            thumbprint=row.thumbprint,
            private_key_ciphertext=row.private_key_ciphertext,
            not_valid_after=row.not_valid_after,
            retired_at=row.retired_at,
        )
        # auto_now_add stamped the copy; keep the original's age (rotation reads it).
        certificate.objects.filter(pk=copy.pk).update(created_at=row.created_at)
        new_ids[row.id] = copy.pk
    for row in old_subscription.objects.all():
        copy = subscription.objects.create(
            kind="presence",
            graph_id=row.graph_id,
            client_state=row.client_state,
            resource=_presence_resource(row.person_ids),
            change_type="updated",
            owner_id=row.owner_id,
            scope=row.person_ids,
            expires_at=row.expires_at,
            certificate_id=new_ids[row.certificate_id],
            renewed_at=row.renewed_at,
        )
        subscription.objects.filter(pk=copy.pk).update(created_at=row.created_at)


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
        # The certificates and presence subscriptions held until now are carried over.
        ("presence", "0002_engine"),
    ]

    operations = [
        migrations.CreateModel(
            name="NotificationCertificate",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("certificate_id", models.CharField(max_length=128, unique=True)),
                ("certificate_base64", models.TextField()),
                ("thumbprint", models.CharField(max_length=64)),
                ("private_key_ciphertext", models.BinaryField()),
                ("not_valid_after", models.DateTimeField()),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                ("retired_at", models.DateTimeField(blank=True, null=True)),
            ],
        ),
        migrations.CreateModel(
            name="Subscription",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("kind", models.CharField(max_length=64)),
                ("graph_id", models.CharField(max_length=64, unique=True)),
                ("client_state", models.CharField(max_length=128)),
                ("resource", models.TextField()),
                ("change_type", models.CharField(max_length=64)),
                ("scope", models.JSONField(default=list)),
                ("expires_at", models.DateTimeField()),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                ("renewed_at", models.DateTimeField(blank=True, null=True)),
                (
                    "certificate",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="subscriptions",
                        to="notifications.notificationcertificate",
                    ),
                ),
                (
                    "owner",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="notification_subscriptions",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "indexes": [
                    models.Index(fields=["kind", "expires_at"], name="notif_sub_kind_expiry")
                ],
            },
        ),
        migrations.RunPython(carry_over, migrations.RunPython.noop),
    ]
