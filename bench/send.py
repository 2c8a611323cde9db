"""Web pushes per second through the delivery engine on PostgreSQL, next to the plain way.

Writes N profiles with one browser subscription each at a local Web Push service (separate
processes on 127.0.0.1, ``tests/pushservices/loopback.py``: VAPID checked on every push, a
sample decrypted), makes a dispatch with a personalised title, enqueues a message per device
and starts it. One Celery worker process (``--concurrency 1``, as in production otherwise)
sends it. Prints messages/s end to end — from the start of the run to the last row marked —
and the worker's peak memory, sampled through the run. Then the plain way on a sample of the
same devices: pywebpush's ``webpush()`` once per device, which is what django-push-notifications
calls for each web push (it is not installed beside Clarion); the sample's rate is the figure
(at a constant rate per push, extrapolating it to N changes nothing but the wait).

    .venv/bin/python bench/send.py [--devices 100000] [--plain-sample 2000] [--service-processes 1] [--daily-cap N]

``--daily-cap`` sets the global daily frequency cap for the run (put back after it): every
batch then takes its people's slots under their locks (``delivery/actions/limits.py``).

Uses DATABASE_URL (PostgreSQL only) when set, otherwise its own database ``clarion_bench_send``
on 127.0.0.1 (created when missing); CELERY_BROKER_URL when set (Redis), otherwise the
filesystem broker in a temporary folder. The run's profiles, devices, messages and dispatch
are deleted at the end. The last line is key=value pairs.
"""

import argparse
import json
import os
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
    parser.add_argument("--devices", type=int, default=100_000)
    parser.add_argument("--plain-sample", type=int, default=2_000, help="devices sent to the plain way")
    parser.add_argument("--service-processes", type=int, default=1, help="local push service processes")
    parser.add_argument("--daily-cap", type=int, default=None, help="global daily frequency cap during the run")
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
    from django.db import connection
    from django.db.models import Max

    from delivery import vapid
    from delivery.actions.dispatches import counts, do_create_dispatch, do_enqueue, do_start
    from delivery.models import DeliverySettings, Dispatch, Message

    call_command("migrate", verbosity=0)
    call_command("createcachetable", verbosity=0)
    key = vapid.generate()[0]
    run = f"bench-{secrets.token_hex(3)}"
    port = free_port()
    origin = f"http://127.0.0.1:{port}"
    print(f"database {urlsplit(database_url).path.lstrip('/')}, broker {env['CELERY_BROKER_URL'].split(':')[0]}")
    print(f"push service {origin}, {args.service_processes} process(es); run {run}, {args.devices:,} devices")

    service = Process([sys.executable, "-m", "tests.pushservices.loopback", "--port", str(port),
                       "--processes", str(args.service_processes)], env, "push service")  # fmt: skip
    worker = Process([sys.executable, "-m", "celery", "--app", "config", "worker", "--concurrency", "1",
                      "--loglevel", "WARNING", "--hostname", f"{queue}@%h", "--without-mingle",
                      "--without-gossip"], env, "worker")  # fmt: skip
    dispatch = None
    # Only this column: the row's credentials may be under another key than the bench's.
    caps_before = DeliverySettings.objects.filter(pk=1).values_list("daily_cap", flat=True).first()
    try:
        if not DeliverySettings.objects.filter(pk=1).update(daily_cap=args.daily_cap):
            DeliverySettings.objects.create(pk=1, daily_cap=args.daily_cap)
        service.start()
        wait_for_port(port, service)
        started = time.perf_counter()
        devices = make_audience(run, origin, args.devices)
        print(f"audience: {args.devices:,} profiles and subscriptions in {time.perf_counter() - started:.1f} s")
        dispatch = do_create_dispatch(channel="web_push", label=f"bench {run}", contents={"A": CONTENT})
        started = time.perf_counter()
        do_enqueue(dispatch, ((profile_id, device_id, "A") for profile_id, device_id in devices))
        print(f"enqueued {args.devices:,} messages in {time.perf_counter() - started:.1f} s")

        worker.start()
        wait_for_worker(worker)
        rss = RssSampler(worker)
        rss.start()
        connection.close()  # the worker gets the database to itself while we measure
        cpu_before = cpu_seconds(worker.pids()[-1])
        do_start(dispatch)  # queues the send tasks (autocommit: at once)
        dispatch.refresh_from_db()
        deadline = time.monotonic() + RUN_LIMIT_S
        while Dispatch.objects.get(pk=dispatch.pk).status != Dispatch.Status.DONE:
            if time.monotonic() > deadline:
                raise SystemExit(f"the run did not finish in {RUN_LIMIT_S} s: {counts(dispatch)}")
            worker.check()
            time.sleep(1)
            done = counts(dispatch)
            print(f"  {done['sent'] + done['failed']:>7,} marked, worker RSS {rss.current_mb():.0f} MB")
            rss.note(done["sent"] + done["failed"])
        rss.stop()
        worker_cpu = cpu_seconds(worker.pids()[-1]) - cpu_before
        last_marked = Message.objects.filter(dispatch=dispatch).aggregate(last=Max("updated_at"))["last"]
        seconds = (last_marked - dispatch.started_at).total_seconds()
        final = counts(dispatch)
        clarion_rate = final["sent"] / seconds
        worker.stop()

        plain = plain_way(key, list(devices[: args.plain_sample]))
        report(args, final, seconds, clarion_rate, rss, plain, worker_cpu)
    finally:
        worker.stop()
        service.stop()
        cleanup(run, dispatch)
        DeliverySettings.objects.filter(pk=1).update(daily_cap=caps_before)
    if final["sent"] != args.devices:
        sys.exit(1)


