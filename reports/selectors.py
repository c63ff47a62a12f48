"""The funders' progress report and its timeline, aggregated in SQL.

Every number is the one `certificates.rules` defines for one enrolment: `attendance_rate`
and `evaluate` applied to the counts of `cohorts.selectors.enrolments_with_counts`, with
the cohort's rule (`certificates.selectors.rules_for_cohorts`), then summed over a group.
The rule is written once more here, in SQL, so that 50,000 enrolments cost one query per report
instead of 50,000 evaluations in Python; tests/test_reports.py generates varied data and
checks that both give the same numbers.

The progress report reads the progress summary (cohorts.models.ProgressSummary, one row
per enrolment with its marks counted, kept on write), not the marks: its cost follows the
number of enrolments, not of marks. What depends on the time, the sessions held by `now`,
is counted from the sessions per cohort: each summary row says where its window sits in
its cohort's sessions (see ProgressSummary), so the sessions held in the window follow.

What each measure counts (progress report):

- `enrolled`, `active`, `withdrawn`: enrolments, one person in one cohort. Without the
  `cohort` key, a person enrolled in two cohorts of the group counts twice; `people`
  counts distinct participants (suppression uses it).
- `sessions_held`: sessions of the group's cohorts that have started by `now` and are not
  cancelled, each once.
- `attendance_marks`: marks of the group's enrolments that the rule counts (the
  participant's marks on the sessions that count for the enrolment: its cohort's, not
  cancelled, from the day of enrolment to the day of withdrawal).
- `attendance_rate`: the sums of `attendance_rate(counts, rule)`'s numerators and
  denominators over the group's enrolments, each with its cohort's rule.
- `excused_rate`: excused marks over marks.
- `completed`: enrolments for which `evaluate(counts, rule).eligible` holds at `now`;
  `completion_rate` is completed over enrolled.
- `certificates_issued`: certificates with status "issued" for the group's enrolments.

Keys: `region` is the participant's region (ISO code), `year` the cohort's programme year.
Filters select enrolments the same way: `region` and `regions_in_scope` by the
participant's region, `year` and `cohort` by the enrolment's cohort.

The timeline gives the same measures per month ("2019-03") or year (2019) in local time
(settings.TIME_ZONE), each by the date it is about:

- `sessions_held`: by the session's start (started by `now`);
- `attendance_marks`, `attendance_rate`, `excused_rate`: by the start of the marked session;
- `enrolled`: by `Enrolment.enrolled_on`; `certificates_issued`: by `Certificate.issued_on`;
- `people`: distinct participants with a mark, an enrolment or a certificate in the period.

Completion is a state at `now`, not an event with a date, so the timeline leaves it out.
Cancelled sessions and their marks count nowhere. The timeline's attendance rate is over
the marks recorded in each period; the progress report's also counts the held sessions not
recorded (certificates.rules), so where sessions are missing from the register the
progress report's rate is the lower one.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Literal, cast

from django.conf import settings
from django.db import connection
from django.utils import timezone

from certificates.models import Certificate
from certificates.rules import ExcusedPolicy, Rate, Rule
from cohorts.models import Attendance
from cohorts.progress import COHORT_FIRST_KEYS, cohort_first_bit

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
# (PostgreSQL and SQLite 3.30+, Django's minimum): aggregates with FILTER, no ROLLUP, no
# window; only LEAST/GREATEST are spelt MIN/MAX on SQLite, and GROUPING SETS are used on
# PostgreSQL only.

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

# Sessions held (started by now, not cancelled), per cohort.
_HELD = """
    SELECT cohort_id, COUNT(*) AS n FROM cohorts_trainingsession
    WHERE starts_at <= %(now)s AND cancelled_at IS NULL GROUP BY cohort_id
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
        "issued": Certificate.Status.ISSUED,
    }


