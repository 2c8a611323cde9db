"""Settings → Delivery forms. Secrets are write-only: their widgets never render a value,
not even the one just submitted when the form comes back with an error."""

from django import forms
from django.urls import reverse_lazy

from delivery import credentials
from delivery.actions.settings import LIMIT_FIELDS
from delivery.durations import duration
from delivery.models import DeliverySettings
from segments.actions.reach import reachable_devices

MAX_KEY_FILE_BYTES = 64 * 1024  # a service-account JSON is about 2.4 KB, a .p8 about 250 bytes


duration_text = duration  # the one formatter (delivery/durations.py)


def throttle_example(per_15_min, devices=None):
    """What a throttle means for this audience, e.g. "100,000 per 15 min: a run to all
    500,000 devices push can reach now takes 1 hour 15 minutes" (the seed's example,
    001_7e98aec7573e4386.txt, "Push Campaign Throttling"). ``devices`` defaults to the
    devices reachable now: the throttle counts messages, and a run sends one per device."""
    if not per_15_min:
        return "No throttle: a run goes out as fast as the workers and push services allow."
    devices = reachable_devices() if devices is None else devices
    if not devices:
        return f"{per_15_min:,} per 15 min ({per_15_min * 4:,} an hour). No device can receive push yet."
    windows = -(-devices // per_15_min)  # ceil: the last window may be partly used
    everyone = "the only device" if devices == 1 else f"all {devices:,} devices"
    return f"{per_15_min:,} per 15 min: a run to {everyone} push can reach now takes {duration_text(windows * 15)}."


class SecretTextarea(forms.Textarea):
    def format_value(self, value):
        return None


class LimitsForm(forms.ModelForm):
    class Meta:
        model = DeliverySettings
        fields = LIMIT_FIELDS
        labels = {
            "daily_cap": "Per profile per day",
            "weekly_cap": "Per profile per week",
            "throttle_per_15_min": "Messages per 15 minutes",
            "dnd_start": "Do not disturb from",
            "dnd_end": "until",
            "dnd_action": "During DND",
            "amplification": "On",
        }
        help_texts = {
            "daily_cap": "Most messages one person gets from all campaigns in a day. Empty: no limit.",
            "weekly_cap": "The same over 7 days. Empty: no limit.",
            "throttle_per_15_min": "All campaigns and workers together. Empty: no throttle.",
            "dnd_start": "The default for new campaigns, in each person's time zone. Empty: none.",
            "amplification": (
                "A web or app push the push service accepted but no device reported as shown within an hour "
                "is sent once more, with the same collapse key, so people whose device dropped it see it and "
                "nobody sees it twice."
            ),
        }
        widgets = {
            "dnd_start": forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
            "dnd_end": forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
            "dnd_action": forms.RadioSelect,
            # Says what the number means while it is typed (views.throttle_hint).
            "throttle_per_15_min": forms.NumberInput(
                attrs={
                    "hx-get": reverse_lazy("delivery:throttle-hint"),
                    "hx-trigger": "input changed delay:300ms",
                    "hx-target": "#throttle-hint",
                    "hx-swap": "outerHTML",
                }
            ),
        }

    def clean(self):
        data = super().clean()
        start, end = data.get("dnd_start"), data.get("dnd_end")
        if (start is None) != (end is None) and not self.has_error("dnd_start") and not self.has_error("dnd_end"):
            self.add_error("dnd_end" if start else "dnd_start", "Give both ends of the DND hours, or neither.")
        elif start is not None and start == end:
            self.add_error("dnd_end", "DND must end at another time than it starts.")
        daily, weekly = data.get("daily_cap"), data.get("weekly_cap")
        if daily is not None and weekly is not None and weekly < daily:
            self.add_error("weekly_cap", "The weekly limit cannot be below the daily one.")
        for name in ("daily_cap", "weekly_cap", "throttle_per_15_min"):
            if data.get(name) == 0:
                self.add_error(name, "Zero would stop every send; leave it empty for no limit.")
        return data


def _key_text(form, text_field, file_field):
    """The pasted text, or the uploaded file's, or None when neither was given."""
    upload = form.cleaned_data.get(file_field)
    if upload:
        if upload.size > MAX_KEY_FILE_BYTES:
            raise forms.ValidationError({file_field: "This file is too large to be a key."})
        try:
            return upload.read().decode()
        except UnicodeDecodeError:
            raise forms.ValidationError({file_field: "This file is not text."}) from None
    return form.cleaned_data.get(text_field, "").strip() or None


def _checked(form, check, *args):
    """``check(*args)``, or None with the error added next to its field."""
    try:
        return check(*args)
    except credentials.CredentialError as error:
        form.add_error(error.field, error.message)
        return None


class FcmForm(forms.Form):
    project_id = forms.CharField(
        label="Project id", required=False, help_text="Leave empty to take it from the key file."
    )
    service_account = forms.CharField(
        label="Service-account key (JSON)", required=False, widget=SecretTextarea(attrs={"rows": 4})
    )
    service_account_file = forms.FileField(label="or upload the .json file", required=False)

    def __init__(self, *args, has_key=False, **kwargs):
        super().__init__(*args, **kwargs)
        self.has_key = has_key
        if has_key:
            self.fields["service_account"].help_text = "Leave empty to keep the saved key."

    def clean(self):
        data = super().clean()
        text = _key_text(self, "service_account", "service_account_file")
        if text is None and not self.has_key:
            self.add_error("service_account", "Paste or upload the service-account key.")
            return data
        info = text and _checked(self, credentials.parse_service_account, text)
        if text and info is None:
            return data
        data["service_account_json"] = text  # None: keep the saved key
        data["project_id"] = _checked(self, credentials.check_project_id, data.get("project_id"), info)
        return data


class ApnsForm(forms.Form):
    team_id = forms.CharField(label="Team id", max_length=10)
    key_id = forms.CharField(label="Key id", max_length=10)
    topic = forms.CharField(label="Bundle id (topic)", max_length=200)
    private_key = forms.CharField(label="Auth key (.p8)", required=False, widget=SecretTextarea(attrs={"rows": 4}))
    private_key_file = forms.FileField(label="or upload the .p8 file", required=False)
    sandbox = forms.BooleanField(label="Sandbox (Apple's development host, for builds run from Xcode)", required=False)

    def __init__(self, *args, has_key=False, **kwargs):
        super().__init__(*args, **kwargs)
        self.has_key = has_key
        if has_key:
            self.fields["private_key"].help_text = "Leave empty to keep the saved key."

    def clean(self):
        data = super().clean()
        if "team_id" in data:
            data["team_id"] = _checked(self, credentials.check_apple_id, data["team_id"], "team_id", "team id")
        if "key_id" in data:
            data["key_id"] = _checked(self, credentials.check_apple_id, data["key_id"], "key_id", "key id")
        if "topic" in data:
            data["topic"] = _checked(self, credentials.check_bundle_id, data["topic"])
        text = _key_text(self, "private_key", "private_key_file")
        if text is None and not self.has_key:
            self.add_error("private_key", "Paste or upload the .p8 key.")
        data["private_key"] = text and _checked(self, credentials.parse_apns_key, text)  # None: keep the saved key
        return data
