"""Drafts: creating a campaign and saving a wizard step."""

from django.db import transaction

from accounts import audit
from campaigns.models import Campaign, Variant

# Bookkeeping, not something a marketer changed.
NOT_AUDITED = {"id", "updated_at", "steps_done"}


@transaction.atomic
def do_create_draft(*, name, channel, kind, owner):
    """A new draft campaign with its first (empty) variant."""
    campaign = Campaign.objects.create(name=name, channel=channel, kind=kind, owner=owner)
    Variant.objects.create(campaign=campaign, position=0, name="A")
    audit.record(
        owner, audit.Verb.CREATED, campaign, f"{campaign.get_channel_display()}, {campaign.get_kind_display()}"
    )
    return campaign


def do_restart_draft(campaign, *, name, channel, kind, user=None):
    """Start submitted again for the draft it made (the marketer went Back to Start and on):
    the same draft with these choices, not a second one. A different channel or type asks
    again for every step (each step's choices depend on them: the audience's devices, the
    schedule's form, the message's fields); what they saved stays, to be checked."""
    with transaction.atomic():
        before = _snapshot(campaign.pk)
        if (channel, kind) != (campaign.channel, campaign.kind):
            campaign.steps_done = []
        campaign.name, campaign.channel, campaign.kind = name, channel, kind
        campaign.save(update_fields=["name", "channel", "kind", "steps_done", "updated_at"])
        after = _snapshot(campaign.pk)
        changed = [label for label in after if before.get(label) != after[label]]
        if changed:
            audit.record(user, audit.Verb.CHANGED, campaign, "Start: " + ", ".join(changed))
    return campaign


def do_mark_step_done(campaign, step):
    """Remember that ``step`` validated, so Overview can tell what is still missing."""
    if step not in campaign.steps_done:
        campaign.steps_done = [*campaign.steps_done, str(step)]
        campaign.save(update_fields=["steps_done", "updated_at"])


def do_save_step(campaign, step, form, *, user=None):
    """Save a step's valid form (a ModelForm on the campaign, or any form with
    ``save(campaign)``) and mark the step done, in one transaction: a step is saved
    whole or not at all. What it changed goes in the audit log as ``user``'s change."""
    with transaction.atomic():
        before = _snapshot(campaign.pk)
        if hasattr(form, "instance") and form.instance is campaign:
            form.save()
        else:
            form.save(campaign)
        do_mark_step_done(campaign, step)
        after = _snapshot(campaign.pk)
        changed = [name for name in after if before.get(name) != after[name]]
        if changed:
            label = Campaign.Step(step).label
            audit.record(user, audit.Verb.CHANGED, campaign, f"{label}: " + ", ".join(changed))
    return campaign


def _snapshot(pk):
    """{what a marketer would call it: its saved value}, read from the database (a step's
    form may have changed the object in memory already)."""
    saved = Campaign.objects.select_related("segment").get(pk=pk)
    values = {
        str(field.verbose_name): getattr(saved, field.attname)
        for field in Campaign._meta.concrete_fields
        if field.name not in NOT_AUDITED
    }
    values["labels"] = sorted(saved.labels.values_list("pk", flat=True))
    values["rules"] = saved.segment.rules if saved.segment and saved.segment.is_adhoc else None
    values["messages"] = list(
        saved.variants.order_by("position").values_list("name", "property_value", "is_fallback", "share", "content")
    )
    return values
