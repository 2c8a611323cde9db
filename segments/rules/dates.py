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
