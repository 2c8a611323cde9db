from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("campaigns", "0015_permission_prompts"),
    ]

    operations = [
        migrations.AlterField(
            model_name="campaign",
            name="platforms",
            field=models.JSONField(blank=True, default=list, help_text='Native apps: ["android", "ios"].'),
        ),
        migrations.AddField(
            model_name="campaign",
            name="target_devices",
            field=models.CharField(
                blank=True,
                choices=[("web", "Web"), ("apps", "Native apps"), ("all", "All: web and native apps")],
                help_text="Push: web, native app or all devices; empty: the channel's own (campaigns/targeting.py).",
                max_length=4,
            ),
        ),
    ]
