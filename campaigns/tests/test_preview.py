"""The What step's live preview: a variant rendered with a test profile's data per
browser or OS, escaped, with Liquid errors and the payload size check."""

import json

import pytest
from django.urls import reverse

from campaigns import preview as previews
from campaigns.actions.drafts import do_create_draft
from campaigns.models import Campaign
from delivery.payloads import MAX_PUSH_BYTES
from segments.models import Event, Profile

pytestmark = pytest.mark.django_db


def make(make_user, channel=Campaign.Channel.WEB_PUSH, kind=Campaign.Kind.ONE_TIME, **fields):
    campaign = do_create_draft(name="Spring sale", channel=channel, kind=kind, owner=make_user())
    Campaign.objects.filter(pk=campaign.pk).update(**fields)
    campaign.refresh_from_db()
    return campaign


@pytest.fixture
def campaign(make_user):
    return make(make_user)


def preview_url(campaign):
    return reverse("campaigns:what_preview", args=[campaign.pk])


def posted(title, body="Body", **more):
    data = {"message_type": "single", "browsers": "all", "variants": ["0"]}
    data |= {"v0-title": title, "v0-body": body, "v0-url": "https://shop.example/"}
    return data | {f"v0-{name}": value for name, value in more.items()}


def test_the_preview_renders_the_chosen_test_profiles_data(marketer, campaign):
    Profile.objects.create(identity="ann", name="Ann Able", is_test=True)
    bob = Profile.objects.create(identity="bob", name="Bob Baker", city="Lyon", is_test=True)
    data = posted("Hi {{ profile.first_name }}", "Weather in {{ profile.city | default: 'your city' }}")
    response = marketer.post(preview_url(campaign), data | {"preview_profile": str(bob.pk)})
    assert response.status_code == 200
    page = response.content.decode()
    assert "Hi Bob" in page
    assert "Weather in Lyon" in page
    assert "Hi Ann" not in page
    assert "Chrome on Windows" in page
    assert "Safari on macOS" in page


def test_a_profiles_script_is_escaped_in_the_preview(marketer, campaign):
    Profile.objects.create(identity="x", name="<script>alert(1)</script>", is_test=True)
    page = marketer.post(preview_url(campaign), posted("Hi {{ profile.name }}")).content.decode()
    assert "<script>alert(1)</script>" not in page
    assert "Hi &lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_without_a_test_profile_liquid_defaults_are_shown(marketer, campaign):
    page = marketer.post(preview_url(campaign), posted('Hi {{ profile.first_name | default: "there" }}'))
    assert "Hi there" in page.content.decode()
    assert "No test profile" in page.content.decode()


def test_a_liquid_error_is_shown_in_the_preview_with_its_field(marketer, campaign):
    page = marketer.post(preview_url(campaign), posted("Hi {{ profile.name ")).content.decode()
    assert "Liquid errors" in page
    assert "<strong>Title</strong>:" in page


def test_the_preview_shows_the_variant_asked_for(marketer, campaign):
    data = {"message_type": "ab", "variants": ["0", "1"], "v0-title": "First", "v1-title": "Second"}
    page = marketer.post(preview_url(campaign), data | {"preview_variant": "1"}).content.decode()
    assert "Second" in page
    assert "First" not in page


def test_the_preview_of_the_saved_draft_without_javascript(marketer, campaign):
    campaign.variants.update(content={"title": "Saved title", "body": "Saved body"})
    page = marketer.get(preview_url(campaign)).content.decode()
    assert "Saved title" in page


def test_a_live_campaign_previews_its_trigger_events_properties(marketer, make_user):
    live = make(make_user, kind=Campaign.Kind.SINGLE_ACTION, trigger_event="Added To Cart")
    tester = Profile.objects.create(identity="t", name="Tess", is_test=True)
    Event.objects.create(
        profile=tester, name="Added To Cart", properties={"product": "Red shoes"}, occurred_at="2026-01-01T10:00Z"
    )
    page = marketer.post(preview_url(live), posted("You left {{ event.product }} behind")).content.decode()
    assert "You left Red shoes behind" in page


def test_linked_content_is_not_fetched_in_the_preview(marketer, campaign):
    data = posted("It is {{ linked.weather.temp }} degrees", linked1_name="weather", linked1_url="https://api.example/")
    page = marketer.post(preview_url(campaign), data).content.decode()
    assert "fetched at send time" in page
    assert "It is  degrees" in page


def test_safari_and_firefox_do_not_show_the_image_and_chrome_does(campaign):
    content = {"title": "T", "body": "B", "image": "https://shop.example/big.png", "browsers": "not_safari"}
    shown = previews.preview(campaign, content)
    by_key = {drawn.surface.key: drawn for drawn in shown.surfaces}
    assert by_key["chrome-windows"].image == "https://shop.example/big.png"
    assert by_key["firefox"].image == ""
    assert "image" in by_key["firefox"].hidden
    assert not any(key.startswith("safari") for key in by_key)  # left out of this campaign


def test_long_text_is_cut_where_the_surface_cuts_it(campaign):
    shown = previews.preview(campaign, {"title": "x" * 100, "body": "short"})
    chrome_mac = next(d for d in shown.surfaces if d.surface.key == "chrome-macos")
    assert chrome_mac.cut_title
    assert len(chrome_mac.title) == chrome_mac.surface.title_chars
    assert not chrome_mac.cut_body


def test_the_size_check_warns_before_the_encrypted_payload_passes_4_kb(marketer, campaign):
    small = previews.preview(campaign, {"title": "Hi", "body": "x"})
    [size] = small.sizes
    assert not size.over and not size.near
    # The encrypted size: the JSON plus RFC 8291's 86-byte header, delimiter and 16-byte tag.
    payload = {"title": "Hi", "body": "x"}
    assert size.bytes > len(json.dumps(payload)) + 86 + 1 + 16
    big = {"title": "Hi", "body": "x", "kv": {"blob": "y" * (MAX_PUSH_BYTES - 200)}}
    page = marketer.post(preview_url(campaign), posted("Hi", kv="blob=" + "y" * (MAX_PUSH_BYTES - 200)))
    assert previews.preview(campaign, big).sizes[0].over
    assert "over the 4096-byte limit" in page.content.decode()


def test_the_size_check_warns_when_near_the_limit(campaign):
    near = previews.preview(campaign, {"title": "Hi", "kv": {"blob": "y" * int(MAX_PUSH_BYTES * 0.9)}})
    [size] = near.sizes
    assert size.near and not size.over
    assert near.size_warnings == [size]


def test_mobile_sizes_are_checked_for_fcm_and_apns(make_user):
    mobile = make(make_user, channel=Campaign.Channel.MOBILE_PUSH, platforms=["android", "ios"])
    shown = previews.preview(mobile, {"title": "Hi", "body": "x", "kv": {"blob": "y" * MAX_PUSH_BYTES}})
    assert [(size.platform, size.over) for size in shown.sizes] == [("android", True), ("ios", True)]
    assert [drawn.surface.key for drawn in shown.surfaces] == ["android", "ios"]


def test_an_exit_intent_preview_draws_the_pop_up(marketer, make_user):
    popup = make(make_user, channel=Campaign.Channel.EXIT_INTENT, kind=Campaign.Kind.SINGLE_ACTION)
    data = {"message_type": "single", "variants": ["0"], "v0-title": "Wait!", "v0-button_text": "Open cart"}
    data |= {"v0-click_action": "js", "v0-js_function": "Shop.openCart"}
    page = marketer.post(preview_url(popup), data).content.decode()
    assert "Wait!" in page
    assert "calls Shop.openCart()" in page
