"""The one way Clarion writes a length of time for people: "1 day", "2 hours 15 minutes", never
"1440 min" on one page and "1 day" on another (issue 14). Here, in the lowest app that shows a
duration (the throttle hint); campaigns (``schedule.duration``, Overview, the A/B wait) and
stats (the goal window) use it too."""


def duration(minutes):
    """10 → "10 minutes", 120 → "2 hours", 1500 → "1 day 1 hour"."""
    days, rest = divmod(minutes, 1440)
    hours, mins = divmod(rest, 60)
    parts = [(days, "day"), (hours, "hour"), (mins, "minute")]
    return " ".join(f"{n} {unit}{'s' if n != 1 else ''}" for n, unit in parts if n) or "0 minutes"
