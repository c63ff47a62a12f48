"""The funders' progress report and timeline (reports.selectors), and suppression.

The report writes the completion rule in SQL; the tests hold it to the rule's one
definition (`enrolments_progress` → `evaluate`, `attendance_rate`) on hand-checked data
and on generated data, on both database engines.
"""

import datetime
import random
from collections import defaultdict
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from certificates.models import Certificate, CompletionRule
from certificates.rules import ExcusedPolicy, attendance_rate
from certificates.selectors import enrolments_progress, rules_for_cohorts
from cohorts.models import (
    Attendance,
    Cohort,
    Enrolment,
    Programme,
    Region,
    TrainingSession,
)
from cohorts.progress import bulk_writes
from cohorts.selectors import AttendanceCounts, counts_of
from reports import selectors
from reports.dashboard import DASHBOARD_GROUPINGS
from reports.selectors import (
    GROUP_KEYS,
    PROGRESS_MEASURES,
    TIMELINE_MEASURES,
    Report,
    ReportFilters,
    progress_report,
    progress_reports,
    timeline_report,
)
from reports.suppression import suppress
from tests.factories import (
    CASABLANCA,
    CohortFactory,
    EnrolmentFactory,
    ParticipantFactory,
    SessionFactory,
    programme,
    region,
)

NOW = datetime.datetime(2020, 6, 1, 12, 0, tzinfo=datetime.UTC)


def rate(numerator, denominator):
    return {
        "value": numerator / denominator if denominator else None,
        "numerator": numerator,
        "denominator": denominator,
    }


def local(*args):
    return datetime.datetime(*args, tzinfo=CASABLANCA)


def mark(enrolment, session, status, minutes=None):
    return Attendance.objects.create(
        participant=enrolment.participant,
        session=session,
        status=status,
        minutes_attended=minutes,
        recorded_at=session.ends_at,
    )


def certificate(enrolment, issued_on, status=Certificate.Status.ISSUED):
    n = Certificate.objects.count()
    return Certificate.objects.create(
        participant=enrolment.participant,
        cohort=enrolment.cohort,
        serial=f"R2021-{n:05d}",
        verification_code=f"code-{n}",
        issued_on=issued_on,
        hours_attended=Decimal("12.00"),
        status=status,
        revoked_at=None if status == Certificate.Status.ISSUED else NOW,
    )


# A small case, worked out by hand -------------------------------------------------------
#
# Cohort A (2019, the programme's default rule: 80 %, late counts, excused left out);
# sessions a1..a3 held (Mar, Apr, May 2019), a4 still to come on 1 September 2020.
# Cohort B (2020, its own rule: 75 %, late does not count, excused counts as attended,
# at least 12 hours); sessions b1..b4 of 4 planned hours, February to May 2020.
#
#   p1 F elu   MA-04  A: present, late (240 min), present          3/3, eligible; certified
#   p2 M cadre MA-04  A: present, absent, excused                  1/2 (excused left out)
#   p3 F cadre MA-01  A: present, present; withdrawn               2/2, never eligible
#   p4 M elu   MA-01  A: no mark                                   0/3, 3 not recorded
#   p5 F elu   MA-04  A: present x3                                3/3, eligible
#                     B: present, late, excused, present           3/4 = 75 %, 12 h: eligible;
#                                                                  certified
#   p6 M cadre MA-01  B: present (90 min), present x2, present (150 min)
#                                                                  4/4, 1.5+4+4+2.5 = 12 h:
#                                                                  eligible; certificate revoked
#   p7 F elu   MA-01  B: present, late, late, absent               1/4


@pytest.fixture
def small_case(db):
    a = CohortFactory(year=2019, name="Promotion 2019 — Centre")
    b = CohortFactory(year=2020, name="Promotion 2020 — Nord", regions=[region("MA-01")])
    CompletionRule.objects.create(
        programme=programme(),
        cohort=b,
        min_attendance_percent=75,
        late_counts_as_present=False,
        excused_policy=ExcusedPolicy.ATTENDED,
        min_hours=Decimal("12.00"),
    )
    a1, a2, a3, _a4 = (
        SessionFactory(cohort=a, starts_at=local(2019, 3, 12, 9)),
        SessionFactory(cohort=a, starts_at=local(2019, 4, 12, 9)),
        SessionFactory(cohort=a, starts_at=local(2019, 5, 12, 9)),
        SessionFactory(cohort=a, starts_at=local(2020, 9, 1, 9)),
    )
    b1, b2, b3, b4 = (
        SessionFactory(cohort=b, starts_at=local(2020, m, 10, 9), planned_hours=Decimal(4))
        for m in (2, 3, 4, 5)
    )
    people = {
        name: ParticipantFactory(sex=sex, role=role, region=region(code))
        for name, sex, role, code in [
            ("p1", "F", "elu", "MA-04"),
            ("p2", "M", "cadre", "MA-04"),
            ("p3", "F", "cadre", "MA-01"),
            ("p4", "M", "elu", "MA-01"),
            ("p5", "F", "elu", "MA-04"),
            ("p6", "M", "cadre", "MA-01"),
            ("p7", "F", "elu", "MA-01"),
        ]
    }
    e = {
        (name, label): EnrolmentFactory(participant=people[name], cohort=cohort)
        for name, label, cohort in [
            ("p1", "A", a), ("p2", "A", a), ("p3", "A", a), ("p4", "A", a), ("p5", "A", a),
            ("p5", "B", b), ("p6", "B", b), ("p7", "B", b),
        ]
    }  # fmt: skip
    e["p3", "A"].status = Enrolment.Status.WITHDRAWN
    e["p3", "A"].withdrawn_on = datetime.date(2019, 4, 30)
    e["p3", "A"].save()
    for enrolment, marks in [
        ("p1", [(a1, "present"), (a2, "late", 240), (a3, "present")]),
        ("p2", [(a1, "present"), (a2, "absent"), (a3, "excused")]),
        ("p3", [(a1, "present"), (a2, "present")]),
        ("p5", [(a1, "present"), (a2, "present"), (a3, "present")]),
        ("p5", [(b1, "present"), (b2, "late"), (b3, "excused"), (b4, "present")]),
        ("p6", [(b1, "present", 90), (b2, "present"), (b3, "present"), (b4, "present", 150)]),
        ("p7", [(b1, "present"), (b2, "late"), (b3, "late"), (b4, "absent")]),
    ]:  # fmt: skip
        for session, status, *minutes in marks:
            cohort_label = "A" if session.cohort_id == a.pk else "B"
            mark(e[enrolment, cohort_label], session, status, *minutes)
    certificate(e["p1", "A"], datetime.date(2019, 6, 30))
    certificate(e["p5", "B"], datetime.date(2020, 5, 20))
    certificate(e["p6", "B"], datetime.date(2020, 5, 20), status=Certificate.Status.REVOKED)
    return a, b


