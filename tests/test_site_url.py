"""`make run` serves on PORT, and the links it sends out (SITE_URL) point at that port."""

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="needs make")


def _site_url_of_make_run(*, port: str, environ: dict[str, str]) -> str:
    """Run `make run`'s server line with `runserver` swapped for printing SITE_URL."""
    dry = subprocess.run(  # noqa: S603
        ["make", "-s", "-n", "run", f"PORT={port}"],  # noqa: S607
        cwd=ROOT, capture_output=True, text=True, check=True,
    ).stdout.strip().splitlines()  # fmt: skip
    line = next(row for row in dry if "runserver" in row)
    assert f":{port}" in line.split("runserver", 1)[1]
    command = line.split("DEBUG=", 1)[0] + "sh -c 'printf %s \"$SITE_URL\"'"
    return subprocess.run(  # noqa: S603
        ["sh", "-c", command],  # noqa: S607
        cwd=ROOT, capture_output=True, text=True, check=True, env=environ,
    ).stdout  # fmt: skip


def test_make_run_sets_site_url_to_the_port_it_serves_on():
    environ = {k: v for k, v in os.environ.items() if k != "SITE_URL"}
    assert _site_url_of_make_run(port="9123", environ=environ) == "http://127.0.0.1:9123"


def test_an_explicit_site_url_wins():
    environ = {**os.environ, "SITE_URL": "https://tracker.example"}
    assert _site_url_of_make_run(port="9123", environ=environ) == "https://tracker.example"
