"""Changing a campaign that is scheduled, running or paused: its messages (What), its reach
limits (Who's caps) and its schedule (When). The views show ``impact`` on a confirmation
page first; ``do_change`` makes the change.

What happens to messages already queued. A message is rendered when a batch sends it, from
its dispatch's frozen ``contents``. A change of the What replaces the contents of the
campaign's unfinished dispatches (``dispatches.do_replace_contents``), so every message no
batch has claimed yet (queued or held) goes out with the new text; those already sent keep
the old one, and a batch in flight at that moment finishes with the text it read. Each
change is a new ``ContentVersion`` and every sent message records its version, so the
campaign's stats stay one campaign's and show each version's numbers.

Limits and schedule are read when a run starts (a scheduled run's cap, run limit and
safety check, its DND hours and cut-off) or when a live trigger is decided (the daily limit
and total cap): messages already queued keep the rules of the run that queued them.
"""

from copy import copy
from dataclasses import dataclass
from datetime import timedelta

from django.db import transaction
from django.db.models import Max, Q
from django.utils import timezone

from accounts import audit
from campaigns import schedule
from campaigns.actions import lifecycle
from campaigns.actions.drafts import do_save_step
from campaigns.allocation import variant_keys
from campaigns.models import Campaign, ContentVersion
from campaigns.models.versions import current_version
from delivery import counts as delivery_counts
from delivery.actions import dispatches
from delivery.models import Dispatch, Message

Step = Campaign.Step
LIMITS = "limits"  # Who's caps on their own page: the audience itself stays as scheduled
UNFINISHED = (Dispatch.Status.OPEN, Dispatch.Status.SENDING, Dispatch.Status.PAUSED)


class ChangeError(lifecycle.LifecycleError):
    """A refused change; ``str()`` says why, for the marketer."""


@dataclass(frozen=True)
class Impact:
    """What a change does to the campaign's messages, as the confirmation page says it."""

    queued: int  # queued or held, not claimed: a change of the What reaches them
    in_flight: int  # claimed by a batch now: sent as they were read
    sent: int  # already sent: they keep their version
    version: int  # the version its variants hold now


def _dispatches(campaign):
    """The campaign's dispatches (each run's, and an A/B run's remainder for the winner)."""
    return Dispatch.objects.filter(Q(run__campaign=campaign) | Q(remainder_of_run__campaign=campaign))


def impact(campaign):
    open_ids = list(_dispatches(campaign).filter(status__in=UNFINISHED).values_list("pk", flat=True))
    pending = dispatches.pending_counts(open_ids)
    sent = sum(outcomes.sent for outcomes in delivery_counts.tally(Q(dispatch__in=_dispatches(campaign))).values())
    return Impact(
        queued=pending[Message.Status.QUEUED] + pending[Message.Status.HELD],
        in_flight=pending[Message.Status.SENDING],
        sent=sent,
        version=current_version(campaign),
    )


def what_problem(campaign, form):
    """Why a valid What form cannot be applied to a campaign already out ("" when it can):
    sent messages and stats are keyed by variant, so the text may change, not the variants
    themselves or the kind of message."""
    data = form.settings.cleaned_data
    variants = list(campaign.variants.order_by("position"))
    same_kind = data["message_type"] == campaign.message_type and len(form.entries) == len(variants)
    if same_kind and campaign.message_type != Campaign.MessageType.SINGLE:
        same_kind = all(entry.name == variant.name for entry, variant in zip(form.entries, variants, strict=True))
    if same_kind and campaign.message_type == Campaign.MessageType.BY_PROPERTY:
        same_kind = all(
            (entry.form.cleaned_data.get("property_value") or "") == variant.property_value
            for entry, variant in zip(form.entries, variants, strict=True)
            if not variant.is_fallback
        )
    if same_kind:
        return ""
    return (
        f"While it is {campaign.get_status_display().lower()}, the text of its messages can change, but not "
        "the message type, the variants or their names: duplicate it to send something else."
    )


