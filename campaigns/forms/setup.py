"""The Setup step: control group, labels and the conversion goal."""

from django import forms

from campaigns.actions.lifecycle import MAX_CONTROL_GROUP
from campaigns.models import Campaign, Label
from segments.forms.builder import OP_LABELS, Types, known_events
from segments.rules import tree

MAX_LABELS = 10
LABEL_LENGTH = Label._meta.get_field("name").max_length
MAX_FILTERS = 5
# Offered for picking: the most used labels (a long tail is typed).
LABELS_OFFERED = 40
UNITS = {"minutes": 1, "hours": 60, "days": 24 * 60}
MAX_WINDOW_MINUTES = 90 * 24 * 60
GOAL_FIELDS = ("goal_event", "goal_window_value", "goal_window_unit", "goal_after", "revenue_property")


def asks_goal(campaign):
    """A Push permission request has no conversion goal to choose: its goal is the
    subscription itself, counted as Subscribed and the subscribe rate (campaigns/counts.py
    PROMPT_TERMS); it sends no message a goal event could follow."""
    return campaign.channel != Campaign.Channel.PERMISSION_REQUEST


class SetupForm(forms.Form):
    """Reads the step's fields and writes them with ``save(campaign)``.

    Goal filters come as numbered rows (``filter_0_property``, ``filter_0_operator``,
    ``filter_0_value``, ``filter_0_max``) so each error sits next to its own field and
    the form works as a plain post; a row without a property is ignored."""

    control_group_percent = forms.IntegerField(
        label="Control group",
        min_value=0,
        max_value=MAX_CONTROL_GROUP,
        error_messages={
            "required": "Give a percentage, 0 for no control group.",
            "min_value": "The control group cannot be negative.",
            "max_value": "At most %(limit_value)s %% can be held out.",
            "invalid": "Give a whole number of percent.",
        },
    )
    existing_labels = forms.MultipleChoiceField(required=False, widget=forms.CheckboxSelectMultiple)
    new_labels = forms.CharField(label="New labels", required=False, max_length=1000)
    goal_event = forms.CharField(label="Conversion event", required=False, max_length=200)
    goal_window_value = forms.IntegerField(label="Funnel conversion time", required=False, min_value=1)
    goal_window_unit = forms.ChoiceField(choices=[(unit, unit) for unit in UNITS], initial="hours")
    goal_after = forms.ChoiceField(
        label="Counted", choices=Campaign.GoalAfter.choices, widget=forms.RadioSelect, initial="sent"
    )
    revenue_property = forms.CharField(label="Revenue property", required=False, max_length=200)

    def __init__(self, *args, campaign, **kwargs):
        self.campaign = campaign
        self.types = Types.load()
        self.events = known_events(self.types)
        super().__init__(*args, **kwargs)
        offered = list(Label.objects.order_by("name").values_list("name", flat=True)[:LABELS_OFFERED])
        own = [label.name for label in campaign.labels.all()]
        self.fields["existing_labels"].choices = [(name, name) for name in sorted({*offered, *own}, key=str.lower)]
        self.asks_goal = asks_goal(campaign)
        if not self.asks_goal:
            for name in GOAL_FIELDS:
                del self.fields[name]
            return
        for index in range(MAX_FILTERS):
            self.fields[f"filter_{index}_property"] = forms.CharField(required=False, max_length=200)
            self.fields[f"filter_{index}_operator"] = forms.ChoiceField(
                required=False, choices=[(op, OP_LABELS[op]) for op in tree.PROPERTY_OPS]
            )
            self.fields[f"filter_{index}_value"] = forms.CharField(required=False, max_length=500)
            self.fields[f"filter_{index}_max"] = forms.CharField(required=False, max_length=100)

    @classmethod
    def initial_for(cls, campaign):
        minutes = campaign.goal_window_minutes
        unit = next((unit for unit in ("days", "hours") if minutes and minutes % UNITS[unit] == 0), "minutes")
        initial = {
            "control_group_percent": campaign.control_group_percent,
            "existing_labels": [label.name for label in campaign.labels.all()],
            "goal_event": campaign.goal_event,
            "goal_window_value": minutes // UNITS[unit] if minutes else 24,
            "goal_window_unit": unit if minutes else "hours",
            "goal_after": campaign.goal_after,
            "revenue_property": campaign.revenue_property,
        }
        for index, item in enumerate(campaign.goal_filters[:MAX_FILTERS]):
            value = item.get("value")
            if item.get("operator") == "between" and isinstance(value, list | tuple) and len(value) == 2:
                initial[f"filter_{index}_value"], initial[f"filter_{index}_max"] = value
            elif isinstance(value, list | tuple):
                initial[f"filter_{index}_value"] = ", ".join(str(v) for v in value)
            else:
                initial[f"filter_{index}_value"] = "" if value is None else value
            initial[f"filter_{index}_property"] = item.get("property", "")
            initial[f"filter_{index}_operator"] = item.get("operator", "equals")
        return initial

    def filter_rows(self):
        """The rows to draw: those filled in, then blanks, up to MAX_FILTERS."""
        if not self.asks_goal:
            return []
        filled = [i for i in range(MAX_FILTERS) if (self[f"filter_{i}_property"].value() or "").strip()]
        shown = min(MAX_FILTERS, (max(filled) + 1 if filled else 0) + 2)
        return [
            {name: self[f"filter_{index}_{name}"] for name in ("property", "operator", "value", "max")}
            for index in range(shown)
        ]

    def numeric_properties(self, event):
        return sorted(name for (owner, name), kind in self.types.event.items() if owner == event and kind == "number")

    def event_properties(self, event):
        return sorted(name for owner, name in self.types.event if owner == event)

    def clean_new_labels(self):
        names = [name.strip() for name in self.cleaned_data["new_labels"].split(",")]
        for name in names:
            if len(name) > LABEL_LENGTH:
                raise forms.ValidationError(f"“{name[:20]}…” is longer than {LABEL_LENGTH} characters.")
        return [name for name in names if name]

    def clean_goal_event(self):
        event = self.cleaned_data["goal_event"].strip()
        if event and event not in self.events and event != self.campaign.goal_event:
            raise forms.ValidationError(f"No event called “{event}” has been recorded: pick one from the list.")
        return event

    def clean(self):
        data = super().clean()
        self._clean_labels(data)
        if not self.asks_goal:
            # Nothing posted is taken: no goal, whatever the request says.
            data.update(goal_event="", goal_filters=[], goal_window_minutes=None, revenue_property="")
            data["goal_after"] = Campaign.GoalAfter.SENT
            return data
        event = data.get("goal_event")
        value, unit = data.get("goal_window_value"), data.get("goal_window_unit")
        data["goal_window_minutes"] = None
        if event:
            if value is None:
                self.add_error("goal_window_value", "Say how long after the message a conversion counts.")
            elif unit and value * UNITS[unit] > MAX_WINDOW_MINUTES:
                self.add_error("goal_window_value", "The funnel conversion time is at most 90 days.")
            elif unit:
                data["goal_window_minutes"] = value * UNITS[unit]
        data["goal_filters"] = self._clean_filters(event)
        revenue = data.get("revenue_property", "").strip()
        data["revenue_property"] = revenue
        if revenue and not event:
            self.add_error("revenue_property", "Choose the conversion event first: revenue is one of its properties.")
        elif revenue and revenue not in self.numeric_properties(event):
            self.add_error("revenue_property", f"“{revenue}” is not a number property of {event}.")
        return data

    def _clean_labels(self, data):
        chosen, seen = [], set()
        for name in [*data.get("existing_labels", []), *data.get("new_labels", [])]:
            if name.lower() not in seen:
                seen.add(name.lower())
                chosen.append(name)
        if len(chosen) > MAX_LABELS:
            self.add_error("new_labels", f"At most {MAX_LABELS} labels; this has {len(chosen)}.")
        data["labels"] = chosen

    def _clean_filters(self, event):
        """The goal filters as stored: [{property, operator, value}], each checked the
        way segment rules check an event filter (segments/rules/tree.py)."""
        found = []
        for index in range(MAX_FILTERS):
            name = (self.cleaned_data.get(f"filter_{index}_property") or "").strip()
            if not name:
                continue
            if not event:
                self.add_error(f"filter_{index}_property", "Choose the conversion event first.")
                continue
            op = self.cleaned_data.get(f"filter_{index}_operator") or "equals"
            text = (self.cleaned_data.get(f"filter_{index}_value") or "").strip()
            high = (self.cleaned_data.get(f"filter_{index}_max") or "").strip()
            if op in tree.SET_OPS:
                rule, stored = {"op": op}, None
            elif op == "in":
                values = [part.strip() for part in text.split(",") if part.strip()]
                rule, stored = {"op": op, "values": values}, values
            elif op == "between":
                rule, stored = {"op": op, "min": text, "max": high}, [text, high]
            else:
                rule, stored = {"op": op, "value": text}, text
            try:
                tree.comparison(rule, name)
            except ValueError as problem:
                self.add_error(f"filter_{index}_value", str(problem))
                continue
            found.append({"property": name, "operator": op, "value": stored})
        return found

    def save(self, campaign):
        data = self.cleaned_data
        campaign.control_group_percent = data["control_group_percent"]
        campaign.goal_event = data["goal_event"]
        campaign.goal_filters = data["goal_filters"] if data["goal_event"] else []
        campaign.goal_window_minutes = data["goal_window_minutes"]
        campaign.goal_after = data["goal_after"]
        campaign.revenue_property = data["revenue_property"]
        campaign.save()
        campaign.labels.set([_label(name) for name in data["labels"]])
        return campaign


def _label(name):
    """The label called ``name``, whatever its case, or a new one."""
    label = Label.objects.filter(name__iexact=name).order_by("pk").first()
    return label or Label.objects.create(name=name)
