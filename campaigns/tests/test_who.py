import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape
from playwright.sync_api import expect

from accounts import roles
from campaigns.actions.drafts import do_create_draft
from campaigns.models import Campaign
from conftest import PASSWORD
from segments import counts
from segments.actions.segments import save_segment
from segments.models import Device, Profile, Segment, Site

Kind, Channel = Campaign.Kind, Campaign.Channel
pytestmark = pytest.mark.django_db
GOLD = {"match": "all", "conditions": [{"kind": "property", "name": "tier", "op": "equals", "value": "gold"}]}


def draft(kind=Kind.ONE_TIME, channel=Channel.WEB_PUSH, **fields):
    campaign = do_create_draft(name="Spring sale", channel=channel, kind=kind, owner=None)
    if fields:
        Campaign.objects.filter(pk=campaign.pk).update(**fields)
        campaign.refresh_from_db()
    return campaign


def segment(name="Gold customers", rules=GOLD):
    return save_segment(name=name, rules=rules)


def person(identity, tier, *platforms):
    profile = Profile.objects.create(identity=identity, properties={"tier": tier})
    for platform in platforms:
        address = {"endpoint": f"https://push.example/{identity}"} if platform == "web" else {"token": f"t-{identity}"}
        Device.objects.create(profile=profile, platform=platform, push_status="allowed", **address)
    return profile


def url(campaign, name="who"):
    return reverse(f"campaigns:{name}", args=[campaign.pk])


def adhoc_fields(value="gold"):
    """The segment builder's fields for one condition "tier equals <value>"."""
    return {"r.match": "all", "r.0.kind": "property", "r.0.was": "property", "r.0.name": "tier", "r.0.op": "equals"} | {
        "r.0.value": value
    }


def assert_refused(response, field, campaign, text=None):
    assert response.status_code == 422
    page = response.content.decode()
    assert f'id="{field}-error"' in page
    if text:
        assert text in page
    saved = Campaign.objects.get(pk=campaign.pk)
    assert Campaign.Step.WHO not in saved.steps_done
    assert saved.updated_at == campaign.updated_at


# Permission and state.


def test_a_viewer_cannot_open_the_step_or_its_parts(client_as):
    campaign = draft()
    viewer = client_as(roles.VIEWER)

    assert viewer.get(url(campaign)).status_code == 403
    assert viewer.post(url(campaign), {"audience": "everyone", "reach_mode": "all"}).status_code == 403
    assert viewer.get(url(campaign, "who-segments")).status_code == 403
    assert viewer.post(url(campaign, "who-reach")).status_code == 403


def test_a_campaign_that_is_no_longer_a_draft_redirects_to_its_page(marketer):
    campaign = draft(status=Campaign.Status.RUNNING)

    response = marketer.post(url(campaign), {"audience": "saved", "segment": segment().pk, "reach_mode": "all"})

    assert response.status_code == 302
    assert response["Location"] == reverse("campaigns:detail", args=[campaign.pk])
    assert Campaign.objects.get(pk=campaign.pk).segment is None


# A saved segment.


def test_choosing_a_saved_segment_saves_it_and_moves_on_to_when(marketer):
    campaign, gold = draft(), segment()

    response = marketer.post(url(campaign), {"audience": "saved", "segment": gold.pk, "reach_mode": "all"})

    assert response.status_code == 303
    assert response["Location"] == url(campaign, "when")
    campaign.refresh_from_db()
    assert campaign.segment == gold
    assert Campaign.Step.WHO in campaign.steps_done


def test_the_saved_choice_shows_again_pinned_and_checked(marketer):
    gold = segment()
    campaign = draft(segment=gold)

    page = marketer.get(url(campaign)).content.decode()

    assert f'id="segment-{gold.pk}" checked' in page
    assert 'class="pinned"' in page


def test_a_past_campaign_needs_a_segment(marketer):
    campaign = draft()

    response = marketer.post(url(campaign), {"audience": "saved", "reach_mode": "all"})

    assert_refused(response, "segment", campaign, "Choose a segment")


