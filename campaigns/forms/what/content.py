"""One variant's message, one form per channel. Each turns its fields into the content
dict documented in ``delivery/content.py`` (``content_from``) and back (``initial_for``),
and puts every problem — a bad address, a Liquid error — next to its field."""

import re

from django import forms

from campaigns.forms.what.fields import (
    check_js_function,
    check_token,
    check_url,
    form_field_for,
    kv_text,
    parse_kv,
)
from campaigns.forms.what.inbox import InboxFields
from delivery.content import check

# linked.<name> in Liquid: a plain identifier.
LINKED_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")

# The most seconds a push service keeps a message for an offline device: FCM's and the
# browsers' push services' cap is four weeks.
MAX_TTL = 28 * 24 * 3600
MAX_LINKED = 3


def _text(label, *, max_length=200, required=False, rows=None, help_text="", placeholder=""):
    widget = forms.Textarea(attrs={"rows": rows}) if rows else forms.TextInput()
    if placeholder:
        widget.attrs["placeholder"] = placeholder
    return forms.CharField(
        label=label, max_length=max_length, required=required, widget=widget, help_text=help_text, strip=True
    )


def _int(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _present(mapping):
    return {key: value for key, value in mapping.items() if value not in (None, "", [], {}, False)}


class ContentForm(forms.Form):
    """What every channel's variant form has: its place in the message type (the
    property value it is for, its split share) and the shared list and Liquid plumbing."""

    property_value = _text("Property value", help_text="People whose property has this value get this message.")
    share = forms.IntegerField(label="Share (%)", required=False, min_value=1, max_value=99)

    # (content list, form prefix, how many rows, keys per row)
    LISTS = ()
    # Fields whose text may hold Liquid: they get the @ menu and the emoji picker.
    LIQUID_FIELDS = ()
    URL_FIELDS = ()  # http(s) addresses
    HTTPS_FIELDS = ()  # images and icons: https only
    APP_LINK_FIELDS = ()  # mobile: app schemes such as myapp://cart allowed too

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for _key, prefix, rows, keys in self.LISTS:
            for row in range(1, rows + 1):
                for key, field in keys.items():
                    self.fields[f"{prefix}{row}_{key}"] = field()
        for name in self.LIQUID_FIELDS:
            self.fields[name].widget.attrs["data-personalise"] = ""
        for name in self.HTTPS_FIELDS:
            self.fields[name].widget.attrs.setdefault("placeholder", "https://")

    def rows(self, prefix):
        """The bound fields of a list, row by row, for the template."""
        for _, list_prefix, rows, keys in self.LISTS:
            if list_prefix == prefix:
                return [[self[f"{prefix}{row}_{key}"] for key in keys] for row in range(1, rows + 1)]
        return []

    def items(self, values, content_key):
        """The filled rows of a content list (rows with nothing in them are left out)."""
        for key, prefix, rows, keys in self.LISTS:
            if key == content_key:
                found = []
                for row in range(1, rows + 1):
                    item = _present({name: (values.get(f"{prefix}{row}_{name}") or "") for name in keys})
                    if item:
                        found.append(item)
                return found
        return []

    @classmethod
    def list_initial(cls, content):
        initial = {}
        for key, prefix, _rows, keys in cls.LISTS:
            for row, item in enumerate(content.get(key) or [], start=1):
                for name in keys:
                    initial[f"{prefix}{row}_{name}"] = item.get(name, "")
        return initial

    def lenient_content(self):
        """The content as typed, valid or not: what the preview shows while someone types."""
        values = {name: self[name].value() for name in self.fields}
        return self.content_from(values, lenient=True)

    def clean(self):
        data = super().clean()
        for name in (*self.URL_FIELDS, *self.HTTPS_FIELDS):
            try:
                check_url(data.get(name), https_only=name in self.HTTPS_FIELDS, app_links=name in self.APP_LINK_FIELDS)
            except forms.ValidationError as error:
                self.add_error(name, error)
        for key, prefix, rows, keys in self.LISTS:
            for row in range(1, rows + 1):
                self.check_row(key, {name: data.get(f"{prefix}{row}_{name}") for name in keys}, f"{prefix}{row}_")
        self.content = self.content_from(data)
        # Liquid errors at their fields, before anything is saved (delivery.content.check).
        for path, message in check(self.content).items():
            field = form_field_for(path)
            if field in self.fields and field not in self.errors:
                self.add_error(field, f"Liquid: {message}")
        return data

    def check_row(self, content_key, row, prefix):
        """Per-row rules of a list; each channel adds its own."""

    def add_error(self, field, error):
        super().add_error(field, error)
        if field in self.fields:
            # Django links the message (``<id>_error``) through aria-describedby itself.
            self.fields[field].widget.attrs["aria-invalid"] = "true"

    # The template's view of the lists, and which folded sections to open.
    SECTIONS = {}

    @property
    def button_rows(self):
        return self.rows("button")

    @property
    def carousel_rows(self):
        return self.rows("carousel")

    @property
    def linked_rows(self):
        return self.rows("linked")

    @property
    def open_sections(self):
        """Sections holding a value or an error: they are drawn unfolded."""
        opened = set()
        for section, names in self.SECTIONS.items():
            for name in self.fields:
                value = self[name].value()
                if name.startswith(names) and (self[name].errors or value not in (None, "", False, self[name].initial)):
                    opened.add(section)
        return opened


def _button_title():
    return _text("Button text", max_length=40)


def _button_url():
    return _text("Button link", max_length=1000, placeholder="https://")


def _linked_name():
    return _text("Name", max_length=30, placeholder="weather")


def _linked_url():
    return _text("URL", max_length=1000, placeholder="https://api.example.com/weather?city={{ profile.city }}")


LINKED = ("linked", "linked", MAX_LINKED, {"name": _linked_name, "url": _linked_url})


class PushContentForm(InboxFields, ContentForm):
    """What web and mobile push share: key-values, Linked Content and the App Inbox copy."""

    kv = forms.CharField(
        label="Key-value pairs",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "placeholder": "coupon=GOLD4ALL"}),
        help_text="One key=value a line; sent with the notification for your site or app to read.",
    )

    def clean_kv(self):
        return parse_kv(self.cleaned_data.get("kv"))

    def check_row(self, content_key, row, prefix):
        if content_key == "linked":
            name, url = row.get("name") or "", row.get("url") or ""
            if url and not name:
                self.add_error(f"{prefix}name", "Name this source: its data is linked.<name> in Liquid.")
            if name and not LINKED_NAME.fullmatch(name):
                self.add_error(f"{prefix}name", "Letters, digits and _ only, starting with a letter.")
            if name and not url:
                self.add_error(f"{prefix}url", "Give the https:// address to fetch.")
            elif url:
                try:
                    check_url(url, https_only=True)
                except forms.ValidationError as error:
                    self.add_error(f"{prefix}url", error)

    def clean(self):
        data = super().clean()
        names = [item["name"] for item in self.content.get("linked", []) if item.get("name")]
        if len(names) != len(set(names)):
            self.add_error("linked1_name", "Each Linked Content source needs its own name.")
        return data

    def push_common(self, values, lenient):
        kv = values.get("kv")
        if isinstance(kv, str):
            try:
                kv = parse_kv(kv)
            except forms.ValidationError:
                kv = {} if lenient else kv
        return {"kv": kv, "linked": self.items(values, "linked"), "inbox": self.inbox_content(values)}

    @classmethod
    def push_initial(cls, content):
        return {"kv": kv_text(content.get("kv")), **cls.list_initial(content), **cls.inbox_initial(content)}


