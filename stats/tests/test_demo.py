"""The demo's stats: dated when its campaigns ran (issue 14: the demo's failed pushes were dated
the day the seed ran, so the home page's "Sent today" showed a campaign that ended days ago)."""

import io

from django.core.management import call_command
from django.utils import timezone

from campaigns.models import Campaign
from delivery.models import Message
from stats import reports
from stats.models import DailyStat


def test_the_demo_sends_are_dated_when_its_campaign_ran_not_today(db):
    call_command("seed_demo", profiles=60, stdout=io.StringIO())
    completed = Campaign.objects.get(status="completed")
    run = completed.runs.get()
    assert not Message.objects.filter(dispatch=run.dispatch, updated_at__gt=completed.ended_at).exists()
    # Only the completed campaign has sent anything, days ago: nothing was sent today.
    assert reports.dashboard().sent_today == 0
    assert not DailyStat.objects.filter(campaign=completed, day=timezone.localdate()).exists()
