"""The completion rule (pure) and the attendance counts it is fed (one SQL query)."""

import datetime
from decimal import Decimal

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from certificates.models import CompletionRule
from certificates.rules import ExcusedPolicy, Rate, Rule, attendance_rate, evaluate
from certificates.selectors import enrolments_progress, rule_for_cohort
from cohorts import services
from cohorts.models import Enrolment
from cohorts.selectors import AttendanceCounts, counts_of, enrolments_with_counts
from cohorts.services import Mark
from tests.factories import CohortFactory, EnrolmentFactory, SessionFactory, programme


def counts(present=0, late=0, excused=0, absent=0, total=None, held=None, **extra):
    marked = present + late + excused + absent
    held = marked if held is None else held
    return AttendanceCounts(
        sessions_total=held if total is None else total,
        sessions_held=held,
        present=present,
        late=late,
        excused=excused,
        absent=absent,
        hours_attended=extra.pop("hours", Decimal(6 * (present + late))),
        hours_remaining=extra.pop("hours_remaining", Decimal(0)),
        **extra,
    )


def test_threshold_exactly_met_is_eligible():
    progress = evaluate(counts(present=8, absent=2), Rule())
    assert progress.rate == Rate(8, 10)
    assert progress.eligible and progress.reasons == []


def test_one_mark_short_of_the_threshold_is_not_eligible():
    progress = evaluate(counts(present=7, absent=3, total=10), Rule())
    assert not progress.eligible
    assert progress.reasons == ["attendance_below_threshold"]
    assert not progress.reachable  # no session left


def test_late_counts_as_present_by_default_and_not_when_the_rule_says_so():
    c = counts(present=6, late=2, absent=2)
    assert evaluate(c, Rule()).eligible
    strict = evaluate(c, Rule(late_counts_as_present=False))
    assert strict.rate == Rate(6, 10) and not strict.eligible


def test_excused_absences_leave_the_denominator_by_default():
    c = counts(present=7, excused=2, absent=1)
    assert attendance_rate(c, Rule()) == Rate(7, 8)
    assert attendance_rate(c, Rule(excused_policy=ExcusedPolicy.ATTENDED)) == Rate(9, 10)
    assert attendance_rate(c, Rule(excused_policy=ExcusedPolicy.ABSENT)) == Rate(7, 10)


def test_a_withdrawn_participant_is_never_eligible_nor_can_reach_it():
    progress = evaluate(counts(present=10, withdrawn=True), Rule())
    assert not progress.eligible and not progress.reachable
    assert progress.reasons == ["withdrawn"]


def test_no_session_held_means_no_rate_and_not_eligible_but_reachable():
    progress = evaluate(counts(total=5, held=0, hours_remaining=Decimal(30)), Rule())
    assert progress.rate.value is None
    assert progress.reasons == ["no_attendance"]
    assert progress.reachable and progress.sessions_left == 5


def test_reachable_counts_sessions_left_and_sessions_not_yet_recorded():
    # 5 of 8 recorded so far, 2 not recorded, 10 to come: the best case is 17 of 20.
    progress = evaluate(counts(present=5, absent=3, held=10, total=20), Rule())
    assert progress.reachable
    hopeless = evaluate(counts(present=1, absent=5, held=6, total=8), Rule())
    assert not hopeless.reachable  # best case 3 of 8


def test_minimum_hours_is_part_of_the_rule():
    rule = Rule(min_hours=Decimal(40))
    assert evaluate(counts(present=6, hours=Decimal(36)), rule).reasons == ["hours_below_minimum"]
    assert evaluate(counts(present=7, hours=Decimal(42)), rule).eligible


def test_a_required_session_missed_blocks_eligibility_and_reachability():
    progress = evaluate(counts(present=9, absent=1, required_missed=1), Rule())
    assert progress.reasons == ["required_session_missed"]
    assert not progress.reachable


# The counts, from the database ---------------------------------------------------------

pytestmark_db = pytest.mark.django_db


