"""Best time delivery (delivery/actions/besttime.py): the When step's choice and its fallback hour.
Constant defaults: on PostgreSQL 11+ adding these columns rewrites no row."""

import django.core.validators
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("campaigns", "0010_api_triggered_idempotency"),
    ]

    operations = [
        migrations.AddField(
            model_name="campaign",
            name="best_time",
            field=models.BooleanField(
                default=False, help_text="Send each person at their most engaged hour of the day, within 24 hours."
            ),
        ),
        migrations.AddField(
            model_name="campaign",
            name="best_time_fallback_hour",
            field=models.PositiveSmallIntegerField(
                default=10,
                help_text="Best time: the local hour for people with too little history (0 to 23).",
                validators=[django.core.validators.MaxValueValidator(23)],
            ),
        ),
    ]
