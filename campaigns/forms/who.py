"""The Who step's form: the audience (a saved segment, one built here with the segment
builder, or — for live campaigns — everyone), a push campaign's target devices (web, native
apps or all, and which apps: ``campaigns.targeting``), reach limits, and Web Exit Intent
targeting.

An ad-hoc segment is a ``Segment`` with ``is_adhoc=True`` that only this campaign
uses. Its conditions are the segment builder's own fields (segments/forms/builder.py), posted
with the rest of the step and saved with it, through ``segments.actions``.
"""

from django import forms
from django.core.validators import URLValidator

from accounts.params import positive_int
from campaigns import targeting
from campaigns.forms.when import FILTER_OPS, ErrorAria, check_filters, show_value
from campaigns.models import Campaign
from segments.actions.reach import suggest_places
from segments.actions.segments import delete_segment, save_segment
from segments.forms import builder
from segments.models import Segment, Site
from segments.rules import RuleError, parse
from segments.rules import tree as t

SAVED, ADHOC, EVERYONE = "saved", "adhoc", "everyone"
PLATFORMS = (("android", "Android"), ("ios", "iOS"))
EXIT_TYPES = (
    ("single_action", "Single action: they did an event on your site"),
    ("page_visit", "Page visit: they are on a page whose address matches"),
    ("page_referral", "Page referral: they came from an address (an ad, a partner site)"),
    ("page_count", "Page count: they have seen a number of pages in this visit"),
)
MAX_LIMIT = 2_000_000_000  # PositiveIntegerField's range, with room
MAX_PAGE_COUNT = 1000


def limit_field(label, help_text):
    return forms.IntegerField(label=label, help_text=help_text, min_value=1, max_value=MAX_LIMIT, required=False)


