"""Secrets at rest: a model field whose column holds a Fernet token, never the plain text.

The FCM service-account key, the APNs .p8 key and the VAPID private key can each push to
every subscriber, and a site's identity secret signs identify() calls for any person, so a
database dump or a backup must not be enough to do either. It lives in accounts, the
lowest app, so that segments (sites) and delivery (credentials) both use it. The keys come
from ``FIELD_ENCRYPTION_KEYS`` (config/settings.py), newest first, through cryptography's
MultiFernet (AES-128-CBC with HMAC-SHA256): a save encrypts with the first key, a load
decrypts with whichever key opens the token, and ``rotate_all`` (``manage.py
rotate_credentials``) re-encrypts every stored secret with the first, after which the old
keys can leave the list (README, "Encryption keys").

Why our own few lines and not a package (looked at in December 2026):
django-fernet-fields, the usual choice, was last released in 2019 and lives on in
one-person forks; django-fernet-encrypted-fields (Jazzband, maintained) derives its keys
from SECRET_KEY and a SALT_KEY setting, so rotating the session-signing key would re-key
the credentials, and it re-encrypts only by re-saving every object by hand;
django-encrypted-model-fields was last released in 2022. What we need, encrypt on save,
decrypt on load and a rotation, is MultiFernet's own API.

An empty value stays empty: it means "not set", which the Settings page shows and the
provider registry checks, and it tells nothing about a secret. A token cannot be searched
for (the same text encrypts differently each time), so the field refuses every lookup but
``isnull``. Errors name the column, never the token or the text. ``dumpdata`` writes the
plain text (so that ``loaddata`` into another install encrypts with that install's keys):
treat its output as the secret it is.
"""

import functools

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.apps import apps
from django.conf import settings
from django.core.exceptions import FieldError, ImproperlyConfigured
from django.db import models, transaction


class UnreadableSecret(ImproperlyConfigured):
    """A stored secret that no key of FIELD_ENCRYPTION_KEYS opens: the key it was saved with is missing."""

    def __init__(self, where):
        super().__init__(
            f"FIELD_ENCRYPTION_KEYS does not hold the key these credentials were saved with ({where}). "
            "Put that key back in the list, after the newest, to read them."
        )


@functools.lru_cache(maxsize=4)
def _multi_fernet(keys):
    return MultiFernet([Fernet(key) for key in keys])


def _fernet():
    # Keyed on the setting's value, so a process (or a test) that changes the keys uses the new ones.
    return _multi_fernet(tuple(settings.FIELD_ENCRYPTION_KEYS))


def encrypt(text):
    """A token of ``text`` under the newest key."""
    return _fernet().encrypt(text.encode()).decode()


def decrypt(token, where):
    """The text of ``token``, under whichever key opens it; ``where`` names the column for the error."""
    try:
        return _fernet().decrypt(token.encode()).decode()
    except InvalidToken:
        # ``from None``: no chained exception to carry the token into a traceback.
        raise UnreadableSecret(where) from None


class EncryptedTextField(models.TextField):
    """Text the model sees in plain, the database as a Fernet token."""

    description = "Text stored encrypted (a Fernet token)"

    def _where(self):
        return f"{self.model._meta.label}.{self.name}"

    def from_db_value(self, value, expression, connection):
        return decrypt(value, self._where()) if value else value

    def get_db_prep_save(self, value, connection):
        value = super().get_db_prep_save(value, connection)
        return encrypt(value) if value else value

    def get_lookup(self, lookup_name):
        if lookup_name != "isnull":
            raise FieldError(f"{self._where()} is encrypted: it can only be tested with isnull.")
        return super().get_lookup(lookup_name)


def encrypted_fields():
    """{model: [field names]} of every EncryptedTextField of the installed apps."""
    found = {}
    for model in apps.get_models():
        names = [field.name for field in model._meta.concrete_fields if isinstance(field, EncryptedTextField)]
        if names:
            found[model] = names
    return found


@transaction.atomic
def rotate_all():
    """Re-encrypts every stored secret with the newest key; returns how many. Rows are locked
    while they are rewritten, so a credential saved meanwhile is never replaced by the old one."""
    count = 0
    for model, names in encrypted_fields().items():
        for row in model._base_manager.select_for_update().only(*names):
            values = {name: getattr(row, name) for name in names if getattr(row, name)}
            if values:
                # update(), not save(): the rows do not change, so nothing that watches saves should run.
                model._base_manager.filter(pk=row.pk).update(**values)
                count += len(values)
    return count


def rewrite_columns(schema_editor, columns, change):
    """Rewrites each non-empty ``(table, column)`` value with ``change(value, where)``, in
    plain SQL: a data migration's historical model already has the encrypting field, which
    would try to decrypt the plain rows it reads. For ``encrypt_plain`` and ``decrypt``."""
    connection = schema_editor.connection
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        for table, column in columns:
            cursor.execute(f"SELECT id, {quote(column)} FROM {quote(table)} WHERE {quote(column)} <> ''")  # noqa: S608
            for pk, value in cursor.fetchall():
                new = change(value, f"{table}.{column}")
                if new != value:
                    cursor.execute(f"UPDATE {quote(table)} SET {quote(column)} = %s WHERE id = %s", [new, pk])  # noqa: S608


def encrypt_plain(value, where):
    """``value`` encrypted, unless it is a token already (saved by the new code before a migration ran)."""
    try:
        decrypt(value, where)
    except UnreadableSecret:
        return encrypt(value)
    return value
