"""The campaign list: filters, search, paging, next run, sent so far, row actions."""

from datetime import UTC, datetime, time, timedelta

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts import roles
from campaigns import schedule
from campaigns.models import Campaign, CampaignRun, Label
from campaigns.views import listing
from delivery.models import Dispatch, Message
from segments.models import Device, Profile

NOW = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def owner(make_user):
    return make_user(roles.MARKETER, username="olga")


def make(name, owner=None, **fields):
    values = {"name": name, "channel": "web_push", "kind": "one_time", "owner": owner}
    return Campaign.objects.create(**(values | fields))


def names(response):
    return [row["campaign"].name for row in response.context["rows"]]


def send(campaign, statuses, planned_at=NOW):
    """A run of ``campaign`` whose dispatch holds one message per status given."""
    dispatch = Dispatch.objects.create(channel="web_push", label=f"{campaign} run")
    run = CampaignRun.objects.create(campaign=campaign, planned_at=planned_at, dispatch=dispatch, status="completed")
    add_messages(dispatch, statuses)
    return run


def add_messages(dispatch, statuses):
    for status in statuses:
        index = Device.objects.count()
        profile = Profile.objects.create(identity=f"p{index}")
        device = Device.objects.create(
            profile=profile, platform="android", token=f"token-{index}", push_status="allowed"
        )
        Message.objects.create(dispatch=dispatch, profile=profile, device=device, status=status)


def test_the_list_shows_campaigns_with_status_channel_type_labels_and_owner(marketer, owner):
    campaign = make("Spring sale", owner=owner, status="scheduled")
    campaign.labels.add(Label.objects.create(name="Seasonal"))
    page = marketer.get("/campaigns/").content.decode()
    assert ">Spring sale</a>" in page
    assert "Scheduled" in page and "Web Push" in page and "One time" in page
    assert '<span class="tag">Seasonal</span>' in page
    assert "olga" in page


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"status": "running"}, ["Live cart"]),
        ({"channel": "mobile_push"}, ["Live cart"]),
        ({"kind": "recurring"}, ["Weekly picks"]),
        ({"label": "Seasonal"}, ["Weekly picks"]),
        ({"q": "CART"}, ["Live cart"]),
        ({"status": "bogus"}, ["Live cart", "Weekly picks", "Draft idea"]),
    ],
)
def test_filters_and_search_narrow_the_list(marketer, owner, query, expected):
    make("Draft idea")
    weekly = make("Weekly picks", kind="recurring", status="scheduled")
    weekly.labels.add(Label.objects.create(name="Seasonal"))
    make("Live cart", channel="mobile_push", kind="single_action", status="running")
    make("Old one", status="stopped", archived_at=NOW)
    assert sorted(names(marketer.get("/campaigns/", query))) == sorted(expected)


def test_mine_shows_only_my_campaigns(client, make_user):
    me = make_user(roles.MARKETER)
    make("Mine", owner=me)
    make("Theirs", owner=make_user(roles.MARKETER))
    client.force_login(me)
    assert names(client.get("/campaigns/", {"mine": "on"})) == ["Mine"]


def test_archived_campaigns_are_hidden_unless_asked(marketer):
    make("Live one")
    make("Archived one", status="stopped", archived_at=NOW)
    assert names(marketer.get("/campaigns/")) == ["Live one"]
    assert sorted(names(marketer.get("/campaigns/", {"archived": "on"}))) == ["Archived one", "Live one"]


def test_the_list_pages_and_the_pager_keeps_the_filters(marketer):
    for index in range(listing.PER_PAGE + 3):
        make(f"Campaign {index:02d}", status="stopped")
    first = marketer.get("/campaigns/", {"status": "stopped"})
    assert len(first.context["rows"]) == listing.PER_PAGE
    assert "?status=stopped&amp;page=2" in first.content.decode()
    second = marketer.get("/campaigns/", {"status": "stopped", "page": "2"})
    assert len(second.context["rows"]) == 3
    assert not set(names(first)) & set(names(second))


def test_htmx_gets_only_the_table(marketer):
    make("Spring sale")
    response = marketer.get("/campaigns/", {"q": "spring"}, headers={"HX-Request": "true"})
    assert response.content.decode().lstrip().startswith('<section id="results"')
    assert b"Spring sale" in response.content
    assert b"<form" not in response.content.split(b'id="results"')[0]


