"""DailyStat.rendered: impressions per dispatch, variant and day (the roll-up recomputes them)."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("stats", "0003_conversion_outlives_its_message"),
    ]

    operations = [
        migrations.AddField(
            model_name="dailystat",
            name="rendered",
            field=models.PositiveIntegerField(default=0, help_text="Displayed on the device (impressions)."),
        ),
    ]