def test_everyone_is_only_a_choice_for_live_campaigns(marketer):
    past, live = draft(), draft(Kind.SINGLE_ACTION)

    refused = marketer.post(url(past), {"audience": "everyone", "reach_mode": "all"})
    saved = marketer.post(url(live), {"audience": "everyone", "reach_mode": "all"})

    assert_refused(refused, "audience", past, "Select a valid choice")
    assert saved.status_code == 303
    assert Campaign.objects.get(pk=live.pk).segment is None


def test_a_segment_with_a_live_condition_is_refused_the_trigger_is_in_when(marketer):
    campaign = draft(Kind.SINGLE_ACTION)
    live = segment("Live", {"match": "all", "conditions": [{"kind": "live_event", "event": "Added to cart"}]})

    response = marketer.post(url(campaign), {"audience": "saved", "segment": live.pk, "reach_mode": "all"})

    assert_refused(response, "segment", campaign, "the trigger is chosen in When")


# The searchable list.


def test_the_segment_list_searches_by_name_and_pages(marketer):
    campaign = draft()
    for number in range(12):
        segment(f"Gold {number:02}")
    segment("Silver")
    segments = url(campaign, "who-segments")

    found = marketer.get(segments, {"q": "gold"}).content.decode()
    second = marketer.get(segments, {"q": "gold", "page": 2}).content.decode()
    silver = marketer.get(segments, {"q": "silv"}).content.decode()

    assert found.count('name="segment"') == 10
    assert "Silver" not in found
    assert "Page 1 of 2" in found
    assert second.count('name="segment"') == 2
    assert "Gold 11" in second
    assert silver.count('name="segment"') == 1


def test_the_chosen_segment_stays_on_top_while_searching(marketer):
    campaign, silver = draft(), segment("Silver")
    segment("Gold")

    page = marketer.get(url(campaign, "who-segments"), {"q": "gold", "segment": silver.pk}).content.decode()

    assert f'id="segment-{silver.pk}" checked' in page
    assert page.index("Silver") < page.index("Gold")


def test_each_listed_segment_shows_its_last_reach_on_the_campaign_channel(marketer):
    person("a", "gold", "android", "ios")
    person("b", "gold", "ios")
    segment()
    campaign = draft(channel=Channel.MOBILE_PUSH, platforms=["ios"])

    page = marketer.get(url(campaign, "who-segments")).content.decode()

    assert "iOS 2" in page
    assert "Android" not in page


def test_without_javascript_the_step_page_searches_too(marketer):
    campaign = draft()
    segment("Gold")
    segment("Silver")

    page = marketer.get(url(campaign), {"q": "silv"}).content.decode()

    assert "Silver" in page
    assert "Gold" not in page.split('id="who-segments-results"')[1].split("</table>")[0]


# An ad-hoc segment built in place.


def test_an_ad_hoc_segment_is_built_in_place_and_owned_by_the_campaign(marketer):
    campaign = draft()

    response = marketer.post(url(campaign), {"audience": "adhoc", "reach_mode": "all", **adhoc_fields()})

    assert response.status_code == 303
    campaign.refresh_from_db()
    assert campaign.segment.is_adhoc
    assert campaign.segment.rules == GOLD
    assert not Segment.objects.filter(is_adhoc=False).exists()


def test_editing_the_ad_hoc_segment_changes_the_same_row_and_shows_it_again(marketer):
    campaign = draft()
    marketer.post(url(campaign), {"audience": "adhoc", "reach_mode": "all", **adhoc_fields()})
    first = Campaign.objects.get(pk=campaign.pk).segment

    marketer.post(url(campaign), {"audience": "adhoc", "reach_mode": "all", **adhoc_fields("silver")})

    campaign.refresh_from_db()
    assert campaign.segment.pk == first.pk
    assert campaign.segment.rules["conditions"][0]["value"] == "silver"
    assert 'value="silver"' in marketer.get(url(campaign)).content.decode()


def test_switching_to_a_saved_segment_deletes_the_unused_ad_hoc_one(marketer):
    campaign, gold = draft(), segment()
    marketer.post(url(campaign), {"audience": "adhoc", "reach_mode": "all", **adhoc_fields()})

    marketer.post(url(campaign), {"audience": "saved", "segment": gold.pk, "reach_mode": "all"})

    assert Campaign.objects.get(pk=campaign.pk).segment == gold
    assert not Segment.objects.filter(is_adhoc=True).exists()


