"""The What step's form: the message type and its rules, and one content form per variant.

Posted as one HTML form: ``variants`` lists the variants' keys in order, and each
variant's fields carry the prefix ``v<key>-``. Adding, copying or removing a variant is
an edit of that posted data (``edit``), drawn again without saving; Continue validates
every variant and saves them all at once (``WhatForm.save`` through ``do_save_step``).
"""

import re
from dataclasses import dataclass

from django import forms

from accounts.params import is_digits
from campaigns import targeting
from campaigns.actions.variants import do_save_variants
from campaigns.allocation import normalise
from campaigns.forms.what.content import ExitIntentContentForm, MobileContentForm, WebPushContentForm
from campaigns.forms.what.onboarding import PermissionRequestContentForm
from campaigns.models import Campaign

Channel = Campaign.Channel
MessageType = Campaign.MessageType
CONTENT_FORMS = {
    Channel.WEB_PUSH: WebPushContentForm,
    Channel.MOBILE_PUSH: MobileContentForm,
    Channel.EXIT_INTENT: ExitIntentContentForm,
    Channel.PERMISSION_REQUEST: PermissionRequestContentForm,
}
MAX_AB = 3  # 001: "test up to 3 variants"
# The A/B wait: beat checks for ended tests every 60 s (config/celery.py), so 15 minutes
# is picked within a minute of its end; a week is the longest test the seeds mention.
MIN_AB_MINUTES = 15
MAX_AB_MINUTES = 7 * 1440
MAX_BY_PROPERTY = 20
AB_NAMES = "ABC"
PROPERTY_NAME = re.compile(r"[\w.$-][\w.$ -]{0,199}")


class Browsers:
    """Who a web push may reach: Safari ignores images and buttons and needs a deep link
    (000_440e4b7159d07586.txt, "Safari Considerations"). Every campaign whose target devices
    include web ones (``campaigns.targeting``) is taken to reach Safari unless the marketer
    leaves Safari out."""

    ALL = "all"
    NOT_SAFARI = "not_safari"
    CHOICES = [(ALL, "All browsers, Safari too"), (NOT_SAFARI, "All browsers but Safari")]


class AbSplit:
    WINNER = "winner"
    SPLIT = "split"
    CHOICES = [
        (WINNER, "Test on part of the audience, then send the winner (most clicks) to the rest"),
        (SPLIT, "Split delivery: each variant to a fixed share of the audience"),
    ]


class SettingsForm(forms.Form):
    message_type = forms.ChoiceField(label="Message type", choices=MessageType.choices, widget=forms.RadioSelect)
    ab_split = forms.ChoiceField(
        label="How the variants are sent", choices=AbSplit.CHOICES, required=False, widget=forms.RadioSelect
    )
    ab_mode = forms.ChoiceField(label="Test population", choices=Campaign.AbMode.choices, required=False)
    ab_test_size = forms.IntegerField(label="Test size", required=False, min_value=1)
    ab_test_minutes = forms.IntegerField(
        label="Minutes to wait before picking the winner",
        required=False,
        min_value=MIN_AB_MINUTES,
        max_value=MAX_AB_MINUTES,
        help_text="At least 15; e.g. 90, or 240 for 4 hours. The winner is picked within a minute after.",
        error_messages={
            "min_value": f"Wait at least {MIN_AB_MINUTES} minutes: fewer gives the test too few clicks to judge.",
            "max_value": f"Wait at most 7 days ({MAX_AB_MINUTES} minutes).",
        },
    )
    property_name = forms.CharField(label="User property", max_length=200, required=False)
    fallback = forms.CharField(required=False)
    browsers = forms.ChoiceField(
        label="Browsers", choices=Browsers.CHOICES, required=False, initial=Browsers.ALL, widget=forms.RadioSelect
    )

    def add_error(self, field, error):
        super().add_error(field, error)
        if field in self.fields:
            self.fields[field].widget.attrs["aria-invalid"] = "true"


@dataclass
class Entry:
    """One variant as the template shows it."""

    key: str
    form: forms.Form
    name: str = ""
    is_fallback: bool = False


def variant_keys(data):
    """The posted variant keys, in order: digits, each once, at most MAX_BY_PROPERTY."""
    keys = []
    for key in data.getlist("variants"):
        if is_digits(key) and key not in keys and len(keys) < MAX_BY_PROPERTY:
            keys.append(key)
    return keys or ["0"]


