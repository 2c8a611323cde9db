"""Seconds to forecast a scheduled run (``campaigns.actions.forecast.forecast``) on a million profiles,
next to the plain way of deciding the same lines person by person in Python.

The forecast counts in a few GROUP BY queries (the audience's devices by platform and time
zone, those of people at a frequency cap, the known-dead tokens, Safari, the other campaigns
the same day) and walks only their groups in Python. The plain way streams the audience a
page of 2,000 people at a time, as a run does, asks ``limits.capped_profiles`` for each page
and decides DND and the cut-off for each person with the same ``limits.Rules``; it is run on
the first ``--plain-people`` people (100,000) and scaled to the audience, since a whole
million takes minutes.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/clarion_forecast_bench .venv/bin/python bench/forecast.py

PostgreSQL only. It seeds its own audience into the database named by DATABASE_URL when the
database holds fewer than ``--profiles`` of its profiles (identities ``fc-…``; about a minute
with INSERT … SELECT generate_series): every profile a web device (one in ten Safari, one in
two hundred retired), one in five an Android one too, thirteen time zones, one in ten with a
message of another campaign in the last 12 hours; the global caps are set to 1 a day and 5 a
week and the throttle to 100,000 per 15 minutes. It creates two campaigns (the one forecast,
and another the same day that overlaps it). Point it at a database of its own, never at one
others use for tests. The last line is key=value pairs, with the load average.
"""

import argparse
import os
import secrets
import statistics
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

ZONES = [
    "Europe/Paris",
    "Europe/London",
    "America/New_York",
    "America/Los_Angeles",
    "America/Sao_Paulo",
    "Asia/Tokyo",
    "Asia/Kolkata",
    "Australia/Sydney",
    "Africa/Lagos",
    "Europe/Berlin",
    "Asia/Singapore",
    "Pacific/Auckland",
    "",  # no zone of their own: the campaign's
]
PAGE = 2000


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--profiles", type=int, default=1_000_000, help="profiles to seed when fewer are there")
    parser.add_argument("--runs", type=int, default=3, help="timed forecasts after one warm-up")
    parser.add_argument("--plain-people", type=int, default=100_000, help="people the plain way decides")
    args = parser.parse_args()

    database_url = os.environ.get("DATABASE_URL", "")
    if not database_url.startswith(("postgres://", "postgresql://")):
        sys.exit("bench/forecast.py measures PostgreSQL: set DATABASE_URL=postgres://… to a database of its own.")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(40))
    os.environ.setdefault("FIELD_ENCRYPTION_KEYS", Fernet.generate_key().decode())  # reads no credentials
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone

    call_command("migrate", verbosity=0)
    now = timezone.now().replace(microsecond=0)
    seeded = seed(connection, args.profiles, now)
    campaign = campaigns(now)
    print(f"database {urlsplit(database_url).path.lstrip('/')}: {seeded:,} bench profiles")

    from campaigns.actions import forecast

    forecast.forecast(campaign, now=now)  # warm-up: caches, plans
    times = []
    for _ in range(args.runs):
        started = time.perf_counter()
        found = forecast.forecast(campaign, now=now)
        times.append(time.perf_counter() - started)
    median = statistics.median(times)
    print(f"forecast: median {median:.2f} s of {args.runs} runs ({', '.join(f'{t:.2f}' for t in times)})")
    for line in forecast.rows(found):
        print(f"  {line.name:16} {line.forecast:>10,} {line.unit}")
    for other in found.collisions:
        stopped = f"{other.stopped:,} stopped ({other.stopped_campaign})"
        print(f"  overlap with {other.name!r}: {other.overlap:,} people, {stopped}")
    print(f"  last send {found.last_send_at}; hours {found.hours}")

    people, plain_s, plain_lines = plain(campaign, now, args.plain_people)
    scaled = plain_s * found.reachable / people if people else 0.0
    print(
        f"plain way: {plain_s:.2f} s for {people:,} people (capped {plain_lines['frequency_cap']:,},"
        f" DND discarded {plain_lines['dnd_discarded']:,}, past the cut-off {plain_lines['cutoff_passed']:,});"
        f" scaled to {found.reachable:,} people: {scaled:.1f} s"
    )
    load = os.getloadavg()
    print(
        f"profiles={seeded} reachable={found.reachable} forecast_s={median:.2f} plain_s_scaled={scaled:.1f}"
        f" plain_people={people} speedup={scaled / median:.0f} expected={found.expected}"
        f" load1={load[0]:.2f} load5={load[1]:.2f}"
    )


