""" "Deliver in the user's time zone": one run whose messages are each released at the
planned local time in their profile's zone, from UTC+14 (Pacific/Kiritimati) to UTC-12
(Etc/GMT+12); profiles without a zone use the campaign's."""

from datetime import UTC, datetime, time, timedelta

import pytest
import time_machine

from accounts import roles
from campaigns.actions import dispatcher, lifecycle, runs
from campaigns.tests.scheduled import audience, make_campaign
from delivery.actions.claims import claim
from delivery.models import Message

SCHEDULED = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
PLANNED = datetime(2026, 6, 10, 9, 0, tzinfo=UTC)  # 09:00 in the campaign's zone (UTC)
STARTS = datetime(2026, 6, 9, 19, 0, tzinfo=UTC)  # 09:00 on 10 June at UTC+14

RELEASES = {
    "Pacific/Kiritimati": None,  # it is 09:00 there when the run starts: sent at once
    "Asia/Tokyo": datetime(2026, 6, 10, 0, 0, tzinfo=UTC),
    "Europe/Paris": datetime(2026, 6, 10, 7, 0, tzinfo=UTC),  # CEST
    "": PLANNED,  # no zone: the campaign's
    "America/New_York": datetime(2026, 6, 10, 13, 0, tzinfo=UTC),  # EDT
    "Etc/GMT+12": datetime(2026, 6, 10, 21, 0, tzinfo=UTC),  # UTC-12
}


@pytest.fixture
def clock():
    with time_machine.travel(SCHEDULED, tick=False) as traveller:
        yield traveller


@pytest.fixture
def campaign(clock, make_user):
    owner = make_user(roles.MARKETER)
    for zone in RELEASES:
        audience(2, timezone=zone)
    campaign = make_campaign(owner, send_at=PLANNED, user_timezone=True, cutoff_time=time(23, 0))
    lifecycle.do_schedule(campaign, user=owner)
    return campaign


def test_the_run_starts_when_its_time_comes_at_utc_plus_14(clock, campaign):
    clock.move_to(STARTS - timedelta(seconds=1))
    assert dispatcher.do_dispatch_due() == []
    clock.move_to(STARTS)
    [run_id] = dispatcher.do_dispatch_due()
    assert campaign.runs.get(pk=run_id).planned_at == PLANNED


def test_each_message_is_released_at_the_planned_local_time_of_its_profiles_zone(clock, campaign):
    clock.move_to(STARTS)
    [run_id] = dispatcher.do_dispatch_due()
    run = runs.do_start_run(run_id)

    assert run.dispatch.rules["user_timezone_at"] == "2026-06-10T09:00:00"
    released = {}
    for zone, status, not_before in run.dispatch.messages.values_list("profile__timezone", "status", "not_before"):
        released.setdefault(zone, set()).add((status, not_before))
    assert released == {
        zone: {("queued", None)} if moment is None else {("held", moment)} for zone, moment in RELEASES.items()
    }


def test_the_cut_off_of_a_user_time_zone_run_lets_the_last_zone_get_it(clock, campaign):
    clock.move_to(STARTS)
    [run_id] = dispatcher.do_dispatch_due()
    run = runs.do_start_run(run_id)
    # 23:00 on the run's day at UTC-12.
    assert run.dispatch.rules["cutoff"] == "2026-06-11T11:00:00+00:00"


def test_the_engine_sends_nothing_before_a_zones_time_comes(clock, campaign):
    clock.move_to(STARTS)
    [run_id] = dispatcher.do_dispatch_due()
    run = runs.do_start_run(run_id)

    clock.move_to(datetime(2026, 6, 10, 7, 0, tzinfo=UTC))
    claimed = claim(run.dispatch_id, 100, datetime(2026, 6, 10, 7, 0, tzinfo=UTC))
    zones = set(Message.objects.filter(pk__in=claimed).values_list("profile__timezone", flat=True))
    assert zones == {"Pacific/Kiritimati", "Asia/Tokyo", "Europe/Paris"}
