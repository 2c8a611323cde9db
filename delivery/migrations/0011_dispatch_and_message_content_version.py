"""Dispatch.version and Message.version: which version of a campaign's messages a dispatch
holds and each sent message was rendered with (campaigns.ContentVersion). A constant
database default: PostgreSQL 11+ adds such a column without rewriting the table."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("delivery", "0010_message_hold_reason_and_error_detail"),
    ]

    operations = [
        migrations.AddField(
            model_name="dispatch",
            name="version",
            field=models.PositiveIntegerField(db_default=1, default=1),
        ),
        migrations.AddField(
            model_name="message",
            name="version",
            field=models.PositiveIntegerField(db_default=1, default=1),
        ),
    ]