def _cohort_with_marks():
    cohort = CohortFactory(year=2019)
    start = datetime.datetime(2019, 2, 4, 9, tzinfo=datetime.UTC)
    sessions = [
        SessionFactory(cohort=cohort, starts_at=start + datetime.timedelta(weeks=4 * i))
        for i in range(5)
    ]
    a, b = EnrolmentFactory(cohort=cohort), EnrolmentFactory(cohort=cohort)
    # Another cohort's marks for the same person must not leak into this cohort's counts.
    other = SessionFactory(cohort=CohortFactory(year=2019))
    EnrolmentFactory(cohort=other.cohort, participant=a.participant)
    services.attendance_roster_record(session=other, marks=[Mark(a.participant_id, "absent")])
    plan = {
        0: [("present", None), ("absent", None)],
        1: [("late", 240), ("present", None)],
        2: [("excused", None), ("present", None)],
        # session 3 held but not recorded; session 4 still to come
    }
    return cohort, sessions, a, b, plan


@pytest.mark.django_db
def test_counts_come_from_one_query_and_stay_within_the_cohort():
    cohort, sessions, a, b, plan = _cohort_with_marks()
    for index, ((status_a, minutes_a), (status_b, _)) in plan.items():
        services.attendance_roster_record(
            session=sessions[index],
            marks=[Mark(a.participant_id, status_a, minutes_attended=minutes_a),
                   Mark(b.participant_id, status_b)],
        )  # fmt: skip
    now = sessions[3].starts_at + datetime.timedelta(days=1)
    with CaptureQueriesContext(connection) as queries:
        rows = {e.pk: counts_of(e) for e in enrolments_with_counts(
            Enrolment.objects.filter(cohort=cohort), now=now)}  # fmt: skip
    assert len(queries) == 1
    assert rows[a.pk] == AttendanceCounts(
        sessions_total=5, sessions_held=4, present=1, late=1, excused=1, absent=0,
        hours_attended=Decimal("10.00"), hours_remaining=Decimal("6.00"),
        hours_not_recorded=Decimal("6.00"),  # session 3
    )  # fmt: skip
    assert rows[b.pk].absent == 1 and rows[b.pk].present == 2
    assert rows[b.pk].hours_attended == Decimal("12.00")
    assert rows[a.pk].not_recorded == 1 and rows[a.pk].sessions_left == 1


@pytest.mark.django_db
def test_progress_uses_the_cohort_rule_over_the_programme_default():
    cohort, sessions, a, b, plan = _cohort_with_marks()
    assert rule_for_cohort(cohort) == Rule()  # the programme's default, from the migration
    CompletionRule.objects.create(
        programme=programme(), cohort=cohort, min_attendance_percent=100,
        late_counts_as_present=False,
    )  # fmt: skip
    assert rule_for_cohort(cohort).min_attendance_percent == 100
    services.attendance_roster_record(
        session=sessions[0],
        marks=[Mark(a.participant_id, "late"), Mark(b.participant_id, "present")],
    )
    before_second = sessions[1].starts_at - datetime.timedelta(hours=1)
    with time_machine.travel(before_second), CaptureQueriesContext(connection) as queries:
        rows = enrolments_progress(Enrolment.objects.filter(cohort=cohort))
    progress = {p.enrolment.pk: p.progress for p in rows}
    assert len(queries) == 2  # the enrolments with their counts; the rules
    assert progress[b.pk].eligible
    assert progress[a.pk].reasons == ["attendance_below_threshold"]
    assert not progress[a.pk].reachable  # 100 % required, one late already


# Every held session counts (issue 12) ---------------------------------------------------


def test_a_person_marked_for_1_of_21_held_sessions_is_not_eligible_pure_rule():
    progress = evaluate(counts(present=1, held=21, total=21), Rule())
    assert progress.rate == Rate(1, 21)  # the 20 sessions nobody recorded are not attended
    assert not progress.eligible
    assert progress.reasons == ["attendance_not_recorded", "attendance_below_threshold"]
    assert progress.not_recorded == 20
    # Still open: once recorded as attended, they would meet the rule.
    assert progress.reachable


def test_not_recorded_blocks_even_when_the_recorded_rate_meets_the_rule():
    progress = evaluate(counts(present=19, held=20, total=20), Rule())
    assert progress.rate == Rate(19, 20) and progress.rate.meets(80)
    assert not progress.eligible and progress.reasons == ["attendance_not_recorded"]


