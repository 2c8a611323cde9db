"""Message content: its keys per channel, Liquid personalisation, and the rendered text.

A variant's ``content`` (``campaigns.Variant.content``, frozen into ``Dispatch.contents``)
is a dict with these keys — every one optional but ``title``/``body`` where the channel
needs them; text keys marked (L) may hold Liquid:

  every push   title (L), body (L), url (L) deep link, kv {key: value (L)}
  web push     image (L), icon (L), no_icon, ttl (seconds), require_interaction,
               buttons [{title (L), url (L)}] (at most two)
  mobile push  subtitle (L), sound, badge, category, mutable_content, content_available,
               collapse_key, android_priority (max / high / default), android_channel_id,
               image (L) (Android and iOS), ios_media_url (L), ios_media_type (image / video),
               carousel [{image, caption (L), subcaption (L), url (L)}], buttons [{title (L), id, url (L)}]
  exit intent  image, title (L), body (L), button_text (L),
               click_action (none / link / js), click_url (L), js_function
  web push     browsers: "all" (default: Safari may get it, so no image or buttons, and a
               deep link) or "not_safari" (the pipeline skips Safari devices)
  every push   linked [{name, url (L)}] (at most three, https): Linked Content, fetched at
               send time with the rendered url; its JSON is ``linked.<name>`` in Liquid

Personalisation is python-liquid: ``{{ profile.first_name | default: "there" }}``. The
context is ``profile`` (built-in fields and custom properties), ``event`` (the live
trigger event's properties) and ``linked`` (Linked Content fetched at send time).
Push text is plain text, so push rendering does not escape; wherever rendered text is
shown as HTML (previews, the pop-up) it goes through Django's autoescaping or the
``html_env`` below, never ``|safe``.
"""

import functools

from liquid import Environment
from liquid.exceptions import LiquidError

# Keys whose values are Liquid templates, per nesting: top-level, kv values, list items.
TEXT_KEYS = (
    "title",
    "subtitle",
    "body",
    "url",
    "image",
    "icon",
    "ios_media_url",
    "button_text",
    "click_url",
)
ITEM_TEXT_KEYS = ("title", "url", "caption", "subcaption", "image")

env = Environment()
html_env = Environment(autoescape=True)

# Profile fields offered in the @ menu and put in the context beside custom properties.
PROFILE_FIELDS = (
    "identity",
    "name",
    "email",
    "phone",
    "age",
    "gender",
    "country",
    "region",
    "city",
    "timezone",
    "language",
)


class ContentError(ValueError):
    """A Liquid template that does not parse or render; ``field`` names where."""

    def __init__(self, field, message):
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


def profile_context(profile):
    """``profile`` in Liquid: custom properties, then the built-in fields over them."""
    context = dict(profile.properties or {})
    for name in PROFILE_FIELDS:
        value = getattr(profile, name)
        if value not in ("", None):
            context[name] = value
    first = (profile.name or "").split(" ")[0]
    if first:
        context.setdefault("first_name", first)
    return context


def fields(content):
    """(field path, template text) for every Liquid-bearing value of a content dict."""
    for key in TEXT_KEYS:
        if isinstance(content.get(key), str) and content[key]:
            yield key, content[key]
    for key, value in (content.get("kv") or {}).items():
        if isinstance(value, str) and value:
            yield f"kv.{key}", value
    for listed in ("buttons", "carousel", "linked"):
        for index, item in enumerate(content.get(listed) or []):
            for key in ITEM_TEXT_KEYS:
                if isinstance(item.get(key), str) and item[key]:
                    yield f"{listed}.{index}.{key}", item[key]


def check(content):
    """Every Liquid error of a content dict, as {field path: message}; empty when it parses."""
    errors = {}
    for field, text in fields(content):
        try:
            env.from_string(text)
        except LiquidError as error:
            errors[field] = str(error).split("\n")[0]
    return errors


@functools.lru_cache(maxsize=1024)
def _template(text, html):
    # Parsing costs several times a render; a send renders the same text for every profile.
    return (html_env if html else env).from_string(text)


def render_text(text, context, *, html=False):
    if not text or ("{{" not in text and "{%" not in text):
        return text
    return _template(text, html).render(**context)


def render(content, context, *, html=False):
    """A copy of ``content`` with every Liquid value rendered. Raises ContentError naming
    the field, so one profile's bad data fails its message, not the batch."""
    rendered = dict(content)
    try:
        for field, text in fields(content):
            value = render_text(text, context, html=html)
            parts = field.split(".")
            if len(parts) == 1:
                rendered[field] = value
            elif parts[0] == "kv":
                rendered["kv"] = {**rendered.get("kv", {}), parts[1]: value}
            else:
                listed, index, key = parts[0], int(parts[1]), parts[2]
                items = [dict(item) for item in rendered[listed]]
                items[index][key] = value
                rendered[listed] = items
    except LiquidError as error:
        raise ContentError(field, str(error).split("\n")[0]) from error
    return rendered
