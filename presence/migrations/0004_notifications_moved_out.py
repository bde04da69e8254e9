"""Certificates and subscriptions now belong to the notification pipeline, which copied them."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("presence", "0003_move_directory_out"),
        ("notifications", "0001_initial"),
    ]

    operations = [
        migrations.RemoveField(
            model_name="presencesubscription",
            name="certificate",
        ),
        migrations.RemoveField(
            model_name="presencesubscription",
            name="owner",
        ),
        migrations.DeleteModel(
            name="NotificationCertificate",
        ),
        migrations.DeleteModel(
            name="PresenceSubscription",
        ),
    ]
