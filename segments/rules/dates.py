"""Date arithmetic the rules share: ages, and the bounds of day windows and date comparisons
(the compiler writes them in SQL, the matcher compares in Python: both take them from here)."""

from datetime import UTC, date, datetime, time, timedelta


def years_before(day, years):
    """The same calendar day ``years`` earlier; 29 February becomes 28 February."""
    try:
        return day.replace(year=day.year - years)
    except ValueError:
        return date(day.year - years, 2, 28)


def age_bounds(today, low, high):
    """(earliest, latest): someone aged low…high today was born after ``earliest``
    and on or before ``latest``."""
    return years_before(today, high + 1), years_before(today, low)


def age_on(born, today):
    """Completed years on ``today`` for someone born on ``born``, counted as the age
    condition counts them: aged n when born after years_before(today, n + 1) and on or
    before years_before(today, n) (``age_bounds``), so the profile page and the segment
    say the same age, 29 February included."""
    years = today.year - born.year
    return years if born <= years_before(today, years) else years - 1


def window_bounds(window, now):
    """(start, end) datetimes of ``window`` at ``now``; None where open."""
    if window.type == "last_days":
        return now - timedelta(days=window.days), None
    if window.type == "between":
        start = datetime.combine(window.start, time.min, tzinfo=UTC)
        end = datetime.combine(window.end, time.min, tzinfo=UTC) + timedelta(days=1)
        return start, end
    return None, None


def field_bounds(c, now, *, timestamps):
    """(start, end) of a date comparison on a profile column: start included, end
    excluded, None where open. Days are whole UTC days, as event windows'; on a
    time column (``timestamps``) the bounds are datetimes, on a date column dates."""

    def day(value):
        return datetime.combine(value, time.min, tzinfo=UTC) if timestamps else value

    one = timedelta(days=1)
    if c.op == "in_last_days":
        return now - timedelta(days=c.value), None
    if c.op == "over_days_ago":
        return None, now - timedelta(days=c.value)
    if c.op == "greater":
        return day(c.value + one), None
    if c.op == "less":
        return None, day(c.value)
    low, high = c.value
    return day(low), day(high + one)
