"""Send a test: a variant to profiles marked as test profiles (seeds 000 and 001,
"send a test notification to any user profile you have marked as a test profile")."""

from django.db import transaction

from campaigns.models import Campaign, TestSend

NOT_BUILT = "Recorded — not sent: the delivery engine is not built yet"


class TestSendError(ValueError):
    __test__ = False  # a name pytest would otherwise take for a test class


@transaction.atomic
def do_send_test(campaign, variant, profiles, user):
    """Record a test of ``variant`` for ``profiles`` (test profiles only) and say what
    became of it. Until the delivery engine's test path exists nothing is sent, and the
    record says so rather than pretending."""
    if campaign.channel == Campaign.Channel.EXIT_INTENT:
        raise TestSendError("Exit-intent pop-ups are shown by the web SDK on your site; they are not pushed.")
    profiles = list(profiles)
    if not profiles or not all(profile.is_test for profile in profiles):
        raise TestSendError("Choose one or more profiles marked as test profiles.")
    test = TestSend.objects.create(
        campaign=campaign, variant=variant, requested_by=user, status=TestSend.Status.RECORDED, note=NOT_BUILT
    )
    test.profiles.set(profiles)
    return test
