"""The campaign list's filters: a plain GET form, so the URL keeps them."""

from django import forms

from campaigns.models import Campaign, Label


class ListFilterForm(forms.Form):
    q = forms.CharField(label="Search by name", required=False, max_length=200)
    status = forms.ChoiceField(required=False, choices=[("", "Any status"), *Campaign.Status.choices])
    channel = forms.ChoiceField(required=False, choices=[("", "Any channel"), *Campaign.Channel.choices])
    kind = forms.ChoiceField(label="Type", required=False, choices=[("", "Any type"), *Campaign.Kind.choices])
    label = forms.ChoiceField(required=False)
    mine = forms.BooleanField(label="Mine only", required=False)
    archived = forms.BooleanField(label="Show archived", required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        names = Label.objects.values_list("name", flat=True)
        self.fields["label"].choices = [("", "Any label"), *((name, name) for name in names)]

    def filter(self, campaigns, *, user):
        """``campaigns`` narrowed by the valid filters (an invalid one is ignored, as
        a hand-edited URL should still show a list)."""
        data = {}
        if self.is_bound:
            self.is_valid()  # cleaned_data then holds every field that is valid
            data = self.cleaned_data
        if not data.get("archived"):
            campaigns = campaigns.filter(archived_at__isnull=True)
        if data.get("q", "").strip():
            campaigns = campaigns.filter(name__icontains=data["q"].strip())
        for name in ("status", "channel", "kind"):
            if data.get(name):
                campaigns = campaigns.filter(**{name: data[name]})
        if data.get("label"):
            campaigns = campaigns.filter(labels__name=data["label"])
        if data.get("mine"):
            campaigns = campaigns.filter(owner=user)
        return campaigns
