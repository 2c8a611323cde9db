"""Send now: a one-time campaign sent the moment it is scheduled, however long the wizard
took; and Overview's in-place fix when a chosen send time passed while the marketer worked."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.urls import reverse

from accounts import roles
from campaigns import summary
from campaigns.actions import dispatcher, lifecycle
from campaigns.actions.drafts import do_create_draft
from campaigns.models import Campaign, CampaignRun
from campaigns.tests.scheduled import make_campaign

NOW = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)


@pytest.fixture
def clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def owner(make_user):
    return make_user(roles.MARKETER)


def overview(campaign):
    return reverse("campaigns:overview", args=[campaign.pk])


def fired(campaign):
    return list(CampaignRun.objects.filter(campaign=campaign).values_list("planned_at", flat=True))


def test_the_when_step_offers_send_now_and_saves_it_without_a_time(clock, marketer, owner):
    draft = do_create_draft(name="Flash sale", channel="web_push", kind="one_time", owner=owner)
    page = marketer.get(reverse("campaigns:when", args=[draft.pk])).content.decode()
    assert 'name="send_when" value="now"' in page

    response = marketer.post(reverse("campaigns:when", args=[draft.pk]), {"timezone": "UTC", "send_when": "now"})

    assert response.status_code == 303
    draft.refresh_from_db()
    assert (draft.send_now, draft.send_at) == (True, None)


def test_a_time_is_still_needed_when_send_now_is_not_chosen(clock, marketer, owner):
    draft = do_create_draft(name="Flash sale", channel="web_push", kind="one_time", owner=owner)

    response = marketer.post(reverse("campaigns:when", args=[draft.pk]), {"timezone": "UTC", "send_when": "at"})

    assert response.status_code == 422
    assert "Choose the date and time to send, or send now." in response.content.decode()


def test_send_now_schedules_at_the_moment_of_scheduling_and_the_dispatcher_fires_it_within_seconds(
    clock, marketer, owner
):
    campaign = make_campaign(owner, send_now=True, timezone="Europe/Paris")
    clock.move_to(NOW + timedelta(hours=2))  # however long What and Setup took

    response = marketer.post(overview(campaign))

    assert response.status_code == 303
    campaign.refresh_from_db()
    assert (campaign.status, campaign.next_run_at) == ("scheduled", NOW + timedelta(hours=2))
    dispatcher.do_dispatch_due(now=NOW + timedelta(hours=2, seconds=5))  # the next beat tick
    assert fired(campaign) == [NOW + timedelta(hours=2)]
    campaign.refresh_from_db()
    assert campaign.next_run_at is None  # once only


def test_overview_says_send_now_in_words_before_and_after_scheduling(clock, owner):
    campaign = make_campaign(owner, send_now=True)

    rows = dict(summary._when_rows(campaign, NOW))
    assert rows["Schedule"] == "Once, as soon as it is scheduled."
    assert rows["Next runs"] == "The moment it is scheduled"

    lifecycle.do_schedule(campaign, user=owner)
    rows = dict(summary._when_rows(campaign, NOW))
    assert rows["Schedule"] == "Once, the moment it was scheduled (4 May 2026 at 09:00) UTC."


def test_overview_with_a_passed_time_shows_the_fix_in_place(clock, marketer, owner):
    campaign = make_campaign(owner, send_at=NOW + timedelta(minutes=10), timezone="Europe/Paris")
    clock.move_to(NOW + timedelta(minutes=30))

    page = marketer.get(overview(campaign)).content.decode()

    assert 'id="time-fix"' in page
    assert 'name="send_when" value="now"' in page and 'name="send_when" value="at"' in page
    assert "Its send time has passed" in page


def test_pressing_schedule_after_the_time_passed_shows_the_fix(clock, marketer, owner):
    campaign = make_campaign(owner, send_at=NOW + timedelta(minutes=10))
    page = marketer.get(overview(campaign)).content.decode()
    assert 'id="time-fix"' not in page  # still ahead when the page was drawn
    clock.move_to(NOW + timedelta(minutes=11))

    response = marketer.post(overview(campaign))

    assert response.status_code == 422
    assert 'id="time-fix"' in response.content.decode()
    campaign.refresh_from_db()
    assert campaign.status == "draft"


def test_the_fix_send_now_schedules_and_fires(clock, marketer, owner):
    campaign = make_campaign(owner, send_at=NOW + timedelta(minutes=10))
    clock.move_to(NOW + timedelta(minutes=30))

    response = marketer.post(overview(campaign), {"action": "fix-time", "send_when": "now"})

    assert response.status_code == 303
    campaign.refresh_from_db()
    assert (campaign.status, campaign.send_now, campaign.send_at) == ("scheduled", True, None)
    dispatcher.do_dispatch_due(now=NOW + timedelta(minutes=30, seconds=5))
    assert fired(campaign) == [NOW + timedelta(minutes=30)]


def test_the_fix_with_a_new_time_schedules_it_then(clock, marketer, owner):
    campaign = make_campaign(owner, send_at=NOW + timedelta(minutes=10), timezone="Europe/Paris")
    clock.move_to(NOW + timedelta(minutes=30))

    response = marketer.post(
        overview(campaign), {"action": "fix-time", "send_when": "at", "send_at": "2026-05-04T13:00"}
    )

    assert response.status_code == 303
    campaign.refresh_from_db()
    assert campaign.status == "scheduled"
    assert campaign.send_at == campaign.next_run_at == NOW + timedelta(hours=2)  # 13:00 in Paris


def test_the_fix_refuses_a_new_time_that_has_passed_as_the_when_step_does(clock, marketer, owner):
    campaign = make_campaign(owner, send_at=NOW + timedelta(minutes=10), timezone="Europe/Paris")
    clock.move_to(NOW + timedelta(minutes=30))

    response = marketer.post(
        overview(campaign), {"action": "fix-time", "send_when": "at", "send_at": "2026-05-04T11:20"}
    )

    assert response.status_code == 422
    page = response.content.decode()
    assert 'id="send_at-error">4 May 2026 11:20 in Europe/Paris is in the past.' in page
    campaign.refresh_from_db()
    assert (campaign.status, campaign.send_at) == ("draft", NOW + timedelta(minutes=10))
    assert not Campaign.objects.get(pk=campaign.pk).send_now