def test_an_invalid_ad_hoc_segment_is_refused_with_the_message_at_its_condition(marketer):
    campaign = draft()
    fields = adhoc_fields() | {"r.0.op": "greater", "r.0.value": "lots"}

    response = marketer.post(url(campaign), {"audience": "adhoc", "reach_mode": "all", **fields})

    assert_refused(response, "audience", campaign, "Fix the conditions marked in red")
    assert "Greater needs a number" in response.content.decode()
    assert not Segment.objects.exists()


def test_the_builder_buttons_redraw_the_builder_without_saving(marketer):
    campaign = draft()
    data = {"audience": "adhoc", "reach_mode": "all", "action": "add-condition r", **adhoc_fields()}

    page = marketer.post(url(campaign), data)
    partial = marketer.post(url(campaign), data, HTTP_HX_REQUEST="true")

    assert page.status_code == 200
    assert 'name="r.1.kind"' in page.content.decode()
    assert "Continue to When" in page.content.decode()
    assert partial["HX-Retarget"] == "#who-builder"
    assert 'name="r.1.kind"' in partial.content.decode()
    assert "Continue to When" not in partial.content.decode()
    assert not Segment.objects.exists()
    assert Campaign.Step.WHO not in Campaign.objects.get(pk=campaign.pk).steps_done


def test_the_builder_selects_post_to_the_step_builder_partial(marketer):
    campaign = draft()
    data = {"audience": "adhoc", **adhoc_fields(), "r.0.kind": "age"}

    response = marketer.post(url(campaign, "who-builder"), data, HTTP_HX_REQUEST="true")

    page = response.content.decode()
    assert response.status_code == 200
    assert 'id="who-builder"' in page
    assert 'name="r.0.min"' in page
    assert f'hx-post="{url(campaign, "who-builder")}"' in page


# Reach.


def test_the_reach_partial_counts_the_audience_on_the_campaign_channel(marketer):
    person("a", "gold", "web")
    person("b", "gold", "android")
    person("c", "silver", "web")
    campaign = draft()

    response = marketer.post(url(campaign, "who-reach"), {"audience": "adhoc", **adhoc_fields()})

    page = response.content.decode()
    assert 'id="reach-qualified" data-count="2"' in page
    assert 'id="reach-web" data-count="1"' in page
    assert "reach-android" not in page
    # Each count has its definition on hover, from the one vocabulary (segments.counts).
    for name in ("qualified", "reachable"):
        term = counts.BY_NAME[name]
        assert f'title="{term.label}: {escape(term.definition)}"' in page
    assert 'href="/stats/glossary/#reachable"' in page


def test_mobile_reach_is_per_chosen_platform_and_refreshes_a_saved_segments_last_reach(marketer):
    person("a", "gold", "android", "ios")
    person("b", "gold", "ios")
    gold = segment()
    person("c", "gold", "android")  # joins after the segment was counted
    campaign = draft(channel=Channel.MOBILE_PUSH)

    page = marketer.post(
        url(campaign, "who-reach"), {"audience": "saved", "segment": gold.pk, "platforms": ["android", "ios"]}
    ).content.decode()

    assert 'id="reach-android" data-count="2"' in page
    assert 'id="reach-ios" data-count="2"' in page
    gold.refresh_from_db()
    assert gold.last_reach == 3


def test_a_live_campaign_says_its_reach_cannot_be_known_up_front(marketer):
    campaign = draft(Kind.INACTION)

    page = marketer.post(url(campaign, "who-reach"), {"audience": "everyone"}).content.decode()

    assert "cannot be known up front" in page
    assert "reach-qualified" not in page


def test_without_javascript_estimate_draws_the_page_with_the_reach_and_saves_nothing(marketer):
    person("a", "gold", "web")
    campaign = draft()

    response = marketer.post(url(campaign), {"audience": "adhoc", "action": "estimate", **adhoc_fields()})

    assert response.status_code == 200
    assert 'id="reach-qualified" data-count="1"' in response.content.decode()
    assert Campaign.objects.get(pk=campaign.pk).segment is None


