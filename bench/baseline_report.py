"""The progress report as it was computed before the progress summary (issue 12), frozen.

bench/report.py times it in the same run as today's report, so the ratios it prints are
"today against before" on the same machine at the same moment. It aggregates the million
attendance marks per enrolment on every request. Not used by the application.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from django.db import connection
from django.utils import timezone

from certificates.models import Certificate
from certificates.rules import ExcusedPolicy, Rate, Rule
from cohorts.models import Attendance, Enrolment

GROUP_KEYS = ("region", "year", "sex", "role", "cohort")

PROGRESS_MEASURES = (
    "people",
    "enrolled",
    "active",
    "withdrawn",
    "sessions_held",
    "attendance_marks",
    "attendance_rate",
    "excused_rate",
    "completed",
    "completion_rate",
    "certificates_issued",
)
TIMELINE_MEASURES = (
    "people",
    "enrolled",
    "sessions_held",
    "attendance_marks",
    "attendance_rate",
    "excused_rate",
    "certificates_issued",
)


@dataclass(frozen=True)
class ReportFilters:
    year: int | None = None
    region: str | None = None  # ISO code MA-01..MA-12
    cohort: int | None = None  # cohort id
    regions_in_scope: frozenset[str] | None = None  # a scoped manager's regions; None = all


@dataclass(frozen=True)
class Report:
    """Rows of keys and measures, the totals over everything filtered, and the keys.

    `measures` names the fields that are numbers (what suppression withholds); the rest of
    a row is its keys and their labels (`region_name`, `cohort_name`).
    """

    group_by: tuple[str, ...]
    rows: list[dict]
    totals: dict
    measures: tuple[str, ...] = field(default=PROGRESS_MEASURES)


# SQL ------------------------------------------------------------------------------------
#
# Only constant fragments and identifiers from the dictionaries below go into the SQL
# text; every value, user input included, is a query parameter. The SQL is portable
# (PostgreSQL and SQLite): CASE rather than FILTER, no ROLLUP, no window.

# Each key as a column; p is the participant, c the cohort (or the cohort with its rule).
_KEY_COLUMNS = {
    "region": "p.region_id",
    "year": "c.year",
    "sex": "p.sex",
    "role": "p.role",
    "cohort": "e.cohort_id",
}

# key: (label field, table, its key column, its label column)
_LABELS = {
    "region": ("region_name", "cohorts_region", "code", "name_fr"),
    "cohort": ("cohort_name", "cohorts_cohort", "id", "name"),
}

# The rule each cohort follows: its own, else its programme's default, else the built-in
# `Rule()`, the precedence of certificates.selectors.rules_for_cohorts. The policies
# become 0/1 weights, so that the rate is plain arithmetic on the counts of each status.
_RULES = """
    SELECT cohort_id, year, pct, min_hours,
        CASE WHEN late_ok THEN 1 ELSE 0 END AS late_w,
        CASE WHEN excused = %(excused_attended)s THEN 1 ELSE 0 END AS excused_in_num,
        CASE WHEN excused = %(excused_exclude)s THEN 1 ELSE 0 END AS excused_out_of_den
    FROM (
        SELECT c.id AS cohort_id, c.year AS year,
            CASE WHEN own.id IS NOT NULL THEN own.min_attendance_percent
                WHEN dflt.id IS NOT NULL THEN dflt.min_attendance_percent
                ELSE %(default_pct)s END AS pct,
            CASE WHEN own.id IS NOT NULL THEN own.late_counts_as_present
                WHEN dflt.id IS NOT NULL THEN dflt.late_counts_as_present
                ELSE %(default_late)s END AS late_ok,
            CASE WHEN own.id IS NOT NULL THEN own.excused_policy
                WHEN dflt.id IS NOT NULL THEN dflt.excused_policy
                ELSE %(default_excused)s END AS excused,
            CASE WHEN own.id IS NOT NULL THEN own.min_hours
                WHEN dflt.id IS NOT NULL THEN dflt.min_hours
                ELSE %(default_min_hours)s END AS min_hours
        FROM cohorts_cohort c
        LEFT JOIN certificates_completionrule own ON own.cohort_id = c.id
        LEFT JOIN certificates_completionrule dflt
            ON dflt.programme_id = c.programme_id AND dflt.cohort_id IS NULL
    ) effective_rule
