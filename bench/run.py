"""Seconds to start a one-time web push run for 1,000,000 profiles on PostgreSQL, next to the Python way.

Builds, in its own PostgreSQL database, ``--profiles`` (100,000) profiles with one reachable
Chrome subscription each (INSERT … SELECT generate_series), a segment of everyone and a
scheduled one-time web push campaign with a personalised title, a 10 % control group and an
A/B test of two variants on 20 % of the rest (the remainder waits for the winner). Then it
times ``campaigns.actions.runs.do_start_run`` — claim the run, count the audience, draw,
write the control group and one message per device, start the dispatch — each way on a run
of its own and emptied message and control tables:

- in the database (``runs.InDatabase``, PostgreSQL's way now): the draw's cuts found by one
  sort in PostgreSQL, then one ``INSERT … SELECT`` per 250,000 profile ids; the audience
  never comes into Python;
- through Python (``runs.Writer``, the embedded SQLite mode's way and PostgreSQL's before):
  keyset pages of the audience, each person's span of the draw in Python, each page's
  messages one ``INSERT … SELECT FROM unnest(…)``. ``--python-profiles`` caps the audience
  it is timed on (default: all; 0 skips it), its own database of that size built after.

Both draw with one seed, so on the same audience they must write the same control group
and messages (device, variant, dispatch); the script checks. Memory: the process's RSS
sampled every 50 ms through each start (growth over the RSS before it) and its peak RSS
(``ru_maxrss``). The send tasks the start queues go to a filesystem broker in a temporary
folder and are never run: this measures the start, ``bench/send.py`` the sending.

    .venv/bin/python bench/run.py [--profiles 1000000] [--python-profiles 100000]

The database ``clarion_bench_run`` (``--database``) on the PostgreSQL server of
``DATABASE_URL`` (default postgres@127.0.0.1:5432) is dropped and made again on every run.
``--with-foreign-keys`` adds back the constraints to profiles and devices that messages and
control members no longer have; ``--without-dispatch-key`` drops the one to the dispatch. The last line is
key=value pairs.
"""

import argparse
import os
import resource
import secrets
import shutil
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

from cryptography.fernet import Fernet
from throwaway import recreate_database

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DATABASE = "clarion_bench_run"
T0 = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)
CONTENT = {"title": "{{ profile.first_name | default: 'Hello' }}, spring is here", "body": "New colours in store."}
SEED = "bench-run"  # both ways draw the same people


