"""The write paths of Settings → Delivery: global limits, the FCM / APNs credentials, and
the web push (VAPID) key pair.

Every change saves ``DeliverySettings.updated_at`` (auto_now, listed in update_fields),
which is what the provider registry compares to know its providers are stale. Each save
names only its own fields, so two Admins saving different sections at once do not undo
each other. Log lines and the audit log (``user`` made the change; accounts/audit.py)
name what changed, never a secret.
"""

import logging

from django.db import transaction
from django.utils import timezone

from accounts import audit
from delivery import vapid
from delivery.models import DeliverySettings

log = logging.getLogger(__name__)

LIMIT_FIELDS = ["daily_cap", "weekly_cap", "throttle_per_15_min", "dnd_start", "dnd_end", "dnd_action", "amplification"]
FCM_FIELDS = ["fcm_project_id", "fcm_service_account", "fcm_saved_at"]
APNS_FIELDS = ["apns_team_id", "apns_key_id", "apns_private_key", "apns_topic", "apns_sandbox", "apns_saved_at"]


def _save(settings, fields, *, user=None, detail):
    settings.save(update_fields=[*fields, "updated_at"])
    if detail:  # None: saved as it was, nothing to record
        audit.record(user, audit.Verb.CHANGED, settings, detail)
    return settings


@transaction.atomic
def do_save_limits(*, user=None, **values):
    """Global campaign limits, throttle, default DND and push amplification (LIMIT_FIELDS)."""
    settings = DeliverySettings.load()
    changed = [name for name in LIMIT_FIELDS if getattr(settings, name) != values[name]]
    for name in LIMIT_FIELDS:
        setattr(settings, name, values[name])
    log.info("delivery limits saved: %s", ", ".join(f"{name}={values[name]}" for name in LIMIT_FIELDS))
    return _save(
        settings, LIMIT_FIELDS, user=user, detail=f"limits: {audit.fields_changed(changed)}" if changed else None
    )


@transaction.atomic
def do_set_fcm_credentials(*, project_id, service_account_json=None, user=None):
    """``service_account_json`` None keeps the saved key (only the project id changes)."""
    settings = DeliverySettings.load()
    settings.fcm_project_id = project_id
    what = "project id"
    if service_account_json is not None:
        settings.fcm_service_account = service_account_json
        settings.fcm_saved_at = timezone.now()
        what += " and service account key"
    log.info("FCM credentials saved for project %s", project_id)
    return _save(settings, FCM_FIELDS, user=user, detail=f"FCM credentials saved: {what}")


@transaction.atomic
def do_remove_fcm_credentials(*, user=None):
    settings = DeliverySettings.load()
    settings.fcm_project_id = settings.fcm_service_account = ""
    settings.fcm_saved_at = None
    log.info("FCM credentials removed")
    return _save(settings, FCM_FIELDS, user=user, detail="FCM credentials removed")


@transaction.atomic
def do_set_apns_credentials(*, team_id, key_id, topic, sandbox, private_key=None, user=None):
    """``private_key`` None keeps the saved .p8 key (ids, topic or host change)."""
    settings = DeliverySettings.load()
    what = "team id, key id, topic, host"
    settings.apns_team_id, settings.apns_key_id = team_id, key_id
    settings.apns_topic, settings.apns_sandbox = topic, sandbox
    if private_key is not None:
        settings.apns_private_key = private_key
        settings.apns_saved_at = timezone.now()
        what += " and .p8 key"
    log.info("APNs credentials saved: team %s, key %s, topic %s, sandbox %s", team_id, key_id, topic, sandbox)
    return _save(settings, APNS_FIELDS, user=user, detail=f"APNs credentials saved: {what}")


@transaction.atomic
def do_remove_apns_credentials(*, user=None):
    settings = DeliverySettings.load()
    settings.apns_team_id = settings.apns_key_id = settings.apns_private_key = settings.apns_topic = ""
    settings.apns_sandbox = False
    settings.apns_saved_at = None
    log.info("APNs credentials removed")
    return _save(settings, APNS_FIELDS, user=user, detail="APNs credentials removed")


@transaction.atomic
def do_generate_vapid_key(*, user=None):
    """The VAPID key pair, made if there is none (delivery.vapid.generate keeps an existing
    one: replacing it cuts off every web subscriber). Returns (key, created)."""
    key, created = vapid.generate()
    if created:
        audit.record(user, audit.Verb.CREATED, key, "the VAPID key pair")
    return key, created
