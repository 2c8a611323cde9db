"""Message.claim_token: the claim a row belongs to, so a batch renews its lease (and records its
outcomes) only on rows no other claim has taken over. Nullable without a default: adding it
rewrites nothing (PostgreSQL stores a NULL column in the row's null bitmap)."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("delivery", "0008_encrypt_credentials"),
    ]

    operations = [
        migrations.AddField(
            model_name="message",
            name="claim_token",
            field=models.BigIntegerField(blank=True, null=True),
        ),
    ]
