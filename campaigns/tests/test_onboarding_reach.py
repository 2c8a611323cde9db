"""The Who step's estimated reach for a "Push permission request": its banner goes to web
browsers that support push and have not been asked yet (status Ask, campaigns/onboarding.py),
so the estimate counts those people (segments.actions.reach.estimate_reach with
devices="ask", chosen by campaigns.targeting.reach_devices), not the people push already
reaches, and says so."""

from datetime import UTC, datetime

import pytest
import time_machine
from django.urls import reverse

from campaigns.actions.drafts import do_create_draft
from campaigns.models import Campaign
from segments.actions.reach import estimate_reach, refresh_reach
from segments.models import Device, Profile, Segment, Site
from segments.rules import parse

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
GOLD = {"match": "all", "conditions": [{"kind": "property", "name": "tier", "op": "equals", "value": "Gold"}]}
EVERYONE = {"match": "all", "conditions": []}


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def audience():
    """Gold: two at Ask (one with two browsers at Ask), one allowed, one blocked, one whose
    browser has no push, one with an app at Ask only; Silver: one at Ask."""

    def person(identity, tier, *devices):
        profile = Profile.objects.create(identity=identity, properties={"tier": tier})
        for index, (platform, status) in enumerate(devices):
            address = {"endpoint": f"https://push.example/{identity}"} if status == "allowed" else {}
            if platform != "web":
                address = {"token": f"{identity}-{index}"}
            Device.objects.create(
                profile=profile, platform=platform, push_status=status, client_id=f"{identity}-{index}", **address
            )

    person("ask", "Gold", ("web", "ask"))
    person("ask-twice", "Gold", ("web", "ask"), ("web", "ask"))
    person("allowed", "Gold", ("web", "allowed"))
    person("blocked", "Gold", ("web", "blocked"))
    person("no-push", "Gold", ("web", "unsupported"))
    person("app-only", "Gold", ("android", "ask"))
    person("silver-ask", "Silver", ("web", "ask"))


@pytest.fixture
def campaign(make_user):
    return do_create_draft(
        name="Opt-in", channel=Campaign.Channel.PERMISSION_REQUEST, kind=Campaign.Kind.SINGLE_ACTION, owner=make_user()
    )


@pytest.fixture
def site():
    return Site.objects.create(name="Shop", allowed_origins=["https://shop.example.com"])


def reach_panel(marketer, campaign, **fields):
    response = marketer.post(reverse("campaigns:who-reach", args=[campaign.pk]), fields)
    assert response.status_code == 200
    return response.content.decode()


def count_of(page, name):
    return int(page.split(f'id="reach-{name}" data-count="', 1)[1].split('"', 1)[0])


def test_the_estimate_counts_people_with_a_browser_at_ask_not_those_push_reaches(audience):
    gold = estimate_reach(parse(GOLD), devices="ask")
    assert gold.qualified == 6
    assert gold.reachable["web"] == 2  # "ask" and "ask-twice": once each
    assert estimate_reach(parse(GOLD)).reachable["web"] == 1  # push reaches "allowed" only


def test_the_who_step_counts_who_the_banner_can_ask_and_says_so(marketer, campaign, site, audience):
    page = reach_panel(marketer, campaign, audience="everyone", sites=[site.pk])
    assert 'data-reach-url="' in page  # counted up front, and again after each edit (static/js/reach.js)
    assert count_of(page, "qualified") == 7
    assert count_of(page, "web") == 3
    assert "Can be asked · Web" in page and "Reachable" not in page
    assert 'id="reach-askable-note"' in page and 'href="/stats/glossary/#askable"' in page


def test_a_saved_segment_narrows_it_and_keeps_its_push_reach(marketer, campaign, site, audience):
    gold = Segment.objects.create(name="Gold", rules=GOLD)
    refresh_reach(gold)
    page = reach_panel(marketer, campaign, audience="saved", segment=gold.pk, sites=[site.pk])
    assert (count_of(page, "qualified"), count_of(page, "web")) == (6, 2)
    gold.refresh_from_db()
    assert gold.last_reachable["web"] == 1  # the list's push reach is not overwritten with the banner's count


def test_the_segment_list_shows_no_push_reach_for_it(marketer, campaign, audience):
    refresh_reach(Segment.objects.create(name="Gold", rules=GOLD))
    page = marketer.get(reverse("campaigns:who", args=[campaign.pk])).content.decode()
    assert "Gold" in page and '<th class="num">Reachable</th>' not in page
    assert "The banner goes to visitors of the websites chosen below" in page
    assert "The trigger is chosen in When" not in page


def test_a_web_push_campaign_still_counts_the_people_push_reaches(marketer, audience):
    push = do_create_draft(name="Sale", channel=Campaign.Channel.WEB_PUSH, kind=Campaign.Kind.ONE_TIME, owner=None)
    gold = Segment.objects.create(name="Gold", rules=GOLD)
    page = reach_panel(marketer, push, audience="saved", segment=gold.pk)
    assert count_of(page, "web") == 1 and "Reachable · Web" in page and "Can be asked" not in page
