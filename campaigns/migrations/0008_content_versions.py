"""ContentVersion: each version of a campaign's messages once its What is changed after
scheduling (campaigns/actions/changes.py). A new table: nothing existing is rewritten."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("campaigns", "0007_send_now_ab_minutes_date_property_type"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="ContentVersion",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("number", models.PositiveIntegerField()),
                ("contents", models.JSONField(default=dict)),
                ("created_at", models.DateTimeField()),
                (
                    "note",
                    models.CharField(blank=True, help_text="What the change did to queued messages.", max_length=300),
                ),
                (
                    "campaign",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE, related_name="versions", to="campaigns.campaign"
                    ),
                ),
                (
                    "created_by",
                    models.ForeignKey(
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={"ordering": ["campaign", "number"]},
        ),
        migrations.AddConstraint(
            model_name="contentversion",
            constraint=models.UniqueConstraint(fields=("campaign", "number"), name="campaigns_content_version_once"),
        ),
    ]
