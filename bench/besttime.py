"""Seconds to find every person's best hour for a best-time send, next to the plain way.

On an audience of ``--profiles`` people (eight time zones, ``--events`` events each in the last
90 days, most at a habitual local hour), times:

- ``besttime.spread``: the aggregate over the events grouped by person and local hour, in
  one query (what the forecast reads);
- ``besttime.hold_at_best_times``: the same aggregate plus the UPDATE that holds a dispatch's
  messages (one per person), as a run's start does; each run is rolled back;
- the plain way: each person's events fetched and their local hours counted in Python with
  zoneinfo, timed on ``--sample`` people and scaled to the audience.

Checks that the plain way finds the same hour for the sampled people. Seeds its own audience
(identities ``bt-…``) the first time, in the database ``DATABASE_URL`` names (PostgreSQL only;
migrated when empty). Never point it at a database others are using for tests.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/clarion_bench_besttime \\
        .venv/bin/python bench/besttime.py [--profiles 50000] [--events 10] [--runs 3] [--sample 2000]

The last line is key=value pairs, with the load average.
"""

import argparse
import os
import secrets
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

ZONES = [
    "Europe/Paris",
    "America/New_York",
    "Asia/Tokyo",
    "Australia/Sydney",
    "America/Los_Angeles",
    "Asia/Kolkata",
    "Europe/London",
    "",
]
CAMPAIGN_ZONE = "Europe/London"
FALLBACK = 10


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--profiles", type=int, default=50_000)
    parser.add_argument("--events", type=int, default=10, help="events per person in the last 90 days")
    parser.add_argument("--runs", type=int, default=3, help="timed runs of each way after a warm-up")
    parser.add_argument("--sample", type=int, default=2_000, help="people the plain way is timed on")
    args = parser.parse_args()
    database_url = os.environ.get("DATABASE_URL", "")
    if not database_url.startswith(("postgres://", "postgresql://")):
        sys.exit("bench/besttime.py measures PostgreSQL: set DATABASE_URL=postgres://…/clarion_bench_besttime")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(40))
    os.environ.setdefault("FIELD_ENCRYPTION_KEYS", Fernet.generate_key().decode())
    _create_database(database_url)
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection, transaction
    from django.utils import timezone

    from delivery.actions import besttime
    from delivery.actions.dispatches import do_create_dispatch
    from delivery.models import Message
    from segments.models import Profile

    if "segments_profile" not in connection.introspection.table_names():
        call_command("migrate", verbosity=0)
    now = timezone.now()
    people = Profile.objects.filter(identity__startswith="bt-")
    if people.count() != args.profiles:
        _seed(args.profiles, args.events, now)
    events = args.profiles * args.events
    print(f"{args.profiles:,} people, {events:,} events, {len(ZONES)} zones; {args.runs} runs after a warm-up")

    def timed(work):
        work()
        runs = []
        for _ in range(args.runs):
            began = time.perf_counter()
            work()
            runs.append(time.perf_counter() - began)
        return statistics.median(runs), runs

    found = besttime.spread(people, campaign_zone=CAMPAIGN_ZONE, fallback_hour=FALLBACK, start=now)
    spread_s, spread_runs = timed(
        lambda: besttime.spread(people, campaign_zone=CAMPAIGN_ZONE, fallback_hour=FALLBACK, start=now)
    )

    def hold():
        """A run's start: its messages written in its transaction (so the planner's statistics
        know none of them), then held; rolled back. Returns (rows held, seconds holding)."""
        with transaction.atomic():
            dispatch = _dispatch(do_create_dispatch, Message, people)
            began = time.perf_counter()
            held = besttime.hold_at_best_times(dispatch, now=now)
            elapsed = time.perf_counter() - began
            transaction.set_rollback(True)
        return held, elapsed

    held, _ = hold()
    hold_runs = [hold()[1] for _ in range(args.runs)]
    hold_s = statistics.median(hold_runs)

    sample = list(people.order_by("pk").values_list("pk", "timezone")[: args.sample])
    began = time.perf_counter()
    plain_hours = {pk: _plain_hour(pk, tz, now) for pk, tz in sample}
    plain_sample_s = time.perf_counter() - began
    plain_s = plain_sample_s * args.profiles / len(sample)
    agree = _agree(besttime, people, sample, plain_hours, now)

    print(f"spread (one query):             median {spread_s:.3f} s  runs {', '.join(f'{r:.3f}' for r in spread_runs)}")
    print(f"hold_at_best_times (aggregate + UPDATE of {held:,} rows): median {hold_s:.3f} s")
    print(f"  runs {', '.join(f'{r:.3f}' for r in hold_runs)}")
    print(
        f"plain way, per person in Python: {plain_sample_s:.3f} s for {len(sample):,} people, ≈{plain_s:.1f} s for all"
    )
    print(f"hours agree with the plain way on the sample: {'yes' if agree else 'NO'}")
    print("people per local hour:", {hour: n for hour, n in enumerate(found.local_hours) if n})
    load = os.getloadavg()
    print(
        f"profiles={args.profiles} events={events} spread_median_s={spread_s:.3f} hold_median_s={hold_s:.3f}"
        f" held={held} plain_estimated_s={plain_s:.1f} speedup={plain_s / spread_s:.1f}"
        f" agree={'yes' if agree else 'no'} loadavg_1m={load[0]:.2f} loadavg_5m={load[1]:.2f}"
    )
    if not agree:
        sys.exit(1)