def report(args, final, seconds, clarion_rate, rss, plain, worker_cpu):
    clarion_per_cpu = final["sent"] / worker_cpu if worker_cpu else 0
    print(f"clarion: {final['sent']:,} sent, {final['failed']:,} failed in {seconds:.1f} s: {clarion_rate:,.0f} msgs/s")
    print(f"  the sending process used {worker_cpu:.1f} s of CPU: {clarion_per_cpu:,.0f} msgs per CPU second")
    print(f"  worker peak RSS {rss.peak_mb:.0f} MB (the sending process), {rss.peak_total_mb:.0f} MB with its parent")
    print(f"  RSS as the run went: {rss.progress()}")
    print(
        f"plain (pywebpush webpush() per device, sample of {plain.count:,}): {plain.rate:,.0f} msgs/s,"
        f" {plain.failed} failed; at that rate {args.devices:,} would take {args.devices / plain.rate:,.0f} s"
    )
    print(f"  {plain.cpu:.1f} s of CPU: {plain.per_cpu:,.0f} msgs per CPU second")
    print(f"speedup {clarion_rate / plain.rate:.1f}x (per CPU second {clarion_per_cpu / plain.per_cpu:.1f}x)")
    print(
        f"clarion_msgs_per_s={clarion_rate:.0f} plain_msgs_per_s={plain.rate:.0f} peak_worker_rss_mb={rss.peak_mb:.0f}"
        f" speedup={clarion_rate / plain.rate:.1f} devices={args.devices} sent={final['sent']} failed={final['failed']}"
        f" seconds={seconds:.1f} plain_sample={plain.count} clarion_msgs_per_cpu_s={clarion_per_cpu:.0f}"
        f" plain_msgs_per_cpu_s={plain.per_cpu:.0f} load_avg={os.getloadavg()[0]:.1f} daily_cap={args.daily_cap}"
    )


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


def cleanup(run, dispatch):
    from delivery.models import Dispatch
    from segments.models import Profile

    if dispatch is not None:
        Dispatch.objects.filter(pk=dispatch.pk).delete()
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


def cpu_seconds(pid):
    """User and system CPU time of a process (proc(5): fields 14 and 15, in clock ticks)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
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
