"""The When step's form: which fields a campaign's kind and channel show, and the
rules they must meet.

Times are typed on the campaign's wall clock (its time zone) and stored in UTC; a
time the clocks skip (02:30 on the night they go forward) is refused rather than
silently moved. Lists (multiple dates, trigger filters) are posted as repeated
fields, so they work as a plain form: blank rows are ignored, and "add" / "remove"
buttons draw the rows again without saving.
"""

from datetime import datetime, time
from zoneinfo import available_timezones

from django import forms
from django.conf import settings
from django.forms.utils import ErrorDict
from django.http import QueryDict
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from accounts import params
from campaigns import schedule
from campaigns.forms.event_filters import (  # who.py imports some of these from here
    BLANK_FILTER,
    FILTER_OPS,
    MAX_ROWS,
    check_filters,
    event_property_types,
    filter_rows,
    rows_for,
    show_value,  # noqa: F401 (forms/who.py's import)
)
from campaigns.models import Campaign
from delivery.actions.besttime import MIN_EVENTS, WINDOW
from delivery.models import DeliverySettings
from segments.models import PropertyDefinition

Kind = Campaign.Kind
PAST_KINDS = (Kind.ONE_TIME, Kind.MULTIPLE_DATES, Kind.RECURRING)
LOCAL_FORMAT = "%Y-%m-%dT%H:%M"  # what <input type="datetime-local"> sends and shows
MIN_DATE_ROWS = 3
MAX_EVERY = 99
MAX_INACTION_MINUTES = 90 * 1440
MAX_OFFSET_MINUTES = 365 * 1440
UNITS = (("minutes", "minutes"), ("hours", "hours"), ("days", "days"))
UNIT_MINUTES = {"minutes": 1, "hours": 60, "days": 1440}
SEND_WHEN = (("now", "Now, when I schedule it"), ("at", "At a date and time"))
# What Overview's in-place fix may change (a one-time campaign whose time has passed).
FIXES = ("send_when", "send_at")
WEEKDAYS = [(str(i), name) for i, name in enumerate(schedule.WEEKDAY_NAMES)]
TIMEZONES = sorted(available_timezones())
HOURS = [(str(hour), f"{hour:02d}:00") for hour in range(24)]


class ErrorAria:
    """Marks every field with an error ``aria-invalid`` and points it at its message
    (``<name>-error``), so a screen reader reads the error with the field."""

    quiet = False

    def full_clean(self):
        if self.quiet:
            # Redrawn after "add a row": show what was typed, judge nothing yet.
            self._errors, self.cleaned_data = ErrorDict(), {}
            return
        super().full_clean()
        for name in self._errors:
            if name in self.fields:
                self.fields[name].widget.attrs.update({"aria-invalid": "true", "aria-describedby": f"{name}-error"})


class LocalDateTimeField(forms.DateTimeField):
    """A wall-clock date and time, naive: the form puts it in the campaign's zone."""

    widget = forms.DateTimeInput(format=LOCAL_FORMAT, attrs={"type": "datetime-local"})

    def to_python(self, value):
        if value in self.empty_values:
            return None
        if isinstance(value, datetime):
            return value.replace(tzinfo=None)
        found = parse_datetime(str(value).strip())
        if found is None or found.tzinfo is not None:
            raise forms.ValidationError("Enter a date and time, e.g. 2026-12-01 09:00.", code="invalid")
        return found


def local_text(moment, tz):
    return schedule.local(moment, tz).strftime(LOCAL_FORMAT) if moment else ""


def edit_rows(rows, action, verb, blank):
    """Rows after an "add-<verb>" or "remove-<verb> <i>" button."""
    name, _, index = action.partition(" ")
    if name == f"add-{verb}" and len(rows) < MAX_ROWS:
        return [*rows, dict(blank) if isinstance(blank, dict) else blank]
    position = params.index(index)
    if name == f"remove-{verb}" and position is not None and position < len(rows):
        return [row for i, row in enumerate(rows) if i != position]
    return rows


