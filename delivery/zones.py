"""Time zones by name: the one ``zone()`` every app calls (campaigns' schedule, its live
sends and delivery's rules), so an unknown name means the same thing everywhere."""

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

UTC = ZoneInfo("UTC")


def zone(name, fallback=UTC):
    """The ZoneInfo called ``name``; ``fallback`` for an empty name or one zoneinfo does not know."""
    try:
        return ZoneInfo(name) if name else fallback
    except (ZoneInfoNotFoundError, ValueError):
        return fallback


def person_zone(profile_timezone, campaign_zone):
    """The zone a person's local times are read in: their own when it is a valid name, else
    the campaign's (``campaign_zone``, a ZoneInfo). Not UTC: the person's zone is unknown, so
    the campaign's zone is the one the marketer planned the send in ("09:00", "DND from 21:00"),
    and the best guess of where the audience is."""
    return zone(profile_timezone, campaign_zone)
