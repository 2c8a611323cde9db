"""The roll-ups stats pages read: per campaign, run, dispatch, variant and day.

``do_roll_up`` (beat, every minute: ``stats.tasks.roll_up``) recomputes each dispatch whose
numbers may have moved since its last pass, from its messages and conversions, and replaces
that dispatch's rows. Recomputing rather than adding deltas makes it safe to run twice or
at once: the same messages give the same rows. What "may have moved" means:

- never rolled up (a run's dispatch seen for the first time);
- tracking noted an impression, view, click or conversion since (``RollUp.changes``);
- it is sending or paused (a batch records outcomes at any moment);
- it finished shortly before its last pass, or after it (the last batches' commits).

A dispatch whose messages were pruned (``Dispatch.pruned_at``: ``stats.actions.retention``)
is never recomputed: its rows were made current just before, and are all that is left.
"""

from datetime import timedelta

from django.db import transaction
from django.db.models import Count, DateTimeField, Exists, F, OuterRef, Q, Sum
from django.db.models.functions import Coalesce, TruncDate
from django.utils import timezone

from campaigns.models import CampaignRun
from delivery.counts import ENGAGED
from delivery.models import Dispatch, Message
from stats.models import Conversion, DailyStat, ErrorStat, RollUp

# A batch's outcomes may commit a little after the dispatch's finished_at was taken.
SETTLE = timedelta(minutes=2)
ERROR_STATUSES = (Message.Status.FAILED, Message.Status.DROPPED)


def do_roll_up(*, now=None):
    """Bring every roll-up that may be stale up to date. Returns how many dispatches were recomputed."""
    now = now or timezone.now()
    adopt_new_dispatches()
    due = RollUp.objects.filter(dispatch__pruned_at__isnull=True).filter(
        Q(rolled_at__isnull=True)
        | Q(changes__gt=F("rolled_changes"))
        | Q(dispatch__status__in=[Dispatch.Status.SENDING, Dispatch.Status.PAUSED])
        | Q(dispatch__finished_at__gte=F("rolled_at") - SETTLE)
    )
    done = 0
    for rollup_id in due.values_list("pk", flat=True):
        roll_up_dispatch(rollup_id, now=now)
        done += 1
    return done


def adopt_new_dispatches():
    """A RollUp row for each campaign run's dispatch (and A/B remainder) that has none."""
    new = []
    for field in ("dispatch", "remainder"):
        runs = (
            CampaignRun.objects.filter(**{f"{field}__isnull": False})
            .exclude(Exists(RollUp.objects.filter(dispatch_id=OuterRef(field))))
            .values_list("pk", "campaign_id", f"{field}_id")
        )
        new += [RollUp(run_id=run, campaign_id=campaign, dispatch_id=dispatch) for run, campaign, dispatch in runs]
    RollUp.objects.bulk_create(new, ignore_conflicts=True)
    return len(new)


@transaction.atomic
def roll_up_dispatch(rollup_id, *, now=None):
    """Recompute one dispatch's rows. The RollUp row is locked first and its ``changes`` read
    before the messages: tracking that commits meanwhile bumps it again, and the next pass
    sees that."""
    rollup = RollUp.objects.select_for_update().get(pk=rollup_id)
    if Dispatch.objects.filter(pk=rollup.dispatch_id, pruned_at__isnull=False).exists():
        return  # its messages are (being) deleted: recounting them would lose what they were
    days, errors = _count(rollup.dispatch_id)
    keys = {"campaign_id": rollup.campaign_id, "run_id": rollup.run_id, "dispatch_id": rollup.dispatch_id}
    DailyStat.objects.filter(dispatch_id=rollup.dispatch_id).delete()
    DailyStat.objects.bulk_create(
        [DailyStat(**keys, variant=variant, day=day, **counts) for (variant, day), counts in sorted(days.items())]
    )
    ErrorStat.objects.filter(dispatch_id=rollup.dispatch_id).delete()
    ErrorStat.objects.bulk_create(
        [
            ErrorStat(**keys, variant=variant, status=status, code=code, count=count)
            for (variant, status, code), count in sorted(errors.items())
        ]
    )
    messages = Message.objects.filter(dispatch_id=rollup.dispatch_id)
    conversions = Conversion.objects.filter(dispatch_id=rollup.dispatch_id)
    rollup.profiles = messages.values("profile_id").distinct().count()
    rollup.converted_profiles = conversions.values("message__profile_id").distinct().count()
    rollup.rolled_changes = rollup.changes
    rollup.rolled_at = now or timezone.now()
    rollup.save(update_fields=["profiles", "converted_profiles", "rolled_changes", "rolled_at"])


def _day(field):
    # Days in the dashboard's time zone (settings.TIME_ZONE), as people read them.
    return TruncDate(field, tzinfo=timezone.get_current_timezone())


def _count(dispatch_id):
    """({(variant, day): counters}, {(variant, status, code): count}) for one dispatch."""
    messages = Message.objects.filter(dispatch_id=dispatch_id)
    days = {}

    def add(variant, day, name, value):
        counters = days.setdefault((variant, day), {})
        counters[name] = counters.get(name, 0) + value

    errors = {}
    # A refused message has no sent_at: it is dated by when it was marked.
    outcome_day = _day(Coalesce("sent_at", "updated_at", output_field=DateTimeField()))
    outcomes = (
        messages.filter(status__in=[Message.Status.SENT, *ERROR_STATUSES])
        .values("variant", "status", "code", day=outcome_day)
        .annotate(n=Count("pk"), tried=Count("pk", filter=Q(attempts__gt=0)))
    )
    for row in outcomes:
        variant, status = row["variant"], row["status"]
        if status == Message.Status.SENT:
            add(variant, row["day"], "sent", row["n"])
            add(variant, row["day"], "delivered", row["n"])
            continue
        # "Sent" is what reached a push service: a refusal was sent, a drop or a render error was not.
        add(variant, row["day"], "sent", row["tried"] if status == Message.Status.FAILED else 0)
        add(variant, row["day"], status, row["n"])
        errors[(variant, status, row["code"])] = errors.get((variant, status, row["code"]), 0) + row["n"]
    for name, moment in ENGAGED.items():
        rows = (
            messages.annotate(moment=moment)
            .filter(moment__isnull=False)
            .values("variant", day=_day("moment"))
            .annotate(n=Count("pk"))
        )
        for row in rows:
            add(row["variant"], row["day"], name, row["n"])
    conversions = (
        Conversion.objects.filter(dispatch_id=dispatch_id)
        .values("variant", day=_day("occurred_at"))
        .annotate(n=Count("pk"), revenue=Sum("revenue"))
    )
    for row in conversions:
        add(row["variant"], row["day"], "conversions", row["n"])
        add(row["variant"], row["day"], "revenue", row["revenue"] or 0)
    return days, errors
