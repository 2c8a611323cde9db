"""Seconds to estimate a segment's reach on a large audience, next to the plain ORM way.

For seven segments — a compound one (customer_type is Gold, within 50 km of San
Francisco, did Added To Cart at least 2 times in the last 30 days), a single
property, a did-not-do, the cart count alone, "app version starts with" alone, an
any-of group mixing a property, the cart count and the app version, and an app
version plus OS version — times
``estimate_reach(parse(rules))`` (the qualified profiles and the reachable ones per
channel, in one query) and the plain ORM way of counting the same qualified profiles
(annotate a Count over events, filter on it, plain filters for the rest). Each is run
once to warm up, then ``--runs`` times; medians are reported. Checks that both ways
count the same people, prints the query plans (EXPLAIN ANALYZE BUFFERS) and a table.

    DATABASE_URL=postgres://… .venv/bin/python bench/reach.py [--runs 5] [--plain-plans]

Before timing, runs the events roll-up once (segments/actions/rollup.py, what the
"roll up events" housekeeping task does every five minutes): the first run rolls every
event (a few minutes for 20 M), later runs only the events added since; the counts of
events in a window then read the roll-up (segments/rules/rolled.py).
``--without-roll-up`` times the compiler as it is before the first roll-up (the
plain queries over the events). The load average is printed beside each figure.

Reads the audience ``seed_demo`` loads (seed it once, then rerun the bench as often as
needed: it writes nothing but the roll-up); seed it first:

    DATABASE_URL=postgres://… .venv/bin/python manage.py migrate
    DATABASE_URL=postgres://… .venv/bin/python manage.py seed_demo --profiles 1000000

PostgreSQL only: the figures are about PostgreSQL's plans. The last line is
key=value pairs.
"""

import argparse
import os
import secrets
import statistics
import sys
import time
from datetime import timedelta
from math import radians
from pathlib import Path
from urllib.parse import urlsplit

from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SEED_HINT = (
    "  DATABASE_URL={url} .venv/bin/python manage.py migrate\n"
    "  DATABASE_URL={url} .venv/bin/python manage.py seed_demo --profiles 1000000   (about 12 minutes)"
)
SAN_FRANCISCO = (37.7749, -122.4194)
RADIUS_KM = 50
DAYS = 30

CARTS_TWICE = {
    "kind": "event",
    "event": "Added To Cart",
    "did": True,
    "count": {"op": "at_least", "value": 2},
    "window": {"type": "last_days", "days": DAYS},
}