def _filter_sql(
    filters: ReportFilters,
    *,
    participant: str,
    cohort: str | None = None,
    session: str | None = None,
    region_column: str | None = None,
    year_column: str | None = None,
) -> tuple[str, dict]:
    """The filters as one SQL condition on a participant id column and either a cohort id
    column or a session id column (the session's cohort is then the one filtered).

    Enrolments are filtered on (participant, cohort), marks on their participant and their
    session's cohort: the same filters select an enrolment and its marks. Rows that carry
    the region and the year themselves (the progress summary) name those columns instead.
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
        if year_column is not None:
            conditions.append(f"{year_column} = %(year)s")
        else:
            conditions.append(
                on_cohorts("IN (SELECT id FROM cohorts_cohort WHERE year = %(year)s)")
            )
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
        if region_column is not None:
            conditions.append(f"{region_column} IN ({placeholders})")
            continue
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

# One query over the progress summary for one or several groupings, in three tagged parts:
# - 'g', per group: one row per enrolment of the filters (its summary, the sessions held in
#   its window, its cohort's rule and whether it meets it), summed;
# - 's', per group: the sessions held, each cohort once (a cohort is in many groups, a
#   group has many cohorts, so this does not add up over enrolments): the sum over the
#   group's distinct cohorts (`group_cohorts`, a few thousand rows);
# - 't': the sessions held over everything filtered, each cohort once.
# The totals of everything else are the sums of a grouping's rows: each enrolment is in
# exactly one group. The rule and the sessions held per cohort (`facts`, 1,584 rows at
# national scale) are worked out once. Several groupings (the dashboard's six tables) are
# one pass over the summary on PostgreSQL: `fine` groups by every key they use (a few
# hundred rows), which GROUPING SETS regroup per grouping, and the sessions held regroup
# `group_cohorts` per grouping and cohort; SQLite, which lacks them, runs one query per
# grouping.
#
# Eligibility is `evaluate(...)` in integer arithmetic, with the rule's constants worked
# out once per cohort in `facts`:
# - not withdrawn, and no held session left unrecorded (`AttendanceCounts.not_recorded`:
#   held in the window - marked, never below 0);
# - `Rate.meets`: den > 0 and attended * 100 >= pct * den, where den counts the marks
#   (and, in the rate, the sessions not recorded: 0 here), less the excused marks when the
#   rule excludes them. Expanded over the counts by status, attended * 100 - pct * den is
#   w_present * present + w_late * late + w_excused * excused - pct * absent;
# - min_hours: `evaluate` compares the hours rounded to 0.01 h (`counts_of` quantizes).
#   The summary holds hours attended exactly, in hundredths of a minute (an hour is 6000).
#   The rounded value reaches min_hours exactly when the exact value reaches
#   min_hours - 0.005 h, i.e. 6000 * min_hours - 30. Planned hours and min_hours have two
#   decimals, so the exact value is a multiple of 20 units and the bound a multiple of 20
#   plus 10: it never falls on the half, and rounding cannot tie. Without min_hours the
#   bound is 0, which every enrolment reaches.
# The rate's denominator per enrolment, marks + not recorded - excused left out, is
# max(held in the window, marks) - excused left out.
#
# People are counted distinct without sorting every participant id: a person's enrolments
# all fall in one group unless the groups or filters split them by cohort or by year, so
# the count adds up the summary's "first enrolment of the person" flag (overall, or in the
# year), or counts enrolments when split by cohort (one per person and cohort). Only the
# flags the groupings need are counted.
# The rule's constants of each cohort, as `facts` and `_rule_constants` use them.
_RULE_CONSTANTS = ("pct", "late_w", "excused_in_num", "excused_out_of_den", "excused_in_den",
    "w_present", "w_late", "w_excused", "min_centiminutes")  # fmt: skip
_COHORT_RULES = f"""
    SELECT r.cohort_id AS cohort_id, r.pct AS pct, r.late_w AS late_w,
        r.excused_in_num AS excused_in_num, r.excused_out_of_den AS excused_out_of_den,
        1 - r.excused_out_of_den AS excused_in_den,
        100 - r.pct AS w_present,
        100 * r.late_w - r.pct AS w_late,
        100 * r.excused_in_num - r.pct * (1 - r.excused_out_of_den) AS w_excused,
        CASE WHEN r.min_hours IS NULL THEN 0
            ELSE CAST(ROUND(6000 * r.min_hours) AS BIGINT) - 30 END AS min_centiminutes
    FROM ({_RULES}) r
"""  # noqa: S608 (constant text)
_FACTS = f"""
    SELECT r.*, COALESCE(held.n, 0) AS held
    FROM ({_COHORT_RULES}) r
    LEFT JOIN ({_HELD}) held ON held.cohort_id = r.cohort_id
"""  # noqa: S608 (constant text)
# When every cohort follows the same rule (one programme with its default: the usual
# case), its constants go into the query as numbers and `facts` is the sessions held only.
# The same arithmetic, without carrying nine columns per cohort into the 50,000-row join:
# the report by region's query 69-88 -> 50-64 ms without parallel workers (national data).
_FACTS_HELD_ONLY = f"""
    SELECT c.id AS cohort_id, COALESCE(held.n, 0) AS held
    FROM cohorts_cohort c
    LEFT JOIN ({_HELD}) held ON held.cohort_id = c.id
