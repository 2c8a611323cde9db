"""Web pushes per second through the delivery engine on PostgreSQL, next to the plain way.

Writes N profiles with one browser subscription each at a local Web Push service (separate
processes on 127.0.0.1, ``tests/pushservices/loopback.py``: VAPID checked on every push, a
sample decrypted, pushes counted per subscriber), makes a dispatch with a personalised title,
enqueues a message per device and starts it. One Celery worker process (``--concurrency 1``,
as in production otherwise) sends it. Prints messages/s end to end — from the start of the
run to the last row marked — and the worker's peak memory, sampled through the run. With
``--workers N`` the same audience is sent again, to a new dispatch, by N worker processes at
once: msgs/s and the efficiency per process. Each run checks at the push service that every
subscriber got exactly one push (claims never overlapped) and measures what the database did
per 1,000 messages (pg_stat_database, WAL bytes); one batch of 1,000 is then sent in this
process to count its statements. Then the plain way on a sample of the same devices:
pywebpush's ``webpush()`` once per device, which is what django-push-notifications calls for
each web push (it is not installed beside Clarion); the sample's rate is the figure (at a
constant rate per push, extrapolating it to N changes nothing but the wait).

    .venv/bin/python bench/send.py [--devices 30000] [--workers 2] [--plain-sample 2000]
        [--service-processes 1] [--daily-cap N] [--py-spy FILE]

``--daily-cap`` sets the global daily frequency cap for the run (put back after it): every
batch then takes its people's slots under their locks (``delivery/actions/limits.py``).
``--py-spy FILE`` records the one-process run's sending process with py-spy
(requirements-dev.txt) and prints its top functions.

Uses DATABASE_URL (PostgreSQL only) when set, otherwise its own database ``clarion_bench_send``
on 127.0.0.1 (created when missing); CELERY_BROKER_URL when set (Redis), otherwise the
filesystem broker in a temporary folder. The run's profiles, devices, messages and dispatches
are deleted at the end. The last line is key=value pairs.
"""

import argparse
import collections
import json
import os
import re
import secrets
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

