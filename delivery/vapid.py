"""The VAPID key pair (RFC 8292) that web subscriptions are made with."""

from cryptography.hazmat.primitives import serialization
from django.conf import settings
from django.db import transaction
from py_vapid import Vapid
from py_vapid.utils import b64urlencode

from delivery.models import VapidKey


def current():
    return VapidKey.objects.filter(active=True).first()


def current_public_key():
    key = current()
    return key.public_key if key else None


@transaction.atomic
def generate(subject=None, *, rotate=False):
    """Create the key pair. Returns (key, created). With an active pair and no
    ``rotate`` the existing one is kept: replacing it cuts off every web subscriber."""
    existing = VapidKey.objects.select_for_update().filter(active=True).first()
    if existing and not rotate:
        return existing, False
    vapid = Vapid()
    vapid.generate_keys()
    private = vapid.private_key.private_numbers().private_value.to_bytes(32, "big")
    public = vapid.public_key.public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    VapidKey.objects.filter(active=True).update(active=False)
    key = VapidKey.objects.create(
        public_key=b64urlencode(public),
        private_key=b64urlencode(private),
        subject=subject or settings.VAPID_SUBJECT,
    )
    return key, True
