"""Drafts: creating a campaign and saving a wizard step."""

from django.db import transaction

from campaigns.models import Campaign, Variant


@transaction.atomic
def do_create_draft(*, name, channel, kind, owner):
    """A new draft campaign with its first (empty) variant."""
    campaign = Campaign.objects.create(name=name, channel=channel, kind=kind, owner=owner)
    Variant.objects.create(campaign=campaign, position=0, name="A")
    return campaign


def do_mark_step_done(campaign, step):
    """Remember that ``step`` validated, so Overview can tell what is still missing."""
    if step not in campaign.steps_done:
        campaign.steps_done = [*campaign.steps_done, str(step)]
        campaign.save(update_fields=["steps_done", "updated_at"])


def do_save_step(campaign, step, form):
    """Save a step's valid form (a ModelForm on the campaign, or any form with
    ``save(campaign)``) and mark the step done, in one transaction: a step is saved
    whole or not at all."""
    with transaction.atomic():
        if hasattr(form, "instance") and form.instance is campaign:
            form.save()
        else:
            form.save(campaign)
        do_mark_step_done(campaign, step)
    return campaign
