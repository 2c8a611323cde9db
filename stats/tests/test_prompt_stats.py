"""A Push permission request's stats page and summary CSV: it sends no message, so they show
its banner's counts and rates (campaigns/counts.py PROMPT_TERMS, prompt_counts) and none of the
push counters, whose zeros would mean nothing for it."""

import csv
import io
from datetime import UTC, datetime

import pytest
from django.urls import reverse

from accounts import roles
from campaigns import counts
from campaigns.models import Campaign, PermissionPrompt
from segments.models import Device, Profile

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def campaign():
    """Eight banners shown: 2 subscribed, 1 blocked, 3 later, 2 put away; one given, never shown."""
    found = Campaign.objects.create(
        name="Push opt-in",
        channel=Campaign.Channel.PERMISSION_REQUEST,
        kind=Campaign.Kind.SINGLE_ACTION,
        status=Campaign.Status.RUNNING,
    )
    answers = ["subscribed_at"] * 2 + ["blocked_at"] + ["later_at"] * 3 + [None] * 2
    for index, answer in enumerate([*answers, "not shown"]):
        profile = Profile.objects.create(identity=f"anon:{index}")
        device = Device.objects.create(profile=profile, platform=Device.Platform.WEB, client_id=f"c{index}")
        stamps = {} if answer == "not shown" else {"shown_at": T0}
        if answer and answer != "not shown":
            stamps[answer] = T0
        PermissionPrompt.objects.create(campaign=found, device=device, key=f"key{index}", given_at=T0, **stamps)
    return found


def test_the_rates_are_shares_of_the_banners_shown(campaign):
    found = counts.prompt_counts(campaign)
    assert (found.shown, found.subscribed, found.blocked, found.later) == (8, 2, 1, 3)
    assert (found.subscribe_rate, found.block_rate) == (25.0, 12.5)
    assert counts.PromptCounts().subscribe_rate is None  # nothing shown yet: no rate, not 0 %


def test_the_stats_page_shows_the_banners_counts_and_rates_not_the_push_counters(client_as, campaign):
    page = client_as(roles.VIEWER).get(reverse("stats:campaign", args=[campaign.pk])).content.decode()
    assert 'id="prompt-counts"' in page
    assert '<dd data-counter="prompt_subscribe_rate">25.0 %</dd>' in page
    assert '<dd data-counter="prompt_block_rate">12.5 %</dd>' in page
    assert 'href="/stats/glossary/#prompt_subscribe_rate"' in page
    for push_only in ('id="numbers"', 'data-count="sent"', 'data-count="viewed"', 'id="trend"', 'id="errors-tab"'):
        assert push_only not in page
    assert reverse("stats:csv", args=[campaign.pk, "summary"]) in page


def test_the_glossary_defines_the_rates(client_as):
    page = client_as(roles.VIEWER).get(reverse("stats:glossary")).content.decode()
    assert 'id="prompt_subscribe_rate"' in page and "Subscribed ÷ shown, in percent" in page
    assert 'id="prompt_block_rate"' in page and "Blocked ÷ shown, in percent" in page


def test_the_summary_csv_holds_the_banners_counts_as_the_page_shows_them(client_as, campaign):
    response = client_as(roles.VIEWER).get(reverse("stats:csv", args=[campaign.pk, "summary"]))
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows == [
        ["metric", "value"],
        ["prompt_shown", "8"],
        ["prompt_subscribed", "2"],
        ["prompt_blocked", "1"],
        ["prompt_later", "3"],
        ["prompt_subscribe_rate_percent", "25.00"],
        ["prompt_block_rate_percent", "12.50"],
    ]


def test_a_push_campaigns_page_and_csv_keep_their_push_counters(client_as):
    push = Campaign.objects.create(name="Sale", channel=Campaign.Channel.WEB_PUSH, status=Campaign.Status.RUNNING)
    viewer = client_as(roles.VIEWER)
    page = viewer.get(reverse("stats:campaign", args=[push.pk])).content.decode()
    assert 'id="numbers"' in page and 'id="prompt-counts"' not in page
    rows = list(csv.reader(io.StringIO(viewer.get(reverse("stats:csv", args=[push.pk, "summary"])).content.decode())))
    assert ["sent", "0"] in rows and not any(row[0].startswith("prompt_") for row in rows)


def test_the_stats_list_gives_a_permission_request_its_banners_counts_not_push_counters(client_as, campaign):
    push = Campaign.objects.create(name="Sale", channel=Campaign.Channel.WEB_PUSH, status=Campaign.Status.RUNNING)
    page = client_as(roles.VIEWER).get(reverse("stats:index")).content.decode()
    request_row = page.split(f'id="campaign-{campaign.pk}"', 1)[1].split("</tr>", 1)[0]
    assert "Permission banner:" in request_row and 'data-count="sent"' not in request_row
    assert request_row.split('data-count="prompt_subscribed"', 1)[1].split("</span>", 1)[0].endswith(">2")
    assert "(25.0 %)" in request_row
    push_row = page.split(f'id="campaign-{push.pk}"', 1)[1].split("</tr>", 1)[0]
    assert 'data-count="sent"' in push_row and "Permission banner" not in push_row
