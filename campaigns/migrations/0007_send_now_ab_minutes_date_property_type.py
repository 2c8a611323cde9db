"""Send now for one-time campaigns, the A/B wait in minutes (stored hours times 60), and the
declared type of a date-property trigger (existing ones keep reading dates and times)."""

from django.db import migrations, models


def hours_to_minutes(apps, schema_editor):
    Campaign = apps.get_model("campaigns", "Campaign")
    Campaign.objects.filter(ab_test_minutes__isnull=False).update(ab_test_minutes=models.F("ab_test_minutes") * 60)


def minutes_to_hours(apps, schema_editor):
    # Rounded up: a 90-minute wait becomes 2 hours, never a shorter test.
    Campaign = apps.get_model("campaigns", "Campaign")
    Campaign.objects.filter(ab_test_minutes__isnull=False).update(
        ab_test_minutes=(models.F("ab_test_minutes") + 59) / 60
    )


class Migration(migrations.Migration):
    dependencies = [
        ("campaigns", "0006_run_failed_status"),
    ]

    operations = [
        migrations.AddField(
            model_name="campaign",
            name="send_now",
            field=models.BooleanField(default=False, help_text="One time: at the moment it is scheduled (no send_at)."),
        ),
        migrations.AddField(
            model_name="campaign",
            name="date_property_type",
            field=models.CharField(
                choices=[
                    ("date", "A date, e.g. 2026-12-24 (its time, if any, is ignored)"),
                    ("datetime", "A date and time, e.g. 2026-12-24T09:30 (a date alone means midnight)"),
                ],
                default="datetime",
                help_text="What the date property holds, declared in the When step (it may not have arrived yet).",
                max_length=8,
            ),
        ),
        migrations.RenameField(model_name="campaign", old_name="ab_test_hours", new_name="ab_test_minutes"),
        migrations.AlterField(
            model_name="campaign",
            name="ab_test_minutes",
            field=models.PositiveIntegerField(
                blank=True, help_text="Minutes to wait before picking a winner.", null=True
            ),
        ),
        migrations.RunPython(hours_to_minutes, minutes_to_hours),
    ]
