from django.db import migrations, models


class Migration(migrations.Migration):
    """New sites verify identities (issue 12). Only the default changes: a site made
    before keeps its setting, because turning verification on under a live site whose
    pages send no identityHash would refuse every identify() it makes. Such a site is
    still safe from take-overs: an unsigned identify() can no longer touch a known
    person (segments.actions.devices.identify), and Settings shows the warning."""

    dependencies = [("segments", "0004_reach_indexes")]

    operations = [
        migrations.AlterField(
            model_name="site",
            name="verify_identity",
            field=models.BooleanField(
                default=True,
                help_text="identify() must carry identityHash, an HMAC-SHA256 of the identity made by your server.",
            ),
        ),
    ]