class WebPushContentForm(PushContentForm):
    title = _text("Title", max_length=200, required=True)
    body = _text("Message", max_length=1000, required=True, rows=3)
    url = _text("Deep link", max_length=1000, placeholder="https://", help_text="Where a click takes them.")
    image = _text("Image", max_length=1000, help_text="A large picture (Chrome on Windows and Android).")
    icon = _text("Icon", max_length=1000, help_text="Your site's icon is used when this is empty.")
    no_icon = forms.BooleanField(label="Don't use an icon", required=False)
    ttl = forms.IntegerField(
        label="Time to live (seconds)",
        required=False,
        min_value=0,
        max_value=MAX_TTL,
        help_text="How long the push service keeps it for a browser that is offline; empty: 24 hours.",
    )
    require_interaction = forms.BooleanField(label="Keep it on screen until it is clicked or closed", required=False)

    LISTS = (("buttons", "button", 2, {"title": _button_title, "url": _button_url}), LINKED)
    SECTIONS = {
        "more": ("image", "icon", "no_icon", "ttl", "require_interaction"),
        "buttons": ("button",),
        "kv": ("kv",),
        "linked": ("linked",),
    }
    LIQUID_FIELDS = ("title", "body", "url", "button1_title", "button2_title", "button1_url", "button2_url", "kv")
    URL_FIELDS = ("url", "button1_url", "button2_url")
    HTTPS_FIELDS = ("image", "icon")

    def check_row(self, content_key, row, prefix):
        super().check_row(content_key, row, prefix)
        if content_key == "buttons" and bool(row.get("title")) != bool(row.get("url")):
            missing = "url" if row.get("title") else "title"
            self.add_error(f"{prefix}{missing}", "A button needs both a text and a link.")

    def content_from(self, values, lenient=False):
        return _present(
            {
                "title": values.get("title"),
                "body": values.get("body"),
                "url": values.get("url"),
                "image": values.get("image"),
                "icon": values.get("icon"),
                "no_icon": bool(values.get("no_icon")),
                "ttl": _int(values.get("ttl")),
                "require_interaction": bool(values.get("require_interaction")),
                "buttons": self.items(values, "buttons"),
                **self.push_common(values, lenient),
            }
        )

    @classmethod
    def initial_for(cls, content):
        keys = ("title", "body", "url", "image", "icon", "no_icon", "ttl", "require_interaction")
        return {**{key: content[key] for key in keys if key in content}, **cls.push_initial(content)}


