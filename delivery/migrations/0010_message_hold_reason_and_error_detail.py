"""Message.hold_reason (why a held row waits for its not_before) and Message.error_detail (a
failure's own words: the render error, the Linked Content URL and what went wrong). Blank by
default, in the database too (raw INSERTs need not name them); on PostgreSQL 11+ adding a
column with a constant default rewrites no row."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("delivery", "0009_message_claim_token"),
    ]

    operations = [
        migrations.AddField(
            model_name="message",
            name="error_detail",
            field=models.CharField(blank=True, db_default="", default="", max_length=300),
        ),
        migrations.AddField(
            model_name="message",
            name="hold_reason",
            field=models.CharField(
                blank=True,
                choices=[
                    ("throttle", "Throttle"),
                    ("dnd", "Do Not Disturb"),
                    ("user_time_zone", "User's time zone"),
                    ("retry", "Retry"),
                    ("scheduled", "Scheduled"),
                ],
                db_default="",
                default="",
                max_length=16,
            ),
        ),
    ]
