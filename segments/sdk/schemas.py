"""What the web SDK and its service worker may send, checked field by field.

Every body carries the site's publishable key and the SDK's client id. They are
camelCase like the options of ``Clarion.init`` and the service worker's URL; the
rest is snake_case like the JSON API and the push payload (``message_id``).
"""

import base64
import binascii
from typing import Annotated, Literal

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import URLValidator
from pydantic import Field, field_validator

from segments.pushhosts import EndpointRefused, check_endpoint
from segments.schemas import Identity, ProfileIn, Properties, Record, Strict

# Device.Browser, or "" when the SDK could not tell.
Browser = Literal["", "chrome", "firefox", "safari", "edge", "opera", "kaios"]
Category = Annotated[str, Field(min_length=1, max_length=100)]


class SdkIn(Record):
    # A Record: an event's name and properties, an engagement's action, a page address are
    # checked for NUL and unpaired surrogates like the API's records (PostgreSQL stores neither).
    siteKey: str = Field(min_length=1, max_length=40)
    # Made by the SDK (crypto.randomUUID) and kept in the browser's storage.
    clientId: str = Field(min_length=8, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")
    browser: Browser = ""


class ProfileFields(ProfileIn):
    """identify()'s second argument: the profile fields of the JSON API, less two.
    The identity is identify()'s first argument. The test-profile flag is for staff:
    anyone can call the SDK (its key is public), and a test profile receives the
    wizard's test sends of unpublished campaigns."""

    identity: None = None
    is_test: None = None

    @field_validator("identity", "is_test", mode="before")
    @classmethod
    def _not_from_the_browser(cls, value, info):
        if value is not None:
            reason = "is identify()'s first argument" if info.field_name == "identity" else "is set by staff only"
            raise ValueError(f"{reason}, not a profile field the SDK sends")
        return value


class IdentifyIn(SdkIn):
    identity: Identity
    profile: ProfileFields | None = None
    # Hex HMAC-SHA256 of the identity, made by the site's server with the site's
    # identity secret; required when the site verifies identities.
    identityHash: str | None = Field(None, max_length=128)


class TrackIn(SdkIn):
    name: str = Field(min_length=1, max_length=200)
    properties: Properties = Field(default_factory=dict)


def _base64url_bytes(value):
    try:
        return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    except (binascii.Error, ValueError):
        return None


class SubscriptionKeys(Strict):
    # RFC 8291 section 3: the user agent's P-256 public key (uncompressed point,
    # 65 bytes) and a 16-byte authentication secret, both base64url.
    p256dh: str = Field(min_length=1, max_length=128)
    auth: str = Field(min_length=1, max_length=64)

    @field_validator("p256dh")
    @classmethod
    def _point(cls, value):
        raw = _base64url_bytes(value)
        if raw is None or len(raw) != 65 or raw[0] != 4:
            raise ValueError("must be a base64url uncompressed P-256 public key (65 bytes)")
        return value

    @field_validator("auth")
    @classmethod
    def _secret(cls, value):
        raw = _base64url_bytes(value)
        if raw is None or len(raw) != 16:
            raise ValueError("must be a base64url 16-byte secret")
        return value


class PushSubscriptionIn(Strict):
    """PushSubscription.toJSON(), as the browser gives it."""

    endpoint: str = Field(min_length=1, max_length=1024)
    expirationTime: float | None = None  # the browser's; not used
    keys: SubscriptionKeys

    @field_validator("endpoint")
    @classmethod
    def _url(cls, value):
        try:
            URLValidator(schemes=["https", "http"])(value)
        except DjangoValidationError:
            raise ValueError("must be the push service's https URL") from None
        # The worker will post to it: only push services of the allow-list (SSRF, issue 12).
        try:
            check_endpoint(value)
        except EndpointRefused as refusal:
            raise ValueError(str(refusal)) from None
        return value


class SubscriptionIn(SdkIn):
    subscription: PushSubscriptionIn
    # Left out (the service worker renewing a subscription does not know them): the
    # categories stored before are kept.
    categories: list[Category] | None = Field(None, max_length=50)


class StatusIn(SdkIn):
    status: Literal["ask", "allowed", "blocked", "unsupported"]


class EngagementIn(SdkIn):
    message_id: str | int = Field(description="data.message_id of the push payload")
    kind: Literal["viewed", "clicked"]
    action: str = Field("", max_length=100, description="The button clicked, if one was")

    @field_validator("message_id")
    @classmethod
    def _as_text(cls, value):
        # One spelling for "12" and 12, so a report counts once whichever arrives.
        value = str(value).strip()
        if not 1 <= len(value) <= 64:
            raise ValueError("must be 1 to 64 characters")
        return value
