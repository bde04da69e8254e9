"""Whether a person wants availability changes of the people they follow read out."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("presence", "0005_wall_preference"),
    ]

    operations = [
        migrations.AddField(
            model_name="wallpreference",
            name="announce_changes",
            field=models.BooleanField(default=False),
        ),
    ]
