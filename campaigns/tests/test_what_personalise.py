"""The @ menu's suggestions: profile fields, custom profile properties, and the trigger
event's properties for live campaigns, each with the Liquid tag it inserts."""

import pytest
from django.urls import reverse

from campaigns.actions.drafts import do_create_draft
from campaigns.models import Campaign
from segments.models import PropertyDefinition

pytestmark = pytest.mark.django_db


def make(make_user, kind=Campaign.Kind.ONE_TIME, trigger_event=""):
    campaign = do_create_draft(name="Sale", channel=Campaign.Channel.WEB_PUSH, kind=kind, owner=make_user())
    Campaign.objects.filter(pk=campaign.pk).update(trigger_event=trigger_event)
    campaign.refresh_from_db()
    return campaign


def suggestions(client, campaign, typed=""):
    response = client.get(reverse("campaigns:what_personalise", args=[campaign.pk]), {"q": typed})
    assert response.status_code == 200
    return {item["label"]: item for item in response.json()["items"]}


@pytest.fixture
def properties(db):
    PropertyDefinition.objects.create(scope="profile", name="customer_type", type="string")
    PropertyDefinition.objects.create(scope="profile", name="loyalty tier", type="string")
    PropertyDefinition.objects.create(scope="event", event_name="Added To Cart", name="product", type="string")
    PropertyDefinition.objects.create(scope="event", event_name="Searched", name="query", type="string")


def test_profile_fields_come_with_a_tag_and_a_default(marketer, make_user, properties):
    found = suggestions(marketer, make(make_user))
    assert found["profile.first_name"]["insert"] == '{{ profile.first_name | default: "there" }}'
    assert found["profile.email"]["insert"] == '{{ profile.email | default: "" }}'
    assert found["profile.customer_type"]["group"] == "Profile"
    assert not any(label.startswith("event.") for label in found)


def test_a_property_name_with_a_space_uses_brackets(marketer, make_user, properties):
    found = suggestions(marketer, make(make_user))
    assert found["profile.loyalty tier"]["insert"] == '{{ profile["loyalty tier"] | default: "" }}'


def test_a_live_campaign_offers_its_trigger_events_properties_only(marketer, make_user, properties):
    live = make(make_user, kind=Campaign.Kind.SINGLE_ACTION, trigger_event="Added To Cart")
    found = suggestions(marketer, live)
    assert found["event.product"]["insert"] == '{{ event.product | default: "" }}'
    assert "event.query" not in found


def test_what_is_typed_after_the_at_filters_the_menu(marketer, make_user, properties):
    found = suggestions(marketer, make(make_user), "cit")
    assert list(found) == ["profile.city"]