def seed(connection, wanted, now):
    """The bench audience (see the module docstring), each part made when it is missing: the
    profiles when fewer than ``wanted`` are there, then their devices, then the messages."""
    from delivery.models import DeliverySettings, Dispatch
    from segments.models import Device, Profile

    DeliverySettings.objects.update_or_create(
        pk=1, defaults={"daily_cap": 1, "weekly_cap": 5, "throttle_per_15_min": 100_000}
    )
    started = time.perf_counter()
    zones = "ARRAY[" + ",".join(f"'{zone}'" for zone in ZONES) + "]"
    ours = "(SELECT id, substr(identity, 4)::int AS i FROM segments_profile WHERE identity LIKE 'fc-%%') AS p"
    with connection.cursor() as cursor:
        have = Profile.objects.filter(identity__startswith="fc-").count()
        if have < wanted:
            print(f"seeding {wanted - have:,} profiles …", flush=True)
            insert(
                cursor,
                "segments_profile",
                {
                    "identity": "'fc-' || i",
                    "timezone": f"({zones})[1 + i % {len(ZONES)}]",
                    "country": "(ARRAY['FR','DE','US','GB','JP'])[1 + i % 5]",
                    "properties": "jsonb_build_object('tier', CASE WHEN i % 3 = 0 THEN 'gold' ELSE 'silver' END)",
                },
                f"generate_series({have + 1}, {wanted}) AS i",
            )
            # Fresh statistics before the next statements join on the new rows: without them
            # the planner guessed a nested loop over a million rows.
            cursor.execute("VACUUM ANALYZE segments_profile")
        web = Device.objects.filter(endpoint__startswith="https://push.example/fc/")
        if not web.exists():
            print("seeding their devices …", flush=True)
            insert(
                cursor,
                "segments_device",
                {
                    "profile_id": "p.id",
                    "platform": "'web'",
                    "browser": "CASE WHEN p.i % 10 = 0 THEN 'safari' ELSE 'chrome' END",
                    "endpoint": "'https://push.example/fc/' || p.i",
                    "push_status": "'allowed'",
                    "retired_at": "CASE WHEN p.i % 200 = 0 THEN now() - interval '3 days' END",
                },
                ours,
            )
            insert(
                cursor,
                "segments_device",
                {
                    "profile_id": "p.id",
                    "platform": "'android'",
                    "token": "'fc-token-' || p.i",
                    "push_status": "'allowed'",
                },
                ours + " WHERE p.i % 5 = 0",
            )
            cursor.execute("VACUUM ANALYZE segments_device")
        earlier = Dispatch.objects.filter(label="bench: earlier campaign").first()
        if earlier is None or not earlier.messages.exists():
            print("seeding the messages of another campaign …", flush=True)
            earlier = earlier or Dispatch.objects.create(
                channel="web_push", label="bench: earlier campaign", status="done"
            )
            insert(
                cursor,
                "delivery_message",
                {
                    "dispatch_id": str(earlier.pk),
                    "profile_id": "d.profile_id",
                    "device_id": "d.id",
                    "status": "'sent'",
                    "sent_at": "now() - interval '12 hours' * random()",
                },
                # The endpoint carries the profile's number: no join with the profiles.
                "segments_device d WHERE d.endpoint LIKE 'https://push.example/fc/%%'"
                " AND substr(d.endpoint, 25)::int % 10 = 1",
            )
            cursor.execute("VACUUM ANALYZE delivery_message")
        # Current statistics whatever an earlier run did (a run stopped between an INSERT and
        # its ANALYZE left the planner expecting a handful of rows: nested loops for minutes).
        cursor.execute("ANALYZE segments_profile, segments_device, delivery_message")
    if time.perf_counter() - started > 1:
        print(f"  seeded in {time.perf_counter() - started:.0f} s", flush=True)
    return Profile.objects.filter(identity__startswith="fc-").count()


