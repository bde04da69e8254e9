"""Each person's way of showing the wall: cards or a list, sorted and grouped."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("presence", "0004_notifications_moved_out"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="WallPreference",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "layout",
                    models.CharField(
                        choices=[("cards", "Cards"), ("list", "List")],
                        default="cards",
                        max_length=16,
                    ),
                ),
                (
                    "sort",
                    models.CharField(
                        choices=[
                            ("name", "Name"),
                            ("availability", "Available first"),
                            ("since", "Recently changed"),
                            ("activity", "Activity"),
                            ("department", "Department"),
                            ("job_title", "Job title"),
                        ],
                        default="name",
                        max_length=16,
                    ),
                ),
                ("descending", models.BooleanField(default=False)),
                (
                    "group",
                    models.CharField(
                        choices=[
                            ("none", "No grouping"),
                            ("department", "Department"),
                            ("manager", "Team (manager)"),
                        ],
                        default="none",
                        max_length=16,
                    ),
                ),
                ("updated_at", models.DateTimeField(auto_now=True)),
                (
                    "user",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="wall_preference",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
        ),
    ]
