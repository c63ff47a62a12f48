"""Recording attendance: a whole roster at once, all or nothing, with its history."""

import datetime

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from cohorts import services
from cohorts.errors import LineErrors
from cohorts.models import Attendance, AttendanceHistory, EnrolmentHistory
from cohorts.selectors import cohort_roster
from cohorts.services import Mark
from tests.factories import (
    EnrolmentFactory,
    ParticipantFactory,
    SessionFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


def _enrol(session, n):
    return [EnrolmentFactory(cohort=session.cohort).participant for _ in range(n)]


def test_a_roster_is_recorded_and_each_mark_is_kept_in_history():
    session = SessionFactory()
    amina, karim, salma = _enrol(session, 3)
    manager = UserFactory()
    services.attendance_roster_record(
        session=session,
        marks=[
            Mark(amina.pk, "present"),
            Mark(karim.pk, "late", "Train en retard", 300),
            Mark(salma.pk, "excused", "Malade"),
        ],
        recorded_by=manager,
    )
    marks = {a.participant_id: a for a in Attendance.objects.all()}
    assert {pid: m.status for pid, m in marks.items()} == {
        amina.pk: "present", karim.pk: "late", salma.pk: "excused",
    }  # fmt: skip
    assert marks[karim.pk].note == "Train en retard"
    assert marks[karim.pk].minutes_attended == 300
    assert {m.recorded_by_id for m in marks.values()} == {manager.pk}
    history = AttendanceHistory.objects.order_by("participant_id")
    assert [(h.action, h.before, h.after["status"]) for h in history] == [
        ("created", None, "present"), ("created", None, "late"), ("created", None, "excused"),
    ]  # fmt: skip


def test_changing_a_mark_records_before_and_after_and_who():
    session = SessionFactory()
    (amina,) = _enrol(session, 1)
    first, second = UserFactory(username="first"), UserFactory(username="second")
    services.attendance_roster_record(
        session=session, marks=[Mark(amina.pk, "absent")], recorded_by=first
    )
    services.attendance_roster_record(
        session=session, marks=[Mark(amina.pk, "excused", "Certificat médical")], recorded_by=second
    )
    change = AttendanceHistory.objects.filter(action="updated").get()
    assert change.before == {"status": "absent", "minutes_attended": None, "note": ""}
    assert change.after == {
        "status": "excused", "minutes_attended": None, "note": "Certificat médical",
    }  # fmt: skip
    assert change.changed_by == second
    assert Attendance.objects.get().recorded_by == second


def test_saving_the_same_roster_again_writes_no_history():
    session = SessionFactory()
    (amina,) = _enrol(session, 1)
    for _ in range(2):
        services.attendance_roster_record(session=session, marks=[Mark(amina.pk, "present")])
    assert AttendanceHistory.objects.count() == 1


def test_one_bad_line_rejects_the_whole_roster_and_lists_every_error():
    session = SessionFactory()
    amina, karim = _enrol(session, 2)
    outsider = ParticipantFactory()
    with pytest.raises(LineErrors) as exc:
        services.attendance_roster_record(
            session=session,
            marks=[
                Mark(amina.pk, "present"),
                Mark(outsider.pk, "present"),
                Mark(karim.pk, "asleep"),
                Mark(amina.pk, "late"),
                Mark(karim.pk, "present", minutes_attended=9999),
            ],
        )
    assert exc.value.as_list() == [
        {
            "line": 2,
            "field": "participant",
            "message": "This person is not enrolled in the cohort.",
        },
        {
            "line": 3,
            "field": "status",
            "message": "Unknown status “asleep”: use present, late, excused or absent.",
        },
        {"line": 4, "field": "participant", "message": "This person appears twice in the roster."},
        {
            "line": 5,
            "field": "minutes_attended",
            "message": "9999 minutes is longer than the session (420 min).",
        },
        {"line": 5, "field": "participant", "message": "This person appears twice in the roster."},
    ]
    assert not Attendance.objects.exists()
    assert not AttendanceHistory.objects.exists()


def test_attendance_cannot_be_recorded_before_the_session_starts():
    session = SessionFactory()
    (amina,) = _enrol(session, 1)
    with (
        time_machine.travel(session.starts_at - datetime.timedelta(minutes=1)),
        pytest.raises(ValidationError) as exc,
    ):
        services.attendance_roster_record(session=session, marks=[Mark(amina.pk, "present")])
    assert exc.value.message_dict == {
        "session": ["Attendance cannot be recorded before the session starts."]
    }
    assert not Attendance.objects.exists()


def test_a_participant_withdrawn_before_the_session_cannot_be_marked():
    session = SessionFactory()
    enrolment = EnrolmentFactory(cohort=session.cohort)
    services.enrolment_withdraw(
        enrolment=enrolment, withdrawn_on=session.starts_at.date() - datetime.timedelta(days=1)
    )
    with pytest.raises(LineErrors) as exc:
        services.attendance_roster_record(
            session=session, marks=[Mark(enrolment.participant_id, "present")]
        )
    assert "withdrew on" in exc.value.errors[0].message
    assert not Attendance.objects.exists()


def test_a_participant_withdrawn_after_the_session_keeps_their_place_on_its_roster():
    session = SessionFactory()
    staying, leaving = (
        EnrolmentFactory(cohort=session.cohort),
        EnrolmentFactory(cohort=session.cohort),
    )
    services.enrolment_withdraw(
        enrolment=leaving, withdrawn_on=session.starts_at.date() + datetime.timedelta(days=30)
    )
    gone = EnrolmentFactory(cohort=session.cohort)
    services.enrolment_withdraw(
        enrolment=gone, withdrawn_on=session.starts_at.date() - datetime.timedelta(days=1)
    )
    roster = {e.participant_id for e, _ in cohort_roster(session)}
    assert roster == {staying.participant_id, leaving.participant_id}


@pytest.mark.parametrize("size", [5, 60])
def test_a_roster_costs_the_same_number_of_queries_for_5_or_60_people(size):
    session = SessionFactory()
    people = _enrol(session, size)
    half = size // 2
    services.attendance_roster_record(
        session=session, marks=[Mark(p.pk, "absent") for p in people[:half]]
    )
    with CaptureQueriesContext(connection) as queries:
        services.attendance_roster_record(
            session=session, marks=[Mark(p.pk, "present") for p in people]
        )
    # savepoint, enrolments, the session's row (locked), existing marks (locked), insert
    # new, update changed, insert history, the progress summaries of the people marked
    # recounted (one statement), their marks in the session's year (delete, insert),
    # release savepoint.
    assert len(queries) == 11, [q["sql"] for q in queries]
    assert queries[-4]["sql"].startswith("\nUPDATE cohorts_progresssummary SET")
    assert queries[-3]["sql"].startswith("DELETE FROM cohorts_progressyear")
    assert queries[-2]["sql"].startswith("\nINSERT INTO cohorts_progressyear")
    assert Attendance.objects.filter(session=session, status="present").count() == size


def test_withdrawing_and_reactivating_are_recorded_in_the_enrolment_history():
    enrolment = EnrolmentFactory()
    manager = UserFactory()
    services.enrolment_withdraw(
        enrolment=enrolment,
        withdrawn_on=enrolment.enrolled_on + datetime.timedelta(days=40),
        reason="Mutation",
        by=manager,
    )
    services.enrolment_reactivate(enrolment=enrolment, by=manager)
    history = list(EnrolmentHistory.objects.filter(enrolment=enrolment).order_by("id"))
    assert [(h.before["status"], h.after["status"]) for h in history] == [
        ("active", "withdrawn"),
        ("withdrawn", "active"),
    ]
    assert history[0].after["withdrawal_reason"] == "Mutation"
    assert {h.changed_by for h in history} == {manager}


def test_withdrawing_twice_is_refused():
    enrolment = EnrolmentFactory()
    services.enrolment_withdraw(enrolment=enrolment, withdrawn_on=enrolment.enrolled_on)
    with pytest.raises(ValidationError) as exc:
        services.enrolment_withdraw(enrolment=enrolment)
    assert exc.value.message_dict == {"status": ["This participant has already withdrawn."]}
