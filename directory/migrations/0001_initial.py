# Person and DirectorySync come from the presence app with their rows: the models are
# declared here on their old tables, then the tables are renamed. presence's
# 0003_move_directory_out points its foreign keys here and forgets its own copies.

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("presence", "0002_engine"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="Person",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True,
                                primary_key=True,
                                serialize=False,
                                verbose_name="ID",
                            ),
                        ),
                        ("graph_id", models.CharField(max_length=64, unique=True)),
                        ("user_principal_name", models.CharField(db_index=True, max_length=256)),
                        ("display_name", models.CharField(db_index=True, max_length=256)),
                        ("given_name", models.CharField(blank=True, max_length=128)),
                        ("surname", models.CharField(blank=True, max_length=128)),
                        ("mail", models.CharField(blank=True, max_length=256)),
                        ("job_title", models.CharField(blank=True, max_length=256)),
                        ("department", models.CharField(blank=True, db_index=True, max_length=256)),
                        ("office_location", models.CharField(blank=True, max_length=256)),
                        ("account_enabled", models.BooleanField(default=True)),
                        ("is_hidden", models.BooleanField(default=False)),
                        ("removed_at", models.DateTimeField(blank=True, null=True)),
                        ("synced_at", models.DateTimeField(auto_now=True)),
                        (
                            "manager",
                            models.ForeignKey(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.SET_NULL,
                                related_name="reports",
                                to="directory.person",
                            ),
                        ),
                    ],
                    options={
                        "ordering": ["display_name"],
                        "db_table": "presence_person",
                        "indexes": [
                            models.Index(
                                fields=["removed_at", "is_hidden", "display_name"],
                                name="presence_pe_removed_549af0_idx",
                            )
                        ],
                    },
                ),
                migrations.CreateModel(
                    name="DirectorySync",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True,
                                primary_key=True,
                                serialize=False,
                                verbose_name="ID",
                            ),
                        ),
                        ("name", models.CharField(default="users", max_length=64, unique=True)),
                        ("delta_link", models.TextField(blank=True)),
                        ("last_started_at", models.DateTimeField(blank=True, null=True)),
                        ("last_finished_at", models.DateTimeField(blank=True, null=True)),
                        ("last_error", models.TextField(blank=True)),
                        ("last_error_at", models.DateTimeField(blank=True, null=True)),
                        ("runs", models.PositiveIntegerField(default=0)),
                        ("full_runs", models.PositiveIntegerField(default=0)),
                        ("last_changed", models.PositiveIntegerField(default=0)),
                        ("last_removed", models.PositiveIntegerField(default=0)),
                    ],
                    options={"db_table": "presence_directorysync"},
                ),
            ],
        ),
        # presence_person -> directory_person, presence_directorysync -> directory_directorysync.
        migrations.AlterModelTable(name="person", table=None),
        migrations.AlterModelTable(name="directorysync", table=None),
    ]