def _carousel_image():
    return _text("Image", max_length=1000, placeholder="https://")


def _carousel_caption():
    return _text("Caption", max_length=100)


def _carousel_subcaption():
    return _text("Sub-caption", max_length=100)


def _carousel_url():
    return _text("Link", max_length=1000, placeholder="https://")


def _mobile_button_id():
    return _text("Action id", max_length=64, placeholder="buy_now")


MAX_CAROUSEL = 5
CAROUSEL_URLS = tuple(f"carousel{row}_url" for row in range(1, MAX_CAROUSEL + 1))
CAROUSEL_IMAGES = tuple(f"carousel{row}_image" for row in range(1, MAX_CAROUSEL + 1))


class MobileContentForm(PushContentForm):
    title = _text("Title", max_length=200)
    subtitle = _text("Subtitle (iOS)", max_length=200)
    body = _text("Message", max_length=2000, rows=3)
    url = _text("Deep link", max_length=1000, placeholder="https://", help_text="Your app opens this on a click.")
    image = _text("Image", max_length=1000, help_text="Android, and iOS when no iOS media is set.")
    ios_media_url = _text("iOS image or video", max_length=1000)
    ios_media_type = forms.ChoiceField(
        label="iOS media type", choices=[("image", "Image"), ("video", "Video")], required=False
    )
    sound = _text("Sound", max_length=100, placeholder="default", help_text="A file in your app (.caf, .aiff, .wav).")
    badge = forms.IntegerField(label="Badge count", required=False, min_value=0, max_value=99999)
    category = _text("Category (iOS)", max_length=64)
    mutable_content = forms.BooleanField(label="mutable-content (iOS notification service extension)", required=False)
    content_available = forms.BooleanField(label="content-available (silent, wakes the app)", required=False)
    collapse_key = _text("Collapse key", max_length=64, help_text="A newer push with the same key replaces this one.")
    android_priority = forms.ChoiceField(
        label="Android priority",
        choices=[("default", "Default"), ("high", "High"), ("max", "Maximum")],
        initial="default",
        required=False,
    )
    android_channel_id = _text("Android notification channel id", max_length=64)

    LISTS = (
        (
            "carousel",
            "carousel",
            MAX_CAROUSEL,
            {
                "image": _carousel_image,
                "caption": _carousel_caption,
                "subcaption": _carousel_subcaption,
                "url": _carousel_url,
            },
        ),
        ("buttons", "button", 3, {"title": _button_title, "id": _mobile_button_id, "url": _button_url}),
        LINKED,
    )
    SECTIONS = {
        "more": ("sound", "badge", "category", "mutable_content", "content_available", "collapse_key", "android_"),
        "media": ("image", "ios_media", "carousel"),
        "buttons": ("button",),
        "kv": ("kv",),
        "linked": ("linked",),
    }
    LIQUID_FIELDS = (
        "title",
        "subtitle",
        "body",
        "url",
        "kv",
        *(f"carousel{row}_{key}" for row in range(1, MAX_CAROUSEL + 1) for key in ("caption", "subcaption")),
        *(f"button{row}_title" for row in range(1, 4)),
    )
    URL_FIELDS = ("url", "button1_url", "button2_url", "button3_url", *CAROUSEL_URLS)
    # Apps open their own schemes (myapp://cart) as well as web addresses.
    APP_LINK_FIELDS = URL_FIELDS
    HTTPS_FIELDS = ("image", "ios_media_url", *CAROUSEL_IMAGES)

    def clean(self):
        data = super().clean()
        # A silent push (content-available) shows nothing, so it needs no text.
        if not data.get("content_available"):
            for name in ("title", "body"):
                if not data.get(name) and name not in self.errors:
                    self.add_error(name, "Required, unless this is a silent push (content-available).")
        if data.get("ios_media_url") and not data.get("ios_media_type"):
            self.add_error("ios_media_type", "Say whether the iOS media is an image or a video.")
        for name, what in (
            ("sound", "Sound"),
            ("category", "Category"),
            ("collapse_key", "Collapse key"),
            ("android_channel_id", "Channel id"),
        ):
            try:
                check_token(data.get(name), what)
            except forms.ValidationError as error:
                self.add_error(name, error)
        return data

    def check_row(self, content_key, row, prefix):
        super().check_row(content_key, row, prefix)
        if content_key == "carousel" and any(row.values()) and not row.get("image"):
            self.add_error(f"{prefix}image", "Each carousel card needs an image.")
        if content_key == "buttons" and any(row.values()):
            if not row.get("title"):
                self.add_error(f"{prefix}title", "A button needs a text.")
            if not row.get("id"):
                self.add_error(f"{prefix}id", "A button needs an action id your app knows.")
            else:
                try:
                    check_token(row["id"], "Action id")
                except forms.ValidationError as error:
                    self.add_error(f"{prefix}id", error)

    def content_from(self, values, lenient=False):
        priority = values.get("android_priority") or "default"
        return _present(
            {
                **{
                    key: values.get(key)
                    for key in (
                        "title",
                        "subtitle",
                        "body",
                        "url",
                        "image",
                        "ios_media_url",
                        "sound",
                        "category",
                        "collapse_key",
                        "android_channel_id",
                    )
                },
                "ios_media_type": values.get("ios_media_type") if values.get("ios_media_url") else None,
                "badge": _int(values.get("badge")),
                "mutable_content": bool(values.get("mutable_content")),
                "content_available": bool(values.get("content_available")),
                "android_priority": None if priority == "default" else priority,
                "carousel": self.items(values, "carousel"),
                "buttons": self.items(values, "buttons"),
                **self.push_common(values, lenient),
            }
        )

    @classmethod
    def initial_for(cls, content):
        keys = (
            "title",
            "subtitle",
            "body",
            "url",
            "image",
            "ios_media_url",
            "ios_media_type",
            "sound",
            "badge",
            "category",
            "mutable_content",
            "content_available",
            "collapse_key",
            "android_priority",
            "android_channel_id",
        )
        return {**{key: content[key] for key in keys if key in content}, **cls.push_initial(content)}


