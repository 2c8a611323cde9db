from django.db import migrations


class Migration(migrations.Migration):
    initial = True
    dependencies = []

    operations = [
        migrations.CreateModel(
            name="Capability",
            fields=[],
            options={
                "managed": False,
                "default_permissions": (),
                "permissions": [
                    ("view_campaigns", "Can read campaigns"),
                    ("manage_campaigns", "Can create, edit and schedule campaigns"),
                    ("manage_segments", "Can build segments and browse the audience"),
                    ("view_stats", "Can read stats"),
                    ("manage_settings", "Can change settings, users and credentials"),
                ],
            },
        ),
    ]
