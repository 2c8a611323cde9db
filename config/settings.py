"""Clarion's settings: one module, driven by environment variables.

Defaults give the embedded run mode (SQLite and Celery's filesystem broker under
``var/``); production sets ``DATABASE_URL``, ``CELERY_BROKER_URL``, ``SECRET_KEY``
and friends. The README has a table of every variable.
"""

import re
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import dj_database_url
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

from config.env import env_bool, env_fernet_keys, env_int, env_list, env_str, env_url, kept_fernet_key
from segments import pushhosts

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("CLARION_VAR_DIR", str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)

DEBUG = env_bool("DEBUG", False)

# A development key only with DEBUG on: a production process without SECRET_KEY
# must refuse to start rather than sign sessions with a key everyone can read.
SECRET_KEY = env_str("SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY must be set when DEBUG is off. For local development set DEBUG=1 (make run does)."
        )
    SECRET_KEY = "django-insecure-clarion-development-only-key-do-not-use-in-production"  # noqa: S105 (DEBUG only)

# The keys that encrypt the push credentials in the database (accounts/encryption.py),
# newest first: saving uses the first, reading tries each, so a new key goes in front and
# the old ones stay until `manage.py rotate_credentials` has re-encrypted every secret.
# Production refuses to start without one, as without SECRET_KEY: every install holds a
# VAPID private key, and a credential stored in plain text is one database dump from a
# push to every subscriber. In development a key is made once under var/ and kept.
FIELD_ENCRYPTION_KEYS = env_fernet_keys("FIELD_ENCRYPTION_KEYS")
if not FIELD_ENCRYPTION_KEYS:
    if not DEBUG:
        raise ImproperlyConfigured(
            "FIELD_ENCRYPTION_KEYS must be set when DEBUG is off: it encrypts the push credentials in the "
            "database. Make a key with: python -c 'from cryptography.fernet import Fernet; "
            "print(Fernet.generate_key().decode())' (the README's Encryption keys)."
        )
    FIELD_ENCRYPTION_KEYS = [kept_fernet_key(VAR_DIR / "field-encryption.key")]

PUBLIC_BASE_URL = env_url("PUBLIC_BASE_URL", "http://127.0.0.1:8000")
_public_host = urlsplit(PUBLIC_BASE_URL).hostname
# The contact push services see in our VAPID tokens (RFC 8292 section 2.1).
VAPID_SUBJECT = env_url("VAPID_SUBJECT", f"mailto:push@{_public_host}", schemes=("mailto", "https"))
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", _public_host] if DEBUG else [_public_host])
CSRF_TRUSTED_ORIGINS = env_list(
    "CSRF_TRUSTED_ORIGINS", [f"{urlsplit(PUBLIC_BASE_URL).scheme}://{urlsplit(PUBLIC_BASE_URL).netloc}"]
)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "template_partials",
    "django_celery_beat",
    "ninja",  # serves the API docs' Swagger UI from static files, not a CDN
    "axes",  # login throttling (accounts/throttle.py)
    # Ours, bottom to top (DESIGN.md): a lower app never imports a higher one.
    "segments",
    "delivery",
    "campaigns",
    "stats",
    # Last on purpose: its post_migrate handler grants the roles their permissions,
    # so every other app's permissions must exist by then (accounts/roles.py).
    "accounts",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Every view needs a login unless it is marked @login_not_required: a page added
    # later is private by default instead of public by mistake.
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Last, as django-axes asks: it turns a login the throttle refused into the
    # lockout page, after the login view has answered.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
# The largest request body read into memory: API batches of 1,000 records fit
# with room to spare; more is refused with 413 before it is parsed.
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("MAX_REQUEST_BODY_MB", 5, minimum=1) * 1024 * 1024
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "accounts.context_processors.navigation",
            ],
        },
    },
]


