"""The counts a marketer reads, defined once: each term's label and definition (``TERMS``, shown
on hover and on the glossary page, /stats/glossary/) and the functions that compute them for
runs and campaigns. Each word is defined in the lowest app that counts it: qualified and
reachable in ``segments.counts``, the message outcomes in ``delivery.counts``, held out and
capped here; ``TERMS`` puts them together in the order pages show them. The campaign list,
the campaign page and its run rows, the stats page and its CSV, the safety-check email and
the home page all read these (issue 14).

People, then messages: a run's segment is evaluated (reachable people), some are held out
(control group) or capped, and the rest are targeted, one message per reachable device. Each
message then ends sent, failed or not sent on purpose, or is still waiting, so

    reachable = held out + capped + targeted people
    targeted  = sent + failed + not sent on purpose + waiting   (messages)

The message outcomes come from ``delivery.counts`` (one GROUP BY over the messages); views,
clicks and conversions from the stats roll-ups (``stats.reports``).
"""

from dataclasses import dataclass, field

from django.db.models import Count, Q
from django.db.models.functions import Coalesce

from campaigns.models import CampaignRun, ControlMember, PermissionPrompt
from delivery import counts as delivery_counts
from delivery.codes import meaning
from segments import counts as segment_counts
from segments.counts import Term

# The forecast's words for what a run will do before it runs (``campaigns/actions/forecast.py``);
# its other lines are the counts above.
FORECAST_TERMS = (
    Term(
        "forecast",
        "Forecast",
        "What a scheduled run is expected to do, worked out before it runs from the whole audience, "
        "the campaign's rules and each person's recent messages. The one made when the campaign "
        "was scheduled is kept and shown beside what the run did.",
    ),
    Term(
        "safari_excluded",
        "Safari excluded",
        "Qualified people left out because the message is for all browsers but Safari and their "
        "only reachable devices are Safari.",
    ),
    Term(
        "known_dead",
        "Known-dead tokens",
        "Devices of qualified people whose push service already said the subscription or token "
        "is gone: they are retired and no message is written for them.",
    ),
    Term(
        "frequency_cap",
        "Frequency capped",
        "Messages the global frequency caps will stop: the person has already had the most "
        "campaigns allowed in the last day or week.",
    ),
    Term(
        "dnd_discarded",
        "Discarded by DND",
        "Messages that would reach people inside the campaign's Do Not Disturb hours, in their "
        "own time zone, when those hours are set to discard.",
    ),
    Term(
        "dnd_delayed",
        "Delayed by DND",
        "Messages held until the Do Not Disturb hours end in the person's time zone, then sent.",
    ),
    Term(
        "cutoff_passed",
        "Past the cut-off",
        "Messages that could only go after the campaign's cut-off time (held by the throttle, DND "
        "or the person's time zone until then), so are not sent.",
    ),
    Term(
        "expected",
        "Expected sends",
        "Targeted messages left after the frequency caps, DND and the cut-off: those Clarion will "
        "hand to the push services. Some may still fail; the run counts them as sent or failed.",
    ),
    Term(
        "last_send",
        "Last send",
        "When the last expected message goes out, at the global throttle's rate and after holds.",
    ),
    Term(
        "overlap",
        "Same-day overlap",
        "Reachable people another scheduled or running campaign also reaches the same day; the "
        "frequency caps stop the later message to those one message short of a cap.",
    ),
)

# A "Push permission request" campaign's banner (soft onboarding, campaigns/onboarding.py):
# what the people it was given to did with it, one PermissionPrompt row each.
PROMPT_TERMS = (
    Term(
        "prompt_shown",
        "Shown",
        "Soft-onboarding banners that appeared on a page (the browser reported it, or answered it).",
    ),
    Term(
        "prompt_subscribed",
        "Subscribed",
        "Banners whose Subscribe led the browser to allow push: the device became Allowed.",
    ),
    Term(
        "prompt_blocked",
        "Blocked",
        "Banners whose Subscribe ended with the browser's prompt refused: the device became Blocked.",
    ),
    Term(
        "prompt_later",
        "Maybe later",
        "Banners answered with Maybe later: that browser is not asked again for the campaign's days.",
    ),
    Term(
        "prompt_subscribe_rate",
        "Subscribe rate",
        "Subscribed ÷ shown, in percent: of the banners that appeared, the share whose visitor allowed push. "
        "It is the permission request's goal, so it has no conversion goal of its own.",
    ),
    Term(
        "prompt_block_rate",
        "Block rate",
        "Blocked ÷ shown, in percent: of the banners that appeared, the share that ended with push blocked "
        "in the browser (that browser cannot be asked again).",
    ),
)

TERMS = {
    term.name: term
    for term in (
        *segment_counts.TERMS,
        Term(
            "held_out",
            "Held out",
            "Reachable people set aside as the control group: deliberately sent nothing, so their "
            "conversions can be compared with the targeted people's.",
        ),
        Term(
            "capped",
            "Capped",
            "Reachable people left out by the campaign's target cap, run limit or daily limit.",
        ),
        *delivery_counts.TERMS,
        Term(
            "conversions",
            "Conversions",
            "Goal events by a person within the funnel window after a message they were sent.",
        ),
        *FORECAST_TERMS,
        *PROMPT_TERMS,
    )
}

