"""Sending live triggers: the limits, the control group and the variant (decided by
``campaigns.allocation``, as for scheduled runs), then one run and one dispatch per batch (see
the package docstring for why); and the beat task's claim of the inaction windows and
date-property sends that came due."""

import contextlib
from collections import defaultdict
from datetime import timedelta

from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from campaigns import targeting
from campaigns.actions import lifecycle
from campaigns.actions.dispatcher import cutoff_for
from campaigns.allocation import LiveLimits, LivePicker, in_control_group, rules_for
from campaigns.models import Campaign, CampaignRun, ControlMember, LiveTrigger
from campaigns.models.versions import current_version
from delivery.actions.dispatches import do_create_dispatch, do_enqueue, do_start
from segments.models import Event, Profile

Status = LiveTrigger.Status
DUE_BATCH = 1000

NO_DEVICE = "No device this channel can reach."
DAILY_LIMIT = "The campaign's daily limit was reached."
TARGET_CAP = "The campaign's total cap was reached."
NO_MESSAGE = "No message for this person's {name} and no fallback message."


def deliver(campaign, triggers, now, *, data=None):
    """Decide ``triggers`` (``LiveTrigger`` objects of ``campaign``, new or claimed pending
    ones) and send those that go, as one run and one dispatch. The caller holds the
    campaign's row lock inside a transaction; the sends are queued when it commits.
    ``data``: an API send's Liquid variables, the same for every trigger of the batch."""
    if not triggers:
        return None
    profile_ids = {trigger.profile_id for trigger in triggers}
    picker = LivePicker(campaign)
    devices = _devices(campaign, profile_ids, picker.contents())
    limits = LiveLimits(campaign, profile_ids, now)
    profiles = {
        row["pk"]: row for row in Profile.objects.filter(pk__in=profile_ids).values("pk", "properties", *picker.fields)
    }
    sent, held_out, rows = [], [], []
    for trigger in triggers:
        trigger.decided_at = now
        if limits.cap_reached():
            _skip(trigger, TARGET_CAP)
        elif not devices.get(trigger.profile_id):
            _skip(trigger, NO_DEVICE)
        elif not limits.today_allows(trigger.profile_id):
            _skip(trigger, DAILY_LIMIT)
        elif in_control_group(campaign, trigger.profile_id):
            trigger.status = Status.HELD_OUT
            held_out.append(trigger)
        elif (key := picker.pick(profiles.get(trigger.profile_id, {}))) is None:
            _skip(trigger, NO_MESSAGE.format(name=campaign.property_name))
        else:
            trigger.status, trigger.variant = Status.SENT, key
            context = message_context(trigger, data)
            rows += [(trigger.profile_id, device_id, key, None, context) for device_id in devices[trigger.profile_id]]
            limits.count(trigger.profile_id)
            sent.append(trigger)
    run = _run(campaign, sent, held_out, triggers, rows, picker, now) if sent or held_out else None
    for trigger in sent + held_out:
        trigger.run = run
    _save(triggers)
    if campaign.target_cap and limits.cap_reached():
        _complete(campaign, now)
    return run


def message_context(trigger, data=None):
    """The Liquid variables of a trigger's messages beside ``profile``: ``event``, the
    trigger event's properties (``{{ event.product }}``), as the What step's preview shows;
    for an API send, ``data``, the request's variables (``{{ data.order_id }}``)."""
    if trigger.event_id is None:
        return {"data": dict(data or {})}
    return {"event": dict(trigger.event.properties or {})}


def _skip(trigger, reason):
    trigger.status, trigger.reason = Status.SKIPPED, reason


def _devices(campaign, profile_ids, contents):
    """{profile id: [device ids]} the batch's messages go to: the campaign's target devices
    (``campaigns.targeting.devices``, Safari left out when ``contents`` say so)."""
    found = defaultdict(list)
    rows = targeting.devices(campaign, contents).filter(profile_id__in=profile_ids).order_by("pk")
    for profile_id, device_id in rows.values_list("profile_id", "pk"):
        found[profile_id].append(device_id)
    return found


def batch_time(campaign, now):
    """The planned time of a live batch's run: the batch's time, or a later one if a run
    already has it (the unique campaign + planned time, when two batches share a clock
    tick). The caller holds the campaign's row lock. Pop-ups' runs too (campaigns/popups.py)."""
    latest = campaign.runs.aggregate(latest=Max("planned_at"))["latest"]
    return now if latest is None or latest < now else latest + timedelta(microseconds=1)


def _run(campaign, sent, held_out, triggers, rows, picker, now):
    planned = batch_time(campaign, now)
    skipped = len(triggers) - len(sent) - len(held_out)
    # People, not messages: their devices' messages (the run's counters) may still wait (DND,
    # the throttle) or fail; "Live: 1 sent" beside "Sent 0, Held 2" read as a contradiction.
    people = f"{len(sent)} {'person' if len(sent) == 1 else 'people'} targeted"
    note = f"Live: {people}, {len(held_out)} held out" + (f", {skipped} skipped" if skipped else "")
    run = CampaignRun.objects.create(
        campaign=campaign,
        planned_at=planned,
        status=CampaignRun.Status.RUNNING if rows else CampaignRun.Status.COMPLETED,
        started_at=now,
        finished_at=None if rows else now,
        qualified=len(triggers),
        targeted=len(sent),
        note=note + ".",
        winner=picker.picked_winner or "",
        winner_picked_at=now if picker.picked_winner else None,
    )
    ControlMember.objects.bulk_create(
        [ControlMember(run=run, profile_id=trigger.profile_id) for trigger in held_out], ignore_conflicts=True
    )
    if rows:
        dispatch = do_create_dispatch(
            channel=campaign.channel,
            label=f"{campaign.name} · live {planned:%Y-%m-%d %H:%M:%S}"[:300],
            contents=picker.contents(),
            rules=_rules(campaign, now),
            version=current_version(campaign),
        )
        do_enqueue(dispatch, rows)
        run.dispatch = do_start(dispatch)
        run.save(update_fields=["dispatch"])
    return run


