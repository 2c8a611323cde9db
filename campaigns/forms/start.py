from django import forms

from campaigns.models import Campaign

PUSH_CHANNELS = (Campaign.Channel.WEB_PUSH, Campaign.Channel.MOBILE_PUSH)


class StartForm(forms.Form):
    """The first choice: a name, the channel, and the campaign type."""

    name = forms.CharField(max_length=200, widget=forms.TextInput(attrs={"placeholder": "e.g. Spring sale reminder"}))
    channel = forms.ChoiceField(choices=Campaign.Channel.choices, widget=forms.RadioSelect)
    # Not asked of a campaign shown on the page (``clean``): not required here.
    kind = forms.ChoiceField(label="Type", choices=Campaign.Kind.choices, widget=forms.RadioSelect, required=False)

    def clean_name(self):
        name = self.cleaned_data["name"].strip()
        if not name:
            raise forms.ValidationError("Give the campaign a name.")
        return name

    def clean(self):
        data = super().clean()
        # A Web Exit Intent pop-up (004_475e719091588949.txt) and a push permission request
        # (seed 002, soft onboarding) show while someone is on the page, to whoever qualifies
        # then: live by nature, with no type to choose (a pop-up's targeting, "single action,
        # page visit, page referral, page count", is chosen in Who). The page hides the types
        # for them; a type posted anyway (no JavaScript) is ignored.
        if data.get("channel") in Campaign.ON_PAGE_CHANNELS:
            self.errors.pop("kind", None)
            data["kind"] = Campaign.Kind.SINGLE_ACTION
        elif not data.get("kind"):
            if "kind" not in self.errors:
                self.add_error("kind", "Choose the type.")
        # An API-triggered campaign is sent by a backend to people it names: a push to their
        # devices (a pop-up shows only while someone is on the page).
        elif data.get("kind") == Campaign.Kind.API_TRIGGERED and data.get("channel") not in PUSH_CHANNELS:
            self.add_error("kind", "API triggered is for Web Push and Mobile Push campaigns.")
        return data
