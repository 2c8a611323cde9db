"""A site's identity secret is stored encrypted: a database dump cannot sign identify() calls."""

import hashlib
import hmac

import pytest
from cryptography.fernet import Fernet
from django.conf import settings
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from accounts.encryption import decrypt, rotate_all
from segments.models import Site


def raw_secret(pk):
    with connection.cursor() as cursor:
        cursor.execute("SELECT identity_secret FROM segments_site WHERE id = %s", [pk])
        return cursor.fetchone()[0]


def test_the_column_holds_a_token_and_the_site_still_signs(db):
    site = Site.objects.create(name="Shop", allowed_origins=["https://shop.example.com"])
    column = raw_secret(site.pk)
    secret = Site.objects.get(pk=site.pk).identity_secret
    assert secret not in column
    assert Fernet(settings.FIELD_ENCRYPTION_KEYS[0]).decrypt(column.encode()).decode() == secret
    expected = hmac.new(secret.encode(), b"ada", hashlib.sha256).hexdigest()
    assert Site.objects.get(pk=site.pk).vouches_for("ada", expected)


@pytest.mark.django_db(transaction=True)
def test_the_migration_encrypts_existing_secrets_and_its_reverse_decrypts_them():
    plain = "an-old-plain-identity-secret-0123456789abcdef"
    executor = MigrationExecutor(connection)
    latest = executor.loader.graph.leaf_nodes()
    before, after = [("segments", "0006_admin_labels")], [("segments", "0007_encrypt_site_identity_secrets")]
    try:
        executor.migrate(before)
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO segments_site (name, key, allowed_origins, verify_identity, identity_secret, created_at)"
                " VALUES ('Old', 'pk_old', '[]', true, %s, CURRENT_TIMESTAMP)",
                [plain],
            )
            cursor.execute("SELECT id FROM segments_site WHERE key = 'pk_old'")
            pk = cursor.fetchone()[0]
        MigrationExecutor(connection).migrate(after)
        assert raw_secret(pk) != plain
        assert Fernet(settings.FIELD_ENCRYPTION_KEYS[0]).decrypt(raw_secret(pk).encode()).decode() == plain
        assert Site.objects.get(pk=pk).identity_secret == plain

        MigrationExecutor(connection).migrate(before)
        assert raw_secret(pk) == plain
    finally:
        MigrationExecutor(connection).migrate(latest)


def test_a_cached_sites_secret_is_decrypted_once_per_process(db, monkeypatch):
    from segments.actions import sites

    site = Site.objects.create(name="Shop", allowed_origins=["https://shop.example.com"])
    sites._opened.cache_clear()
    opened = []
    monkeypatch.setattr(sites, "decrypt", lambda token, where: opened.append(token) or decrypt(token, where))
    sites.site_for_key(site.key)  # read from the database, cached
    assert [sites.site_for_key(site.key).identity_secret for _ in range(3)] == [site.identity_secret] * 3
    assert len(opened) == 1  # Fernet once, not per call


def test_a_cached_site_whose_key_left_the_list_is_read_again(db, settings):
    from segments.actions import sites

    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.FIELD_ENCRYPTION_KEYS = [old]
    site = Site.objects.create(name="Shop", allowed_origins=["https://shop.example.com"])
    assert sites.site_for_key(site.key).identity_secret == site.identity_secret  # cached under the old key
    assert sites.site_for_key(site.key).identity_secret == site.identity_secret  # and opened from the cache
    settings.FIELD_ENCRYPTION_KEYS = [new, old]
    rotate_all()
    settings.FIELD_ENCRYPTION_KEYS = [new]
    # The cached token no longer opens: the site is read again, not served from memory.
    assert sites.site_for_key(site.key).identity_secret == site.identity_secret
    assert Fernet(new).decrypt(raw_secret(site.pk).encode()).decode() == site.identity_secret