"""  # noqa: S608 (constant text)
_DISTINCT_RULES = f"SELECT DISTINCT {', '.join(_RULE_CONSTANTS)} FROM ({_COHORT_RULES}) r"  # noqa: S608


# The rule's constants read per cohort from `facts` (the cohorts follow different rules).
_PER_COHORT = {name: f"f.{name}" for name in _RULE_CONSTANTS}


def _rule_constants(params: dict) -> dict[str, str] | None:
    """The rule's constants as numbers (text) when every cohort follows the same rule;
    None when they differ (then read per cohort: `_PER_COHORT`).

    Read in a statement of its own, just before the report's: a rule changed in between
    gives this one request the figures under the rule before the change, as if it had come
    a moment earlier; the change bumps the reports' generation, so they are not served to
    anyone after it."""
    rules = _fetch(_DISTINCT_RULES, params)
    if len(rules) != 1:
        return None
    # int(): only integers go into the text.
    return {name: str(int(value)) for name, value in zip(_RULE_CONSTANTS, rules[0], strict=True)}


def _rule_sql(now: datetime) -> tuple[str, dict[str, str]]:
    """`facts` and the names of the rule's constants for the report query, read once for
    every grouping of a request (SQLite runs one query per grouping)."""
    constants = _rule_constants(_base_params(now))
    return (_FACTS_HELD_ONLY, constants) if constants else (_FACTS, _PER_COHORT)


# The held sessions are a prefix of the cohort's sessions in order of start (see
# ProgressSummary): those in the window follow from its bounds.
_HELD_IN_WINDOW = "{least}(f.held, e.sessions_until) - e.sessions_before"
_MARKED = "(e.n_present + e.n_late + e.n_excused + e.n_absent)"

_PROGRESS_SQL = """
WITH facts AS ({facts}),
fine AS (
    SELECT {key_columns}
        COUNT(*) AS enrolled,
        {first_of_person} AS first_of_person,
        {first_of_person_in_year} AS first_of_person_in_year,
        COUNT(*) FILTER (WHERE e.withdrawn) AS withdrawn,
        SUM({marked}) AS n_marked,
        SUM(e.n_present + {late_w} * e.n_late + {excused_in_num} * e.n_excused) AS attended,
        SUM({greatest}({held_in_window}, {marked}) - {excused_out_of_den} * e.n_excused)
            AS den,
        SUM(e.n_excused) AS n_excused,
        COUNT(*) FILTER (WHERE NOT e.withdrawn
            AND {held_in_window} <= {marked}
            AND e.n_present + e.n_late + e.n_absent + {excused_in_den} * e.n_excused > 0
            AND {w_present} * e.n_present + {w_late} * e.n_late + {w_excused} * e.n_excused
                >= {pct} * e.n_absent
            AND e.centiminutes_attended >= {min_centiminutes}) AS completed,
        COUNT(*) FILTER (WHERE e.certified) AS certified{cell_columns}
    FROM cohorts_progresssummary e
    JOIN facts f ON f.cohort_id = e.cohort_id
    WHERE {where}
    {group_by_keys}
){group_cohorts}
SELECT grouped.* {label_columns}
FROM ({measures}{sessions}{total_part}
) grouped
{label_joins}
"""
_GROUP_COHORTS = """,
group_cohorts AS (
    SELECT DISTINCT {key_columns} e.cohort_id AS cohort_id
    FROM cohorts_progresssummary e
    WHERE {where}
)"""
_TOTAL_SESSIONS = """
    SELECT 't', 0, {null_keys} NULL, NULL, NULL, SUM(f.held), {nulls}
    FROM facts f
    WHERE f.cohort_id IN (SELECT cohort_id FROM group_cohorts)"""
# The same from the summary's `cohort_firsts` (where `_first_bit` allows): each cohort's
# sessions once per group, as the rows that are their cohort's first in the group.
_SESSIONS_BY_FIRSTS = """
    SELECT 's', {grouping_id}, {key_columns} NULL, NULL, NULL, SUM(f.held), {nulls}
    FROM cohorts_progresssummary e
    JOIN facts f ON f.cohort_id = e.cohort_id
    WHERE {where} AND (e.cohort_firsts & {bit}) <> 0
    {group_by}"""
_TOTAL_SESSIONS_BY_FIRSTS = """
    SELECT 't', 0, {null_keys} NULL, NULL, NULL, SUM(f.held), {nulls}
    FROM cohorts_progresssummary e
    JOIN facts f ON f.cohort_id = e.cohort_id
    WHERE {where} AND (e.cohort_firsts & {bit}) <> 0"""
# What the 'g' part sums after the people and sessions columns.
_SUMMED_COLUMNS = (
    "enrolled - withdrawn", "withdrawn", "n_marked", "attended", "den", "n_excused",
    "completed", "certified",
)  # fmt: skip
_SUMMED = len(_SUMMED_COLUMNS)

# One grouping: `fine` is already grouped by its keys.
_MEASURES = """
    SELECT 'g' AS part, 0 AS grouping_id, {key_aliases}
        enrolled, first_of_person, first_of_person_in_year, NULL, {columns}{cell_selects}
    FROM fine"""
_SESSIONS = """
    SELECT 's', 0, {key_aliases} NULL, NULL, NULL, SUM(f.held), {nulls}
    FROM group_cohorts c
    JOIN facts f ON f.cohort_id = c.cohort_id
    {group_by_keys}"""

# Several groupings: each row carries PostgreSQL's bit mask of the keys it is not grouped
# by, which tells the grouping.
_MEASURES_SETS = """
    SELECT 'g' AS part, GROUPING({key_list}) AS grouping_id, {key_aliases}
        SUM(enrolled), SUM(first_of_person), SUM(first_of_person_in_year), NULL,
        {sums}
    FROM fine
    GROUP BY GROUPING SETS ({sets})"""
_SESSIONS_SETS = """
    SELECT 's', grouping_id, {key_aliases} NULL, NULL, NULL, SUM(f.held), {nulls}
    FROM (
        SELECT GROUPING({key_list}) AS grouping_id, {key_aliases} cohort_id
        FROM group_cohorts
        GROUP BY GROUPING SETS ({sets_and_cohort})
    ) per_grouping
    JOIN facts f ON f.cohort_id = per_grouping.cohort_id
    GROUP BY grouping_id, {key_list}"""

# Each key as a column of the summary (its copies of the participant's and the cohort's).
_SUMMARY_KEYS = {
    "region": "e.region_id",
    "year": "e.year",
    "sex": "e.sex",
    "role": "e.role",
    "cohort": "e.cohort_id",
}


def progress_report(
    *, group_by: Sequence[str], filters: ReportFilters, now: datetime | None = None
) -> Report:
    """Enrolment, attendance, completion and certificates per group, in one query.

    `group_by` is any of GROUP_KEYS, in the order the rows are keyed and sorted; none
    gives one row, equal to the totals.
    """
    return progress_reports(groupings=[group_by], filters=filters, now=now)[0]


def progress_reports(
    *, groupings: Sequence[Sequence[str]], filters: ReportFilters, now: datetime | None = None
) -> list[Report]:
    """The progress report for each grouping, with the same filters, in one pass over the
    summary on PostgreSQL (GROUPING SETS), one query per grouping on SQLite."""
    checked = [_checked_keys(group_by) for group_by in groupings]
    now = now or timezone.now()
    rules = _rule_sql(now)
    if len(checked) > 1 and connection.vendor != "postgresql":
        return [_progress_reports([keys], filters, now, rules)[0] for keys in checked]
    return _progress_reports(checked, filters, now, rules)


def _progress_reports(
    groupings: list[list[str]],
    filters: ReportFilters,
    now: datetime,
    rules: tuple[str, dict[str, str]],
    cells: dict[tuple, dict[int, int]] | None = None,
) -> list[Report]:
    """`rules`: `facts` and the rule's constants (`_rule_sql`). `cells`, when given (one
    grouping by region, year, sex and role, no filters), is filled with each group's
    `published_cells` figures, summed in the same pass; the sessions held then follow from
    them instead of two more passes."""
    # Every key any grouping uses, in GROUP_KEYS order; each grouping is a subset.
    keys = [k for k in GROUP_KEYS if any(k in g for g in groupings)]
    where, filter_params = _filter_sql(
        filters,
        participant="e.participant_id",
        cohort="e.cohort_id",
        region_column="e.region_id",
        year_column="e.year",
    )
    params = {**_base_params(now), **filter_params}
    aliases = [f"k_{key}" for key in keys]
    labelled = [key for key in keys if key in _LABELS]
    postgresql = connection.vendor == "postgresql"
    flags = {_people_flag(*split) for split in _splits(groupings, filters)}
    names = {
        "key_aliases": "".join(f"{a}, " for a in aliases),
        "key_list": ", ".join(aliases),
        "group_by_keys": f"GROUP BY {', '.join(aliases)}" if keys else "",
        "nulls": ", ".join(["NULL"] * _SUMMED),
        "columns": ", ".join(_SUMMED_COLUMNS),
        "sums": ", ".join(f"SUM({column})" for column in _SUMMED_COLUMNS),
    }

    def mask(grouping: list[str]) -> int:
        # GROUPING(a, b, c): the leftmost key is the highest bit, set when not grouped.
        if len(groupings) == 1:
            return 0
        return sum(1 << (len(keys) - 1 - i) for i, k in enumerate(keys) if k not in grouping)

    first_bits = [_first_bit(g, filters) for g in [[], *groupings]]
    # Sessions held summed in `fine` itself, over the rows with some `cohort_firsts` bits:
    # every bit for `published_cells` (asked for with `cells`); for one grouping that the
    # flags serve, the group's bit and the total's (each cohort's first row of all lies in
    # one group, so the groups' figures add up to the total): no other pass.
    cell_bits: list[int] = []
    inline = False
    if cells is not None:
        if len(groupings) > 1 or set(groupings[0]) != {*COHORT_FIRST_KEYS, "year"}:
            raise ValueError("cells: one grouping by region, year, sex and role only")
        cell_bits = [1 << m for m in range(1 << len(COHORT_FIRST_KEYS))]
    elif len(groupings) == 1 and None not in first_bits:
        inline = True
        cell_bits = [cast(int, first_bits[1]), cast(int, first_bits[0])]
    cell_columns = "".join(
        f", SUM(f.held) FILTER (WHERE (e.cohort_firsts & {bit}) <> 0) AS c_{i}"
        for i, bit in enumerate(cell_bits)
    )
    cell_selects = "".join(f", c_{i}" for i in range(len(cell_bits)))
    if len(groupings) > 1:
        measures = _MEASURES_SETS.format(
            sets=", ".join("(" + ", ".join(f"k_{k}" for k in g) + ")" for g in groupings),
            **names,
        )
    else:
        measures = _MEASURES.format(**names, cell_selects=cell_selects)
    key_columns = "".join(f"{_SUMMARY_KEYS[k]} AS k_{k}, " for k in keys)
    if cell_bits:  # the sessions follow from the figures summed in `fine`: no other part
        sessions = total_part = group_cohorts = ""
    elif None not in first_bits:
        # Each cohort's sessions once per group, from the flags: no distinct pairs.
        sessions = "\n    UNION ALL " + " UNION ALL ".join(
            _SESSIONS_BY_FIRSTS.format(
                grouping_id=mask(g),
                key_columns="".join(
                    f"{_SUMMARY_KEYS[k]} AS k_{k}, " if k in g else f"NULL AS k_{k}, " for k in keys
                ),
                where=where,
                bit=bit,
                group_by=f"GROUP BY {', '.join(_SUMMARY_KEYS[k] for k in g)}" if g else "",
                nulls=names["nulls"],
            )
            for g, bit in zip(groupings, first_bits[1:], strict=True)
        )
        total_part = "\n    UNION ALL " + _TOTAL_SESSIONS_BY_FIRSTS.format(
            null_keys="NULL, " * len(keys), where=where, bit=first_bits[0], nulls=names["nulls"]
        )
        group_cohorts = ""
    else:
        if len(groupings) > 1:
            sessions = "\n    UNION ALL " + _SESSIONS_SETS.format(
                sets_and_cohort=", ".join(
                    "(" + "".join(f"k_{k}, " for k in g) + "cohort_id)" for g in groupings
                ),
                **names,
            )
        else:
            sessions = "\n    UNION ALL " + _SESSIONS.format(**names)
        total_part = "\n    UNION ALL " + _TOTAL_SESSIONS.format(
            null_keys="NULL, " * len(keys), nulls=names["nulls"]
        )
        group_cohorts = _GROUP_COHORTS.format(key_columns=key_columns, where=where)
    held_in_window = _HELD_IN_WINDOW.format(least="LEAST" if postgresql else "MIN")
    facts, constants = rules
    sql = _PROGRESS_SQL.format(
        facts=facts,
        **constants,
        held_in_window=held_in_window,
        marked=_MARKED,
        greatest="GREATEST" if postgresql else "MAX",
        first_of_person=_count_if("e.first_of_person", "first" in flags),
        first_of_person_in_year=_count_if("e.first_of_person_in_year", "first_in_year" in flags),
        key_columns=key_columns,
        where=where,
        cell_columns=cell_columns,
        group_cohorts=group_cohorts,
        measures=measures,
        sessions=sessions,
        total_part=total_part,
        null_keys="NULL, " * len(keys),
        label_columns="".join(f", label_{k}.{_LABELS[k][3]}" for k in labelled),
        label_joins="\n".join(
            f"LEFT JOIN {table} label_{k} ON label_{k}.{column} = grouped.k_{k}"
            for k in labelled
            for _, table, column, _ in [_LABELS[k]]
        ),
        **names,
    )

    by_mask: dict[int, _Parts] = {mask(g): _Parts() for g in groupings}
    total_sessions = 0
    # Where each row's columns start after the summed ones: the sessions held summed in
    # `fine` (cell_bits), then the labels.
    held_from = 6 + len(keys) + _SUMMED
    after = held_from + len(cell_bits)
    cell_bit, all_bit = cohort_first_bit(COHORT_FIRST_KEYS), cohort_first_bit(())
    for row in _fetch(sql, params):
        part, grouping, key_values = row[0], int(row[1]), row[2 : 2 + len(keys)]
        enrolled, first, first_in_year, held, *summed = row[2 + len(keys) : held_from]
        if inline and enrolled:
            group_held, all_held = row[held_from:after]
            by_mask[grouping].sessions[tuple(key_values)] = int(group_held or 0)
            total_sessions += int(all_held or 0)
        if cells is not None and enrolled:
            key = tuple(key_values)
            figures = row[held_from:after]
            cells[key] = {bit: int(n or 0) for bit, n in zip(cell_bits, figures, strict=True)}
            # The cell's own sessions: its cohorts' first enrolment in it (all the keys);
            # the total: each cohort's first enrolment of all.
            by_mask[grouping].sessions[key] = cells[key][cell_bit]
            total_sessions += cells[key][all_bit]
        if part == "t":
            total_sessions = int(held or 0)
            continue
        parts = by_mask[grouping]
        key = tuple(key_values)
        if part == "s":
            parts.sessions[key] = int(held or 0)
        elif enrolled:  # 'g'; with no keys and nothing enrolled, the one row is empty
            people = {
                "enrolments": int(enrolled),
                "first": int(first or 0),
                "first_in_year": int(first_in_year or 0),
            }
            parts.measured[key] = (people, [int(enrolled), *(int(v or 0) for v in summed)])
            labels = row[after:]
            parts.labels[key] = dict(zip(labelled, labels, strict=True))
    return [
        _assemble(g, keys, labelled, by_mask[mask(g)], filters, total_sessions) for g in groupings
    ]


def published_cells(now: datetime | None = None) -> tuple[Report, dict[tuple, dict[int, int]]]:
    """The exact report by region, year, sex and role, and per cell, for each
    `cohort_firsts` bit, the sessions held of the cohorts whose first enrolment in a group
    of that bit's keys lies in the cell (one pass over the summary). The sessions held by
    any group of those keys (with or without the year) is the sum of its cells' figures:
    each cohort counted once per group whatever the cells it spans. What
    reports.disclosure publishes from."""
    cells: dict[tuple, dict[int, int]] = {}
    keys = [k for k in GROUP_KEYS if k in {*COHORT_FIRST_KEYS, "year"}]
    now = now or timezone.now()
    (finest,) = _progress_reports([keys], ReportFilters(), now, _rule_sql(now), cells=cells)
    return finest, cells


def _first_bit(keys: Iterable[str], filters: ReportFilters) -> int | None:
    """The summary's `cohort_firsts` bit that marks, per group of these keys under these
    filters, one enrolment of each cohort in the group; None when none does.

    A bit marks a cohort's first enrolment among those alike in some of the person's keys.
    Within a group those keys are fixed and so are the cohort-level ones (year, cohort); a
    region filter fixes the region too. A scope of several regions, with groups not split
    by region, does not: the first enrolment of a cohort may be outside the scope while
    others are in it, so those reports find the distinct pairs instead."""
    fixed = set(keys)
    scope = filters.regions_in_scope
    if filters.region is not None or (scope is not None and len(scope) <= 1):
        fixed.add("region")
    elif scope is not None and "region" not in fixed:
        return None
    return cohort_first_bit(fixed)


def _count_if(flag: str, needed: bool) -> str:
    return f"COUNT(*) FILTER (WHERE {flag})" if needed else "0"


def _splits(groupings: list[list[str]], filters: ReportFilters) -> list[tuple[bool, bool]]:
    """Whether the totals, and each grouping's groups, split people by cohort and by year."""
    by_cohort, by_year = filters.cohort is not None, filters.year is not None
    return [(by_cohort, by_year)] + [
        (by_cohort or "cohort" in g, by_year or "year" in g) for g in groupings
    ]


