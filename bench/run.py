"""Seconds to start a one-time web push run for 100,000 profiles on PostgreSQL, next to the old way.

Builds, in its own PostgreSQL database, ``--profiles`` (100,000) profiles with one reachable
Chrome subscription each (INSERT … SELECT generate_series), a segment of everyone and a
scheduled one-time web push campaign with a personalised title. Then it times
``campaigns.actions.runs.do_start_run`` — claim the run, count the audience, walk it in
keyset pages, write one message per device, start the dispatch — twice, each on a run of
its own and an emptied message table:

- the way it is now: audience pages of the columns needed, each page of messages one
  ``INSERT … SELECT FROM unnest(…) ON CONFLICT DO NOTHING``;
- the old way (kept here only): audience pages that also read every profile's JSON
  properties, and ``do_enqueue`` writing through the ORM's ``bulk_create`` and counting the
  dispatch's rows before and after.

Both must write the same messages (device and variant); the script checks. Memory is
sampled (the process's RSS, every 50 ms) through each start: the figure is the growth over
the RSS before it. The send tasks the start queues go to a filesystem broker in a temporary
folder and are never run: this measures the start, ``bench/send.py`` the sending.

    .venv/bin/python bench/run.py [--profiles 100000]

The database ``clarion_bench_run`` on the PostgreSQL server of ``DATABASE_URL`` (default
postgres@127.0.0.1:5432) is dropped and made again on every run. The last line is
key=value pairs.
"""

