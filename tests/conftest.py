import os

import pytest

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Under CI every service is provided, so a skipped test is a failure."""
    outcome = yield
    report = outcome.get_result()
    if IN_CI and report.skipped and not hasattr(report, "wasxfail"):
        report.outcome = "failed"
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else report.longrepr
        report.longrepr = f"skipped under CI=true, where every service must be present: {reason}"


@pytest.fixture(autouse=True)
def _english_by_default():
    """Tests read messages in English unless they ask for a language (the site defaults to
    French; tests of French and Arabic messages say so with translation.override)."""
    from django.utils import translation

    with translation.override("en"):
        yield


@pytest.fixture(autouse=True)
def _plain_static_files(settings):
    """Production hashes static files at build time (collectstatic); tests don't build.
    Passwords use a fast hasher: PBKDF2's deliberate slowness only slows the suite."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Throttle counters and cached reports must not leak from one test to the next (the
    cache may be a real Redis under CI)."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


@pytest.fixture(autouse=True)
def _tasks_inline_unless_integration(request, settings, tmp_path):
    """Unit tests run Celery tasks inline, even when REDIS_URL is set (as under CI);
    integration tests (marked `integration`) talk to a real worker instead. Stored files
    go to a temporary directory."""
    from worker import celery_app

    settings.MEDIA_ROOT = tmp_path / "media"
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    if request.node.get_closest_marker("integration"):
        yield
        return
    previous = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = previous
    # Celery keeps "inside a task" in one process-wide flag that each eager call sets and
    # then restores to what it found: eager tasks run by several request threads at once
    # (tests/test_attendance_concurrency.py) can leave it set, and a later test's
    # `.get()` then fails with "Never call result.get() within a task".
    from celery.result import _set_task_join_will_block

    _set_task_join_will_block(False)