"""

# Sessions held (started by now), per cohort.
_HELD = """
    SELECT cohort_id, COUNT(*) AS n FROM cohorts_trainingsession
    WHERE starts_at <= %(now)s GROUP BY cohort_id
"""


def _base_params(now: datetime) -> dict:
    default = Rule()
    return {
        "now": connection.ops.adapt_datetimefield_value(now),
        "default_pct": default.min_attendance_percent,
        "default_late": default.late_counts_as_present,
        "default_excused": default.excused_policy.value,
        "default_min_hours": default.min_hours,
        "excused_attended": ExcusedPolicy.ATTENDED.value,
        "excused_exclude": ExcusedPolicy.EXCLUDE.value,
        "present": Attendance.Status.PRESENT,
        "late": Attendance.Status.LATE,
        "excused": Attendance.Status.EXCUSED,
        "active": Enrolment.Status.ACTIVE,
        "withdrawn": Enrolment.Status.WITHDRAWN,
        "issued": Certificate.Status.ISSUED,
    }


def _filter_sql(
    filters: ReportFilters,
    *,
    participant: str,
    cohort: str | None = None,
    session: str | None = None,
) -> tuple[str, dict]:
    """The filters as one SQL condition on a participant id column and either a cohort id
    column or a session id column (the session's cohort is then the one filtered).

    Enrolments are filtered on (participant, cohort), marks on their participant and their
    session's cohort: the same filters select an enrolment and its marks.
    """
    conditions: list[str] = ["1 = 1"]
    params: dict[str, int | str] = {}

    def on_cohorts(cohorts_sql: str) -> str:
        if session is not None:
            # Only identifiers and placeholders go into the text.
            sessions = f"SELECT id FROM cohorts_trainingsession WHERE cohort_id {cohorts_sql}"  # noqa: S608
            return f"{session} IN ({sessions})"
        return f"{cohort} {cohorts_sql}"

    if filters.year is not None:
        conditions.append(on_cohorts("IN (SELECT id FROM cohorts_cohort WHERE year = %(year)s)"))
        params["year"] = filters.year
    if filters.cohort is not None:
        conditions.append(on_cohorts("= %(cohort)s"))
        params["cohort"] = filters.cohort
    regions: list[tuple[str, list[str]]] = []
    if filters.region is not None:
        regions.append(("region", [filters.region]))
    if filters.regions_in_scope is not None:
        regions.append(("scope", sorted(filters.regions_in_scope)))
    for name, codes in regions:
        if not codes:  # an empty scope: nothing
            conditions.append("1 = 0")
            continue
        names = [f"{name}_{i}" for i in range(len(codes))]
        params.update(zip(names, codes, strict=True))
        placeholders = ", ".join(f"%({n})s" for n in names)
        participants = f"SELECT id FROM cohorts_participant WHERE region_id IN ({placeholders})"  # noqa: S608
        conditions.append(f"{participant} IN ({participants})")
    return " AND ".join(conditions), params


def _fetch(sql: str, params: dict) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def _rate(numerator: int, denominator: int) -> dict:
    return {
        "value": Rate(numerator, denominator).value,
        "numerator": numerator,
        "denominator": denominator,
    }


# The progress report ----------------------------------------------------------------------

# Query 1: people and sessions held per group and over everything, with the keys' labels,
# and whether any rule has a minimum of hours (query 2 reads hours only then).
#
# These two do not add up across rows (a person may be in two cohorts of a group, a cohort
# in many groups), so they are counted distinct: people by participant, sessions held as
# the sum over distinct cohorts of each cohort's count. SQL has no "sum over distinct
# cohorts", so each cohort's (id, count) pair is packed into one number, id * 10^6 + count
# (a cohort has fewer than 10^6 sessions), summed over distinct values, and the ids' part
# taken off again. Grouped by cohort, neither needs DISTINCT: a participant has one
# enrolment per cohort, and a group has one cohort.
_SESSIONS_PACK = 1_000_000
_DISTINCT_COUNTS = f"""
    COUNT(DISTINCT e.participant_id) AS people,
    COALESCE(SUM(DISTINCT e.cohort_id * {_SESSIONS_PACK} + COALESCE(held.n, 0))
        - {_SESSIONS_PACK} * SUM(DISTINCT e.cohort_id), 0) AS sessions_held
"""
_ONE_COHORT_COUNTS = """
    COUNT(*) AS people,
    COALESCE(MAX(held.n), 0) AS sessions_held
"""

_PEOPLE_GROUPS_SQL = """
SELECT {g_keys} {labels} 0, g.people, g.sessions_held, 0
FROM (
    SELECT {key_columns} {distinct_counts}
    FROM cohorts_enrolment e
    {participant_join}
    {cohort_join}
    LEFT JOIN ({held}) held ON held.cohort_id = e.cohort_id
    WHERE {where}
    GROUP BY {group_columns}
) g
{label_joins}
UNION ALL
"""

_PEOPLE_TOTALS_SQL = """
SELECT {null_keys} {null_labels} 1, {distinct_counts},
    (SELECT COUNT(*) FROM certificates_completionrule WHERE min_hours IS NOT NULL)
FROM cohorts_enrolment e
LEFT JOIN ({held}) held ON held.cohort_id = e.cohort_id
WHERE {where}
"""

# Query 2: the two-level aggregate of everything that adds up. Inside, one row per
# enrolment with its counts, its cohort's rule and whether it meets it; the marks are
# counted per participant and cohort in one pass over the marks, which is what
# `enrolments_with_counts` counts for an enrolment. Outside, the sums per group (the
# counts are cast to INTEGER so that PostgreSQL sums them as bigint, not numeric).
#
# Eligibility is `evaluate(...)` in integer arithmetic:
# - not withdrawn;
# - `Rate.meets`: den > 0 and attended * 100 >= pct * den;
# - min_hours: `evaluate` compares the hours rounded to 0.01 h (`counts_of` quantizes).
#   Hours attended are counted here exactly, in hundredths of a minute (an hour is 6000):
#   100 * minutes recorded + 6000 * planned hours of the sessions without minutes, for
#   present and late marks. The rounded value reaches min_hours exactly when the exact
#   value reaches min_hours - 0.005 h, i.e. 6000 * min_hours - 30. Planned hours and
#   min_hours have two decimals, so the exact value is a multiple of 20 units and the bound
#   a multiple of 20 plus 10: it never falls on the half, and rounding cannot tie.
#   Only the marks of cohorts whose rule has a minimum are read for hours.
_MEASURES_SQL = """
SELECT {key_aliases}
    COUNT(*),
    SUM(active),
    SUM(withdrawn),
    SUM(n_marked),
    SUM(attended),
    SUM(den),
    SUM(n_excused),
    SUM(completed),
    SUM(certified)
FROM (
    SELECT {key_aliases} n_marked, n_excused, attended, den, certified,
        CASE WHEN status = %(active)s THEN 1 ELSE 0 END AS active,
        CASE WHEN status = %(withdrawn)s THEN 1 ELSE 0 END AS withdrawn,
        CASE WHEN status <> %(withdrawn)s AND den > 0 AND attended * 100 >= pct * den
            AND (min_hours IS NULL OR centiminutes + 30 >= 6000 * min_hours)
            THEN 1 ELSE 0 END AS completed
    FROM (
        SELECT {key_columns}
            e.status AS status, c.pct AS pct, c.min_hours AS min_hours,
            CAST(COALESCE(m.n_marked, 0) AS INTEGER) AS n_marked,
            CAST(COALESCE(m.n_excused, 0) AS INTEGER) AS n_excused,
            CAST(
                COALESCE(m.n_present + c.late_w * m.n_late + c.excused_in_num * m.n_excused, 0)
                AS INTEGER
            ) AS attended,
            CAST(COALESCE(m.n_marked - c.excused_out_of_den * m.n_excused, 0) AS INTEGER) AS den,
            {centiminutes} AS centiminutes,
            CASE WHEN cert.id IS NULL THEN 0 ELSE 1 END AS certified
        FROM cohorts_enrolment e
        {participant_join}
        JOIN ({rules}) c ON c.cohort_id = e.cohort_id
        LEFT JOIN (
            SELECT a.participant_id, s.cohort_id,
                COUNT(CASE WHEN a.status = %(present)s THEN 1 END) AS n_present,
                COUNT(CASE WHEN a.status = %(late)s THEN 1 END) AS n_late,
                COUNT(CASE WHEN a.status = %(excused)s THEN 1 END) AS n_excused,
                COUNT(*) AS n_marked
            FROM cohorts_attendance a
            JOIN cohorts_trainingsession s ON s.id = a.session_id
            WHERE {where_marks}
            GROUP BY a.participant_id, s.cohort_id
        ) m ON m.participant_id = e.participant_id AND m.cohort_id = e.cohort_id
        {hours_join}
        LEFT JOIN certificates_certificate cert ON cert.participant_id = e.participant_id
            AND cert.cohort_id = e.cohort_id AND cert.status = %(issued)s
        WHERE {where_enrolments}
    ) per_enrolment
) per_enrolment_flags
{group_by}
"""

_HOURS_JOIN = """
        LEFT JOIN (
            SELECT a.participant_id, s.cohort_id,
                SUM(a.minutes_attended) AS minutes,
                SUM(CASE WHEN a.minutes_attended IS NULL THEN s.planned_hours END)
                    AS planned_hours
            FROM cohorts_attendance a
            JOIN cohorts_trainingsession s ON s.id = a.session_id
            WHERE a.status IN (%(present)s, %(late)s) AND {where_marks}
                AND s.cohort_id IN (
                    SELECT cohort_id FROM ({rules}) r WHERE min_hours IS NOT NULL
                )
            GROUP BY a.participant_id, s.cohort_id
        ) h ON h.participant_id = e.participant_id AND h.cohort_id = e.cohort_id
"""
_CENTIMINUTES = "100 * COALESCE(h.minutes, 0) + 6000 * COALESCE(h.planned_hours, 0)"

_COUNTS = 9  # what query 2 returns after the keys, in `_progress_measures` order


def progress_report(
    *, group_by: Sequence[str], filters: ReportFilters, now: datetime | None = None
) -> Report:
    """Enrolment, attendance, completion and certificates per group, in two queries.

    `group_by` is any of GROUP_KEYS, in the order the rows are keyed and sorted; none
    gives one row, equal to the totals.
    """
    keys = _checked_keys(group_by)
    now = now or timezone.now()
    on_enrolments, filter_params = _filter_sql(
        filters, participant="e.participant_id", cohort="e.cohort_id"
    )
    on_marks, _ = _filter_sql(filters, participant="a.participant_id", cohort="s.cohort_id")
    params = {**_base_params(now), **filter_params}
    aliases = [f"k_{key}" for key in keys]
    key_columns = "".join(f"{_KEY_COLUMNS[k]} AS k_{k}, " for k in keys)
    labelled = [key for key in keys if key in _LABELS]
    # Joined only when a key needs them (the filters are conditions on e).
    participant_join = (
        "JOIN cohorts_participant p ON p.id = e.participant_id"
        if {"region", "sex", "role"} & set(keys)
        else ""
    )

    people_sql = _PEOPLE_TOTALS_SQL.format(
        null_keys="NULL, " * len(keys),
        null_labels="NULL, " * len(labelled),
        distinct_counts=_DISTINCT_COUNTS,
        held=_HELD,
        where=on_enrolments,
    )
    if keys:
        people_sql = (
            _PEOPLE_GROUPS_SQL.format(
                g_keys="".join(f"g.{a}, " for a in aliases),
                labels="".join(f"label_{k}.{_LABELS[k][3]}, " for k in labelled),
                key_columns=key_columns,
                distinct_counts=_ONE_COHORT_COUNTS if "cohort" in keys else _DISTINCT_COUNTS,
                participant_join=participant_join,
                cohort_join="JOIN cohorts_cohort c ON c.id = e.cohort_id" if "year" in keys else "",
                held=_HELD,
                where=on_enrolments,
                group_columns=", ".join(_KEY_COLUMNS[k] for k in keys),
                label_joins="\n".join(
                    f"LEFT JOIN {table} label_{k} ON label_{k}.{column} = g.k_{k}"
                    for k in labelled
                    for _, table, column, _ in [_LABELS[k]]
                ),
            )
            + people_sql
        )
    # Keyed by a group's key values; None holds the totals row.
    distinct: dict[tuple[object, ...] | None, tuple[int, int]] = {}
    labels: dict[tuple[object, ...], dict[str, object]] = {}
    needs_hours = Rule().min_hours is not None
    for row in _fetch(people_sql, params):
        key = row[: len(keys)]
        names = row[len(keys) : len(keys) + len(labelled)]
        is_total, people, sessions_held, rules_with_hours = row[len(keys) + len(labelled) :]
        if is_total:
            distinct[None] = (int(people), int(sessions_held))
            needs_hours = needs_hours or bool(rules_with_hours)
        else:
            distinct[key] = (int(people), int(sessions_held))
            labels[key] = dict(zip(labelled, names, strict=True))
    if not keys:
        distinct[()] = distinct[None]

    measures_sql = _MEASURES_SQL.format(
        key_aliases="".join(f"{a}, " for a in aliases),
        key_columns=key_columns,
        participant_join=participant_join,
        rules=_RULES,
        hours_join=_HOURS_JOIN.format(where_marks=on_marks, rules=_RULES) if needs_hours else "",
        centiminutes=_CENTIMINUTES if needs_hours else "0",
        where_marks=on_marks,
        where_enrolments=on_enrolments,
        group_by=f"GROUP BY {', '.join(aliases)}" if keys else "",
    )
    rows, all_counts = [], []
    for row in _fetch(measures_sql, params):
        key, counts = row[: len(keys)], [int(v or 0) for v in row[len(keys) :]]
        all_counts.append(counts)
        fields = {}
        for k, value in zip(keys, key, strict=True):
            fields[k] = value
            if k in _LABELS:  # the label next to its key
                fields[_LABELS[k][0]] = labels[key][k]
        rows.append((key, fields | _progress_measures(counts, *distinct[key])))
    rows.sort(key=lambda pair: pair[0])
    sums = [sum(column) for column in zip(*all_counts, strict=True)] or [0] * _COUNTS
    return Report(
        group_by=tuple(keys),
        rows=[row for _, row in rows],
        totals=_progress_measures(sums, *distinct[None]),
        measures=PROGRESS_MEASURES,
    )


def _progress_measures(counts: list[int], people: int, sessions_held: int) -> dict:
    enrolled, active, withdrawn, marks, attended, den, excused, completed, certified = counts
    return {
        "people": people,
        "enrolled": enrolled,
        "active": active,
        "withdrawn": withdrawn,
        "sessions_held": sessions_held,
        "attendance_marks": marks,
        "attendance_rate": _rate(attended, den),
        "excused_rate": _rate(excused, marks),
        "completed": completed,
        "completion_rate": _rate(completed, enrolled),
        "certificates_issued": certified,
    }


def _checked_keys(group_by: Sequence[str]) -> list[str]:
    keys = list(group_by)
    unknown = [key for key in keys if key not in GROUP_KEYS]
    if unknown:
        raise ValueError(f"Unknown group keys {unknown}; use any of {GROUP_KEYS}.")
    if len(set(keys)) != len(keys):
        raise ValueError(f"A group key appears twice in {keys}.")
    return keys
