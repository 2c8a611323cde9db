from datetime import UTC, datetime, time

import pytest
import time_machine
from django.utils import timezone

from campaigns import schedule
from campaigns.models import Campaign

Kind = Campaign.Kind


def at(text, tz="UTC"):
    """An aware datetime for a wall-clock time in ``tz``, as the form would store it."""
    return schedule.to_utc(datetime.fromisoformat(text), schedule.zone(tz))


def recurring(**fields):
    defaults = {"kind": Kind.RECURRING, "channel": Campaign.Channel.WEB_PUSH, "timezone": "UTC", "repeat_every": 1}
    return Campaign(**(defaults | fields))


def local_times(moments, tz):
    return [moment.astimezone(schedule.zone(tz)).strftime("%Y-%m-%d %H:%M %a") for moment in moments]


@time_machine.travel("2026-01-15 12:00Z", tick=False)
def test_monthly_on_the_31st_falls_on_the_last_day_of_shorter_months():
    campaign = recurring(repeat="monthly", month_day=31, send_time=time(8, 0), timezone="Europe/Paris")

    runs = schedule.upcoming(campaign, after=timezone.now(), count=4)

    assert local_times(runs, "Europe/Paris") == [
        "2026-01-31 08:00 Sat",
        "2026-02-28 08:00 Sat",
        "2026-03-31 08:00 Tue",
        "2026-04-30 08:00 Thu",
    ]


@time_machine.travel("2028-01-10 12:00Z", tick=False)
def test_monthly_on_the_30th_is_the_29th_of_february_in_a_leap_year():
    campaign = recurring(repeat="monthly", month_day=30, send_time=time(8, 0))

    runs = schedule.upcoming(campaign, after=timezone.now(), count=3)

    assert local_times(runs, "UTC") == ["2028-01-30 08:00 Sun", "2028-02-29 08:00 Tue", "2028-03-30 08:00 Thu"]


@time_machine.travel("2026-03-01 12:00Z", tick=False)
def test_weekly_keeps_the_local_time_across_the_new_york_dst_change():
    # Clocks go forward on Sunday 8 March 2026 in America/New_York: 09:00 local is
    # 14:00 UTC before and 13:00 UTC after.
    campaign = recurring(
        repeat="weekly", weekdays=[0, 3], send_time=time(9, 0), timezone="America/New_York", repeat_every=1
    )

    runs = schedule.upcoming(campaign, after=timezone.now(), count=4)

    assert local_times(runs, "America/New_York") == [
        "2026-03-02 09:00 Mon",
        "2026-03-05 09:00 Thu",
        "2026-03-09 09:00 Mon",
        "2026-03-12 09:00 Thu",
    ]
    assert [run.hour for run in runs] == [14, 14, 13, 13]
    assert all(run.tzinfo == UTC for run in runs)


@time_machine.travel("2026-11-01 03:00Z", tick=False)
def test_a_daily_time_in_the_repeated_hour_is_sent_once_at_its_first_occurrence():
    # 1 November 2026: New York's clocks go back from 02:00 EDT to 01:00 EST.
    campaign = recurring(repeat="daily", send_time=time(1, 30), timezone="America/New_York")

    runs = schedule.upcoming(campaign, after=timezone.now(), count=2)

    assert runs == [datetime(2026, 11, 1, 5, 30, tzinfo=UTC), datetime(2026, 11, 2, 6, 30, tzinfo=UTC)]


@time_machine.travel("2026-03-07 12:00Z", tick=False)
def test_a_daily_time_the_clocks_skip_runs_an_hour_later_that_day():
    campaign = recurring(repeat="daily", send_time=time(2, 30), timezone="America/New_York")

    runs = schedule.upcoming(campaign, after=timezone.now(), count=3)

    assert local_times(runs, "America/New_York") == [
        "2026-03-08 03:30 Sun",
        "2026-03-09 02:30 Mon",
        "2026-03-10 02:30 Tue",
    ]


@time_machine.travel("2026-01-01 12:00Z", tick=False)
def test_every_second_week_counts_weeks_from_the_start():
    campaign = recurring(
        repeat="weekly", repeat_every=2, weekdays=[2], send_time=time(10, 0), starts_at=at("2026-01-05 00:00")
    )

    runs = schedule.upcoming(campaign, after=timezone.now(), count=3)

    assert local_times(runs, "UTC") == ["2026-01-07 10:00 Wed", "2026-01-21 10:00 Wed", "2026-02-04 10:00 Wed"]


@time_machine.travel("2026-01-01 12:00Z", tick=False)
def test_every_third_day_from_the_start():
    campaign = recurring(repeat="daily", repeat_every=3, send_time=time(7, 0), starts_at=at("2026-01-02 00:00"))

    runs = schedule.upcoming(campaign, after=timezone.now(), count=3)

    assert local_times(runs, "UTC") == ["2026-01-02 07:00 Fri", "2026-01-05 07:00 Mon", "2026-01-08 07:00 Thu"]


@time_machine.travel("2026-05-10 12:00Z", tick=False)
def test_a_recurring_day_never_starts_on_a_prior_date():
    # The 7th of each month, created on the 10th: the first run is 7 June, not 7 May.
    campaign = recurring(repeat="monthly", month_day=7, send_time=time(9, 0))

    runs = schedule.upcoming(campaign, after=timezone.now(), count=2)

    assert local_times(runs, "UTC") == ["2026-06-07 09:00 Sun", "2026-07-07 09:00 Tue"]


