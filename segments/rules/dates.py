from datetime import date


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
