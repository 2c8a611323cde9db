"""A site's identity secret, plain until now, becomes a Fernet token like the push credentials
(accounts/encryption.py): with it anyone could sign identify() calls for any of the site's people."""

from django.db import migrations

import accounts.encryption
from accounts.encryption import decrypt, encrypt_plain, rewrite_columns

SECRETS = [("segments_site", "identity_secret")]


def encrypt_identity_secrets(apps, schema_editor):
    rewrite_columns(schema_editor, SECRETS, encrypt_plain)


def decrypt_identity_secrets(apps, schema_editor):
    rewrite_columns(schema_editor, SECRETS, decrypt)


class Migration(migrations.Migration):
    dependencies = [
        ("segments", "0006_admin_labels"),
    ]

    operations = [
        # The column first: a token is longer than the old varchar(64).
        migrations.AlterField(
            model_name="site",
            name="identity_secret",
            field=accounts.encryption.EncryptedTextField(editable=False),
        ),
        migrations.RunPython(encrypt_identity_secrets, decrypt_identity_secrets),
    ]
