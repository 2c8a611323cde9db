"""Building what the delivery engine's tests send to: profiles, devices, a VAPID key, dispatches."""

import itertools

from delivery.actions.dispatches import do_create_dispatch, do_enqueue, do_start
from delivery.models import VapidKey
from segments.models import Device, Profile
from tests.pushservices.webpush import make_vapid_key

_numbers = itertools.count(1)


def vapid_key():
    private, public = make_vapid_key()
    VapidKey.objects.filter(active=True).update(active=False)
    return VapidKey.objects.create(private_key=private, public_key=public, subject="mailto:push@clarion.test")


def web_audience(service, count, *, browser="chrome", timezone="", name="Zoë Example", properties=None):
    """``count`` profiles, each with one allowed browser subscribed at the local Web Push service.
    Returns [(device, subscriber)] in device id order."""
    run = next(_numbers)
    profiles = Profile.objects.bulk_create(
        [
            Profile(identity=f"p{run}-{i}", name=name, timezone=timezone, properties=properties or {})
            for i in range(count)
        ]
    )
    subscribers = [service.subscribe() for _ in range(count)]
    devices = Device.objects.bulk_create(
        [
            Device(
                profile=profile,
                platform=Device.Platform.WEB,
                browser=browser,
                endpoint=subscriber.endpoint,
                p256dh=subscriber.p256dh,
                auth=subscriber.auth,
                push_status=Device.PushStatus.ALLOWED,
            )
            for profile, subscriber in zip(profiles, subscribers, strict=True)
        ]
    )
    return list(zip(devices, subscribers, strict=True))


def app_audience(platform, tokens, *, timezone=""):
    run = next(_numbers)
    devices = []
    for i, token in enumerate(tokens):
        profile = Profile.objects.create(identity=f"a{run}-{i}", name="Ana App", timezone=timezone)
        devices.append(
            Device.objects.create(
                profile=profile, platform=platform, token=token, push_status=Device.PushStatus.ALLOWED
            )
        )
    return devices


def started_dispatch(devices, content, *, rules=None, is_test=False, channel="web_push"):
    """A sending dispatch with one message per device (variant "A"). Outside a transaction
    test the send tasks it queues on commit never run: the test sends its batches itself."""
    dispatch = do_create_dispatch(
        channel=channel, label="test run", contents={"A": content}, rules=rules or {}, is_test=is_test
    )
    do_enqueue(dispatch, [(device.profile_id, device.pk, "A") for device in devices])
    return do_start(dispatch)