def measures(people, enrolled, active, withdrawn, sessions, marks, attended, excused, completed,
             certified):  # fmt: skip
    return {
        "people": people,
        "enrolled": enrolled,
        "active": active,
        "withdrawn": withdrawn,
        "sessions_held": sessions,
        "attendance_marks": marks,
        "attendance_rate": rate(*attended),
        "excused_rate": rate(excused, marks),
        "completed": completed,
        "completion_rate": rate(completed, enrolled),
        "certificates_issued": certified,
    }


# The progress report's rate counts p4's 3 sessions not recorded (17/25); the timeline's,
# the marks recorded in each period (17/22).
ALL = measures(7, 8, 7, 1, 7, 23, (17, 25), 2, 4, 2)


def test_without_keys_the_one_row_is_the_totals(small_case):
    report = progress_report(group_by=[], filters=ReportFilters(), now=NOW)
    assert report == Report(group_by=(), rows=[ALL], totals=ALL, measures=PROGRESS_MEASURES)


def test_by_region_people_count_once_and_sessions_once_per_cohort(small_case):
    report = progress_report(group_by=["region"], filters=ReportFilters(), now=NOW)
    assert report.rows == [
        {"region": "MA-01", "region_name": "Tanger-Tétouan-Al Hoceïma"}
        | measures(4, 4, 3, 1, 7, 10, (7, 13), 0, 1, 0),
        # p5 twice (cohorts A and B); cohorts A and B: 3 + 4 sessions held.
        {"region": "MA-04", "region_name": "Rabat-Salé-Kénitra"}
        | measures(3, 4, 4, 0, 7, 13, (10, 12), 2, 3, 2),
    ]
    assert report.totals == ALL


def test_by_year_and_cohort(small_case):
    a, b = small_case
    by_year = progress_report(group_by=["year"], filters=ReportFilters(), now=NOW)
    assert by_year.rows == [
        {"year": 2019} | measures(5, 5, 4, 1, 3, 11, (9, 13), 1, 2, 1),
        {"year": 2020} | measures(3, 3, 3, 0, 4, 12, (8, 12), 1, 2, 1),
    ]
    by_cohort = progress_report(group_by=["cohort", "year"], filters=ReportFilters(), now=NOW)
    assert [(r["cohort"], r["cohort_name"], r["year"]) for r in by_cohort.rows] == [
        (a.pk, "Promotion 2019 — Centre", 2019),
        (b.pk, "Promotion 2020 — Nord", 2020),
    ]
    assert [r["completed"] for r in by_cohort.rows] == [2, 2]


def test_by_sex_and_role(small_case):
    report = progress_report(group_by=["sex", "role"], filters=ReportFilters(), now=NOW)
    rows = [(r["sex"], r["role"], r["people"], r["enrolled"], r["completed"]) for r in report.rows]
    assert rows == [
        ("F", "cadre", 1, 1, 0),  # p3
        ("F", "elu", 3, 4, 3),  # p1, p5 twice, p7
        ("M", "cadre", 2, 2, 1),  # p2, p6
        ("M", "elu", 1, 1, 0),  # p4
    ]  # fmt: skip


def test_filters_select_enrolments(small_case):
    a, b = small_case
    in_2020 = progress_report(group_by=[], filters=ReportFilters(year=2020), now=NOW)
    assert in_2020.totals == measures(3, 3, 3, 0, 4, 12, (8, 12), 1, 2, 1)
    cohort_a = progress_report(group_by=[], filters=ReportFilters(cohort=a.pk), now=NOW)
    assert cohort_a.totals == measures(5, 5, 4, 1, 3, 11, (9, 13), 1, 2, 1)
    ma_01 = progress_report(group_by=["region"], filters=ReportFilters(region="MA-01"), now=NOW)
    assert [r["region"] for r in ma_01.rows] == ["MA-01"]
    assert ma_01.totals == measures(4, 4, 3, 1, 7, 10, (7, 13), 0, 1, 0)


