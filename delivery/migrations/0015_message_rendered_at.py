"""Message.rendered_at: when the device reported the push displayed (an impression; issue 13,
item 7). Nullable: no rewrite of the table."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("delivery", "0014_message_hold_reason_best_time"),
    ]

    operations = [
        migrations.AddField(
            model_name="message",
            name="rendered_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
    ]
