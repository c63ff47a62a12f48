"""Disclosure control for funders: one protected table, every answer added up from it.

The problem. Withholding the small rows of each answer on its own protects nothing when a
withheld number is the difference of published ones: a region's total minus its other
rows, a filtered total minus a grouped one. Tried on random data with many small groups,
linear programming over every answer a funder could get pinned most withheld cells exactly
(tests/test_disclosure.py shows it on the previous code). Linking the suppression across
tables (τ-ARGUS's hypercube heuristic) was tried next: it protected the groups' sizes but
still let the attack pin how many of a small group withdrew, completed or were certified,
and making it hold by auditing with linear programs took minutes per change.

The design: small-cell rounding on the finest table, everything else added up from it.

1. The finest table funders can ask about is region × year × sex × role. Each of its cells
   about fewer than `threshold` people (a *small cell*) has each of its counts randomly
   rounded to a multiple of BASE (5): a count c becomes 5·⌊c/5⌋, plus 5 with probability
   (c mod 5)/5 — so on average the figures are right. The draw is fixed by a keyed hash of
   the cell, the measure and the value (HMAC with the SECRET_KEY): the same data always
   gives the same published figure, so asking again does not average the rounding away
   (the cell-key idea of the ABS TableBuilder). Cells of `threshold` people or more are
   exact.
2. Every other figure a funder gets — any grouping of region, year, sex and role, with
   year and region filters, the totals, the dashboard, its exports and PDF, the IATI file,
   the monthly report — is the sum of the published cells it covers. Subtracting published
   figures, or solving any system of them, therefore gives back at most the published
   cells: a small group's counts only as multiples of 5, each of which stands for 5 or
   more possible true values (0 for 0–4, 5 for 1–9, 10 for 6–14).
3. A group of fewer than `threshold` people is also shown withheld ("—") wherever it
   appears, so that nobody reads a rounded 5 as five people; its rounded numbers are in
   the sums all the same.
4. Counts are additive for that reason: a funder's `people` is counted per year (a person
   trained in two years counts in each year's figure), and rates are worked out from the
   published counts. `sessions_held` counts sessions, not people, and is exact.
5. The timeline is published for the whole programme only; its periods about fewer than
   `threshold` people are rounded the same way and withheld, and its totals add them up.
6. A cohort is not a key funders can use (twenty-odd people, mostly small cells once
   crossed with the rest): asking by cohort gets a clear refusal.

What it costs: figures that include small groups may differ from the exact ones by a few
(at national scale, almost never: the finest cells hold hundreds of people), and the parts
of a table may not add up exactly to what a manager sees. What it does not hide: a
rounded 5 says that at least one person of the group did something, not who, nor how
many. Managers keep exact figures for their regions: nothing here applies to them.

Cell-key perturbation of every cell (ABS) was weighed too: it answers any question, but
each figure carries its own bounded noise, and a cell reached through many different
differences is pinned where the noises line up.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import operator
from collections.abc import Callable
from dataclasses import replace

from django.conf import settings

from cohorts.progress import cohort_first_bit
from reports.selectors import PROGRESS_MEASURES, Report, empty_progress

# The keys funders' tables are made of, in the order the API lists them.
PUBLISHED_KEYS = ("region", "year", "sex", "role")
# Every combination of them, coarsest first: the tables a funder's answer is read from.
PUBLISHED_TABLES: tuple[tuple[str, ...], ...] = tuple(
    keys
    for n in range(len(PUBLISHED_KEYS) + 1)
    for keys in itertools.combinations(PUBLISHED_KEYS, n)
)
# Small counts are published as multiples of this.
BASE = 5
# What the attacker in the tests must not narrow a small group's count to (BASE values).
PROTECTION = BASE

# The counts of a row that add up, and the rates made from them.
COUNTS = (
    "people",
    "enrolled",
    "active",
    "withdrawn",
    "attendance_marks",
    "completed",
    "certificates_issued",
)
RATE_PARTS = ("attendance_rate", "excused_rate")


class NotPublished(ValueError):
    """A question whose answer is not in the published tables (said to the funder)."""


def table_for(group_by, filters: dict) -> tuple[str, ...]:
    """The published table that answers this question, or NotPublished."""
    used = set(group_by) | {name for name, value in filters.items() if value is not None}
    outside = used - set(PUBLISHED_KEYS)
    if outside:
        raise NotPublished(", ".join(sorted(outside)))
    return tuple(key for key in PUBLISHED_KEYS if key in used)


# Rounding ------------------------------------------------------------------------------


def rounded(value: int, *, cell: tuple, measure: str) -> int:
    """`value` randomly rounded to a multiple of BASE, the same way every time."""
    low, rest = divmod(int(value), BASE)
    if rest == 0:
        return value
    message = repr((cell, measure, int(value))).encode()
    digest = hmac.new(settings.SECRET_KEY.encode(), message, hashlib.sha256).digest()
    draw = int.from_bytes(digest[:8], "big") / 2**64
    return BASE * (low + (1 if draw < rest / BASE else 0))


def _counts(row: dict) -> dict[str, int]:
    counts = {name: int(row[name] or 0) for name in COUNTS}
    counts["attended"] = int(row["attendance_rate"]["numerator"])
    counts["attendance_den"] = int(row["attendance_rate"]["denominator"])
    counts["excused"] = int(row["excused_rate"]["numerator"])
    return counts


def _published_counts(row: dict, cell: tuple, threshold: int) -> dict[str, int]:
    counts = _counts(row)
    if counts["people"] >= threshold:
        return counts
    return {name: rounded(value, cell=cell, measure=name) for name, value in counts.items()}


def _measures(counts: dict[str, int], sessions_held: int) -> dict:
    def rate(numerator: int, denominator: int) -> dict:
        value = numerator / denominator if denominator else None
        return {"value": value, "numerator": numerator, "denominator": denominator}

    return {
        "people": counts["people"],
        "enrolled": counts["enrolled"],
        "active": counts["active"],
        "withdrawn": counts["withdrawn"],
        "sessions_held": sessions_held,
        "attendance_marks": counts["attendance_marks"],
        "attendance_rate": rate(counts["attended"], counts["attendance_den"]),
        "excused_rate": rate(counts["excused"], counts["attendance_marks"]),
        "completed": counts["completed"],
        "completion_rate": rate(counts["completed"], counts["enrolled"]),
        "certificates_issued": counts["certificates_issued"],
    }


# The published tables --------------------------------------------------------------------


def publish(
    finest: Report, sessions: dict[tuple, dict[int, int]], threshold: int
) -> dict[tuple[str, ...], Report]:
    """Every published table, from the exact finest table (region × year × sex × role) and
    the sessions held per cell (reports.selectors.published_cells: per cell, for each subset
    of the person's keys, the sessions of the cohorts whose first enrolment in a group of
    that subset lies in the cell, so that a table's sessions add up over its cells and
    count each cohort once per group, whoever is in it).

    The finest table's small cells are rounded; every table's cells are the sums of the
    finest published cells they cover. A cell whose people (counted exactly per finest
    cell) are fewer than `threshold` is marked withheld."""
    # Each cell's counts as a list in one order, so that a group's cells add up column by
    # column (below).
    names_order: tuple[str, ...] = ()
    cells: list[tuple[tuple, list[int], int, str | None]] = []
    for row in finest.rows:
        cell = tuple(row[k] for k in PUBLISHED_KEYS)
        counts = _published_counts(row, cell, threshold)
        names_order = names_order or tuple(counts)
        values = [counts[name] for name in names_order]
        cells.append((cell, values, int(row["people"] or 0), row.get("region_name")))
    out = {}
    for table in PUBLISHED_TABLES:
        key_of = _key_of([PUBLISHED_KEYS.index(k) for k in table])
        bit = cohort_first_bit(table)
        # Each group's cells gathered, then each column added up once (cheaper than adding
        # lists cell by cell: this runs after every write).
        gathered: dict[tuple, list[list[int]]] = {}
        people: dict[tuple, int] = {}
        held: dict[tuple, int] = {}
        names: dict[tuple, str | None] = {}
        for cell, values, true_people, region_name in cells:
            key = key_of(cell)
            gathered.setdefault(key, []).append(values)
            people[key] = people.get(key, 0) + true_people
            names[key] = region_name
        for cell, by_bit in sessions.items():
            key = key_of(cell)
            held[key] = held.get(key, 0) + by_bit[bit]
        rows = []
        for key in sorted(gathered) if table else [()]:
            labels: dict = dict(zip(table, key, strict=True))
            if "region" in table:
                labels["region_name"] = names[key]
            columns = gathered.get(key)
            counts = (
                dict(zip(names_order, map(sum, zip(*columns, strict=True)), strict=True))
                if columns is not None
                else _counts(empty_progress())
            )
            measures = _measures(counts, held.get(key, 0))
            rows.append(_marked(labels | measures, people.get(key, 0) < threshold))
        out[table] = rows
    grand = out[()][0]
    return {
        table: Report(group_by=table, rows=rows, totals=grand, measures=PROGRESS_MEASURES)
        for table, rows in out.items()
    }


def _key_of(positions: list[int]) -> Callable[[tuple], tuple]:
    """The function that takes a finest cell's key to the key of its group (a tuple)."""
    if not positions:
        return lambda cell: ()
    if len(positions) == 1:
        (position,) = positions
        return lambda cell: (cell[position],)
    return operator.itemgetter(*positions)


