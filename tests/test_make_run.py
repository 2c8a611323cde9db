"""`make run` says where Clarion is: the address the web process binds (WEB_BIND)."""

import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def printed_by_make_run(**env):
    """The line `make run` prints before it starts the processes (its `address` step)."""
    environment = {key: value for key, value in os.environ.items() if key != "WEB_BIND"} | env
    done = subprocess.run(
        ["make", "-s", "address"], cwd=ROOT, env=environment, capture_output=True, text=True, check=True, timeout=30
    )
    return done.stdout.strip()


@pytest.mark.parametrize(
    ("bind", "address"),
    [
        ("127.0.0.1:8123", "http://127.0.0.1:8123/"),
        ("0.0.0.0:9000", "http://127.0.0.1:9000/"),  # every interface: this machine's browser opens loopback
        ("[::1]:8001", "http://[::1]:8001/"),
        ("unix:/run/clarion.sock", "unix:/run/clarion.sock"),
    ],
)
def test_make_run_prints_the_address_web_bind_makes_gunicorn_bind(bind, address):
    assert printed_by_make_run(WEB_BIND=bind).startswith(f"Clarion is starting at {address} ")


def test_without_web_bind_it_prints_gunicorns_default():
    assert printed_by_make_run().startswith("Clarion is starting at http://127.0.0.1:8000/ ")


def test_run_prints_through_the_address_step_and_the_web_process_reads_the_same_file():
    makefile, procfile = (ROOT / "Makefile").read_text(), (ROOT / "Procfile").read_text()
    run = makefile.split("\nrun:", 1)[1].split("\n\n", 1)[0]
    assert "$(MAKE) --no-print-directory address" in run and "8000" not in run
    assert "--config config/gunicorn.py" in procfile
