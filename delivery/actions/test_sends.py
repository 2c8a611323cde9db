"""Test sends from the wizard: the same pipeline, to the test profiles' devices, now; and what
became of each recipient, in words."""

from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from delivery.actions.dispatches import do_create_dispatch, do_enqueue, do_start
from delivery.codes import meaning, reason
from delivery.models import Dispatch, Message
from segments.models import Device
from segments.rules.compiler import reachable_devices

PLATFORMS = {Dispatch.Channel.WEB_PUSH: ("web",), Dispatch.Channel.MOBILE_PUSH: ("android", "ios")}
TEST_VARIANT = "test"
BROWSERS = dict(Device.Browser.choices)
PLATFORM_NAMES = dict(Device.Platform.choices)


@transaction.atomic
def do_send_test(*, channel, content, profiles, label, platforms=None):
    """One test dispatch to every reachable device of ``profiles`` (Profile objects or ids) on
    the channel's platforms (or ``platforms``: a campaign's target devices may be web and app
    ones, campaigns/targeting.py), started at once. Caps, DND, the throttle, the cut-off and
    the user's time zone do not apply to tests (``Dispatch.is_test``)."""
    platforms = [p for p in (platforms or PLATFORMS[channel]) if p in Device.Platform.values]
    profile_ids = [getattr(profile, "pk", profile) for profile in profiles]
    dispatch = do_create_dispatch(channel=channel, label=label, contents={TEST_VARIANT: content}, is_test=True)
    devices = (
        reachable_devices()
        .filter(profile_id__in=profile_ids, platform__in=platforms)
        .values_list("profile_id", "pk")
        .order_by("pk")
    )
    do_enqueue(dispatch, ((profile_id, device_id, TEST_VARIANT) for profile_id, device_id in devices))
    return do_start(dispatch)


@dataclass(frozen=True)
class Recipient:
    """One device of one test profile: ``outcome`` is Sent, Failed, Not sent (dropped) or
    Waiting; ``reason`` says why in words (``delivery/codes.py`` and the row's ``error_detail``)."""

    person: str
    device: str
    outcome: str
    reason: str = ""


def recipients(dispatch):
    """Each message of a test dispatch as a ``Recipient``, by person then device, in one query."""
    rows = (
        Message.objects.filter(dispatch=dispatch)
        .order_by("profile__name", "profile__identity", "device_id")
        .values(
            "profile__name",
            "profile__identity",
            "device__platform",
            "device__browser",
            "status",
            "code",
            "error_detail",
            "not_before",
        )
    )
    return [_recipient(row) for row in rows]


def _recipient(row):
    person = row["profile__name"] or row["profile__identity"]
    platform = row["device__platform"]
    if platform == Device.Platform.WEB:
        device = f"{BROWSERS.get(row['device__browser'], 'A browser')} (web push)"
    else:
        device = f"{PLATFORM_NAMES.get(platform, platform)} app"
    status, code, detail = row["status"], row["code"], row["error_detail"]
    if status == Message.Status.SENT:
        return Recipient(person, device, "Sent", "Accepted by the push service.")
    if status == Message.Status.FAILED:
        return Recipient(person, device, "Failed", reason(code, detail))
    if status == Message.Status.DROPPED:
        return Recipient(person, device, "Not sent", reason(code, detail))
    if status == Message.Status.HELD and code:
        at = timezone.localtime(row["not_before"]).strftime("%H:%M") if row["not_before"] else "later"
        why = meaning(code).rstrip(".")
        return Recipient(person, device, "Waiting", f"Will be tried again after {at}: {why[:1].lower()}{why[1:]}.")
    return Recipient(person, device, "Sending", "")
