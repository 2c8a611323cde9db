"""Sends a backend asks for: an API-triggered campaign's ``POST /api/v1/campaigns/<id>/send``
(campaigns/api.py parses it; this decides and sends it).

A request is one live batch: its people become ``LiveTrigger`` rows without an event and go
through ``sending.deliver``, the path every live send takes, so the campaign's rules are the
same ones: it sends only while running and inside its start and end; the daily limit and the
total cap (counted with the campaign's other sends, under its row lock); the control group
(``allocation.in_control_group``, stable per person); the variant (``allocation.LivePicker``);
DND, the global frequency caps and the cut-off, which the delivery pipeline applies to each
message when it goes. A message queued here may so still be dropped or held later: its
outcome is on the message (stats, the profile page).

The segment, when the campaign has one: only its members are sent to, as a scheduled run's
audience would be (the segment's query, ``segments.rules.compiler``, for the request's
people). A condition on a live event selects everyone, as in a reach estimate: no event
came with the request. Without a segment, anyone the backend names.
"""

from collections import defaultdict

from django.db import transaction
from django.utils import timezone

from campaigns.live.sending import NO_DEVICE, deliver
from campaigns.models import Campaign, LiveTrigger
from delivery.models import Message
from segments.models import Profile
from segments.rules import tree
from segments.rules.compiler import compile_rules

QUEUED, UNKNOWN, UNREACHABLE, HELD_OUT, SKIPPED = "queued", "unknown_identity", "not_reachable", "held_out", "skipped"
NOT_MEMBER = "Not in the campaign's segment."


class NotSending(Exception):
    """The campaign cannot send now; the message says why (the API answers 409)."""


def do_send_requested(campaign_id, identities, data, *, now=None):
    """Send ``campaign_id``'s message to the people named by ``identities`` with ``data``
    as their Liquid ``data``. Returns one dict per distinct identity, in the order given:
    ``identity``, ``status`` (``QUEUED`` … ``SKIPPED``), ``reason`` and ``message_ids``
    (one per device reached). Raises ``Campaign.DoesNotExist`` for no API-triggered
    campaign of that id and ``NotSending`` when it is not sending."""
    now = now or timezone.now()
    identities = list(dict.fromkeys(identities))
    with transaction.atomic():
        # The row lock orders this request with pause / stop and with the campaign's other
        # batches, so the daily limit and the total cap are counted once.
        campaign = (
            Campaign.objects.select_for_update(of=("self",))
            .select_related("segment")
            .get(pk=campaign_id, kind=Campaign.Kind.API_TRIGGERED)
        )
        check_sending(campaign, now)
        profile_ids = dict(Profile.objects.filter(identity__in=identities).values_list("identity", "pk"))
        members = _members(campaign, set(profile_ids.values()), now)
        answers, triggers = {}, {}
        for identity in identities:
            pk = profile_ids.get(identity)
            if pk is None:
                answers[identity] = _answer(identity, UNKNOWN, "No profile has this identity.")
            elif pk not in members:
                answers[identity] = _answer(identity, SKIPPED, NOT_MEMBER)
            else:
                triggers[identity] = LiveTrigger(campaign=campaign, profile_id=pk)
        run = deliver(campaign, list(triggers.values()), now, data=data)
        messages = _messages(run, [trigger.profile_id for trigger in triggers.values()])
        for identity, trigger in triggers.items():
            answers[identity] = _outcome(identity, trigger, messages)
    return [answers[identity] for identity in identities]


def check_sending(campaign, now):
    """Raise ``NotSending`` unless ``campaign`` is running inside its start and end."""
    if campaign.status != Campaign.Status.RUNNING:
        state = campaign.get_status_display().lower()
        raise NotSending(f"The campaign is {state}: it sends only while running (publish it, or resume it).")
    if campaign.starts_at and now < campaign.starts_at:
        raise NotSending(f"The campaign starts at {campaign.starts_at.isoformat()}; it sends nothing before.")
    if campaign.ends_at and now >= campaign.ends_at:
        raise NotSending(f"The campaign ended at {campaign.ends_at.isoformat()}.")


def _members(campaign, profile_ids, now):
    if campaign.segment is None or not profile_ids:
        return profile_ids
    try:
        rules = compile_rules(tree.parse(campaign.segment.rules), now=now)
    except tree.RuleError:
        return set()  # rules that do not parse select nobody, as for live triggers
    return set(Profile.objects.filter(rules, pk__in=profile_ids).values_list("pk", flat=True))


def _messages(run, profile_ids):
    found = defaultdict(list)
    if run is None or run.dispatch_id is None:
        return found
    rows = Message.objects.filter(dispatch_id=run.dispatch_id, profile_id__in=profile_ids).order_by("pk")
    for profile_id, pk in rows.values_list("profile_id", "pk"):
        found[profile_id].append(pk)
    return found


def _outcome(identity, trigger, messages):
    if trigger.status == LiveTrigger.Status.SENT:
        return _answer(identity, QUEUED, "", messages[trigger.profile_id])
    if trigger.status == LiveTrigger.Status.HELD_OUT:
        return _answer(identity, HELD_OUT, "In the campaign's control group: held out to measure its effect.")
    if trigger.reason == NO_DEVICE:
        return _answer(identity, UNREACHABLE, NO_DEVICE)
    return _answer(identity, SKIPPED, trigger.reason)


def _answer(identity, status, reason, message_ids=()):
    return {"identity": identity, "status": status, "reason": reason, "message_ids": list(message_ids)}