class WhatForm:
    """The whole step. ``WhatForm(campaign)`` shows the saved draft; ``WhatForm(campaign,
    data)`` validates a post; ``edit(campaign, data, op)`` redraws after an edit."""

    def __init__(self, campaign, data=None, *, bound=True):
        self.campaign = campaign
        self.content_form = CONTENT_FORMS[campaign.channel]
        if data is None:
            self._from_saved()
        elif bound:
            self.keys = variant_keys(data)
            self.settings = SettingsForm(data)
            self.forms = [self.content_form(data, prefix=f"v{key}") for key in self.keys]
        else:
            self._from_data(data)

    def _from_saved(self):
        campaign = self.campaign
        variants = list(campaign.variants.all()) or [None]
        self.keys = [str(index) for index in range(len(variants))]
        first = (variants[0].content if variants[0] else {}) or {}
        fallback = next((key for key, v in zip(self.keys, variants, strict=True) if v and v.is_fallback), "")
        self.settings = SettingsForm(
            initial={
                "message_type": campaign.message_type,
                "ab_split": AbSplit.SPLIT if variants[0] and variants[0].share else AbSplit.WINNER,
                "ab_mode": campaign.ab_mode,
                "ab_test_size": campaign.ab_test_size,
                "ab_test_minutes": campaign.ab_test_minutes,
                "property_name": campaign.property_name,
                "fallback": fallback,
                "browsers": first.get("browsers", Browsers.ALL),
            }
        )
        self.forms = [
            self.content_form(
                prefix=f"v{key}",
                initial={
                    **self.content_form.initial_for(variant.content if variant else {}),
                    "property_value": variant.property_value if variant else "",
                    "share": variant.share if variant else None,
                },
            )
            for key, variant in zip(self.keys, variants, strict=True)
        ]

    def _from_data(self, data):
        """Unbound forms showing ``data`` as typed: an edit is not a submission, so no errors."""
        self.keys = variant_keys(data)
        self.settings = SettingsForm(initial=_initial(SettingsForm(), data))
        self.forms = []
        for key in self.keys:
            probe = self.content_form(prefix=f"v{key}")
            self.forms.append(self.content_form(prefix=f"v{key}", initial=_initial(probe, data)))

    def use_resource(self, key, content):
        """Fill variant ``key`` with a saved push's content (a ``PushResource``), keeping its
        place in the message type. Nothing is saved: the step's Continue saves the copy, so
        a later change of the resource reaches no campaign."""
        if key not in self.keys:
            return
        index = self.keys.index(key)
        kept = {name: self.forms[index][name].value() for name in ("property_value", "share")}
        initial = {**self.content_form.initial_for(content), **kept}
        self.forms[index] = self.content_form(prefix=f"v{key}", initial=initial)

    # What the template reads.

    @property
    def reaches_web(self):
        """Whether the campaign's target devices include browsers (Who): the Browsers
        choice and Safari's rules apply."""
        return targeting.WEB in targeting.platforms(self.campaign)

    def leaves_out_safari(self):
        return self.reaches_web and self.value("browsers") == Browsers.NOT_SAFARI

    def value(self, name):
        return self.settings[name].value()

    @property
    def message_type(self):
        return self.value("message_type") or MessageType.SINGLE

    @property
    def split(self):
        return self.message_type == MessageType.AB and self.value("ab_split") == AbSplit.SPLIT

    def shown(self):
        """The variants the message type uses: a single message uses only the first."""
        pairs = list(zip(self.keys, self.forms, strict=True))
        return pairs[:1] if self.message_type == MessageType.SINGLE else pairs[:MAX_BY_PROPERTY]

    @property
    def entries(self):
        fallback = self.value("fallback")
        entries = []
        for index, (key, form) in enumerate(self.shown()):
            entry = Entry(key=key, form=form, is_fallback=key == fallback)
            if self.message_type == MessageType.AB:
                entry.name = AB_NAMES[index] if index < len(AB_NAMES) else str(index + 1)
            elif self.message_type == MessageType.BY_PROPERTY:
                entry.name = "Fallback" if entry.is_fallback else (form["property_value"].value() or "")[:40]
            else:
                entry.name = "Message"
            entries.append(entry)
        return entries

    @property
    def can_add(self):
        count = len(self.shown())
        if self.message_type == MessageType.AB:
            return count < MAX_AB
        return self.message_type == MessageType.BY_PROPERTY and count < MAX_BY_PROPERTY

    # Validation and saving.

    def is_valid(self):
        shown = self.shown()
        # Every variant is validated, so each shows its errors, even when the settings fail.
        results = [form.is_valid() for _key, form in shown]
        variants_valid = all(results)
        if not self.settings.is_valid():
            return False
        data = self.settings.cleaned_data
        kind = data["message_type"]
        if self.campaign.channel == Channel.PERMISSION_REQUEST and kind != MessageType.SINGLE:
            self.settings.add_error("message_type", "A push permission request is one message.")
        elif kind == MessageType.AB:
            self._check_ab(data, shown)
        elif kind == MessageType.BY_PROPERTY:
            self._check_by_property(data, shown)
        if self.reaches_web and data.get("browsers") != Browsers.NOT_SAFARI:
            for _key, form in shown:
                _check_safari(form)
        for _key, form in shown:  # what a targeted platform cannot take (one content for web and apps)
            for name, message in targeting.content_problems(self.campaign, getattr(form, "content", {})).items():
                if name in form.fields and name not in form.errors:
                    form.add_error(name, message)
        return variants_valid and not self.settings.errors and not any(form.errors for _key, form in shown)

    def _check_ab(self, data, shown):
        settings = self.settings
        if self.campaign.channel == Channel.EXIT_INTENT:
            settings.add_error(
                "message_type", "A Web Exit Intent pop-up is one message, or one per value of a user property."
            )
            return
        if not 2 <= len(shown) <= MAX_AB:
            settings.add_error("message_type", f"An A/B test has 2 or {MAX_AB} variants.")
        if data.get("ab_split") == AbSplit.SPLIT:
            shares = []
            for _key, form in shown:
                share = form.cleaned_data.get("share") if not form.errors.get("share") else None
                if share is None and "share" not in form.errors:
                    form.add_error("share", "Give each variant its share of the audience.")
                shares.append(share)
            if None not in shares and sum(shares) != 100:
                settings.add_error("ab_split", f"The shares add up to {sum(shares)}%; they must add up to 100%.")
            return
        if not data.get("ab_split"):
            settings.add_error("ab_split", "Choose how the variants are sent.")
            return
        size = data.get("ab_test_size")
        if self.campaign.is_live:
            # 001: a live campaign cannot know its reach, so the test is a number of sends.
            if size is None or size < len(shown):
                settings.add_error(
                    "ab_test_size", f"Say how many sends (at least {len(shown)}) come before the winner is picked."
                )
            return
        if data.get("ab_mode") == Campaign.AbMode.COUNT:
            if size is None or size < len(shown):
                settings.add_error("ab_test_size", f"Send the test to at least {len(shown)} people, one per variant.")
        elif size is None or not 1 <= size <= 99:
            settings.add_error("ab_test_size", "The test population is a percentage from 1 to 99.")
        if data.get("ab_mode") not in (Campaign.AbMode.PERCENT, Campaign.AbMode.COUNT):
            settings.add_error("ab_mode", "Choose a percentage or a number of users.")
        if data.get("ab_test_minutes") is None and "ab_test_minutes" not in settings.errors:
            settings.add_error("ab_test_minutes", "Say how many minutes the test runs before the winner is picked.")

    def _check_by_property(self, data, shown):
        settings = self.settings
        name = (data.get("property_name") or "").strip()
        if not name:
            settings.add_error("property_name", "Choose the user property whose value picks the message.")
        elif not PROPERTY_NAME.fullmatch(name):
            settings.add_error("property_name", "A property name: letters, digits, spaces and _ . $ -.")
        fallback = data.get("fallback")
        keys = [key for key, _form in shown]
        if fallback not in keys:
            settings.add_error("fallback", "Choose the fallback: the message for every other value.")
        if len(shown) < 2:
            settings.add_error("message_type", "Add a variant for at least one value beside the fallback.")
        seen = {}  # two variants for one value: compared as sends compare them (``normalise``)
        for key, form in shown:
            if key == fallback or "property_value" in form.errors:
                continue
            value = form.cleaned_data.get("property_value", "")
            if not value:
                form.add_error("property_value", "Give the value this message is for.")
            elif normalise(value) in seen:
                form.add_error("property_value", f"Another variant is already for “{seen[normalise(value)]}”.")
            else:
                seen[normalise(value)] = value

    def save(self, campaign):
        """Write the validated step (inside ``do_save_step``'s transaction)."""
        data = self.settings.cleaned_data
        kind = data["message_type"]
        split = kind == MessageType.AB and data.get("ab_split") == AbSplit.SPLIT
        winner = kind == MessageType.AB and not split
        campaign.message_type = kind
        campaign.ab_mode = (
            Campaign.AbMode.COUNT if winner and campaign.is_live else (data.get("ab_mode") or Campaign.AbMode.PERCENT)
        )
        campaign.ab_test_size = data.get("ab_test_size") if winner else None
        campaign.ab_test_minutes = data.get("ab_test_minutes") if winner and not campaign.is_live else None
        campaign.property_name = data["property_name"].strip() if kind == MessageType.BY_PROPERTY else ""
        campaign.save(
            update_fields=["message_type", "ab_mode", "ab_test_size", "ab_test_minutes", "property_name", "updated_at"]
        )
        variants = []
        for entry in self.entries:
            form = entry.form
            content = dict(form.content)
            if self.reaches_web and data.get("browsers") == Browsers.NOT_SAFARI:
                content["browsers"] = Browsers.NOT_SAFARI
            by_property = kind == MessageType.BY_PROPERTY
            variants.append(
                {
                    "name": entry.name if kind != MessageType.SINGLE else "A",
                    "property_value": form.cleaned_data["property_value"]
                    if by_property and not entry.is_fallback
                    else "",
                    "is_fallback": by_property and entry.is_fallback,
                    "share": form.cleaned_data.get("share") if split else None,
                    "content": content,
                }
            )
        do_save_variants(campaign, variants)


