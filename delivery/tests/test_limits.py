"""The When step's rules for one message: DND hours, the user's time zone."""

from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

import pytest

from delivery.actions.limits import Dnd, Rules

PARIS = ZoneInfo("Europe/Paris")


@pytest.mark.parametrize(
    ("local", "ends"),
    [
        (datetime(2026, 3, 10, 20, 59), None),
        (datetime(2026, 3, 10, 21, 0), datetime(2026, 3, 11, 9, 0)),
        (datetime(2026, 3, 10, 23, 59), datetime(2026, 3, 11, 9, 0)),
        (datetime(2026, 3, 11, 0, 0), datetime(2026, 3, 11, 9, 0)),
        (datetime(2026, 3, 11, 8, 59), datetime(2026, 3, 11, 9, 0)),
        (datetime(2026, 3, 11, 9, 0), None),
        (datetime(2026, 3, 11, 12, 0), None),
    ],
)
def test_dnd_hours_across_midnight(local, ends):
    dnd = Dnd(time(21, 0), time(9, 0), "delay")

    found = dnd.ends_at(local.replace(tzinfo=PARIS).astimezone(UTC), PARIS)

    assert found == (ends.replace(tzinfo=PARIS) if ends else None)


@pytest.mark.parametrize(
    ("local", "inside"),
    [
        (datetime(2026, 3, 10, 12, 59), False),
        (datetime(2026, 3, 10, 13, 0), True),
        (datetime(2026, 3, 10, 14, 0), False),
    ],
)
def test_dnd_hours_within_one_day(local, inside):
    dnd = Dnd(time(13, 0), time(14, 0), "discard")

    assert (dnd.ends_at(local.replace(tzinfo=UTC), UTC) is not None) == inside


def test_dnd_ends_at_the_right_instant_on_the_night_the_clocks_change():
    # Paris moves from UTC+1 to UTC+2 at 02:00 on 29 March 2026: 09:00 is 07:00 UTC.
    dnd = Dnd(time(22, 0), time(9, 0), "delay")

    ends = dnd.ends_at(datetime(2026, 3, 28, 23, 0, tzinfo=UTC), PARIS)

    assert ends.astimezone(UTC) == datetime(2026, 3, 29, 7, 0, tzinfo=UTC)


def test_the_user_time_zone_release_is_the_wall_time_on_the_start_day_or_the_named_day():
    rules = Rules.parse({"timezone": "UTC", "user_timezone_at": "09:00"})
    named = Rules.parse({"user_timezone_at": "2026-04-01T09:30"})
    started = datetime(2026, 3, 10, 6, 0, tzinfo=UTC)

    assert rules.release_at(PARIS, started) == datetime(2026, 3, 10, 8, 0, tzinfo=UTC)
    assert named.release_at(PARIS, started) == datetime(2026, 4, 1, 7, 30, tzinfo=UTC)  # summer time
    assert Rules.parse({}).release_at(PARIS, started) is None


def test_a_profile_without_a_valid_time_zone_uses_the_dispatchs():
    rules = Rules.parse({"timezone": "Asia/Tokyo"})

    assert rules.zone_for("Europe/Paris") == PARIS
    assert rules.zone_for("") == ZoneInfo("Asia/Tokyo")
    assert rules.zone_for("Mars/Olympus_Mons") == ZoneInfo("Asia/Tokyo")