def test_the_reach_of_an_ad_hoc_segment_comes_with_each_conditions_message_and_when_it_was_counted(marketer):
    # static/js/reach.js posts the step's fields here after every edit of the audience.
    person("a", "gold", "web")
    campaign = draft()

    # Today at 10:42 UTC: the marketer's session, opened now, is still good then.
    at = timezone.now().replace(hour=10, minute=42, second=0, microsecond=0)
    with time_machine.travel(at, tick=False):
        response = marketer.post(url(campaign, "who-reach"), {"audience": "adhoc", **adhoc_fields()})

    page = response.content.decode()
    assert f'data-reach-url="{url(campaign, "who-reach")}" data-reach-form="who-form"' in page
    assert 'data-count="1"' in page
    assert 'id="r-0-msg" hx-swap-oob="true"' in page
    assert f'data-counted-at="{at.isoformat()}"' in page
    assert ">10:42</time>" in page


def test_an_ad_hoc_segment_not_valid_yet_says_to_fix_it_instead_of_a_number(marketer):
    campaign = draft()
    fields = adhoc_fields() | {"r.1.kind": "gender", "r.1.was": "gender"}

    page = marketer.post(url(campaign, "who-reach"), {"audience": "adhoc", **fields}).content.decode()

    assert "reach-qualified" not in page
    assert "data-counted-at" not in page
    assert "Fix the conditions marked in red to see the reach." in page
    assert 'id="r-1-msg" hx-swap-oob="true"' in page


def test_the_builders_selects_draw_the_builder_without_counting(marketer):
    person("a", "gold", "web")
    campaign = draft()

    response = marketer.post(url(campaign, "who-builder"), {"audience": "adhoc", **adhoc_fields()})

    assert 'id="reach"' not in response.content.decode()
    assert response.context["reach"] is None


# Platforms and reach limits.


def test_mobile_push_saves_the_platforms_and_needs_one(marketer):
    gold = segment()
    campaign = draft(channel=Channel.MOBILE_PUSH)
    data = {"audience": "saved", "segment": gold.pk, "reach_mode": "all"}

    assert_refused(marketer.post(url(campaign), data), "platforms", campaign, "Choose Android, iOS or both")
    saved = marketer.post(url(campaign), {**data, "platforms": ["ios"]})

    assert saved.status_code == 303
    assert Campaign.objects.get(pk=campaign.pk).platforms == ["ios"]


def test_web_push_has_no_platforms_to_choose(marketer):
    campaign = draft()

    marketer.post(
        url(campaign), {"audience": "saved", "segment": segment().pk, "reach_mode": "all", "platforms": ["ios"]}
    )

    assert Campaign.objects.get(pk=campaign.pk).platforms == []


def test_reach_limits_are_saved(marketer):
    campaign = draft(Kind.RECURRING)

    marketer.post(
        url(campaign),
        {
            "audience": "saved",
            "segment": segment().pk,
            "reach_mode": "cap",
            "target_cap": "1000",
            "run_limit": "500",
            "daily_limit": "300",
            "safety_limit": "5000",
        },
    )

    campaign.refresh_from_db()
    assert (campaign.reach_mode, campaign.target_cap, campaign.run_limit) == ("cap", 1000, 500)
    assert (campaign.daily_limit, campaign.safety_limit) == (300, 5000)


def test_sending_to_everyone_forgets_the_cap(marketer):
    campaign = draft(reach_mode="cap", target_cap=10)

    marketer.post(url(campaign), {"audience": "saved", "segment": segment().pk, "reach_mode": "all", "target_cap": "5"})

    assert Campaign.objects.get(pk=campaign.pk).target_cap is None


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"reach_mode": "cap"}, "target_cap", "how many people"),
        ({"reach_mode": "cap", "target_cap": "0"}, "target_cap", "greater than or equal to 1"),
        ({"reach_mode": "all", "run_limit": "-5"}, "run_limit", "greater than or equal to 1"),
        ({"reach_mode": "all", "daily_limit": "many"}, "daily_limit", "Enter a whole number"),
        ({"reach_mode": "cap", "target_cap": "100", "safety_limit": "100"}, "target_cap", "never applies"),
        ({"reach_mode": "all", "run_limit": "200", "safety_limit": "100"}, "run_limit", "never applies"),
    ],
)
def test_reach_limits_must_be_positive_and_make_sense(marketer, data, field, message):
    campaign = draft()

    response = marketer.post(url(campaign), {"audience": "saved", "segment": segment().pk, **data})

    assert_refused(response, field, campaign, message)
    assert f'aria-describedby="{field}-error"' in response.content.decode()