import argparse
import os
import secrets
import shutil
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from itertools import islice
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DATABASE = "clarion_bench_run"
T0 = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)
CONTENT = {"title": "{{ profile.first_name | default: 'Hello' }}, spring is here", "body": "New colours in store."}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--profiles", type=int, default=100_000)
    args = parser.parse_args()

    server = urlsplit(os.environ.get("DATABASE_URL") or "postgres://postgres@127.0.0.1:5432/postgres")
    if server.scheme not in ("postgres", "postgresql"):
        raise SystemExit("bench/run.py measures PostgreSQL: DATABASE_URL must be postgres://… (or unset)")
    broker_dir = tempfile.mkdtemp(prefix="clarion-bench-run-broker-")
    os.environ.update(
        {
            "DATABASE_URL": recreate_database(server),
            "CELERY_BROKER_URL": f"filesystem://{broker_dir}",
            "CELERY_QUEUE": f"bench-run-{secrets.token_hex(4)}",
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

    try:
        call_command("migrate", verbosity=0)
        started = time.perf_counter()
        build(args.profiles)
        print(
            f"built {args.profiles:,} profiles with a Chrome subscription each in {time.perf_counter() - started:.1f} s"
        )
        fast = time_start("now", args.profiles)
        with old_way():
            naive = time_start("old way", args.profiles)
    finally:
        shutil.rmtree(broker_dir, ignore_errors=True)
    same = fast.rows == naive.rows
    print(f"speed-up: {naive.seconds / fast.seconds:.1f}x; both ways wrote the same messages: {same}")
    print(
        f"run_start_s={fast.seconds:.2f} naive_run_start_s={naive.seconds:.2f}"
        f" speedup={naive.seconds / fast.seconds:.1f} profiles={args.profiles} messages={fast.messages}"
        f" naive_messages={naive.messages} same_messages={str(same).lower()}"
        f" rss_growth_mb={fast.rss_growth_mb:.0f} naive_rss_growth_mb={naive.rss_growth_mb:.0f}"
        f" load_avg={os.getloadavg()[0]:.1f}"
    )
    if not same or fast.messages != args.profiles:
        sys.exit(1)


def recreate_database(server):
    import psycopg

    with psycopg.connect(
        host=server.hostname,
        port=server.port or 5432,
        user=server.username,
        password=server.password,
        dbname="postgres",
    ) as conn:
        conn.autocommit = True
        conn.execute(f'DROP DATABASE IF EXISTS "{DATABASE}"')
        conn.execute(f'CREATE DATABASE "{DATABASE}"')
    return urlunsplit((server.scheme, server.netloc, f"/{DATABASE}", "", ""))


def build(count):
    """Profiles and their devices, written by the database itself."""
    from django.db import connection

    statements = [
        """INSERT INTO segments_profile (identity, name, email, phone, properties, gender, country, region, city,
               timezone, language, email_unsubscribed, sms_unsubscribed, is_test, created_at, updated_at)
            SELECT 'bench-' || i, 'Zoë ' || i, '', '', jsonb_build_object('tier', 'gold', 'visits', i %% 40),
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


class Timed:
    def __init__(self, seconds, messages, rows, rss_growth_mb):
        self.seconds, self.messages, self.rows, self.rss_growth_mb = seconds, messages, rows, rss_growth_mb


def time_start(way, count):
    """A campaign and its planned run, started by do_start_run: the seconds, what it wrote."""
    from django.db import connection

    from campaigns.actions import runs
    from campaigns.models import Campaign, CampaignRun, Variant
    from delivery.models import Message
    from segments.models import Segment

    segment = Segment.objects.create(name=f"Everyone ({way})", rules={"match": "all", "conditions": []})
    campaign = Campaign.objects.create(
        name=f"Bench: spring sale ({way})",
        channel=Campaign.Channel.WEB_PUSH,
        kind=Campaign.Kind.ONE_TIME,
        status=Campaign.Status.SCHEDULED,
        segment=segment,
        timezone="Europe/Paris",
    )
    Variant.objects.create(campaign=campaign, position=0, name="A", content=CONTENT)
    run = CampaignRun.objects.create(campaign=campaign, planned_at=T0)
    rss = RssSampler()
    started = time.perf_counter()
    with rss:
        run = runs.do_start_run(run.pk, now=T0)
    seconds = time.perf_counter() - started
    rows = set(Message.objects.filter(dispatch=run.dispatch).values_list("device_id", "variant"))
    print(
        f"{way}: do_start_run for {count:,} profiles in {seconds:.2f} s ({run.targeted:,} targeted,"
        f" {len(rows):,} messages); RSS grew {rss.growth_mb:.0f} MB"
    )
    # The next way starts on an empty message table, as this one did.
    Message.objects.filter(dispatch=run.dispatch)._raw_delete(connection.alias)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE delivery_message")
    return Timed(seconds, len(rows), rows, rss.growth_mb)


class old_way:
    """The start as it was: the ORM's bulk_create with a count of the dispatch before and
    after, audience pages that read each profile's JSON properties, and each page's devices
    read with its ids listed in the SQL."""

    def __enter__(self):
        from campaigns.actions import runs
        from delivery.actions import dispatches

        self.saved = (dispatches.do_enqueue, runs.Audience.pages, runs.Audience.device_rows)
        dispatches.do_enqueue = naive_enqueue
        runs.Audience.pages = naive_pages
        runs.Audience.device_rows = naive_device_rows
        return self

    def __exit__(self, *exc):
        from campaigns.actions import runs
        from delivery.actions import dispatches

        dispatches.do_enqueue, runs.Audience.pages, runs.Audience.device_rows = self.saved


def naive_enqueue(dispatch, rows):
    from delivery.actions.dispatches import CHUNK, _message
    from delivery.models import Message

    before = Message.objects.filter(dispatch=dispatch).count()
    rows = iter(rows)
    while chunk := list(islice(rows, CHUNK)):
        Message.objects.bulk_create(
            [_message(dispatch, *row) for row in chunk], batch_size=CHUNK, ignore_conflicts=True
        )
    return Message.objects.filter(dispatch=dispatch).count() - before


def naive_pages(self):
    from campaigns.actions.runs import PAGE

    fields = ["pk", "timezone", "properties"]
    if self.column and self.column != "timezone":
        fields.append(self.column)
    last = 0
    while True:
        page = list(self.profiles.filter(pk__gt=last).order_by("pk").values_list(*fields)[:PAGE])
        if not page:
            return
        last = page[-1][0]
        yield [(row[0], row[1], None) for row in page]


def naive_device_rows(self, profile_ids):
    return self.devices.filter(profile_id__in=profile_ids).order_by("profile_id", "pk").values_list("profile_id", "pk")


class RssSampler:
    """The process's peak resident memory over what it was on entry, sampled every 50 ms."""

    def __init__(self):
        self.page = os.sysconf("SC_PAGE_SIZE")
        self.base = self.peak = self.current()
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self.sample, daemon=True)

    def current(self):
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * self.page

    def sample(self):
        while not self.stopping.wait(0.05):
            self.peak = max(self.peak, self.current())

    def __enter__(self):
        self.base = self.peak = self.current()
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stopping.set()
        self.thread.join()
        self.peak = max(self.peak, self.current())

    @property
    def growth_mb(self):
        return (self.peak - self.base) / 2**20


if __name__ == "__main__":
    main()
