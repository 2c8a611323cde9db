"""Send a test: a variant to profiles marked as test profiles (seeds 000 and 001,
"send a test notification to any user profile you have marked as a test profile"),
through the delivery engine's real pipeline, at once."""

from django.db import transaction

from campaigns import targeting
from campaigns.models import Campaign, TestSend
from delivery.actions.dispatches import counts
from delivery.actions.test_sends import do_send_test as do_deliver_test
from delivery.actions.test_sends import recipients
from delivery.models import Message

# pytest collects files named test_*.py: this one is an actions module, not tests.
__test__ = False

NO_DEVICE = "Not sent: none of these test profiles has a device this campaign can reach (its target devices, Who)."


class TestSendError(ValueError):
    __test__ = False  # the test modules import it: not a test class


@transaction.atomic
def do_send_test(campaign, variant, profiles, user):
    """Send ``variant`` to the reachable devices of ``profiles`` (test profiles only) as one
    test dispatch, and record it. The sends are queued when this transaction commits."""
    if campaign.channel == Campaign.Channel.EXIT_INTENT:
        raise TestSendError("Exit-intent pop-ups are shown by the web SDK on your site; they are not pushed.")
    profiles = list(profiles)
    if not profiles or not all(profile.is_test for profile in profiles):
        raise TestSendError("Choose one or more profiles marked as test profiles.")
    dispatch = do_deliver_test(
        channel=campaign.channel,
        content=variant.content,
        profiles=profiles,
        label=f"Test of {campaign.name} / {variant.name}",
        platforms=targeting.platforms(campaign),
    )
    devices = Message.objects.filter(dispatch=dispatch).count()
    test = TestSend.objects.create(
        campaign=campaign,
        variant=variant,
        requested_by=user,
        dispatch=dispatch,
        status=TestSend.Status.QUEUED if devices else TestSend.Status.FAILED,
        note=f"Sending to {devices} device{'s' if devices != 1 else ''}." if devices else NO_DEVICE,
    )
    test.profiles.set(profiles)
    return test


class Recent(list):
    """The latest tests; ``sending`` while any still has messages on their way (the step's
    list of tests then asks again until every recipient's outcome is known)."""

    @property
    def sending(self):
        return any(state == "Sending" for _, _, state in self)


def recent_tests(campaign, limit):
    """The latest test sends as (test, {message status: count, "waiting", "recipients": each
    device's outcome with its reason in words} or None, what to call its state now)."""
    tests = campaign.test_sends.select_related("variant", "dispatch").prefetch_related("profiles")[:limit]
    return Recent(_with_outcome(test) for test in tests)


def _with_outcome(test):
    if test.dispatch is None:
        return test, None, test.get_status_display()
    outcome = counts(test.dispatch)
    waiting = outcome["queued"] + outcome["sending"] + outcome["held"]
    if waiting:
        state = "Sending"
    elif not outcome["sent"] and not outcome["failed"]:
        state = test.get_status_display()
    elif not outcome["failed"]:
        state = "Sent"
    else:
        state = "Failed" if not outcome["sent"] else "Partly sent"
    return test, outcome | {"waiting": waiting, "recipients": recipients(test.dispatch)}, state