@dataclass
class _Parts:
    """One grouping's rows as read: keyed by the values of every key of the query."""

    measured: dict[tuple, tuple[dict, list[int]]] = field(default_factory=dict)
    sessions: dict[tuple, int] = field(default_factory=dict)
    labels: dict[tuple, dict] = field(default_factory=dict)


def _people_flag(split_by_cohort: bool, split_by_year: bool) -> str:
    """Which count gives distinct people (see _PROGRESS_SQL)."""
    if split_by_cohort:
        return "enrolments"
    return "first_in_year" if split_by_year else "first"


def _assemble(
    grouping: list[str],
    keys: list[str],
    labelled: list[str],
    parts: _Parts,
    filters: ReportFilters,
    total_sessions: int,
) -> Report:
    by_cohort, by_year = filters.cohort is not None, filters.year is not None
    in_group = _people_flag(by_cohort or "cohort" in grouping, by_year or "year" in grouping)
    in_total = _people_flag(by_cohort, by_year)
    positions = [keys.index(k) for k in grouping]
    rows: list[tuple[tuple, dict]] = []
    sums = [0] * (1 + _SUMMED)
    people_in_total = 0
    for full_key, (people, counts) in parts.measured.items():
        key = tuple(full_key[i] for i in positions)
        fields: dict = {}
        for k, value in zip(grouping, key, strict=True):
            fields[k] = value
            if k in _LABELS:  # the label next to its key
                fields[_LABELS[k][0]] = parts.labels[full_key][k]
        rows.append(
            (
                key,
                fields
                | _progress_measures([people[in_group], parts.sessions.get(full_key, 0), *counts]),
            )
        )
        sums = [a + b for a, b in zip(sums, counts, strict=True)]
        people_in_total += people[in_total]
    totals = _progress_measures([people_in_total, total_sessions, *sums])
    rows.sort(key=lambda pair: pair[0])
    return Report(
        group_by=tuple(grouping),
        rows=[row for _, row in rows] if grouping else [totals],
        totals=totals,
        measures=PROGRESS_MEASURES,
    )


