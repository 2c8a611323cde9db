"""Run forecasts (issue 17): the forecast of a run kept when its campaign is scheduled."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("campaigns", "0011_best_time"),
    ]

    operations = [
        migrations.CreateModel(
            name="RunForecast",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("planned_at", models.DateTimeField()),
                ("made_at", models.DateTimeField()),
                ("lines", models.JSONField(default=dict)),
                (
                    "campaign",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE, related_name="forecasts", to="campaigns.campaign"
                    ),
                ),
            ],
            options={
                "constraints": [
                    models.UniqueConstraint(fields=("campaign", "planned_at"), name="one_forecast_per_run")
                ],
            },
        ),
    ]