# name: (what it selects, rules as the builder stores them)
SEGMENTS = {
    "compound": (
        "customer_type is Gold, within 50 km of San Francisco, Added To Cart ≥ 2 times in 30 days",
        {
            "match": "all",
            "conditions": [
                {"kind": "property", "name": "customer_type", "op": "equals", "value": "Gold"},
                {
                    "kind": "radius",
                    "km": RADIUS_KM,
                    "places": [{"label": "San Francisco", "lat": SAN_FRANCISCO[0], "lon": SAN_FRANCISCO[1]}],
                },
                {
                    "kind": "event",
                    "event": "Added To Cart",
                    "did": True,
                    "count": {"op": "at_least", "value": 2},
                    "window": {"type": "last_days", "days": DAYS},
                },
            ],
        },
    ),
    "property": (
        "customer_type is Platinum",
        {
            "match": "all",
            "conditions": [{"kind": "property", "name": "customer_type", "op": "equals", "value": "Platinum"}],
        },
    ),
    "did_not": (
        "did not do Charged in the last 30 days",
        {
            "match": "all",
            "conditions": [
                {"kind": "event", "event": "Charged", "did": False, "window": {"type": "last_days", "days": DAYS}}
            ],
        },
    ),
    "carts_2x": (
        "Added To Cart ≥ 2 times in 30 days, alone",
        {"match": "all", "conditions": [CARTS_TWICE]},
    ),
    "app_prefix": (
        "app version starts with 4.5 (on any device), alone",
        {
            "match": "all",
            "conditions": [{"kind": "app_field", "field": "app_version", "op": "starts_with", "value": "4.5"}],
        },
    ),
    "any_mixed": (
        "any of: customer_type is Platinum, Added To Cart ≥ 2 times in 30 days, app version starts with 4.5",
        {
            "match": "any",
            "conditions": [
                {"kind": "property", "name": "customer_type", "op": "equals", "value": "Platinum"},
                CARTS_TWICE,
                {"kind": "app_field", "field": "app_version", "op": "starts_with", "value": "4.5"},
            ],
        },
    ),
    "app_os": (
        "app version starts with 4.5 and OS version is 18.2 (on any device)",
        {
            "match": "all",
            "conditions": [
                {"kind": "app_field", "field": "app_version", "op": "starts_with", "value": "4.5"},
                {"kind": "app_field", "field": "os_version", "op": "equals", "value": "18.2"},
            ],
        },
    ),
}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="timed runs per segment and way, after one warm-up")
    parser.add_argument("--plain-plans", action="store_true", help="also print the plain ORM queries' plans")
    parser.add_argument(
        "--without-roll-up", action="store_true", help="count events from the events table, not the roll-up"
    )
    args = parser.parse_args()

    database_url = os.environ.get("DATABASE_URL", "")
    if not database_url.startswith(("postgres://", "postgresql://")):
        sys.exit(
            "bench/reach.py measures PostgreSQL and refuses SQLite (the default without DATABASE_URL):\n"
            "set DATABASE_URL=postgres://… to a database seeded with the demo audience:\n"
            + SEED_HINT.format(url="postgres://postgres@127.0.0.1:5432/clarion_reach")
        )
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(40))
    os.environ.setdefault("FIELD_ENCRYPTION_KEYS", Fernet.generate_key().decode())  # reads no credentials
    import django

    django.setup()
    from django.db import connection
    from django.utils import timezone

    from segments.rules import parse

    audience = check_audience(connection, database_url)
    print(
        f"database {urlsplit(database_url).path.lstrip('/')}: {audience['profiles']:,} profiles,"
        f" ≈{audience['events']:,} events, ≈{audience['devices']:,} devices; {args.runs} runs after a warm-up"
    )
    if audience["profiles"] < 1_000_000:
        print("  (the issue's figures are for 1,000,000 profiles: seed_demo --profiles 1000000)")
    for warning in audience["warnings"]:
        print(f"  warning: {warning}")

    from segments.actions.rollup import roll_up_events
    from segments.rules import rolled

    if args.without_roll_up:
        rolled.available = lambda: None  # the compiler's path before any roll-up
        print("events roll-up: not read (--without-roll-up)")
    else:
        started = time.perf_counter()
        mark = roll_up_events()
        print(
            f"events roll-up: through event id {mark:,} in {time.perf_counter() - started:.1f} s"
            f" (load average {load_text()})"
        )
        if mark is None:
            sys.exit("the roll-up could not take its lock (a long transaction writing events?): run again")
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT coalesce(last_vacuum, last_autovacuum) IS NULL OR n_mod_since_analyze > n_live_tup / 10"
                " FROM pg_stat_user_tables WHERE relname = 'segments_eventday'"
            )
            if cursor.fetchone()[0]:
                # What autovacuum does after a big insert: index-only scans need the
                # visibility map, and the planner the new rows' statistics.
                started = time.perf_counter()
                cursor.execute("VACUUM (ANALYZE) segments_eventday")
                print(f"  VACUUM (ANALYZE) segments_eventday after the roll-up: {time.perf_counter() - started:.1f} s")

    # One clock for the whole run, so both ways and every run draw the same 30-day line.
    now = timezone.now()
    results = {}
    for name, (label, rules) in SEGMENTS.items():
        print(f"\n== {name}: {label}")
        tree = parse(rules)
        compiled = Measure(lambda tree=tree: reach_of(tree, now), args.runs)
        plain = Measure(lambda name=name: PLAIN[name](now).count(), args.runs)
        reach, plain_count = compiled.result, plain.result
        agree = reach.qualified == plain_count
        print(
            f"qualified {reach.qualified:,} (plain ORM {plain_count:,}: {'same' if agree else 'DIFFERENT'}); reachable "
            + ", ".join(f"{channel} {n:,}" for channel, n in reach.reachable.items())
        )
        print(
            f"estimate_reach: median {compiled.median:.3f} s  (runs: {compiled.runs_text})  load average {load_text()}"
        )
        print(f"plain ORM:      median {plain.median:.3f} s  (runs: {plain.runs_text})")
        print("-- plan of estimate_reach's query:")
        print(explain(connection, lambda tree=tree: reach_of(tree, now)))
        if args.plain_plans:
            print("-- plan of the plain ORM count:")
            print(explain(connection, lambda name=name: PLAIN[name](now).count()))
        results[name] = (reach, compiled, plain, agree)

    print()
    print(
        f"{'segment':<10} {'qualified':>10} {'reachable':>10} {'estimate_reach':>15} {'plain ORM':>10} {'plain/est':>9}"
    )
    for name, (reach, compiled, plain, agree) in results.items():
        print(
            f"{name:<10} {reach.qualified:>10,} {reach.reachable['any']:>10,} {compiled.median:>13.3f} s"
            f" {plain.median:>8.3f} s {plain.median / compiled.median:>8.1f}x{'' if agree else '  COUNTS DIFFER'}"
        )
    print("(estimate_reach: qualified + reachable per channel in one query; plain ORM: the qualified count only)")

    all_agree = all(agree for _, _, _, agree in results.values())
    figures = {f"{name}_median_s": compiled.median for name, (_, compiled, _, _) in results.items()}
    figures["worst_median_s"] = max(figures.values())
    figures["plain_orm_median_s"] = results["compound"][2].median
    for name, (_, _, plain, _) in results.items():
        if name != "compound":
            figures[f"plain_orm_{name}_median_s"] = plain.median
    pairs = [f"{key}={value:.3f}" for key, value in figures.items()]
    pairs += [f"{name}_qualified={reach.qualified}" for name, (reach, _, _, _) in results.items()]
    pairs += [f"profiles={audience['profiles']}", f"runs={args.runs}", f"counts_agree={'yes' if all_agree else 'no'}"]
    pairs.append(f"roll_up={'no' if args.without_roll_up else 'yes'}")
    pairs.append(f"load_avg={load_text(',')}")
    print(" ".join(pairs))
    if not all_agree:
        sys.exit(1)


