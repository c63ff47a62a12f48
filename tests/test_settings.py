"""Settings come from the environment, with safe defaults, and refuse unsafe production."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from cycle2021 import env

ROOT = Path(__file__).resolve().parent.parent


def _load_settings(**environ):
    """Import the settings in a fresh interpreter with only the given variables set."""
    base = {k: v for k, v in os.environ.items() if k not in env.VARIABLES}
    return subprocess.run(
        [sys.executable, "-c", "import django; django.setup(); from django.conf import settings; "
         "print(settings.DATABASES['default']['ENGINE'], settings.CELERY_TASK_ALWAYS_EAGER, "
         "settings.LANGUAGE_CODE, settings.TIME_ZONE, settings.DEBUG)"],
        cwd=ROOT,
        env={**base, "DJANGO_SETTINGS_MODULE": "cycle2021.settings", **environ},
        capture_output=True,
        text=True,
        timeout=60,
    )  # fmt: skip


@pytest.mark.parametrize("key", [None, "", "change-me", "django-insecure-abc"])
def test_it_refuses_to_start_without_a_real_secret_key_when_debug_is_off(key):
    environ = {} if key is None else {"SECRET_KEY": key}
    result = _load_settings(**environ)
    assert result.returncode != 0
    assert "SECRET_KEY is missing or a placeholder" in result.stderr


def test_with_no_configuration_but_debug_it_runs_on_sqlite_with_tasks_inline():
    result = _load_settings(DEBUG="1")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [
        "django.db.backends.sqlite3", "True", "fr", "Africa/Casablanca", "True",
    ]  # fmt: skip


def test_database_and_redis_urls_switch_the_engines():
    result = _load_settings(
        SECRET_KEY="a-real-key-for-this-test-7c9f2e4b1a0d8c6e5f3a2b1c0d9e8f7a",
        DATABASE_URL="postgres://app@db.example:5432/tracker",
        REDIS_URL="redis://cache.example:6379/0",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[:2] == ["django.db.backends.postgresql", "False"]


def test_a_malformed_boolean_is_refused_with_its_name():
    result = _load_settings(DEBUG="maybe")
    assert result.returncode != 0
    assert "DEBUG must be a boolean" in result.stderr


def test_the_readme_documents_every_variable_the_settings_read():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    table = set(re.findall(r"^\| `([A-Z_]+)` \|", readme, flags=re.MULTILINE))
    assert table == set(env.VARIABLES)
