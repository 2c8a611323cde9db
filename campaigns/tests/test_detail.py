"""A campaign's page: summary, lifecycle buttons, run history and live counters."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from accounts import roles
from campaigns.models import Campaign, CampaignRun, Variant
from delivery.models import Dispatch, Message
from segments.models import Device, Profile, Segment

NOW = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def campaign(db):
    segment = Segment.objects.create(name="Gold customers", rules={"match": "all", "conditions": []})
    campaign = Campaign.objects.create(
        name="Spring sale",
        channel="web_push",
        kind="one_time",
        status="running",
        segment=segment,
        send_at=NOW - timedelta(minutes=5),
    )
    Variant.objects.create(campaign=campaign, content={"title": "Sale starts", "body": "20% off"})
    return campaign


def run_with(campaign, statuses, *, planned_at=NOW, status="running", **fields):
    dispatch = Dispatch.objects.create(channel="web_push", label="run")
    run = CampaignRun.objects.create(
        campaign=campaign, planned_at=planned_at, dispatch=dispatch, status=status, **fields
    )
    for index, message_status in enumerate(statuses):
        profile = Profile.objects.create(identity=f"{run.pk}-{index}")
        device = Device.objects.create(
            profile=profile, platform="ios", token=f"t-{run.pk}-{index}", push_status="allowed"
        )
        Message.objects.create(dispatch=dispatch, profile=profile, device=device, status=message_status)
    return run


def test_the_page_shows_the_summary_without_edit_links_once_scheduled(marketer, campaign):
    page = marketer.get(f"/campaigns/{campaign.pk}/").content.decode()
    assert "Gold customers" in page
    assert "Sale starts" in page
    assert f"/campaigns/{campaign.pk}/who/" not in page


def test_a_draft_has_an_edit_button_into_the_wizard(marketer, campaign):
    Campaign.objects.filter(pk=campaign.pk).update(status="draft")
    page = marketer.get(f"/campaigns/{campaign.pk}/").content.decode()
    assert f'href="/campaigns/{campaign.pk}/overview/">Edit</a>' in page
    assert f'href="/campaigns/{campaign.pk}/who/"' in page


def test_the_lifecycle_buttons_are_the_allowed_ones(marketer, campaign):
    actions = [a["action"] for a in marketer.get(f"/campaigns/{campaign.pk}/").context["actions"]]
    assert actions == ["pause", "stop", "duplicate"]
    Campaign.objects.filter(pk=campaign.pk).update(status="scheduled")
    actions = [a["action"] for a in marketer.get(f"/campaigns/{campaign.pk}/").context["actions"]]
    assert actions == ["pause", "unschedule", "stop", "duplicate"]


def test_the_run_history_shows_each_run_with_its_counts_and_skip_reason(marketer, campaign):
    run_with(
        campaign,
        ["sent", "sent", "failed", "held", "dropped"],
        planned_at=NOW - timedelta(days=1),
        status="completed",
        qualified=7,
    )
    CampaignRun.objects.create(
        campaign=campaign, planned_at=NOW - timedelta(days=2), status="skipped", skipped_reason="Past its cut-off."
    )
    response = marketer.get(f"/campaigns/{campaign.pk}/")
    runs = response.context["runs"]
    assert [run.status for run in runs] == ["completed", "skipped"]
    first = runs[0].counts
    assert (first.reachable, first.targeted) == (7, 5)
    assert (first.sent, first.failed, first.not_sent, first.waiting) == (2, 1, 1, 1)
    assert runs[1].counts.sent == 0
    page = response.content.decode()
    assert "Past its cut-off." in page
    assert 'data-count="reachable"' in page and ">7</span>" in page


def test_live_counters_of_a_moving_run_poll_every_two_seconds(marketer, campaign):
    run_with(campaign, ["queued", "queued", "sending", "sent", "failed", "held", "dropped", "dropped"])
    response = marketer.get(f"/campaigns/{campaign.pk}/live/")
    counts = response.context["live"]["counts"]
    assert (counts.targeted, counts.sent, counts.failed, counts.not_sent, counts.waiting) == (8, 1, 1, 2, 4)
    page = response.content.decode()
    assert f'hx-get="/campaigns/{campaign.pk}/live/" hx-trigger="every 2s"' in page
    assert "<html" not in page
    assert b'id="live-counters"' in marketer.get(f"/campaigns/{campaign.pk}/").content


def test_live_counters_stop_polling_when_nothing_can_move(marketer, campaign):
    run_with(campaign, ["sent", "sent", "failed", "dropped"])
    response = marketer.get(f"/campaigns/{campaign.pk}/live/")
    assert response.context["live"]["counts"].sent == 2
    assert b"hx-trigger" not in response.content


def test_a_paused_run_shows_its_counters_without_polling(marketer, campaign):
    run_with(campaign, ["queued", "queued", "sent"], status="paused")
    response = marketer.get(f"/campaigns/{campaign.pk}/live/")
    assert response.context["live"]["counts"].waiting == 2
    assert b"hx-trigger" not in response.content


def test_the_counters_come_from_one_group_by(marketer, campaign, django_assert_max_num_queries):
    run = run_with(campaign, ["queued", "sent"])
    with django_assert_max_num_queries(10) as captured:
        marketer.get(f"/campaigns/{campaign.pk}/live/")
    message_queries = [q["sql"] for q in captured.captured_queries if "delivery_message" in q["sql"]]
    assert len(message_queries) == 1
    assert "GROUP BY" in message_queries[0]
    assert run.dispatch_id


def test_no_run_in_progress_means_no_counters(marketer, campaign):
    assert marketer.get(f"/campaigns/{campaign.pk}/").context["live"] is None


def test_a_refused_action_shows_the_reason_with_409(marketer, campaign):
    response = marketer.post(f"/campaigns/{campaign.pk}/resume/")
    assert response.status_code == 409
    assert "is running: it cannot be resumed" in response.context["error"]
    assert "it cannot be resumed" in response.content.decode()


def test_pause_then_resume_from_the_page(marketer, campaign):
    run = run_with(campaign, ["queued"])
    assert marketer.post(f"/campaigns/{campaign.pk}/pause/").status_code == 303
    run.refresh_from_db()
    assert run.status == "paused"
    response = marketer.post(f"/campaigns/{campaign.pk}/resume/", follow=True)
    assert "“Spring sale” is resumed." in response.content.decode()
    campaign.refresh_from_db()
    assert campaign.status == "running"


def test_duplicate_opens_the_copy_in_the_wizard(marketer, campaign):
    response = marketer.post(f"/campaigns/{campaign.pk}/duplicate/")
    copy = Campaign.objects.exclude(pk=campaign.pk).get()
    assert response.status_code == 303
    assert response["Location"] == f"/campaigns/{copy.pk}/overview/"
    assert copy.name == "Copy of Spring sale"


def test_a_viewer_reads_the_page_and_counters_without_buttons(client_as, campaign):
    run_with(campaign, ["queued"])
    viewer = client_as(roles.VIEWER)
    response = viewer.get(f"/campaigns/{campaign.pk}/")
    assert response.status_code == 200
    assert response.context["actions"] == []
    assert b"action-form" not in response.content
    assert viewer.get(f"/campaigns/{campaign.pk}/live/").status_code == 200
    assert viewer.post(f"/campaigns/{campaign.pk}/stop/").status_code == 403
    campaign.refresh_from_db()
    assert campaign.status == "running"