def load_text(sep=" "):
    return sep.join(f"{value:.2f}" for value in os.getloadavg())


def reach_of(tree, now):
    from segments.actions.reach import estimate_reach

    return estimate_reach(tree, now=now)


class Measure:
    """Runs ``work`` once to warm up (keeping its result), then ``runs`` times on the clock."""

    def __init__(self, work, runs):
        self.result = work()
        self.seconds = []
        for _ in range(runs):
            started = time.perf_counter()
            work()
            self.seconds.append(time.perf_counter() - started)
        self.median = statistics.median(self.seconds)
        self.runs_text = " ".join(f"{s:.3f}" for s in self.seconds)


def explain(connection, work):
    """EXPLAIN (ANALYZE, BUFFERS) of the query ``work`` sends, under the settings it sent
    (estimate_reach turns JIT off for its transaction). The SQL is taken as sent
    (psycopg binds parameters on the client), so it is the query estimate_reach runs."""
    from django.db import transaction
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as sent:
        work()
    queries = [query["sql"] for query in sent.captured_queries]
    settings = [sql for sql in queries if sql.upper().startswith("SET LOCAL") or "set_config(" in sql]
    # The count: the last SELECT (or WITH: an any-of group's list of ids) that is not a setting.
    query = next(
        sql for sql in reversed(queries) if sql.lstrip().upper().startswith(("SELECT", "WITH")) and sql not in settings
    )
    with transaction.atomic(), connection.cursor() as cursor:
        for setting in settings:
            cursor.execute(setting)
        cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {query}")
        return "\n".join(row[0] for row in cursor.fetchall())


# The plain ORM way: what one would write without the rule compiler.


