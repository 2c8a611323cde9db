from datetime import UTC, datetime, time

import pytest
import time_machine
from django.urls import reverse

from accounts import roles
from campaigns.actions.drafts import do_create_draft
from campaigns.models import Campaign
from delivery.models import DeliverySettings
from segments.models import PropertyDefinition

Kind, Channel = Campaign.Kind, Campaign.Channel
NOW = "2026-06-10 12:00Z"
pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(NOW, tick=False):
        yield


def draft(kind=Kind.ONE_TIME, channel=Channel.WEB_PUSH, **fields):
    campaign = do_create_draft(name="Spring sale", channel=channel, kind=kind, owner=None)
    if fields:
        Campaign.objects.filter(pk=campaign.pk).update(**fields)
        campaign.refresh_from_db()
    return campaign


def url(campaign):
    return reverse("campaigns:when", args=[campaign.pk])


def post(client, campaign, data, **headers):
    return client.post(url(campaign), {"timezone": "UTC", **data}, **headers)


def assert_refused(response, field, campaign, text=None):
    """422, the error next to ``field`` (the input points at it), and nothing saved."""
    assert response.status_code == 422
    page = response.content.decode()
    assert f'id="{field}-error"' in page
    if text:
        assert text in page
    saved = Campaign.objects.get(pk=campaign.pk)
    assert Campaign.Step.WHEN not in saved.steps_done
    assert saved.updated_at == campaign.updated_at


# Permission and state.


def test_a_viewer_cannot_open_the_step(client_as):
    campaign = draft()

    assert client_as(roles.VIEWER).get(url(campaign)).status_code == 403
    assert client_as(roles.VIEWER).post(url(campaign), {"send_at": "2026-07-01T09:00"}).status_code == 403


def test_a_completed_campaign_is_not_edited_here(marketer):
    campaign = draft(status=Campaign.Status.COMPLETED)

    response = post(marketer, campaign, {"send_at": "2026-07-01T09:00"})

    assert response.status_code == 302
    assert response["Location"] == reverse("campaigns:detail", args=[campaign.pk])
    assert Campaign.objects.get(pk=campaign.pk).send_at is None


def test_a_scheduled_campaigns_time_changes_only_after_a_confirmation(marketer):
    campaign = draft(status=Campaign.Status.SCHEDULED, steps_done=["who", "when", "what", "setup"])
    Campaign.objects.filter(pk=campaign.pk).update(send_at=datetime(2026, 6, 20, 9, tzinfo=UTC))

    asked = post(marketer, campaign, {"send_at": "2026-07-01T09:00"})

    assert asked.status_code == 200
    assert 'name="confirmed" value="yes"' in asked.content.decode()
    assert Campaign.objects.get(pk=campaign.pk).send_at == datetime(2026, 6, 20, 9, tzinfo=UTC)

    done = post(marketer, campaign, {"send_at": "2026-07-01T09:00", "confirmed": "yes"})

    assert done.status_code == 303
    saved = Campaign.objects.get(pk=campaign.pk)
    assert (saved.send_at, saved.next_run_at) == (datetime(2026, 7, 1, 9, tzinfo=UTC),) * 2
    assert saved.status == Campaign.Status.SCHEDULED


# One time.


def test_one_time_saves_the_local_time_in_utc_and_moves_on(marketer):
    campaign = draft()

    response = post(marketer, campaign, {"timezone": "Europe/Paris", "send_at": "2026-07-01T09:00"})

    assert response.status_code == 303
    assert response["Location"] == reverse("campaigns:what", args=[campaign.pk])
    campaign.refresh_from_db()
    assert campaign.timezone == "Europe/Paris"
    assert campaign.send_at == datetime(2026, 7, 1, 7, 0, tzinfo=UTC)
    assert Campaign.Step.WHEN in campaign.steps_done


def test_the_saved_draft_shows_in_the_campaign_time_zone(marketer):
    campaign = draft()
    post(marketer, campaign, {"timezone": "Asia/Tokyo", "send_at": "2026-07-01T09:00"})

    page = marketer.get(url(campaign)).content.decode()

    assert 'value="2026-07-01T09:00"' in page
    assert 'value="Asia/Tokyo"' in page
    assert "Once on 1 Jul 2026 at 09:00 Asia/Tokyo." in page


