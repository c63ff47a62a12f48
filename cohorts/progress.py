"""The progress summary (cohorts.models.ProgressSummary): one row per enrolment, kept on write.

Every path that changes marks, enrolments or sessions refreshes the summaries it touches
in the same transaction: the services call `progress_refresh` (or, for a roster's marks,
`progress_recount`, one UPDATE) after their bulk writes, and
the signals in cohorts.signals do it for a plain `save()` or `delete()` (the admin, a
shell, a fixture). `progress_rebuild` recomputes everything (after bulk loads, or to
repair), `progress_differences` compares the rows with the marks (`manage.py
progress_summary --verify`).

A refresh recomputes the rows from the marks rather than adding deltas: a delta missed
once would stay wrong for ever, a recomputation heals. It reads the marks of the enrolments
concerned only (a roster's people in one cohort: about a thousand rows).
"""

import threading
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from django.db import connection, transaction
from django.db.models import Q, QuerySet
from django.dispatch import Signal
from django.utils import timezone

from cohorts.models import Attendance, Enrolment, ProgressSummary, ProgressYear, TrainingSession
from cohorts.report_cache import reports_changed

# `counts_until` of an enrolment that has not been withdrawn.
OPEN_END = datetime(9999, 1, 1, tzinfo=UTC)

_COUNTED = (
    "sessions_before",
    "sessions_until",
    "n_present",
    "n_late",
    "n_excused",
    "n_absent",
    "centiminutes_attended",
)
_KEYS = ("cohort", "participant", "region", "sex", "role", "year")
_FLAGS = ("first_of_person", "first_of_person_in_year", "withdrawn")
_FIELDS = (*_KEYS, *_FLAGS, "counts_from", "counts_until", *_COUNTED)
_STATUS_FIELD = {
    Attendance.Status.PRESENT: "n_present",
    Attendance.Status.LATE: "n_late",
    Attendance.Status.EXCUSED: "n_excused",
    Attendance.Status.ABSENT: "n_absent",
}
_ATTENDED = (Attendance.Status.PRESENT, Attendance.Status.LATE)
# Where a status is tallied in a year's [marked, present, late, excused].
_YEAR_COLUMN: dict[str, int] = {
    Attendance.Status.PRESENT: 1,
    Attendance.Status.LATE: 2,
    Attendance.Status.EXCUSED: 3,
}


# The participant's keys a report groups by; a subset of them is a bit mask over this
# order (region 1, sex 2, role 4), and `cohort_firsts` has bit (1 << mask) per subset.
COHORT_FIRST_KEYS = ("region", "sex", "role")


def cohort_first_bit(keys: Iterable[str]) -> int:
    """The `cohort_firsts` bit of the subset of COHORT_FIRST_KEYS among `keys`."""
    mask = sum(1 << i for i, key in enumerate(COHORT_FIRST_KEYS) if key in set(keys))
    return 1 << mask


def cohort_firsts(members: Iterable[tuple[int, int, str, str, str]]) -> dict[int, int]:
    """`cohort_firsts` of every enrolment of some cohorts, given all of them as
    (enrolment id, cohort id, region, sex, role): {enrolment id: bits}."""
    first: dict[tuple, int] = {}
    rows = sorted(members)
    for pk, cohort_id, *values in rows:
        for mask in range(1 << len(COHORT_FIRST_KEYS)):
            kept = tuple(v for i, v in enumerate(values) if mask & (1 << i))
            first.setdefault((cohort_id, mask, kept), pk)
    bits = {}
    for pk, cohort_id, *values in rows:
        bits[pk] = sum(
            1 << mask
            for mask in range(1 << len(COHORT_FIRST_KEYS))
            if first[(cohort_id, mask, tuple(v for i, v in enumerate(values) if mask & (1 << i)))]
            == pk
        )
    return bits