def test_a_scoped_manager_sees_only_their_regions(small_case):
    scoped = ReportFilters(regions_in_scope=frozenset({"MA-04", "MA-05"}))
    report = progress_report(group_by=["region"], filters=scoped, now=NOW)
    assert [r["region"] for r in report.rows] == ["MA-04"]
    assert report.totals["enrolled"] == 4
    nowhere = ReportFilters(regions_in_scope=frozenset())
    empty = progress_report(group_by=["region"], filters=nowhere, now=NOW)
    assert empty.rows == []
    assert empty.totals == measures(0, 0, 0, 0, 0, 0, (0, 0), 0, 0, 0)
    assert timeline_report(period="month", filters=nowhere, now=NOW).rows == []


def test_hours_count_minutes_as_fractions_of_an_hour(small_case):
    """p6 reaches B's 12 hours only with 90 and 150 minutes as 1.5 and 2.5 hours."""
    _, b = small_case
    by_sex = progress_report(group_by=["sex"], filters=ReportFilters(cohort=b.pk), now=NOW)
    assert [(r["sex"], r["completed"]) for r in by_sex.rows] == [("F", 1), ("M", 1)]


def test_the_timeline_by_month(small_case):
    report = timeline_report(period="month", filters=ReportFilters(), now=NOW)

    def month(people, enrolled, sessions, marks, attended, excused, certified):
        return {
            "people": people,
            "enrolled": enrolled,
            "sessions_held": sessions,
            "attendance_marks": marks,
            "attendance_rate": rate(*attended),
            "excused_rate": rate(excused, marks),
            "certificates_issued": certified,
        }

    assert report.rows == [
        {"period": "2019-01"} | month(5, 5, 0, 0, (0, 0), 0, 0),  # enrolled on 15 January
        {"period": "2019-03"} | month(4, 0, 1, 4, (4, 4), 0, 0),
        {"period": "2019-04"} | month(4, 0, 1, 4, (3, 4), 0, 0),  # p2 absent
        {"period": "2019-05"} | month(3, 0, 1, 3, (2, 2), 1, 0),  # p2 excused, left out
        {"period": "2019-06"} | month(1, 0, 0, 0, (0, 0), 0, 1),  # p1's certificate
        {"period": "2020-01"} | month(3, 3, 0, 0, (0, 0), 0, 0),
        {"period": "2020-02"} | month(3, 0, 1, 3, (3, 3), 0, 0),
        {"period": "2020-03"} | month(3, 0, 1, 3, (1, 3), 0, 0),  # late does not count in B
        {"period": "2020-04"} | month(3, 0, 1, 3, (2, 3), 1, 0),  # excused counts in B
        {"period": "2020-05"} | month(3, 0, 1, 3, (2, 3), 0, 1),  # p6's certificate revoked
    ]
    assert report.totals == month(7, 8, 7, 23, (17, 22), 2, 2)
    assert report.group_by == ("period",) and report.measures == TIMELINE_MEASURES


def test_the_timeline_by_year(small_case):
    report = timeline_report(period="year", filters=ReportFilters(region="MA-04"), now=NOW)
    assert [(r["period"], r["people"], r["attendance_marks"], r["certificates_issued"])
            for r in report.rows] == [(2019, 3, 9, 1), (2020, 1, 4, 1)]  # fmt: skip


@pytest.mark.django_db
def test_the_timeline_uses_local_time():
    cohort = CohortFactory(year=2020)
    enrolment = EnrolmentFactory(cohort=cohort)
    # 00:30 on 1 March in Casablanca is still 29 February in UTC.
    session = SessionFactory(cohort=cohort, starts_at=local(2020, 3, 1, 0, 30))
    assert session.starts_at.astimezone(datetime.UTC).month == 2
    mark(enrolment, session, "present")
    report = timeline_report(period="month", filters=ReportFilters(), now=NOW)
    assert [(r["period"], r["sessions_held"]) for r in report.rows] == [
        ("2020-01", 0),
        ("2020-03", 1),
    ]


def test_keys_and_periods_are_checked():
    with pytest.raises(ValueError, match="Unknown group keys"):
        progress_report(group_by=["region", "name"], filters=ReportFilters())
    with pytest.raises(ValueError, match="appears twice"):
        progress_report(group_by=["sex", "sex"], filters=ReportFilters())
    with pytest.raises(ValueError, match="Unknown period"):
        timeline_report(period="week", filters=ReportFilters())


# The same numbers as the rule's one definition, on generated data ------------------------


def build_random_data(seed: int) -> None:
    """Varied data: several programmes and rules, late, excused, withdrawn, marks on
    sessions not held yet, held sessions not recorded, cohorts with no session held,
    people in two cohorts, enrolled after some sessions, cancelled sessions with marks,
    minutes and planned hours, certificates issued and revoked. Written in bulk, so the
    progress summaries are rebuilt at the end, as for any bulk load."""
    with bulk_writes():
        _build_random_data(seed)


