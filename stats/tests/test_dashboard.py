"""The dashboard home's figures: running campaigns, today's sends, the week's best CTRs."""

from datetime import timedelta

import pytest
import time_machine
from django.urls import reverse

from accounts import roles
from campaigns.models import Campaign
from stats.actions.rollup import do_roll_up
from stats.tests import factory as f

pytestmark = pytest.mark.django_db


def campaign_with_views(name, views, clicks, *, day=f.T0):
    campaign = f.campaign(name)
    run = f.run(campaign, started=day)
    for index in range(views):
        f.message(run, sent_at=day, viewed_at=day, clicked_at=day if index < clicks else None)
    return campaign


@time_machine.travel(f.T0 + timedelta(hours=3), tick=False)
def test_the_home_page_shows_running_campaigns_todays_sends_and_top_ctr(client_as):
    running = f.campaign("Cart reminder", status=Campaign.Status.RUNNING)
    best = campaign_with_views("Best", 20, 10)
    campaign_with_views("Good", 20, 5)
    campaign_with_views("Too few views", 5, 5)
    campaign_with_views("Last month", 30, 30, day=f.T0 - timedelta(days=30))
    do_roll_up()
    response = client_as(roles.VIEWER).get(reverse("home"))
    figures = response.context["figures"]
    assert figures.running == [running]
    assert figures.sent_today == 45
    assert [(campaign.name, round(numbers.ctr)) for campaign, numbers in figures.top_this_week] == [
        ("Best", 50),
        ("Good", 25),
    ]
    html = response.content.decode()
    assert "Cart reminder" in html and reverse("stats:campaign", args=[best.pk]) in html


def test_a_user_without_stats_access_sees_no_figures(client_as):
    response = client_as(None).get(reverse("home"))
    assert response.status_code == 200
    assert response.context["figures"] is None
