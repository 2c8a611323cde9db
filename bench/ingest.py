"""Events per second through the real JSON API on PostgreSQL.

Starts the production web server (gunicorn with config/gunicorn.py, 2 workers) on a
free local port and sends ``POST /api/v1/events`` from a few client threads over
keep-alive connections: first events in batches of 500, then fewer events one per
request. Prints events/s for each, the speedup, the server's peak memory, checks that
the database holds every event sent, and removes the run's rows again.

    .venv/bin/python bench/ingest.py [--events 100000] [--single-events 5000] [--threads 4]

Uses DATABASE_URL when set; otherwise its own database ``clarion_bench`` on
127.0.0.1 (created when missing). CACHE_URL, when set, picks the rate-limit cache
the server uses (redis://… as in production); the default is the database table.
The last line is key=value pairs.
"""

import argparse
import http.client
import json
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

BENCH_DATABASE = "postgres://postgres@127.0.0.1:5432/clarion_bench"
BATCH = 500
# A phase stops sending new requests after this long, so a slow server cannot make
# the bench run for ages; rates are computed from what was sent.
PHASE_LIMIT_S = 60
PRODUCTS = [("Running Shoes", "Fashion", 89.95), ("Coffee Maker", "Home", 99.0), ("Yoga Mat", "Sports", 35.0)]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=100_000, help="events sent in batches of 500")
    parser.add_argument("--single-events", type=int, default=5_000, help="events sent one per request")
    parser.add_argument("--threads", type=int, default=4, help="client threads, one connection each")
    parser.add_argument("--profiles", type=int, default=10_000, help="distinct identities the events belong to")
    args = parser.parse_args()

    database_url = os.environ.get("DATABASE_URL") or create_bench_database()
    env = {
        "DATABASE_URL": database_url,
        "DEBUG": "0",
        "SECRET_KEY": secrets.token_urlsafe(40),
        "FIELD_ENCRYPTION_KEYS": Fernet.generate_key().decode(),  # throwaway data, throwaway key
        "SECURE_SSL_REDIRECT": "0",
        "DJANGO_SETTINGS_MODULE": "config.settings",
    }
    os.environ.update(env)
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from segments.actions.keys import create_api_key
    from segments.models import ApiKey, Event, Profile

    call_command("migrate", verbosity=0)
    call_command("createcachetable", verbosity=0)
    run = f"bench-{secrets.token_hex(3)}"
    key, full_key = create_api_key(run, rate_per_minute=100_000_000)
    connection.close()  # the server gets the database to itself while we measure

    port = free_port()
    server = Server(port, env)
    print(f"database {urlsplit(database_url).path.lstrip('/')}, cache {os.environ.get('CACHE_URL', 'db://')}")
    print(f"gunicorn on 127.0.0.1:{port}, 2 workers; {args.threads} client threads; run {run}")
    try:
        server.start()
        bodies = Bodies(run, args.profiles)
        client = Client(port, full_key, args.threads)
        warmup = client.send([bodies.make(BATCH) for _ in range(2 * args.threads)], "warm-up")
        batched = client.send([bodies.make(BATCH) for _ in range(args.events // BATCH)], "batched")
        single = client.send([bodies.make(1) for _ in range(args.single_events)], "single")
        peak_rss = server.peak_rss_mb()
        server.stop()
        sent = warmup.events + batched.events + single.events
        stored = Event.objects.filter(profile__identity__startswith=f"{run}-").count()
    finally:
        # Leave the database as we found it, also when something above failed.
        server.stop()
        Profile.objects.filter(identity__startswith=f"{run}-").delete()
        ApiKey.objects.filter(pk=key.pk).delete()

    speedup = batched.rate / single.rate if single.rate else 0
    print(f"batched: {batched.events:,} events in {batched.requests:,} requests, {batched.seconds:.1f} s")
    print(f"  {batched.rate:,.0f} events/s, {batched.requests / batched.seconds:,.1f} requests/s")
    print(f"single:  {single.events:,} events in {single.requests:,} requests, {single.seconds:.1f} s")
    print(f"  {single.rate:,.0f} events/s")
    print(f"speedup of batches: {speedup:.1f}x; server peak memory {peak_rss:.0f} MB (master and workers)")
    print(f"events sent {sent:,}, stored {stored:,}: {'ok' if stored == sent else 'MISMATCH'}")
    print(
        f"batched_events_per_s={batched.rate:.0f} single_events_per_s={single.rate:.0f} speedup={speedup:.1f}"
        f" batched_s={batched.seconds:.2f} single_s={single.seconds:.2f} server_peak_rss_mb={peak_rss:.0f}"
        f" events_sent={sent} events_stored={stored}"
    )
    if stored != sent or batched.errors or single.errors:
        sys.exit(1)


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


class Bodies:
    """Request bodies, encoded before the clock starts so the client spends its CPU on
    sending. Events spread over ``profiles`` identities, as an app's traffic would."""

    def __init__(self, run, profiles):
        self.run, self.profiles, self.count = run, profiles, 0
        self.at = datetime.now(UTC) - timedelta(hours=1)

    def make(self, size):
        events = []
        for _ in range(size):
            self.count += 1
            product, category, price = PRODUCTS[self.count % len(PRODUCTS)]
            events.append(
                {
                    "identity": f"{self.run}-{self.count % self.profiles}",
                    "name": "Product Viewed",
                    "properties": {"product": product, "category": category, "price": price},
                    "occurred_at": (self.at + timedelta(milliseconds=self.count)).isoformat(),
                }
            )
        return json.dumps({"events": events}).encode(), size


class Result:
    def __init__(self):
        self.events = self.requests = self.errors = 0
        self.seconds = 0.0

    @property
    def rate(self):
        return self.events / self.seconds if self.seconds else 0


class Client:
    def __init__(self, port, key, threads):
        self.port, self.threads = port, threads
        self.headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}

    def send(self, bodies, label):
        """Send every body from the client threads; returns what was accepted and how long it took."""
        result, lock, position = Result(), threading.Lock(), iter(bodies)
        deadline = time.monotonic() + PHASE_LIMIT_S

        def worker():
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
            while time.monotonic() < deadline:
                with lock:
                    item = next(position, None)
                if item is None:
                    break
                body, size = item
                conn.request("POST", "/api/v1/events", body, self.headers)
                response = conn.getresponse()
                answer = response.read()
                with lock:
                    result.requests += 1
                    if response.status == 200 and json.loads(answer)["accepted"] == size:
                        result.events += size
                    else:
                        result.errors += 1
                        if result.errors <= 3:
                            print(f"  {label}: HTTP {response.status} {answer[:300]!r}", file=sys.stderr)
            conn.close()

        threads = [threading.Thread(target=worker) for _ in range(self.threads)]
        started = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        result.seconds = time.perf_counter() - started
        if time.monotonic() >= deadline:
            print(f"  {label}: stopped after {PHASE_LIMIT_S} s", file=sys.stderr)
        return result


class Server:
    """gunicorn as in production (Procfile, config/gunicorn.py), its peak memory sampled."""

    def __init__(self, port, env):
        self.port = port
        self.env = {**os.environ, **env}
        self.env.update(
            WEB_BIND=f"127.0.0.1:{port}",
            WEB_CONCURRENCY="2",
            PUBLIC_BASE_URL=f"http://127.0.0.1:{port}",
            ALLOWED_HOSTS="127.0.0.1",
            PYTHONUNBUFFERED="1",
        )
        self.log = Path(tempfile.mkdtemp(prefix="clarion-bench-")) / "gunicorn.log"
        self.proc = None
        self.peak = 0
        self.sampling = threading.Event()

    def start(self):
        args = [sys.executable, "-m", "gunicorn", "config.wsgi", "--config", "config/gunicorn.py"]
        self.proc = subprocess.Popen(  # noqa: S603 (our own interpreter and arguments)
            args, cwd=ROOT, env=self.env, stdout=self.log.open("w"), stderr=subprocess.STDOUT, start_new_session=True
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit(f"gunicorn exited with {self.proc.returncode}:\n{self.log.read_text()[-3000:]}")
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
                conn.request("GET", "/healthz")
                if conn.getresponse().status == 200 and len(self.pids()) >= 3:
                    break
            except OSError:
                pass
            time.sleep(0.2)
        else:
            raise SystemExit(f"gunicorn did not answer /healthz:\n{self.log.read_text()[-3000:]}")
        threading.Thread(target=self.sample, daemon=True).start()

    def pids(self):
        children = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children")
        try:
            return [self.proc.pid, *map(int, children.read_text().split())]
        except OSError:
            return [self.proc.pid]

    def sample(self):
        while not self.sampling.is_set():
            total = 0
            for pid in self.pids():
                try:
                    status = Path(f"/proc/{pid}/status").read_text()
                except OSError:
                    continue
                total += int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmRSS:")))
            self.peak = max(self.peak, total)
            time.sleep(0.1)

    def peak_rss_mb(self):
        return self.peak / 1024

    def stop(self):
        self.sampling.set()
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, 15)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, 9)
                self.proc.wait()


if __name__ == "__main__":
    main()