def empty_progress() -> dict:
    """The measures of a group with nobody in it."""
    return _progress_measures([0] * (3 + _SUMMED))


def _progress_measures(counts: list[int]) -> dict:
    (
        people, sessions_held, enrolled, active, withdrawn, marks, attended, den, excused,
        completed, certified,
    ) = counts  # fmt: skip
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


# The timeline ---------------------------------------------------------------------------

# One query, one branch per measure, each tagged. The marks are counted per session first,
# so the period and the rule's weights are worked out once per session; a session's
# weighted counts are `attendance_rate`'s arithmetic, which adds up over marks. People are
# the distinct (period, participant) pairs of marks, enrolments and certificates.
#
# Marks are selected by their participant and their session's cohort, like enrolments;
# every mark has its enrolment (the trigger of cohorts' migration 0004 checks it when the
# mark is written), so these are the marks of the filtered enrolments, and the people over
# all periods are the filtered enrolments' participants.
# What both timelines share: the filtered enrolments, their issued certificates, and every
# part but the marks' (sessions held, enrolments, certificates, people per period, and the
# people over all periods).
_TIMELINE_ENROLMENTS = """
WITH enr AS (
    SELECT e.participant_id AS participant_id, e.cohort_id AS cohort_id,
        e.enrolled_on AS enrolled_on
    FROM cohorts_enrolment e
    WHERE {on_enrolments}
),
"""
_TIMELINE_CERTIFIED = """
certified AS (
    SELECT cert.participant_id AS participant_id, cert.issued_on AS issued_on
    FROM certificates_certificate cert
    JOIN enr ON enr.participant_id = cert.participant_id AND enr.cohort_id = cert.cohort_id
    WHERE cert.status = %(issued)s
),
"""
_TIMELINE_OTHER_PARTS = """
UNION ALL
SELECT 'sessions', period, COUNT(*), NULL, NULL, NULL
FROM session_period WHERE starts_at <= %(now)s GROUP BY period
UNION ALL
SELECT 'enrolments', period, COUNT(*), NULL, NULL, NULL
FROM (SELECT {enrolled_period} AS period FROM enr) enrolled GROUP BY period
UNION ALL
SELECT 'certificates', period, COUNT(*), NULL, NULL, NULL
FROM (SELECT {issued_period} AS period FROM certified) issued GROUP BY period
UNION ALL
SELECT 'people', period, COUNT(DISTINCT participant_id), NULL, NULL, NULL
FROM people GROUP BY period
UNION ALL
SELECT 'everyone', NULL, COUNT(DISTINCT participant_id), NULL, NULL, NULL FROM enr
"""

