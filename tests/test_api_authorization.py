"""Authorization matrix: every endpoint × every kind of caller gets exactly what it should.

Callers: anonymous, a trainee, another trainee, a manager of all regions, a manager scoped
to another region, a funder. Data: one cohort in Rabat-Salé-Kénitra (MA-04) with both
trainees, and one cohort in Fès-Meknès (MA-03) with a third person.
"""

import json

import pytest
from rest_framework.test import APIClient

from cohorts import services
from cohorts.models import FunderProfile, Organisation
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

CALLERS = ["anonymous", "trainee", "other_trainee", "manager", "manager_elsewhere", "funder"]


@pytest.fixture
def world():
    rabat = CohortFactory(code="2019-rabat", name="Promotion Rabat", regions=[region("MA-04")])
    fes = CohortFactory(code="2019-fes", name="Promotion Fès", regions=[region("MA-03")])
    rsk, fm = region("MA-04"), region("MA-03")
    people = {
        "trainee": ParticipantFactory(
            last_name="Benali", email="benali@x.org", phone="+212611", region=rsk,
            user=UserFactory(username="t1"),
        ),
        "other_trainee": ParticipantFactory(
            last_name="Chraibi", email="chraibi@x.org", region=rsk, user=UserFactory(username="t2")
        ),
        "fassi": ParticipantFactory(last_name="Fassi", email="fassi@x.org", region=fm),
    }  # fmt: skip
    for key in ("trainee", "other_trainee"):
        EnrolmentFactory(cohort=rabat, participant=people[key])
    EnrolmentFactory(cohort=fes, participant=people["fassi"])
    rabat_session = SessionFactory(cohort=rabat, title="Module Rabat")
    fes_session = SessionFactory(cohort=fes, title="Module Fès")
    services.attendance_roster_record(
        session=rabat_session,
        marks=[services.Mark(people["trainee"].pk, "present"),
               services.Mark(people["other_trainee"].pk, "absent", "Malade")],
    )  # fmt: skip
    funder = UserFactory(username="afd")
    FunderProfile.objects.create(
        user=funder, organisation=Organisation.objects.get(short_name="AFD")
    )
    users = {
        "anonymous": None,
        "trainee": people["trainee"].user,
        "other_trainee": people["other_trainee"].user,
        "manager": manager("national"),
        "manager_elsewhere": manager("oujda", regions=["MA-02"]),
        "funder": funder,
    }
    return {"users": users, "people": people, "rabat": rabat, "fes": fes,
            "rabat_session": rabat_session, "fes_session": fes_session}  # fmt: skip


def call(world, caller, method, url, body=None):
    client = APIClient(HTTP_ACCEPT_LANGUAGE="en")
    if world["users"][caller] is not None:
        client.force_authenticate(world["users"][caller])
    return (
        getattr(client, method)(url, body, format="json")
        if body is not None
        else getattr(client, method)(url)
    )


def ids(response):
    body = response.json()
    rows = body["results"] if isinstance(body, dict) and "results" in body else body
    return sorted(row.get("id", row.get("code")) for row in rows)


def test_anonymous_callers_get_401_everywhere(world):
    urls = [
        "/api/v1/regions/", "/api/v1/organisations/", "/api/v1/cohorts/", "/api/v1/sessions/",
        "/api/v1/participants/", "/api/v1/enrolments/", "/api/v1/attendance/", "/api/v1/me/",
        f"/api/v1/sessions/{world['rabat_session'].pk}/attendance/",
        "/api/v1/reports/progress/", "/api/v1/reports/timeline/",
    ]  # fmt: skip
    for url in urls:
        response = call(world, "anonymous", "get", url)
        assert response.status_code == 401, url
        assert response.json()["error"]["code"] == "not_authenticated"


@pytest.mark.parametrize("caller", CALLERS[1:])
def test_reference_data_is_open_to_every_role(world, caller):
    assert len(call(world, caller, "get", "/api/v1/regions/").json()) == 12
    assert call(world, caller, "get", "/api/v1/organisations/").json()["count"] == 5


@pytest.mark.parametrize(
    ("caller", "expected"),
    [("trainee", ["rabat"]), ("other_trainee", ["rabat"]), ("manager", ["fes", "rabat"]),
     ("manager_elsewhere", []), ("funder", ["fes", "rabat"])],
)  # fmt: skip
def test_cohorts_and_sessions_follow_the_callers_scope(world, caller, expected):
    cohorts = sorted(world[name].pk for name in expected)
    assert ids(call(world, caller, "get", "/api/v1/cohorts/")) == cohorts
    sessions = sorted(world[f"{name}_session"].pk for name in expected)
    assert ids(call(world, caller, "get", "/api/v1/sessions/")) == sessions
    fes_status = call(world, caller, "get", f"/api/v1/cohorts/{world['fes'].pk}/").status_code
    assert fes_status == (200 if "fes" in expected else 404)