BENCH_DATABASE = "postgres://postgres@127.0.0.1:5432/clarion_bench_send"
CONTENT = {
    "title": "{{ profile.first_name }}, your cart is waiting",
    "body": "Still thinking about the running shoes? They are back in your size.",
    "url": "https://shop.example/cart",
    "icon": "https://shop.example/icon.png",
}
RUN_LIMIT_S = 600
# The bench database's field encryption key, fixed so a second run reads the VAPID key the first
# one made (a fresh key per run could not: UnreadableSecret). Throwaway data only; a
# FIELD_ENCRYPTION_KEYS in the environment (another database's own key) wins.
BENCH_FIELD_KEY = "dtuygEKYN5wvXY1Izjc1if06mr38omRU7C4sFOwd9iU="


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--devices", type=int, default=30_000)
    parser.add_argument("--plain-sample", type=int, default=2_000, help="devices sent to the plain way")
    parser.add_argument("--service-processes", type=int, default=1, help="local push service processes")
    parser.add_argument("--daily-cap", type=int, default=None, help="global daily frequency cap during the run")
    parser.add_argument("--workers", type=int, default=1, help="also send with this many worker processes")
    parser.add_argument("--py-spy", metavar="FILE", help="record the sending process with py-spy (raw stacks)")
    parser.add_argument(
        "--py-spy-idle", action="store_true", help="with --py-spy: every sample, waits included (not only the GIL's)"
    )
    args = parser.parse_args()

    database_url = os.environ.get("DATABASE_URL") or create_bench_database()
    if not database_url.startswith(("postgres://", "postgresql://")):
        raise SystemExit("bench/send.py measures on PostgreSQL: set DATABASE_URL=postgres://…")
    queue = f"bench-send-{uuid.uuid4().hex[:8]}"
    broker_dir = tempfile.mkdtemp(prefix="clarion-bench-broker-")
    env = {
        "DATABASE_URL": database_url,
        "CELERY_BROKER_URL": os.environ.get("CELERY_BROKER_URL") or f"filesystem://{broker_dir}",
        "CELERY_QUEUE": queue,
        "DEBUG": "0",
        "SECRET_KEY": secrets.token_urlsafe(40),
        "FIELD_ENCRYPTION_KEYS": os.environ.get("FIELD_ENCRYPTION_KEYS") or BENCH_FIELD_KEY,
        "SECURE_SSL_REDIRECT": "0",
        "PUSH_PROVIDERS": "live",
        # config.settings with the test suite's allowances: the local push service is on
        # loopback over plain http, which production refuses (segments/pushhosts.py).
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "LOG_LEVEL": "WARNING",
    }
    os.environ.update(env)
    import django

    django.setup()
    from django.core.management import call_command

    from delivery import vapid
    from delivery.models import DeliverySettings

    call_command("migrate", verbosity=0)
    call_command("createcachetable", verbosity=0)
    key = vapid.generate()[0]
    run = f"bench-{secrets.token_hex(3)}"
    port = free_port()
    origin = f"http://127.0.0.1:{port}"
    print(f"database {urlsplit(database_url).path.lstrip('/')}, broker {env['CELERY_BROKER_URL'].split(':')[0]}")
    print(f"push service {origin}, {args.service_processes} process(es); run {run}, {args.devices:,} devices")

    # Only this column: the row's credentials may be under another key than the bench's.
    caps_before = DeliverySettings.objects.filter(pk=1).values_list("daily_cap", flat=True).first()
    dispatches, runs = [], []
    try:
        if not DeliverySettings.objects.filter(pk=1).update(daily_cap=args.daily_cap):
            DeliverySettings.objects.create(pk=1, daily_cap=args.daily_cap)
        started = time.perf_counter()
        devices = make_audience(run, origin, args.devices)
        print(f"audience: {args.devices:,} profiles and subscriptions in {time.perf_counter() - started:.1f} s")
        for count in sorted({1, args.workers}):
            runs.append(send_run(args, env, queue, port, run, devices, count, dispatches))
        cost = database_cost(run, devices[:1000], dispatches, args, env, port)
        with Service(args, env, port):
            plain = plain_way(key, list(devices[: args.plain_sample]))
        report(args, runs, plain, cost)
    finally:
        cleanup(run, dispatches)
        DeliverySettings.objects.filter(pk=1).update(daily_cap=caps_before)
    if any(result.sent != args.devices for result in runs):
        sys.exit(1)


class RunResult:
    def __init__(self, workers, sent, failed, seconds, cpu, rss_mb, progress, database):
        self.workers, self.sent, self.failed, self.seconds, self.cpu = workers, sent, failed, seconds, cpu
        self.rss_mb, self.progress, self.database = rss_mb, progress, database
        self.rate = sent / seconds if seconds else 0
        self.per_cpu = sent / cpu if cpu else 0