def test_one_time_refuses_a_time_in_the_past(marketer):
    campaign = draft()

    response = post(marketer, campaign, {"send_at": "2026-06-10T11:00"})

    assert_refused(response, "send_at", campaign, "is in the past")
    assert 'aria-invalid="true" aria-describedby="send_at-error"' in response.content.decode()


def test_one_time_needs_a_time(marketer):
    campaign = draft()

    assert_refused(post(marketer, campaign, {"send_at": ""}), "send_at", campaign, "Choose the date and time to send")


def test_a_time_the_clocks_skip_is_refused(marketer):
    campaign = draft()

    response = post(marketer, campaign, {"timezone": "America/New_York", "send_at": "2027-03-14T02:30"})

    assert_refused(response, "send_at", campaign, "the clocks skip it")


def test_an_unknown_time_zone_is_refused(marketer):
    campaign = draft()

    response = post(marketer, campaign, {"timezone": "Mars/Olympus", "send_at": "2026-07-01T09:00"})

    assert_refused(response, "timezone", campaign, "Choose a time zone")


def test_an_htmx_submission_answers_the_same_way(marketer):
    campaign = draft()

    refused = post(marketer, campaign, {"send_at": "bad"}, HTTP_HX_REQUEST="true")
    saved = post(marketer, campaign, {"send_at": "2026-07-01T09:00"}, HTTP_HX_REQUEST="true")

    assert refused.status_code == 422
    assert saved.status_code == 303


# Multiple dates.


def test_multiple_dates_are_saved_sorted_in_utc_and_blank_rows_ignored(marketer):
    campaign = draft(Kind.MULTIPLE_DATES)

    response = post(
        marketer,
        campaign,
        {"timezone": "Europe/Paris", "dates": ["2026-07-03T10:00", "", "2026-07-01T09:00"]},
    )

    assert response.status_code == 303
    campaign.refresh_from_db()
    assert campaign.dates == ["2026-07-01T07:00:00+00:00", "2026-07-03T08:00:00+00:00"]


@pytest.mark.parametrize(
    ("dates", "row", "message"),
    [
        (["2026-07-01T09:00", "2026-07-01T09:00"], 1, "The same as date 1"),
        (["2026-07-01T09:00", "2026-06-01T09:00"], 1, "in the past"),
        (["2026-07-01T09:00", "soon"], 1, "Enter a date and time"),
    ],
)
def test_multiple_dates_refuse_duplicates_past_and_unreadable_dates(marketer, dates, row, message):
    campaign = draft(Kind.MULTIPLE_DATES)

    response = post(marketer, campaign, {"dates": dates})

    assert_refused(response, "dates", campaign, message)
    assert f'aria-describedby="dates-{row}-error"' in response.content.decode()


def test_multiple_dates_need_at_least_one(marketer):
    campaign = draft(Kind.MULTIPLE_DATES)

    assert_refused(post(marketer, campaign, {"dates": ["", ""]}), "dates", campaign, "Add at least one date")


def test_add_another_date_draws_one_more_row_and_saves_nothing(marketer):
    campaign = draft(Kind.MULTIPLE_DATES)
    data = {"dates": ["2026-07-01T09:00", "2026-07-02T09:00"], "action": "add-date"}

    page = post(marketer, campaign, data)
    partial = post(marketer, campaign, data, HTTP_HX_REQUEST="true")

    assert page.status_code == 200
    assert 'id="dates-2"' in page.content.decode()
    assert "Continue to What" in page.content.decode()
    assert partial["HX-Retarget"] == "#when-dates"
    assert 'id="dates-2"' in partial.content.decode()
    assert "Continue to What" not in partial.content.decode()
    assert Campaign.objects.get(pk=campaign.pk).dates == []


def test_remove_a_date_draws_the_rows_without_it(marketer):
    campaign = draft(Kind.MULTIPLE_DATES)

    page = post(marketer, campaign, {"dates": ["2026-07-01T09:00", "2026-07-02T09:00"], "action": "remove-date 0"})

    content = page.content.decode()
    assert 'value="2026-07-01T09:00"' not in content
    assert 'value="2026-07-02T09:00"' in content


# Recurring.