def refresh_cohort_firsts(cohort_ids: Iterable[int]) -> None:
    """Recompute `cohort_firsts` over these cohorts' summaries (after some were written or
    deleted: another enrolment may become the first of its group); writes only changes."""
    ids = sorted(set(cohort_ids))
    if not ids:
        return
    rows = list(
        ProgressSummary.objects.filter(cohort_id__in=ids).values_list(
            "pk", "cohort_id", "region_id", "sex", "role", "cohort_firsts"
        )
    )
    bits = cohort_firsts(row[:5] for row in rows)
    changed = [
        ProgressSummary(pk=pk, cohort_firsts=bits[pk])
        for pk, *_, stored in rows
        if stored != bits[pk]
    ]
    ProgressSummary.objects.bulk_update(changed, ["cohort_firsts"], batch_size=2000)


_state = threading.local()


def refresh_suspended() -> bool:
    """Whether a bulk load is under way (the signals then leave the summaries alone)."""
    return getattr(_state, "suspended", 0) > 0


@contextmanager
def bulk_writes(progress: Callable[[str, int, int], None] | None = None) -> Iterator[None]:
    """For bulk loads and deletions (the demo data): plain saves and deletes inside do not
    refresh summaries one by one; everything is rebuilt once at the end, in the same
    transaction (the caller's), and every report invalidated."""
    _state.suspended = getattr(_state, "suspended", 0) + 1
    try:
        yield
    finally:
        _state.suspended -= 1
    progress_rebuild(progress)
    reports_changed()


def _local_midnight(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min), timezone.get_default_timezone())


def local_year_bounds(year: int) -> tuple[datetime, datetime]:
    """The instants a calendar year spans in local time: [1 January, next 1 January)."""
    return _local_midnight(date(year, 1, 1)), _local_midnight(date(year + 1, 1, 1))


class _LocalYears:
    """The local calendar year of many instants, by comparing with the years' first
    instants (a time-zone conversion per mark would cost seconds over a million marks)."""

    def __init__(self) -> None:
        self.starts: list[datetime] = []
        self.first_year = 0

    def of(self, instant: datetime) -> int:
        if not self.starts or not self.starts[0] <= instant < self.starts[-1]:
            year = timezone.localtime(instant).year
            self.first_year = min(year, self.first_year or year) - 1
            last = max(year, self.first_year + len(self.starts) - 1) + 2
            self.starts = [_local_midnight(date(y, 1, 1)) for y in range(self.first_year, last + 1)]
        return self.first_year + bisect_right(self.starts, instant) - 1


def counting_window(enrolled_on: date, withdrawn_on: date | None) -> tuple[datetime, datetime]:
    """The instants between which a session's start makes it count for an enrolment: from
    the local midnight of the day of enrolment, to the local midnight after the day of
    withdrawal (exclusive). The same days as cohorts.selectors.counting_sessions."""
    until = _local_midnight(withdrawn_on + timedelta(days=1)) if withdrawn_on else OPEN_END
    return _local_midnight(enrolled_on), until


@dataclass
class _Row:
    enrolment: Enrolment
    counts_from: datetime
    counts_until: datetime
    first_of_person: bool = True
    first_of_person_in_year: bool = True
    sessions_before: int = 0
    sessions_until: int = 0
    n_present: int = 0
    n_late: int = 0
    n_excused: int = 0
    n_absent: int = 0
    centiminutes_attended: int = 0
    # {local year: [marked, present, late, excused]}: every mark, in or out of the window.
    years: dict[int, list[int]] = field(default_factory=dict)

    def add(
        self, status: str, starts_at: datetime, minutes: int | None, planned: Decimal, year: int
    ):
        tally = self.years.setdefault(year, [0, 0, 0, 0])
        tally[0] += 1
        if status in _YEAR_COLUMN:
            tally[_YEAR_COLUMN[status]] += 1
        if not self.counts_from <= starts_at < self.counts_until:
            return
        field = _STATUS_FIELD[Attendance.Status(status)]
        setattr(self, field, getattr(self, field) + 1)
        if status in _ATTENDED:
            self.centiminutes_attended += (
                100 * minutes if minutes is not None else int(planned * 6000)
            )

    def summary(self, now: datetime) -> ProgressSummary:
        e = self.enrolment
        return ProgressSummary(
            enrolment_id=e.pk,
            cohort_id=e.cohort_id,
            participant_id=e.participant_id,
            region_id=e.participant.region_id,
            sex=e.participant.sex,
            role=e.participant.role,
            year=e.cohort.year,
            first_of_person=self.first_of_person,
            first_of_person_in_year=self.first_of_person_in_year,
            withdrawn=e.status == Enrolment.Status.WITHDRAWN,
            counts_from=self.counts_from,
            counts_until=self.counts_until,
            sessions_before=self.sessions_before,
            sessions_until=self.sessions_until,
            n_present=self.n_present,
            n_late=self.n_late,
            n_excused=self.n_excused,
            n_absent=self.n_absent,
            centiminutes_attended=self.centiminutes_attended,
            updated_at=now,
        )

    def year_rows(self) -> list[ProgressYear]:
        return [
            ProgressYear(
                enrolment_id=self.enrolment.pk,
                year=year,
                n_marked=marked,
                n_present=present,
                n_late=late,
                n_excused=excused,
            )
            for year, (marked, present, late, excused) in sorted(self.years.items())
        ]


