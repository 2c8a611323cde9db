"""gunicorn settings for the web process, in both run modes (see Procfile).

``python -m config.gunicorn`` prints the address this file binds to: `make run` says it,
so the printed address and the bound one come from the same WEB_BIND."""

import os

from config.env import env_bool

bind = os.environ.get("WEB_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
threads = int(os.environ.get("WEB_THREADS", "4"))
timeout = 30
accesslog = "-"
# Read as settings.py reads it: a DEBUG that settings would refuse stops gunicorn too.
reload = env_bool("DEBUG")
# gunicorn 27's control socket defaults to one path per user; two Clarions on one
# machine would fight over it, and nothing here uses it.
control_socket_disable = True


def address(bind):
    """Where a browser on this machine opens a gunicorn ``bind``: "0.0.0.0:9000" (every
    interface) is opened at 127.0.0.1; "unix:/run/clarion.sock" is said as it is."""
    if bind.startswith(("unix:", "fd://")):
        return bind
    host, _, port = bind.rpartition(":") if not bind.endswith("]") and ":" in bind else (bind, "", "8000")
    shown = "127.0.0.1" if host in ("", "0.0.0.0") else "[::1]" if host == "[::]" else host  # noqa: S104 (read, not bound)
    return f"http://{shown}:{port}/"


if __name__ == "__main__":
    print(address(bind))