def send_run(args, env, queue, port, run, devices, count, dispatches):
    """One dispatch to every device, sent by ``count`` worker processes; checks at the push
    service that no subscriber got a push twice (claims never overlapped) and none got none."""
    from django.db import connection
    from django.db.models import Max

    from delivery.actions.dispatches import counts, do_create_dispatch, do_enqueue, do_start
    from delivery.models import Dispatch, Message

    print(f"-- {count} worker process(es)")
    pushes = tempfile.mkdtemp(prefix="clarion-bench-pushes-")
    command = [sys.executable, "-m", "celery", "--app", "config", "worker", "--concurrency", "1", "--loglevel",
               "WARNING", "--without-mingle", "--without-gossip"]  # fmt: skip
    workers = [Process([*command, "--hostname", f"{queue}-{n}@%h"], env, f"worker {n}") for n in range(count)]
    with Service(args, env, port, counts=pushes) as service:
        dispatch = do_create_dispatch(channel="web_push", label=f"bench {run} x{count}", contents={"A": CONTENT})
        dispatches.append(dispatch)
        started = time.perf_counter()
        do_enqueue(dispatch, ((profile_id, device_id, "A") for profile_id, device_id in devices))
        print(f"enqueued {len(devices):,} messages in {time.perf_counter() - started:.1f} s")
        try:
            for worker in workers:
                worker.start()
            for worker in workers:
                wait_for_worker(worker)
            samplers = [RssSampler(worker) for worker in workers]
            for sampler in samplers:
                sampler.start()
            senders = [worker.pids()[-1] for worker in workers]
            spy = PySpy(senders[0], args.py_spy, idle=args.py_spy_idle) if args.py_spy and count == 1 else None
            database = DatabaseMeter()
            connection.close()  # the workers get the database to themselves while we measure
            cpu_before = [cpu_seconds(pid) for pid in senders]
            loop_before = cpu_seconds(senders[0], main_thread=True)
            service_before = service.cpu()
            do_start(dispatch)  # queues the send tasks (autocommit: at once)
            deadline = time.monotonic() + RUN_LIMIT_S
            while Dispatch.objects.get(pk=dispatch.pk).status != Dispatch.Status.DONE:
                if time.monotonic() > deadline:
                    raise SystemExit(f"the run did not finish in {RUN_LIMIT_S} s: {counts(dispatch)}")
                for worker in workers:
                    worker.check()
                time.sleep(1)
                done = counts(dispatch)
                rss = max(sampler.current_mb() for sampler in samplers)
                print(f"  {done['sent'] + done['failed']:>7,} marked, worker RSS {rss:.0f} MB")
                for sampler in samplers:
                    sampler.note(done["sent"] + done["failed"])
            for sampler in samplers:
                sampler.stop()
            if spy:
                spy.stop()
            cpu = sum(cpu_seconds(pid) - before for pid, before in zip(senders, cpu_before, strict=True))
            loop_cpu = cpu_seconds(senders[0], main_thread=True) - loop_before
            service_cpu = service.cpu() - service_before
            used = database.used()
        finally:
            for worker in workers:
                worker.stop()
        dispatch.refresh_from_db()
        last_marked = Message.objects.filter(dispatch=dispatch).aggregate(last=Max("updated_at"))["last"]
        seconds = (last_marked - dispatch.started_at).total_seconds()
        final = counts(dispatch)
    received = collections.Counter()
    for path in Path(pushes).glob("*.json"):
        received.update(json.loads(path.read_text()))
    twice = sum(1 for n in received.values() if n > 1)
    if twice:
        raise SystemExit(f"{twice} subscribers got a push more than once: claims overlapped")
    if sum(received.values()) != final["sent"]:
        raise SystemExit(f"{sum(received.values())} pushes received, {final['sent']} recorded as sent")
    print(f"  the push service received {sum(received.values()):,} pushes, none twice")
    peak = max(samplers, key=lambda sampler: sampler.peak_mb)
    result = RunResult(count, final["sent"], final["failed"], seconds, cpu, peak.peak_mb, peak.progress(), used)
    result.service_cpu = service_cpu
    result.loop_cpu = loop_cpu  # the first sender's main thread: the event loop and the batch's steps
    return result


class DatabaseMeter:
    """What this database did between its start and ``used()``: pg_stat_database's counters
    (this database only) and the WAL written (pg_current_wal_lsn: the whole server, so other
    databases' writes meanwhile count too — measure on a quiet server)."""

    QUERY = (
        "SELECT xact_commit, tup_returned, tup_fetched, tup_inserted, tup_updated, tup_deleted,"
        " pg_current_wal_lsn() FROM pg_stat_database WHERE datname = current_database()"
    )
    NAMES = ("commits", "rows_read", "rows_fetched", "rows_inserted", "rows_updated", "rows_deleted")

    def __init__(self):
        self.before = self._read()

    def _read(self):
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_stat_clear_snapshot()")
            cursor.execute(self.QUERY)
            return cursor.fetchone()

    def used(self):
        from django.db import connection

        time.sleep(1.5)  # backends report their counters at most once a second
        after = self._read()
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_wal_lsn_diff(%s, %s)", [after[-1], self.before[-1]])
            wal = int(cursor.fetchone()[0])
        return {**{name: after[i] - self.before[i] for i, name in enumerate(self.NAMES)}, "wal_bytes": wal}


