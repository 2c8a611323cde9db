"""Devices changing hands, and the web SDK's browser devices."""

from django.db import IntegrityError, transaction
from django.utils import timezone

from segments.models import Device, Event, Profile
from segments.schemas import ANONYMOUS_PREFIX


class NotVouched(Exception):
    """An identify() without the site's identity hash that would touch a known person."""


def is_anonymous(profile):
    return profile.identity.startswith(ANONYMOUS_PREFIX)


SIGNED_BY_THE_SERVER = "the site's server signs the identity (HMAC-SHA256 with the site's identity secret)."


def needs_hash(identity):
    return NotVouched(
        f"identityHash is needed for a known person: {identity} already has a profile, so this browser "
        f"becomes theirs, or changes it, only when {SIGNED_BY_THE_SERVER}"
    )


def hand_over(device, new_profile):
    """Move ``device`` (locked by the caller) to ``new_profile``.

    The person on this browser or install is now someone else: the push
    subscription follows the new profile, and the earlier profile keeps a Suspended
    device so its history shows why it is no longer reachable (seed 002). An
    anonymous earlier profile is merged into the new one instead: it was the same
    person before they logged in."""
    old = device.profile
    if is_anonymous(old):
        Event.objects.filter(profile=old).update(profile=new_profile)
        device.profile = new_profile
        device.save(update_fields=["profile"])
        if not old.devices.exclude(pk=device.pk).exists():
            old.delete()
        return
    if device.push_status in (Device.PushStatus.ALLOWED, Device.PushStatus.BLOCKED, Device.PushStatus.ASK):
        Device.objects.create(
            profile=old,
            platform=device.platform,
            browser=device.browser,
            push_status=Device.PushStatus.SUSPENDED,
            categories=device.categories,
            app_version=device.app_version,
            make=device.make,
            model=device.model,
            os_version=device.os_version,
            sdk_version=device.sdk_version,
            user_agent=device.user_agent,
            last_seen_at=device.last_seen_at,
        )
    device.profile = new_profile
    device.save(update_fields=["profile"])


@transaction.atomic
def browser_device(client_id, *, browser="", user_agent=""):
    """The web device for an SDK client id, created with an anonymous profile the
    first time a browser shows up. Returns it locked for this transaction."""
    device = Device.objects.select_for_update().filter(client_id=client_id).select_related("profile").first()
    now = timezone.now()
    if device is None:
        # Two first requests from a new browser can race here; get_or_create turns
        # the loser's unique-constraint error into a read of the winner's row.
        profile, _ = Profile.objects.get_or_create(identity=f"{ANONYMOUS_PREFIX}{client_id}")
        Device.objects.get_or_create(
            client_id=client_id,
            defaults={
                "profile": profile,
                "platform": Device.Platform.WEB,
                "browser": browser,
                "user_agent": user_agent,
            },
        )
        device = Device.objects.select_for_update().select_related("profile").get(client_id=client_id)
    device.last_seen_at = now
    if browser:
        device.browser = browser
    if user_agent:
        device.user_agent = user_agent[:500]
    device.save(update_fields=["last_seen_at", "browser", "user_agent"])
    return device


@transaction.atomic
def identify(client_id, identity, *, vouched, browser="", user_agent=""):
    """The person on this browser is ``identity``: the device moves to that profile
    (created if new). Returns (the device, whether the profile was created).

    ``vouched`` says the site's server signed the identity. Without that, the
    browser's word is all there is and anyone can give it (the site key is
    public), so it may only link an anonymous browser to an identity nobody has
    yet, or repeat the link the browser already has; raises NotVouched otherwise."""
    device = browser_device(client_id, browser=browser, user_agent=user_agent)
    if vouched:
        profile, created = Profile.objects.get_or_create(identity=identity)
    else:
        profile, created = _unvouched_profile(device, identity)
    if device.profile_id != profile.id:
        hand_over(device, profile)
    Profile.objects.filter(pk=profile.pk).update(last_seen_at=timezone.now())
    return device, created


def _unvouched_profile(device, identity):
    if device.profile.identity == identity:
        return device.profile, False
    if not is_anonymous(device.profile):
        # Moving a known person's browser would leave them a Suspended device.
        raise NotVouched(
            f"identityHash is needed for a known person: this browser is {device.profile.identity}'s, "
            f"and it moves to someone else only when {SIGNED_BY_THE_SERVER}"
        )
    try:
        # Not get_or_create: two unsigned identify() of one new identity at once
        # both find nothing, and get_or_create would hand the loser the winner's
        # profile. The unique index makes the loser wait for the winner's commit
        # and fail, so only the first browser links.
        with transaction.atomic():
            return Profile.objects.create(identity=identity), True
    except IntegrityError:
        raise needs_hash(identity) from None


@transaction.atomic
def save_subscription(client_id, endpoint, p256dh, auth, *, categories=None, browser="", user_agent=""):
    """Store a browser's push subscription; the device becomes Allowed. Categories
    left as None keep the ones stored before."""
    device = browser_device(client_id, browser=browser, user_agent=user_agent)
    # The same subscription under another client id: the browser's storage was
    # cleared but its push subscription survived. It now belongs to this device.
    Device.objects.filter(endpoint=endpoint).exclude(pk=device.pk).update(
        endpoint="", p256dh="", auth="", push_status=Device.PushStatus.ASK
    )
    device.endpoint, device.p256dh, device.auth = endpoint, p256dh, auth
    device.push_status = Device.PushStatus.ALLOWED
    if categories is not None:
        device.categories = list(categories)
    device.retired_at = None
    device.save()
    return device


@transaction.atomic
def report_push_status(client_id, status, *, browser="", user_agent=""):
    """What the browser says of push permission: ask, blocked or unsupported (and
    allowed, which only sticks once a subscription is stored)."""
    device = browser_device(client_id, browser=browser, user_agent=user_agent)
    if status == Device.PushStatus.ALLOWED and not device.endpoint:
        status = Device.PushStatus.ASK
    if status != Device.PushStatus.ALLOWED and device.endpoint:
        # Permission revoked in the browser: the subscription no longer works.
        device.endpoint = device.p256dh = device.auth = ""
    device.push_status = status
    device.save()
    return device