def _marked(row: dict, withheld: bool) -> dict:
    """A published row; withheld, its numbers are hidden (they stay in the sums)."""
    marked = dict(row)
    if withheld:
        marked.update(dict.fromkeys(PROGRESS_MEASURES))
    marked["suppressed"] = withheld
    marked["suppression"] = "primary" if withheld else None
    return marked


def publish_timeline(report: Report, threshold: int) -> Report:
    """The programme's timeline with its small periods rounded and withheld; the totals
    add up the published periods (people, distinct over the whole span, stay exact: they
    are not the sum of anything published)."""
    rows, sums = [], None
    for row in report.rows:
        counts = {m: row[m] for m in report.measures}
        small = (row.get("people") or 0) < threshold
        flat = _timeline_counts(counts)
        if small:
            flat = {
                n: rounded(v, cell=("timeline", row["period"]), measure=n) for n, v in flat.items()
            }
        sums = flat if sums is None else {n: sums[n] + flat[n] for n in flat}
        rows.append(_timeline_marked(row, flat, small, report.measures))
    totals = dict(report.totals)
    if sums is not None:
        totals.update(_timeline_values(sums, totals))
    totals["suppressed"] = (totals.get("people") or 0) < threshold
    totals["suppression"] = "primary" if totals["suppressed"] else None
    if totals["suppressed"]:
        totals.update(dict.fromkeys(report.measures))
    return replace(report, rows=rows, totals=totals)


