from django import forms

from campaigns.models import Campaign

PUSH_CHANNELS = (Campaign.Channel.WEB_PUSH, Campaign.Channel.MOBILE_PUSH)


class StartForm(forms.Form):
    """The first choice: a name, the channel, and the campaign type."""

    name = forms.CharField(max_length=200, widget=forms.TextInput(attrs={"placeholder": "e.g. Spring sale reminder"}))
    channel = forms.ChoiceField(choices=Campaign.Channel.choices, widget=forms.RadioSelect)
    kind = forms.ChoiceField(label="Type", choices=Campaign.Kind.choices, widget=forms.RadioSelect)

    def clean_name(self):
        name = self.cleaned_data["name"].strip()
        if not name:
            raise forms.ValidationError("Give the campaign a name.")
        return name

    def clean(self):
        data = super().clean()
        # Exit-intent pop-ups show while someone is on the page: they are live by nature
        # (004_475e719091588949.txt: single action, page visit, referral, page count).
        if data.get("channel") == Campaign.Channel.EXIT_INTENT and data.get("kind") not in (
            None,
            Campaign.Kind.SINGLE_ACTION,
        ):
            self.add_error("kind", "A Web Exit Intent campaign is live: choose Single action.")
        # A push permission request shows while someone is on the page, to browsers still at Ask
        # (seed 002, soft onboarding): live, like a pop-up.
        elif data.get("channel") == Campaign.Channel.PERMISSION_REQUEST and data.get("kind") not in (
            None,
            Campaign.Kind.SINGLE_ACTION,
        ):
            self.add_error(
                "kind", "A Push permission request shows while a visitor is on your site: choose Single action."
            )
        # An API-triggered campaign is sent by a backend to people it names: a push to their
        # devices (a pop-up shows only while someone is on the page).
        elif data.get("kind") == Campaign.Kind.API_TRIGGERED and data.get("channel") not in PUSH_CHANNELS:
            self.add_error("kind", "API triggered is for Web Push and Mobile Push campaigns.")
        return data