def _database(url):
    try:
        config = dj_database_url.parse(url, conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 60, minimum=0))
    except ValueError as exc:
        raise ImproperlyConfigured(f"DATABASE_URL is not a database URL Clarion understands: {exc}") from None
    if config["ENGINE"] == "django.db.backends.sqlite3":
        # Web, worker and beat share one file in the embedded mode: WAL lets readers
        # run beside the writer, IMMEDIATE transactions take the write lock up front
        # (no upgrade deadlocks), and the timeout waits out a busy writer.
        config["CONN_MAX_AGE"] = 0
        config["OPTIONS"] = {
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
        }
        # A file, not memory, so a Celery worker started by a test sees the test data.
        config["TEST"] = {"NAME": str(VAR_DIR / "test-db.sqlite3")}
    elif config["ENGINE"] == "django.db.backends.postgresql":
        config["CONN_HEALTH_CHECKS"] = True
        # Django's backend, checking a reused connection's socket before a SELECT 1.
        config["ENGINE"] = "config.postgresql"
    else:
        raise ImproperlyConfigured("DATABASE_URL must point at PostgreSQL (postgres://…) or SQLite (sqlite:///…).")
    return config


DATABASES = {"default": _database(env_str("DATABASE_URL", f"sqlite:///{VAR_DIR / 'clarion.sqlite3'}"))}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
# Login throttling (accounts/throttle.py has the policy). Axes' backend comes first: it
# refuses a locked username or address before a password is checked.
AUTHENTICATION_BACKENDS = ["axes.backends.AxesStandaloneBackend", "django.contrib.auth.backends.ModelBackend"]
# Failed logins per username, from any address, before it is locked: a person who
# mistypes gets five tries; a guesser gets five per cool-off (480 a day, whatever
# addresses they rotate). The price: a stranger can keep one username locked by
# guessing; the owner waits out the cool-off or an Admin deletes the attempts in the
# Django admin (Access attempts).
LOGIN_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 5, minimum=1)
# Failed logins per address, for any usernames: one address spraying a common password
# over many accounts. Higher, so a few colleagues' typos behind one office NAT address
# do not lock the office out.
LOGIN_FAILURE_LIMIT_PER_ADDRESS = env_int("LOGIN_FAILURE_LIMIT_PER_ADDRESS", 20, minimum=1)
# How long a failure counts, and so how long a lock lasts.
LOGIN_COOLOFF_MINUTES = env_int("LOGIN_COOLOFF_MINUTES", 15, minimum=1)
AXES_HANDLER = "accounts.throttle.LoginThrottle"
AXES_FAILURE_LIMIT = LOGIN_FAILURE_LIMIT
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]  # what LoginThrottle counts by
AXES_COOLOFF_TIME = timedelta(minutes=LOGIN_COOLOFF_MINUTES)
AXES_RESET_ON_SUCCESS = True  # a successful login clears its username's failures
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False  # so the page's "try again in" holds
AXES_CLIENT_IP_CALLABLE = "accounts.params.client_ip"  # BEHIND_TLS_PROXY, like the SDK's limit
AXES_LOCKOUT_CALLABLE = "accounts.views.locked_out"
AXES_VERBOSE = False

LANGUAGE_CODE = "en-us"
# Stored in UTC always (USE_TZ); TIME_ZONE is what the dashboard shows and the
# default for campaigns without their own.
TIME_ZONE = env_str("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)  # whitenoise warns at start-up when it is missing
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        # Hashed, compressed files in production (collectstatic); plain files while developing.
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage",
    },
}
MEDIA_ROOT = VAR_DIR / "media"

# Security: the production defaults are strict; each can be relaxed by its variable.
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", not DEBUG)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", not DEBUG)
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 31_536_000, minimum=0)
# includeSubDomains and preload bind every host of the domain to HTTPS, preload for
# months after it is undone: a commitment only the domain's operator can make, so off
# unless asked for, and check --deploy's reminders of them (W005, W021) are silenced.
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", False)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
SILENCED_SYSTEM_CHECKS = ["security.W005", "security.W021"]
BEHIND_TLS_PROXY = env_bool("BEHIND_TLS_PROXY", False)
if BEHIND_TLS_PROXY:
    # Only behind a proxy that sets these headers itself; otherwise clients could
    # forge them. The client's address is then the last X-Forwarded-For entry.
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
SECURE_REFERRER_POLICY = "same-origin"
# Content-Security-Policy (django-csp) on every response: our pages run only our own
# script files and style sheets — no inline code, handlers or eval — so markup that
# slips into a page cannot run. Images may also be data: or any https URL: marketers'
# notification and pop-up images are shown in the wizard's previews. Browsers report what
# it refused to /csp-report/ (config/csp_report.py), which logs one line per report.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:", "https:"],
        "connect-src": [SELF],
        "frame-ancestors": [NONE],
        "form-action": [SELF],
        "base-uri": [NONE],
        "object-src": [NONE],
        "report-uri": "/csp-report/",
    },
}

