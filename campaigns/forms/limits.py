"""Who's reach limits on their own, for a campaign already scheduled, running or paused
(``campaigns/views/changes.py``): the audience stays as it was scheduled."""

from django import forms

from campaigns.forms.who import clean_limits, limit_field, live_limit_words
from campaigns.models import Campaign

FIELDS = ("reach_mode", "target_cap", "run_limit", "daily_limit", "safety_limit")


class LimitsForm(forms.Form):
    reach_mode = forms.ChoiceField(label="Campaign reach", choices=Campaign.ReachMode.choices, widget=forms.RadioSelect)
    target_cap = limit_field("How many", "Chosen at random from those reachable.")
    run_limit = limit_field("Run limit", "Most people one run sends to; empty: no limit.")
    daily_limit = limit_field("Daily limit", "Most people it sends to in a day; empty: no limit.")
    safety_limit = limit_field(
        "Safety check", "Do not run if more than this many people are reachable, and tell the owner; empty: no check."
    )

    def __init__(self, data=None, *, campaign):
        super().__init__(data, initial={name: getattr(campaign, name) for name in FIELDS})
        live_limit_words(self.fields, campaign)  # first come, first served (forms/who.py)

    def clean(self):
        data = super().clean()
        clean_limits(self, data)
        return data

    def save(self, campaign):
        for name in FIELDS:
            setattr(campaign, name, self.cleaned_data[name])
        if campaign.reach_mode != Campaign.ReachMode.CAP:  # as the Who step saves it
            campaign.target_cap = None
        campaign.save(update_fields=[*FIELDS, "updated_at"])
