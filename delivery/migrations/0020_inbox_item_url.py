from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("delivery", "0019_inbox_item"),
    ]

    operations = [
        migrations.AddField(
            model_name="inboxitem",
            name="url",
            field=models.TextField(blank=True),
        ),
    ]
