"""Demo campaigns from seed_demo."""

import io

from django.core.management import call_command

from campaigns.models import Campaign
from delivery.models import Message


def test_seed_demo_adds_campaigns_in_each_state_once(db):
    call_command("seed_demo", profiles=60, stdout=io.StringIO())
    statuses = dict(Campaign.objects.values_list("name", "status"))
    assert sorted(statuses.values()) == ["completed", "draft", "running", "scheduled"]
    completed = Campaign.objects.get(status="completed")
    run = completed.runs.get()
    sent = Message.objects.filter(dispatch=run.dispatch, status="sent").count()
    assert sent > 0
    assert run.qualified == Message.objects.filter(dispatch=run.dispatch).count()
    # The scheduled one holds its schedule row, so the dispatcher will fire it.
    scheduled = Campaign.objects.get(status="scheduled")
    assert scheduled.next_run_at is not None
    assert scheduled.next_run_at > scheduled.scheduled_at

    out = io.StringIO()
    call_command("seed_demo", profiles=60, stdout=out)
    assert Campaign.objects.count() == 4
    assert "Demo campaigns: 0 added, 4 already there." in out.getvalue()


def test_the_demo_campaigns_open_in_the_list_and_on_their_pages(db, marketer):
    call_command("seed_demo", profiles=60, stdout=io.StringIO())
    response = marketer.get("/campaigns/")
    assert len(response.context["rows"]) == 4
    sent = {row["campaign"].status: row["counts"].sent for row in response.context["rows"]}
    assert sent["completed"] > 0
    for campaign in Campaign.objects.all():
        assert marketer.get(f"/campaigns/{campaign.pk}/").status_code == 200