def compute(
    enrolments: Iterable[Enrolment], *, whole_cohorts: bool = False, all_of_people: bool = False
) -> list[ProgressSummary]:
    """The summaries of these enrolments, from their marks, sessions and the people's other
    enrolments (four queries).

    `whole_cohorts`: the enrolments are all those of their cohorts (read the cohorts' marks,
    without a list of people); `all_of_people`: they are every enrolment of their people
    (no need to read the others to know which is each person's first)."""
    enrolments = list(enrolments)
    rows: dict[tuple[int, int], _Row] = {}
    for e in enrolments:
        rows[(e.participant_id, e.cohort_id)] = _Row(
            e, *counting_window(e.enrolled_on, e.withdrawn_on)
        )
    if not rows:
        return []
    participants = {p for p, _ in rows}
    cohorts = {c for _, c in rows}
    in_cohorts = Attendance.objects.filter(
        session__cohort_id__in=cohorts, session__cancelled_at__isnull=True
    )
    if not whole_cohorts:
        in_cohorts = in_cohorts.filter(participant_id__in=participants)
    marks = in_cohorts.values_list(
        "participant_id",
        "session__cohort_id",
        "status",
        "session__starts_at",
        "minutes_attended",
        "session__planned_hours",
    )
    years = _LocalYears()
    for participant_id, cohort_id, status, starts_at, minutes, planned in marks.iterator(
        chunk_size=5000
    ):
        row = rows.get((participant_id, cohort_id))
        if row is not None:  # a pair from the cross product that is not an enrolment
            row.add(status, starts_at, minutes, planned, years.of(starts_at))
    # The person's first enrolment, overall and in the cohort's year (ids grow with time).
    first: dict[int, int] = {}
    first_in_year: dict[tuple[int, int], int] = {}
    if all_of_people:
        siblings = [(e.pk, e.participant_id, e.cohort.year) for e in enrolments]
    else:
        query = Enrolment.objects.filter(participant_id__in=participants)
        siblings = list(query.values_list("pk", "participant_id", "cohort__year"))
    for pk, participant_id, year in siblings:
        first[participant_id] = min(pk, first.get(participant_id, pk))
        key = (participant_id, year)
        first_in_year[key] = min(pk, first_in_year.get(key, pk))
    for (participant_id, _), row in rows.items():
        row.first_of_person = first[participant_id] == row.enrolment.pk
        key = (participant_id, row.enrolment.cohort.year)
        row.first_of_person_in_year = first_in_year[key] == row.enrolment.pk
    # Where each window sits among its cohort's sessions, in order of start.
    starts: dict[int, list[datetime]] = {c: [] for c in cohorts}
    sessions = TrainingSession.objects.filter(cohort_id__in=cohorts, cancelled_at__isnull=True)
    for cohort_id, starts_at in sessions.values_list("cohort_id", "starts_at"):
        starts[cohort_id].append(starts_at)
    for cohort_starts in starts.values():
        cohort_starts.sort()
    for (_, cohort_id), row in rows.items():
        row.sessions_before = bisect_left(starts[cohort_id], row.counts_from)
        row.sessions_until = bisect_left(starts[cohort_id], row.counts_until)
    now = timezone.now()
    summaries = []
    for row in rows.values():
        summary = row.summary(now)
        summary.year_rows = row.year_rows()  # type: ignore[attr-defined]
        summaries.append(summary)
    if whole_cohorts:  # every member of the cohorts is here
        bits = cohort_firsts((s.pk, s.cohort_id, s.region_id, s.sex, s.role) for s in summaries)
        for summary in summaries:
            summary.cohort_firsts = bits[summary.pk]
    return summaries


