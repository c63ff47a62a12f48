"""Settings come from the environment, with safe defaults, and refuse unsafe production."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.urls import reverse
from joserfc.jwk import ECKey

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


# HTTPS in production ----------------------------------------------------------------------

# What an operator sets (see README): DEBUG off, a real key, the host names.
PRODUCTION = {
    "SECRET_KEY": "n5Q-8v2Lr0Yc4Tz7Hk1Wm9Bx3Fj6Gd2Ps8Ua5Ne0Ri7Ko4Vy1Xt-prod-like-key",
    "ALLOWED_HOSTS": "tracker.region2021.example",
    "DATABASE_URL": "postgres://app@db.example:5432/tracker",  # never connected to
    "CREDENTIAL_KEYS": json.dumps(
        {
            "keys": [
                ECKey.generate_key("P-256", {"kid": "test-key"}, private=True).as_dict(private=True)
            ]
        }
    ),
}


def _check_deploy(**environ):
    return _run(["manage.py", "check", "--deploy", "--fail-level", "WARNING"], environ)


def _run(args, environ):
    """Run our interpreter with only the given variables of the settings set, as deployed
    (without pytest's DJANGO_ALLOW_ASYNC_UNSAFE, which check --deploy rightly refuses)."""
    dropped = {*env.VARIABLES, "DJANGO_ALLOW_ASYNC_UNSAFE"}
    base = {k: v for k, v in os.environ.items() if k not in dropped}
    return subprocess.run(  # noqa: S603 - our own interpreter, fixed arguments
        [sys.executable, *args],
        cwd=ROOT,
        env={**base, "DJANGO_SETTINGS_MODULE": "cycle2021.settings", **environ},
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize("proxy", [{}, {"BEHIND_HTTPS_PROXY": "1"}], ids=["direct", "proxy"])
def test_production_settings_pass_check_deploy_without_a_warning(proxy):
    result = _check_deploy(**PRODUCTION, **proxy)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("System check identified no issues"), result.stdout
    assert "WARNINGS" not in result.stderr + result.stdout


def test_check_deploy_warns_when_the_credentials_key_is_not_set():
    without = {k: v for k, v in PRODUCTION.items() if k != "CREDENTIAL_KEYS"}
    result = _check_deploy(**without)
    assert result.returncode != 0 and "certificates.W001" in result.stderr


def test_check_deploy_fails_when_https_is_turned_off():
    result = _check_deploy(**PRODUCTION, SECURE_SSL_REDIRECT="0", SECURE_HSTS_SECONDS="0")
    assert result.returncode != 0
    assert "security.W004" in result.stderr and "security.W008" in result.stderr


def _https_settings(**environ) -> dict:
    names = ["SECURE_SSL_REDIRECT", "SECURE_HSTS_SECONDS", "SECURE_HSTS_INCLUDE_SUBDOMAINS",
             "SECURE_HSTS_PRELOAD", "SESSION_COOKIE_SECURE", "CSRF_COOKIE_SECURE",
             "SECURE_PROXY_SSL_HEADER"]  # fmt: skip
    result = _run(
        ["-c", "import django, json; django.setup(); from django.conf import settings; "
         f"print(json.dumps({{n: getattr(settings, n, None) for n in {names!r}}}))"],
        environ,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_https_is_on_by_default_in_production_and_off_in_development():
    assert _https_settings(**PRODUCTION) == {
        "SECURE_SSL_REDIRECT": True,
        "SECURE_HSTS_SECONDS": 31536000,
        "SECURE_HSTS_INCLUDE_SUBDOMAINS": False,
        "SECURE_HSTS_PRELOAD": False,
        "SESSION_COOKIE_SECURE": True,
        "CSRF_COOKIE_SECURE": True,
        "SECURE_PROXY_SSL_HEADER": None,
    }
    assert _https_settings(DEBUG="1") == {
        "SECURE_SSL_REDIRECT": False,
        "SECURE_HSTS_SECONDS": 0,
        "SECURE_HSTS_INCLUDE_SUBDOMAINS": False,
        "SECURE_HSTS_PRELOAD": False,
        "SESSION_COOKIE_SECURE": False,
        "CSRF_COOKIE_SECURE": False,
        "SECURE_PROXY_SSL_HEADER": None,
    }


def test_the_environment_sets_each_https_setting():
    chosen = _https_settings(
        **PRODUCTION,
        BEHIND_HTTPS_PROXY="1",
        SECURE_HSTS_SECONDS="600",
        SECURE_HSTS_INCLUDE_SUBDOMAINS="1",
        SECURE_HSTS_PRELOAD="1",
    )
    assert chosen["SECURE_HSTS_SECONDS"] == 600
    assert chosen["SECURE_HSTS_INCLUDE_SUBDOMAINS"] is chosen["SECURE_HSTS_PRELOAD"] is True
    assert chosen["SECURE_PROXY_SSL_HEADER"] == ["HTTP_X_FORWARDED_PROTO", "https"]
    # Chosen on, they are no longer silenced, and check --deploy is still clean.
    result = _check_deploy(
        **PRODUCTION, SECURE_HSTS_INCLUDE_SUBDOMAINS="1", SECURE_HSTS_PRELOAD="1"
    )
    assert result.stdout.strip() == "System check identified no issues (0 silenced)."


@pytest.mark.django_db
def test_the_tests_themselves_are_not_redirected_to_https(client, settings):
    """DEBUG is off as in production; pyproject.toml's SECURE_SSL_REDIRECT=0 keeps HTTP."""
    assert settings.DEBUG is False and settings.SECURE_SSL_REDIRECT is False
    assert client.get(reverse("web:login")).status_code == 200
