"""The Setup step: control group, labels, conversion goal."""

import pytest

from accounts import roles
from campaigns.actions.drafts import do_create_draft
from campaigns.models import Campaign, Label
from segments.models import PropertyDefinition


@pytest.fixture
def campaign(db, make_user):
    owner = make_user(roles.MARKETER)
    return do_create_draft(name="Spring sale", channel="web_push", kind="one_time", owner=owner)


@pytest.fixture(autouse=True)
def known_event(db):
    PropertyDefinition.objects.create(scope="event", event_name="Charged", name="amount", type="number")
    PropertyDefinition.objects.create(scope="event", event_name="Charged", name="currency", type="string")


def url(campaign):
    return f"/campaigns/{campaign.pk}/setup/"


def valid(**changes):
    data = {
        "control_group_percent": "10",
        "new_labels": "",
        "goal_event": "Charged",
        "goal_window_value": "2",
        "goal_window_unit": "days",
        "goal_after": "clicked",
        "revenue_property": "amount",
    }
    return data | changes


def test_the_step_explains_the_control_group_and_offers_known_events(marketer, campaign):
    response = marketer.get(url(campaign))
    assert response.status_code == 200
    assert b"held out" in response.content
    assert b'<option value="Charged">' in response.content


def test_a_valid_setup_is_saved_and_moves_on_to_overview(marketer, campaign):
    data = valid(**{"filter_0_property": "currency", "filter_0_operator": "in", "filter_0_value": "USD, EUR"})
    response = marketer.post(url(campaign), data)
    assert response.status_code == 303
    assert response["Location"] == f"/campaigns/{campaign.pk}/overview/"
    campaign.refresh_from_db()
    assert campaign.control_group_percent == 10
    assert campaign.goal_event == "Charged"
    assert campaign.goal_window_minutes == 2 * 24 * 60
    assert campaign.goal_after == "clicked"
    assert campaign.revenue_property == "amount"
    assert campaign.goal_filters == [{"property": "currency", "operator": "in", "value": ["USD", "EUR"]}]
    assert "setup" in campaign.steps_done


def test_the_saved_setup_is_shown_again(marketer, campaign):
    data = valid(**{"filter_0_property": "amount", "filter_0_operator": "between", "filter_0_value": "10"})
    data["filter_0_max"] = "99"
    marketer.post(url(campaign), data)
    form = marketer.get(url(campaign)).context["form"]
    assert form["goal_window_value"].value() == 2
    assert form["goal_window_unit"].value() == "days"
    assert form["filter_0_value"].value() == "10"
    assert form["filter_0_max"].value() == "99"


def test_labels_are_trimmed_deduplicated_ignoring_case_and_reuse_existing_ones(marketer, campaign):
    sale = Label.objects.create(name="Sale")
    response = marketer.post(url(campaign), valid(existing_labels=["Sale"], new_labels=" sale , Spring,, spring ,Q2 "))
    assert response.status_code == 303
    names = sorted(label.name for label in campaign.labels.all())
    assert names == ["Q2", "Sale", "Spring"]
    assert campaign.labels.get(name="Sale") == sale
    assert Label.objects.count() == 3


def test_a_setup_without_a_goal_is_valid(marketer, campaign):
    response = marketer.post(url(campaign), valid(goal_event="", revenue_property="", goal_window_value=""))
    assert response.status_code == 303
    campaign.refresh_from_db()
    assert campaign.goal_event == ""
    assert campaign.goal_window_minutes is None


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"control_group_percent": "51"}, "control_group_percent", "At most 50 %"),
        ({"control_group_percent": "-1"}, "control_group_percent", "cannot be negative"),
        ({"control_group_percent": ""}, "control_group_percent", "0 for no control group"),
        ({"new_labels": "a,b,c,d,e,f,g,h,i,j,k"}, "new_labels", "At most 10 labels"),
        ({"new_labels": "x" * 61}, "new_labels", "longer than 60"),
        ({"goal_event": "Never Seen"}, "goal_event", "No event called"),
        ({"goal_window_value": ""}, "goal_window_value", "how long after"),
        ({"goal_window_value": "91"}, "goal_window_value", "at most 90 days"),
        ({"revenue_property": "currency"}, "revenue_property", "not a number property"),
        ({"goal_event": "", "revenue_property": "amount"}, "revenue_property", "conversion event first"),
        (
            {"filter_1_property": "amount", "filter_1_operator": "greater", "filter_1_value": "lots"},
            "filter_1_value",
            "greater needs a number",
        ),
        (
            {"filter_0_property": "amount", "filter_0_operator": "between", "filter_0_value": "5"},
            "filter_0_value",
            "between needs",
        ),
    ],
)
def test_an_invalid_setup_answers_422_with_the_error_at_its_field_and_saves_nothing(
    marketer, campaign, changes, field, message
):
    response = marketer.post(url(campaign), valid(**changes))
    assert response.status_code == 422
    errors = response.context["form"].errors[field]
    assert any(message in error for error in errors), errors
    assert message.encode() in response.content
    campaign.refresh_from_db()
    assert campaign.control_group_percent == 0
    assert campaign.goal_event == ""
    assert "setup" not in campaign.steps_done
    assert not campaign.labels.exists()


def test_an_htmx_post_gets_the_422_page_to_swap_in(marketer, campaign):
    response = marketer.post(url(campaign), valid(control_group_percent="80"), headers={"HX-Request": "true"})
    assert response.status_code == 422
    assert b"At most 50 %" in response.content


def test_changing_the_goal_event_offers_its_number_properties_for_revenue(marketer, campaign):
    response = marketer.get(url(campaign), {"goal_event": "Charged"}, headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert b'id="goal-properties"' in response.content
    assert b'<option value="amount">' in response.content
    assert b"<form" not in response.content


def test_a_viewer_cannot_open_or_post_the_step(client_as, campaign):
    viewer = client_as(roles.VIEWER)
    assert viewer.get(url(campaign)).status_code == 403
    assert viewer.post(url(campaign), valid()).status_code == 403
    campaign.refresh_from_db()
    assert campaign.control_group_percent == 0


def test_a_scheduled_campaign_is_not_edited_through_the_step(marketer, campaign):
    Campaign.objects.filter(pk=campaign.pk).update(status="scheduled")
    response = marketer.post(url(campaign), valid())
    assert response.status_code == 302
    assert response["Location"] == f"/campaigns/{campaign.pk}/"
