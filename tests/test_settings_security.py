"""Production's security defaults: HSTS for this host only, unless the operator asks for more."""

import json
import os
import subprocess
import sys

from cryptography.fernet import Fernet

from tests.processes import ROOT

PRODUCTION = {
    "SECRET_KEY": "x" * 50,
    "PUBLIC_BASE_URL": "https://clarion.example.com",
    "DEBUG": "0",
    "FIELD_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
}


def hsts(**variables):
    """The HSTS settings config.settings makes in a fresh interpreter with exactly these variables."""
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "import json, config.settings as s; print(json.dumps("
            "[s.SECURE_HSTS_SECONDS, s.SECURE_HSTS_INCLUDE_SUBDOMAINS, s.SECURE_HSTS_PRELOAD]))",
        ],
        cwd=ROOT,
        env={"PATH": os.environ["PATH"], "CLARION_VAR_DIR": str(ROOT / "var")} | PRODUCTION | variables,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(result.stdout)


def test_production_sends_hsts_for_this_host_only_by_default():
    # includeSubDomains and preload commit every host of the domain to HTTPS, which
    # only the domain's operator can decide.
    assert hsts() == [31_536_000, False, False]


def test_the_operator_can_ask_for_subdomains_and_preload():
    assert hsts(SECURE_HSTS_INCLUDE_SUBDOMAINS="1", SECURE_HSTS_PRELOAD="1") == [31_536_000, True, True]
