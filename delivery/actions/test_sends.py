"""Test sends from the wizard: the same pipeline, to the test profiles' devices, now."""

from django.db import transaction

from delivery.actions.dispatches import do_create_dispatch, do_enqueue, do_start
from delivery.models import Dispatch
from segments.rules.compiler import reachable_devices

PLATFORMS = {Dispatch.Channel.WEB_PUSH: ("web",), Dispatch.Channel.MOBILE_PUSH: ("android", "ios")}
TEST_VARIANT = "test"


@transaction.atomic
def do_send_test(*, channel, content, profiles, label, platforms=None):
    """One test dispatch to every reachable device of ``profiles`` (Profile objects or ids) on
    the channel's platforms (or ``platforms``), started at once. Caps, DND, the throttle, the
    cut-off and the user's time zone do not apply to tests (``Dispatch.is_test``)."""
    platforms = [p for p in (platforms or PLATFORMS[channel]) if p in PLATFORMS[channel]]
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