# The cache holds rate-limit counters shared by every web process: Redis in
# production, a database table in the embedded mode (createcachetable makes it).
CACHE_URL = env_str("CACHE_URL", "db://")
if CACHE_URL.startswith(("redis://", "rediss://")):
    CACHES = {"default": {"BACKEND": "config.cache.RedisCache", "LOCATION": CACHE_URL}}
elif CACHE_URL == "db://":
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": "clarion_cache"}}
else:
    raise ImproperlyConfigured("CACHE_URL must be redis://…, rediss://… or db://")
RATELIMIT_USE_CACHE = "default"
# Requests per site key and visitor address to the web SDK's endpoints.
SDK_RATE_LIMIT = env_str("SDK_RATE_LIMIT", "300/m")
if not re.fullmatch(r"[1-9][0-9]*/[smhd]", SDK_RATE_LIMIT):
    raise ImproperlyConfigured(f"SDK_RATE_LIMIT must look like 300/m (per s, m, h or d); got {SDK_RATE_LIMIT!r}.")
# API calls without a valid key, per address (each key has its own rate, set in Settings).
API_ANONYMOUS_RATE_LIMIT = env_str("API_ANONYMOUS_RATE_LIMIT", "300/m")
if not re.fullmatch(r"[1-9][0-9]*/[smhd]", API_ANONYMOUS_RATE_LIMIT):
    raise ImproperlyConfigured(
        f"API_ANONYMOUS_RATE_LIMIT must look like 300/m (per s, m, h or d); got {API_ANONYMOUS_RATE_LIMIT!r}."
    )
# The demo shop at /demo/site/ (config/demo_site.py): it makes a Site and a VAPID key
# and signs in anyone as its demo accounts, so it is for development only.
DEMO_SITE = env_bool("DEMO_SITE", DEBUG)

# Email (a campaign owner's safety-check alert): printed by the console backend unless
# EMAIL_HOST names an SMTP server.
EMAIL_HOST = env_str("EMAIL_HOST", "")
EMAIL_BACKEND = (
    "django.core.mail.backends.smtp.EmailBackend" if EMAIL_HOST else "django.core.mail.backends.console.EmailBackend"
)
EMAIL_PORT = env_int("EMAIL_PORT", 587, minimum=1)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", True)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", f"Clarion <clarion@{_public_host}>")

# Celery. The embedded default is the filesystem transport under var/ so nothing
# but Python is needed; production points CELERY_BROKER_URL at Redis.
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", "filesystem://")
CELERY_BROKER_TRANSPORT_OPTIONS = {}
if CELERY_BROKER_URL.startswith("filesystem://"):
    # filesystem:///some/dir picks the folder; plain filesystem:// uses var/celery.
    _broker_dir = Path(urlsplit(CELERY_BROKER_URL).path or VAR_DIR / "celery")
    (_broker_dir / "queue").mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_URL = "filesystem://localhost/"  # the host is ignored; naming one quiets kombu
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        # Without this kombu writes its broadcast exchange files to ./control.
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
    }
elif not CELERY_BROKER_URL.startswith(("redis://", "rediss://")):
    raise ImproperlyConfigured("CELERY_BROKER_URL must be redis://…, rediss://… or filesystem://…")
