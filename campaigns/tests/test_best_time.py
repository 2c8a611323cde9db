"""Best time in a campaign (issue 17, item 4): the When step saves the choice and its fallback
hour; a run's messages are held until each person's hour (``delivery/actions/besttime.py``, tested
there hour by hour), and the campaign's daily limit is the run's quota."""

from datetime import UTC, datetime

import pytest
import time_machine
from django.urls import reverse

from accounts import roles
from campaigns.actions import dispatcher, forecast, lifecycle, runs
from campaigns.actions.drafts import do_create_draft
from campaigns.models import Campaign
from campaigns.summary import sections
from campaigns.tests.scheduled import audience, make_campaign
from segments.models import Event

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
PLANNED = datetime(2026, 6, 10, 9, 0, tzinfo=UTC)


@pytest.fixture
def clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


def when(client, campaign, data):
    return client.post(reverse("campaigns:when", args=[campaign.pk]), {"timezone": "Europe/Paris", **data})


def test_the_when_step_saves_best_time_and_its_fallback_hour(clock, marketer):
    campaign = do_create_draft(name="Spring sale", channel="web_push", kind="one_time", owner=None)

    response = when(
        marketer, campaign, {"send_at": "2026-06-10T09:00", "best_time": "on", "best_time_fallback_hour": "18"}
    )

    assert response.status_code == 303
    campaign.refresh_from_db()
    assert (campaign.best_time, campaign.best_time_fallback_hour) == (True, 18)
    page = marketer.get(reverse("campaigns:when", args=[campaign.pk])).content.decode()
    assert '<option value="18" selected>18:00</option>' in page


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"best_time_fallback_hour": "24"}, "best_time_fallback_hour", "Select a valid choice"),
        ({"best_time_fallback_hour": ""}, "best_time_fallback_hour", "Choose the hour for people with too little"),
        ({"best_time_fallback_hour": "9", "user_timezone": "on"}, "best_time", "Choose one"),
    ],
)
def test_the_when_step_refuses_best_time_without_a_valid_fallback_hour_or_with_the_users_zone(
    clock, marketer, data, field, message
):
    campaign = do_create_draft(name="Spring sale", channel="web_push", kind="one_time", owner=None)

    response = when(marketer, campaign, {"send_at": "2026-06-10T09:00", "best_time": "on", **data})

    assert response.status_code == 422
    page = response.content.decode()
    assert f'id="{field}-error"' in page
    assert message in page
    assert not Campaign.objects.get(pk=campaign.pk).best_time


def test_a_best_time_run_holds_each_message_until_its_persons_hour_and_keeps_to_the_daily_limit(clock, make_user):
    owner = make_user(roles.MARKETER)
    people = audience(5, timezone="Asia/Tokyo")
    for profile in people:  # 21:00 in Tokyo
        Event.objects.bulk_create(
            Event(profile=profile, name="page_view", occurred_at=datetime(2026, 5, day, 12, 5, tzinfo=UTC))
            for day in range(1, 6)
        )
    campaign = make_campaign(owner, send_at=PLANNED, best_time=True, best_time_fallback_hour=8, daily_limit=3)
    lifecycle.do_schedule(campaign, user=owner)

    clock.move_to(PLANNED)
    [run_id] = dispatcher.do_dispatch_due()
    run = runs.do_start_run(run_id)

    assert run.dispatch.rules["best_time"] == {"fallback_hour": 8}
    assert run.targeted == 3
    assert list(run.dispatch.messages.values_list("status", "hold_reason", "not_before").distinct()) == [
        ("held", "best_time", datetime(2026, 6, 10, 12, 0, tzinfo=UTC))
    ]
    assert run.dispatch.messages.count() == 3
    [when_rows] = [section["rows"] for section in sections(campaign) if section["step"] == "when"]
    assert "08:00 there for fewer than 5 events" in dict(when_rows)["Best time"]


def test_the_forecast_spreads_a_best_time_runs_sends_over_its_peoples_hours(clock, make_user):
    owner = make_user(roles.MARKETER)
    tokyo = audience(3, timezone="Asia/Tokyo")
    for profile in tokyo:  # 21:00 in Tokyo
        Event.objects.bulk_create(
            Event(profile=profile, name="page_view", occurred_at=datetime(2026, 5, day, 12, 5, tzinfo=UTC))
            for day in range(1, 6)
        )
    audience(1, timezone="America/New_York")  # no history: 10:00 there (14:00 UTC)
    campaign = make_campaign(owner, send_at=PLANNED, best_time=True, best_time_fallback_hour=10)

    found = forecast.forecast(campaign, now=NOW)

    assert found.hours == {12: 3, 14: 1}  # in the campaign's zone (UTC)
    assert datetime.fromisoformat(found.last_send_at) == datetime(2026, 6, 10, 14, 0, tzinfo=UTC)
