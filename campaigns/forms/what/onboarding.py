"""The What step of a "Push permission request" campaign (seed 002, soft onboarding): one of
the two templates — simple (image, title, text, the two buttons' titles) or with categories
the person picks — and after how many days "Maybe later" asks again. campaigns/onboarding.py
gives it to browsers; the keys it saves are read there."""

from django import forms

from accounts.params import int_between
from campaigns.forms.what.content import ContentForm, _present, _text
from campaigns.onboarding import DEFAULT_LATER_DAYS, MAX_LATER_DAYS, SIMPLE, WITH_CATEGORIES

MAX_CATEGORIES = 8
# A category's name is what the device stores and segments match ("subscribed to category X"):
# the SDK's /subscriptions accepts 1 to 100 characters (segments.sdk.schemas.Category).
CATEGORY_NAME_MAX = 100


def _category_name():
    return _text("Category", max_length=CATEGORY_NAME_MAX, placeholder="deals")


def _category_label():
    return _text("Shown as", max_length=60, placeholder="Deals and offers")


class PermissionRequestContentForm(ContentForm):
    class Template:
        CHOICES = [
            (SIMPLE, "Push permissions request (simple)"),
            (WITH_CATEGORIES, "Push permissions request (with categories)"),
        ]

    template = forms.ChoiceField(label="Template", choices=Template.CHOICES, initial=SIMPLE, widget=forms.RadioSelect)
    image = _text("Image", max_length=1000)
    title = _text("Title", max_length=200, required=True)
    body = _text("Text", max_length=1000, rows=3)
    subscribe_text = _text("Subscribe button", max_length=40, required=True)
    later_text = _text("Maybe later button", max_length=40, required=True)
    later_days = forms.IntegerField(
        label="After “Maybe later”, ask again after (days)",
        min_value=1,
        max_value=MAX_LATER_DAYS,
        initial=DEFAULT_LATER_DAYS,
        help_text=f"1 to {MAX_LATER_DAYS} days.",
    )

    LISTS = (("categories", "category", MAX_CATEGORIES, {"name": _category_name, "label": _category_label}),)
    LIQUID_FIELDS = ("title", "body", "subscribe_text", "later_text")
    HTTPS_FIELDS = ("image",)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["subscribe_text"].initial = "Subscribe"
        self.fields["later_text"].initial = "Maybe later"

    @property
    def category_rows(self):
        return self.rows("category")

    def check_row(self, content_key, row, prefix):
        if row.get("label") and not row.get("name"):
            self.add_error(f"{prefix}name", "Give the category's name (what segments match).")

    def clean(self):
        data = super().clean()
        names = [item.get("name") for item in self.content.get("categories") or []]
        if data.get("template") == WITH_CATEGORIES and not any(names):
            self.add_error("category1_name", "Add at least one category people can pick.")
        for row, name in enumerate(names, start=1):
            if name and name in names[: row - 1]:
                self.add_error(f"category{row}_name", f"“{name}” is already in the list.")
        return data

    def content_from(self, values, lenient=False):
        template = values.get("template") or SIMPLE
        days = values.get("later_days")
        days = days if isinstance(days, int) else int_between(str(days or ""), 1, MAX_LATER_DAYS)
        return _present(
            {
                "template": template,
                "image": values.get("image"),
                "title": values.get("title"),
                "body": values.get("body"),
                "subscribe_text": values.get("subscribe_text"),
                "later_text": values.get("later_text"),
                "categories": self.items(values, "categories") if template == WITH_CATEGORIES else None,
                "later_days": days,
            }
        )

    @classmethod
    def initial_for(cls, content):
        keys = ("template", "image", "title", "body", "subscribe_text", "later_text", "later_days")
        return {**{key: content[key] for key in keys if key in content}, **cls.list_initial(content)}