else:
    # A task not acknowledged within this time is handed to another worker (Redis
    # redelivery). It must outlast every countdown/ETA we use, or a delayed task
    # would run twice (DESIGN.md, "How a scheduled run flows").
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "visibility_timeout": env_int("CELERY_VISIBILITY_TIMEOUT", 6 * 3600, minimum=60),
    }
    if CELERY_BROKER_URL.startswith("redis://"):
        # kombu's Redis transport, publishing through one client instead of a new one per
        # message (config/broker.py).
        CELERY_BROKER_TRANSPORT = "config.broker:Transport"
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Tasks are acknowledged after they finish, and a task whose worker died is
# requeued instead of lost; one message at a time per process keeps the rest in
# the queue for other workers. Tasks therefore take ids and are safe to run twice.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Without this, a late-acked task still running when the broker connection drops
# is redelivered and would run twice alongside the original (Celery 5.1+).
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = True
# Several Clarions can share one Redis by naming their own queue.
CELERY_TASK_DEFAULT_QUEUE = env_str("CELERY_QUEUE", "celery")
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_IGNORE_RESULT = True
CELERY_RESULT_EXPIRES = None  # no result backend, so nothing for beat to clean up
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_WORKER_HIJACK_ROOT_LOGGER = False

# The delivery engine (delivery/providers/registry.py, delivery/actions/sending.py).
# sandbox: record and send nothing until a channel has credentials (make run); live: send.
PUSH_PROVIDERS = env_str("PUSH_PROVIDERS", "sandbox" if DEBUG else "live", choices=("sandbox", "live"))
FCM_ENDPOINT = env_url("FCM_ENDPOINT", "https://fcm.googleapis.com")
APNS_HOST = env_str("APNS_HOST", "")  # empty: Apple's production or development host (Settings)
APNS_PORT = env_int("APNS_PORT", 443, minimum=1)
APNS_CAFILE = env_str("APNS_CAFILE", "")  # a CA bundle to trust instead of the system's (tests)
# Seconds to wait for a push service's answer (the seed's longest, Safari's, is 30).
PUSH_READ_TIMEOUT = env_int("PUSH_READ_TIMEOUT", 30, minimum=1)
# The push services a browser's subscription may point the worker at (segments/pushhosts.py:
# the sources of the defaults, and the check at save and send time). Its test allowances,
# WEBPUSH_ALLOW_HTTP and WEBPUSH_ALLOWED_NETWORKS, are deliberately not read from the
# environment (tests/settings.py sets them), as for Linked Content.
WEBPUSH_ALLOWED_HOSTS = pushhosts.allowed_hosts(env_list("WEBPUSH_ALLOWED_HOSTS", pushhosts.DEFAULT_ALLOWED_HOSTS))
# Messages a send task claims per batch, and how long its claim lasts unless renewed: a working
# batch renews it every third of the lease (delivery/actions/claims.py), so a dead worker's rows
# are claimed again at most a lease (plus the 15 s sweep) after its last renewal.
DELIVERY_BATCH_SIZE = env_int("DELIVERY_BATCH_SIZE", 1000, minimum=1)
DELIVERY_CLAIM_LEASE = env_int("DELIVERY_CLAIM_LEASE", 60, minimum=5)
# Days a finished dispatch keeps its messages (stats/actions/retention.py): after that, once its
# roll-up is current, they are deleted in batches and its counts kept as roll-ups. At most ten
# years: a longer wish is "never", and the table then grows by every message ever sent.
MESSAGE_RETENTION_DAYS = env_int("MESSAGE_RETENTION_DAYS", 90, minimum=1, maximum=3650)

LOG_LEVEL = env_str("LOG_LEVEL", "INFO", choices=("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"))
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "filters": {"forbidden_in_one_line": {"()": "accounts.forbidden.ForbiddenInOneLine"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # A 403 is one line with method, path, user and reason, not a traceback.
        "django.request": {"filters": ["forbidden_in_one_line"]},
        "django.security.csrf": {"filters": ["forbidden_in_one_line"]},
        # Axes logs several lines per failed login with the username masked; the one
        # line per lockout that names it comes from accounts.throttle.
        "axes": {"level": "ERROR"},
    },
}
