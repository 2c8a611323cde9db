"""Target devices in the wizard (seed 002: native apps, web, all): chosen in Who, with the
estimated reach per platform; What previews and checks the one content for every targeted
platform and says which fields a platform ignores; Overview names the choice and its reach
per platform. A browser test walks Who and What with a campaign for web and apps."""

import re

import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import expect

from accounts import roles
from campaigns.actions import lifecycle
from campaigns.actions.drafts import do_create_draft
from campaigns.models import Campaign
from conftest import PASSWORD
from segments.actions.segments import save_segment
from segments.models import Device, Profile

Channel = Campaign.Channel
pytestmark = pytest.mark.django_db
EVERYONE = {"match": "all", "conditions": []}


def draft(channel=Channel.WEB_PUSH, **fields):
    campaign = do_create_draft(name="Spring sale", channel=channel, kind=Campaign.Kind.ONE_TIME, owner=None)
    if fields:
        Campaign.objects.filter(pk=campaign.pk).update(**fields)
        campaign.refresh_from_db()
    return campaign


def person(identity, *platforms):
    profile = Profile.objects.create(identity=identity)
    for platform in platforms:
        address = {"endpoint": f"https://push.example/{identity}"} if platform == "web" else {"token": f"t-{identity}"}
        Device.objects.create(profile=profile, platform=platform, push_status="allowed", **address)
    return profile


def url(campaign, name):
    return reverse(f"campaigns:{name}", args=[campaign.pk])


def who(segment, **fields):
    return {"audience": "saved", "segment": segment.pk, "reach_mode": "all", **fields}


def what(**fields):
    data = {"message_type": "single", "browsers": "not_safari", "variants": ["0"]}
    return data | {f"v0-{name}": value for name, value in fields.items()}


def error_at(response, field):
    page = response.content.decode()
    assert f'id="{field}-error"' in page or f'id="id_{field}_error"' in page, page
    marker = f'id="{field}-error">' if f'id="{field}-error"' in page else f'id="id_{field}_error">'
    return page.split(marker, 1)[1].split("</p>", 1)[0]


@pytest.fixture
def everyone():
    return save_segment(name="Everyone", rules=EVERYONE)


# Who.


def test_who_saves_the_target_devices_and_the_apps(marketer, everyone):
    campaign = draft()

    response = marketer.post(url(campaign, "who"), who(everyone, target_devices="all", platforms=["ios"]))

    assert response.status_code == 303
    campaign.refresh_from_db()
    assert (campaign.target_devices, campaign.platforms) == ("all", ["ios"])


def test_who_offers_the_channels_own_kind_checked_by_default(marketer):
    page = marketer.get(url(draft(Channel.MOBILE_PUSH), "who")).content.decode()

    checked = re.findall(r'<input[^>]*name="target_devices"[^>]*value="(\w+)"[^>]*checked', page)
    assert checked == ["apps"]


def test_an_unknown_target_is_refused_at_its_field(marketer, everyone):
    campaign = draft()

    response = marketer.post(url(campaign, "who"), who(everyone, target_devices="smart_fridges"))

    assert response.status_code == 422
    assert "Select a valid choice" in error_at(response, "target_devices")
    assert Campaign.objects.get(pk=campaign.pk).target_devices == ""


def test_native_apps_need_android_ios_or_both(marketer, everyone):
    campaign = draft()

    response = marketer.post(url(campaign, "who"), who(everyone, target_devices="apps"))

    assert response.status_code == 422
    assert "Choose Android, iOS or both." in error_at(response, "platforms")


def test_the_reach_estimate_counts_each_targeted_platform(marketer, everyone):
    person("a", "web", "android")
    person("b", "ios")
    person("c", "web")
    campaign = draft()

    web = marketer.post(url(campaign, "who-reach"), who(everyone, target_devices="web")).content.decode()
    both = marketer.post(
        url(campaign, "who-reach"), who(everyone, target_devices="all", platforms=["android", "ios"])
    ).content.decode()

    assert 'id="reach-web" data-count="2"' in web and "reach-android" not in web
    assert 'id="reach-web" data-count="2"' in both
    assert 'id="reach-android" data-count="1"' in both
    assert 'id="reach-ios" data-count="1"' in both


# What.


def test_what_names_the_targets_and_what_each_other_platform_ignores(marketer):
    page = marketer.get(url(draft(target_devices="all", platforms=["android", "ios"]), "what")).content.decode()

    assert "Web and native apps (Android, iOS)" in page
    assert "<strong>Android</strong> ignores icon" in page
    assert "Browsers" in page  # Safari's choice: web devices are targeted