# Constant text only (placeholders filled by the driver).
_TIMELINE_SQL = (
    _TIMELINE_ENROLMENTS  # noqa: S608
    + """session_period AS (
    SELECT s.id AS session_id, s.starts_at AS starts_at, {session_period} AS period,
        r.late_w AS late_w, r.excused_in_num AS excused_in_num,
        r.excused_out_of_den AS excused_out_of_den
    FROM cohorts_trainingsession s
    JOIN ({rules}) r ON r.cohort_id = s.cohort_id
    WHERE s.cohort_id IN (SELECT cohort_id FROM enr) AND s.cancelled_at IS NULL
),
"""
    + _TIMELINE_CERTIFIED
    + """people AS (
    SELECT sp.period AS period, a.participant_id AS participant_id
    FROM cohorts_attendance a
    JOIN session_period sp ON sp.session_id = a.session_id
    WHERE {on_marks}
    UNION ALL
    SELECT {enrolled_period}, participant_id FROM enr
    UNION ALL
    SELECT {issued_period}, participant_id FROM certified
)
SELECT 'marks', sp.period, SUM(n_marked),
    SUM(n_present + sp.late_w * n_late + sp.excused_in_num * n_excused),
    SUM(n_marked - sp.excused_out_of_den * n_excused),
    SUM(n_excused)
FROM (
    SELECT a.session_id AS session_id,
        COUNT(CASE WHEN a.status = %(present)s THEN 1 END) AS n_present,
        COUNT(CASE WHEN a.status = %(late)s THEN 1 END) AS n_late,
        COUNT(CASE WHEN a.status = %(excused)s THEN 1 END) AS n_excused,
        COUNT(*) AS n_marked
    FROM cohorts_attendance a
    WHERE {on_marks_by_session}
    GROUP BY a.session_id
) per_session
JOIN session_period sp ON sp.session_id = per_session.session_id
GROUP BY sp.period
"""
    + _TIMELINE_OTHER_PARTS
)