class WhoForm(ErrorAria, forms.Form):
    audience = forms.ChoiceField(label="Send to", widget=forms.RadioSelect)
    segment = forms.ModelChoiceField(
        queryset=Segment.objects.filter(is_adhoc=False),
        required=False,
        error_messages={"invalid_choice": "That segment no longer exists: choose another."},
    )
    # Web Exit Intent (and soft onboarding): the pop-up shows only on the pages of these sites
    # (campaigns/popups.py: the site of the key the page's SDK sends).
    sites = forms.ModelMultipleChoiceField(
        label="Websites",
        queryset=Site.objects.order_by("name"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="It shows only on the pages of the websites chosen here (Settings → Websites).",
        error_messages={"invalid_choice": "That website no longer exists: choose another."},
    )
    target_devices = forms.ChoiceField(
        label="Target devices",
        choices=Campaign.TargetDevices.choices,
        required=False,  # not posted: as it is (the channel's own kind for a new campaign)
        widget=forms.RadioSelect,
        help_text="Which of each person's devices get it: one message per reachable device of these kinds.",
    )
    platforms = forms.MultipleChoiceField(
        label="Native apps", choices=PLATFORMS, required=False, widget=forms.CheckboxSelectMultiple
    )
    reach_mode = forms.ChoiceField(label="Campaign reach", choices=Campaign.ReachMode.choices, widget=forms.RadioSelect)
    target_cap = limit_field("How many", "Chosen at random from the reachable people.")
    run_limit = limit_field("Run limit", "Most people one run sends to; empty: no limit.")
    daily_limit = limit_field("Daily limit", "Most people it sends to in a day; empty: no limit.")
    safety_limit = limit_field(
        "Safety check", "Do not run if more than this many people are reachable, and tell the owner; empty: no check."
    )
    exit_type = forms.ChoiceField(label="Show the pop-up when", choices=EXIT_TYPES, widget=forms.RadioSelect)
    exit_event = forms.CharField(
        label="Event",
        max_length=200,
        required=False,
        widget=forms.TextInput(
            attrs={"list": "known-events", "autocomplete": "off", "placeholder": "e.g. Added to cart"}
        ),
    )
    exit_filter_name = forms.CharField(label="With property", max_length=200, required=False)
    exit_filter_op = forms.ChoiceField(label="Operator", choices=FILTER_OPS, required=False)
    exit_filter_value = forms.CharField(label="Value", max_length=500, required=False)
    exit_url_match = forms.ChoiceField(
        label="Page address", choices=(("contains", "contains"), ("equals", "is exactly")), required=False
    )
    exit_url = forms.CharField(label="Address", max_length=2000, required=False)
    exit_referrer = forms.CharField(
        label="Referring address contains", max_length=2000, required=False, help_text="e.g. utm_source=spring-ad"
    )
    exit_page_count = forms.IntegerField(
        label="At least this many pages", min_value=1, max_value=MAX_PAGE_COUNT, required=False
    )

    def __init__(self, data=None, *, campaign, types=None, action="save", quiet=False):
        self.campaign, self.quiet = campaign, quiet
        self.types = types or builder.Types.load()
        super().__init__(data, initial=self._initial(campaign))
        choices = [(SAVED, "A saved segment"), (ADHOC, "A segment built here")]
        if campaign.is_live:
            # A live campaign's trigger is in When; the segment only narrows who it may reach.
            everyone = "Everyone a request names" if campaign.kind == Campaign.Kind.API_TRIGGERED else None
            if campaign.channel == Campaign.Channel.PERMISSION_REQUEST:
                everyone = "Every visitor whose browser has not been asked for push yet (Ask)"
            if campaign.channel == Campaign.Channel.EXIT_INTENT:
                everyone = "Everyone the targeting below matches"
            choices.insert(0, (EVERYONE, everyone or "Everyone who does the trigger"))
        self.fields["audience"].choices = choices
        for name in set(self.fields) - set(self.shown_fields()):
            del self.fields[name]
        if not campaign.is_live:
            # A scheduled run reaches everyone at once, except in each person's time zone or
            # at their best time (campaigns.allocation.Plan: then it is the run's quota).
            help_text = "Applies when it delivers in each person's time zone or at their best time (When)."
            self.fields["daily_limit"].help_text = help_text
        live_limit_words(self.fields, campaign)
        if data is None:
            adhoc = campaign.segment if campaign.segment and campaign.segment.is_adhoc else None
            self.edit = builder.Edit(adhoc.rules if adhoc else builder.EMPTY_RULES)
        else:
            self.edit = builder.read_form(
                data, types=self.types, action=action, find_place=builder.find_place_with(suggest_places)
            )
        self.rule_errors = dict(self.edit.errors)

    def shown_fields(self):
        c = self.campaign
        names = ["audience", "segment", "reach_mode", "target_cap", "daily_limit"]
        if targeting.is_push(c):
            names += ["target_devices", "platforms"]
        if not c.is_live:
            # Per run and the safety check count who qualifies when a run starts: past behaviour only.
            names += ["run_limit", "safety_limit"]
        if c.channel == Campaign.Channel.EXIT_INTENT:
            names += ["sites", *(name for name in self.base_fields if name.startswith("exit_"))]
        if c.channel == Campaign.Channel.PERMISSION_REQUEST:
            # The banner goes to each browser at Ask on its next page (campaigns/onboarding.py):
            # no cap or daily limit applies, only who (and where, with Web Exit Intent's sites).
            names = ["audience", "segment", *(name for name in ("sites",) if name in self.base_fields)]
        return names

    @staticmethod
    def _initial(c):
        segment = c.segment
        trigger = c.exit_trigger if isinstance(c.exit_trigger, dict) else {}
        filters = trigger.get("filters") or [{}]
        return {
            "audience": ADHOC if segment and segment.is_adhoc else SAVED if segment or not c.is_live else EVERYONE,
            "segment": segment.pk if segment and not segment.is_adhoc else None,
            "target_devices": targeting.target_of(c),
            "platforms": c.platforms or [value for value, _ in PLATFORMS],
            "reach_mode": c.reach_mode,
            "target_cap": c.target_cap,
            "run_limit": c.run_limit,
            "daily_limit": c.daily_limit,
            "safety_limit": c.safety_limit,
            "sites": list(c.sites.values_list("pk", flat=True)) if c.pk else [],
            "exit_type": trigger.get("type"),
            "exit_event": trigger.get("event", ""),
            "exit_filter_name": filters[0].get("name", ""),
            "exit_filter_op": filters[0].get("op", "equals"),
            "exit_filter_value": show_value(filters[0].get("value")),
            "exit_url_match": trigger.get("match", "contains"),
            "exit_url": trigger.get("url", ""),
            "exit_referrer": trigger.get("referrer", ""),
            "exit_page_count": trigger.get("count"),
        }

    # What the audience is, from the fields as they are now (for the reach and the builder).

    @property
    def chosen_audience(self):
        return self["audience"].value()

    def chosen_segment_id(self):
        value = self["segment"].value()
        return positive_int(value)

    def audience_rules(self):
        """(rules, errors) of the audience the fields describe now, valid or not."""
        if self.chosen_audience == ADHOC:
            if self.rule_errors:
                return None, self.rule_errors
            return self.edit.rules, {}
        if self.chosen_audience == SAVED:
            segment = Segment.objects.filter(pk=self.chosen_segment_id(), is_adhoc=False).first()
            return (segment.rules, {}) if segment else (None, {"root": "Choose a segment."})
        return builder.EMPTY_RULES, {}

    def channels(self):
        """The reach channels (segments.actions.reach) this campaign sends on: the platforms
        of its target devices as the fields hold them now (``campaigns.targeting``)."""
        if not targeting.is_push(self.campaign):
            return ["web"]
        return list(targeting.platforms(self.campaign, target=self["target_devices"].value(), apps=self._apps()))

    def clean_target_devices(self):
        return self.cleaned_data.get("target_devices") or targeting.target_of(self.campaign)

    def _apps(self):
        chosen = self["platforms"].value() or []
        return [value for value in chosen if value in dict(PLATFORMS)]

    # Validation.

    def clean(self):
        data = super().clean()
        audience = data.get("audience")
        if audience == SAVED:
            segment = data.get("segment")
            if segment is None and "segment" not in self.errors:
                self.add_error("segment", "Choose a segment, or build one here.")
            elif segment is not None:
                self._check_rules(segment.rules, "segment")
        elif audience == ADHOC:
            if self.rule_errors:
                self.add_error("audience", "Fix the conditions marked in red.")
            else:
                self._check_rules(self.edit.rules, "audience")
        apps = data.get("target_devices") in (Campaign.TargetDevices.APPS, Campaign.TargetDevices.ALL)
        if "platforms" in self.fields and apps and not data.get("platforms"):
            self.add_error("platforms", "Choose Android, iOS or both.")
        elif "platforms" in self.fields and not apps:
            data["platforms"] = []  # web devices only: no app is chosen
        if "sites" in self.fields and not data.get("sites") and "sites" not in self.errors:
            self.add_error("sites", "Choose the website(s) whose pages show it.")
        clean_limits(self, data)
        if "exit_type" in self.fields:
            data["exit_trigger"] = self._clean_exit(data)
        return data

    def _check_rules(self, rules, field):
        try:
            tree = parse(rules)
        except RuleError as problem:
            self.rule_errors.update(problem.errors)
            self.add_error(field, "Fix the conditions marked in red.")
            return
        if _has_live(tree):
            # Who says who may get it; when is said in When (a live campaign's trigger), or in
            # Targeting on this step (a pop-up's).
            where = "in Targeting, below" if self.campaign.channel == Campaign.Channel.EXIT_INTENT else "in When"
            self.add_error(
                field,
                f"This segment has a live-behaviour condition: in a campaign, the trigger is chosen {where}. "
                "Use past behaviour and properties here.",
            )

    def _clean_exit(self, data):
        kind = data.get("exit_type")
        if kind == "single_action":
            event = data.get("exit_event", "").strip()
            if not event:
                self.add_error("exit_event", "Choose the event.")
                return {}
            row = {"name": data.get("exit_filter_name", "").strip(), "op": data.get("exit_filter_op") or "equals"}
            row["value"] = data.get("exit_filter_value", "").strip()
            filters, problem = check_filters(event, [row])
            if problem:
                self.add_error("exit_filter_value" if row["name"] else "exit_filter_name", problem)
            return {"type": kind, "event": event, "filters": filters}
        if kind == "page_visit":
            url, match = data.get("exit_url", "").strip(), data.get("exit_url_match") or "contains"
            if not url:
                self.add_error("exit_url", "Enter the address, or part of it.")
            elif any(char.isspace() for char in url):
                self.add_error("exit_url", "An address has no spaces.")
            elif match == "equals":
                try:
                    URLValidator(schemes=["http", "https"])(url)
                except forms.ValidationError:
                    self.add_error("exit_url", "“is exactly” needs a whole address, e.g. https://shop.example/cart.")
            return {"type": kind, "match": match, "url": url}
        if kind == "page_referral":
            referrer = data.get("exit_referrer", "").strip()
            if not referrer:
                self.add_error("exit_referrer", "Enter part of the referring address.")
            elif any(char.isspace() for char in referrer):
                self.add_error("exit_referrer", "An address has no spaces.")
            return {"type": kind, "match": "contains", "referrer": referrer}
        if kind == "page_count":
            if data.get("exit_page_count") is None and "exit_page_count" not in self.errors:
                self.add_error("exit_page_count", "Say how many pages.")
            return {"type": kind, "count": data.get("exit_page_count")}
        return {}

    # Saving.

    def save(self, campaign):
        data = self.cleaned_data
        old = campaign.segment
        if data["audience"] == ADHOC:
            segment = save_segment(
                segment=old if self._own_adhoc(old, campaign) else Segment(is_adhoc=True, owner=campaign.owner),
                name=f"{campaign.name} (ad hoc)"[:200],
                rules=self.edit.rules,
            )
        else:
            segment = data.get("segment") if data["audience"] == SAVED else None
        campaign.segment = segment
        campaign.reach_mode = data.get("reach_mode") or Campaign.ReachMode.ALL  # not asked of a permission request
        campaign.target_cap = data["target_cap"] if campaign.reach_mode == Campaign.ReachMode.CAP else None
        fields = ["segment", "reach_mode", "target_cap"]
        for name in ("daily_limit", "run_limit", "safety_limit", "target_devices", "platforms", "exit_trigger"):
            if name in data:
                setattr(campaign, name, data[name])
                fields.append(name)
        campaign.save(update_fields=[*fields, "updated_at"])
        if "sites" in data:
            campaign.sites.set(data["sites"])
        if old is not None and old.is_adhoc and old != segment and not old.campaigns.exists():
            delete_segment(old)  # the ad-hoc segment this campaign no longer uses
        return campaign

    @staticmethod
    def _own_adhoc(segment, campaign):
        """Whether ``segment`` is an ad-hoc segment only this campaign uses (a
        duplicated campaign may share one until either changes it)."""
        return segment is not None and segment.is_adhoc and not segment.campaigns.exclude(pk=campaign.pk).exists()


def _has_live(group):
    return any(
        _has_live(node) if isinstance(node, t.Group) else isinstance(node, t.LiveEventCondition)
        for node in group.conditions
    )


def live_limit_words(fields, campaign):
    """The reach limits' words for a live campaign (a pop-up too), as ``campaigns.allocation``
    applies them: its total cap and daily limit go to the first people who qualify, first come
    first served (``LiveLimits``), where a scheduled run draws its cap at random (``Plan``)."""
    if not campaign.is_live:
        return
    if "reach_mode" in fields:
        fields["reach_mode"].choices = [
            (Campaign.ReachMode.ALL, Campaign.ReachMode.ALL.label),
            (Campaign.ReachMode.CAP, "Send to a limited number of them"),
        ]
    if "target_cap" in fields:
        fields["target_cap"].help_text = (
            "In all: the first this many people who qualify get it (first come, first served), "
            "then the campaign completes."
        )
    if "daily_limit" in fields:
        help_text = (
            "Most people it goes to in a day (the campaign's time zone), the first who qualify; empty: no limit."
        )
        fields["daily_limit"].help_text = help_text


def clean_limits(form, data):
    """The reach limits' rules, for the Who step and for changing a scheduled campaign's
    limits (campaigns/forms/limits.py): a cap needs a number, and no limit may reach the
    safety check (it would never apply)."""
    capped = data.get("reach_mode") == Campaign.ReachMode.CAP
    if capped and data.get("target_cap") is None and "target_cap" not in form.errors:
        form.add_error("target_cap", "Say how many people to send to.")
    safety = data.get("safety_limit")
    cap = data.get("target_cap") if capped else None
    for name, value in (("target_cap", cap), ("run_limit", data.get("run_limit"))):
        if safety and value and value >= safety:
            form.add_error(
                name,
                f"The safety check stops any run where more than {safety:,} are reachable, so a limit of {value:,} "
                "never applies: make it smaller than the safety check, or raise the check.",
            )