def test_mobile_content_for_the_web_refuses_app_links_at_their_fields(marketer):
    campaign = draft(Channel.MOBILE_PUSH, target_devices="all", platforms=["android"])

    response = marketer.post(
        url(campaign, "what"),
        what(
            title="Hi", body="Sale", url="myapp://cart", button1_title="Buy", button1_id="buy", button1_url="myapp://b"
        ),
    )

    assert response.status_code == 422
    assert "not app links" in error_at(response, "v0-url")
    assert "not app links" in error_at(response, "v0-button1_url")
    assert not campaign.variants.filter(content__url="myapp://cart").exists()


def test_a_silent_push_is_refused_when_web_devices_are_targeted(marketer):
    campaign = draft(Channel.MOBILE_PUSH, target_devices="web")

    response = marketer.post(url(campaign, "what"), what(content_available="on"))

    assert response.status_code == 422
    assert "browsers have no silent push" in error_at(response, "v0-content_available")


def test_the_same_mobile_content_for_native_apps_only_is_saved(marketer):
    campaign = draft(Channel.MOBILE_PUSH)

    response = marketer.post(url(campaign, "what"), what(title="Hi", body="Sale", url="myapp://cart"))

    assert response.status_code == 303
    assert campaign.variants.get().content["url"] == "myapp://cart"


def test_the_preview_draws_web_and_app_surfaces_with_a_size_per_platform(marketer):
    campaign = draft(target_devices="all", platforms=["android", "ios"])

    page = marketer.post(
        url(campaign, "what_preview"), what(title="Hi", body="Sale", url="https://shop.example/")
    ).content.decode()

    assert 'id="preview-web"' in page and 'id="preview-apps"' in page
    assert "Chrome on Windows" in page and "iOS" in page and "Android" in page
    for label in ("Web Push (encrypted)", "Android (FCM)", "iOS (APNs)"):
        assert label in page


# Overview and readiness.


def test_overview_names_the_target_and_the_reach_per_platform(marketer, everyone):
    everyone.last_reach, everyone.last_reachable = 10, {"web": 7, "android": 4, "ios": 2, "any": 9}
    everyone.last_computed_at = timezone.now()
    everyone.save()
    campaign = draft(target_devices="all", platforms=["android", "ios"], segment=everyone)

    page = marketer.get(url(campaign, "overview")).content.decode()

    assert "Web and native apps (Android, iOS)" in page
    assert "reachable: Web 7, Android 4, iOS 2" in page


def test_a_message_written_for_apps_cannot_be_scheduled_once_web_is_targeted(make_user, everyone):
    campaign = draft(Channel.MOBILE_PUSH, target_devices="web", segment=everyone)
    campaign.variants.update(content={"title": "Hi", "body": "Sale", "url": "myapp://cart"})

    problems = lifecycle.check_ready(campaign)

    assert any("not app links" in problem for problem in problems)


# In a browser.


def drawn(page):
    """Wait until htmx has sent every request and drawn its answer."""
    page.wait_for_function("() => !document.querySelector('.htmx-request,.htmx-swapping,.htmx-settling,.htmx-added')")


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_who_shows_the_reach_per_platform_and_what_both_previews(page, make_user):
    make_user(roles.MARKETER, username="mia")
    save_segment(name="Everyone", rules=EVERYONE)
    person("a", "web", "android")
    person("b", "ios")
    campaign = draft()
    page.goto(f"/login/?next={url(campaign, 'who')}")
    page.get_by_label("Username").fill("mia")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"**{url(campaign, 'who')}")

    page.get_by_role("radio", name="Everyone", exact=True).check()
    expect(page.locator("#reach-web")).to_have_attribute("data-count", "1")
    expect(page.locator(".field-platforms")).to_be_hidden()
    page.get_by_label("All: web and native apps").check()
    expect(page.locator(".field-platforms")).to_be_visible()
    expect(page.locator("#reach-android")).to_have_attribute("data-count", "1")
    expect(page.locator("#reach-ios")).to_have_attribute("data-count", "1")
    expect(page.locator("#reach-web")).to_have_attribute("data-count", "1")
    drawn(page)
    page.get_by_role("button", name="Continue to When").click()
    page.wait_for_url(f"**{url(campaign, 'when')}")
    campaign.refresh_from_db()
    assert (campaign.target_devices, campaign.platforms) == ("all", ["android", "ios"])

    page.goto(url(campaign, "what"))
    page.locator("#id_v0-title").fill("Spring sale")
    page.locator("#id_v0-body").fill("New colours are in")

    expect(page.locator("#what-targets")).to_contain_text("Web and native apps (Android, iOS)")
    expect(page.locator("#preview-web")).to_be_visible()
    expect(page.locator("#preview-apps")).to_be_visible()
    expect(page.locator(".surfaces-apps .n-title").first).to_have_text("Spring sale")
    expect(page.locator(".surfaces-web .n-body").first).to_have_text("New colours are in")
