import secrets

from django.db import migrations, models


def give_each_site_a_secret(apps, schema_editor):
    Site = apps.get_model("segments", "Site")
    for site in Site.objects.filter(identity_secret=""):
        site.identity_secret = secrets.token_urlsafe(32)
        site.save(update_fields=["identity_secret"])


class Migration(migrations.Migration):
    dependencies = [("segments", "0002_segment")]

    operations = [
        migrations.AddField(
            model_name="site",
            name="verify_identity",
            field=models.BooleanField(
                default=False,
                help_text="identify() must carry identityHash, an HMAC-SHA256 of the identity made by your server.",
            ),
        ),
        migrations.AddField(
            model_name="site",
            name="identity_secret",
            field=models.CharField(default="", editable=False, max_length=64),
            preserve_default=False,
        ),
        migrations.RunPython(give_each_site_a_secret, migrations.RunPython.noop),
    ]