class ExitIntentContentForm(ContentForm):
    """The pop-up (004_475e719091588949.txt): image, title, text, and a button whose
    click does nothing, opens a link, or calls a named function on the page."""

    class Click:
        NONE = "none"
        LINK = "link"
        JS = "js"
        CHOICES = [(NONE, "Close the pop-up"), (LINK, "Open a link"), (JS, "Call a JavaScript function")]

    image = _text("Image", max_length=1000)
    title = _text("Title", max_length=200, required=True)
    body = _text("Text", max_length=1000, rows=3)
    button_text = _text("Button text", max_length=60, required=True)
    click_action = forms.ChoiceField(label="When the button is clicked", choices=Click.CHOICES, initial=Click.NONE)
    click_url = _text("Link", max_length=1000, placeholder="https://")
    js_function = _text(
        "JavaScript function", max_length=100, placeholder="Shop.openCart", help_text="Called with no arguments."
    )

    LIQUID_FIELDS = ("title", "body", "button_text", "click_url")
    URL_FIELDS = ("click_url",)
    HTTPS_FIELDS = ("image",)

    def clean(self):
        data = super().clean()
        action = data.get("click_action")
        if action == self.Click.LINK and not data.get("click_url") and "click_url" not in self.errors:
            self.add_error("click_url", "Give the link the button opens.")
        if action == self.Click.JS:
            if not data.get("js_function"):
                self.add_error("js_function", "Give the name of the function the button calls.")
            else:
                try:
                    check_js_function(data["js_function"])
                except forms.ValidationError as error:
                    self.add_error("js_function", error)
        return data

    def content_from(self, values, lenient=False):
        action = values.get("click_action") or self.Click.NONE
        return _present(
            {
                "image": values.get("image"),
                "title": values.get("title"),
                "body": values.get("body"),
                "button_text": values.get("button_text"),
                "click_action": action,
                "click_url": values.get("click_url") if action == self.Click.LINK else None,
                "js_function": values.get("js_function") if action == self.Click.JS else None,
            }
        )

    @classmethod
    def initial_for(cls, content):
        keys = ("image", "title", "body", "button_text", "click_action", "click_url", "js_function")
        return {key: content[key] for key in keys if key in content}