def _build_random_data(seed: int) -> None:
    rnd = random.Random(seed)
    other = Programme.objects.create(
        code=f"P{seed}",
        name="Autre programme",
        start_date=datetime.date(2018, 1, 1),
        end_date=datetime.date(2021, 12, 31),
    )  # no default rule: the built-in Rule() applies
    default = CompletionRule.objects.get(programme=programme(), cohort=None)
    default.min_attendance_percent = rnd.choice([70, 80])
    default.late_counts_as_present = rnd.random() < 0.5
    default.excused_policy = rnd.choice(list(ExcusedPolicy))
    default.save()

    def random_rule(cohort):
        CompletionRule.objects.create(
            programme=cohort.programme,
            cohort=cohort,
            min_attendance_percent=rnd.choice([0, 50, 75, 80, 100]),
            late_counts_as_present=rnd.random() < 0.5,
            excused_policy=rnd.choice(list(ExcusedPolicy)),
            min_hours=rnd.choice([None, Decimal("6.00"), Decimal("10.50"), Decimal("12.02")]),
        )

    regions = list(Region.objects.filter(code__in=["MA-01", "MA-04", "MA-07", "MA-12"]))
    cohorts = [
        CohortFactory(year=2019),  # the programme's default rule
        CohortFactory(year=2020),
        CohortFactory(year=2021),  # nothing held yet
        CohortFactory(year=2019, programme=other),  # Rule()
        CohortFactory(year=2020, programme=other),
    ]
    for cohort in cohorts[1:3] + cohorts[4:]:
        random_rule(cohort)
    sessions = {}
    for cohort in cohorts:
        sessions[cohort.pk] = []
        for _ in range(rnd.randint(3, 7)):
            month, day = rnd.randint(1, 12), rnd.choice([1, 10, 28])
            hour = rnd.choice([0, 9, 23])  # local midnight is another day in UTC
            sessions[cohort.pk].append(
                SessionFactory(
                    cohort=cohort,
                    starts_at=local(cohort.year, month, day, hour, 30),
                    planned_hours=rnd.choice([Decimal("6.00"), Decimal("3.50"), Decimal("6.30")]),
                )
            )
    participants = [
        ParticipantFactory(sex=rnd.choice("FM"), role=rnd.choice(["elu", "cadre"]),
                           region=rnd.choice(regions))
        for _ in range(30)
    ]  # fmt: skip
    enrolments = []
    for participant in participants:
        for cohort in rnd.sample(cohorts, rnd.choice([1, 1, 1, 2])):
            enrolled_on = datetime.date(cohort.year, rnd.randint(1, 3), rnd.randint(1, 28))
            withdrawn = rnd.random() < 0.15
            enrolments.append(
                Enrolment(
                    participant=participant,
                    cohort=cohort,
                    enrolled_on=enrolled_on,
                    status="withdrawn" if withdrawn else "active",
                    withdrawn_on=enrolled_on + datetime.timedelta(days=40) if withdrawn else None,
                )
            )
    Enrolment.objects.bulk_create(enrolments)
    marks = []
    for enrolment in enrolments:
        for session in sessions[enrolment.cohort_id]:
            if rnd.random() < 0.15 or (session.starts_at > NOW and rnd.random() < 0.8):
                continue  # not recorded (yet)
            minutes = rnd.choice([None, None, 0, 1, 45, 90, 300, 359, 360, 361])
            marks.append(
                Attendance(
                    participant_id=enrolment.participant_id,
                    session=session,
                    status=rnd.choice(["present"] * 5 + ["late", "excused", "absent", "absent"]),
                    minutes_attended=minutes,
                    recorded_at=session.ends_at,
                )
            )
    Attendance.objects.bulk_create(marks)
    # Cancelled after their marks were recorded: they count for nobody.
    everything = [session for cohort in sessions.values() for session in cohort]
    cancelled = [s.pk for s in rnd.sample(everything, len(everything) // 8)]
    TrainingSession.objects.filter(pk__in=cancelled).update(cancelled_at=NOW)
    # Nothing recorded; the threshold met exactly, one short; excused absences left out.
    exact = CohortFactory(year=2019)
    CompletionRule.objects.create(programme=programme(), cohort=exact, min_attendance_percent=80)
    held = [SessionFactory(cohort=exact, starts_at=local(2019, m, 3, 9)) for m in range(2, 7)]
    enrolments.append(EnrolmentFactory(cohort=exact))  # no mark at all
    for statuses in ["PPPPA", "PPPLA", "PPPAA", "PPPPE"]:
        enrolment = EnrolmentFactory(cohort=exact)
        for session, status in zip(held, statuses, strict=True):
            full = {"P": "present", "L": "late", "A": "absent", "E": "excused"}[status]
            mark(enrolment, session, full)
        enrolments.append(enrolment)
    for i, enrolment in enumerate(rnd.sample(enrolments, 8)):
        certificate(
            enrolment,
            datetime.date(enrolment.cohort.year, 12, rnd.randint(1, 31)),
            status=Certificate.Status.REVOKED if i % 3 == 0 else Certificate.Status.ISSUED,
        )


def expected_progress(group_by, filters: ReportFilters) -> Report:
    """The report computed enrolment by enrolment with the rule's one definition."""
    progress = enrolments_progress(filtered_enrolments(filters), now=NOW)
    issued = set(
        Certificate.objects.filter(status="issued").values_list("participant_id", "cohort_id")
    )
    # Sessions held per cohort: started by now, not cancelled (whoever counts them).
    held = defaultdict(int)
    for session in TrainingSession.objects.filter(starts_at__lte=NOW, cancelled_at__isnull=True):
        held[session.cohort_id] += 1
    groups = defaultdict(lambda: {"people": set(), "cohorts": {}, "sums": defaultdict(int)})
    everything = groups[None]
    for item in progress:
        e, counts, p = item.enrolment, counts_of(item.enrolment), item.progress
        values = {
            "region": e.participant.region_id,
            "year": e.cohort.year,
            "sex": e.participant.sex,
            "role": e.participant.role,
            "cohort": e.cohort_id,
        }
        for key in [tuple(values[k] for k in group_by), None]:
            group = groups[key]
            group["people"].add(e.participant_id)
            group["cohorts"][e.cohort_id] = held[e.cohort_id]
            sums = group["sums"]
            sums["enrolled"] += 1
            sums["active"] += e.status == "active"
            sums["withdrawn"] += e.status == "withdrawn"
            sums["marks"] += counts.marked
            sums["attended"] += p.rate.numerator
            sums["den"] += p.rate.denominator
            sums["excused"] += counts.excused
            sums["completed"] += p.eligible
            sums["certified"] += (e.participant_id, e.cohort_id) in issued
            group["labels"] = {
                "region_name": e.participant.region.name_fr,
                "cohort_name": e.cohort.name,
            }

    def row(group):
        s = group["sums"]
        return measures(
            len(group["people"]), s["enrolled"], s["active"], s["withdrawn"],
            sum(group["cohorts"].values()), s["marks"], (s["attended"], s["den"]),
            s["excused"], s["completed"], s["certified"],
        )  # fmt: skip

    rows = []
    for key in sorted(k for k in groups if k is not None):
        fields = {}
        for k, value in zip(group_by, key, strict=True):
            fields[k] = value
            if k in ("region", "cohort"):
                fields[f"{k}_name"] = groups[key]["labels"][f"{k}_name"]
        rows.append(fields | row(groups[key]))
    totals = row(everything) if progress else measures(0, 0, 0, 0, 0, 0, (0, 0), 0, 0, 0)
    if not group_by:
        rows = [totals]
    return Report(group_by=tuple(group_by), rows=rows, totals=totals)


def filtered_enrolments(filters: ReportFilters):
    enrolments = Enrolment.objects.all()
    if filters.year is not None:
        enrolments = enrolments.filter(cohort__year=filters.year)
    if filters.region is not None:
        enrolments = enrolments.filter(participant__region_id=filters.region)
    if filters.cohort is not None:
        enrolments = enrolments.filter(cohort_id=filters.cohort)
    if filters.regions_in_scope is not None:
        enrolments = enrolments.filter(participant__region_id__in=filters.regions_in_scope)
    return enrolments


def expected_timeline(period, filters: ReportFilters) -> list[dict]:
    """Per period: each enrolment's marks of that period through `attendance_rate` with
    its cohort's rule, then summed; the dates each measure is about, in local time."""
    enrolments = list(filtered_enrolments(filters).select_related("cohort"))
    rules = rules_for_cohorts(list({e.cohort_id: e.cohort for e in enrolments}.values()))

    def of(moment):
        day = timezone.localtime(moment) if isinstance(moment, datetime.datetime) else moment
        return day.year if period == "year" else f"{day:%Y-%m}"

    rows = defaultdict(lambda: defaultdict(int))
    people = defaultdict(set)
    by_enrolment = defaultdict(lambda: defaultdict(lambda: defaultdict(int)))
    marks = Attendance.objects.select_related("session").filter(session__cancelled_at=None)
    for a in marks:
        by_enrolment[a.participant_id, a.session.cohort_id][of(a.session.starts_at)][a.status] += 1
    for e in enrolments:
        rows[of(e.enrolled_on)]["enrolled"] += 1
        people[of(e.enrolled_on)].add(e.participant_id)
        for key, statuses in by_enrolment[e.participant_id, e.cohort_id].items():
            counts = AttendanceCounts(
                sessions_total=0, sessions_held=0, present=statuses["present"],
                late=statuses["late"], excused=statuses["excused"], absent=statuses["absent"],
                hours_attended=Decimal(0), hours_remaining=Decimal(0),
            )  # fmt: skip
            r = attendance_rate(counts, rules[e.cohort_id])
            rows[key]["marks"] += counts.marked
            rows[key]["attended"] += r.numerator
            rows[key]["den"] += r.denominator
            rows[key]["excused"] += counts.excused
            people[key].add(e.participant_id)
    cohorts = {e.cohort_id for e in enrolments}
    held = TrainingSession.objects.filter(cohort_id__in=cohorts, starts_at__lte=NOW)
    for s in held.filter(cancelled_at=None):
        rows[of(s.starts_at)]["sessions"] += 1
    pairs = {(e.participant_id, e.cohort_id) for e in enrolments}
    for c in Certificate.objects.filter(status="issued"):
        if (c.participant_id, c.cohort_id) in pairs:
            rows[of(c.issued_on)]["certified"] += 1
            people[of(c.issued_on)].add(c.participant_id)
    return [
        {
            "period": key,
            "people": len(people[key]),
            "enrolled": rows[key]["enrolled"],
            "sessions_held": rows[key]["sessions"],
            "attendance_marks": rows[key]["marks"],
            "attendance_rate": rate(rows[key]["attended"], rows[key]["den"]),
            "excused_rate": rate(rows[key]["excused"], rows[key]["marks"]),
            "certificates_issued": rows[key]["certified"],
        }
        for key in sorted(rows)
    ]


GROUPINGS = [
    [],
    *[[key] for key in GROUP_KEYS],
    ["region", "sex"],
    ["year", "role"],
    ["sex", "cohort"],
    ["role", "region"],
    list(GROUP_KEYS),
]


@pytest.mark.django_db
# Seeds 4 to 6 in make test-slow.
@pytest.mark.parametrize(
    "seed", [s if s <= 3 else pytest.param(s, marks=pytest.mark.slow) for s in range(1, 7)]
)
def test_the_report_gives_the_numbers_of_the_rule_one_enrolment_at_a_time(seed):
    build_random_data(seed)
    progress = [p.progress for p in enrolments_progress(Enrolment.objects.all(), now=NOW)]
    reasons = {reason for p in progress for reason in p.reasons}
    assert {"withdrawn", "no_attendance", "attendance_below_threshold"} <= reasons
    assert any(p.eligible for p in progress)
    assert any(p.rate.numerator * 100 == p.threshold_percent * p.rate.denominator > 0
               for p in progress if p.eligible)  # fmt: skip
    cohorts = list(Cohort.objects.order_by("pk"))
    filter_sets = [
        ReportFilters(),
        ReportFilters(year=2020),
        ReportFilters(region="MA-04"),
        ReportFilters(cohort=cohorts[seed % len(cohorts)].pk),
        ReportFilters(regions_in_scope=frozenset({"MA-01", "MA-07"})),
        ReportFilters(year=2019, regions_in_scope=frozenset({"MA-12"})),
    ]
    assert {"attendance_not_recorded"} <= reasons
    for filters in filter_sets:
        groupings = GROUPINGS if filters == ReportFilters() else [[], ["region", "year"]]
        for group_by in groupings:
            report = progress_report(group_by=group_by, filters=filters, now=NOW)
            assert report == expected_progress(group_by, filters), (group_by, filters)
        # Several groupings at once (GROUPING SETS on PostgreSQL): the same reports; and
        # the dashboard's own groupings, as it asks for them.
        for several in (groupings, DASHBOARD_GROUPINGS):
            batch = progress_reports(groupings=several, filters=filters, now=NOW)
            assert batch == [expected_progress(g, filters) for g in several], filters
        for period in ("month", "year"):
            timeline = timeline_report(period=period, filters=filters, now=NOW)
            assert timeline.rows == expected_timeline(period, filters), (period, filters)


@pytest.mark.django_db
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_one_rule_for_every_cohort_goes_into_the_query_as_numbers_with_the_same_result(
    seed, monkeypatch
):
    """The usual case, every cohort under one rule, puts the rule's constants into the
    query as numbers (reports.selectors._rule_constants): the same reports as the rule's
    definition, and as the general query that reads them per cohort, for rules drawn at
    random (thresholds, late, excused, minimum hours)."""
    build_random_data(seed)
    rnd = random.Random(seed)
    CompletionRule.objects.filter(cohort__isnull=False).delete()
    fields = {
        "min_attendance_percent": rnd.choice([0, 50, 75, 80, 100]),
        "late_counts_as_present": rnd.random() < 0.5,
        "excused_policy": rnd.choice(list(ExcusedPolicy)),
        "min_hours": rnd.choice([None, Decimal("6.00"), Decimal("10.50"), Decimal("12.02")]),
    }
    for programme_ in Programme.objects.all():
        CompletionRule.objects.update_or_create(programme=programme_, cohort=None, defaults=fields)
    params = selectors._base_params(NOW)
    constants = selectors._rule_constants(params)
    assert constants is not None
    assert constants["pct"] == str(fields["min_attendance_percent"])
    groupings = [[], ["region"], ["region", "year", "sex", "role"], list(GROUP_KEYS)]
    filter_sets = [ReportFilters(), ReportFilters(year=2020, region="MA-04")]
    as_numbers = [
        progress_report(group_by=g, filters=f, now=NOW) for f in filter_sets for g in groupings
    ]
    assert as_numbers == [expected_progress(g, f) for f in filter_sets for g in groupings]
    monkeypatch.setattr(selectors, "_rule_constants", lambda _params: None)
    per_cohort = [
        progress_report(group_by=g, filters=f, now=NOW) for f in filter_sets for g in groupings
    ]
    assert per_cohort == as_numbers
    assert sum(r.totals["completed"] for r in as_numbers) > 0


@pytest.mark.django_db
def test_the_built_in_rule_applies_without_any_rule_in_the_database():
    build_random_data(4)
    CompletionRule.objects.all().delete()
    for group_by in ([], ["cohort"]):
        report = progress_report(group_by=group_by, filters=ReportFilters(), now=NOW)
        assert report == expected_progress(group_by, ReportFilters())


@pytest.mark.django_db
def test_hours_are_rounded_to_the_hundredth_as_the_rule_compares_them():
    """`counts_of` rounds hours to 0.01: 361 minutes (6.0167 h) count as 6.02 h."""
    cohort = CohortFactory(year=2019)
    CompletionRule.objects.create(
        programme=programme(), cohort=cohort, min_attendance_percent=0,
        min_hours=Decimal("6.02"),
    )  # fmt: skip
    session = SessionFactory(cohort=cohort, starts_at=local(2019, 3, 1, 9))
    for minutes in (360, 361, 362, 359):
        mark(EnrolmentFactory(cohort=cohort), session, "present", minutes)
    report = progress_report(group_by=[], filters=ReportFilters(), now=NOW)
    assert report.totals["completed"] == 2  # 361 and 362 minutes: 6.02 and 6.03 h
    assert report == expected_progress([], ReportFilters())


@pytest.mark.django_db
def test_sub_hour_minutes_agree_with_the_definition():
    """90 minutes are 1.5 hours, not 1 (SQL's integer division), on both engines."""
    cohort = CohortFactory(year=2019)
    CompletionRule.objects.create(programme=programme(), cohort=cohort, min_hours=Decimal(3))
    session = SessionFactory(cohort=cohort, starts_at=local(2019, 3, 1, 9))
    other = SessionFactory(cohort=cohort, starts_at=local(2019, 4, 1, 9))
    enrolment = EnrolmentFactory(cohort=cohort)
    mark(enrolment, session, "present", 90)
    mark(enrolment, other, "present", 90)
    report = progress_report(group_by=[], filters=ReportFilters(), now=NOW)
    assert report.totals["completed"] == 1  # 1.5 + 1.5 hours
    assert report == expected_progress([], ReportFilters())


# A constant number of queries -----------------------------------------------------------


def grow(n_participants: int, seed: int = 7) -> None:
    rnd = random.Random(seed)
    cohorts = [CohortFactory(year=2019), CohortFactory(year=2020)]
    sessions = [
        SessionFactory(cohort=c, starts_at=local(c.year, m, 5, 9)) for c in cohorts for m in (2, 5)
    ]
    for _ in range(n_participants):
        enrolment = EnrolmentFactory(cohort=rnd.choice(cohorts))
        for session in sessions:
            if session.cohort_id == enrolment.cohort_id:
                mark(enrolment, session, rnd.choice(["present", "late", "absent"]))


@pytest.mark.django_db
@pytest.mark.parametrize("n_participants", [5, 40])
def test_the_progress_report_takes_one_query_whatever_the_size(n_participants):
    grow(n_participants)
    for group_by in ([], ["region", "year", "sex", "role"], list(GROUP_KEYS)):
        with CaptureQueriesContext(connection) as queries:
            report = progress_report(group_by=group_by, filters=ReportFilters(region="MA-04"))
        assert report.totals["enrolled"] == n_participants
        # The rules in force (a few rows, one per distinct rule), then every measure per
        # group and over everything, with the keys' labels, from the progress summary;
        # never the marks.
        assert len(queries) == 2, [q["sql"] for q in queries]
        assert all("cohorts_attendance" not in q["sql"] for q in queries)


@pytest.mark.django_db
@pytest.mark.parametrize("n_participants", [5, 40])
def test_the_timeline_takes_one_query_whatever_the_size(n_participants):
    grow(n_participants)
    with CaptureQueriesContext(connection) as queries:
        report = timeline_report(period="month", filters=ReportFilters(year=2019))
    assert report.totals["attendance_marks"] > 0
    # 1. every measure per period, tagged by measure, and the people over all periods.
    assert len(queries) == 1


# Suppression ------------------------------------------------------------------------------

SMALL = ("people", "enrolled")


def report_of(group_by, rows, totals=None):
    rows = [dict(zip((*group_by, *SMALL), row, strict=True)) for row in rows]
    totals = totals or {
        "people": sum(r["people"] for r in rows),
        "enrolled": sum(r["enrolled"] for r in rows),
    }
    return Report(group_by=tuple(group_by), rows=rows, totals=totals, measures=SMALL)


def withheld(report):
    return [
        (tuple(r[k] for k in report.group_by), r["suppression"])
        for r in report.rows
        if r["suppressed"]
    ]


def test_suppression_withholds_small_rows_and_one_more_where_a_total_would_give_it_away():
    report = report_of(["region"], [("MA-01", 3, 3), ("MA-02", 20, 21), ("MA-03", 9, 9)])
    suppressed = suppress(report, threshold=5)
    assert suppressed.rows == [
        {"region": "MA-01", "people": None, "enrolled": None,
         "suppressed": True, "suppression": "primary"},
        {"region": "MA-02", "people": 20, "enrolled": 21,
         "suppressed": False, "suppression": None},
        {"region": "MA-03", "people": None, "enrolled": None,
         "suppressed": True, "suppression": "secondary"},  # the smallest of the others
    ]  # fmt: skip
    assert suppressed.totals == {
        "people": 32, "enrolled": 33, "suppressed": False, "suppression": None
    }  # fmt: skip
    assert report.rows[0]["people"] == 3  # the report itself is left as it was


def test_suppression_keeps_every_key_and_label():
    report = report_of(["region"], [("MA-01", 1, 1), ("MA-02", 1, 1)])
    report.rows[0]["region_name"] = "Tanger-Tétouan-Al Hoceïma"
    row = suppress(report, threshold=5).rows[0]
    assert row["region"] == "MA-01" and row["region_name"] == "Tanger-Tétouan-Al Hoceïma"


def test_suppression_with_two_keys_protects_each_margin():
    #          F    M
    # MA-01    2   10
    # MA-02    8   30
    report = report_of(
        ["region", "sex"],
        [("MA-01", "F", 2, 2), ("MA-01", "M", 10, 10), ("MA-02", "F", 8, 8),
         ("MA-02", "M", 30, 30)],
    )  # fmt: skip
    assert withheld(suppress(report, threshold=5)) == [
        (("MA-01", "F"), "primary"),
        (("MA-01", "M"), "secondary"),  # MA-01's total would give (MA-01, F) away
        (("MA-02", "F"), "secondary"),  # so would F's total
        (("MA-02", "M"), "secondary"),  # then M's total would give (MA-01, M) away
    ]


def test_two_small_rows_of_a_margin_protect_each_other_there_only():
    #          F    M    X
    # MA-01    2    3   20
    # MA-02   40   50    6
    report = report_of(
        ["region", "sex"],
        [("MA-01", "F", 2, 2), ("MA-01", "M", 3, 3), ("MA-01", "X", 20, 20),
         ("MA-02", "F", 40, 40), ("MA-02", "M", 50, 50), ("MA-02", "X", 6, 6)],
    )  # fmt: skip
    # MA-01 has two withheld rows; the F and M columns one each, so each gives its other.
    assert withheld(suppress(report, threshold=5)) == [
        (("MA-01", "F"), "primary"),
        (("MA-01", "M"), "primary"),
        (("MA-02", "F"), "secondary"),
        (("MA-02", "M"), "secondary"),
    ]


def test_suppression_cascades_until_no_margin_has_a_single_withheld_row():
    #       F    M
    # R1    2   10
    # R2   20   30
    # R3   40    9
    report = report_of(
        ["region", "sex"],
        [("R1", "F", 2, 2), ("R1", "M", 10, 10), ("R2", "F", 20, 20), ("R2", "M", 30, 30),
         ("R3", "F", 40, 40), ("R3", "M", 9, 9)],
    )  # fmt: skip
    # R1 F is small: F's column gives up R2 F (smaller than R3 F) and R1's row R1 M; then
    # R2's row has one withheld (R2 F) and gives up R2 M. Now every column and row has
    # two withheld or none.
    assert withheld(suppress(report, threshold=5)) == [
        (("R1", "F"), "primary"),
        (("R1", "M"), "secondary"),
        (("R2", "F"), "secondary"),
        (("R2", "M"), "secondary"),
    ]


def test_nothing_is_withheld_when_every_row_is_large_enough():
    report = report_of(["sex"], [("F", 5, 6), ("M", 7, 7)])
    suppressed = suppress(report, threshold=5)
    assert withheld(suppressed) == []
    assert [r["people"] for r in suppressed.rows] == [5, 7]


def test_everything_is_withheld_when_every_row_is_small_and_so_are_the_totals():
    report = report_of(["sex"], [("F", 1, 1), ("M", 2, 2)])
    suppressed = suppress(report, threshold=5)
    assert withheld(suppressed) == [(("F",), "primary"), (("M",), "primary")]
    assert suppressed.totals == {
        "people": None, "enrolled": None, "suppressed": True, "suppression": "primary"
    }  # fmt: skip


def test_the_threshold_is_a_parameter():
    report = report_of(["sex"], [("F", 5, 5), ("M", 12, 12), ("X", 30, 30)])
    assert withheld(suppress(report, threshold=5)) == []
    assert withheld(suppress(report, threshold=6)) == [(("F",), "primary"), (("M",), "secondary")]
    assert withheld(suppress(report, threshold=13)) == [(("F",), "primary"), (("M",), "primary")]
    assert withheld(suppress(report, threshold=0)) == []


def test_a_row_alone_in_its_margins_is_still_protected_by_the_totals():
    report = report_of(
        ["region", "sex"], [("MA-01", "F", 2, 2), ("MA-02", "M", 40, 40), ("MA-03", "M", 9, 9)]
    )
    # (MA-01, F) shares no region and no sex with another row, but the totals minus the
    # others would give it: the smallest other goes (MA-03 M), then M's column has one.
    assert withheld(suppress(report, threshold=5)) == [
        (("MA-01", "F"), "primary"),
        (("MA-02", "M"), "secondary"),
        (("MA-03", "M"), "secondary"),
    ]


def test_suppression_of_a_real_report(small_case):
    report = progress_report(group_by=["region", "year"], filters=ReportFilters(), now=NOW)
    suppressed = suppress(report, threshold=2)
    # MA-01 2019: p3, p4; MA-01 2020: p6, p7; MA-04 2019: p1, p2, p5; MA-04 2020: p5
    # alone, withheld. 2020's column gives up MA-01 2020, MA-04's row MA-04 2019; then
    # MA-01's row and 2019's column have one each: MA-01 2019 goes.
    assert withheld(suppressed) == [
        (("MA-01", 2019), "secondary"),
        (("MA-01", 2020), "secondary"),
        (("MA-04", 2019), "secondary"),
        (("MA-04", 2020), "primary"),
    ]
    row = suppressed.rows[-1]
    assert row["region_name"] == "Rabat-Salé-Kénitra"
    assert all(row[m] is None for m in PROGRESS_MEASURES)
    assert suppressed.totals == ALL | {"suppressed": False, "suppression": None}