def test_recurring_weekly_saves_its_days_and_shows_the_next_runs(marketer):
    campaign = draft(Kind.RECURRING)

    response = post(
        marketer,
        campaign,
        {
            "timezone": "America/New_York",
            "repeat": "weekly",
            "repeat_every": "1",
            "weekdays": ["3", "0"],
            "month_day": "12",
            "send_time": "09:00",
            "ends_at": "2026-12-31T23:00",
        },
    )

    assert response.status_code == 303
    campaign.refresh_from_db()
    assert (campaign.repeat, campaign.weekdays, campaign.send_time) == ("weekly", [0, 3], time(9, 0))
    assert campaign.month_day is None  # shown without JavaScript, but it is not a weekly field
    page = marketer.get(url(campaign)).content.decode()
    assert "Every week on Mon and Thu at 09:00 America/New_York" in page
    assert "Thu 11 Jun 2026, 09:00" in page


def test_recurring_daily_and_monthly_save(marketer):
    daily, monthly = draft(Kind.RECURRING), draft(Kind.RECURRING)

    post(marketer, daily, {"repeat": "daily", "repeat_every": "2", "send_time": "07:30"})
    post(marketer, monthly, {"repeat": "monthly", "repeat_every": "1", "month_day": "31", "send_time": "08:00"})

    daily.refresh_from_db()
    monthly.refresh_from_db()
    assert (daily.repeat, daily.repeat_every, daily.weekdays, daily.month_day) == ("daily", 2, [], None)
    assert (monthly.repeat, monthly.month_day) == ("monthly", 31)


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"repeat": "weekly", "send_time": "09:00"}, "weekdays", "at least one day"),
        ({"repeat": "monthly", "send_time": "09:00"}, "month_day", "day of the month"),
        ({"repeat": "monthly", "month_day": "32", "send_time": "09:00"}, "month_day", "less than or equal to 31"),
        ({"repeat": "daily"}, "send_time", "time of day"),
        ({"repeat": "daily", "repeat_every": "0", "send_time": "09:00"}, "repeat_every", "greater than or equal"),
        ({"send_time": "09:00"}, "repeat", "daily, weekly or monthly"),
        (
            {"repeat": "daily", "send_time": "09:00", "starts_at": "2026-08-01T00:00", "ends_at": "2026-07-01T00:00"},
            "ends_at",
            "after the start",
        ),
        (
            {"repeat": "monthly", "month_day": "20", "send_time": "09:00", "ends_at": "2026-06-15T00:00"},
            "ends_at",
            "No run falls between",
        ),
        ({"repeat": "daily", "send_time": "09:00", "starts_at": "2026-06-01T00:00"}, "starts_at", "in the past"),
    ],
)
def test_recurring_refuses_what_cannot_run(marketer, data, field, message):
    campaign = draft(Kind.RECURRING)

    assert_refused(post(marketer, campaign, data), field, campaign, message)


# Live triggers.


def test_single_action_saves_the_event_and_typed_filters(marketer):
    PropertyDefinition.objects.create(
        scope=PropertyDefinition.Scope.EVENT, event_name="Viewed product", name="price", type="number"
    )
    campaign = draft(Kind.SINGLE_ACTION)

    response = post(
        marketer,
        campaign,
        {
            "trigger_event": "Viewed product",
            "trigger_filter_name": ["price", ""],
            "trigger_filter_op": ["greater", "equals"],
            "trigger_filter_value": ["100", ""],
            "send_at": "2026-07-01T09:00",
            "user_timezone": "on",
        },
    )

    assert response.status_code == 303
    campaign.refresh_from_db()
    assert campaign.trigger_event == "Viewed product"
    assert campaign.trigger_filters == [{"name": "price", "op": "greater", "value": 100}]
    # Fields of past-behaviour campaigns are not this campaign's: not saved.
    assert campaign.send_at is None
    assert campaign.user_timezone is False


def test_single_action_needs_an_event_and_valid_filters(marketer):
    campaign = draft(Kind.SINGLE_ACTION)

    missing = post(marketer, campaign, {"trigger_event": " "})
    bad_filter = post(
        marketer,
        campaign,
        {
            "trigger_event": "Viewed product",
            "trigger_filter_name": ["price"],
            "trigger_filter_op": ["greater"],
            "trigger_filter_value": ["cheap"],
        },
    )

    assert_refused(missing, "trigger_event", campaign, "Choose the event")
    assert_refused(bad_filter, "trigger_filters", campaign, "greater needs a number")


