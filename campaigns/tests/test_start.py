"""The Start step (campaigns/views/start.py): going Back to Start and on again continues the
same draft instead of making a second one (issue 14, item 10)."""

import pytest

from accounts.models import AuditEntry
from campaigns.actions.drafts import do_mark_step_done
from campaigns.models import Campaign

pytestmark = pytest.mark.django_db

SPRING = {"name": "Spring sale", "channel": "web_push", "kind": "one_time"}


def start_page(client):
    """GET /campaigns/new/ as the "New campaign" button does; the URL the browser ends on."""
    response = client.get("/campaigns/new/", follow=True)
    assert response.status_code == 200
    return response.redirect_chain[-1][0] if response.redirect_chain else "/campaigns/new/"


def test_back_to_start_and_on_again_continues_the_same_draft(marketer):
    start = start_page(marketer)
    first = marketer.post(start, SPRING)
    assert first.status_code == 303

    back = marketer.get(start)  # the browser's Back: the page at the URL it left
    again = marketer.post(start, SPRING)

    assert Campaign.objects.count() == 1
    campaign = Campaign.objects.get()
    assert back.status_code == 200
    assert 'value="Spring sale"' in back.content.decode()
    assert first["Location"] == again["Location"] == f"/campaigns/{campaign.pk}/who/"


def test_back_to_start_with_a_new_name_and_type_renames_the_draft(marketer):
    start = start_page(marketer)
    marketer.post(start, SPRING)
    do_mark_step_done(Campaign.objects.get(), Campaign.Step.WHO)
    marketer.post(start, {**SPRING, "name": "Spring sale 2", "kind": "recurring"})

    campaign = Campaign.objects.get()
    assert (campaign.name, campaign.kind) == ("Spring sale 2", "recurring")
    assert campaign.steps_done == []  # the steps are asked again for the new type
    change = AuditEntry.objects.filter(verb="changed", object_id=campaign.pk).get()
    assert change.detail.startswith("Start: ") and "name" in change.detail


def test_a_new_campaign_after_the_first_is_a_second_draft(marketer):
    marketer.post(start_page(marketer), SPRING)
    marketer.post(start_page(marketer), {**SPRING, "name": "Summer sale"})

    assert sorted(Campaign.objects.values_list("name", flat=True)) == ["Spring sale", "Summer sale"]


def test_another_marketers_start_page_does_not_reach_this_draft(marketer, client_as):
    start = start_page(marketer)
    marketer.post(start, SPRING)
    other = client_as("Marketer")
    other.post(start, {**SPRING, "name": "Theirs"})

    assert sorted(Campaign.objects.values_list("name", flat=True)) == ["Spring sale", "Theirs"]


def test_back_to_start_after_the_draft_was_scheduled_makes_a_new_draft(marketer):
    start = start_page(marketer)
    marketer.post(start, SPRING)
    Campaign.objects.update(status=Campaign.Status.SCHEDULED)
    marketer.post(start, SPRING)

    assert Campaign.objects.count() == 2
