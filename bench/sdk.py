"""Single requests per second through the web SDK's endpoints and the events API.

A website calls the SDK once per page view (identify) and once per browser that allows
push (subscriptions); a server sends one event per request when it has one. This starts
gunicorn as in production (bench/ingest.py's Server: config/gunicorn.py, 2 workers) and
sends, from a few client threads over keep-alive connections, one request at a time:

- first visits: a new browser's identify() (signed, a new person) then its subscription;
- page views: identify() again from those browsers (the person already on them);
- single events: ``POST /api/v1/events`` with one event each.

Next to them, in the same run, ``GET /healthz`` (one ``SELECT 1``): the most this server
answers on this machine, the ceiling the others are measured against. Prints requests/s
for each, the web server's CPU time per request (its processes', from /proc; PostgreSQL's is not in it), checks
that every request got its answer and the database holds what was sent, and removes the
run's rows again.

    .venv/bin/python bench/sdk.py [--browsers 2000] [--page-views 4000] [--events 4000] [--threads 4]

Uses DATABASE_URL when set; otherwise bench/ingest.py's ``clarion_bench``. CACHE_URL
picks the cache (rate limits, site and key look-ups): redis://… as in production; the
default is the database table. The last line is key=value pairs.
"""

import argparse
import json
import os
import secrets
import socket
import sys
import threading
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit

from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.ingest import PHASE_LIMIT_S, Server, create_bench_database, free_port  # noqa: E402

ORIGIN = "https://shop.example.com"
P256DH = "BAABAgMEBQYHCAkKCwwNDg8QERITFBUWFxgZGhscHR4fICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8"
AUTH = "AAECAwQFBgcICQoLDA0ODw"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--browsers", type=int, default=2_000, help="first visits (identify + subscription each)")
    parser.add_argument("--page-views", type=int, default=4_000, help="identify() again from those browsers")
    parser.add_argument("--events", type=int, default=4_000, help="single-event POST /api/v1/events requests")
    parser.add_argument("--threads", type=int, default=4, help="client threads, one connection each")
    args = parser.parse_args()

    database_url = os.environ.get("DATABASE_URL") or create_bench_database()
    env = {
        "DATABASE_URL": database_url,
        "DEBUG": "0",
        "SECRET_KEY": secrets.token_urlsafe(40),
        "FIELD_ENCRYPTION_KEYS": Fernet.generate_key().decode(),  # throwaway data, throwaway key
        "SECURE_SSL_REDIRECT": "0",
        "DJANGO_SETTINGS_MODULE": "config.settings",
        # One office of visitors behind one address would hit the per-address limit;
        # the bench measures the server, not the limit (it is still counted per request).
        "SDK_RATE_LIMIT": "100000000/m",
    }
    os.environ.update(env)
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from segments.actions.keys import create_api_key
    from segments.models import ApiKey, Device, Event, Profile, Site

    call_command("migrate", verbosity=0)
    call_command("createcachetable", verbosity=0)
    run = f"bench-{secrets.token_hex(3)}"
    site = Site.objects.create(name=run, allowed_origins=[ORIGIN])
    key, full_key = create_api_key(run, rate_per_minute=100_000_000)
    visits = Visits(run, site, args.browsers)
    connection.close()  # the server gets the database to itself while we measure

    port = free_port()
    server = Server(port, env)
    print(f"database {urlsplit(database_url).path.lstrip('/')}, cache {os.environ.get('CACHE_URL', 'db://')}")
    print(f"gunicorn on 127.0.0.1:{port}, 2 workers; {args.threads} client threads; run {run}")
    results = {}
    try:
        server.start()
        client = Client(port, args.threads)
        client.send(visits.health(200), "warm-up")
        client.send(visits.events(full_key, 200, "warm"), "warm-up")
        for label, requests in [
            ("healthz", visits.health(args.events)),
            ("first_visit", visits.first_visits()),
            ("page_view", visits.page_views(args.page_views)),
            ("event", visits.events(full_key, args.events, "single")),
        ]:
            before = cpu_seconds(server)
            results[label] = client.send(requests, label)
            results[label].cpu_ms = 1000 * (cpu_seconds(server) - before) / max(1, results[label].requests)
        server.stop()
        devices = Device.objects.filter(
            profile__identity__startswith=f"{run}-", endpoint__startswith="https://"
        ).count()
        events = Event.objects.filter(profile__identity__startswith=f"{run}-", name="Product Viewed").count()
    finally:
        # Leave the database as we found it, also when something above failed.
        server.stop()
        Profile.objects.filter(identity__startswith=f"{run}-").delete()
        ApiKey.objects.filter(pk=key.pk).delete()
        Site.objects.filter(pk=site.pk).delete()

    for label, result in results.items():
        print(
            f"{label:12} {result.requests:6,} requests in {result.seconds:5.1f} s: {result.rate:6,.0f} requests/s,"
            f" {result.cpu_ms:4.2f} ms server CPU/request, {result.errors} errors"
        )
    sdk = results["first_visit"].merge(results["page_view"])
    ceiling = results["healthz"].rate
    print(f"SDK calls together {sdk.rate:,.0f} requests/s ({sdk.rate / ceiling:.0%} of /healthz's {ceiling:,.0f})")
    subscribed_ok = devices == args.browsers
    events_ok = events == results["event"].requests
    print(f"subscribed devices {devices:,} of {args.browsers:,}; events {events:,} of {results['event'].requests:,}")
    load = os.getloadavg()
    print(
        f"sdk_requests_per_s={sdk.rate:.0f} first_visit_requests_per_s={results['first_visit'].rate:.0f}"
        f" page_view_requests_per_s={results['page_view'].rate:.0f} single_events_per_s={results['event'].rate:.0f}"
        f" healthz_per_s={ceiling:.0f} first_visit_cpu_ms={results['first_visit'].cpu_ms:.2f}"
        f" page_view_cpu_ms={results['page_view'].cpu_ms:.2f}"
        f" event_cpu_ms={results['event'].cpu_ms:.2f}"
        f" errors={sum(r.errors for r in results.values())} stored_ok={'yes' if subscribed_ok and events_ok else 'no'}"
        f" load_avg={load[0]:.2f},{load[1]:.2f},{load[2]:.2f}"
    )
    if not (subscribed_ok and events_ok) or any(r.errors for r in results.values()):
        sys.exit(1)


