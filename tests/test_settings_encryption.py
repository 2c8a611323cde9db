"""FIELD_ENCRYPTION_KEYS: production refuses to start without it; development keeps its own key."""

import os
import stat
import subprocess
import sys

from cryptography.fernet import Fernet

from tests.processes import ROOT

PRINT_KEYS = "import config.settings as s; print(','.join(s.FIELD_ENCRYPTION_KEYS))"


def start(var_dir, **variables):
    """Import config.settings in a fresh interpreter with exactly these variables."""
    clean = {k: v for k, v in os.environ.items() if k in {"PATH", "HOME", "LANG"}}
    return subprocess.run(
        [sys.executable, "-c", PRINT_KEYS],
        cwd=ROOT,
        env=clean | {"CLARION_VAR_DIR": str(var_dir)} | variables,
        capture_output=True,
        text=True,
        check=False,
    )


def test_production_refuses_to_start_without_encryption_keys(tmp_path):
    result = start(tmp_path, DEBUG="0", SECRET_KEY="x" * 50)
    assert result.returncode != 0
    assert "ImproperlyConfigured: FIELD_ENCRYPTION_KEYS must be set when DEBUG is off" in result.stderr
    assert not (tmp_path / "field-encryption.key").exists()


def test_production_starts_with_the_keys_newest_first(tmp_path):
    new, old = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    result = start(tmp_path, DEBUG="0", SECRET_KEY="x" * 50, FIELD_ENCRYPTION_KEYS=f" {new} ,{old}")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"{new},{old}"


def test_a_key_that_is_not_a_fernet_key_stops_start_up_without_echoing_it(tmp_path):
    good, bad = Fernet.generate_key().decode(), "my-very-secret-passphrase"
    result = start(tmp_path, DEBUG="0", SECRET_KEY="x" * 50, FIELD_ENCRYPTION_KEYS=f"{good},{bad}")
    assert result.returncode != 0
    assert "FIELD_ENCRYPTION_KEYS: key 2 is not a Fernet key" in result.stderr
    assert bad not in result.stderr and good not in result.stderr


def test_development_makes_a_key_once_and_keeps_it(tmp_path):
    first = start(tmp_path, DEBUG="1")
    assert first.returncode == 0, first.stderr
    key_file = tmp_path / "field-encryption.key"
    assert first.stdout.strip() == key_file.read_text().strip()
    Fernet(first.stdout.strip())  # a real key
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600  # readable by its owner only
    again = start(tmp_path, DEBUG="1")
    assert again.stdout == first.stdout  # running it again keeps your data


def test_development_uses_the_variable_when_it_is_set(tmp_path):
    key = Fernet.generate_key().decode()
    result = start(tmp_path, DEBUG="1", FIELD_ENCRYPTION_KEYS=key)
    assert result.stdout.strip() == key
    assert not (tmp_path / "field-encryption.key").exists()