def test_run_limit_and_safety_check_do_not_apply_to_live_campaigns(marketer):
    campaign = draft(Kind.SINGLE_ACTION)

    page = marketer.get(url(campaign)).content.decode()
    marketer.post(
        url(campaign),
        {"audience": "everyone", "reach_mode": "cap", "target_cap": "50", "run_limit": "5", "safety_limit": "1"},
    )

    assert 'name="run_limit"' not in page
    assert 'name="safety_limit"' not in page
    assert 'name="daily_limit"' in page
    campaign.refresh_from_db()
    assert (campaign.target_cap, campaign.run_limit, campaign.safety_limit) == (50, None, None)


# Web Exit Intent targeting.


def exit_post(client, campaign, data):
    site, _ = Site.objects.get_or_create(name="Shop", defaults={"allowed_origins": ["https://shop.example.com"]})
    return client.post(url(campaign), {"audience": "everyone", "reach_mode": "all", "sites": [site.pk], **data})


@pytest.mark.parametrize(
    ("data", "stored"),
    [
        (
            {
                "exit_type": "single_action",
                "exit_event": "Added to cart",
                "exit_filter_name": "price",
                "exit_filter_op": "greater",
                "exit_filter_value": "20",
            },
            {
                "type": "single_action",
                "event": "Added to cart",
                "filters": [{"name": "price", "op": "greater", "value": "20"}],
            },
        ),
        (
            {"exit_type": "single_action", "exit_event": "Added to cart"},
            {"type": "single_action", "event": "Added to cart", "filters": []},
        ),
        (
            {"exit_type": "page_visit", "exit_url_match": "contains", "exit_url": "/checkout"},
            {"type": "page_visit", "match": "contains", "url": "/checkout"},
        ),
        (
            {"exit_type": "page_visit", "exit_url_match": "equals", "exit_url": "https://shop.example/cart"},
            {"type": "page_visit", "match": "equals", "url": "https://shop.example/cart"},
        ),
        (
            {"exit_type": "page_referral", "exit_referrer": "utm_source=ad"},
            {"type": "page_referral", "match": "contains", "referrer": "utm_source=ad"},
        ),
        ({"exit_type": "page_count", "exit_page_count": "3"}, {"type": "page_count", "count": 3}),
    ],
)
def test_exit_intent_targeting_is_saved(marketer, data, stored):
    campaign = draft(Kind.SINGLE_ACTION, channel=Channel.EXIT_INTENT)

    response = exit_post(marketer, campaign, data)

    assert response.status_code == 303
    assert Campaign.objects.get(pk=campaign.pk).exit_trigger == stored


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({}, "exit_type", "This field is required"),
        ({"exit_type": "single_action"}, "exit_event", "Choose the event"),
        (
            {"exit_type": "single_action", "exit_event": "Added to cart", "exit_filter_value": "20"},
            "exit_filter_name",
            "needs the property",
        ),
        (
            {
                "exit_type": "single_action",
                "exit_event": "Added to cart",
                "exit_filter_name": "price",
                "exit_filter_op": "contains",
            },
            "exit_filter_value",
            "contains needs some text",
        ),
        ({"exit_type": "page_visit", "exit_url_match": "contains"}, "exit_url", "Enter the address"),
        (
            {"exit_type": "page_visit", "exit_url_match": "equals", "exit_url": "/cart"},
            "exit_url",
            "needs a whole address",
        ),
        ({"exit_type": "page_referral", "exit_referrer": "a b"}, "exit_referrer", "no spaces"),
        ({"exit_type": "page_count", "exit_page_count": "0"}, "exit_page_count", "greater than or equal to 1"),
        ({"exit_type": "page_count"}, "exit_page_count", "how many pages"),
    ],
)
def test_exit_intent_targeting_is_checked(marketer, data, field, message):
    campaign = draft(Kind.SINGLE_ACTION, channel=Channel.EXIT_INTENT)

    assert_refused(exit_post(marketer, campaign, data), field, campaign, message)


def test_exit_intent_needs_its_websites_and_saves_them(marketer):
    campaign = draft(Kind.SINGLE_ACTION, channel=Channel.EXIT_INTENT)
    page_count = {"exit_type": "page_count", "exit_page_count": "3"}

    assert_refused(exit_post(marketer, campaign, {**page_count, "sites": []}), "sites", campaign, "website")
    assert exit_post(marketer, campaign, page_count).status_code == 303

    assert list(Campaign.objects.get(pk=campaign.pk).sites.values_list("name", flat=True)) == ["Shop"]