# The same by year from the marks per year (cohorts.models.ProgressYear, about one row per
# enrolment) rather than the marks: `marks` carries each enrolment's tallies in a year,
# filtered on its summary (the participant's region, the cohort's year and id), with its
# cohort's rule. The other parts read as above.
_TIMELINE_BY_YEAR_SQL = (
    _TIMELINE_ENROLMENTS  # noqa: S608
    + """session_period AS (
    SELECT s.starts_at AS starts_at, {session_period} AS period
    FROM cohorts_trainingsession s
    WHERE s.cohort_id IN (SELECT cohort_id FROM enr) AND s.cancelled_at IS NULL
),
"""
    + _TIMELINE_CERTIFIED
    + """marks AS (
    SELECT py.year AS period, e.participant_id AS participant_id, py.n_marked AS n_marked,
        py.n_present + r.late_w * py.n_late + r.excused_in_num * py.n_excused AS attended,
        py.n_marked - r.excused_out_of_den * py.n_excused AS den,
        py.n_excused AS n_excused
    FROM cohorts_progressyear py
    JOIN cohorts_progresssummary e ON e.enrolment_id = py.enrolment_id
    JOIN ({rules}) r ON r.cohort_id = e.cohort_id
    WHERE {on_summary}
),
people AS (
    SELECT period, participant_id FROM marks
    UNION ALL
    SELECT {enrolled_period}, participant_id FROM enr
    UNION ALL
    SELECT {issued_period}, participant_id FROM certified
)
SELECT 'marks', period, SUM(n_marked), SUM(attended), SUM(den), SUM(n_excused)
FROM marks GROUP BY period
"""
    + _TIMELINE_OTHER_PARTS
)