@pytest.mark.parametrize("typed", ["inf", "nan", "1e400", "1" + "0" * 400, "1000000000000001"])
def test_a_number_filter_value_is_a_number_within_1e15_or_refused(marketer, typed):
    PropertyDefinition.objects.create(
        scope=PropertyDefinition.Scope.EVENT, event_name="Viewed product", name="price", type="number"
    )
    campaign = draft(Kind.SINGLE_ACTION)

    response = post(
        marketer,
        campaign,
        {
            "trigger_event": "Viewed product",
            "trigger_filter_name": ["price"],
            "trigger_filter_op": ["equals"],
            "trigger_filter_value": [typed],
        },
    )

    assert_refused(response, "trigger_filters", campaign, "&#x27;price&#x27; holds numbers")


def test_inaction_saves_the_window_in_minutes(marketer):
    campaign = draft(Kind.INACTION, channel=Channel.MOBILE_PUSH)

    response = post(
        marketer,
        campaign,
        {
            "trigger_event": "Added to cart",
            "inaction_event": "Charged",
            "inaction_amount": "2",
            "inaction_unit": "hours",
        },
    )

    assert response.status_code == 303
    campaign.refresh_from_db()
    assert (campaign.trigger_event, campaign.inaction_event, campaign.inaction_minutes) == (
        "Added to cart",
        "Charged",
        120,
    )
    page = marketer.get(url(campaign)).content.decode()
    assert "When someone does Added to cart and not Charged within 2 hours" in page


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"inaction_amount": "10", "inaction_unit": "minutes"}, "inaction_event", "cancels the message"),
        ({"inaction_event": "Charged", "inaction_unit": "minutes"}, "inaction_amount", "how long to wait"),
        ({"inaction_event": "Charged", "inaction_amount": "91", "inaction_unit": "days"}, "inaction_amount", "90 days"),
    ],
)
def test_inaction_refuses_an_incomplete_window(marketer, data, field, message):
    campaign = draft(Kind.INACTION)

    assert_refused(post(marketer, campaign, {"trigger_event": "Added to cart", **data}), field, campaign, message)


def test_date_property_saves_a_date_typed_event_property_and_the_offset(marketer):
    PropertyDefinition.objects.create(
        scope=PropertyDefinition.Scope.EVENT, event_name="Booked flight", name="departs_at", type="date"
    )
    campaign = draft(Kind.DATE_PROPERTY)

    response = post(
        marketer,
        campaign,
        {
            "trigger_event": "Booked flight",
            "date_property": "departs_at",
            "offset_side": "before",
            "offset_amount": "1",
            "offset_unit": "days",
        },
    )

    assert response.status_code == 303
    campaign.refresh_from_db()
    assert (campaign.date_property, campaign.date_offset_minutes) == ("departs_at", -1440)


def test_date_property_refuses_a_property_that_is_not_a_date_of_that_event(marketer):
    PropertyDefinition.objects.create(
        scope=PropertyDefinition.Scope.EVENT, event_name="Booked flight", name="seat", type="string"
    )
    PropertyDefinition.objects.create(
        scope=PropertyDefinition.Scope.EVENT, event_name="Booked flight", name="departs_at", type="date"
    )
    campaign = draft(Kind.DATE_PROPERTY)

    response = post(
        marketer,
        campaign,
        {"trigger_event": "Booked flight", "date_property": "seat", "offset_side": "at"},
    )

    assert_refused(response, "date_property", campaign, "Its date properties: departs_at")


def test_date_property_before_or_after_needs_an_amount(marketer):
    campaign = draft(Kind.DATE_PROPERTY)
    PropertyDefinition.objects.create(
        scope=PropertyDefinition.Scope.EVENT, event_name="Booked flight", name="departs_at", type="date"
    )

    response = post(
        marketer, campaign, {"trigger_event": "Booked flight", "date_property": "departs_at", "offset_side": "after"}
    )

    assert_refused(response, "offset_amount", campaign, "how long before or after")


def test_a_live_campaign_can_have_a_start_and_an_end(marketer):
    campaign = draft(Kind.SINGLE_ACTION)

    refused = post(
        marketer,
        campaign,
        {"trigger_event": "Signed up", "starts_at": "2026-07-02T00:00", "ends_at": "2026-07-01T00:00"},
    )
    saved = post(marketer, campaign, {"trigger_event": "Signed up", "ends_at": "2026-07-01T00:00"})

    assert refused.status_code == 422
    assert saved.status_code == 303
    assert Campaign.objects.get(pk=campaign.pk).ends_at == datetime(2026, 7, 1, tzinfo=UTC)