def when_problem(campaign, form, *, now=None):
    """Why a valid When form cannot be applied to a campaign already out ("" when it can):
    a one-time campaign that has run has nothing left to reschedule, and the new schedule
    must pass the checks scheduling made (a time ahead, an end after the start …)."""
    if not campaign.is_live and campaign.kind == Campaign.Kind.ONE_TIME and campaign.runs.exists():
        return f"“{campaign.name}” has already run: its one send time cannot change."
    probe = copy(campaign)
    form.apply(probe)
    found = [problem.message for problem in lifecycle.problems(probe, now=now) if problem.step == Step.WHEN]
    return "The schedule cannot change like this: " + " ".join(found) if found else ""


def problem(campaign, step, form, *, now=None):
    """Why ``form`` of ``step`` cannot be applied to ``campaign`` as it is ("" when it can)."""
    if step == Step.WHAT:
        return what_problem(campaign, form)
    if step == Step.WHEN:
        return when_problem(campaign, form, now=now)
    return ""


def do_change(campaign, step, form, *, user, now=None):
    """Apply a valid form of ``step`` (What, When or ``LIMITS``) to a scheduled, running
    or paused campaign, in one transaction under the campaign's lock; audited as ``user``'s
    change. A change of the What is a new content version (see the module docstring)."""
    now = now or timezone.now()
    with transaction.atomic():
        fresh = lifecycle.lock(campaign, "change")
        if found := problem(fresh, step, form, now=now):
            raise ChangeError(found)  # checked again under the lock: a run may have started meanwhile
        before = _contents(fresh)
        # The limits are Who's fields: audited as a change of Who.
        do_save_step(fresh, Step.WHO if step == LIMITS else step, form, user=user)
        if step == Step.WHEN:
            _reschedule(fresh, now)
        after = _contents(fresh)
        if step == Step.WHAT and after != before:
            _new_version(fresh, before, after, user, now)
    campaign.refresh_from_db()
    return campaign


def _contents(campaign):
    return {key: variant.content for key, variant in variant_keys(list(campaign.variants.order_by("position"))).items()}


def _new_version(campaign, before, after, user, now):
    number = current_version(campaign)
    if not campaign.versions.exists():
        # Version 1 is what went out before the first change.
        ContentVersion.objects.create(
            campaign=campaign, number=1, contents=before, created_at=campaign.scheduled_at or now, note="As scheduled."
        )
    open_ids = list(_dispatches(campaign).filter(status__in=UNFINISHED).values_list("pk", flat=True))
    pending = dispatches.do_replace_contents(open_ids, after, number + 1)
    took = pending[Message.Status.QUEUED] + pending[Message.Status.HELD]
    note = f"{took} queued messages took it"
    if pending[Message.Status.SENDING]:
        note += f"; {pending[Message.Status.SENDING]} being sent at that moment kept version {number}"
    ContentVersion.objects.create(
        campaign=campaign, number=number + 1, contents=after, created_at=now, created_by=user, note=note + "."
    )
    audit.record(user, audit.Verb.CHANGED, campaign, f"What: version {number + 1} of its messages ({note})")


def _reschedule(campaign, now):
    """A past-behaviour campaign's next firing from its new schedule, after its latest run
    (a changed schedule never fires a time it already fired)."""
    if campaign.is_live or campaign.channel == Campaign.Channel.EXIT_INTENT:
        return
    latest = campaign.runs.aggregate(latest=Max("planned_at"))["latest"]
    after = max(now, latest + timedelta(microseconds=1)) if latest else now
    upcoming = schedule.upcoming(campaign, after=after, count=1)
    # update(): the dispatcher reads this row; the campaign's lock is held.
    Campaign.objects.filter(pk=campaign.pk).update(next_run_at=upcoming[0] if upcoming else None)
