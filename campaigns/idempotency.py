"""Idempotency keys of the API's send requests: a retried request (same API key, same
``Idempotency-Key`` header, same request) gets the first answer again and sends nothing.

Modelled on the IETF draft "The Idempotency-Key HTTP Header Field"
(draft-ietf-httpapi-idempotency-key-header): the key is the client's, unique per API key;
the same key with another request is refused with 422; answers are kept for
``IdempotencyKey.KEPT_DAYS`` days, then housekeeping forgets them. Only a request that sent
(200) is kept: one refused (the campaign was paused, a 409) may be retried with its key once
the cause is fixed.
"""

import hashlib
import json
import re
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from campaigns.models import IdempotencyKey

HEADER = "Idempotency-Key"
MAX_LENGTH = 255
# Visible ASCII, inner spaces allowed: what an HTTP header carries safely, and what a
# client generates (a UUID, "order-1234-confirmation").
PRINTABLE = re.compile(r"[!-~](?:[ -~]*[!-~])?")


class KeyReused(Exception):
    """The key came before with another request (the API answers 422)."""


def check_key(value):
    """The header's value, or None without one; ValueError naming the problem for a key
    that is empty, too long or not printable ASCII."""
    if value is None:
        return None
    if len(value) > MAX_LENGTH:
        raise ValueError(f"must be at most {MAX_LENGTH} characters")
    if not PRINTABLE.fullmatch(value):
        raise ValueError("must be 1 to 255 printable ASCII characters (e.g. a UUID)")
    return value


def fingerprint(campaign_id, body):
    """The request as compared between retries: its campaign and its parsed body, so the
    same JSON with other spacing or key order is the same request."""
    text = json.dumps({"campaign": campaign_id, "body": body}, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def answer_once(api_key, key, campaign_id, body, send, *, now=None):
    """``(answer, replayed)``: ``send()``'s answer, kept under ``key``; or, when ``key`` came
    before with the same request, the kept answer and True. Raises ``KeyReused`` when it
    came with another request.

    Two identical requests at once: both insert the key's row first, in the transaction
    that sends. PostgreSQL makes the second insert wait for the first transaction; when it
    commits, the second fails on the unique index and reads the first's answer; when it
    rolls back (the send was refused), the second goes on and sends itself."""
    now = now or timezone.now()
    mark = fingerprint(campaign_id, body)
    with transaction.atomic():
        IdempotencyKey.objects.filter(api_key=api_key, key=key, created_at__lt=expiry(now)).delete()
        try:
            with transaction.atomic():
                row = IdempotencyKey.objects.create(api_key=api_key, key=key, fingerprint=mark, campaign_id=campaign_id)
        except IntegrityError:
            row = None
        if row is not None:
            row.response = send()
            row.save(update_fields=["response"])
            return row.response, False
        kept = IdempotencyKey.objects.get(api_key=api_key, key=key)
    if kept.fingerprint != mark:
        raise KeyReused(
            f"This {HEADER} was used {kept.created_at:%Y-%m-%d %H:%M} UTC with another request; "
            "use a new key for a new request."
        )
    return kept.response, True


def expiry(now):
    return now - timedelta(days=IdempotencyKey.KEPT_DAYS)


def do_forget_expired(*, now=None):
    """Housekeeping: delete the keys older than ``KEPT_DAYS``. Returns how many."""
    deleted, _ = IdempotencyKey.objects.filter(created_at__lt=expiry(now or timezone.now())).delete()
    return deleted
