"""Message retention: how fast old messages are deleted, and what it does to sending meanwhile.

Writes N profiles with one browser subscription each at the local Web Push service, as
``bench/send.py`` does (its helpers: the push service and worker processes, the audience),
and three groups of old messages for them: finished campaign runs, each a dispatch of N sent
messages (a third viewed, a tenth clicked), rolled up by ``stats.actions.rollup`` as beat would,
finished 200, 150 and 120 days ago. Then, with one Celery worker process sending:

1. the prune alone (``do_prune_messages``, batches of 5,000) on the first group, without its
   pause between batches: rows/s flat out;
2. a send of N messages with nothing else running: msgs/s (the baseline), measured from a
   tenth of the rows marked to nine tenths, as the steady part;
3. the same send, the prune deleting the second group in a thread beside it from a tenth
   marked, as the hourly task runs it (pausing after each batch): msgs/s while the prune
   ran, and its rows/s;
4. the same send while the naive way deletes the third group: one ``DELETE`` of all its rows
   in one transaction, for comparison.

Prints the rates and the send rate during each deletion as a share of the baseline; checks
that the pruned runs' roll-ups were left as they were.

    .venv/bin/python bench/prune.py [--devices 30000] [--dispatches 15]

Uses DATABASE_URL (PostgreSQL only) when set, otherwise its own database
``clarion_bench_prune`` on 127.0.0.1 (created when missing); CELERY_BROKER_URL when set
(Redis), otherwise the filesystem broker in a temporary folder. Everything it made is deleted
at the end. The last line is key=value pairs, with the load average.
"""

import argparse
import os
import secrets
import sys
import tempfile
import threading
import time
import uuid
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import send as send_bench  # noqa: E402 (bench/send.py: the push service, the worker, the audience)