def _rules(campaign, now):
    """The dispatch rules of a batch. An API-triggered campaign's When step has a cut-off:
    each request's batch gets the one a run starting at that moment would
    (``dispatcher.cutoff_for``), so messages that DND or the throttle would hold past it
    are dropped."""
    rules = rules_for(campaign)
    if campaign.kind == Campaign.Kind.API_TRIGGERED and (cutoff := cutoff_for(campaign, now)):
        rules["cutoff"] = cutoff.isoformat()
    return rules


def _save(triggers):
    """Insert the new rows; update the claimed ones with one UPDATE per outcome (a
    bulk_update's CASE per row costs seconds for a thousand rows)."""
    claimed = defaultdict(list)
    for trigger in triggers:
        if trigger.pk is not None:
            outcome = (trigger.status, trigger.reason, trigger.variant, trigger.run_id, trigger.decided_at)
            claimed[outcome].append(trigger.pk)
    LiveTrigger.objects.bulk_create([trigger for trigger in triggers if trigger.pk is None])
    for (status, reason, variant, run_id, decided_at), ids in claimed.items():
        LiveTrigger.objects.filter(pk__in=ids).update(
            status=status, reason=reason, variant=variant, run_id=run_id, decided_at=decided_at
        )


def _complete(campaign, now):
    """The total cap is reached: the campaign completes (its last sends still go); windows
    still open will not be sent."""
    LiveTrigger.objects.filter(campaign=campaign, status=Status.PENDING).update(
        status=Status.SKIPPED, reason=TARGET_CAP, decided_at=now
    )
    lifecycle.do_complete(campaign, now=now)


# The beat task: windows and date-property sends that came due.


def do_send_due(*, now=None, batch=DUE_BATCH):
    """Send what came due, campaign by campaign, then complete the running live campaigns
    whose end has passed. Returns how many pending rows were decided."""
    now = now or timezone.now()
    due = LiveTrigger.objects.filter(status=Status.PENDING, due_at__lte=now)
    decided = 0
    for campaign_id in sorted(set(due.values_list("campaign_id", flat=True))):
        while (count := _send_due_of(campaign_id, now, batch)) > 0:
            decided += count
            if count < batch:
                break
    ended = Campaign.objects.filter(status=Campaign.Status.RUNNING, kind__in=Campaign.LIVE_KINDS, ends_at__lte=now)
    for campaign in ended:
        with contextlib.suppress(lifecycle.LifecycleError):  # paused or stopped meanwhile
            lifecycle.do_complete(campaign, now=now)
    return decided


def _send_due_of(campaign_id, now, batch):
    with transaction.atomic():
        campaign = Campaign.objects.select_for_update().filter(pk=campaign_id).first()
        if campaign is None or campaign.status == Campaign.Status.PAUSED:
            return 0  # paused: the windows wait, like queued messages
        # The campaign's lock already serialises its senders; skip_locked also keeps a
        # second worker off rows the first has claimed on databases that lock rows.
        due = list(
            LiveTrigger.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(campaign=campaign, status=Status.PENDING, due_at__lte=now)
            .select_related("event")
            .order_by("due_at", "pk")[:batch]
        )
        claimed = len(due)
        if not due:
            return 0
        if campaign.status != Campaign.Status.RUNNING:
            reason = f"The campaign was {campaign.get_status_display().lower()} before this was due."
            _close(due, Status.SKIPPED, reason, now)
            return claimed
        if campaign.ends_at:
            late = [trigger for trigger in due if trigger.due_at >= campaign.ends_at]
            _close(late, Status.SKIPPED, "It came due after the campaign's end.", now)
            due = [trigger for trigger in due if trigger.due_at < campaign.ends_at]
        if campaign.kind == Campaign.Kind.INACTION:
            cancelled = _cancelled(campaign, due)
            _close(cancelled, Status.CANCELLED, f"{campaign.inaction_event} came within the window.", now)
            due = [trigger for trigger in due if trigger not in cancelled]
        deliver(campaign, due, now)
        return claimed


def _close(triggers, status, reason, now):
    LiveTrigger.objects.filter(pk__in=[trigger.pk for trigger in triggers]).update(
        status=status, reason=reason, decided_at=now
    )


def _cancelled(campaign, triggers):
    """The windows in which their person did the inaction event (looked up again at the
    due time: it may have arrived in the same batch as the trigger, or before it)."""
    if not triggers:
        return []
    start = min(trigger.event.occurred_at for trigger in triggers)
    end = max(trigger.due_at for trigger in triggers)
    found = defaultdict(list)
    events = Event.objects.filter(
        profile_id__in={trigger.profile_id for trigger in triggers},
        name=campaign.inaction_event,
        occurred_at__gte=start,
        occurred_at__lte=end,
    )
    for profile_id, event_id, at in events.values_list("profile_id", "pk", "occurred_at"):
        found[profile_id].append((event_id, at))
    return [
        trigger
        for trigger in triggers
        if any(
            event_id != trigger.event_id and trigger.event.occurred_at <= at <= trigger.due_at
            for event_id, at in found[trigger.profile_id]
        )
    ]