def database_cost(run, devices, dispatches, args, env, port):
    """Statements of one batch of 1,000 messages, sent in this process (the statements a worker
    sends, counted by Django): the claim, the reads, the outcome UPDATEs."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from delivery.actions import sending
    from delivery.actions.dispatches import do_create_dispatch, do_enqueue
    from delivery.models import Dispatch

    dispatch = do_create_dispatch(channel="web_push", label=f"bench {run} statements", contents={"A": CONTENT})
    dispatches.append(dispatch)
    do_enqueue(dispatch, ((profile_id, device_id, "A") for profile_id, device_id in devices))
    # Started without queuing tasks: this process sends the one batch itself.
    Dispatch.objects.filter(pk=dispatch.pk).update(status=Dispatch.Status.SENDING, started_at=timezone.now())
    with Service(args, env, port), CaptureQueriesContext(connection) as queries:
        report = sending.send_batch(dispatch.pk, size=len(devices))
    kinds = collections.Counter(query["sql"].split(None, 1)[0].upper() for query in queries.captured_queries)
    return {"statements": len(queries), "kinds": dict(kinds), "messages": report.sent}


def report(args, runs, plain, cost):
    one = runs[0]
    print(f"clarion, 1 worker process: {one.sent:,} sent, {one.failed:,} failed in {one.seconds:.1f} s: "
          f"{one.rate:,.0f} msgs/s")  # fmt: skip
    print(f"  the sending process used {one.cpu:.1f} s of CPU: {one.per_cpu:,.0f} msgs per CPU second"
          f" ({1e6 / one.per_cpu:.0f} µs a message); the push service {one.service_cpu:.1f} s"
          f" ({1e6 * one.service_cpu / max(1, one.sent):.0f} µs a push); its main thread (claim, render, event"
          f" loop) {1e6 * one.loop_cpu / max(1, one.sent):.0f} µs a message")  # fmt: skip
    print(f"  worker peak RSS {one.rss_mb:.0f} MB; as the run went: {one.progress}")
    for result in runs[1:]:
        efficiency = result.rate / (result.workers * one.rate)
        print(f"clarion, {result.workers} worker processes: {result.rate:,.0f} msgs/s "
              f"({result.rate / one.rate:.2f}x one process; {efficiency:.0%} per process), "
              f"{result.per_cpu:,.0f} msgs per CPU second")  # fmt: skip
    for result in runs:
        per_k = {name: value * 1000 / max(1, result.sent) for name, value in result.database.items()}
        print(f"  database per 1,000 messages ({result.workers} worker(s)): " + ", ".join(
            f"{name} {value:,.0f}" for name, value in per_k.items()))  # fmt: skip
    print(f"  statements of one batch of {cost['messages']:,} messages: {cost['statements']} ({cost['kinds']})")
    print(
        f"plain (pywebpush webpush() per device, sample of {plain.count:,}): {plain.rate:,.0f} msgs/s,"
        f" {plain.failed} failed; at that rate {args.devices:,} would take {args.devices / plain.rate:,.0f} s"
    )
    print(f"  {plain.cpu:.1f} s of CPU: {plain.per_cpu:,.0f} msgs per CPU second")
    print(f"speedup {one.rate / plain.rate:.1f}x (per CPU second {one.per_cpu / plain.per_cpu:.1f}x)")
    wal = one.database["wal_bytes"] * 1000 / max(1, one.sent)
    line = (
        f"clarion_msgs_per_s={one.rate:.0f} plain_msgs_per_s={plain.rate:.0f} speedup={one.rate / plain.rate:.1f}"
        f" peak_worker_rss_mb={one.rss_mb:.0f} load_avg={os.getloadavg()[0]:.1f} devices={args.devices}"
        f" sent={one.sent} failed={one.failed} seconds={one.seconds:.1f} plain_sample={plain.count}"
        f" clarion_msgs_per_cpu_s={one.per_cpu:.0f} plain_msgs_per_cpu_s={plain.per_cpu:.0f}"
        f" statements_per_1000={cost['statements'] * 1000 / max(1, cost['messages']):.0f}"
        f" wal_bytes_per_1000={wal:.0f} daily_cap={args.daily_cap}"
        f" sender_us_per_msg={1e6 / one.per_cpu:.0f} service_us_per_push={1e6 * one.service_cpu / max(1, one.sent):.0f}"
        f" sender_main_thread_us_per_msg={1e6 * one.loop_cpu / max(1, one.sent):.0f}"
    )
    for result in runs[1:]:
        line += (
            f" workers={result.workers} msgs_per_s_{result.workers}={result.rate:.0f}"
            f" efficiency_{result.workers}={result.rate / (result.workers * one.rate):.2f}"
            f" peak_worker_rss_mb_{result.workers}={result.rss_mb:.0f} overlaps=0"
        )
    print(line)


class Service:
    """The local push service (``tests/pushservices/loopback.py``) for the length of a ``with``."""

    def __init__(self, args, env, port, counts=None):
        command = [sys.executable, "-m", "tests.pushservices.loopback", "--port", str(port),
                   "--processes", str(args.service_processes)]  # fmt: skip
        self.process = Process([*command, "--counts", counts] if counts else command, env, "push service")
        self.port = port

    def __enter__(self):
        self.process.start()
        wait_for_port(self.port, self.process)
        return self

    def __exit__(self, *exc):
        self.process.stop()

    def cpu(self):
        """CPU seconds the push service's processes used so far."""
        return sum(cpu_seconds(pid) for pid in self.process.pids())