@time_machine.travel("2026-05-10 12:00Z", tick=False)
def test_runs_never_come_before_the_start_or_the_moment_it_was_scheduled():
    starts = recurring(repeat="daily", send_time=time(9, 0), starts_at=at("2026-05-20 10:00"))
    scheduled = recurring(repeat="daily", send_time=time(9, 0), scheduled_at=at("2026-05-12 09:30"))

    assert local_times(schedule.upcoming(starts, after=timezone.now(), count=1), "UTC") == ["2026-05-21 09:00 Thu"]
    assert local_times(schedule.upcoming(scheduled, after=timezone.now(), count=1), "UTC") == ["2026-05-13 09:00 Wed"]


@time_machine.travel("2026-12-01 12:00Z", tick=False)
def test_the_end_date_stops_the_runs():
    campaign = recurring(repeat="daily", send_time=time(9, 0), ends_at=at("2026-12-04 09:00"))

    runs = schedule.upcoming(campaign, after=timezone.now(), count=10)

    assert local_times(runs, "UTC") == ["2026-12-02 09:00 Wed", "2026-12-03 09:00 Thu", "2026-12-04 09:00 Fri"]


@time_machine.travel("2026-06-10 12:00Z", tick=False)
def test_past_dates_are_never_returned():
    campaign = Campaign(
        kind=Kind.MULTIPLE_DATES,
        timezone="UTC",
        dates=[at(text).isoformat() for text in ("2026-06-12 09:00", "2026-06-01 09:00", "2026-06-10 11:59")],
    )
    once = Campaign(kind=Kind.ONE_TIME, timezone="UTC", send_at=at("2026-06-09 09:00"))

    assert schedule.upcoming(campaign, after=timezone.now()) == [at("2026-06-12 09:00")]
    assert schedule.upcoming(once, after=timezone.now()) == []


@time_machine.travel("2026-06-10 12:00Z", tick=False)
def test_multiple_dates_come_back_sorted_and_counted():
    texts = ("2026-07-01 09:00", "2026-06-20 09:00", "2026-06-25 09:00")
    campaign = Campaign(kind=Kind.MULTIPLE_DATES, timezone="UTC", dates=[at(text).isoformat() for text in texts])

    assert schedule.upcoming(campaign, after=timezone.now(), count=2) == [
        at("2026-06-20 09:00"),
        at("2026-06-25 09:00"),
    ]


def test_live_campaigns_have_no_planned_times():
    campaign = Campaign(kind=Kind.SINGLE_ACTION, timezone="UTC", trigger_event="Added to cart")

    assert schedule.upcoming(campaign, after=datetime(2026, 1, 1, tzinfo=UTC)) == []


@pytest.mark.parametrize(
    ("fields", "sentence"),
    [
        (
            {"repeat": "weekly", "weekdays": [3, 0], "send_time": time(9, 0), "timezone": "Europe/Paris"},
            "Every week on Mon and Thu at 09:00 Europe/Paris, from 1 Dec 2026 until 31 Jan 2027.",
        ),
        (
            {"repeat": "daily", "repeat_every": 2, "send_time": time(7, 30), "timezone": "UTC"},
            "Every 2 days at 07:30 UTC, from 1 Dec 2026 until 31 Jan 2027.",
        ),
        (
            {"repeat": "monthly", "month_day": 31, "send_time": time(8, 0), "timezone": "UTC"},
            "Every month on day 31 (the last day in shorter months) at 08:00 UTC, from 1 Dec 2026 until 31 Jan 2027.",
        ),
    ],
)
def test_describe_says_a_recurring_schedule_in_one_sentence(fields, sentence):
    tz = fields["timezone"]
    campaign = recurring(starts_at=at("2026-12-01 00:00", tz), ends_at=at("2027-01-31 23:00", tz), **fields)

    assert schedule.describe(campaign) == sentence


def test_describe_says_the_live_triggers():
    inaction = Campaign(
        kind=Kind.INACTION, trigger_event="Added to cart", inaction_event="Charged", inaction_minutes=10, timezone="UTC"
    )
    single = Campaign(
        kind=Kind.SINGLE_ACTION,
        trigger_event="Viewed product",
        trigger_filters=[{"name": "price", "op": "greater", "value": 100}],
        timezone="UTC",
    )
    dated = Campaign(
        kind=Kind.DATE_PROPERTY,
        trigger_event="Booked flight",
        date_property="departs_at",
        date_offset_minutes=-1440,
        timezone="UTC",
    )

    assert schedule.describe(inaction) == "When someone does Added to cart and not Charged within 10 minutes."
    assert schedule.describe(single) == "When someone does Viewed product with price over 100."
    assert schedule.describe(dated) == "When someone does Booked flight: 1 day before the time in its departs_at."


def test_describe_says_one_time_and_multiple_dates_in_the_campaign_time_zone():
    once = Campaign(kind=Kind.ONE_TIME, timezone="Asia/Tokyo", send_at=at("2026-12-03 09:00", "Asia/Tokyo"))
    several = Campaign(
        kind=Kind.MULTIPLE_DATES,
        timezone="UTC",
        user_timezone=True,
        dates=[at(f"2026-12-0{day} 09:00").isoformat() for day in (1, 2, 3, 4)],
    )

    assert schedule.describe(once) == "Once on 3 Dec 2026 at 09:00 Asia/Tokyo."
    assert schedule.describe(several) == (
        "On 4 dates: 1 Dec 2026 at 09:00, 2 Dec 2026 at 09:00, 3 Dec 2026 at 09:00 and 1 more"
        " in each person's own time zone."
    )


@pytest.mark.parametrize(("minutes", "text"), [(10, "10 minutes"), (60, "1 hour"), (1500, "1 day 1 hour")])
def test_duration_reads_as_words(minutes, text):
    assert schedule.duration(minutes) == text