def _timeline_counts(row: dict) -> dict[str, int]:
    return {
        "enrolled": int(row["enrolled"] or 0),
        "sessions_held": int(row["sessions_held"] or 0),
        "attendance_marks": int(row["attendance_marks"] or 0),
        "attended": int(row["attendance_rate"]["numerator"]),
        "attendance_den": int(row["attendance_rate"]["denominator"]),
        "excused": int(row["excused_rate"]["numerator"]),
        "certificates_issued": int(row["certificates_issued"] or 0),
        "people": int(row["people"] or 0),
    }


def _timeline_values(flat: dict[str, int], row: dict) -> dict:
    def rate(numerator: int, denominator: int) -> dict:
        value = numerator / denominator if denominator else None
        return {"value": value, "numerator": numerator, "denominator": denominator}

    return {
        "enrolled": flat["enrolled"],
        "sessions_held": flat["sessions_held"],
        "attendance_marks": flat["attendance_marks"],
        "attendance_rate": rate(flat["attended"], flat["attendance_den"]),
        "excused_rate": rate(flat["excused"], flat["attendance_marks"]),
        "certificates_issued": flat["certificates_issued"],
    }


def _timeline_marked(row: dict, flat: dict[str, int], small: bool, measures) -> dict:
    marked = dict(row) | _timeline_values(flat, row) | {"people": flat["people"]}
    if small:
        marked.update(dict.fromkeys(measures))
    marked["suppressed"] = small
    marked["suppression"] = "primary" if small else None
    return marked


# Answers ----------------------------------------------------------------------------------


def answer(tables: dict[tuple[str, ...], dict], group_by: list[str], filters: dict) -> dict:
    """A funder's answer read from the published tables (as payloads): the rows of the
    table of the grouping's and the filters' keys that have the filters' values, keyed
    and sorted as asked; the total is the filters' cell of the table of their keys."""
    wanted = {name: value for name, value in filters.items() if value is not None}
    table = table_for(group_by, wanted)
    source = tables[table]
    rows = [
        _projected(row, group_by, table)
        for row in source["rows"]
        if all(row[name] == value for name, value in wanted.items())
    ]
    rows.sort(key=lambda row: tuple(row[k] for k in group_by))
    of_filters = table_for([], wanted)
    totals = next(
        (
            _projected(row, [], of_filters)
            for row in tables[of_filters]["rows"]
            if all(row[name] == value for name, value in wanted.items())
        ),
        None,
    )
    if totals is None:  # nothing in that year or region: an empty group, withheld
        totals = _marked(empty_progress(), True)
    if not group_by:
        rows = [totals]
    return source | {"group_by": list(group_by), "rows": rows, "totals": totals}


def _projected(row: dict, group_by: list[str], table: tuple[str, ...]) -> dict:
    """The row keyed by `group_by` only (the table's other keys were filters)."""
    keys = {k: row[k] for k in group_by}
    if "region" in group_by and "region_name" in row:
        keys["region_name"] = row["region_name"]
    return keys | {k: v for k, v in row.items() if k not in table and k != "region_name"}
