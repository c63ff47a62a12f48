"""The managers' sessions pages: a cohort's sessions with their attendance state, the
sessions to record across the manager's cohorts, and the history of a session's marks."""

import datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from cohorts.models import Attendance, AttendanceHistory
from cohorts.services import Mark, attendance_roster_record
from tests.factories import (
    AttendanceFactory,
    CohortFactory,
    EnrolmentFactory,
    ParticipantFactory,
    SessionFactory,
    manager,
    region,
)

pytestmark = pytest.mark.django_db


def _session(cohort, days, **kwargs):
    now = timezone.now()
    return SessionFactory(
        cohort=cohort,
        starts_at=now + datetime.timedelta(days=days),
        ends_at=now + datetime.timedelta(days=days, hours=6),
        planned_hours=Decimal("6.00"),
        **kwargs,
    )


@pytest.fixture
def data():
    """A cohort in MA-04 with 3 people and sessions: recorded (-20 days, by a named
    manager), half recorded (-10), unrecorded (-2), cancelled (-5), upcoming (+3); a
    cohort in MA-01 with an unrecorded session, out of the MA-04 manager's scope."""
    recorder = manager("recorder", regions=["MA-04"])
    recorder.first_name, recorder.last_name = "Samira", "Idrissi"
    recorder.save()
    cohort = CohortFactory(name="Promotion RSK", year=2021)
    people = [ParticipantFactory(last_name=n, region=region("MA-04")) for n in ("A", "B", "C")]
    for person in people:
        EnrolmentFactory(participant=person, cohort=cohort)
    recorded = _session(cohort, -20, title="Ouverture")
    half = _session(cohort, -10, title="Module 1")
    unrecorded = _session(cohort, -2, title="Module 2")
    cancelled = _session(cohort, -5, title="Module annulé", cancelled_at=timezone.now())
    upcoming = _session(cohort, 3, title="Clôture")
    attendance_roster_record(
        session=recorded,
        marks=[Mark(p.pk, "present") for p in people],
        recorded_by=recorder,
    )
    AttendanceFactory(session=half, participant=people[0])
    other = CohortFactory(name="Promotion TTA", year=2021, regions=[region("MA-01")])
    EnrolmentFactory(participant=ParticipantFactory(region=region("MA-01")), cohort=other)
    other_session = _session(other, -2, title="Module Nord")
    return {
        "cohort": cohort,
        "people": people,
        "recorded": recorded,
        "half": half,
        "unrecorded": unrecorded,
        "cancelled": cancelled,
        "upcoming": upcoming,
        "other": other,
        "other_session": other_session,
        "recorder": recorder,
        "manager": manager("mgr-rsk", regions=["MA-04"]),
    }


@pytest.fixture
def mgr(client, data):
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    client.force_login(data["manager"])
    return client


def _states(response) -> dict[int, str]:
    return {row.session.pk: row.state for row, _label in response.context["rows"]}


def test_a_cohorts_sessions_are_listed_newest_first_with_their_state(mgr, data):
    response = mgr.get(reverse("web:cohort-sessions", args=[data["cohort"].pk]))
    assert response.status_code == 200
    rows = [row for row, _label in response.context["rows"]]
    assert [row.session for row in rows] == [
        data["upcoming"],
        data["unrecorded"],
        data["cancelled"],
        data["half"],
        data["recorded"],
    ]
    assert _states(response) == {
        data["upcoming"].pk: "upcoming",
        data["unrecorded"].pk: "to_record",
        data["cancelled"].pk: "cancelled",
        data["half"].pk: "to_record",
        data["recorded"].pk: "recorded",
    }
    half = next(row for row in rows if row.session == data["half"])
    assert (half.marked, half.expected) == (1, 3)
    done = next(row for row in rows if row.session == data["recorded"])
    assert done.last_recorded_by == "Samira Idrissi"
    assert done.last_recorded_at is not None
    html = response.content.decode()
    assert "Samira Idrissi" in html
    assert "1 of 3 marked" in html
    # One tap to the sheet from every session held; none for cancelled or upcoming ones.
    for session in (data["recorded"], data["half"], data["unrecorded"]):
        assert reverse("web:attendance-sheet", args=[session.pk]) in html
    for session in (data["cancelled"], data["upcoming"]):
        assert reverse("web:attendance-sheet", args=[session.pk]) not in html


def test_to_record_filter_of_a_cohort(mgr, data):
    url = reverse("web:cohort-sessions", args=[data["cohort"].pk])
    response = mgr.get(url, {"show": "to_record"})
    assert set(_states(response)) == {data["unrecorded"].pk, data["half"].pk}


def test_to_record_across_cohorts_keeps_to_the_managers_regions(mgr, data, client):
    response = mgr.get(reverse("web:sessions"))
    assert response.status_code == 200
    assert list(_states(response)) == [data["unrecorded"].pk, data["half"].pk]
    assert "Module Nord" not in response.content.decode()
    # A manager of every region sees the other cohort's too.
    client.force_login(manager("mgr-all"))
    response = client.get(reverse("web:sessions"))
    assert set(_states(response)) == {
        data["unrecorded"].pk,
        data["half"].pk,
        data["other_session"].pk,
    }


def test_all_sessions_across_cohorts(mgr, data):
    response = mgr.get(reverse("web:sessions"), {"show": "all"})
    assert len(_states(response)) == 5