# Sent after summaries are written (`enrolment_ids`), in the same transaction: the rooms
# above fill in what they own (certificates: `certified`).
summaries_written = Signal()


def _save(summaries: list[ProgressSummary], *, whole_cohorts: bool = False) -> None:
    """Write these summaries and their marks per year. `whole_cohorts`: they are every
    enrolment of their cohorts, computed so (`compute(whole_cohorts=True)`), with their
    `cohort_firsts` already right."""
    # `certified` is not among the fields updated: it belongs to the certificates app.
    # Nor, for some enrolments of a cohort, is `cohort_firsts`: it depends on the cohort's
    # other enrolments, worked out next.
    ProgressSummary.objects.bulk_create(
        summaries,
        batch_size=2000,
        update_conflicts=True,
        unique_fields=["enrolment"],
        update_fields=[*_FIELDS, *(["cohort_firsts"] if whole_cohorts else []), "updated_at"],
    )
    if not whole_cohorts:
        refresh_cohort_firsts({s.cohort_id for s in summaries})
    # The marks per year: replaced whole for these enrolments.
    ids = [s.pk for s in summaries]
    for start in range(0, len(ids), 2000):
        ProgressYear.objects.filter(enrolment_id__in=ids[start : start + 2000]).delete()
    ProgressYear.objects.bulk_create(
        [row for s in summaries for row in getattr(s, "year_rows", [])], batch_size=2000
    )
    summaries_written.send(sender=ProgressSummary, enrolment_ids=[s.pk for s in summaries])


def progress_refresh(
    *,
    enrolment_ids: Iterable[int] = (),
    cohort_ids: Iterable[int] = (),
    participant_ids: Iterable[int] = (),
) -> set[str]:
    """Recompute the summaries of these enrolments, of every enrolment in these cohorts,
    and of every enrolment of these participants, with the other enrolments of the same
    people (whose "first enrolment" flags may change). Returns the regions of the people
    concerned (whose reports changed)."""
    condition = Q(pk__in=list(enrolment_ids))
    if cohort_ids:
        condition |= Q(cohort_id__in=list(cohort_ids))
    if participant_ids:
        condition |= Q(participant_id__in=list(participant_ids))
    people = Enrolment.objects.filter(condition).values("participant_id")
    enrolments = list(_with_keys(Enrolment.objects.filter(participant_id__in=people)))
    _save(compute(enrolments, all_of_people=True))
    return {e.participant.region_id for e in enrolments}


# The marks' counts of some enrolments, recounted in the database in one statement: what
# `compute` counts (marks on the sessions that count: the enrolment's cohort, not cancelled,
# starting in its window), for the summaries that exist. Only the counts: the window, keys
# and flags do not change when marks do. PostgreSQL and SQLite (3.33+) both know
# UPDATE … FROM and RETURNING.
_RECOUNT_SQL = """
UPDATE cohorts_progresssummary SET
    n_present = m.n_present, n_late = m.n_late, n_excused = m.n_excused,
    n_absent = m.n_absent, centiminutes_attended = m.centiminutes, updated_at = %(now)s
FROM (
    SELECT ps.enrolment_id AS enrolment_id,
        COUNT(CASE WHEN s.id IS NOT NULL AND a.status = %(present)s THEN 1 END) AS n_present,
        COUNT(CASE WHEN s.id IS NOT NULL AND a.status = %(late)s THEN 1 END) AS n_late,
        COUNT(CASE WHEN s.id IS NOT NULL AND a.status = %(excused)s THEN 1 END) AS n_excused,
        COUNT(CASE WHEN s.id IS NOT NULL AND a.status = %(absent)s THEN 1 END) AS n_absent,
        COALESCE(SUM(CASE WHEN s.id IS NOT NULL AND a.status IN (%(present)s, %(late)s)
            THEN COALESCE(100 * a.minutes_attended,
                          CAST(ROUND(6000 * s.planned_hours) AS INTEGER)) END), 0)
            AS centiminutes
    FROM cohorts_progresssummary ps
    LEFT JOIN cohorts_attendance a ON a.participant_id = ps.participant_id
    LEFT JOIN cohorts_trainingsession s ON s.id = a.session_id
        AND s.cohort_id = ps.cohort_id AND s.cancelled_at IS NULL
        AND s.starts_at >= ps.counts_from AND s.starts_at < ps.counts_until
    WHERE ps.enrolment_id IN ({ids})
    GROUP BY ps.enrolment_id
) m
WHERE cohorts_progresssummary.enrolment_id = m.enrolment_id
RETURNING cohorts_progresssummary.enrolment_id, cohorts_progresssummary.region_id
"""


