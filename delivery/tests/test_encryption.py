"""Credentials at rest: the FCM key file, the APNs .p8 key and the VAPID private key are
Fernet tokens in their columns, readable with any key of FIELD_ENCRYPTION_KEYS."""

import io
import json

import pytest
from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings
from django.core.management import call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.test import override_settings

from accounts.roles import ADMIN
from delivery import vapid
from delivery.models import DeliverySettings, VapidKey
from tests.pushservices.apns import make_signing_key
from tests.pushservices.fcm import new_service_account_key

HTMX = {"HTTP_HX_REQUEST": "true"}
KEY_A, KEY_B = Fernet.generate_key().decode(), Fernet.generate_key().decode()


def raw(table, column, pk):
    """The column as the database holds it, past the model field."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {column} FROM {table} WHERE id = %s", [pk])  # noqa: S608 (names are ours)
        return cursor.fetchone()[0]


def stored_secrets():
    """(column value, the secret it must hold) for the three secrets."""
    settings_row, key = DeliverySettings.load(), VapidKey.objects.get(active=True)
    return [
        (raw("delivery_deliverysettings", "fcm_service_account", 1), settings_row.fcm_service_account),
        (raw("delivery_deliverysettings", "apns_private_key", 1), settings_row.apns_private_key),
        (raw("delivery_vapidkey", "private_key", key.pk), key.private_key),
    ]


def save_all_three(client_as):
    admin = client_as(ADMIN)
    info, _ = new_service_account_key("shop-app-1", "push@shop-app-1.iam.gserviceaccount.com", "https://t.test/")
    p8 = make_signing_key()
    form = {"team_id": "TEAM123456", "key_id": "KEY1234567", "topic": "com.example.shop", "private_key": p8}
    assert admin.post("/settings/delivery/fcm/", {"service_account": json.dumps(info)}, **HTMX).status_code == 200
    assert admin.post("/settings/delivery/apns/", form, **HTMX).status_code == 200
    vapid.generate(rotate=True)
    return info, p8


def test_saved_fcm_apns_and_vapid_secrets_are_tokens_in_their_columns_never_plain_text(client_as):
    info, p8 = save_all_three(client_as)
    fernet = Fernet(settings.FIELD_ENCRYPTION_KEYS[0])
    stored = stored_secrets()
    assert json.loads(stored[0][1]) == info and stored[1][1] == p8.strip() + "\n"  # the models read plain text
    for column, secret in stored:
        assert column.startswith("gAAAA")
        assert secret not in column and secret.splitlines()[0] not in column
        assert fernet.decrypt(column.encode()).decode() == secret
    assert info["private_key"].splitlines()[2] not in stored[0][0]


def test_an_empty_credential_stays_empty_so_the_pages_can_say_not_set(db):
    DeliverySettings.load()
    assert raw("delivery_deliverysettings", "fcm_service_account", 1) == ""
    assert DeliverySettings.load().apns_private_key == ""


def test_rows_saved_with_an_old_key_read_when_a_new_key_is_listed_first_and_new_saves_use_it(client_as):
    with override_settings(FIELD_ENCRYPTION_KEYS=[KEY_A]):
        _, p8 = save_all_three(client_as)
    with override_settings(FIELD_ENCRYPTION_KEYS=[KEY_B, KEY_A]):
        assert DeliverySettings.load().apns_private_key == p8.strip() + "\n"
        key = vapid.generate(rotate=True)[0]
        assert VapidKey.objects.get(pk=key.pk).private_key == key.private_key
    column = raw("delivery_vapidkey", "private_key", key.pk)
    assert Fernet(KEY_B).decrypt(column.encode()).decode() == key.private_key


def test_the_rotate_command_leaves_every_secret_readable_with_the_newest_key_alone(client_as):
    with override_settings(FIELD_ENCRYPTION_KEYS=[KEY_A]):
        save_all_three(client_as)
        vapid.generate(rotate=True)  # a retired key pair is a secret too
        before = [secret for _, secret in stored_secrets()]
        old_key = VapidKey.objects.get(active=False)
    with override_settings(FIELD_ENCRYPTION_KEYS=[KEY_B, KEY_A]):
        call_command("rotate_credentials", stdout=(out := io.StringIO()))
    assert "4 secrets re-encrypted" in out.getvalue()
    with override_settings(FIELD_ENCRYPTION_KEYS=[KEY_B]):
        assert [secret for _, secret in stored_secrets()] == before
        assert VapidKey.objects.get(pk=old_key.pk).private_key == old_key.private_key  # retired keys too
        for column, _ in stored_secrets():
            with pytest.raises(InvalidToken):
                Fernet(KEY_A).decrypt(column.encode())


def test_a_secret_no_listed_key_opens_raises_an_error_naming_the_setting_and_never_the_secret(client_as):
    with override_settings(FIELD_ENCRYPTION_KEYS=[KEY_A]):
        _, p8 = save_all_three(client_as)
    token = raw("delivery_deliverysettings", "apns_private_key", 1)
    with override_settings(FIELD_ENCRYPTION_KEYS=[KEY_B]), pytest.raises(Exception) as refused:
        DeliverySettings.load()
    message = str(refused.value)
    assert "FIELD_ENCRYPTION_KEYS does not hold the key these credentials were saved with" in message
    assert token not in message and p8.splitlines()[1] not in message
    assert refused.value.__cause__ is None and refused.value.__suppress_context__


@pytest.mark.django_db(transaction=True)
def test_the_migration_encrypts_existing_plain_rows_and_its_reverse_decrypts_them():
    plain_key, plain_p8 = "q2iT0Xp4f0n1bQd0q4s3ZxVxqJm1v6c4b1Zr0N3w9aE", make_signing_key()
    executor = MigrationExecutor(connection)
    latest = executor.loader.graph.leaf_nodes()
    before, after = [("delivery", "0007_message_liquid_context")], [("delivery", "0008_encrypt_credentials")]
    try:
        executor.migrate(before)
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO delivery_vapidkey (public_key, private_key, subject, active, created_at)"
                " VALUES ('BPub', %s, 'mailto:a@b.test', true, CURRENT_TIMESTAMP)",
                [plain_key],
            )
            cursor.execute("SELECT id FROM delivery_vapidkey")
            vapid_pk = cursor.fetchone()[0]
            cursor.execute(
                "INSERT INTO delivery_deliverysettings (id, dnd_action, amplification, fcm_project_id,"
                " fcm_service_account, apns_team_id, apns_key_id, apns_private_key, apns_topic, apns_sandbox,"
                " updated_at) VALUES (1, 'delay', false, '', '', '', '', %s, '', false, CURRENT_TIMESTAMP)",
                [plain_p8],
            )
        executor = MigrationExecutor(connection)
        executor.migrate(after)
        fernet = Fernet(settings.FIELD_ENCRYPTION_KEYS[0])
        vapid_column = raw("delivery_vapidkey", "private_key", vapid_pk)
        p8_column = raw("delivery_deliverysettings", "apns_private_key", 1)
        assert fernet.decrypt(vapid_column.encode()).decode() == plain_key
        assert fernet.decrypt(p8_column.encode()).decode() == plain_p8
        assert raw("delivery_deliverysettings", "fcm_service_account", 1) == ""  # nothing to hide
        assert DeliverySettings.load().apns_private_key == plain_p8

        executor = MigrationExecutor(connection)
        executor.migrate(before)
        assert raw("delivery_vapidkey", "private_key", vapid_pk) == plain_key
        assert raw("delivery_deliverysettings", "apns_private_key", 1) == plain_p8
    finally:
        MigrationExecutor(connection).migrate(latest)