def test_exit_intent_says_its_trigger_is_its_targeting_and_its_cap_is_first_come_first_served(marketer):
    campaign = draft(Kind.SINGLE_ACTION, channel=Channel.EXIT_INTENT)
    page = marketer.get(url(campaign)).content.decode()

    assert "chosen in When" not in page
    assert "under Websites and Targeting" in page
    assert "at random" not in page
    assert "first come, first served" in page
    assert "Everyone the targeting below matches" in page


def test_a_scheduled_campaigns_cap_is_drawn_at_random(marketer):
    page = marketer.get(url(draft())).content.decode()
    assert "Chosen at random" in page
    assert "first come, first served" not in page


def test_other_channels_have_no_exit_intent_targeting(marketer):
    campaign = draft(Kind.SINGLE_ACTION)

    exit_post(marketer, campaign, {"exit_type": "page_count", "exit_page_count": "3"})

    assert Campaign.objects.get(pk=campaign.pk).exit_trigger == {}
    assert 'name="exit_type"' not in marketer.get(url(campaign)).content.decode()


# In a browser: the builder in place, the reach, and When's choices shown as they are made.


def drawn(page):
    """Wait until htmx has sent every request and drawn its answer."""
    # A function, not an expression: Playwright evals an expression in the page (CSP refuses).
    page.wait_for_function("() => !document.querySelector('.htmx-request,.htmx-swapping,.htmx-settling,.htmx-added')")


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_a_marketer_builds_an_ad_hoc_segment_in_place_then_picks_weekly_days(page, make_user):
    person("a", "gold", "web")
    person("b", "gold", "android")
    person("c", "silver", "web")
    segment(
        "Silver",
        {"match": "all", "conditions": [{"kind": "property", "name": "tier", "op": "equals", "value": "silver"}]},
    )
    campaign = draft(Kind.RECURRING)
    make_user(roles.MARKETER, username="mia")
    page.goto(f"/login/?next={url(campaign)}")
    page.get_by_label("Username").fill("mia")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"**{url(campaign)}")
    page.evaluate("window.notReloaded = true")

    expect(page.locator("#who-builder")).to_be_hidden()
    page.get_by_label("A segment built here").check()
    expect(page.locator("#who-builder")).to_be_visible()
    expect(page.locator(".who-segments")).to_be_hidden()
    page.get_by_role("button", name="+ Add condition").click()
    drawn(page)
    condition = page.get_by_role("group", name="Condition 1")
    condition.get_by_label("Property").fill("tier")
    condition.get_by_label("Property").press("Tab")
    drawn(page)
    condition.get_by_label("Value").fill("gold")
    expect(page.locator("#reach-qualified")).to_have_attribute("data-count", "2")
    expect(page.locator("#reach-web")).to_have_attribute("data-count", "1")
    assert page.evaluate("window.notReloaded") is True  # the builder and reach were swapped in, not reloaded

    page.get_by_role("button", name="Continue to When").click()
    page.wait_for_url(f"**{url(campaign, 'when')}")
    campaign.refresh_from_db()
    assert campaign.segment.is_adhoc
    assert campaign.segment.rules == GOLD

    expect(page.get_by_label("Daily")).to_be_checked()  # so the weekly and monthly choices are hidden
    expect(page.locator(".field-weekdays")).to_be_hidden()
    expect(page.locator(".field-month_day")).to_be_hidden()
    page.get_by_label("Weekly").check()
    expect(page.locator(".field-weekdays")).to_be_visible()
    expect(page.locator(".field-month_day")).to_be_hidden()
    page.get_by_label("Thu").check()
    page.get_by_label("At", exact=True).fill("09:30")
    drawn(page)
    expect(page.locator("#when-runs .summary")).to_contain_text("Every week on Thu at 09:30")
    page.get_by_role("button", name="Continue to What").click()
    page.wait_for_url(f"**{url(campaign, 'what')}")
    campaign.refresh_from_db()
    assert (campaign.repeat, campaign.weekdays) == ("weekly", [3])
