"""Every page, for each kind of user, fed malformed query strings and posts: a clear answer
(200 with a message, 400, 403, 404, 405 or a redirect), never a server error, and nothing
written to the database."""

import datetime
from decimal import Decimal

import pytest
from django.test import Client
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
)

pytestmark = pytest.mark.django_db

GARBAGE = [
    "",
    "?year=abc&region=%3Cscript%3E&page=-1&cohort=x",
    "?year=99999999999999999999&region=MA-99&status=nope&q=%00",
    "?format=pdf&page=999999&year=all&standing=%27%22",
    "?format=csv&region=MA-04&q=" + "x" * 5000,
]
POSTS = [
    {},
    {"person": ["abc", "-1", "999999999"], "status-1": "maybe"},
    {"person": "1", "status-1": "present", "minutes-1": "-5", "note-1": "x" * 10_000},
    {"username": "\x00", "password": "", "email": "not-an-address", "next": "https://evil/"},
]


@pytest.fixture
def world():
    now = timezone.now()
    trainee_user = UserFactory(username="t")
    person = ParticipantFactory(user=trainee_user)
    cohort = CohortFactory(year=2019)
    held = SessionFactory(cohort=cohort)
    EnrolmentFactory(participant=person, cohort=cohort)
    AttendanceFactory(session=held, participant=person)
    certificate = certificate_issue(participant=person, cohort=cohort, notify=False)
    running = CohortFactory(year=2021)
    session = SessionFactory(
        cohort=running,
        starts_at=now - datetime.timedelta(days=1),
        ends_at=now - datetime.timedelta(hours=20),
        planned_hours=Decimal("4.00"),
    )
    EnrolmentFactory(participant=person, cohort=running)
    funder = UserFactory(username="f")
    FunderProfile.objects.create(
        user=funder, organisation=Organisation.objects.get(short_name="AFD")
    )
    urls = [
        "/",
        "/login/",
        "/home/",
        "/me/",
        "/me/calendar.ics",
        f"/me/sessions/{session.pk}/calendar.ics",
        f"/me/certificates/{certificate.pk}/pdf",
        "/manage/",
        f"/manage/sessions/{session.pk}/attendance/",
        f"/manage/cohorts/{running.pk}/progress/",
        f"/manage/cohorts/{running.pk}/invite/",
        f"/manage/participants/{person.pk}/invite/",
        "/dashboard/",
        "/dashboard/report.pdf",
        "/accounts/password-reset/",
        "/accounts/set-password/MQ/bad-token/",
        "/accounts/reset/MQ/bad-token/",
        f"/verify/{certificate.verification_code}",
        "/verify/%00%ff",
    ]
    users = {
        "anonymous": None,
        "trainee": trainee_user,
        "manager": manager("m", regions=["MA-04"]),
        "other-region manager": manager("m2", regions=["MA-01"]),
        "funder": funder,
    }
    return urls, users


def _state() -> tuple:
    return (
        Attendance.objects.count(),
        sorted(Attendance.objects.values_list("pk", "status", "note", "minutes_attended")),
    )


def test_no_page_answers_a_server_error_to_bad_input(world):
    urls, users = world
    before = _state()
    errors = []
    answers = set()
    for who, user in users.items():
        client = Client(raise_request_exception=False)
        if user is not None:
            client.force_login(user)
        for url in urls:
            for query in GARBAGE:
                response = client.get(url + query)
                answers.add(response.status_code)
                if response.status_code >= 500:
                    errors.append(f"{who} GET {url}{query[:60]} -> {response.status_code}")
            for data in POSTS:
                response = client.post(url, data)
                answers.add(response.status_code)
                if response.status_code >= 500:
                    errors.append(f"{who} POST {url} {str(data)[:60]} -> {response.status_code}")
    assert errors == []
    assert _state() == before
    # The pages did answer, each in its own way: not one blanket refusal.
    assert {200, 302, 400, 403, 404, 405} <= answers