def plain_compound(now):
    from django.db.models import Count, F, Q, Value
    from django.db.models.functions import ASin, Cos, Least, Power, Radians, Sin, Sqrt

    from segments.models import Profile

    lat, lon = Radians(F("latitude")), Radians(F("longitude"))
    place_lat, place_lon = Value(radians(SAN_FRANCISCO[0])), Value(radians(SAN_FRANCISCO[1]))
    half_chord = Power(Sin((lat - place_lat) / 2), 2) + Cos(place_lat) * Cos(lat) * Power(Sin((lon - place_lon) / 2), 2)
    return (
        Profile.objects.filter(properties__customer_type="Gold")
        .annotate(km=2 * 6371.0088 * ASin(Sqrt(Least(half_chord, Value(1.0)))))
        .filter(km__lte=RADIUS_KM)
        .annotate(
            carts=Count(
                "events",
                filter=Q(events__name="Added To Cart", events__occurred_at__gte=now - timedelta(days=DAYS)),
            )
        )
        .filter(carts__gte=2)
    )


def plain_property(now):
    from segments.models import Profile

    return Profile.objects.filter(properties__customer_type="Platinum")


def plain_did_not(now):
    from django.db.models import Count, Q

    from segments.models import Profile

    since = now - timedelta(days=DAYS)
    return Profile.objects.annotate(
        charged=Count("events", filter=Q(events__name="Charged", events__occurred_at__gte=since))
    ).filter(charged=0)


def plain_app_os(now):
    from segments.models import Profile

    # Two filter() calls: each may match a different device of the person, as the rule means.
    return Profile.objects.filter(devices__app_version__startswith="4.5").filter(devices__os_version="18.2").distinct()


def _carts(now):
    from django.db.models import Count, Q

    since = now - timedelta(days=DAYS)
    return Count("events", filter=Q(events__name="Added To Cart", events__occurred_at__gte=since))


def plain_carts_2x(now):
    from segments.models import Profile

    return Profile.objects.annotate(carts=_carts(now)).filter(carts__gte=2)


def plain_app_prefix(now):
    from segments.models import Profile

    return Profile.objects.filter(devices__app_version__startswith="4.5").distinct()


def plain_any_mixed(now):
    from django.db.models import Exists, OuterRef, Q

    from segments.models import Device, Profile

    on_app = Exists(Device.objects.filter(profile=OuterRef("pk"), app_version__startswith="4.5"))
    return Profile.objects.annotate(carts=_carts(now)).filter(
        Q(properties__customer_type="Platinum") | Q(carts__gte=2) | Q(on_app)
    )


PLAIN = {
    "compound": plain_compound,
    "property": plain_property,
    "did_not": plain_did_not,
    "carts_2x": plain_carts_2x,
    "app_prefix": plain_app_prefix,
    "any_mixed": plain_any_mixed,
    "app_os": plain_app_os,
}


def check_audience(connection, database_url):
    """Profiles (counted) and events and devices (the planner's estimates), or exit
    saying how to seed; plus warnings about statistics the planner relies on."""
    hint = SEED_HINT.format(url=database_url)
    if "segments_profile" not in connection.introspection.table_names():
        sys.exit(f"No Clarion tables in this database. Create and seed them:\n{hint}")
    from segments.models import Event, Profile

    profiles = Profile.objects.count()
    if not profiles or not Event.objects.filter(name="Added To Cart").exists():
        sys.exit(f"No demo audience in this database (profiles: {profiles:,}). Seed it:\n{hint}")
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT relname, n_live_tup, n_mod_since_analyze, coalesce(last_vacuum, last_autovacuum) IS NULL"
            " FROM pg_stat_user_tables WHERE relname IN ('segments_profile', 'segments_device', 'segments_event')"
        )
        stats = {name: (live, modified, never_vacuumed) for name, live, modified, never_vacuumed in cursor.fetchall()}
    warnings = []
    for name, (live, modified, never_vacuumed) in stats.items():
        if modified > live / 10:
            warnings.append(f"{name}: {modified:,} rows changed since the last ANALYZE; plans may be off")
        if never_vacuumed:
            warnings.append(f"{name} was never vacuumed: index-only scans read the table (VACUUM ANALYZE {name})")
    return {
        "profiles": profiles,
        "events": stats.get("segments_event", (0,))[0],
        "devices": stats.get("segments_device", (0,))[0],
        "warnings": warnings,
    }


if __name__ == "__main__":
    main()
