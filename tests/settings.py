"""The test suite's settings: config.settings with the environment a test run needs.

Only defaults are set here, so DATABASE_URL and CELERY_BROKER_URL from the caller
(CI: PostgreSQL and Redis) still win.
"""

import os
import uuid

os.environ.setdefault("SECRET_KEY", "insecure-key-for-the-test-suite-only")
# Encrypts the push credentials the tests save; in os.environ, so the Celery processes tests start read it too.
os.environ.setdefault("FIELD_ENCRYPTION_KEYS", "wEtSjkcL38XnWz8H3jlnbLdbfLgXAYbcsFLN9NcPeuI=")
os.environ.setdefault("DEBUG", "0")
# Tests speak plain HTTP to the test client and the live server.
os.environ.setdefault("SECURE_SSL_REDIRECT", "0")
os.environ.setdefault("SESSION_COOKIE_SECURE", "0")
os.environ.setdefault("CSRF_COOKIE_SECURE", "0")
os.environ.setdefault("ALLOWED_HOSTS", "127.0.0.1,localhost,testserver")

from config.settings import *  # noqa: F403
from config.settings import CACHES, STORAGES

# Redis outlives a test run, and the next run's test database numbers its rows from 1 again:
# a key one run cached (a forecast, a site, an API key) must not answer the next run's rows of
# the same id. One key prefix per run, in os.environ so the Celery processes tests start share it.
os.environ.setdefault("CLARION_TEST_CACHE_PREFIX", f"run-{uuid.uuid4().hex[:12]}")
CACHES = {"default": {**CACHES["default"], "KEY_PREFIX": os.environ["CLARION_TEST_CACHE_PREFIX"]}}

# No collectstatic before tests: serve static files from the apps' folders.
STORAGES = {**STORAGES, "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast; tests only
# The local Web Push services (tests/pushservices/) listen on loopback over plain http, on
# any port; production accepts only https endpoints of WEBPUSH_ALLOWED_HOSTS at public
# addresses (segments/pushhosts.py). Tests of that refusal turn these off.
WEBPUSH_ALLOW_HTTP = True
WEBPUSH_ALLOWED_NETWORKS = ["127.0.0.0/8"]