def main():
    global DATABASE
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--profiles", type=int, default=100_000)
    parser.add_argument("--python-profiles", type=int, default=None, help="audience of the Python way (default: all)")
    parser.add_argument(
        "--with-foreign-keys",
        action="store_true",
        help="add back the messages' and control members' foreign-key constraints to profiles and devices"
        " (the schema before delivery 0016: what they cost)",
    )
    parser.add_argument(
        "--without-dispatch-key",
        action="store_true",
        help="drop the messages' foreign-key constraint to their dispatch too (what that would buy)",
    )
    parser.add_argument("--database", default=DATABASE, help=f"the throwaway database's name (default {DATABASE})")
    args = parser.parse_args()
    DATABASE = args.database
    python_profiles = args.profiles if args.python_profiles is None else min(args.python_profiles, args.profiles)

    server = urlsplit(os.environ.get("DATABASE_URL") or "postgres://postgres@127.0.0.1:5432/postgres")
    if server.scheme not in ("postgres", "postgresql"):
        raise SystemExit("bench/run.py measures PostgreSQL: DATABASE_URL must be postgres://… (or unset)")
    broker_dir = tempfile.mkdtemp(prefix="clarion-bench-run-broker-")
    os.environ.update(
        {
            "DATABASE_URL": recreate_database(server, DATABASE),
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

    from campaigns.actions import runs

    runs.draw_seed = lambda run: SEED
    try:
        call_command("migrate", verbosity=0)
        built(args.profiles, args)
        fast = time_start("in the database", args.profiles)
        naive = None
        if python_profiles:
            if python_profiles != args.profiles:
                from django.db import connection

                connection.close()
                recreate_database(server, DATABASE)
                call_command("migrate", verbosity=0)
                built(python_profiles, args)
            with python_way():
                naive = time_start("through Python", python_profiles)
    finally:
        shutil.rmtree(broker_dir, ignore_errors=True)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    figures = (
        f"run_start_s={fast.seconds:.2f} profiles={args.profiles} messages={fast.messages}"
        f" rss_growth_mb={fast.rss_growth_mb:.0f} start_peak_rss_mb={fast.peak_rss_mb:.0f}"
    )
    same = True
    if naive is not None:
        # Per 100,000 profiles, so that a Python way timed on fewer compares.
        per = 100_000 / args.profiles * fast.seconds, 100_000 / python_profiles * naive.seconds
        same = naive.rows == fast.rows if python_profiles == args.profiles else None
        print(
            f"per 100,000 profiles: {per[0]:.2f} s in the database, {per[1]:.2f} s through Python"
            f" ({per[1] / per[0]:.1f}x)"
        )
        figures += (
            f" python_run_start_s={naive.seconds:.2f} python_profiles={python_profiles}"
            f" speedup_per_profile={per[1] / per[0]:.1f} python_rss_growth_mb={naive.rss_growth_mb:.0f}"
            f" same_messages={'n/a' if same is None else str(same).lower()}"
        )
    figures += f" profile_device_keys={'constraints' if args.with_foreign_keys else 'orm'}"
    figures += f" dispatch_key={'none' if args.without_dispatch_key else 'constraint'}"
    print(f"{figures} peak_rss_mb={peak:.0f} load_avg={os.getloadavg()[0]:.1f}")
    expected = args.profiles - args.profiles * 10 // 100
    if same is False or fast.messages != expected:
        sys.exit(1)


def built(count, args):
    started = time.perf_counter()
    build(count)
    if args.with_foreign_keys:
        add_foreign_keys()
    if args.without_dispatch_key:
        drop_dispatch_key()
    print(f"built {count:,} profiles with a Chrome subscription each in {time.perf_counter() - started:.1f} s")


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


# The constraints Django made before delivery 0016 and campaigns 0013 (db_constraint=False).
FOREIGN_KEYS = [
    ("delivery_message", "profile_id", "segments_profile"),
    ("delivery_message", "device_id", "segments_device"),
    ("campaigns_controlmember", "profile_id", "segments_profile"),
]


def add_foreign_keys():
    """The messages' and control members' constraints to profiles and devices as they were:
    deferred, so PostgreSQL checks each new row's at the start's commit."""
    from django.db import connection

    with connection.cursor() as cursor:
        for table, column, target in FOREIGN_KEYS:
            cursor.execute(
                f'ALTER TABLE {table} ADD CONSTRAINT "bench_{table}_{column}_fk" FOREIGN KEY ({column})'
                f" REFERENCES {target} (id) DEFERRABLE INITIALLY DEFERRED"
            )
            print(f"added {table}.{column} -> {target}")


def drop_dispatch_key():
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT conname FROM pg_constraint WHERE contype = 'f'"
            " AND conrelid = 'delivery_message'::regclass AND confrelid = 'delivery_dispatch'::regclass"
        )
        for (name,) in cursor.fetchall():
            cursor.execute(f'ALTER TABLE delivery_message DROP CONSTRAINT "{name}"')
            print(f"dropped delivery_message.{name}")


class Timed:
    def __init__(self, seconds, messages, rows, rss):
        self.seconds, self.messages, self.rows = seconds, messages, rows
        self.rss_growth_mb, self.peak_rss_mb = rss.growth_mb, rss.peak / 2**20


def time_start(way, count):
    """A campaign and its planned run, started by do_start_run: the seconds, what it wrote."""
    from django.db import connection

    from campaigns.actions import runs
    from campaigns.models import Campaign, CampaignRun, ControlMember, Variant
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
        control_group_percent=10,
        message_type=Campaign.MessageType.AB,
        ab_test_size=20,
    )
    for position, name in enumerate("AB"):
        Variant.objects.create(campaign=campaign, position=position, name=name, content=CONTENT)
    run = CampaignRun.objects.create(campaign=campaign, planned_at=T0)
    rss = RssSampler()
    started = time.perf_counter()
    with rss, Phases() as phases:
        run = runs.do_start_run(run.pk, now=T0)
    seconds = time.perf_counter() - started
    if run.dispatch is None:
        raise SystemExit(f"{way}: the run did not start: {run.skipped_reason}")
    dispatches = [run.dispatch_id, run.remainder_id]
    messages, held_out, fingerprint = written(run)
    print(
        f"{way}: do_start_run for {count:,} profiles in {seconds:.2f} s ({held_out:,} held out,"
        f" {run.targeted:,} targeted, {messages:,} messages); RSS grew {rss.growth_mb:.0f} MB"
        f" (peak {rss.peak / 2**20:.0f} MB)"
    )
    print(f"  where it went: {phases.report(seconds)}")
    # The next way starts on empty message and control tables, as this one did.
    Message.objects.filter(dispatch__in=dispatches)._raw_delete(connection.alias)
    ControlMember.objects.filter(run=run)._raw_delete(connection.alias)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE delivery_message")
        cursor.execute("VACUUM ANALYZE campaigns_controlmember")
    return Timed(seconds, messages, fingerprint, rss)


