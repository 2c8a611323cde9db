"""Message.hold_reason: "best_time", a row held until its person's most engaged hour
(delivery/actions/besttime.py). Only the choices change: no SQL."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("delivery", "0013_dispatch_pruned_at_and_pruned_tally"),
    ]

    operations = [
        migrations.AlterField(
            model_name="message",
            name="hold_reason",
            field=models.CharField(
                blank=True,
                choices=[
                    ("throttle", "Throttle"),
                    ("dnd", "Do Not Disturb"),
                    ("user_time_zone", "User's time zone"),
                    ("best_time", "Best time"),
                    ("retry", "Retry"),
                    ("scheduled", "Scheduled"),
                ],
                db_default="",
                default="",
                max_length=16,
            ),
        ),
    ]