def test_sent_so_far_counts_sent_messages_across_runs_in_one_query(marketer):
    spring = make("Spring", status="completed")
    send(spring, ["sent", "sent", "failed", "queued"], planned_at=NOW - timedelta(days=2))
    send(spring, ["sent", "dropped"], planned_at=NOW - timedelta(days=1))
    other = make("Other", status="completed")
    send(other, ["sent"])
    make("Nothing yet")
    response = marketer.get("/campaigns/")
    sent = {row["campaign"].name: row["counts"].sent for row in response.context["rows"]}
    assert sent == {"Spring": 3, "Other": 1, "Nothing yet": 0}
    with CaptureQueriesContext(connection) as queries:
        listing._rows(Campaign.objects.all(), can_manage=False)
    assert sum("delivery_message" in query["sql"] for query in queries.captured_queries) == 1


def test_an_ab_winners_sends_to_the_rest_count_as_sent_on_the_list_and_the_page(marketer):
    ab = make("A/B", status="completed")
    run = send(ab, ["sent", "sent"])
    run.remainder = Dispatch.objects.create(channel="web_push", label="A/B rest")
    run.save()
    add_messages(run.remainder, ["sent", "sent", "sent", "queued"])
    rows = marketer.get("/campaigns/").context["rows"]
    assert {row["campaign"].name: row["counts"].sent for row in rows} == {"A/B": 5}
    page = marketer.get(f"/campaigns/{ab.pk}/")
    [shown] = page.context["runs"]
    assert (shown.counts.sent, shown.counts.waiting) == (5, 1)


def test_next_run_is_the_next_planned_time_or_live(marketer):
    weekly = make(
        "Weekly",
        kind="recurring",
        status="scheduled",
        repeat="weekly",
        weekdays=[2],
        send_time=time(10, 0),
        timezone="Europe/Paris",
        scheduled_at=NOW,
    )
    # The schedule row, as do_schedule sets it and the dispatcher advances it.
    weekly.next_run_at = schedule.upcoming(weekly, after=NOW, count=1)[0]
    weekly.save()
    make("Live", kind="single_action", status="running")
    make("Draft")
    rows = {row["campaign"].name: row["next_run"] for row in marketer.get("/campaigns/").context["rows"]}
    assert rows["Weekly"]["at"] == datetime(2026, 5, 6, 8, 0, tzinfo=UTC)  # Wednesday 10:00 in Paris (UTC+2)
    assert rows["Weekly"]["text"] == "06 May 2026 10:00 Europe/Paris"
    assert rows["Live"] == "live"
    assert rows["Draft"] is None


def test_row_actions_are_the_allowed_transitions(marketer):
    make("Running", kind="single_action", status="running")
    make("Paused", status="paused")
    make("Stopped", status="stopped")
    rows = {
        row["campaign"].name: [a["action"] for a in row["actions"]]
        for row in marketer.get("/campaigns/").context["rows"]
    }
    assert rows == {
        "Running": ["pause", "stop", "duplicate"],
        "Paused": ["resume", "stop", "duplicate"],
        "Stopped": ["archive", "duplicate"],
    }


def test_a_row_action_posts_and_comes_back_to_the_filtered_list(marketer):
    campaign = make("Running", kind="single_action", status="running")
    response = marketer.post(f"/campaigns/{campaign.pk}/pause/", {"next": "/campaigns/?status=running"})
    assert response.status_code == 303
    assert response["Location"] == "/campaigns/?status=running"
    campaign.refresh_from_db()
    assert campaign.status == "paused"


def test_an_outside_next_address_is_not_followed(marketer):
    campaign = make("Running", kind="single_action", status="running")
    response = marketer.post(f"/campaigns/{campaign.pk}/stop/", {"next": "https://evil.example/", "confirmed": "yes"})
    assert response["Location"] == f"/campaigns/{campaign.pk}/"


def test_a_viewer_sees_the_list_read_only_and_cannot_post_actions(client_as):
    campaign = make("Running", kind="single_action", status="running")
    viewer = client_as(roles.VIEWER)
    response = viewer.get("/campaigns/")
    assert response.status_code == 200
    assert names(response) == ["Running"]
    assert b"action-form" not in response.content
    assert b"+ Campaign" not in response.content
    for action in ("pause", "resume", "stop", "archive", "duplicate", "unschedule"):
        assert viewer.post(f"/campaigns/{campaign.pk}/{action}/").status_code == 403
    campaign.refresh_from_db()
    assert campaign.status == "running"
    assert Campaign.objects.count() == 1


def test_actions_only_answer_posts(marketer):
    campaign = make("Running", kind="single_action", status="running")
    assert marketer.get(f"/campaigns/{campaign.pk}/stop/").status_code == 405