def test_not_recorded_stays_in_the_denominator_whatever_the_excused_policy():
    c = counts(present=7, excused=2, held=10, total=10)  # 1 not recorded
    assert attendance_rate(c, Rule()) == Rate(7, 8)  # 7 + 1 not recorded; excused out
    assert attendance_rate(c, Rule(excused_policy=ExcusedPolicy.ATTENDED)) == Rate(9, 10)
    assert attendance_rate(c, Rule(excused_policy=ExcusedPolicy.ABSENT)) == Rate(7, 10)


def _cohort_of(n_sessions: int):
    cohort = CohortFactory(year=2019)
    start = datetime.datetime(2019, 2, 4, 9, tzinfo=datetime.UTC)
    sessions = [
        SessionFactory(cohort=cohort, starts_at=start + datetime.timedelta(weeks=i))
        for i in range(n_sessions)
    ]
    return cohort, sessions


def _report_completed(cohort) -> int:
    from reports.selectors import ReportFilters, progress_report

    report = progress_report(group_by=[], filters=ReportFilters(cohort=cohort.pk))
    return report.totals["completed"]


@pytest.mark.django_db
def test_a_person_marked_for_1_of_21_sessions_in_an_ended_cohort_gets_no_certificate():
    """The case from the field: imported into an ended cohort, marked once."""
    from certificates.selectors import certificates_due

    cohort, sessions = _cohort_of(21)
    enrolment = EnrolmentFactory(cohort=cohort, enrolled_on=datetime.date(2019, 1, 15))
    services.attendance_roster_record(
        session=sessions[0], marks=[Mark(enrolment.participant_id, "present")]
    )
    (row,) = enrolments_progress(Enrolment.objects.filter(pk=enrolment.pk))
    assert row.progress.rate == Rate(1, 21) and row.progress.not_recorded == 20
    assert not row.progress.eligible
    assert "attendance_not_recorded" in row.progress.reasons
    assert certificates_due(type(cohort).objects.filter(pk=cohort.pk)) == []
    assert _report_completed(cohort) == 0


@pytest.mark.django_db
def test_a_person_enrolled_after_the_first_sessions_is_judged_on_the_sessions_since():
    cohort, sessions = _cohort_of(10)
    # Enrolled on the day of the fifth session (4 March 2019): sessions 5 to 10 count.
    late = EnrolmentFactory(cohort=cohort, enrolled_on=datetime.date(2019, 3, 4))
    for session in sessions[4:]:
        services.attendance_roster_record(
            session=session, marks=[Mark(late.participant_id, "present")]
        )
    (row,) = enrolments_progress(Enrolment.objects.filter(pk=late.pk))
    assert counts_of(row.enrolment).sessions_held == 6
    assert row.progress.rate == Rate(6, 6) and row.progress.eligible
    assert _report_completed(cohort) == 1


@pytest.mark.django_db
def test_withdrawn_and_cancelled_sessions_count_for_nobody_after_the_fact():
    cohort, sessions = _cohort_of(6)
    stays = EnrolmentFactory(cohort=cohort, enrolled_on=datetime.date(2019, 1, 15))
    leaves = EnrolmentFactory(cohort=cohort, enrolled_on=datetime.date(2019, 1, 15))
    for session in sessions[:5]:
        services.attendance_roster_record(
            session=session,
            marks=[Mark(stays.participant_id, "present"), Mark(leaves.participant_id, "present")],
        )
    # Session 6 was cancelled (in the admin, after it would have started): nobody is judged on it.
    sessions[5].cancelled_at = sessions[5].starts_at
    sessions[5].save()
    services.enrolment_withdraw(enrolment=leaves, withdrawn_on=datetime.date(2019, 2, 20))
    rows = {r.enrolment.pk: r for r in enrolments_progress(Enrolment.objects.filter(cohort=cohort))}
    assert rows[stays.pk].progress.rate == Rate(5, 5) and rows[stays.pk].progress.eligible
    # Withdrawn on 20 February: the sessions of 4, 11 and 18 February count, not later ones.
    assert rows[leaves.pk].progress.rate == Rate(3, 3)
    assert rows[leaves.pk].progress.reasons == ["withdrawn"]
    assert _report_completed(cohort) == 1
