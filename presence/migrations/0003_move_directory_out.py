# Person and DirectorySync now belong to the directory app, whose 0001_initial renamed their
# tables. Favourites and alerts point there; the rows and the foreign key columns stay as
# they are, so only Django's picture of the models changes here.

import django.db.models.deletion
from django.db import migrations, models
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.migrations.state import StateApps

MOVED = ("person", "directorysync")


def _relabel(apps: StateApps, old: str, new: str) -> None:
    # Content types (and permissions on them) follow the models instead of going stale.
    content_type = apps.get_model("contenttypes", "ContentType")
    for model in MOVED:
        if not content_type.objects.filter(app_label=new, model=model).exists():
            content_type.objects.filter(app_label=old, model=model).update(app_label=new)


def to_directory(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    _relabel(apps, "presence", "directory")


def to_presence(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    _relabel(apps, "directory", "presence")


class Migration(migrations.Migration):
    dependencies = [
        ("presence", "0002_engine"),
        ("directory", "0001_initial"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="favourite",
                    name="person",
                    field=models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="directory.person",
                    ),
                ),
                migrations.AlterField(
                    model_name="availabilityalert",
                    name="person",
                    field=models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="directory.person",
                    ),
                ),
                migrations.DeleteModel(name="Person"),
                migrations.DeleteModel(name="DirectorySync"),
            ],
        ),
        migrations.RunPython(to_directory, to_presence, elidable=True),
    ]