BENCH_DATABASE = "postgres://postgres@127.0.0.1:5432/clarion_bench_prune"
GROUP_DAYS = (200, 150, 120)  # how long ago each group's runs finished


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--devices", type=int, default=30_000, help="profiles, and messages per dispatch")
    parser.add_argument("--dispatches", type=int, default=15, help="old runs per group")
    args = parser.parse_args()

    send_bench.BENCH_DATABASE = BENCH_DATABASE
    database_url = os.environ.get("DATABASE_URL") or send_bench.create_bench_database()
    if not database_url.startswith(("postgres://", "postgresql://")):
        raise SystemExit("bench/prune.py measures on PostgreSQL: set DATABASE_URL=postgres://…")
    queue = f"bench-prune-{uuid.uuid4().hex[:8]}"
    env = {
        "DATABASE_URL": database_url,
        "CELERY_BROKER_URL": os.environ.get("CELERY_BROKER_URL") or f"filesystem://{tempfile.mkdtemp()}",
        "CELERY_QUEUE": queue,
        "DEBUG": "0",
        "SECRET_KEY": secrets.token_urlsafe(40),
        "FIELD_ENCRYPTION_KEYS": os.environ.get("FIELD_ENCRYPTION_KEYS") or send_bench.BENCH_FIELD_KEY,
        "SECURE_SSL_REDIRECT": "0",
        "PUSH_PROVIDERS": "live",
        "DJANGO_SETTINGS_MODULE": "tests.settings",  # the local push service is on loopback (send.py)
        "LOG_LEVEL": "WARNING",
    }
    os.environ.update(env)
    import django

    django.setup()
    from django.core.management import call_command

    from delivery import vapid
    from delivery.models import DeliverySettings
    from stats.actions.retention import YIELD

    call_command("migrate", verbosity=0)
    call_command("createcachetable", verbosity=0)
    vapid.generate()
    run = f"bench-{secrets.token_hex(3)}"
    port = send_bench.free_port()
    origin = f"http://127.0.0.1:{port}"
    print(f"database {urlsplit(database_url).path.lstrip('/')}, run {run}, {args.devices:,} devices")
    service = send_bench.Process([sys.executable, "-m", "tests.pushservices.loopback", "--port", str(port),
                                  "--processes", "1"], env, "push service")  # fmt: skip
    worker = send_bench.Process([sys.executable, "-m", "celery", "--app", "config", "worker", "--concurrency", "1",
                                 "--loglevel", "WARNING", "--hostname", f"{queue}@%h", "--without-mingle",
                                 "--without-gossip"], env, "worker")  # fmt: skip
    caps_before = DeliverySettings.objects.filter(pk=1).values_list("daily_cap", flat=True).first()
    made = Made()
    try:
        if not DeliverySettings.objects.filter(pk=1).update(daily_cap=None):
            DeliverySettings.objects.create(pk=1)
        service.start()
        send_bench.wait_for_port(port, service)
        devices = send_bench.make_audience(run, origin, args.devices)
        groups = [old_group(made, run, devices, days, args.dispatches) for days in GROUP_DAYS]
        rolled = roll_up_all()
        old = sum(len(group) for group in groups) * len(devices)
        print(
            f"old messages: {old:,} in {len(GROUP_DAYS)} groups of {args.dispatches} runs; rolled up in {rolled:.1f} s"
        )
        frozen = daily_stats()
        worker.start()
        send_bench.wait_for_worker(worker)

        alone = Timed(lambda: prune(days=(GROUP_DAYS[0] + GROUP_DAYS[1]) // 2, pause=0))
        alone.run()
        print(f"1. prune alone, flat out: {alone.rows:,} rows in {alone.seconds:.1f} s: {alone.rate:,.0f} rows/s")
        baseline = send(made, run, devices, worker, "2. send alone")
        beside = Timed(lambda: prune(days=(GROUP_DAYS[1] + GROUP_DAYS[2]) // 2, pause=YIELD))
        during = send(made, run, devices, worker, "3. send while the prune runs", beside)
        print(
            f"   the prune beside it (as the task runs: a pause of {YIELD:g}x each batch's time after it):"
            f" {beside.rows:,} rows in {beside.seconds:.1f} s: {beside.rate:,.0f} rows/s"
        )
        naive = Timed(lambda: naive_delete(groups[2]))
        during_naive = send(made, run, devices, worker, "4. send while one naive DELETE runs", naive)
        print(f"   the naive DELETE beside it: {naive.rows:,} rows in {naive.seconds:.1f} s: {naive.rate:,.0f} rows/s")
        unchanged = daily_stats() == frozen
        print(f"pruned runs' roll-ups unchanged: {unchanged}")
        print(
            f"prune_rows_per_s_flat_out={alone.rate:.0f} prune_rows_per_s_while_sending={beside.rate:.0f}"
            f" send_msgs_per_s={baseline:.0f} send_msgs_per_s_during_prune={during:.0f}"
            f" send_share_during_prune={during / baseline:.2f} naive_rows_per_s={naive.rate:.0f}"
            f" send_msgs_per_s_during_naive_delete={during_naive:.0f}"
            f" send_share_during_naive={during_naive / baseline:.2f}"
            f" devices={args.devices} old_messages={old} rollups_unchanged={unchanged}"
            f" load_avg={os.getloadavg()[0]:.1f}"
        )
    finally:
        worker.stop()
        service.stop()
        made.delete(run)
        DeliverySettings.objects.filter(pk=1).update(daily_cap=caps_before)


class Made:
    """What the bench made, to delete at the end."""

    def __init__(self):
        self.campaigns, self.dispatches = [], []

    def delete(self, run):
        from campaigns.models import Campaign
        from delivery.models import Dispatch

        Campaign.objects.filter(pk__in=self.campaigns).delete()
        Dispatch.objects.filter(pk__in=self.dispatches).delete()
        send_bench.cleanup(run, [])


class Timed(threading.Thread):
    """A deletion in a thread of its own (its own database connection): rows and seconds."""

    def __init__(self, work):
        super().__init__(daemon=True)
        self.work, self.rows, self.seconds, self.started_at = work, 0, 0.0, 0.0

    def run(self):
        from django.db import connection

        self.started_at = time.monotonic()
        started = time.perf_counter()
        try:
            self.rows = self.work()
        finally:
            self.seconds = time.perf_counter() - started
            connection.close()

    @property
    def rate(self):
        return self.rows / self.seconds if self.seconds else 0


def old_group(made, run, devices, days, dispatches):
    """``dispatches`` completed one-time campaigns that finished ``days`` ago, each with one
    sent message per device (a third viewed, a tenth clicked): their dispatch ids."""
    from django.db import connection
    from django.utils import timezone

    from campaigns.models import Campaign, CampaignRun
    from delivery.models import Dispatch

    finished = timezone.now() - timedelta(days=days)
    ids = []
    for number in range(dispatches):
        campaign = Campaign.objects.create(
            name=f"{run} {days} days ago #{number}", channel="web_push", kind="one_time", status="completed"
        )
        made.campaigns.append(campaign.pk)
        dispatch = Dispatch.objects.create(
            channel="web_push", label=campaign.name, status="done", started_at=finished, finished_at=finished
        )
        made.dispatches.append(dispatch.pk)
        CampaignRun.objects.create(
            campaign=campaign, planned_at=finished, status="completed", dispatch=dispatch,
            started_at=finished, finished_at=finished,
        )  # fmt: skip
        with connection.cursor() as cursor:
            cursor.execute(
                """INSERT INTO delivery_message (dispatch_id, profile_id, device_id, variant, status, code,
                       attempts, payload_hash, created_at, sent_at, updated_at, viewed_at, clicked_at)
                   SELECT %s, profile_id, id, 'A', 'sent', '', 1, '', %s, %s, %s,
                          CASE WHEN id %% 3 = 0 THEN %s::timestamptz END,
                          CASE WHEN id %% 10 = 0 THEN %s::timestamptz END
                   FROM segments_device WHERE id = ANY(%s)""",
                [dispatch.pk, finished, finished, finished, finished, finished, [d for _, d in devices]],
            )
        ids.append(dispatch.pk)
    return ids


def roll_up_all():
    from stats.actions.rollup import do_roll_up

    started = time.perf_counter()
    do_roll_up()
    return time.perf_counter() - started


def daily_stats():
    from stats.models import DailyStat

    return sorted(DailyStat.objects.values_list("dispatch", "variant", "day", "delivered", "viewed", "clicked"))


def prune(days, pause):
    from stats.actions.retention import do_prune_messages

    return do_prune_messages(days=days, pause=pause)["messages"]


def naive_delete(dispatch_ids):
    from django.db import transaction

    from delivery.models import Message

    with transaction.atomic():
        return Message.objects.filter(dispatch__in=dispatch_ids)._raw_delete(Message.objects.db)


def send(made, run, devices, worker, label, beside=None):
    """Send one message per device through the worker; ``beside`` (a Timed) starts once a tenth
    is marked. Returns msgs/s in the steady part of the send: from a tenth marked to nine
    tenths, or to the end of ``beside`` if it ends first, sampling the marked rows every
    quarter second."""
    from delivery.actions.dispatches import counts, do_create_dispatch, do_enqueue, do_start
    from delivery.models import Dispatch

    dispatch = do_create_dispatch(channel="web_push", label=f"bench {run} {label}", contents={"A": send_bench.CONTENT})
    made.dispatches.append(dispatch.pk)
    do_enqueue(dispatch, ((profile_id, device_id, "A") for profile_id, device_id in devices))
    do_start(dispatch)
    marks = []  # (monotonic time, rows marked)
    deadline = time.monotonic() + send_bench.RUN_LIMIT_S
    while Dispatch.objects.get(pk=dispatch.pk).status != Dispatch.Status.DONE:
        if time.monotonic() > deadline:
            raise SystemExit(f"the send did not finish in {send_bench.RUN_LIMIT_S} s: {counts(dispatch)}")
        worker.check()
        done = counts(dispatch)
        marks.append((time.monotonic(), done["sent"] + done["failed"]))
        if beside and beside.ident is None and marks[-1][1] >= len(devices) // 10:
            beside.start()
        time.sleep(0.25)
    if beside:
        beside.join()
    start = next(at for at, marked in marks if marked >= len(devices) // 10)
    end = next(at for at, marked in marks if marked >= len(devices) * 9 // 10)
    if beside:
        start, end = max(start, beside.started_at), min(end, beside.started_at + beside.seconds)
    # The samples around the window (a short deletion may fall between two samples).
    t0, m0 = [(at, marked) for at, marked in marks if at <= start][-1]
    t1, m1 = next(((at, marked) for at, marked in marks if at >= end), marks[-1])
    rate = (m1 - m0) / (t1 - t0) if t1 > t0 else 0
    print(f"{label}: {counts(dispatch)['sent']:,} sent; {rate:,.0f} msgs/s over {t1 - t0:.1f} s of it")
    return rate


if __name__ == "__main__":
    main()
