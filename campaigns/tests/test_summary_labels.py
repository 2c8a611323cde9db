"""Overview and the campaign page name every message option in a marketer's words."""

import html
import re

import pytest
from django import forms

from campaigns.forms.what import CONTENT_FORMS
from campaigns.models import Campaign, Variant
from campaigns.summary import MAIN_KEYS, OPTION_LABELS
from segments.models import Segment

RAW = ("Ttl", "Kv", "not_safari", "Click action", "Ios media url", "Android channel id", "Js function")


@pytest.fixture
def make_campaign(db):
    def make(channel, content, status="draft"):
        segment = Segment.objects.create(name="Everyone", rules={"match": "all", "conditions": []})
        campaign = Campaign.objects.create(
            name="Labels", channel=channel, kind="one_time", status=status, segment=segment
        )
        Variant.objects.create(campaign=campaign, content=content)
        return campaign

    return make


def pages(client, campaign):
    """The campaign's Overview (a draft's) and its own page, as text, without the random
    CSP nonces and CSRF tokens (one holding "Kv" would read as a raw label)."""
    found = [client.get(f"/campaigns/{campaign.pk}/").content.decode()]
    if campaign.is_draft:
        found.append(client.get(f"/campaigns/{campaign.pk}/overview/").content.decode())
    return [html.unescape(without_tokens(page)) for page in found]


def without_tokens(page):
    page = re.sub(r'nonce="[^"]*"', "", page)
    return re.sub(r'(csrfmiddlewaretoken" value=|"X-CSRFToken": |name="csrf-token" content=)"[^"]*"', "", page)


WEB = {
    "title": "Sale",
    "body": "20% off",
    "ttl": 86400,
    "kv": {"coupon": "GOLD"},
    "browsers": "not_safari",
    "require_interaction": True,
    "buttons": [{"title": "Buy now", "url": "https://shop.example.com/sale"}],
}
MOBILE = {"title": "Sale", "body": "20% off", "ios_media_url": "https://cdn.example.com/a.jpg"}
MOBILE["ios_media_type"] = "video"
EXIT = {"title": "Wait", "button_text": "Open cart", "click_action": "js", "js_function": "Shop.openCart"}


@pytest.mark.parametrize("status", ["draft", "scheduled"])
def test_web_push_options_read_as_words(marketer, make_campaign, status):
    for page in pages(marketer, make_campaign("web_push", WEB, status)):
        assert "Time to live</dt><dd>86,400 seconds (1 day)" in page
        assert "Key-value pairs</dt><dd>coupon = GOLD" in page
        assert "Browsers</dt><dd>All browsers but Safari" in page
        assert "Stays on screen until clicked or closed</dt><dd>yes" in page
        assert "Buttons</dt><dd>Buy now → https://shop.example.com/sale" in page
        assert not [raw for raw in RAW if raw in page]


def test_mobile_and_exit_intent_options_read_as_words(marketer, make_campaign):
    for page in pages(marketer, make_campaign("mobile_push", MOBILE)):
        assert "iOS media URL</dt><dd>https://cdn.example.com/a.jpg" in page
        assert "iOS media type</dt><dd>video" in page
        assert not [raw for raw in RAW if raw in page]
    for page in pages(marketer, make_campaign("exit_intent", EXIT)):
        assert "On click</dt><dd>run a JavaScript function" in page
        assert "JavaScript function</dt><dd>Shop.openCart" in page
        assert not [raw for raw in RAW if raw in page]


def _filled(form_class, choice):
    """Every field of a What-step content form filled in, each choice field with its
    ``choice``-th choice: the content keys that form can save."""
    form = form_class()
    values = {}
    for name, field in form.fields.items():
        if isinstance(field, forms.BooleanField):
            values[name] = True
        elif isinstance(field, forms.IntegerField):
            values[name] = 60
        elif isinstance(field, forms.ChoiceField):
            values[name] = list(field.choices)[choice][0]
        else:
            values[name] = "https://example.com/x"
    values["kv"] = "coupon=GOLD"
    return form.content_from(values)


@pytest.mark.parametrize("channel", list(CONTENT_FORMS))
def test_every_content_key_a_form_saves_has_a_label(channel):
    keys = set()
    for choice in (0, 1, -1):
        keys |= set(_filled(CONTENT_FORMS[channel], choice))
    if channel == Campaign.Channel.WEB_PUSH:
        keys.add("browsers")  # set by the What step's settings (campaigns/views/what.py)
    assert keys - set(MAIN_KEYS) - set(OPTION_LABELS) == set()


@pytest.mark.parametrize(
    ("status", "next_runs"),
    [("draft", "has passed"), ("scheduled", "has passed"), ("completed", "None ahead"), ("stopped", "None ahead")],
)
def test_a_passed_send_time_is_a_warning_only_before_the_campaign_ran(make_campaign, status, next_runs):
    from datetime import timedelta

    from django.utils import timezone

    from campaigns.summary import sections

    campaign = make_campaign("web_push", WEB, status=status)
    campaign.send_at = timezone.now() - timedelta(days=2)
    campaign.save()
    when = next(section for section in sections(campaign) if section["step"] == "when")
    assert next_runs in dict(when["rows"])["Next runs"]


def test_an_inbox_copy_and_a_permission_request_read_as_words(marketer, make_campaign):
    inbox = {"title": "Sale", "body": "20% off", "inbox": {"body_color": "#1a2b3c", "tags": ["sale"], "ttl": 172800}}
    for page in pages(marketer, make_campaign("web_push", inbox)):
        assert "Copy to App Inbox</dt><dd>yes: message colour #1a2b3c · tags sale · kept 2 days" in page
    banner = {
        "template": "categories",
        "title": "Stay in touch",
        "subscribe_text": "Yes please",
        "later_text": "Not now",
        "later_days": 7,
        "categories": [{"name": "deals", "label": "Deals"}],
    }
    for page in pages(marketer, make_campaign("permission_request", banner)):
        assert "Template</dt><dd>Push permissions request (with categories)" in page
        assert "Maybe later button</dt><dd>Not now" in page
        assert "ask again after</dt><dd>7 days" in page
        assert "Categories</dt><dd>deals · Deals" in page
