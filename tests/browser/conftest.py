"""Browser tests: Playwright for Python driving Debian's Chromium against a live server.

Without Chromium the tests skip, saying how to get it; under CI=true a skip is a failure
(tests/conftest.py), and .ci/run installs the browser. Playwright's sync API keeps an
event loop on the test thread, so the tests' own ORM calls need DJANGO_ALLOW_ASYNC_UNSAFE
(set in pyproject.toml's pytest env); the server runs in its own thread.
"""

import datetime
import os
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import pytest
from django.utils import timezone

from certificates.services import certificate_issue
from cohorts.models import Attendance, FunderProfile, Organisation
from tests.factories import (
    AttendanceFactory,
    CohortFactory,
    EnrolmentFactory,
    ParticipantFactory,
    SessionFactory,
    UserFactory,
    manager,
    region,
)

CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
PASSWORD = "pass-w0rd-for-tests"  # tests.factories.UserFactory's
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}  # an ordinary phone, portrait


def pytest_collection_modifyitems(items):
    """Every browser test talks to a live server, hence a database committed for real; the
    regions and organisations of the data migrations are restored after each test."""
    here = Path(__file__).parent
    for item in items:
        if here in Path(item.fspath).parents:
            item.add_marker(pytest.mark.browser)
            item.add_marker(pytest.mark.django_db(transaction=True, serialized_rollback=True))


@pytest.fixture(scope="session")
def browser(django_db_setup, django_db_blocker):
    if not CHROMIUM.exists():
        pytest.skip(
            f"Chromium not found at {CHROMIUM}: install Debian's package "
            "(apt-get install chromium) or set CHROMIUM to its path; .ci/run installs it"
        )
    from django.db import connections
    from playwright.sync_api import sync_playwright

    # Once Playwright runs its event loop, the test thread gets new connection objects
    # (Django keeps them per context), without the copy of the migrated data that
    # serialized_rollback restores after each flush: hand it over.
    saved = {
        alias: connections[alias]._test_serialized_contents
        for alias in connections
        if hasattr(connections[alias], "_test_serialized_contents")
    }
    with sync_playwright() as playwright:
        for alias, contents in saved.items():
            connections[alias]._test_serialized_contents = contents
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS)
        yield browser
        browser.close()


@pytest.fixture
def open_page(browser, live_server) -> Callable:
    """Open a page in a fresh browser context: `open_page(phone=True, locale="ar")`.

    `locale` sets the browser's language (its Accept-Language header).
    """
    contexts = []

    def opener(*, phone: bool = False, locale: str = "fr-FR"):
        options = {"base_url": live_server.url, "locale": locale, "accept_downloads": True}
        if phone:
            options |= {"viewport": PHONE, "is_mobile": True, "has_touch": True}
        else:
            options |= {"viewport": DESKTOP}
        context = browser.new_context(**options)
        context.set_default_timeout(15_000)
        contexts.append(context)
        return context.new_page()

    yield opener
    for context in contexts:
        context.close()


def sign_in(page, username: str, password: str = PASSWORD) -> None:
    """Sign in through the login form, as a person would."""
    page.goto("/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("form[action='/login/'] button[type=submit]")
    page.wait_for_load_state()


@pytest.fixture
def world(db):
    """A small programme: an ended cohort (certificate issued) and a running one.

    - `ended`: 4 sessions in 2019; `trainee` attended all, so holds a certificate.
    - `running`: 2 sessions held (the first marked, the second not yet), 2 to come;
      `trainee` and 7 others (4 women) are enrolled; a manager of MA-04 runs it.
    """
    now = timezone.now()
    rabat = region("MA-04")
    trainee_user = UserFactory(username="amina", first_name="Amina", last_name="Tazi")
    trainee = ParticipantFactory(
        first_name="Amina",
        last_name="TAZI",
        first_name_ar="أمينة",
        last_name_ar="التازي",
        sex="F",
        region=rabat,
        user=trainee_user,
        email="amina@example.org",
    )
    ended = CohortFactory(code="2019-rsk", name="Promotion 2019 — Rabat-Salé-Kénitra", year=2019)
    ended_sessions = [
        SessionFactory(
            cohort=ended,
            title=f"Module {i + 1}",
            starts_at=datetime.datetime(2019, 3 + i, 12, 9, tzinfo=datetime.UTC),
            ends_at=datetime.datetime(2019, 3 + i, 12, 16, tzinfo=datetime.UTC),
        )
        for i in range(4)
    ]
    EnrolmentFactory(participant=trainee, cohort=ended)
    for session in ended_sessions:
        AttendanceFactory(session=session, participant=trainee)
    certificate = certificate_issue(participant=trainee, cohort=ended, notify=False)

    running = CohortFactory(code="2021-rsk", name="Promotion 2021 — Rabat-Salé-Kénitra", year=2021)
    offsets = [-20, -2, 5, 30]  # days from now: two held, two to come
    running_sessions = [
        SessionFactory(
            cohort=running,
            title=f"Atelier {i + 1}",
            starts_at=now + datetime.timedelta(days=days),
            ends_at=now + datetime.timedelta(days=days, hours=6),
            planned_hours=Decimal("6.00"),
        )
        for i, days in enumerate(offsets)
    ]
    others = [
        ParticipantFactory(
            sex="F" if i < 4 else "M", region=rabat, role="elu" if i % 2 else "cadre"
        )
        for i in range(7)
    ]
    for person in [trainee, *others]:
        EnrolmentFactory(participant=person, cohort=running, enrolled_on=datetime.date(2021, 1, 15))
        AttendanceFactory(
            session=running_sessions[0], participant=person, status=Attendance.Status.PRESENT
        )
    rsk_manager = manager("manager-rsk", regions=["MA-04"])
    funder = UserFactory(username="funder-afd")
    FunderProfile.objects.create(
        user=funder, organisation=Organisation.objects.get(short_name="AFD")
    )
    return {
        "trainee": trainee,
        "trainee_user": trainee_user,
        "others": others,
        "certificate": certificate,
        "ended": ended,
        "running": running,
        "running_sessions": running_sessions,
        "manager": rsk_manager,
        "funder": funder,
    }
