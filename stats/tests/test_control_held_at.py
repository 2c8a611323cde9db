"""A person held out of a pop-up campaign late in the day (its run began hours before)
converts for the control group within the funnel window counted from when they were held out."""

from datetime import timedelta

import pytest
import time_machine

from campaigns.models import Campaign
from campaigns.tests.popups import NOW, Browser, make_popup, make_site
from segments.models import Event, Profile
from stats import reports
from stats.actions.conversions import credit_conversions

pytestmark = pytest.mark.django_db


def test_held_out_late_in_the_day_converts_within_the_window():
    with time_machine.travel(NOW, tick=False) as clock:
        site = make_site()
        campaign = make_popup(site, control_group_percent=100, goal_event="Purchase", goal_window_minutes=60)
        assert Browser(site).popups() == []  # held out at 12:00: the day's run starts
        clock.shift(timedelta(hours=3))
        late = Browser(site)
        assert late.popups() == []  # held out at 15:00 in the same run
        clock.shift(timedelta(minutes=10))
        at = NOW + timedelta(hours=3, minutes=10)
        profile = Profile.objects.get(devices__client_id=late.client_id)
        event = Event.objects.create(profile=profile, name="Purchase", properties={}, occurred_at=at)
        credit_conversions(
            [{"id": event.pk, "name": "Purchase", "profile_id": profile.pk, "properties": {}, "occurred_at": at}]
        )
        comparison = reports.control(Campaign.objects.get(pk=campaign.pk))
        assert (comparison.control.profiles, comparison.control.converted) == (2, 1)