@pytest.mark.parametrize(
    ("caller", "status", "expected"),
    [("trainee", 403, None), ("other_trainee", 403, None), ("funder", 403, None),
     ("manager", 200, ["trainee", "other_trainee", "fassi"]), ("manager_elsewhere", 200, [])],
)  # fmt: skip
def test_personal_data_is_for_managers_within_their_regions(world, caller, status, expected):
    for url in ("/api/v1/participants/", "/api/v1/enrolments/", "/api/v1/attendance/"):
        response = call(world, caller, "get", url)
        assert response.status_code == status, url
        if status == 403:
            assert response.json()["error"]["code"] == "permission_denied"
    if expected is not None:
        people = call(world, caller, "get", "/api/v1/participants/")
        assert ids(people) == sorted(world["people"][key].pk for key in expected)
    detail = call(world, caller, "get", f"/api/v1/participants/{world['people']['fassi'].pk}/")
    assert detail.status_code == {"manager": 200, "manager_elsewhere": 404}.get(caller, 403)


@pytest.mark.parametrize(
    ("caller", "status"),
    [("trainee", 403), ("other_trainee", 403), ("funder", 403), ("manager", 200),
     ("manager_elsewhere", 404)],
)  # fmt: skip
def test_only_managers_in_scope_read_and_write_a_roster(world, caller, status):
    session = world["rabat_session"]
    url = f"/api/v1/sessions/{session.pk}/attendance/"
    assert call(world, caller, "get", url).status_code == status
    body = [{"participant": world["people"]["trainee"].pk, "status": "late"}]
    assert call(world, caller, "put", url, body).status_code == status
    expected = "late" if status == 200 else "present"
    assert session.attendances.get(participant=world["people"]["trainee"]).status == expected


def test_each_trainee_sees_only_themselves(world):
    mine = call(world, "trainee", "get", "/api/v1/me/").json()
    theirs = call(world, "other_trainee", "get", "/api/v1/me/").json()
    assert mine["participant"]["last_name"] == "Benali"
    assert theirs["participant"]["last_name"] == "Chraibi"
    assert "Chraibi" not in json.dumps(mine) and "Malade" not in json.dumps(mine)
    assert "Benali" not in json.dumps(theirs)
    assert [s["mark"] for s in mine["cohorts"][0]["sessions"]] == ["present"]
    assert [s["mark"] for s in theirs["cohorts"][0]["sessions"]] == ["absent"]
    for caller in ("manager", "funder", "manager_elsewhere"):
        assert call(world, caller, "get", "/api/v1/me/").status_code == 403


PERSONAL_KEYS = {"first_name", "last_name", "first_name_ar", "last_name_ar", "email", "phone",
                 "participant", "participant_id", "name", "note"}  # fmt: skip


def _keys(value):
    if isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from _keys(item)
    elif isinstance(value, list):
        for item in value:
            yield from _keys(item)


@pytest.mark.parametrize(
    "url",
    ["/api/v1/reports/progress/?group_by=region,year,sex,role",
     "/api/v1/reports/progress/", "/api/v1/reports/timeline/?period=month"],
)  # fmt: skip
def test_funders_receive_no_personal_data_in_reports(world, url):
    response = call(world, "funder", "get", url)
    assert response.status_code == 200
    text = response.content.decode()
    assert not PERSONAL_KEYS & set(_keys(response.json()))
    for person in world["people"].values():
        for value in (person.last_name, person.first_name, person.email, person.phone):
            assert not value or value not in text
    for fmt in ("csv", "xlsx"):
        exported = call(world, "funder", "get", f"{url}{'&' if '?' in url else '?'}format={fmt}")
        assert exported.status_code == 200
        for person in world["people"].values():
            assert person.last_name.encode() not in exported.content


@pytest.mark.parametrize("caller", ["trainee", "other_trainee"])
def test_trainees_cannot_read_reports(world, caller):
    assert call(world, caller, "get", "/api/v1/reports/progress/").status_code == 403


def test_a_manager_scoped_elsewhere_sees_no_other_regions_in_reports(world):
    body = call(world, "manager_elsewhere", "get", "/api/v1/reports/progress/?group_by=region")
    assert body.status_code == 200
    assert body.json()["rows"] == []
    assert body.json()["totals"]["enrolled"] == 0
    national = call(world, "manager", "get", "/api/v1/reports/progress/?group_by=region").json()
    assert [row["region"] for row in national["rows"]] == ["MA-03", "MA-04"]
