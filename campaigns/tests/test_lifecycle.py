"""Lifecycle actions: schedule / publish, pause, resume, stop, unschedule, archive, duplicate."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from accounts import roles
from campaigns.actions import lifecycle
from campaigns.actions.lifecycle import LifecycleError
from campaigns.models import Campaign, CampaignRun, Label, Variant
from delivery.models import Dispatch, Message
from segments.models import Device, Profile, Segment, Site

NOW = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)
ALL_STEPS = ["who", "when", "what", "setup"]


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def user(make_user):
    return make_user(roles.MARKETER)


@pytest.fixture
def make_campaign(db, user):
    """A campaign ready to schedule; ``fields`` change it."""

    def make(content=None, **fields):
        segment = Segment.objects.create(name="Gold", rules={"match": "all", "conditions": []})
        values = {
            "name": "Spring sale",
            "channel": "web_push",
            "kind": "one_time",
            "owner": user,
            "segment": segment,
            "send_at": NOW + timedelta(days=1),
            "steps_done": ALL_STEPS,
        }
        campaign = Campaign.objects.create(**(values | fields))
        Variant.objects.create(campaign=campaign, content=content or {"title": "Hello", "body": "It is spring"})
        if campaign.channel == "exit_intent":
            campaign.sites.add(Site.objects.create(name="Shop", allowed_origins=["https://shop.example.com"]))
        return campaign

    return make


# --- schedule / publish ----------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "status"),
    [
        ({"kind": "one_time"}, "scheduled"),
        ({"kind": "multiple_dates", "dates": ["2026-05-06T10:00:00+00:00", "2026-05-08T10:00:00+00:00"]}, "scheduled"),
        ({"kind": "recurring", "repeat": "weekly", "weekdays": [0, 3], "send_time": "10:00"}, "scheduled"),
        ({"kind": "single_action", "trigger_event": "Added To Cart"}, "running"),
        (
            {"kind": "inaction", "trigger_event": "Added To Cart", "inaction_event": "Charged", "inaction_minutes": 10},
            "running",
        ),
        ({"kind": "date_property", "trigger_event": "Booked", "date_property": "travel_date"}, "running"),
        (
            {"channel": "exit_intent", "kind": "single_action", "exit_trigger": {"type": "page_visit", "url": "/cart"}},
            "running",
        ),
    ],
)
def test_scheduling_makes_past_kinds_scheduled_and_publishes_live_kinds(make_campaign, user, fields, status):
    campaign = make_campaign(**fields)
    lifecycle.do_schedule(campaign, user=user)
    campaign.refresh_from_db()
    assert campaign.status == status
    assert campaign.scheduled_at == NOW
    assert (campaign.started_at == NOW) == (status == "running")


@pytest.mark.parametrize(
    ("fields", "content", "reason"),
    [
        ({"steps_done": ["who", "when"]}, None, "What is not done yet."),
        ({"segment": None}, None, "Choose a segment"),
        ({"send_at": None}, None, "Choose when to send it."),
        ({"send_at": NOW - timedelta(minutes=1)}, None, "Its send time has passed"),
        ({"kind": "multiple_dates", "dates": ["2026-05-01T10:00:00+00:00"]}, None, "All its dates have passed"),
        ({"kind": "recurring", "repeat": "weekly", "send_time": "10:00"}, None, "days of the week"),
        ({"kind": "single_action"}, None, "the event that triggers it"),
        ({"channel": "mobile_push"}, None, "Android, iOS or both"),
        ({"ends_at": NOW - timedelta(days=1)}, None, "Its end has passed"),
        ({}, {"title": "Hi {{ profile.name ", "body": "x"}, "does not parse"),
        ({}, {"title": "", "body": "x"}, "needs a title and a body"),
        ({"goal_event": "Charged"}, None, "how long after the message"),
    ],
)
def test_scheduling_an_unready_campaign_is_refused_with_the_reason(make_campaign, user, fields, content, reason):
    campaign = make_campaign(content=content, **fields)
    with pytest.raises(LifecycleError, match=reason):
        lifecycle.do_schedule(campaign, user=user)
    campaign.refresh_from_db()
    assert campaign.status == "draft"
    assert campaign.scheduled_at is None


def test_a_live_campaign_for_everyone_who_does_the_trigger_needs_no_segment(make_campaign, user):
    campaign = make_campaign(
        segment=None, kind="inaction", trigger_event="Added To Cart", inaction_event="Charged", inaction_minutes=10
    )
    lifecycle.do_schedule(campaign, user=user)
    assert Campaign.objects.get(pk=campaign.pk).status == "running"


def test_check_ready_is_empty_for_a_ready_campaign(make_campaign):
    assert lifecycle.check_ready(make_campaign()) == []


# --- the transition table -------------------------------------------------------

# (action, status it starts from) -> status it ends in, or None when refused.
# Written out here rather than read from lifecycle.TRANSITIONS, so the test says what
# the product promises.
EXPECTED = {
    "schedule": {"draft": "scheduled"},
    "pause": {"scheduled": "paused", "running": "paused"},
    "resume": {"paused": "scheduled"},
    "stop": {"scheduled": "stopped", "running": "stopped", "paused": "stopped"},
    "unschedule": {"scheduled": "draft"},
    "archive": {"draft": "draft", "completed": "completed", "stopped": "stopped"},
}
ACTIONS = {
    "schedule": lambda campaign, user: lifecycle.do_schedule(campaign, user=user),
    "pause": lambda campaign, user: lifecycle.do_pause(campaign, user=user),
    "resume": lambda campaign, user: lifecycle.do_resume(campaign, user=user),
    "stop": lambda campaign, user: lifecycle.do_stop(campaign, user=user),
    "unschedule": lambda campaign, user: lifecycle.do_unschedule(campaign, user=user),
    "archive": lambda campaign, user: lifecycle.do_archive(campaign, user=user),
}
CASES = [(action, status) for action in ACTIONS for status in Campaign.Status.values]


@pytest.mark.parametrize(("action", "status"), CASES)
def test_every_transition_is_allowed_or_refused_as_the_table_says(make_campaign, user, action, status):
    campaign = make_campaign(status=status)
    expected = EXPECTED[action].get(status)
    assert lifecycle.allowed(campaign, action) == (expected is not None)
    if expected is None:
        with pytest.raises(LifecycleError, match=f"is {status}: it cannot be"):
            ACTIONS[action](campaign, user)
        campaign.refresh_from_db()
        assert campaign.status == status
        assert campaign.archived_at is None
        return
    result = ACTIONS[action](campaign, user)
    campaign.refresh_from_db()
    assert campaign.status == expected == result.status
    assert (campaign.archived_at == NOW) == (action == "archive")
    assert (campaign.ended_at == NOW) == (action == "stop")


def test_a_paused_live_campaign_resumes_running(make_campaign, user):
    campaign = make_campaign(kind="single_action", trigger_event="Added To Cart", status="paused")
    lifecycle.do_resume(campaign, user=user)
    assert campaign.status == "running"


def test_pausing_pauses_the_run_in_progress_and_resuming_resumes_it(make_campaign, user):
    campaign = make_campaign(status="running")
    run = CampaignRun.objects.create(campaign=campaign, planned_at=NOW, status="running", started_at=NOW)
    done = CampaignRun.objects.create(campaign=campaign, planned_at=NOW - timedelta(days=7), status="completed")
    lifecycle.do_pause(campaign, user=user)
    run.refresh_from_db()
    assert run.status == "paused"
    lifecycle.do_resume(campaign, user=user)
    run.refresh_from_db()
    done.refresh_from_db()
    assert campaign.status == "running"  # a run was in progress when it was paused
    assert run.status == "running"
    assert done.status == "completed"


def test_stopping_stops_active_runs_and_says_why_a_planned_one_never_started(make_campaign, user):
    campaign = make_campaign(status="running")
    running = CampaignRun.objects.create(campaign=campaign, planned_at=NOW, status="running", started_at=NOW)
    planned = CampaignRun.objects.create(campaign=campaign, planned_at=NOW + timedelta(days=1))
    lifecycle.do_stop(campaign, user=user)
    running.refresh_from_db()
    planned.refresh_from_db()
    assert (running.status, running.finished_at, running.skipped_reason) == ("stopped", NOW, "")
    assert planned.status == "stopped"
    assert "stopped before this run started" in planned.skipped_reason


def test_a_campaign_that_has_run_cannot_be_unscheduled(make_campaign, user):
    campaign = make_campaign(status="scheduled")
    CampaignRun.objects.create(campaign=campaign, planned_at=NOW - timedelta(hours=1), status="completed")
    assert not lifecycle.allowed(campaign, "unschedule")
    with pytest.raises(LifecycleError, match="has already run"):
        lifecycle.do_unschedule(campaign, user=user)
    campaign.refresh_from_db()
    assert campaign.status == "scheduled"


def test_an_archived_campaign_cannot_be_archived_again(make_campaign, user):
    campaign = make_campaign(status="stopped", archived_at=NOW - timedelta(days=1))
    assert not lifecycle.allowed(campaign, "archive")
    with pytest.raises(LifecycleError, match="already archived"):
        lifecycle.do_archive(campaign, user=user)


def test_a_stale_object_is_checked_against_the_saved_status(make_campaign, user):
    campaign = make_campaign(status="running")
    stale = Campaign.objects.get(pk=campaign.pk)
    lifecycle.do_stop(campaign, user=user)
    with pytest.raises(LifecycleError, match="is stopped"):
        lifecycle.do_pause(stale, user=user)


# --- duplicate ------------------------------------------------------------------


def test_duplicate_makes_a_draft_copy_with_variants_labels_and_its_own_adhoc_segment(make_campaign, user, make_user):
    campaign = make_campaign(status="completed", scheduled_at=NOW, started_at=NOW, ended_at=NOW, message_type="ab")
    adhoc = Segment.objects.create(name="ad hoc", rules={"match": "any", "conditions": []}, is_adhoc=True)
    Campaign.objects.filter(pk=campaign.pk).update(segment=adhoc)
    campaign.refresh_from_db()
    Variant.objects.create(campaign=campaign, position=1, name="B", content={"title": "Hey", "body": "B body"})
    campaign.labels.set([Label.objects.create(name="Sale"), Label.objects.create(name="Q2")])
    CampaignRun.objects.create(campaign=campaign, planned_at=NOW, status="completed")
    someone_else = make_user(roles.MARKETER)

    copy = lifecycle.do_duplicate(campaign, user=someone_else)

    copy.refresh_from_db()
    assert copy.pk != campaign.pk
    assert copy.name == "Copy of Spring sale"
    assert (copy.status, copy.owner, copy.message_type) == ("draft", someone_else, "ab")
    assert (copy.scheduled_at, copy.started_at, copy.ended_at) == (None, None, None)
    assert copy.send_at == campaign.send_at
    assert not copy.runs.exists()
    assert sorted(copy.labels.values_list("name", flat=True)) == ["Q2", "Sale"]
    assert [(v.position, v.name, v.content) for v in copy.variants.all()] == [
        (v.position, v.name, v.content) for v in campaign.variants.all()
    ]
    assert copy.segment_id != adhoc.pk
    assert copy.segment.is_adhoc
    assert copy.segment.rules == adhoc.rules
    # The original keeps its own.
    assert campaign.variants.count() == 2
    assert Campaign.objects.get(pk=campaign.pk).segment_id == adhoc.pk


def test_duplicate_shares_a_saved_segment(make_campaign, user):
    campaign = make_campaign()
    copy = lifecycle.do_duplicate(campaign, user=user)
    assert copy.segment_id == campaign.segment_id
    assert Segment.objects.count() == 1


# --- the run's delivery dispatch follows the campaign --------------------------


def dispatch_with(campaign, statuses, *, status="sending"):
    dispatch = Dispatch.objects.create(channel="web_push", label="run", status=status)
    CampaignRun.objects.create(campaign=campaign, planned_at=NOW, status="running", started_at=NOW, dispatch=dispatch)
    for index, message_status in enumerate(statuses):
        profile = Profile.objects.create(identity=f"p{index}")
        device = Device.objects.create(profile=profile, platform="android", token=f"t{index}", push_status="allowed")
        Message.objects.create(dispatch=dispatch, profile=profile, device=device, status=message_status)
    return dispatch


def test_pausing_and_resuming_the_campaign_pauses_and_resumes_its_dispatch(make_campaign, user):
    campaign = make_campaign(status="running")
    dispatch = dispatch_with(campaign, ["queued", "sent"])
    lifecycle.do_pause(campaign, user=user)
    dispatch.refresh_from_db()
    assert dispatch.status == "paused"
    assert Message.objects.filter(dispatch=dispatch, status="queued").count() == 1  # it waits
    lifecycle.do_resume(campaign, user=user)
    dispatch.refresh_from_db()
    assert dispatch.status == "sending"


def test_stopping_the_campaign_stops_its_dispatch_and_drops_what_waits(make_campaign, user):
    campaign = make_campaign(status="running")
    dispatch = dispatch_with(campaign, ["queued", "held", "sent"])
    lifecycle.do_stop(campaign, user=user)
    dispatch.refresh_from_db()
    assert dispatch.status == "stopped"
    statuses = sorted(Message.objects.filter(dispatch=dispatch).values_list("status", "code"))
    assert statuses == [("dropped", "stopped"), ("dropped", "stopped"), ("sent", "")]
