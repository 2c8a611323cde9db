"""A date-property trigger declared before any event brought the property: the marketer names
it and says what it holds in the When step; events that arrive later are read as if the
property had been known, and the campaign sends on the date."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.urls import reverse

from accounts import roles
from campaigns import schedule
from campaigns.actions import lifecycle
from campaigns.actions.drafts import do_create_draft
from campaigns.live.sending import do_send_due
from campaigns.models import Campaign, LiveTrigger, Variant
from campaigns.tests.live import EventsApi, person, sent_to
from segments.models import Event, PropertyDefinition

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def draft(make_user):
    return do_create_draft(
        name="Trip reminder", channel="web_push", kind=Campaign.Kind.DATE_PROPERTY, owner=make_user(roles.MARKETER)
    )


def declare(client, campaign, **fields):
    data = {
        "timezone": "UTC",
        "trigger_event": "Booked",
        "date_property": "travel_date",
        "date_property_type": "date",
        "offset_side": "before",
        "offset_amount": "1",
        "offset_unit": "days",
    }
    return client.post(reverse("campaigns:when", args=[campaign.pk]), data | fields)


def publish(campaign):
    """Who, What and Setup as the wizard leaves them, then Publish."""
    Variant.objects.filter(campaign=campaign).update(content={"title": "Your trip", "body": "Tomorrow!"})
    Campaign.objects.filter(pk=campaign.pk).update(steps_done=["who", "when", "what", "setup"])
    campaign.refresh_from_db()
    return lifecycle.do_schedule(campaign, user=None)


def test_a_date_property_no_event_has_brought_yet_is_declared_with_its_type(marketer, draft):
    assert not Event.objects.exists() and not PropertyDefinition.objects.exists()

    response = declare(marketer, draft)

    assert response.status_code == 303
    draft.refresh_from_db()
    assert (draft.trigger_event, draft.date_property, draft.date_property_type) == ("Booked", "travel_date", "date")
    assert draft.date_offset_minutes == -1440


def test_the_when_step_offers_the_type_choice(marketer, draft):
    page = marketer.get(reverse("campaigns:when", args=[draft.pk])).content.decode()

    assert 'name="date_property_type" value="date"' in page
    assert 'name="date_property_type" value="datetime"' in page


def test_a_property_on_record_as_a_number_is_still_refused(marketer, draft):
    PropertyDefinition.objects.create(scope="event", event_name="Booked", name="travel_date", type="number")

    response = declare(marketer, draft)

    assert response.status_code == 422
    assert 'id="date_property-error">Booked records travel_date as number, not a date.' in response.content.decode()


def test_declared_first_then_events_arrive_and_it_sends_on_the_date(client, marketer, draft, clock):
    assert declare(marketer, draft).status_code == 303
    campaign = publish(draft)
    assert campaign.status == "running"

    person("ada", timezone="Europe/Paris")
    # A date and time arrives for a property declared as a date: the day counts, from
    # midnight in Paris (UTC+2 in June), so "a day before" is 8 June 22:00 UTC.
    EventsApi(client).track("ada", "Booked", travel_date="2026-06-10T15:00:00+02:00")
    due = datetime(2026, 6, 8, 22, 0, tzinfo=UTC)
    assert LiveTrigger.objects.get(campaign=campaign).due_at == due
    assert PropertyDefinition.objects.get(event_name="Booked", name="travel_date").type == "date"

    clock.move_to(due - timedelta(seconds=1))
    do_send_due()
    assert sent_to(campaign) == []
    clock.move_to(due)
    do_send_due()
    assert sent_to(campaign) == ["ada"]


def test_declared_as_a_date_and_time_it_keeps_the_time(client, marketer, draft):
    assert declare(marketer, draft, date_property_type="datetime", offset_side="at").status_code == 303
    campaign = publish(draft)

    person("ada", timezone="Europe/Paris")
    EventsApi(client).track("ada", "Booked", travel_date="2026-06-10T15:00:00+02:00")

    assert LiveTrigger.objects.get(campaign=campaign).due_at == datetime(2026, 6, 10, 13, 0, tzinfo=UTC)


def test_the_schedule_in_words_says_a_date_counts_from_the_start_of_its_day(marketer, draft):
    declare(marketer, draft)
    draft.refresh_from_db()

    assert schedule.describe(draft) == "When someone does Booked: 1 day before the start of the day in its travel_date."