def test_exit_intent_has_no_trigger_here_its_targeting_is_in_who_but_dnd_and_cut_off(marketer):
    campaign = draft(Kind.SINGLE_ACTION, channel=Channel.EXIT_INTENT)

    page = marketer.get(url(campaign)).content.decode()
    response = post(
        marketer,
        campaign,
        {
            "trigger_event": "Anything",
            "dnd_enabled": "on",
            "dnd_start": "21:00",
            "dnd_end": "09:00",
            "dnd_action": "discard",
            "cutoff_time": "20:00",
        },
    )

    assert 'name="trigger_event"' not in page
    assert 'name="dnd_enabled"' in page and 'name="cutoff_time"' in page
    assert "No pop-up after this time" in page
    assert response.status_code == 303
    campaign.refresh_from_db()
    assert campaign.trigger_event == ""
    assert (campaign.dnd_enabled, campaign.dnd_start, campaign.cutoff_time) == (True, time(21), time(20))


# Delivery options.


def test_dnd_hours_may_pass_midnight(marketer):
    campaign = draft()

    response = post(
        marketer,
        campaign,
        {
            "send_at": "2026-07-01T09:00",
            "dnd_enabled": "on",
            "dnd_start": "21:00",
            "dnd_end": "09:00",
            "dnd_action": "discard",
        },
    )

    assert response.status_code == 303
    campaign.refresh_from_db()
    assert (campaign.dnd_enabled, campaign.dnd_start, campaign.dnd_end, campaign.dnd_action) == (
        True,
        time(21, 0),
        time(9, 0),
        "discard",
    )


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"dnd_enabled": "on", "dnd_end": "09:00", "dnd_action": "delay"}, "dnd_start", "need a start and an end"),
        (
            {"dnd_enabled": "on", "dnd_start": "09:00", "dnd_end": "09:00", "dnd_action": "delay"},
            "dnd_end",
            "same time",
        ),
        ({"cutoff_time": "08:00"}, "cutoff_time", "later than the send time (09:00)"),
    ],
)
def test_dnd_and_cut_off_are_checked(marketer, data, field, message):
    campaign = draft()

    assert_refused(post(marketer, campaign, {"send_at": "2026-07-01T09:00", **data}), field, campaign, message)


def test_dnd_off_clears_the_hours_and_options_are_saved(marketer):
    campaign = draft(dnd_enabled=True, dnd_start=time(22, 0), dnd_end=time(8, 0))

    post(
        marketer,
        campaign,
        {
            "send_at": "2026-07-01T09:00",
            "dnd_start": "22:00",
            "dnd_end": "08:00",
            "user_timezone": "on",
            "cutoff_time": "18:00",
            "skip_global_limits": "on",
        },
    )

    campaign.refresh_from_db()
    assert (campaign.dnd_enabled, campaign.dnd_start, campaign.dnd_end) == (False, None, None)
    assert (campaign.user_timezone, campaign.cutoff_time, campaign.skip_global_limits) == (True, time(18, 0), True)


def test_a_new_campaign_starts_from_the_global_dnd_hours(marketer):
    settings = DeliverySettings.load()
    settings.dnd_start, settings.dnd_end, settings.dnd_action = time(21, 0), time(9, 0), "discard"
    settings.save()
    campaign = draft()

    page = marketer.get(url(campaign)).content.decode()

    assert 'name="dnd_start" value="21:00"' in page
    assert 'name="dnd_enabled" id="id_dnd_enabled" checked' in page


def test_choices_that_depend_on_another_are_all_drawn_for_browsers_without_javascript(marketer):
    campaign = draft(Kind.RECURRING)

    page = marketer.get(url(campaign)).content.decode()

    assert 'data-show-if="repeat=weekly"' in page
    assert 'data-show-if="repeat=monthly"' in page
    assert 'name="weekdays"' in page and 'name="month_day"' in page


def test_the_preview_shows_the_runs_of_what_is_typed_without_saving(marketer):
    campaign = draft(Kind.RECURRING)
    preview = reverse("campaigns:when-preview", args=[campaign.pk])

    shown = marketer.post(preview, {"timezone": "UTC", "repeat": "daily", "repeat_every": "1", "send_time": "13:00"})
    unfinished = marketer.post(preview, {"timezone": "UTC", "repeat": "weekly", "send_time": "13:00"})

    assert "Every day at 13:00 UTC, from when it is scheduled." in shown.content.decode()
    assert "Wed 10 Jun 2026, 13:00" in shown.content.decode()
    assert "Fill in the schedule" in unfinished.content.decode()
    assert Campaign.objects.get(pk=campaign.pk).repeat == ""
