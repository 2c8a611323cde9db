from django.utils import timezone

from segments.models import ApiKey


def create_api_key(name, *, created_by=None, rate_per_minute=600):
    """Returns (ApiKey, the full key). The full key is shown once and never stored."""
    key = ApiKey(name=name, created_by=created_by, rate_per_minute=rate_per_minute)
    full_key = key.issue()
    key.save()
    return key, full_key


def revoke_api_key(key):
    if key.revoked_at is None:
        key.revoked_at = timezone.now()
        key.save(update_fields=["revoked_at"])