# Why messages were not sent on purpose, in a word or two (the full meaning: delivery/codes.py).
NOT_SENT_REASONS = {
    "frequency_cap": "frequency cap",
    "dnd_discarded": "DND hours (discard)",
    "cutoff_passed": "cut-off passed",
    "safari_excluded": "Safari excluded",
    "stopped": "campaign stopped",
    "unreachable": "device no longer reachable",
    "safety_check": "safety check",
}
RUN_COUNTS = ("reachable", "held_out", "capped", "targeted", "sent", "failed", "not_sent", "waiting")


@dataclass
class RunCounts:
    """The counts of one run, or of several added up (a campaign's)."""

    reachable: int | None = None
    held_out: int = 0
    capped: int = 0
    outcomes: delivery_counts.Outcomes = field(default_factory=delivery_counts.Outcomes)

    targeted = property(lambda self: self.outcomes.targeted)
    sent = property(lambda self: self.outcomes.sent)
    failed = property(lambda self: self.outcomes.failed)
    not_sent = property(lambda self: self.outcomes.not_sent)
    waiting = property(lambda self: self.outcomes.waiting)
    held = property(lambda self: self.outcomes.held)

    @property
    def not_sent_reasons(self):
        """[(reason in words, messages, meaning)] most first: why messages were not sent on purpose."""
        found = sorted(self.outcomes.not_sent_codes.items(), key=lambda item: (-item[1], item[0]))
        return [(NOT_SENT_REASONS.get(code, code or "no reason recorded"), n, meaning(code)) for code, n in found]

    def __add__(self, other):
        known = [n for n in (self.reachable, other.reachable) if n is not None]
        return RunCounts(
            reachable=sum(known) if known else None,
            held_out=self.held_out + other.held_out,
            capped=self.capped + other.capped,
            outcomes=self.outcomes + other.outcomes,
        )


def for_runs(runs):
    """{run id: RunCounts} for ``runs`` (CampaignRun objects), in three queries: the messages
    of each run's dispatch and A/B remainder, and the control group sizes."""
    runs = list(runs)
    by_dispatch = delivery_counts.of_dispatches(
        {pk for run in runs for pk in (run.dispatch_id, run.remainder_id) if pk}
    )
    held_out = dict(ControlMember.objects.filter(run__in=runs).values_list("run").annotate(n=Count("pk")).order_by())
    found = {}
    for run in runs:
        outcomes = delivery_counts.Outcomes()
        for pk in (run.dispatch_id, run.remainder_id):
            if pk:
                outcomes = outcomes + by_dispatch[pk]
        found[run.pk] = _counts(run.qualified, run.targeted, held_out.get(run.pk, 0), outcomes)
    return found


def _counts(reachable, targeted_people, held_out, outcomes):
    # A run stores how many people it targeted; whoever was reachable and neither held out
    # nor targeted was capped (the target cap, run limit, or a live campaign's daily limit).
    capped = 0
    if reachable is not None and targeted_people is not None:
        capped = max(0, reachable - held_out - targeted_people)
    return RunCounts(reachable=reachable, held_out=held_out, capped=capped, outcomes=outcomes)


def for_campaign(campaign):
    """The counts of every run of ``campaign``, added up."""
    return added(for_runs(CampaignRun.objects.filter(campaign=campaign)).values())


def added(counts):
    """Several runs' RunCounts as one (a campaign's, from its runs')."""
    total = RunCounts()
    for one in counts:
        total = total + one
    return total


@dataclass
class PromptCounts:
    shown: int = 0
    subscribed: int = 0
    blocked: int = 0
    later: int = 0

    @property
    def subscribe_rate(self):
        """PROMPT_TERMS ``prompt_subscribe_rate`` in %, None before any banner was shown."""
        return None if not self.shown else self.subscribed * 100 / self.shown

    @property
    def block_rate(self):
        """PROMPT_TERMS ``prompt_block_rate`` in %, None before any banner was shown."""
        return None if not self.shown else self.blocked * 100 / self.shown


def prompt_counts(campaign):
    """The PROMPT_TERMS of a permission-request campaign, in one query."""
    return prompts_by_campaign([campaign]).get(campaign.pk) or PromptCounts()


def prompts_by_campaign(campaigns):
    """{campaign id: PromptCounts} of the campaigns given any banner, in one query (the Stats list)."""
    rows = (
        PermissionPrompt.objects.filter(campaign__in=campaigns)
        .values("campaign")
        .annotate(
            shown=Count("pk", filter=Q(shown_at__isnull=False)),
            subscribed=Count("pk", filter=Q(subscribed_at__isnull=False)),
            blocked=Count("pk", filter=Q(blocked_at__isnull=False)),
            later=Count("pk", filter=Q(later_at__isnull=False)),
        )
        .order_by()
    )
    return {row.pop("campaign"): PromptCounts(**row) for row in rows}


def sent_by_campaign(campaigns):
    """{campaign id: RunCounts with the message outcomes only} for a page of the list, in one
    query over the messages of each campaign's runs, the A/B winner's sends included."""
    campaign_of = Coalesce("dispatch__run__campaign", "dispatch__remainder_of_run__campaign")
    found = delivery_counts.tally(
        Q(dispatch__run__campaign__in=campaigns) | Q(dispatch__remainder_of_run__campaign__in=campaigns), campaign_of
    )
    empty = delivery_counts.Outcomes
    return {campaign.pk: RunCounts(outcomes=found.get(campaign.pk) or empty()) for campaign in campaigns}