# The marks of some enrolments in one local year, counted again (two statements).
_RECOUNT_YEAR_DELETE = (
    "DELETE FROM cohorts_progressyear WHERE year = %(year)s AND enrolment_id IN ({ids})"
)
_RECOUNT_YEAR_INSERT = """
INSERT INTO cohorts_progressyear (enrolment_id, year, n_marked, n_present, n_late, n_excused)
SELECT ps.enrolment_id, %(year)s, COUNT(*),
    COUNT(CASE WHEN a.status = %(present)s THEN 1 END),
    COUNT(CASE WHEN a.status = %(late)s THEN 1 END),
    COUNT(CASE WHEN a.status = %(excused)s THEN 1 END)
FROM cohorts_progresssummary ps
JOIN cohorts_attendance a ON a.participant_id = ps.participant_id
JOIN cohorts_trainingsession s ON s.id = a.session_id
    AND s.cohort_id = ps.cohort_id AND s.cancelled_at IS NULL
    AND s.starts_at >= %(year_from)s AND s.starts_at < %(year_until)s
WHERE ps.enrolment_id IN ({ids})
GROUP BY ps.enrolment_id
"""


def progress_recount(enrolment_ids: Iterable[int], *, years: Iterable[int]) -> set[str]:
    """After marks changed (a roster save) on sessions held in these local `years`:
    recount these enrolments' marks, in one statement, and their marks in those years (two
    each). Returns the regions concerned. An enrolment without a summary yet gets one the
    long way (`progress_refresh`)."""
    ids = sorted(set(enrolment_ids))
    if not ids:
        return set()
    params: dict = {
        "now": timezone.now(),
        "present": Attendance.Status.PRESENT,
        "late": Attendance.Status.LATE,
        "excused": Attendance.Status.EXCUSED,
        "absent": Attendance.Status.ABSENT,
    }
    params |= {f"e{i}": pk for i, pk in enumerate(ids)}
    sql = _RECOUNT_SQL.format(ids=", ".join(f"%(e{i})s" for i in range(len(ids))))
    id_list = ", ".join(f"%(e{i})s" for i in range(len(ids)))
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
        for year in sorted(set(years)):
            year_from, year_until = local_year_bounds(year)
            ops = connection.ops
            year_params = params | {
                "year": year,
                "year_from": ops.adapt_datetimefield_value(year_from),
                "year_until": ops.adapt_datetimefield_value(year_until),
            }
            cursor.execute(_RECOUNT_YEAR_DELETE.format(ids=id_list), year_params)
            cursor.execute(_RECOUNT_YEAR_INSERT.format(ids=id_list), year_params)
    regions = {region for _, region in rows}
    missing = set(ids) - {pk for pk, _ in rows}
    if missing:
        regions |= progress_refresh(enrolment_ids=missing)
    return regions


def _with_keys(enrolments: QuerySet[Enrolment]) -> QuerySet[Enrolment]:
    """The enrolments with what `compute` reads of their participant and cohort."""
    return enrolments.select_related("participant", "cohort").only(
        *("pk", "participant_id", "cohort_id", "status", "enrolled_on", "withdrawn_on"),
        *("participant__region_id", "participant__sex", "participant__role", "cohort__year"),
    )


def _cohort_batches(batch: int) -> Iterator[list[int]]:
    ids = list(
        Enrolment.objects.values_list("cohort_id", flat=True).distinct().order_by("cohort_id")
    )
    for start in range(0, len(ids), batch):
        yield ids[start : start + batch]


