"""The What step's "Send a copy to App Inbox" (seed 001, "Optimizing delivery by sending to App
Inbox"): a push variant's ``inbox`` section (``delivery/actions/inbox.py`` reads it) — its own
title and message if the inbox should say something else, colours, tags and how long it stays.
Fields of every push content form (``PushContentForm``), each error at its field."""

import re

from django import forms

from delivery.actions import inbox
from delivery.content import check

COLOUR = re.compile(r"#[0-9a-fA-F]{6}")
TAG = re.compile(r"[\w][\w .-]*")
MIN_HOURS = inbox.MIN_TTL // 3600
MAX_HOURS = inbox.MAX_TTL // 3600
DEFAULT_HOURS = inbox.DEFAULT_TTL // 3600
COLOURS = {
    "inbox_title_color": "title_color",
    "inbox_body_color": "body_color",
    "inbox_background_color": "background_color",
}
FIELDS = ("inbox_copy", "inbox_title", "inbox_body", *COLOURS, "inbox_tags", "inbox_ttl_hours")


def _colour(label):
    return forms.CharField(
        label=label, max_length=7, required=False, strip=True, widget=forms.TextInput(attrs={"placeholder": "#1a2b3c"})
    )


class InboxFields(forms.Form):
    inbox_copy = forms.BooleanField(label="Send a copy to App Inbox", required=False)
    inbox_title = forms.CharField(
        label="Inbox title", max_length=200, required=False, strip=True, help_text="Empty: the push's title."
    )
    inbox_body = forms.CharField(
        label="Inbox message",
        max_length=2000,
        required=False,
        strip=True,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Empty: the push's message.",
    )
    inbox_title_color = _colour("Title colour")
    inbox_body_color = _colour("Message colour")
    inbox_background_color = _colour("Background colour")
    inbox_tags = forms.CharField(
        label="Tags",
        max_length=400,
        required=False,
        strip=True,
        help_text=f"Up to {inbox.MAX_TAGS}, separated by commas, e.g. offers, spring; your app can filter by them.",
    )
    inbox_ttl_hours = forms.IntegerField(
        label="Keep in the inbox for (hours)",
        required=False,
        initial=DEFAULT_HOURS,
        min_value=MIN_HOURS,
        max_value=MAX_HOURS,
        help_text=f"From {MIN_HOURS} hour to {MAX_HOURS // 24} days; then it disappears from the inbox.",
        error_messages={
            "min_value": f"Keep it at least {MIN_HOURS} hour.",
            "max_value": f"Keep it at most {MAX_HOURS // 24} days ({MAX_HOURS} hours).",
        },
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in ("inbox_title", "inbox_body"):
            self.fields[name].widget.attrs["data-personalise"] = ""

    def clean(self):
        data = super().clean()
        if not data.get("inbox_copy"):
            return data
        for name in COLOURS:
            if data.get(name) and not COLOUR.fullmatch(data[name]):
                self.add_error(name, "A colour as #rrggbb, e.g. #1a2b3c.")
        tags = _tags(data.get("inbox_tags"))
        if len(tags) > inbox.MAX_TAGS:
            self.add_error("inbox_tags", f"At most {inbox.MAX_TAGS} tags.")
        for tag in tags:
            if len(tag) > inbox.TAG_LENGTH or not TAG.fullmatch(tag):
                self.add_error(
                    "inbox_tags",
                    f"“{tag[:40]}”: a tag is up to {inbox.TAG_LENGTH} letters, digits, spaces and _ . -",
                )
                break
        if data.get("inbox_ttl_hours") is None and "inbox_ttl_hours" not in self.errors:
            self.add_error("inbox_ttl_hours", "Say how long the copy stays in the inbox.")
        for path, message in check({"title": data.get("inbox_title"), "body": data.get("inbox_body")}).items():
            if f"inbox_{path}" not in self.errors:
                self.add_error(f"inbox_{path}", f"Liquid: {message}")
        if getattr(self, "content", {}).get("linked"):
            # The inbox is rendered when it is listed, where other servers are not asked.
            self.add_error(
                "inbox_copy",
                "An App Inbox copy cannot use Linked Content: remove the Linked Content, or the copy.",
            )
        return data

    def inbox_content(self, values):
        """The ``inbox`` section of the content, or None when no copy is sent."""
        if not values.get("inbox_copy"):
            return None
        hours = values.get("inbox_ttl_hours")
        try:
            hours = int(hours) if hours not in (None, "") else DEFAULT_HOURS
        except (TypeError, ValueError):
            hours = DEFAULT_HOURS
        section = {
            "title": values.get("inbox_title") or "",
            "body": values.get("inbox_body") or "",
            **{key: values.get(name) or "" for name, key in COLOURS.items()},
            "tags": _tags(values.get("inbox_tags")),
            "ttl": hours * 3600,
        }
        return {key: value for key, value in section.items() if value not in ("", [])}

    @staticmethod
    def inbox_initial(content):
        section = content.get(inbox.KEY)
        if not isinstance(section, dict):
            return {}
        return {
            "inbox_copy": True,
            "inbox_title": section.get("title", ""),
            "inbox_body": section.get("body", ""),
            **{name: section.get(key, "") for name, key in COLOURS.items()},
            "inbox_tags": ", ".join(section.get("tags") or []),
            "inbox_ttl_hours": inbox.ttl_of(section) // 3600,
        }

    @property
    def open_sections(self):
        opened = super().open_sections
        if self["inbox_copy"].value() or any(self[name].errors for name in FIELDS):
            opened = {*opened, "inbox"}
        return opened


def _tags(text):
    if isinstance(text, list):
        return [tag for tag in text if isinstance(tag, str)]
    return [tag.strip() for tag in (text or "").split(",") if tag.strip()]