def insert(cursor, table, values, source):
    """INSERT INTO ``table`` … SELECT ``values`` FROM ``source``, with an empty value of its
    type for every other NOT NULL column without a default (so new columns do not break it)."""
    cursor.execute(
        "SELECT column_name, data_type FROM information_schema.columns"
        " WHERE table_name = %s AND is_nullable = 'NO' AND column_default IS NULL AND column_name <> 'id'",
        [table],
    )
    empty = {"jsonb": "'{}'::jsonb", "boolean": "false", "smallint": "0", "integer": "0", "bigint": "0"}
    columns = dict(values)
    for name, kind in cursor.fetchall():
        if name not in columns:
            columns[name] = "now()" if kind.startswith("timestamp") else empty.get(kind, "''")
    # The bench's own constant SQL (no outside input): the names and expressions above.
    sql = f"INSERT INTO {table} ({', '.join(columns)}) SELECT {', '.join(columns.values())} FROM {source}"  # noqa: S608
    cursor.execute(sql)


def campaigns(now):
    """The campaign forecast (FR, DE and US: 60 % of the audience, a control group, DND set to
    delay, a cut-off) and another the same day (the gold tier) whose audience overlaps it."""
    from campaigns.models import Campaign, Variant
    from segments.models import Segment

    def made(name, rules, **fields):
        segment, _ = Segment.objects.get_or_create(name=f"bench: {name}", defaults={"rules": rules})
        campaign, created = Campaign.objects.update_or_create(
            name=f"bench: {name}",
            defaults={"channel": "web_push", "kind": "one_time", "segment": segment, **fields},
        )
        if created:
            Variant.objects.create(campaign=campaign, name="A", content={"title": "Hello", "body": "Bench"})
        return campaign

    countries = {"kind": "geo", "field": "country", "values": ["FR", "DE", "US"]}
    gold = {"kind": "property", "name": "tier", "op": "equals", "value": "gold"}
    made(
        "other the same day",
        {"match": "all", "conditions": [gold]},
        status="scheduled",
        send_at=now + timedelta(hours=1),
        next_run_at=now + timedelta(hours=1),
    )
    return made(
        "forecast",
        {"match": "all", "conditions": [countries]},
        status="draft",
        send_at=now + timedelta(hours=2),
        control_group_percent=10,
        dnd_enabled=True,
        dnd_start=datetime.strptime("21:00", "%H:%M").time(),
        dnd_end=datetime.strptime("08:00", "%H:%M").time(),
        dnd_action="discard",
        cutoff_time=datetime.strptime("23:30", "%H:%M").time(),
    )


def plain(campaign, now, limit):
    """The lines the forecast reads in SQL, decided person by person for the first ``limit``
    people of the audience: pages of people and their devices, ``capped_profiles`` per page,
    ``Rules`` per person. Returns (people, seconds, counts)."""
    from campaigns.actions.dispatcher import rules_for
    from campaigns.actions.forecast import planned_time
    from campaigns.actions.runs import Audience
    from delivery.actions import limits
    from delivery.models import DeliverySettings

    started = time.perf_counter()
    planned = planned_time(campaign, now)
    rules = limits.Rules.parse(rules_for(campaign, planned))
    settings = DeliverySettings.load()
    audience = Audience(campaign, planned)
    counts = {"frequency_cap": 0, "dnd_discarded": 0, "cutoff_passed": 0}
    people = 0
    for page in audience.pages():
        page = page[: limit - people]
        ids = [profile_id for profile_id, _, _ in page]
        capped = limits.capped_profiles(ids, settings, dispatch_id=None, now=planned)
        devices = {}
        for profile_id, _device in audience.device_rows(ids):
            devices[profile_id] = devices.get(profile_id, 0) + 1
        for profile_id, tz, _ in page:
            n = devices.get(profile_id, 0)
            zone = rules.zone_for(tz)
            if rules.cutoff and planned >= rules.cutoff:
                counts["cutoff_passed"] += n
            elif rules.dnd and rules.dnd.ends_at(planned, zone):
                counts["dnd_discarded"] += n
            elif profile_id in capped:
                counts["frequency_cap"] += n
        people += len(page)
        if people >= limit:
            break
    return people, time.perf_counter() - started, counts


if __name__ == "__main__":
    main()
