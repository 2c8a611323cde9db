"""Start real Celery processes (worker, beat) against the test database.

They run as separate processes, as in production, so they see only committed rows:
use them from tests marked ``django_db(transaction=True)``.
"""

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

from django.db import connection

ROOT = Path(__file__).resolve().parent.parent


def database_url():
    """The URL of the test database this process is using, for a child process."""
    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}"
    auth = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


class CeleryProcesses:
    """Starts ``celery worker`` / ``celery beat`` on a queue of their own, so a test
    never takes another run's tasks, and stops them at the end of the test."""

    def __init__(self, log_dir):
        self.queue = f"test-{uuid.uuid4().hex[:12]}"
        self.log_dir = Path(log_dir)
        self.procs = []

    def env(self):
        env = os.environ | {
            "DJANGO_SETTINGS_MODULE": "tests.settings",
            "DATABASE_URL": database_url(),
            "CELERY_QUEUE": self.queue,
            "PYTHONUNBUFFERED": "1",
        }
        env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        return env

    def start(self, kind):
        log = self.log_dir / f"{kind}.log"
        args = [sys.executable, "-m", "celery", "--app", "config", kind, "--loglevel", "INFO"]
        if kind == "worker":
            args += ["--concurrency", "1", "--hostname", f"{self.queue}@%h", "--without-mingle", "--without-gossip"]
        else:
            args += ["--schedule", str(self.log_dir / "beat-schedule"), "--pidfile", ""]
        proc = subprocess.Popen(
            args, cwd=ROOT, env=self.env(), stdout=log.open("w"), stderr=subprocess.STDOUT, start_new_session=True
        )
        self.procs.append((kind, proc, log))
        return proc

    def logs(self):
        return "\n".join(f"--- {kind} ---\n{log.read_text()[-3000:]}" for kind, _, log in self.procs)

    def wait_for(self, condition, timeout, what):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if condition():
                return
            for kind, proc, _ in self.procs:
                if proc.poll() is not None:
                    raise AssertionError(f"celery {kind} exited with {proc.returncode}\n{self.logs()}")
            time.sleep(0.2)
        raise AssertionError(f"timed out after {timeout}s waiting for {what}\n{self.logs()}")

    def stop(self):
        for _, proc, _ in self.procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for _, proc, _ in self.procs:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
