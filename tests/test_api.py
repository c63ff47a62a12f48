"""The API's writes and the trainee's own view: tokens, rosters, /me, the error shape."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from cohorts.models import Attendance, Participant
from tests.factories import (
    CohortFactory,
    EnrolmentFactory,
    ParticipantFactory,
    SessionFactory,
    UserFactory,
    manager,
    region,
)

pytestmark = pytest.mark.django_db
PASSWORD = "pass-w0rd-for-tests"


@pytest.fixture
def api():
    return APIClient(HTTP_ACCEPT_LANGUAGE="en")


def _login(api, user):
    api.force_authenticate(user)
    return api


# Tokens --------------------------------------------------------------------------------


def test_a_token_is_issued_for_good_credentials_and_works_until_revoked(api):
    user = manager("national")
    response = api.post("/api/v1/auth/token/", {"username": "national", "password": PASSWORD})
    assert response.status_code == 200
    token = response.json()["token"]
    assert Token.objects.get(user=user).key == token
    api.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert api.get("/api/v1/regions/").status_code == 200
    assert api.delete("/api/v1/auth/token/").status_code == 204
    assert not Token.objects.filter(user=user).exists()
    assert api.get("/api/v1/regions/").status_code == 401


def test_a_wrong_password_gets_the_error_shape_and_no_token(api):
    manager("national")
    response = api.post("/api/v1/auth/token/", {"username": "national", "password": "nope"})
    assert response.status_code == 400
    assert response.json() == {
        "error": {
            "code": "authentication_failed",
            "message": "Unknown user name or wrong password.",
            "fields": {},
        }
    }
    assert not Token.objects.exists()


def test_failed_logins_are_throttled_even_for_the_right_password_afterwards(api):
    manager("national")
    for _ in range(5):
        api.post("/api/v1/auth/token/", {"username": "national", "password": "guess"})
    response = api.post("/api/v1/auth/token/", {"username": "national", "password": PASSWORD})
    assert response.status_code == 429
    assert response.json()["error"]["code"] == "throttled"
    assert not Token.objects.exists()


def test_a_missing_field_is_a_field_error_in_the_requests_language(api):
    response = api.post("/api/v1/auth/token/", {"username": "x"}, HTTP_ACCEPT_LANGUAGE="fr")
    assert response.status_code == 400
    assert response.json() == {
        "error": {
            "code": "validation_error",
            "message": "La requête contient des champs invalides.",
            "fields": {"password": ["Ce champ est obligatoire."]},
        }
    }


def test_an_anonymous_caller_gets_401_in_the_error_shape(api):
    response = api.get("/api/v1/cohorts/")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"


# Recording a roster --------------------------------------------------------------------


@pytest.fixture
def session():
    return SessionFactory(cohort=CohortFactory(regions=[region("MA-04")]))


def _people(session, n, code="MA-04"):
    return [
        EnrolmentFactory(
            cohort=session.cohort, participant=ParticipantFactory(region=region(code))
        ).participant
        for _ in range(n)
    ]


def test_a_roster_is_recorded_in_one_request_and_the_roster_comes_back(api, session):
    a, b = _people(session, 2)
    _login(api, manager("rabat", regions=["MA-04"]))
    response = api.put(
        f"/api/v1/sessions/{session.pk}/attendance/",
        [{"participant": a.pk, "status": "present"},
         {"participant": b.pk, "status": "late", "note": "Train", "minutes_attended": 300}],
        format="json",
    )  # fmt: skip
    assert response.status_code == 200, response.json()
    body = {line["participant"]: line for line in response.json()}
    assert body[a.pk]["mark"]["status"] == "present"
    assert body[b.pk]["mark"]["minutes_attended"] == 300
    assert body[b.pk]["mark"]["recorded_by"] == "rabat"
    assert dict(Attendance.objects.values_list("participant_id", "status")) == {
        a.pk: "present", b.pk: "late",
    }  # fmt: skip


def test_a_second_put_updates_the_marks_upsert(api, session):
    (a,) = _people(session, 1)
    _login(api, manager("rabat", regions=["MA-04"]))
    url = f"/api/v1/sessions/{session.pk}/attendance/"
    api.put(url, [{"participant": a.pk, "status": "absent"}], format="json")
    api.put(url, [{"participant": a.pk, "status": "excused"}], format="json")
    assert list(Attendance.objects.values_list("status", flat=True)) == ["excused"]


def test_one_invalid_line_rejects_the_request_with_every_line_error(api, session):
    a, b = _people(session, 2)
    stranger = ParticipantFactory()
    _login(api, manager("rabat", regions=["MA-04"]))
    response = api.put(
        f"/api/v1/sessions/{session.pk}/attendance/",
        [{"participant": a.pk, "status": "present"},
         {"participant": b.pk, "status": "sleeping"},
         {"participant": stranger.pk, "status": "present"},
         {"participant": 999999, "status": "present"}],
        format="json",
    )  # fmt: skip
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert error["lines"] == [
        {"line": 2, "field": "status", "message": '"sleeping" is not a valid choice.'}
    ]
    assert not Attendance.objects.exists()
    # Once the statuses are right, the people who are not enrolled are named.
    response = api.put(
        f"/api/v1/sessions/{session.pk}/attendance/",
        [{"participant": a.pk, "status": "present"},
         {"participant": stranger.pk, "status": "present"},
         {"participant": 999999, "status": "present"}],
        format="json",
    )  # fmt: skip
    assert response.json()["error"]["lines"] == [
        {
            "line": 2,
            "field": "participant",
            "message": "This person is not enrolled in the cohort.",
        },
        {
            "line": 3,
            "field": "participant",
            "message": "This person is not enrolled in the cohort.",
        },
    ]
    assert not Attendance.objects.exists()


@pytest.mark.parametrize(
    "body",
    [[], {"participant": 1, "status": "present"}, "present", [{"status": "present"}]],
    ids=["empty", "object-not-list", "string", "missing-participant"],
)
def test_malformed_bodies_answer_400_and_change_nothing(api, session, body):
    _people(session, 1)
    _login(api, manager("rabat", regions=["MA-04"]))
    response = api.put(f"/api/v1/sessions/{session.pk}/attendance/", body, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "validation_error"
    assert not Attendance.objects.exists()


def test_a_session_that_has_not_started_cannot_be_recorded(api):
    future = SessionFactory(
        cohort=CohortFactory(regions=[region("MA-04")]),
        starts_at=datetime.datetime(2099, 3, 2, 9, tzinfo=datetime.UTC),
    )
    (a,) = _people(future, 1)
    _login(api, manager("rabat", regions=["MA-04"]))
    response = api.put(
        f"/api/v1/sessions/{future.pk}/attendance/",
        [{"participant": a.pk, "status": "present"}],
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {
        "session": ["Attendance cannot be recorded before the session starts."]
    }
    assert not Attendance.objects.exists()


def test_a_scoped_manager_cannot_mark_someone_from_another_region(api):
    session = SessionFactory(cohort=CohortFactory(regions=[region("MA-04"), region("MA-03")]))
    (mine,) = _people(session, 1, "MA-04")
    (theirs,) = _people(session, 1, "MA-03")
    _login(api, manager("rabat", regions=["MA-04"]))
    response = api.put(
        f"/api/v1/sessions/{session.pk}/attendance/",
        [{"participant": mine.pk, "status": "present"},
         {"participant": theirs.pk, "status": "present"}],
        format="json",
    )  # fmt: skip
    assert response.status_code == 400
    assert response.json()["error"]["lines"] == [
        {"line": 2, "field": "participant",
         "message": "This person is outside the regions you manage."}
    ]  # fmt: skip
    assert not Attendance.objects.exists()


@pytest.mark.parametrize("size", [5, 60])
def test_a_roster_put_costs_a_constant_number_of_queries(api, session, size):
    people = _people(session, size)
    user = manager("rabat", regions=["MA-04"])
    _login(api, user)
    body = [{"participant": p.pk, "status": "present"} for p in people]
    with CaptureQueriesContext(connection) as queries:
        response = api.put(f"/api/v1/sessions/{session.pk}/attendance/", body, format="json")
    assert response.status_code == 200
    # role (manager profile), region scope (profile, its regions), the session, the
    # roster (enrolments, marks), then the service: savepoint, enrolments, the session's row
    # locked, existing marks, insert, history, the progress summaries recounted, their
    # marks in the session's year (delete, insert), release; then the roster returned
    # (enrolments, marks).
    assert len(queries) == 18, [q["sql"][:80] for q in queries]


# The trainee's own record --------------------------------------------------------------


def test_me_shows_the_trainees_own_progress_and_nobody_elses(api, session):
    trainee_user = UserFactory(username="amina")
    amina, other = _people(session, 2)
    Participant.objects.filter(pk=amina.pk).update(user=trainee_user)
    later = SessionFactory(
        cohort=session.cohort,
        starts_at=datetime.datetime(2099, 5, 4, 9, tzinfo=datetime.UTC),
    )
    _login(api, manager("rabat", regions=["MA-04"]))
    api.put(
        f"/api/v1/sessions/{session.pk}/attendance/",
        [
            {"participant": amina.pk, "status": "late"},
            {"participant": other.pk, "status": "absent"},
        ],
        format="json",
    )
    api.force_authenticate(trainee_user)
    body = api.get("/api/v1/me/").json()
    assert body["participant"]["last_name"] == amina.last_name
    (cohort,) = body["cohorts"]
    assert cohort["progress"] == {
        "attendance_rate": {"value": 1.0, "numerator": 1, "denominator": 1},
        "threshold_percent": 80,
        "eligible": True,
        "reachable": True,
        "sessions_left": 1,
        "hours_attended": "6.00",
        "reasons": [],
    }
    assert [(s["id"], s["past"], s["mark"]) for s in cohort["sessions"]] == [
        (session.pk, True, "late"), (later.pk, False, None),
    ]  # fmt: skip
    assert cohort["certificate"] is None
    assert other.last_name not in str(body)


def test_me_is_for_trainees_only(api):
    _login(api, manager("national"))
    response = api.get("/api/v1/me/")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"


def test_cors_is_closed_unless_configured(api):
    response = api.get("/api/v1/regions/", HTTP_ORIGIN="https://evil.example")
    assert "Access-Control-Allow-Origin" not in response