def minutes_parts(minutes):
    """10 → (10, "minutes"), 120 → (2, "hours"), 2880 → (2, "days")."""
    minutes = abs(minutes or 0)
    for unit in ("days", "hours"):
        if minutes and minutes % UNIT_MINUTES[unit] == 0:
            return minutes // UNIT_MINUTES[unit], unit
    return minutes, "minutes"


class WhenForm(ErrorAria, forms.Form):
    FILTER_OPS = FILTER_OPS

    timezone = forms.CharField(
        label="Campaign time zone",
        max_length=64,
        help_text="Dates and times below are in this time zone.",
        widget=forms.TextInput(attrs={"list": "timezones", "autocomplete": "off"}),
    )
    send_when = forms.ChoiceField(
        label="Send",
        choices=SEND_WHEN,
        required=False,
        widget=forms.RadioSelect,
        help_text="Now: the moment you press Schedule on Overview, however long the other steps take.",
    )
    send_at = LocalDateTimeField(label="Send on", required=False)
    # Drawn by hand as rows of repeated inputs; declared so errors can name them.
    dates = forms.Field(label="Dates and times", required=False)
    starts_at = LocalDateTimeField(label="Start", required=False, help_text="Empty: from when it is scheduled.")
    ends_at = LocalDateTimeField(label="End", required=False, help_text="Empty: no end.")
    repeat = forms.ChoiceField(
        label="Repeat", choices=Campaign.Repeat.choices, required=False, widget=forms.RadioSelect
    )
    repeat_every = forms.IntegerField(label="Every", min_value=1, max_value=MAX_EVERY, required=False)
    weekdays = forms.MultipleChoiceField(
        label="On", choices=WEEKDAYS, required=False, widget=forms.CheckboxSelectMultiple
    )
    month_day = forms.IntegerField(label="On day of the month", min_value=1, max_value=31, required=False)
    send_time = forms.TimeField(
        label="At", required=False, widget=forms.TimeInput(format="%H:%M", attrs={"type": "time"})
    )
    trigger_event = forms.CharField(
        label="When someone does",
        max_length=200,
        required=False,
        widget=forms.TextInput(attrs={"list": "known-events", "autocomplete": "off"}),
    )
    trigger_filters = forms.Field(label="Event property filters", required=False)
    inaction_event = forms.CharField(
        label="And does not do",
        max_length=200,
        required=False,
        widget=forms.TextInput(attrs={"list": "known-events", "autocomplete": "off"}),
    )
    inaction_amount = forms.IntegerField(label="Within", min_value=1, required=False)
    inaction_unit = forms.ChoiceField(label="Unit", choices=UNITS, required=False)
    date_property = forms.CharField(
        label="Date property of the event",
        max_length=200,
        required=False,
        widget=forms.TextInput(attrs={"list": "date-properties", "autocomplete": "off"}),
        help_text="One the event already carries, or one it will carry: events need not have arrived yet.",
    )
    date_property_type = forms.ChoiceField(
        label="It holds",
        choices=Campaign.DatePropertyType.choices,
        required=False,
        widget=forms.RadioSelect,
        help_text="ISO 8601 text. A date, or a time without an offset, is read on the person's own clock.",
    )
    offset_side = forms.ChoiceField(
        label="Send",
        choices=(("before", "before that time"), ("at", "at that time"), ("after", "after that time")),
        required=False,
    )
    offset_amount = forms.IntegerField(label="By", min_value=0, required=False)
    offset_unit = forms.ChoiceField(label="Unit", choices=UNITS, required=False)
    user_timezone = forms.BooleanField(
        label="Deliver at this time in each person's own time zone",
        required=False,
        help_text="People ahead of the campaign's time zone get it first.",
    )
    best_time = forms.BooleanField(
        label="Deliver at each person's best time",
        required=False,
        help_text="Within 24 hours of the time above, at the hour of the day each person was most active"
        f" in the last {WINDOW.days} days, in their own time zone.",
    )
    best_time_fallback_hour = forms.TypedChoiceField(
        label="For people with too little history",
        choices=HOURS,
        coerce=int,
        empty_value=None,
        required=False,
        help_text=f"Fewer than {MIN_EVENTS} events in {WINDOW.days} days: this hour in their own time zone.",
    )
    dnd_enabled = forms.BooleanField(label="Do Not Disturb hours", required=False)
    dnd_start = forms.TimeField(
        label="From", required=False, widget=forms.TimeInput(format="%H:%M", attrs={"type": "time"})
    )
    dnd_end = forms.TimeField(
        label="Until",
        required=False,
        widget=forms.TimeInput(format="%H:%M", attrs={"type": "time"}),
        help_text="May pass midnight.",
    )
    dnd_action = forms.ChoiceField(
        label="During DND hours",
        choices=Campaign.DndAction.choices,
        required=False,
        widget=forms.RadioSelect,
    )
    cutoff_time = forms.TimeField(
        label="Cut-off time",
        required=False,
        widget=forms.TimeInput(format="%H:%M", attrs={"type": "time"}),
        help_text="Stop delivering after this time of day; empty: no cut-off.",
    )
    skip_global_limits = forms.BooleanField(label="Don't apply global campaign limits to this campaign", required=False)

    def __init__(self, data=None, *, campaign, now=None, quiet=False):
        self.campaign, self.quiet = campaign, quiet
        self.now = now or timezone.now()
        super().__init__(data, initial=self._initial(campaign))
        for name in set(self.fields) - set(self.shown_fields()):
            del self.fields[name]
        if campaign.channel == Campaign.Channel.EXIT_INTENT:
            self._pop_up_words()
        self.date_errors = {}  # row index -> message
        if data is None:
            self.date_rows = [local_text(moment, self.tz) for moment in schedule.parse_dates(campaign.dates)]
            self.date_rows += [""] * max(1, MIN_DATE_ROWS - len(self.date_rows))
            self.filters = [*rows_for(campaign.trigger_filters), dict(BLANK_FILTER)]
        else:
            self.date_rows = [text.strip() for text in data.getlist("dates")[:MAX_ROWS]] or [""]
            self.filters = filter_rows(data, "trigger_filter") or [dict(BLANK_FILTER)]

    def _pop_up_words(self):
        """A pop-up is shown while someone is on the page, or not at all: what DND and the
        cut-off mean for it (campaigns/popups.py, through delivery's ``Rules.decide``)."""
        fields = self.fields
        fields["cutoff_time"].help_text = "No pop-up after this time until midnight (campaign's time zone)."
        fields["dnd_enabled"].help_text = "No pop-up is shown in these hours (each visitor's time zone)."

    @classmethod
    def correcting(cls, campaign, posted, *, now=None):
        """The form bound to ``campaign``'s saved When choices with the posted ``FIXES`` on
        top: Overview's in-place fix of a passed send time is judged by the step's own rules."""
        saved = cls(campaign=campaign, now=now)
        data = QueryDict(mutable=True)
        for name in saved.fields:
            value = saved[name].value()
            if isinstance(value, bool):
                value = "on" if value else None
            elif isinstance(value, time):
                value = f"{value:%H:%M}"
            if isinstance(value, list):
                data.setlist(name, [str(item) for item in value])
            elif value is not None:
                data[name] = str(value)
        data.setlist("dates", saved.date_rows)
        for part in ("name", "op", "value"):
            data.setlist(f"trigger_filter_{part}", [row[part] for row in saved.filters])
        for name in FIXES:
            data[name] = str(posted.get(name, ""))[:100]
        return cls(data, campaign=campaign, now=now)

    @property
    def date_items(self):
        """The multiple-dates rows to draw, each with its own error."""
        return [
            {"index": index, "number": index + 1, "text": text, "error": self.date_errors.get(index, "")}
            for index, text in enumerate(self.date_rows)
        ]

    @property
    def tz(self):
        text = self.data.get("timezone") if self.is_bound else self.initial.get("timezone")
        return schedule.zone(text)

    def shown_fields(self):
        """The fields that apply to this campaign's kind and channel."""
        kind, live = self.campaign.kind, self.campaign.is_live
        names = ["timezone"]
        if kind == Kind.ONE_TIME:
            names += ["send_when", "send_at"]
        if kind == Kind.MULTIPLE_DATES:
            names.append("dates")
        if kind == Kind.RECURRING or live:
            names += ["starts_at", "ends_at"]
        if kind == Kind.RECURRING:
            names += ["repeat", "repeat_every", "weekdays", "month_day", "send_time"]
        # An exit-intent pop-up's trigger is its targeting, chosen in Who; an API-triggered
        # campaign's is a request (campaigns/api.py): no event, no date.
        if live and self.campaign.channel not in Campaign.ON_PAGE_CHANNELS and kind != Kind.API_TRIGGERED:
            names += ["trigger_event", "trigger_filters"]
            if kind == Kind.INACTION:
                names += ["inaction_event", "inaction_amount", "inaction_unit"]
            if kind == Kind.DATE_PROPERTY:
                names += ["date_property", "date_property_type", "offset_side", "offset_amount", "offset_unit"]
        if kind in PAST_KINDS:
            names += ["user_timezone", "best_time", "best_time_fallback_hour", "cutoff_time"]
        if kind == Kind.API_TRIGGERED:
            names.append("cutoff_time")  # for each request's sends (campaigns/live/sending.py)
        if self.campaign.channel == Campaign.Channel.EXIT_INTENT:
            names.append("cutoff_time")  # no pop-up after it until the next day (campaigns/popups.py)
        if self.campaign.channel != Campaign.Channel.PERMISSION_REQUEST:
            # A pop-up honours DND hours too: none is shown inside them (campaigns/popups.py).
            names += ["dnd_enabled", "dnd_start", "dnd_end", "dnd_action"]
        names.append("skip_global_limits")
        return names

    def _initial(self, c):
        tz = schedule.zone(c.timezone if Campaign.Step.WHEN in c.steps_done else settings.TIME_ZONE)
        inaction_amount, inaction_unit = minutes_parts(c.inaction_minutes)
        offset_amount, offset_unit = minutes_parts(c.date_offset_minutes)
        initial = {
            "timezone": tz.key,
            "send_when": "now" if c.send_now else "at",
            "send_at": local_text(c.send_at, tz),
            "starts_at": local_text(c.starts_at, tz),
            "ends_at": local_text(c.ends_at, tz),
            "repeat": c.repeat or Campaign.Repeat.DAILY,
            "repeat_every": c.repeat_every or 1,
            "weekdays": [str(day) for day in c.weekdays or []],
            "month_day": c.month_day,
            "send_time": c.send_time,
            "trigger_event": c.trigger_event,
            "inaction_event": c.inaction_event,
            "inaction_amount": inaction_amount or None,
            "inaction_unit": inaction_unit,
            "date_property": c.date_property,
            "date_property_type": c.date_property_type,
            "offset_side": "before" if c.date_offset_minutes < 0 else "after" if c.date_offset_minutes > 0 else "at",
            "offset_amount": offset_amount,
            "offset_unit": offset_unit,
            "user_timezone": c.user_timezone,
            "best_time": c.best_time,
            "best_time_fallback_hour": c.best_time_fallback_hour,
            "dnd_enabled": c.dnd_enabled,
            "dnd_start": c.dnd_start,
            "dnd_end": c.dnd_end,
            "dnd_action": c.dnd_action,
            "cutoff_time": c.cutoff_time,
            "skip_global_limits": c.skip_global_limits,
        }
        if Campaign.Step.WHEN not in c.steps_done:
            # A new campaign starts from the global DND hours (Settings).
            defaults = DeliverySettings.load()
            if defaults.dnd_start and defaults.dnd_end:
                initial.update(
                    dnd_enabled=True,
                    dnd_start=defaults.dnd_start,
                    dnd_end=defaults.dnd_end,
                    dnd_action=defaults.dnd_action,
                )
        return initial

    # Validation.

    def clean_timezone(self):
        name = self.cleaned_data["timezone"].strip()
        if name not in TIMEZONES:
            raise forms.ValidationError("Choose a time zone such as Europe/Paris or America/New_York.")
        return name

    def _utc(self, name, *, future=True):
        """The field's wall-clock time in the campaign's zone, as UTC (None if empty)."""
        naive = self.cleaned_data.get(name)
        if naive is None:
            return None
        tz = schedule.zone(self.cleaned_data.get("timezone"))
        if not schedule.wall_clock_exists(naive, tz):
            self.add_error(name, f"{naive:%H:%M} does not exist on {naive:%-d %b %Y} in {tz.key}: the clocks skip it.")
            return None
        moment = schedule.to_utc(naive, tz)
        if future and moment <= self.now:
            self.add_error(name, f"{naive:%-d %b %Y %H:%M} in {tz.key} is in the past.")
            return None
        return moment

    def clean(self):
        data = super().clean()
        if "timezone" not in data:
            return data  # every time below depends on it
        kind = self.campaign.kind
        if "send_when" in self.fields:
            self._clean_send_at(data)
        if "dates" in self.fields:
            data["dates"] = self._clean_dates()
        if "starts_at" in self.fields:
            data["starts_at"] = self._utc("starts_at")
            data["ends_at"] = self._utc("ends_at")
            if data["starts_at"] and data["ends_at"] and data["ends_at"] <= data["starts_at"]:
                self.add_error("ends_at", "The end must come after the start.")
        if kind == Kind.RECURRING:
            self._clean_recurring(data)
        if "trigger_event" in self.fields:
            self._clean_trigger(data)
        if data.get("dnd_enabled"):
            for name in ("dnd_start", "dnd_end"):
                if data.get(name) is None and name not in self.errors:
                    self.add_error(name, "DND hours need a start and an end.")
            if data.get("dnd_start") and data.get("dnd_start") == data.get("dnd_end"):
                self.add_error("dnd_end", "DND hours cannot start and end at the same time.")
            if not data.get("dnd_action"):
                self.add_error("dnd_action", "Choose whether to discard or delay messages during DND hours.")
        self._clean_cutoff(data)
        if "best_time" in self.fields:
            self._clean_best_time(data)
        return data

    def _clean_best_time(self, data):
        if data.get("best_time") and data.get("user_timezone"):
            self.add_error("best_time", "Choose one: each person's best time, or the time above in their time zone.")
        if data.get("best_time_fallback_hour") is None:
            if data.get("best_time") and "best_time_fallback_hour" not in self.errors:
                self.add_error("best_time_fallback_hour", "Choose the hour for people with too little history.")
            data["best_time_fallback_hour"] = self.campaign.best_time_fallback_hour

    def _clean_send_at(self, data):
        """One time: now (the moment it is scheduled: no time to go stale while the other
        steps are filled in) or a wall-clock time still ahead."""
        data["send_now"] = data.get("send_when") == "now"
        if data["send_now"]:
            data["send_at"] = None
            if data.get("user_timezone"):
                self.add_error("user_timezone", "Send now goes to everyone at once: untick this or choose a time.")
            return
        data["send_at"] = self._utc("send_at")
        if data["send_at"] is None and "send_at" not in self.errors:
            self.add_error("send_at", "Choose the date and time to send, or send now.")

    def _clean_dates(self):
        tz = schedule.zone(self.cleaned_data.get("timezone"))
        seen, found = {}, []
        for index, text in enumerate(self.date_rows):
            if not text:
                continue
            naive = parse_datetime(text)
            if naive is None or naive.tzinfo is not None:
                self.date_errors[index] = "Enter a date and time, e.g. 2026-12-01 09:00."
            elif not schedule.wall_clock_exists(naive, tz):
                self.date_errors[index] = f"{naive:%H:%M} does not exist on that day in {tz.key}: the clocks skip it."
            elif schedule.to_utc(naive, tz) <= self.now:
                self.date_errors[index] = "This date is in the past."
            elif naive in seen:
                self.date_errors[index] = f"The same as date {seen[naive] + 1}."
            else:
                seen[naive] = index
                found.append(schedule.to_utc(naive, tz))
        if self.date_errors:
            self.add_error("dates", "Fix the dates marked below.")
        elif not found:
            self.add_error("dates", "Add at least one date and time.")
        return sorted(found)

    def _clean_recurring(self, data):
        repeat = data.get("repeat")
        if not repeat:
            self.add_error("repeat", "Choose daily, weekly or monthly.")
            return
        if data.get("repeat_every") is None and "repeat_every" not in self.errors:
            data["repeat_every"] = 1
        if repeat == Campaign.Repeat.WEEKLY and not data.get("weekdays") and "weekdays" not in self.errors:
            self.add_error("weekdays", "Choose at least one day of the week.")
        if repeat == Campaign.Repeat.MONTHLY and data.get("month_day") is None and "month_day" not in self.errors:
            self.add_error("month_day", "Choose the day of the month (1 to 31).")
        if data.get("send_time") is None and "send_time" not in self.errors:
            self.add_error("send_time", "Choose the time of day to send.")
        if self.errors:
            return
        probe = Campaign(
            kind=Kind.RECURRING,
            timezone=data["timezone"],
            starts_at=data.get("starts_at"),
            ends_at=data.get("ends_at"),
            repeat=repeat,
            repeat_every=data["repeat_every"],
            weekdays=[int(day) for day in data.get("weekdays") or []],
            month_day=data.get("month_day"),
            send_time=data["send_time"],
        )
        if not schedule.upcoming(probe, after=self.now, count=1):
            self.add_error("ends_at", "No run falls between the start and the end: move the end later.")

    def _clean_trigger(self, data):
        event = data.get("trigger_event", "").strip()
        if not event:
            self.add_error("trigger_event", "Choose the event that starts the campaign.")
        filters, problem = check_filters(event, self.filters)
        if problem:
            self.add_error("trigger_filters", problem)
        data["trigger_filters"] = filters
        kind = self.campaign.kind
        if kind == Kind.INACTION:
            if not data.get("inaction_event", "").strip():
                self.add_error("inaction_event", "Choose the event that, when done in time, cancels the message.")
            amount, unit = data.get("inaction_amount"), data.get("inaction_unit") or "minutes"
            if amount is None and "inaction_amount" not in self.errors:
                self.add_error("inaction_amount", "Say how long to wait, e.g. 10 minutes.")
            elif amount is not None and amount * UNIT_MINUTES[unit] > MAX_INACTION_MINUTES:
                self.add_error("inaction_amount", "Wait at most 90 days.")
            elif amount is not None:
                data["inaction_minutes"] = amount * UNIT_MINUTES[unit]
        if kind == Kind.DATE_PROPERTY:
            self._clean_date_property(data, event)

    def _clean_date_property(self, data, event):
        name = data.get("date_property", "").strip()
        recorded = event_property_types(event).get(name) if event and name else None
        if not name:
            self.add_error("date_property", "Choose the event's date property, e.g. travel_date.")
        elif recorded is not None and recorded != PropertyDefinition.Type.DATE:
            # A property not on record yet is declared here (its type below) and read as such
            # when events bring it; one on record as text or a number can never be a date.
            dates = self.date_properties(event)
            known = f" Its date properties: {', '.join(dates)}." if dates else ""
            kind = PropertyDefinition.Type(recorded).label.lower()
            self.add_error("date_property", f"{event} records {name} as {kind}, not a date.{known}")
        if not data.get("date_property_type"):
            # Posted without the choice (an older page): what the trigger has always read.
            data["date_property_type"] = Campaign.DatePropertyType.DATETIME
        side, amount = data.get("offset_side") or "at", data.get("offset_amount") or 0
        minutes = amount * UNIT_MINUTES[data.get("offset_unit") or "minutes"]
        if side != "at" and not minutes and "offset_amount" not in self.errors:
            self.add_error("offset_amount", "Say how long before or after, or choose “at that time”.")
        elif minutes > MAX_OFFSET_MINUTES:
            self.add_error("offset_amount", "At most 365 days before or after.")
        data["date_offset_minutes"] = 0 if side == "at" else -minutes if side == "before" else minutes

    def _clean_cutoff(self, data):
        cutoff = data.get("cutoff_time")
        if cutoff is None:
            return
        tz = schedule.zone(data["timezone"])
        send = data.get("send_time") or (data["send_at"].astimezone(tz).time() if data.get("send_at") else None)
        if send is not None and cutoff <= send:
            self.add_error("cutoff_time", f"The cut-off must be later than the send time ({send:%H:%M}).")

    @staticmethod
    def date_properties(event):
        return sorted(
            name for name, kind in event_property_types(event).items() if kind == PropertyDefinition.Type.DATE
        )

    # Saving.

    def save(self, campaign):
        fields = self.apply(campaign)
        campaign.save(update_fields=[*fields, "updated_at"])
        return campaign

    def apply(self, campaign):
        """Set the step's fields on ``campaign`` (unsaved); the names of those set."""
        data = self.cleaned_data
        fields = ["timezone"]
        campaign.timezone = data["timezone"]
        if "dates" in self.fields:
            campaign.dates = [moment.isoformat() for moment in data["dates"]]
            fields.append("dates")
        if "send_when" in self.fields:
            campaign.send_now = data["send_now"]
            fields.append("send_now")
        simple = ["send_at", "starts_at", "ends_at", "repeat", "repeat_every", "month_day", "send_time"]
        simple += ["trigger_event", "inaction_event", "date_property", "date_property_type"]
        simple += ["user_timezone", "best_time", "best_time_fallback_hour", "cutoff_time"]
        simple += ["dnd_enabled", "dnd_action", "skip_global_limits"]
        for name in simple:
            if name in self.fields:
                setattr(campaign, name, data[name])
                fields.append(name)
        if "weekdays" in self.fields:
            weekly = data["repeat"] == Campaign.Repeat.WEEKLY
            campaign.weekdays = sorted(int(day) for day in data["weekdays"]) if weekly else []
            campaign.month_day = data["month_day"] if data["repeat"] == Campaign.Repeat.MONTHLY else None
            fields += ["weekdays", "month_day"]
        if "dnd_start" in self.fields:
            enabled = data["dnd_enabled"]
            campaign.dnd_start, campaign.dnd_end = (data["dnd_start"], data["dnd_end"]) if enabled else (None, None)
            fields += ["dnd_start", "dnd_end"]
        if "trigger_filters" in self.fields:
            campaign.trigger_filters = data["trigger_filters"]
            fields.append("trigger_filters")
        if "inaction_amount" in self.fields:
            campaign.inaction_minutes = data["inaction_minutes"]
            fields.append("inaction_minutes")
        if "offset_side" in self.fields:
            campaign.date_offset_minutes = data["date_offset_minutes"]
            fields.append("date_offset_minutes")
        for name in ("trigger_event", "inaction_event", "date_property"):
            if name in fields:
                setattr(campaign, name, getattr(campaign, name).strip())
        return fields
