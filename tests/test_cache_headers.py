"""Personal answers carry `Cache-Control: private, no-store`; public pages stay cacheable."""

import datetime

import pytest
from django.test import Client
from django.urls import reverse
from rest_framework.authtoken.models import Token

from certificates.services import certificate_issue
from cohorts.models import FunderProfile, Organisation
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


@pytest.fixture
def world():
    """A trainee with a certificate, their cohort's session, a manager and a funder."""
    trainee = UserFactory(username="amina")
    amina = ParticipantFactory(first_name="Amina", last_name="TAZI", user=trainee)
    cohort = CohortFactory(code="2019-rsk", name="Promotion 2019", year=2019)
    session = SessionFactory(
        cohort=cohort,
        starts_at=datetime.datetime(2019, 3, 12, 9, tzinfo=datetime.UTC),
        ends_at=datetime.datetime(2019, 3, 12, 16, tzinfo=datetime.UTC),
    )
    EnrolmentFactory(participant=amina, cohort=cohort)
    AttendanceFactory(session=session, participant=amina)
    certificate = certificate_issue(participant=amina, cohort=cohort, notify=False)
    funder = UserFactory(username="afd")
    FunderProfile.objects.create(
        user=funder, organisation=Organisation.objects.get(short_name="AFD")
    )
    return {
        "trainee": trainee,
        "participant": amina,
        "cohort": cohort,
        "session": session,
        "certificate": certificate,
        "manager": manager("national"),
        "funder": funder,
    }


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _assert_private(response, url: str) -> None:
    assert response.status_code == 200, (url, response.status_code)
    directives = {d.strip() for d in response.get("Cache-Control", "").split(",")}
    assert {"private", "no-store"} <= directives, (url, response.get("Cache-Control"))
    assert "public" not in directives, url


def test_every_personal_page_is_private_and_not_stored(world):
    session, cohort, certificate = world["session"], world["cohort"], world["certificate"]
    pages = {
        "trainee": [
            reverse("web:trainee-home"),
            reverse("web:trainee-calendar"),
            reverse("web:trainee-session-ics", args=[session.pk]),
            reverse("web:trainee-certificate-pdf", args=[certificate.pk]),
        ],
        "manager": [
            reverse("web:manager-home"),
            reverse("web:attendance-sheet", args=[session.pk]),
            reverse("web:cohort-progress", args=[cohort.pk]),
            reverse("web:funder-dashboard"),
            "/admin/",
            "/admin/cohorts/participant/",
            "/admin/cohorts/enrolment/",
        ],
        "funder": [reverse("web:funder-dashboard"), reverse("web:funder-settings")],
    }
    for who, urls in pages.items():
        client = _client(world[who])
        for url in urls:
            _assert_private(client.get(url), url)


def test_every_personal_api_answer_is_private_and_not_stored(world):
    """Through a token (DRF sets the user inside the view, after the middleware ran)."""
    session, cohort, certificate = world["session"], world["cohort"], world["certificate"]
    api = {
        "trainee": ["/api/v1/me/"],
        "manager": [
            "/api/v1/participants/",
            f"/api/v1/participants/{world['participant'].pk}/",
            "/api/v1/enrolments/",
            "/api/v1/attendance/",
            f"/api/v1/sessions/{session.pk}/attendance/",
            "/api/v1/certificates/",
            f"/api/v1/certificates/{certificate.pk}/pdf/",
            f"/api/v1/cohorts/{cohort.pk}/certificates.zip",
            "/api/v1/reports/progress/",
        ],
        "funder": ["/api/v1/reports/progress/", "/api/v1/reports/timeline/"],
    }
    for who, urls in api.items():
        token = Token.objects.create(user=world[who])
        client = Client(HTTP_AUTHORIZATION=f"Token {token.key}")
        for url in urls:
            _assert_private(client.get(url), url)


def test_a_verification_result_names_someone_and_is_not_stored(world):
    code = world["certificate"].verification_code
    url = reverse("certificates:verify", args=[code])
    _assert_private(Client().get(url), url)
    api = f"/api/v1/certificates/verify/{code}/"
    _assert_private(Client().get(api), api)


def test_public_pages_stay_cacheable(world):
    """The landing page's public totals and the empty forms hold nothing about anyone."""
    for url in [reverse("web:landing"), reverse("certificates:verify-form")]:
        response = Client().get(url)
        assert response.status_code == 200, url
        assert "no-store" not in response.get("Cache-Control", ""), url
