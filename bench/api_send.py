"""People per second an API-triggered campaign takes through POST /api/v1/campaigns/<id>/send,
in requests of 1,000 identities, next to the plain way of one identity per request.

Builds, in its own PostgreSQL database, ``--profiles`` (5,000) profiles with one reachable
Chrome subscription each and a published API-triggered web push campaign (a 10 % control
group, a daily limit well above the run, Liquid ``{{ data.order_id }}``). Then, in this
process through Django's test client (the full API stack: key check, rate limit, validation,
idempotency, the live send path; no HTTP server), it sends:

- batched: every profile once, in requests of 1,000 with an ``Idempotency-Key`` each, and
  the queries one such request makes; then the same requests again (replays: nothing sent);
- the plain way: ``--single`` (1,000) other requests of one identity each.

The send tasks go to a throwaway filesystem broker (nothing is pushed). Checks that each
profile got one message (or was held out) and that the replays added none.

    .venv/bin/python bench/api_send.py [--profiles 5000] [--single 1000]

The database ``clarion_bench_api_send`` on the PostgreSQL server of ``DATABASE_URL`` (default
postgres@127.0.0.1:5432) is dropped and made again on every run. The last line is
key=value pairs, with the load average.
"""

import argparse
import json
import os
import secrets
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

from cryptography.fernet import Fernet
from throwaway import recreate_database

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DATABASE = "clarion_bench_api_send"
BATCH = 1000
T0 = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--profiles", type=int, default=5_000)
    parser.add_argument("--single", type=int, default=1_000)
    args = parser.parse_args()

    server = urlsplit(os.environ.get("DATABASE_URL") or "postgres://postgres@127.0.0.1:5432/postgres")
    if server.scheme not in ("postgres", "postgresql"):
        raise SystemExit("bench/api_send.py measures PostgreSQL: DATABASE_URL must be postgres://… (or unset)")
    os.environ.update(
        {
            "DATABASE_URL": recreate_database(server, DATABASE),
            "CELERY_BROKER_URL": f"filesystem://{tempfile.mkdtemp(prefix='clarion-bench-broker-')}",
            "CACHE_URL": "db://",
            "DEBUG": "0",
            "SECRET_KEY": secrets.token_urlsafe(40),
            "FIELD_ENCRYPTION_KEYS": Fernet.generate_key().decode(),  # throwaway data, throwaway key
            "SECURE_SSL_REDIRECT": "0",
            "ALLOWED_HOSTS": "testserver",
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "LOG_LEVEL": "ERROR",
        }
    )
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client

    from delivery.models import Message
    from segments.actions.keys import create_api_key

    call_command("migrate", verbosity=0)
    call_command("createcachetable", verbosity=0)
    build(args.profiles + args.single)
    campaign = make_campaign()
    _, key = create_api_key("bench", rate_per_minute=1_000_000)
    client = Client()

    def send(identities, idempotency_key=None):
        headers = {"Authorization": f"Bearer {key}"}
        if idempotency_key:
            headers["Idempotency-Key"] = idempotency_key
        body = json.dumps({"to": identities, "data": {"order_id": "A-1001"}})
        response = client.post(f"/api/v1/campaigns/{campaign.pk}/send", body, "application/json", headers=headers)
        if response.status_code != 200:
            raise SystemExit(f"{response.status_code}: {response.content[:500]!r}")
        return response

    batches = [
        [f"bench-{i}" for i in range(start, min(start + BATCH, args.profiles))]
        for start in range(0, args.profiles, BATCH)
    ]
    with Counted(connection) as queries:
        send(batches[0], "batch-0")
    started = time.perf_counter()
    for index, batch in enumerate(batches[1:], start=1):
        send(batch, f"batch-{index}")
    batched_s = time.perf_counter() - started
    batched_people = args.profiles - len(batches[0])
    sent = Message.objects.count()

    started = time.perf_counter()
    replayed = [send(batch, f"batch-{index}").get("Idempotent-Replayed") for index, batch in enumerate(batches)]
    replay_s = time.perf_counter() - started
    replays_sent_nothing = Message.objects.count() == sent and replayed == ["true"] * len(batches)

    singles = [f"bench-{i}" for i in range(args.profiles, args.profiles + args.single)]
    with Counted(connection) as single_queries:
        send([singles.pop()])
    started = time.perf_counter()
    for identity in singles:
        send([identity])
    single_s = time.perf_counter() - started

    batched_rate = batched_people / batched_s
    single_rate = len(singles) / single_s
    held_out = sent < args.profiles  # a 10 % control group
    print(
        f"{args.profiles:,} people in requests of {BATCH:,}: {batched_rate:,.0f} people/s;"
        f" one request: {len(queries)} queries"
    )
    print(
        f"replaying the {len(batches)} requests: {replay_s / len(batches) * 1000:.0f} ms each,"
        f" {sent:,} messages before and after"
    )
    print(
        f"the plain way, {args.single:,} requests of one: {single_rate:,.0f} people/s"
        f" ({single_s / args.single * 1000:.1f} ms each)"
    )
    print(
        f"batched_people_per_s={batched_rate:.0f} single_people_per_s={single_rate:.0f}"
        f" speedup={batched_rate / single_rate:.1f} queries_per_1000_request={len(queries)}"
        f" queries_per_single_request={len(single_queries)}"
        f" replay_ms={replay_s / len(batches) * 1000:.0f} messages={sent} held_out={str(held_out).lower()}"
        f" replays_sent_nothing={str(replays_sent_nothing).lower()} profiles={args.profiles}"
        f" load_avg={os.getloadavg()[0]:.1f}"
    )
    if not replays_sent_nothing:
        sys.exit(1)


class Counted:
    """The SQL statements run on ``connection`` inside the block (rate-limit cache included)."""

    def __init__(self, connection):
        self.connection, self.count = connection, 0

    def __call__(self, execute, sql, params, many, context):
        self.count += 1
        return execute(sql, params, many, context)

    def __enter__(self):
        self.wrapper = self.connection.execute_wrapper(self)
        self.wrapper.__enter__()
        return self

    def __exit__(self, *exc):
        self.wrapper.__exit__(*exc)

    def __len__(self):
        return self.count


def build(count):
    """Profiles and their devices, written by the database itself."""
    from django.db import connection

    statements = [
        """INSERT INTO segments_profile (identity, name, email, phone, properties, gender, country, region, city,
               timezone, language, email_unsubscribed, sms_unsubscribed, is_test, created_at, updated_at)
            SELECT 'bench-' || (i - 1), 'Zoë ' || i, '', '', '{}', '', 'FR', '', '', 'Europe/Paris', 'fr',
                   false, false, false, %(t0)s, %(t0)s
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
    from campaigns.actions import lifecycle
    from campaigns.models import Campaign, Variant

    campaign = Campaign.objects.create(
        name="Bench: order confirmation",
        channel=Campaign.Channel.WEB_PUSH,
        kind=Campaign.Kind.API_TRIGGERED,
        steps_done=["who", "when", "what", "setup"],
        control_group_percent=10,
        daily_limit=1_000_000,
    )
    content = {"title": "Order {{ data.order_id }} is confirmed", "body": "Thanks, {{ profile.first_name }}"}
    Variant.objects.create(campaign=campaign, position=0, name="A", content=content)
    return lifecycle.do_schedule(campaign, user=None)


if __name__ == "__main__":
    main()