def _check_safari(form):
    """Safari's rules (seed 000): a deep link, no image, no buttons."""
    if "url" not in form.errors and not form.cleaned_data.get("url"):
        form.add_error(
            "url", "Safari needs a deep link, or it shows nothing. Add one, or choose “All browsers but Safari”."
        )
    if form.cleaned_data.get("image"):
        form.add_error("image", "Safari shows no images. Remove it, or choose “All browsers but Safari”.")
    if form.content.get("buttons"):
        form.add_error("button1_title", "Safari shows no buttons. Remove them, or choose “All browsers but Safari”.")


def _initial(form, data):
    """A form's fields as ``data`` holds them, converted by each widget (a ticked box is True)."""
    return {
        name: field.widget.value_from_datadict(data, {}, form.add_prefix(name)) for name, field in form.fields.items()
    }


def edit(campaign, data, op):
    """The step redrawn after an edit that saves nothing: ``add`` a variant, ``copy:<key>``,
    ``remove:<key>``, or ``retype`` (the message type changed: fit the variants to it)."""
    data = data.copy()
    keys = variant_keys(data)
    message_type = data.get("message_type") or MessageType.SINGLE
    action, _, key = (op or "").partition(":")
    new_key = str(max(int(k) for k in keys) + 1)
    limit = MAX_AB if message_type == MessageType.AB else MAX_BY_PROPERTY
    if action == "add" and len(keys) < limit:
        keys.append(new_key)
    elif action == "copy" and key in keys and len(keys) < limit:
        _copy(data, key, new_key)
        keys.insert(keys.index(key) + 1, new_key)
    elif action == "remove" and key in keys and len(keys) > 1:
        keys.remove(key)
    elif action == "retype":
        keys = _fit(data, keys, message_type, new_key)
    data.setlist("variants", keys)
    return WhatForm(campaign, data, bound=False)


def _copy(data, key, new_key):
    """001: "you can also auto-copy what is already present in a current variant"."""
    source = f"v{key}-"
    for name in list(data.keys()):
        if name.startswith(source):
            data.setlist(f"v{new_key}-{name.removeprefix(source)}", data.getlist(name))
    # A copy is for another value and has no share yet.
    data.setlist(f"v{new_key}-property_value", [""])
    data.setlist(f"v{new_key}-share", [""])


def _fit(data, keys, message_type, new_key):
    if message_type == MessageType.SINGLE:
        return keys[:1]
    if message_type == MessageType.AB:
        keys = keys[:MAX_AB]
    if len(keys) == 1:
        _copy(data, keys[0], new_key)
        keys = [*keys, new_key]
    if message_type == MessageType.BY_PROPERTY and data.get("fallback") not in keys:
        data["fallback"] = keys[-1]
    return keys
