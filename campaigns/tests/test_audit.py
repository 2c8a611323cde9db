"""The audit log of campaigns: every lifecycle action and wizard save leaves one entry
with who did it and what changed, and the campaign page shows it, to Viewers too."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from accounts import roles
from accounts.models import AuditEntry
from campaigns.actions import lifecycle
from campaigns.actions.dispatcher import settle_campaign
from campaigns.models import Campaign, CampaignRun, Variant
from segments.models import PropertyDefinition, Segment

NOW = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def marketer_user(make_user):
    return make_user(roles.MARKETER, username="maria")


@pytest.fixture
def campaign(db, marketer_user):
    """A one-time web push campaign, ready to schedule."""
    segment = Segment.objects.create(name="Gold", rules={"match": "all", "conditions": []})
    made = Campaign.objects.create(
        name="Spring sale",
        channel="web_push",
        kind="one_time",
        owner=marketer_user,
        segment=segment,
        send_at=NOW + timedelta(days=1),
        steps_done=["who", "when", "what", "setup"],
    )
    Variant.objects.create(campaign=made, content={"title": "Hello", "body": "It is spring"})
    return made


def entries(obj):
    return list(AuditEntry.objects.filter(object_id=obj.pk, content_type__model=obj._meta.model_name))


def with_status(campaign, status):
    Campaign.objects.filter(pk=campaign.pk).update(status=status)
    campaign.refresh_from_db()
    return campaign


@pytest.mark.parametrize(
    ("action", "start", "verb", "detail"),
    [
        ("schedule", "draft", "scheduled", "status draft → scheduled"),
        ("pause", "scheduled", "paused", "status scheduled → paused"),
        ("resume", "paused", "resumed", "status paused → scheduled"),
        ("stop", "running", "stopped", "status running → stopped"),
        ("unschedule", "scheduled", "unscheduled", "status scheduled → draft"),
        ("archive", "stopped", "archived", "hidden from the list (status stopped)"),
    ],
)
def test_each_lifecycle_action_leaves_one_entry_with_its_actor_and_what_changed(
    campaign, marketer_user, action, start, verb, detail
):
    with_status(campaign, start)
    getattr(lifecycle, f"do_{action}")(campaign, user=marketer_user)
    [entry] = entries(campaign)
    assert (entry.verb, entry.detail, entry.actor, entry.actor_name) == (verb, detail, marketer_user, "maria")
    assert (entry.object_label, entry.created_at) == ("Spring sale", NOW)


def test_a_refused_action_leaves_no_entry(campaign, marketer_user):
    with pytest.raises(lifecycle.LifecycleError):
        lifecycle.do_pause(campaign, user=marketer_user)  # a draft cannot be paused
    assert entries(campaign) == []


def test_a_live_campaign_completed_by_clarion_has_no_actor(campaign):
    with_status(campaign, "running")
    lifecycle.do_complete(campaign, now=NOW)
    [entry] = entries(campaign)
    assert (entry.verb, entry.actor, entry.who, entry.detail) == (
        "completed",
        None,
        "Clarion",
        "status running → completed",
    )


def test_a_campaign_whose_last_run_finished_is_completed_by_clarion_in_the_log(campaign):
    with_status(campaign, "running")
    CampaignRun.objects.create(campaign=campaign, planned_at=NOW, status=CampaignRun.Status.COMPLETED)
    settle_campaign(campaign, now=NOW)
    [entry] = entries(campaign)
    assert (entry.verb, entry.who, entry.detail) == ("completed", "Clarion", "status running → completed")


def test_duplicating_records_the_copy_on_both_campaigns(campaign, make_user):
    other = make_user(roles.MARKETER, username="otto")
    copy = lifecycle.do_duplicate(campaign, user=other)
    [on_source] = entries(campaign)
    [on_copy] = entries(copy)
    assert (on_source.verb, on_source.actor, on_source.detail) == (
        "duplicated",
        other,
        f"copied as “Copy of Spring sale” (#{copy.pk})",
    )
    assert (on_copy.verb, on_copy.actor, on_copy.detail) == (
        "created",
        other,
        f"a copy of “Spring sale” (#{campaign.pk})",
    )


def test_the_lifecycle_buttons_record_the_user_who_pressed_them(client, campaign, marketer_user):
    with_status(campaign, "scheduled")
    client.force_login(marketer_user)
    assert client.post(f"/campaigns/{campaign.pk}/pause/").status_code == 303
    [entry] = entries(campaign)
    assert (entry.verb, entry.actor) == ("paused", marketer_user)


def test_starting_a_campaign_in_the_wizard_records_who_created_it(client, marketer_user):
    client.force_login(marketer_user)
    client.post("/campaigns/new/", {"name": "Autumn", "channel": "web_push", "kind": "one_time"})
    created = Campaign.objects.get(name="Autumn")
    [entry] = entries(created)
    assert (entry.verb, entry.actor, entry.detail) == ("created", marketer_user, "Web Push, One time")


def test_a_wizard_save_records_the_fields_it_changed_and_a_save_changing_nothing_records_nothing(
    client, campaign, marketer_user
):
    PropertyDefinition.objects.create(scope="event", event_name="Charged", name="amount", type="number")
    client.force_login(marketer_user)
    form = {
        "control_group_percent": "10",
        "goal_event": "Charged",
        "goal_window_value": "2",
        "goal_window_unit": "hours",
        "goal_after": "sent",
    }
    assert client.post(f"/campaigns/{campaign.pk}/setup/", form).status_code == 303
    [entry] = entries(campaign)
    assert (entry.verb, entry.actor) == ("changed", marketer_user)
    assert entry.detail == "Setup: control group percent, goal event, goal window minutes"
    client.post(f"/campaigns/{campaign.pk}/setup/", form)
    assert len(entries(campaign)) == 1


def test_the_campaign_page_shows_its_history_to_a_viewer(client_as, campaign, marketer_user):
    lifecycle.do_schedule(campaign, user=marketer_user)
    lifecycle.do_pause(campaign, user=marketer_user)
    page = client_as(roles.VIEWER).get(f"/campaigns/{campaign.pk}/").content.decode()
    history = page.split('id="history"', 1)[1]
    assert history.index("paused") < history.index("scheduled")  # newest first
    assert "maria" in history and "status scheduled → paused" in history


def test_the_campaign_page_shows_the_latest_twenty_entries(client_as, campaign, marketer_user):
    for _ in range(11):
        lifecycle.do_schedule(campaign, user=marketer_user)
        lifecycle.do_unschedule(campaign, user=marketer_user)
    page = client_as(roles.VIEWER).get(f"/campaigns/{campaign.pk}/").content.decode()
    assert page.split('id="history"', 1)[1].count("<tr>") == 1 + 20  # the heading's row and 20 entries