def written(run):
    """How many messages and control members the run wrote, and a fingerprint of them
    (device, variant, which dispatch; the profiles held out) made by the database, so that a
    million rows need not come into this process to be compared."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*), md5(string_agg(concat_ws(':', device_id, variant, dispatch_id = %s), ','"
            " ORDER BY device_id)) FROM delivery_message WHERE dispatch_id IN (%s, %s)",
            [run.remainder_id, run.dispatch_id, run.remainder_id],
        )
        messages, message_md5 = cursor.fetchone()
        cursor.execute(
            "SELECT count(*), md5(string_agg(profile_id::text, ',' ORDER BY profile_id))"
            " FROM campaigns_controlmember WHERE run_id = %s",
            [run.pk],
        )
        held_out, held_out_md5 = cursor.fetchone()
    return messages, held_out, (messages, message_md5, held_out, held_out_md5)


class python_way:
    """The start through Python: the embedded mode's ``Writer`` in place of ``InDatabase``."""

    def __enter__(self):
        from campaigns.actions import runs

        self.saved = runs.InDatabase
        runs.InDatabase = runs.Writer
        return self

    def __exit__(self, *exc):
        from campaigns.actions import runs

        runs.InDatabase = self.saved


class Phases:
    """Seconds spent counting the audience, drawing (finding the cuts), writing the rows;
    the rest of the start is mostly its commit (PostgreSQL checks the deferred foreign key
    to the dispatch of every new message then, and with ``--with-foreign-keys`` those to
    profiles and devices)."""

    def __enter__(self):
        from campaigns.actions import runs

        self.spent = {"count": 0.0, "draw": 0.0, "write": 0.0}
        self.saved = [(runs.Audience, "count"), (runs.Audience, "draw"), (runs.Writer, "write")]
        self.saved.append((runs.InDatabase, "write"))
        self.saved = [(owner, name, getattr(owner, name)) for owner, name in self.saved]
        for owner, name, method in self.saved:
            setattr(owner, name, self.timed(name, method))
        return self

    def timed(self, name, method):
        def timed(*args, **kwargs):
            started = time.perf_counter()
            try:
                return method(*args, **kwargs)
            finally:
                self.spent[name] += time.perf_counter() - started

        return timed

    def __exit__(self, *exc):
        for owner, name, method in self.saved:
            setattr(owner, name, method)

    def report(self, seconds):
        rest = seconds - sum(self.spent.values())
        parts = [f"{name} {spent:.2f} s" for name, spent in self.spent.items()]
        return ", ".join([*parts, f"commit and the rest {rest:.2f} s"])


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
