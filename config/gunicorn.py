"""gunicorn settings for the web process, in both run modes (see Procfile)."""

import os

bind = os.environ.get("WEB_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
threads = int(os.environ.get("WEB_THREADS", "4"))
timeout = 30
accesslog = "-"
reload = os.environ.get("DEBUG", "").lower() in {"1", "true", "yes", "on"}
# gunicorn 27's control socket defaults to one path per user; two Clarions on one
# machine would fight over it, and nothing here uses it.
control_socket_disable = True
