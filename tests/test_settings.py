"""Settings come from the environment and refuse bad values loudly."""

import os
import subprocess
import sys

import pytest
from django.core.exceptions import ImproperlyConfigured

from config import env
from config.celery import app
from tests.processes import ROOT


def load_settings(**variables):
    """Import config.settings in a fresh interpreter with exactly these variables."""
    clean = {k: v for k, v in os.environ.items() if k in {"PATH", "HOME", "LANG"}}
    return subprocess.run(
        [sys.executable, "-c", "import config.settings as s; print(s.DATABASES['default']['ENGINE'], s.DEBUG)"],
        cwd=ROOT,
        env=clean | {"CLARION_VAR_DIR": str(ROOT / "var")} | variables,
        capture_output=True,
        text=True,
        check=False,
    )


def test_production_refuses_to_start_without_a_secret_key():
    result = load_settings(DEBUG="0")
    assert result.returncode != 0
    assert "SECRET_KEY must be set when DEBUG is off" in result.stderr


def test_debug_starts_with_the_embedded_defaults():
    result = load_settings(DEBUG="1")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["django.db.backends.sqlite3", "True"]


@pytest.mark.parametrize(
    ("variables", "message"),
    [
        ({"DEBUG": "maybe"}, "DEBUG must be one of"),
        ({"DEBUG": "1", "DATABASE_URL": "mysql://root@localhost/x"}, "DATABASE_URL must point at PostgreSQL"),
        ({"DEBUG": "1", "DATABASE_URL": "nonsense"}, "DATABASE_URL"),
        ({"DEBUG": "1", "CELERY_BROKER_URL": "amqp://guest@localhost//"}, "CELERY_BROKER_URL must be"),
        ({"DEBUG": "1", "PUBLIC_BASE_URL": "clarion.example.com"}, "PUBLIC_BASE_URL must be an absolute URL"),
        ({"DEBUG": "1", "SECURE_HSTS_SECONDS": "a year"}, "SECURE_HSTS_SECONDS must be a whole number"),
        ({"DEBUG": "1", "LOG_LEVEL": "LOUD"}, "LOG_LEVEL must be one of"),
        ({"DEBUG": "1", "DEMO_SITE": "please"}, "DEMO_SITE must be one of"),
        ({"DEBUG": "1", "MESSAGE_RETENTION_DAYS": "0"}, "MESSAGE_RETENTION_DAYS must be at least 1"),
        ({"DEBUG": "1", "MESSAGE_RETENTION_DAYS": "99999"}, "MESSAGE_RETENTION_DAYS must be at most 3650"),
    ],
)
def test_a_bad_value_stops_start_up_and_names_the_variable(variables, message):
    result = load_settings(**variables)
    assert result.returncode != 0
    assert message in result.stderr


def test_production_hosts_and_origins_follow_the_public_url():
    result = subprocess.run(
        [sys.executable, "-c", "import config.settings as s; print(s.ALLOWED_HOSTS, s.CSRF_TRUSTED_ORIGINS)"],
        cwd=ROOT,
        env={
            "PATH": os.environ["PATH"],
            "SECRET_KEY": "x" * 50,
            "FIELD_ENCRYPTION_KEYS": os.environ["FIELD_ENCRYPTION_KEYS"],
            "PUBLIC_BASE_URL": "https://push.example.com/",
        },
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout.strip() == "['push.example.com'] ['https://push.example.com']"


def test_helpers_parse_what_they_are_given(monkeypatch):
    monkeypatch.setenv("X_LIST", " a, b,,c ")
    monkeypatch.setenv("X_BOOL", "Yes")
    monkeypatch.setenv("X_INT", "7")
    assert env.env_list("X_LIST") == ["a", "b", "c"]
    assert env.env_bool("X_BOOL") is True
    assert env.env_int("X_INT", 1) == 7
    assert env.env_int("X_MISSING", 3) == 3
    with pytest.raises(ImproperlyConfigured, match="X_INT must be at least 10"):
        env.env_int("X_INT", 1, minimum=10)


def test_celery_runs_with_the_reliability_settings_of_the_design():
    conf = app.conf
    assert conf.task_acks_late is True
    assert conf.task_reject_on_worker_lost is True
    assert conf.worker_prefetch_multiplier == 1
    assert conf.worker_cancel_long_running_tasks_on_connection_loss is True
    assert conf.beat_scheduler == "django_celery_beat.schedulers:DatabaseScheduler"
    if conf.broker_url.startswith("redis"):
        assert conf.broker_transport_options["visibility_timeout"] >= 3600