def test_a_session_recorded_in_full_leaves_the_to_record_list(mgr, data):
    attendance_roster_record(
        session=data["half"],
        marks=[Mark(p.pk, "absent") for p in data["people"]],
        recorded_by=data["manager"],
    )
    response = mgr.get(reverse("web:sessions"))
    assert list(_states(response)) == [data["unrecorded"].pk]


def test_a_regional_manager_is_not_asked_for_people_outside_their_regions(data, client):
    """In a cohort of two regions, the MA-01 person without a mark is not MA-04's to record."""
    cohort = data["cohort"]
    cohort.regions.add(region("MA-01"))
    outsider = ParticipantFactory(region=region("MA-01"))
    EnrolmentFactory(participant=outsider, cohort=cohort)
    client.force_login(data["manager"])
    response = client.get(reverse("web:cohort-sessions", args=[cohort.pk]))
    assert _states(response)[data["recorded"].pk] == "recorded"
    client.force_login(manager("mgr-all"))
    response = client.get(reverse("web:cohort-sessions", args=[cohort.pk]))
    assert _states(response)[data["recorded"].pk] == "to_record"


def test_out_of_scope_cohort_and_history_are_404(mgr, data):
    assert mgr.get(reverse("web:cohort-sessions", args=[data["other"].pk])).status_code == 404
    url = reverse("web:session-history", args=[data["other_session"].pk])
    assert mgr.get(url).status_code == 404


def test_pages_are_for_managers_only(client, data):
    urls = [
        reverse("web:sessions"),
        reverse("web:cohort-sessions", args=[data["cohort"].pk]),
        reverse("web:session-history", args=[data["recorded"].pk]),
    ]
    for url in urls:
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("web:login"))


def test_home_progress_and_sheet_link_to_the_sessions_pages(mgr, data):
    cohort_sessions = reverse("web:cohort-sessions", args=[data["cohort"].pk])
    home = mgr.get(reverse("web:manager-home")).content.decode()
    assert reverse("web:sessions") in home
    assert cohort_sessions in home
    progress = mgr.get(reverse("web:cohort-progress", args=[data["cohort"].pk]))
    assert cohort_sessions in progress.content.decode()
    sheet = mgr.get(reverse("web:attendance-sheet", args=[data["recorded"].pk]))
    assert reverse("web:session-history", args=[data["recorded"].pk]) in sheet.content.decode()


def test_a_correction_through_the_sheet_shows_in_the_history(mgr, data):
    session, person = data["recorded"], data["people"][1]
    form = {"person": [str(p.pk) for p in data["people"]], "save": "1"}
    for p in data["people"]:
        form[f"status-{p.pk}"] = "present"
    form[f"status-{person.pk}"] = "excused"
    form[f"note-{person.pk}"] = "Certificat médical"
    response = mgr.post(reverse("web:attendance-sheet", args=[session.pk]), form)
    assert response.status_code == 302
    mark = Attendance.objects.get(session=session, participant=person)
    assert (mark.status, mark.recorded_by) == ("excused", data["manager"])
    entries = AttendanceHistory.objects.filter(session=session, participant=person)
    assert [e.action for e in entries] == ["updated", "created"]  # newest first

    response = mgr.get(reverse("web:session-history", args=[session.pk]))
    assert response.status_code == 200
    lines = response.context["lines"]
    assert len(lines) == 4  # 3 created by the recorder, 1 correction by the manager
    latest = lines[0]
    assert latest.entry.participant == person
    assert latest.entry.changed_by == data["manager"]
    assert latest.changes == [
        ("Status", "Present", "Excused"),
        ("Note", "—", "Certificat médical"),
    ]
    html = response.content.decode()
    assert "mgr-rsk" in html and "Samira Idrissi" in html


def test_history_shows_only_the_people_of_the_managers_regions(data, client):
    cohort, session = data["cohort"], data["recorded"]
    cohort.regions.add(region("MA-01"))
    outsider = ParticipantFactory(last_name="Outsider", region=region("MA-01"))
    EnrolmentFactory(participant=outsider, cohort=cohort)
    attendance_roster_record(session=session, marks=[Mark(outsider.pk, "absent")])
    client.force_login(data["manager"])
    response = client.get(reverse("web:session-history", args=[session.pk]))
    assert outsider not in [line.entry.participant for line in response.context["lines"]]


def test_sessions_page_costs_a_constant_number_of_queries(mgr, data):
    url = reverse("web:cohort-sessions", args=[data["cohort"].pk])
    with CaptureQueriesContext(connection) as small:
        mgr.get(url)
    for i in range(6):
        session = _session(data["cohort"], -30 - i)
        AttendanceFactory(session=session, participant=data["people"][0])
    with CaptureQueriesContext(connection) as large:
        response = mgr.get(url)
    assert len(response.context["rows"]) == 11
    # session, user, scope, cohort, count (pager), page of sessions with states, the
    # recorders' names: the same whatever the number of sessions.
    assert len(large.captured_queries) == len(small.captured_queries)


def test_sessions_to_record_cost_a_constant_number_of_queries(mgr, data):
    url = reverse("web:sessions")
    with CaptureQueriesContext(connection) as small:
        mgr.get(url)
    for i in range(4):
        cohort = CohortFactory(year=2021)
        person = ParticipantFactory(region=region("MA-04"))
        EnrolmentFactory(participant=person, cohort=cohort)
        _session(cohort, -3 - i)
    with CaptureQueriesContext(connection) as large:
        response = mgr.get(url)
    assert len(response.context["rows"]) == 6
    # session, user, scope, count (pager), page of sessions with states, recorders' names.
    assert len(large.captured_queries) == len(small.captured_queries)