def progress_rebuild(progress: Callable[[str, int, int], None] | None = None) -> int:
    """Recompute every summary from the marks, cohort by cohort; return the rows written."""
    written = 0
    total = Enrolment.objects.count()
    with transaction.atomic():
        ProgressSummary.objects.exclude(enrolment_id__in=Enrolment.objects.values("pk")).delete()
        for cohort_ids in _cohort_batches(20):
            summaries = compute(
                _with_keys(Enrolment.objects.filter(cohort_id__in=cohort_ids)), whole_cohorts=True
            )
            _save(summaries, whole_cohorts=True)
            written += len(summaries)
            if progress:
                progress("progress summary", written, total)
        if connection.vendor == "postgresql":
            # Fresh statistics: the planner otherwise sees an empty table and picks plans
            # (nested loops, sorts spilling to disk) that cost the reports tenfold.
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE cohorts_progresssummary")
    return written


def progress_fill_missing(**_kwargs) -> int:
    """Create the summaries of enrolments that have none (after the migration that adds
    the table to an existing database); connected to post_migrate."""
    if ProgressSummary._meta.db_table not in connection.introspection.table_names():
        return 0  # migrated backwards, before the table
    missing = Enrolment.objects.filter(progress_summary__isnull=True)
    # The marks per year came later (migration 0014): filled once, when there are marks.
    no_years = not ProgressYear.objects.exists() and Attendance.objects.exists()
    if not missing.exists() and not no_years:
        return 0
    return progress_rebuild()


def progress_differences(
    progress: Callable[[str, int, int], None] | None = None,
) -> list[tuple[int, dict, dict]]:
    """Enrolments whose stored summary differs from the marks: (enrolment id, stored,
    recomputed), the fields that differ only. A missing row shows as stored {}; a row
    whose enrolment is gone, as recomputed {}."""
    differences: list[tuple[int, dict, dict]] = [
        (pk, {"enrolment": pk}, {})
        for pk in ProgressSummary.objects.exclude(
            enrolment_id__in=Enrolment.objects.values("pk")
        ).values_list("pk", flat=True)
    ]
    total, checked = Enrolment.objects.count(), 0
    for cohort_ids in _cohort_batches(20):
        stored = {s.pk: s for s in ProgressSummary.objects.filter(cohort_id__in=cohort_ids)}
        stored_years: dict[int, list[ProgressYear]] = {}
        for year_row in ProgressYear.objects.filter(enrolment__cohort_id__in=cohort_ids):
            stored_years.setdefault(year_row.enrolment_id, []).append(year_row)
        enrolments = _with_keys(Enrolment.objects.filter(cohort_id__in=cohort_ids))
        for fresh in compute(enrolments, whole_cohorts=True):
            old = stored.get(fresh.pk)
            if old is None:
                differences.append((fresh.pk, {}, _values(fresh)))
                continue
            old.year_rows = stored_years.get(fresh.pk, [])  # type: ignore[attr-defined]
            before, after = _values(old), _values(fresh)
            changed = [name for name in before if before[name] != after[name]]
            if changed:
                differences.append(
                    (fresh.pk, {n: before[n] for n in changed}, {n: after[n] for n in changed})
                )
        checked += len(stored)
        if progress:
            progress("verifying", min(checked, total), total)
    return differences


def _values(summary: ProgressSummary) -> dict:
    return {
        "first_of_person": summary.first_of_person,
        "first_of_person_in_year": summary.first_of_person_in_year,
        "cohort_firsts": summary.cohort_firsts,
        "marks_per_year": {
            row.year: (row.n_marked, row.n_present, row.n_late, row.n_excused)
            for row in getattr(summary, "year_rows", [])
        },
        "cohort": summary.cohort_id,
        "participant": summary.participant_id,
        "region": summary.region_id,
        "sex": summary.sex,
        "role": summary.role,
        "year": summary.year,
        "withdrawn": summary.withdrawn,
        "counts_from": summary.counts_from,
        "counts_until": summary.counts_until,
        **{name: getattr(summary, name) for name in _COUNTED},
    }