def create_bench_database():
    import psycopg

    url = urlsplit(BENCH_DATABASE)
    name = url.path.lstrip("/")
    with psycopg.connect(host=url.hostname, port=url.port, user=url.username, dbname="postgres") as conn:
        conn.autocommit = True
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')
    return BENCH_DATABASE


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port, process):
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        process.check()
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.2)
    raise SystemExit("the push service did not start")


def wait_for_worker(worker):
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        worker.check()
        if len(worker.pids()) >= 2:  # the pool's child is up
            time.sleep(1)
            return
        time.sleep(0.2)
    raise SystemExit("the worker did not start")


def make_audience(run, origin, count):
    """[(profile id, device id)] of ``count`` profiles, each with one subscription at ``origin``."""
    from segments.models import Device, Profile
    from tests.pushservices.loopback import subscription

    found = []
    for start in range(0, count, 5000):
        size = min(5000, count - start)
        profiles = Profile.objects.bulk_create(
            [Profile(identity=f"{run}-{start + i}", name=f"Zoë {start + i}") for i in range(size)]
        )
        devices = []
        for profile in profiles:
            endpoint, p256dh, auth = subscription(origin, profile.identity)
            devices.append(
                Device(
                    profile=profile,
                    platform="web",
                    browser="chrome",
                    endpoint=endpoint,
                    p256dh=p256dh,
                    auth=auth,
                    push_status="allowed",
                )
            )
        found += [(d.profile_id, d.pk) for d in Device.objects.bulk_create(devices)]
    return found


class PlainResult:
    def __init__(self, count, seconds, failed, cpu):
        self.count, self.seconds, self.failed, self.cpu = count, seconds, failed, cpu
        self.rate = count / seconds if seconds else 0
        self.per_cpu = count / cpu if cpu else 0


def plain_way(key, devices):
    """pywebpush's webpush() once per device: a new VAPID signature and a new HTTP request each."""
    from pywebpush import WebPushException, webpush

    from delivery.payloads import build_payload
    from segments.models import Device, Profile

    rows = Device.objects.filter(pk__in=[device_id for _, device_id in devices]).values_list(
        "pk", "endpoint", "p256dh", "auth", "profile_id"
    )
    names = dict(Profile.objects.filter(pk__in=[p for p, _ in devices]).values_list("pk", "name"))
    failed = 0
    started, cpu = time.perf_counter(), time.process_time()
    for device_id, endpoint, p256dh, auth, profile_id in rows:
        content = {
            **CONTENT,
            "title": CONTENT["title"].replace("{{ profile.first_name }}", names[profile_id].split()[0]),
        }
        payload = build_payload("web", content, message_id=device_id, collapse_key=f"plain-{device_id}")
        try:
            webpush(
                {"endpoint": endpoint, "keys": {"p256dh": p256dh, "auth": auth}},
                data=json.dumps(payload),
                vapid_private_key=key.private_key,
                vapid_claims={"sub": key.subject},
                ttl=86400,
                timeout=10,
            )
        except WebPushException:
            failed += 1
    return PlainResult(len(rows), time.perf_counter() - started, failed, time.process_time() - cpu)


def cleanup(run, dispatches):
    from delivery.models import Dispatch
    from segments.models import Profile

    Dispatch.objects.filter(pk__in=[dispatch.pk for dispatch in dispatches]).delete()
    Profile.objects.filter(identity__startswith=f"{run}-").delete()


