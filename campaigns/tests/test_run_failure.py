"""A run whose start fails ends as Failed, with the reason on the campaign page and in its
owner's email, never left Running with nothing sent; and stored numbers no rule could
compare before (a 400-digit integer) no longer fail a run at all."""

from datetime import UTC, datetime

import pytest
import time_machine

from accounts import roles
from campaigns.actions import runs
from campaigns.models import CampaignRun
from campaigns.tests.scheduled import audience, make_campaign
from delivery.models import Message

NOW = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
# Saved before segments.numbers bounded rule values: the rule parser now refuses it.
OLD_RULES = {"match": "all", "conditions": [{"kind": "property", "name": "ltv", "op": "greater", "value": 1e16}]}


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def owner(make_user):
    return make_user(roles.MARKETER, email="owner@example.com")


def started(campaign):
    campaign.status = "scheduled"
    campaign.save()
    run = CampaignRun.objects.create(campaign=campaign, planned_at=NOW)
    return runs.do_start_run(run.pk)


def test_a_stored_400_digit_number_does_not_stop_a_run_comparing_it(owner):
    audience(2, properties={"ltv": 10**400})  # stored directly, as old data
    audience(3, properties={"ltv": 5})
    rules = {"match": "all", "conditions": [{"kind": "property", "name": "ltv", "op": "less", "value": 10}]}
    run = started(make_campaign(owner, rules=rules))
    assert (run.status, run.qualified) == ("running", 3)
    assert Message.objects.filter(dispatch=run.dispatch).count() == 3


def test_a_run_whose_start_fails_is_marked_failed_with_the_reason(owner, django_capture_on_commit_callbacks):
    audience(3)
    campaign = make_campaign(owner, rules=OLD_RULES)

    with django_capture_on_commit_callbacks(execute=True):
        run = started(campaign)

    run.refresh_from_db()
    assert run.status == "failed"
    assert run.finished_at == NOW
    assert run.skipped_reason.startswith("The run could not start: condition 0: greater needs a number")
    assert not Message.objects.exists()
    campaign.refresh_from_db()
    assert campaign.status == "stopped"  # its only run failed: not "running" for ever


def test_the_failure_is_on_the_campaign_page(owner, client, django_capture_on_commit_callbacks):
    audience(1)
    campaign = make_campaign(owner, rules=OLD_RULES)
    with django_capture_on_commit_callbacks(execute=True):
        started(campaign)

    client.force_login(owner)
    page = client.get(f"/campaigns/{campaign.pk}/").content.decode()

    assert "Failed" in page
    assert "The run could not start: condition 0: greater needs a number" in page


def test_the_owner_is_emailed_the_failure(owner, mailoutbox, django_capture_on_commit_callbacks):
    audience(1)
    campaign = make_campaign(owner, rules=OLD_RULES)

    with django_capture_on_commit_callbacks(execute=True):
        started(campaign)

    [email] = mailoutbox
    assert email.to == ["owner@example.com"]
    assert "Spring sale" in email.subject and "failed" in email.subject
    assert "condition 0: greater needs a number" in email.body
    assert f"/campaigns/{campaign.pk}/" in email.body


def test_a_failed_run_is_not_started_again(owner, django_capture_on_commit_callbacks):
    audience(1)
    campaign = make_campaign(owner, rules=OLD_RULES)
    with django_capture_on_commit_callbacks(execute=True):
        run = started(campaign)

    again = runs.do_start_run(run.pk)

    assert again.status == "failed"
