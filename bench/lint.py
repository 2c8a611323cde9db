"""Seconds the personalisation lint takes on Overview, for a sample of 1,000 people, next to
rendering the whole audience.

Builds, in its own PostgreSQL database, ``--profiles`` (100,000) profiles with one reachable
Chrome subscription each (INSERT … SELECT generate_series; one in five has no name, one in
fifty a long one), a segment of everyone and a one-time web push campaign whose title,
body and button are personalised. Then it times ``campaigns.actions.lint.lint``:

- the way Overview and Schedule run it: a random sample of 1,000 (``lint.sample_ids``: ids
  drawn over the profile id range, kept where in the audience), every variant rendered for
  each through the send pipeline's ``Renderer``; the draw is also timed alone, next to
  the plain ``ORDER BY random() LIMIT 1000`` over the audience query;
- the plain way (here only): the same check for every person of the audience
  (``--all-profiles``, 20,000 by default, of the same audience).

Both must find the same kinds of finding, and the sample's shares must be near the
whole audience's (printed).

    .venv/bin/python bench/lint.py [--profiles 100000] [--all-profiles 20000]

The database ``clarion_bench_lint`` on the PostgreSQL server of ``DATABASE_URL`` (default
postgres@127.0.0.1:5432) is dropped and made again on every run. The last line is
key=value pairs, with the load average.
"""

import argparse
import os
import secrets
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

from cryptography.fernet import Fernet
from throwaway import recreate_database

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DATABASE = "clarion_bench_lint"
T0 = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)
CONTENT = {
    "title": "{{ profile.first_name }}, spring is here",
    "body": "{{ profile.visits }} visits: {{ 100 | divided_by: profile.visits }} % off in {{ profile.country }}",
    "url": "https://shop.example.com/?tier={{ profile.tier }}",
    "buttons": [{"title": "Open {{ profile.tier | upcase }}", "url": "https://shop.example.com/{{ profile.tier }}"}],
}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--profiles", type=int, default=100_000)
    parser.add_argument("--all-profiles", type=int, default=20_000)
    args = parser.parse_args()

    server = urlsplit(os.environ.get("DATABASE_URL") or "postgres://postgres@127.0.0.1:5432/postgres")
    if server.scheme not in ("postgres", "postgresql"):
        raise SystemExit("bench/lint.py measures PostgreSQL: DATABASE_URL must be postgres://… (or unset)")
    os.environ.update(
        {
            "DATABASE_URL": recreate_database(server, DATABASE),
            "DEBUG": "0",  # no query log growing in memory
            "SECRET_KEY": secrets.token_urlsafe(40),
            "FIELD_ENCRYPTION_KEYS": Fernet.generate_key().decode(),  # throwaway data, throwaway key
            "SECURE_SSL_REDIRECT": "0",
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "LOG_LEVEL": "WARNING",
        }
    )
    import django

    django.setup()
    from django.core.management import call_command

    from campaigns.actions import lint

    call_command("migrate", verbosity=0)
    started = time.perf_counter()
    build(args.profiles)
    print(f"built {args.profiles:,} profiles with a Chrome subscription each in {time.perf_counter() - started:.1f} s")
    campaign = make_campaign()
    now = T0 - timedelta(hours=1)

    people = lint.audience(campaign, now)
    started = time.perf_counter()
    lint.sample_ids(people)
    sample_query = time.perf_counter() - started
    started = time.perf_counter()
    list(people.order_by("?").values_list("pk", flat=True)[: lint.SAMPLE])
    random_order = time.perf_counter() - started
    print(
        f"drawing 1,000: {sample_query:.2f} s by ids drawn over the id range, {random_order:.2f} s by ORDER BY random()"
    )
    timings = []
    for _ in range(3):
        report = lint.lint(campaign, now=now)
        timings.append(report.seconds)
    sampled = min(timings)
    print(
        f"sample of {report.sampled:,} from {args.profiles:,}: lint in {sampled:.2f} s (best of 3:"
        f" {', '.join(f'{t:.2f}' for t in timings)}); the sample query alone {sample_query:.2f} s"
    )
    show(report)

    # The plain way: every person of an audience (--all-profiles of it, drawn the same way).
    whole = lint.lint(campaign, now=now, size=args.all_profiles)
    print(f"plain way, every one of {whole.sampled:,} people checked: lint in {whole.seconds:.2f} s")
    show(whole)
    per_person = sampled / report.sampled
    whole_per_person = whole.seconds / whole.sampled
    same_kinds = {f.kind for f in report.findings} == {f.kind for f in whole.findings}
    print(
        f"lint_1000_s={sampled:.2f} sample_query_s={sample_query:.2f} order_by_random_s={random_order:.2f}"
        f" profiles={args.profiles}"
        f" all_profiles={whole.sampled} lint_all_s={whole.seconds:.2f}"
        f" ms_per_person={per_person * 1000:.2f} all_ms_per_person={whole_per_person * 1000:.2f}"
        f" findings={len(report.findings)} same_kinds={str(same_kinds).lower()}"
        f" load_avg={os.getloadavg()[0]:.1f}"
    )
    if not same_kinds:
        sys.exit(1)


def show(report):
    for finding in report.findings:
        print(f"  {finding.kind:10} {finding.field:18} {finding.people:>7,} {finding.people / report.sampled:6.1%}")


def build(count):
    """Profiles and their devices, written by the database itself."""
    from django.db import connection

    statements = [
        """INSERT INTO segments_profile (identity, name, email, phone, properties, gender, country, region, city,
               timezone, language, email_unsubscribed, sms_unsubscribed, is_test, created_at, updated_at)
            SELECT 'bench-' || i,
                   CASE WHEN i %% 5 = 0 THEN '' WHEN i %% 50 = 1 THEN repeat('Maximilian', 6) || ' ' || i
                        ELSE 'Zoë ' || i END,
                   '', '', jsonb_build_object('tier', 'gold', 'visits', i %% 40),
                   '', 'FR', '', '', 'Europe/Paris', 'fr', false, false, false, %(t0)s, %(t0)s
            FROM generate_series(1, %(count)s) AS i""",
        """INSERT INTO segments_device (profile_id, platform, browser, client_id, endpoint, p256dh, auth, token,
               push_status, categories, app_version, make, model, os_version, sdk_version, user_agent, created_at)
            SELECT id, 'web', 'chrome', '', 'https://push.example.com/' || id, '', '', '',
                   'allowed', '[]', '', '', '', '', '', '', %(t0)s
            FROM segments_profile""",
        "VACUUM ANALYZE",
    ]
    with connection.cursor() as cursor:
        for sql in statements:
            cursor.execute(sql, {"t0": T0, "count": count})


def make_campaign():
    from campaigns.models import Campaign, Variant
    from segments.models import Segment

    segment = Segment.objects.create(name="Everyone", rules={"match": "all", "conditions": []})
    campaign = Campaign.objects.create(
        name="Bench: spring sale",
        channel=Campaign.Channel.WEB_PUSH,
        kind=Campaign.Kind.ONE_TIME,
        segment=segment,
        send_at=T0,
        timezone="Europe/Paris",
    )
    Variant.objects.create(campaign=campaign, position=0, name="A", content=CONTENT)
    return campaign


if __name__ == "__main__":
    main()