class Process:
    def __init__(self, args, env, name):
        self.args, self.name = args, name
        self.env = {**os.environ, **env, "PYTHONUNBUFFERED": "1"}
        self.log = Path(tempfile.mkdtemp(prefix="clarion-bench-")) / f"{name.replace(' ', '-')}.log"
        self.proc = None

    def start(self):
        self.proc = subprocess.Popen(  # noqa: S603 (our own interpreter and arguments)
            self.args, cwd=ROOT, env=self.env, stdout=self.log.open("w"), stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip

    def pids(self):
        children = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children")
        try:
            return [self.proc.pid, *map(int, children.read_text().split())]
        except OSError:
            return [self.proc.pid]

    def check(self):
        if self.proc.poll() is not None:
            raise SystemExit(f"the {self.name} exited with {self.proc.returncode}:\n{self.log.read_text()[-3000:]}")

    def stop(self):
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, 15)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, 9)
                self.proc.wait()


class PySpy:
    """py-spy recording a process (``--py-spy FILE``, raw collapsed stacks); prints the functions
    that took the most samples, on their own and with what they call, when stopped."""

    def __init__(self, pid, path, *, idle=False):
        self.path = path
        self.idle = idle
        command = ["py-spy", "record", "--pid", str(pid), "--format", "raw", "--rate", "250", "--output", path]
        self.proc = subprocess.Popen(  # noqa: S603 (our arguments)
            [str(Path(sys.executable).with_name(command[0])), *command[1:], "--nonblocking", *(
                ["--idle", "--threads"] if idle else ["--gil"])],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip

    def stop(self, top=25):
        self.proc.send_signal(2)
        self.proc.wait(timeout=60)
        own, total, samples = {}, {}, 0
        for line in Path(self.path).read_text().splitlines():
            stack, _, count = line.rpartition(" ")
            frames = [re.sub(r":\d+\)$", ")", frame) for frame in stack.split(";")]
            samples += int(count)
            own[frames[-1]] = own.get(frames[-1], 0) + int(count)
            for frame in set(frames):
                total[frame] = total.get(frame, 0) + int(count)
        held = "waiting or not" if self.idle else "holding the GIL"
        print(f"py-spy: {samples:,} samples of the sending process {held} ({self.path})")
        # The worker's own frames (Celery, the pool) are under every sample: left out.
        total = {frame: count for frame, count in total.items() if count < 0.9 * samples}
        for name, table in (("own", own), ("with callees", total)):
            print(f"  top by {name} time:")
            for frame, count in sorted(table.items(), key=lambda item: -item[1])[:top]:
                print(f"    {100 * count / samples:5.1f} %  {frame}")


def cpu_seconds(pid, *, main_thread=False):
    """User and system CPU time of a process, or of its main thread alone (proc(5): fields 14
    and 15, in clock ticks)."""
    path = f"/proc/{pid}/task/{pid}/stat" if main_thread else f"/proc/{pid}/stat"
    fields = Path(path).read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_kb(pid):
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0
    return int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmRSS:")))


class RssSampler(threading.Thread):
    """The worker's memory every 0.1 s: the pool child that sends, and with its parent."""

    def __init__(self, worker):
        super().__init__(daemon=True)
        self.worker = worker
        self.peak_kb = self.peak_total_kb = self.current_kb = 0
        self.marks = []  # (messages marked, RSS MB) as the run went
        self.done = threading.Event()

    def run(self):
        while not self.done.is_set():
            sizes = [rss_kb(pid) for pid in self.worker.pids()]
            self.current_kb = max(sizes[1:] or sizes)
            self.peak_kb = max(self.peak_kb, self.current_kb)
            self.peak_total_kb = max(self.peak_total_kb, sum(sizes))
            time.sleep(0.1)

    def note(self, marked):
        self.marks.append((marked, self.current_mb()))

    def progress(self):
        if not self.marks:
            return "-"
        picks = [self.marks[min(len(self.marks) - 1, len(self.marks) * q // 4)] for q in range(5)]
        return ", ".join(f"{mb:.0f} MB at {marked:,}" for marked, mb in picks)

    def current_mb(self):
        return self.current_kb / 1024

    @property
    def peak_mb(self):
        return self.peak_kb / 1024

    @property
    def peak_total_mb(self):
        return self.peak_total_kb / 1024

    def stop(self):
        self.done.set()


if __name__ == "__main__":
    main()
