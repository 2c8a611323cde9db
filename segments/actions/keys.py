from django.db import transaction
from django.utils import timezone

from accounts import audit
from segments.models import ApiKey


@transaction.atomic
def create_api_key(name, *, created_by=None, rate_per_minute=600):
    """Returns (ApiKey, the full key). The full key is shown once and never stored."""
    key = ApiKey(name=name, created_by=created_by, rate_per_minute=rate_per_minute)
    full_key = key.issue()
    key.save()
    audit.record(created_by, audit.Verb.CREATED, key, f"{rate_per_minute}/min")
    return key, full_key


@transaction.atomic
def revoke_api_key(key, *, user=None):
    """Revoke ``key`` (clients using it get 401 from now on); ``user`` did it, for the audit log."""
    if key.revoked_at is None:
        key.revoked_at = timezone.now()
        key.save(update_fields=["revoked_at"])
        audit.record(user, audit.Verb.REVOKED, key)