def _by_year_tallies(period: str) -> bool:
    """Whether the timeline reads the marks per year (by year) or the marks (by month)."""
    return period == "year"


_TIMED = (
    "people",
    "enrolled",
    "sessions_held",
    "attendance_marks",
    "attended",
    "den",
    "excused",
    "certificates_issued",
)
_TIMED_KINDS = {
    "sessions": "sessions_held",
    "enrolments": "enrolled",
    "certificates": "certificates_issued",
    "people": "people",
}


def timeline_report(
    *,
    period: Literal["month", "year"],
    filters: ReportFilters,
    now: datetime | None = None,
) -> Report:
    """The measures that have a date, per month ("2019-03") or year (2019), in one query."""
    if period not in ("month", "year"):
        raise ValueError(f"Unknown period {period!r}; use 'month' or 'year'.")
    now = now or timezone.now()
    on_enrolments, filter_params = _filter_sql(
        filters, participant="e.participant_id", cohort="e.cohort_id"
    )
    # session_period keeps the filtered cohorts' sessions; marks also need their participant
    # filtered, and are counted per session only for the filtered cohorts' sessions.
    on_marks, _ = _filter_sql(
        replace(filters, year=None, cohort=None), participant="a.participant_id"
    )
    on_marks_by_session, _ = _filter_sql(
        filters, participant="a.participant_id", session="a.session_id"
    )
    params = {**_base_params(now), **filter_params}
    fragments = {}
    for name, column, is_datetime in [
        ("session_period", "s.starts_at", True),
        ("enrolled_period", "enrolled_on", False),
        ("issued_period", "issued_on", False),
    ]:
        sql, sql_params = _period_sql(period, column, datetime_column=is_datetime)
        # The backend writes these with positional placeholders; give them names.
        names = [f"{name}_{i}" for i in range(len(sql_params))]
        fragments[name] = sql % tuple(f"%({n})s" for n in names)
        params.update(zip(names, sql_params, strict=True))
    if _by_year_tallies(period):
        on_summary, _ = _filter_sql(
            filters,
            participant="e.participant_id",
            cohort="e.cohort_id",
            region_column="e.region_id",
            year_column="e.year",
        )
        sql = _TIMELINE_BY_YEAR_SQL.format(
            rules=_RULES, on_enrolments=on_enrolments, on_summary=on_summary, **fragments
        )
    else:
        sql = _TIMELINE_SQL.format(
            rules=_RULES,
            on_enrolments=on_enrolments,
            on_marks=on_marks,
            on_marks_by_session=on_marks_by_session,
            **fragments,
        )

    periods: dict = {}
    everyone = 0
    for kind, raw_period, *values in _fetch(sql, params):
        if kind == "everyone":
            everyone = int(values[0] or 0)
            continue
        counts = periods.setdefault(_period_label(period, raw_period), dict.fromkeys(_TIMED, 0))
        if kind == "marks":
            marks, attended, den, excused = (int(n) for n in values)
            counts.update(attendance_marks=marks, attended=attended, den=den, excused=excused)
        else:
            counts[_TIMED_KINDS[kind]] = int(values[0])

    rows = [{"period": key, **_timeline_measures(periods[key])} for key in sorted(periods)]
    sums = {name: sum(c[name] for c in periods.values()) for name in _TIMED}
    totals = _timeline_measures({**sums, "people": everyone})
    return Report(group_by=("period",), rows=rows, totals=totals, measures=TIMELINE_MEASURES)


def _timeline_measures(counts: dict) -> dict:
    return {
        "people": counts["people"],
        "enrolled": counts["enrolled"],
        "sessions_held": counts["sessions_held"],
        "attendance_marks": counts["attendance_marks"],
        "attendance_rate": _rate(counts["attended"], counts["den"]),
        "excused_rate": _rate(counts["excused"], counts["attendance_marks"]),
        "certificates_issued": counts["certificates_issued"],
    }


def _period_sql(period: str, column: str, *, datetime_column: bool) -> tuple[str, tuple]:
    """The period of a date or datetime column (in local time) as an integer: 201903 for
    March 2019, or 2019. Integers compare and group alike on every engine."""
    ops = connection.ops

    def part(name):
        if datetime_column:
            return ops.datetime_extract_sql(name, column, (), settings.TIME_ZONE)
        return ops.date_extract_sql(name, column, ())

    year_sql, year_params = part("year")
    if period == "year":
        return f"CAST({year_sql} AS INTEGER)", year_params
    month_sql, month_params = part("month")
    return f"CAST({year_sql} * 100 + {month_sql} AS INTEGER)", (*year_params, *month_params)


def _period_label(period: str, value: int) -> str | int:
    value = int(value)
    return value if period == "year" else f"{value // 100}-{value % 100:02d}"