def _create_database(url):
    import psycopg

    name = url.rsplit("/", 1)[1].split("?")[0]
    admin = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as connection:
        if not connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            connection.execute(f'CREATE DATABASE "{name}"')


def _seed(count, per_person, now):
    """``count`` people in ``ZONES`` with one web device each and ``per_person`` events: two
    in three at their habitual local hour (by their id), the rest at any hour."""
    from django.db import connection

    from segments.models import Device, Profile

    Profile.objects.filter(identity__startswith="bt-").delete()
    for start in range(0, count, 10_000):
        profiles = Profile.objects.bulk_create(
            Profile(identity=f"bt-{i}", timezone=ZONES[i % len(ZONES)])
            for i in range(start, min(count, start + 10_000))
        )
        Device.objects.bulk_create(
            Device(profile=p, platform="web", endpoint=f"https://push.example/bt/{p.pk}", push_status="allowed")
            for p in profiles
        )
    with connection.cursor() as cursor:
        # Local habitual hour (id % 24) read in the person's zone (the campaign's without one).
        cursor.execute(
            "INSERT INTO segments_event (profile_id, name, properties, occurred_at, received_at)"
            " SELECT p.id, 'page_view', '{}'::jsonb,"
            "  CASE WHEN random() < 0.67"
            "   THEN ((date_trunc('day', %s::timestamptz AT TIME ZONE z.zone)"
            "          - make_interval(days => 1 + (random() * 88)::int)"
            "          + make_interval(hours => (p.id %% 24)::int, mins => (random() * 59)::int)) AT TIME ZONE z.zone)"
            "   ELSE %s::timestamptz"
            "          - make_interval(days => 1 + (random() * 88)::int, hours => (random() * 23)::int) END,"
            "  %s::timestamptz"
            " FROM segments_profile p CROSS JOIN LATERAL (SELECT COALESCE(NULLIF(p.timezone, ''), %s) AS zone) z"
            " CROSS JOIN generate_series(1, %s) AS n WHERE p.identity LIKE 'bt-%%'",
            [now, now, now, CAMPAIGN_ZONE, per_person],
        )
        cursor.execute("ANALYZE segments_profile; ANALYZE segments_event; ANALYZE segments_device")


def _dispatch(do_create_dispatch, Message, people):
    from segments.models import Device

    dispatch = do_create_dispatch(
        channel="web_push",
        label="bench: best time",
        contents={"A": {"title": "Hi"}},
        rules={"timezone": CAMPAIGN_ZONE, "best_time": {"fallback_hour": FALLBACK}},
    )
    devices = Device.objects.filter(profile__in=people).values_list("profile_id", "pk")
    Message.objects.bulk_create(
        (Message(dispatch=dispatch, profile_id=p, device_id=d, variant="A") for p, d in devices.iterator()),
        batch_size=5_000,
    )
    return dispatch


def _plain_hour(pk, timezone_name, now):
    """The plain way for one person: their events of 90 days, counted by local hour."""
    from delivery.actions.besttime import MIN_EVENTS, WINDOW
    from delivery.zones import person_zone, zone
    from segments.models import Event

    tz = person_zone(timezone_name, zone(CAMPAIGN_ZONE))
    moments = Event.objects.filter(profile_id=pk, occurred_at__gte=now - WINDOW, occurred_at__lt=now).values_list(
        "occurred_at", flat=True
    )
    hours = Counter(moment.astimezone(tz).hour for moment in moments)
    if sum(hours.values()) < MIN_EVENTS:
        return FALLBACK
    return min(hours, key=lambda hour: (-hours[hour], hour))


def _agree(besttime, people, sample, plain_hours, now):
    """Whether the SQL's hour of each sampled person is the plain way's (per person: a spread
    of one)."""
    for pk, _ in sample[:200]:
        one = besttime.spread(people.filter(pk=pk), campaign_zone=CAMPAIGN_ZONE, fallback_hour=FALLBACK, start=now)
        if one.local_hours[plain_hours[pk]] != 1:
            return False
    return True


if __name__ == "__main__":
    main()