def cpu_seconds(server):
    """CPU time the gunicorn processes have used so far (user and system, /proc/<pid>/stat)."""
    ticks = 0
    for pid in server.pids():
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        ticks += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat)
    return ticks / os.sysconf("SC_CLK_TCK")


class Visits:
    """Request bodies, made before the clock starts so the client spends its CPU on sending."""

    def __init__(self, run, site, browsers):
        self.run, self.site = run, site
        self.browsers = [(str(uuid.uuid4()), f"{run}-{n}") for n in range(browsers)]

    def _sdk(self, path, body):
        body = {"siteKey": self.site.key, **body}
        headers = {"Origin": ORIGIN, "Content-Type": "text/plain"}
        return ("POST", f"/sdk/v1/{path}", json.dumps(body).encode(), headers, 200)

    def _identify(self, client_id, identity):
        signed = self.site.identity_hash(identity)
        return self._sdk("identify", {"clientId": client_id, "identity": identity, "identityHash": signed})

    def first_visits(self):
        requests = []
        for n, (client_id, identity) in enumerate(self.browsers):
            subscription = {
                "endpoint": f"https://fcm.googleapis.com/fcm/send/{self.run}-{n}",
                "expirationTime": None,
                "keys": {"p256dh": P256DH, "auth": AUTH},
            }
            requests.append([self._identify(client_id, identity)])
            requests[-1].append(self._sdk("subscriptions", {"clientId": client_id, "subscription": subscription}))
        return requests

    def page_views(self, count):
        return [[self._identify(*self.browsers[n % len(self.browsers)])] for n in range(count)]

    def events(self, key, count, tag):
        headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
        requests = []
        for n in range(count):
            identity = self.browsers[n % len(self.browsers)][1] if self.browsers else f"{self.run}-0"
            event = {"identity": identity, "name": "Product Viewed" if tag == "single" else "Warm-up"}
            event["properties"] = {"product": "Running Shoes", "price": 89.95}
            requests.append([("POST", "/api/v1/events", json.dumps({"events": [event]}).encode(), headers, 200)])
        return requests

    def health(self, count):
        return [[("GET", "/healthz", None, {}, 200)] for _ in range(count)]


class Result:
    def __init__(self):
        self.requests = self.errors = 0
        self.seconds = 0.0
        self.cpu_ms = 0.0

    @property
    def rate(self):
        return self.requests / self.seconds if self.seconds else 0

    def merge(self, other):
        both = Result()
        both.requests = self.requests + other.requests
        both.errors = self.errors + other.errors
        both.seconds = self.seconds + other.seconds
        return both


class Client:
    """Client threads, one keep-alive connection each. A unit of work is a list of
    requests sent in order on one connection (a browser's identify, then its
    subscription); units are spread over the threads.

    Each request's bytes are made before the clock starts and an answer is read by its
    status line and Content-Length, on a plain socket: the client shares the machine's
    two cores with the server, and http.client's request building and header parsing
    cost about as much CPU as a page view's whole answer. The server reads the same
    bytes http.client sent (method, path, Host, Content-Length, the request's headers)."""

    def __init__(self, port, threads):
        self.port, self.threads = port, threads

    @staticmethod
    def _wire(method, path, body, headers):
        lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", *(f"{k}: {v}" for k, v in headers.items())]
        if body is not None:
            lines.append(f"Content-Length: {len(body)}")
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + (body or b"")

    def send(self, units, label):
        units = [[(self._wire(*request[:4]), request[4]) for request in unit] for unit in units]
        result, lock, position = Result(), threading.Lock(), iter(units)
        deadline = time.monotonic() + PHASE_LIMIT_S

        def worker():
            sock = socket.create_connection(("127.0.0.1", self.port), timeout=60)
            buffer = b""
            while time.monotonic() < deadline:
                with lock:
                    unit = next(position, None)
                if unit is None:
                    break
                for wire, expected in unit:
                    sock.sendall(wire)
                    while b"\r\n\r\n" not in buffer:
                        buffer += sock.recv(65536) or _closed()
                    head, _, buffer = buffer.partition(b"\r\n\r\n")
                    status = int(head[9:12])
                    length = int(_header(head, b"content-length"))
                    while len(buffer) < length:
                        buffer += sock.recv(65536) or _closed()
                    answer, buffer = buffer[:length], buffer[length:]
                    with lock:
                        result.requests += 1
                        if status != expected:
                            result.errors += 1
                            if result.errors <= 3:
                                print(f"  {label}: HTTP {status} {answer[:300]!r}", file=sys.stderr)
            sock.close()

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


def _header(head, name):
    for line in head.split(b"\r\n")[1:]:
        key, _, value = line.partition(b":")
        if key.strip().lower() == name:
            return value.strip()
    raise SystemExit(f"an answer without {name.decode()}: {head[:300]!r}")


def _closed():
    raise SystemExit("the server closed a keep-alive connection")


if __name__ == "__main__":
    main()
