"""An analyst at a funder trying to work out the figures the reports withhold.

The attacker holds a funder's account and nothing else: they ask the API for every report
it answers (every grouping, every filter, the timeline), then treat each published number
as a linear equation over the finest cells (region × cohort × sex × role: a cohort fixes its
year) and bound each withheld cell by linear programming: the least and the most its count
can be, given everything published (counts are never negative; a group missing from an
answer has nothing in it). Plain differencing is the special case of one equation.

Only additive counts enter the equations (enrolments, active, withdrawn, completed,
certificates, marks, and the rates' numerators and denominators); `people` counts distinct
participants and does not add up across years or cohorts, so it is left out (the attacker
is weaker for it, not the test: the published `people` never exceeds the enrolments).

A withheld small cell is *protected* when no count of it can be narrowed to fewer than
`base` possible true values, knowing the method (reports.disclosure: small counts are
published as multiples of `base`, 0 standing for 0 to 4, 5 for 1 to 9…): an interval that
is not a multiple of `base` and narrower than that is a breach.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import linprog
from scipy.sparse import csr_array

SEXES = ("F", "M")
# The counts the attacker can add up; the rates as {value, numerator, denominator}.
COUNTS = ("enrolled", "active", "withdrawn", "completed", "certificates_issued", "attendance_marks")
RATES = ("attendance_rate", "excused_rate")
GROUP_KEYS = ("region", "year", "sex", "role", "cohort")


@dataclass(frozen=True)
class Fine:
    region: str
    cohort: int
    year: int
    sex: str
    role: str


@dataclass
class Figure:
    """One row or total of one answer: the fine cells it sums and its numbers (None when
    withheld)."""

    request: str
    fine: frozenset[int]
    values: dict[str, int] | None


@dataclass
class Collected:
    fine: list[Fine]
    figures: list[Figure] = field(default_factory=list)
    answered: int = 0
    refused: int = 0


def _measures(row: dict) -> dict[str, int] | None:
    if row.get("suppressed") or row.get("enrolled") is None:
        return None
    values = {m: int(row[m]) for m in COUNTS}
    for rate in RATES:
        values[f"{rate}.numerator"] = row[rate]["numerator"]
        values[f"{rate}.denominator"] = row[rate]["denominator"]
    return values


MEASURES = (*COUNTS, *(f"{r}.{p}" for r in RATES for p in ("numerator", "denominator")))


def collect(
    get,
    *,
    regions: Iterable[str],
    cohorts: dict[int, int],
    roles: Iterable[str],
    max_filters: int = 1,
) -> Collected:
    """Every progress report a funder can get. `get(path)` returns (status, json);
    `cohorts` maps cohort id → year (public: the cohorts' list says it)."""
    regions, roles = list(regions), list(roles)
    years = sorted(set(cohorts.values()))
    fine = [
        Fine(r, c, y, s, o)
        for r in regions
        for c, y in sorted(cohorts.items())
        for s in SEXES
        for o in roles
    ]
    out = Collected(fine=fine)
    domain = {"region": regions, "year": years, "sex": list(SEXES), "role": roles,
              "cohort": sorted(cohorts)}  # fmt: skip
    filter_values = {"year": years, "region": regions, "cohort": sorted(cohorts)}

    index: dict[tuple[str, object], set[int]] = {}
    for i, f in enumerate(fine):
        for key in GROUP_KEYS:
            index.setdefault((key, getattr(f, key)), set()).add(i)
    everything = frozenset(range(len(fine)))

    def members(conditions: dict) -> frozenset[int]:
        cells = everything
        for key, value in conditions.items():
            cells = cells & index.get((key, value), set())
        return cells

    filter_sets: list[dict] = [{}]
    for n in range(1, max_filters + 1):
        for names in itertools.combinations(filter_values, n):
            for values in itertools.product(*(filter_values[k] for k in names)):
                filter_sets.append(dict(zip(names, values, strict=True)))
    for n in range(len(GROUP_KEYS) + 1):
        for group_by in itertools.combinations(GROUP_KEYS, n):
            for filters in filter_sets:
                query = "&".join(
                    [f"group_by={','.join(group_by)}"] + [f"{k}={v}" for k, v in filters.items()]
                )
                path = f"/api/v1/reports/progress/?{query}"
                status, body = get(path)
                if status != 200:
                    out.refused += 1
                    continue
                out.answered += 1
                out.figures.append(Figure(path, members(filters), _measures(body["totals"])))
                seen = set()
                for row in body["rows"]:
                    key = tuple(row[k] for k in group_by)
                    seen.add(key)
                    out.figures.append(
                        Figure(path, members(filters | dict(zip(group_by, key, strict=True))),
                               _measures(row))
                    )  # fmt: skip
                # A group missing from the answer has no enrolment: every count is 0.
                zero = dict.fromkeys(MEASURES, 0)
                for key in itertools.product(*(domain[k] for k in group_by)):
                    named = dict(zip(group_by, key, strict=True))
                    if key in seen or any(filters.get(k, v) != v for k, v in named.items()):
                        continue  # published, or outside the filter: not a group here
                    cells = members(filters | named)
                    if cells:
                        out.figures.append(Figure(path, cells, zero))
    return out


@dataclass(frozen=True)
class Bound:
    measure: str
    low: float
    high: float
    cap: float  # the least published figure containing the cell: nothing above it to hide

    def width(self) -> float:
        return self.high - self.low


class System:
    """The published figures of one measure as equations over the fine cells."""

    def __init__(self, collected: Collected, measure: str):
        self.measure = measure
        self.published = [f for f in collected.figures if f.values is not None]
        # Fine cells inside a published zero are zero: drop them first (smaller programs).
        zero: set[int] = set()
        for figure in self.published:
            if figure.values[measure] == 0:
                zero |= figure.fine
        unknown = sorted(set().union(*(f.fine for f in self.published)) - zero)
        self.column = {cell: j for j, cell in enumerate(unknown)}
        equations: dict[tuple[int, ...], int] = {}
        for figure in self.published:
            cells = tuple(sorted(self.column[c] for c in figure.fine if c in self.column))
            value = figure.values[measure]
            if not cells:
                continue
            if equations.setdefault(cells, value) != value:
                raise AssertionError(f"inconsistent answers ({figure.request}, {measure})")
        rows: list[int] = []
        cols: list[int] = []
        for i, cells in enumerate(equations):
            rows.extend([i] * len(cells))
            cols.extend(cells)
        self.a = csr_array((np.ones(len(rows)), (rows, cols)), shape=(len(equations), len(unknown)))
        self.rhs = np.array(list(equations.values()), dtype=float)

    def bound(self, target: frozenset[int]) -> Bound:
        """The least and most the target's count can be, given every published figure."""
        cap = min(
            (f.values[self.measure] for f in self.published if target <= f.fine),
            default=float("inf"),
        )
        wanted = [self.column[c] for c in target if c in self.column]
        if not wanted:
            return Bound(self.measure, 0, 0, cap)
        objective = np.zeros(len(self.column))
        objective[wanted] = 1.0
        ends = []
        for sign in (1.0, -1.0):
            result = linprog(
                sign * objective, A_eq=self.a, b_eq=self.rhs, bounds=(0, None), method="highs"
            )
            if result.status != 0:
                raise AssertionError(f"the published figures admit no solution: {result.message}")
            ends.append(sign * result.fun)
        return Bound(self.measure, ends[0], ends[1], cap)


@dataclass(frozen=True)
class Breach:
    request: str
    bound: Bound
    truth: int


def attack(collected: Collected, truth, *, base: int, threshold: int) -> tuple[int, list[Breach]]:
    """Bound every withheld figure about fewer than `threshold` people (by the truth) on
    every count. The method is public: small counts are published as multiples of `base`,
    each standing for `base` or more true values. A bound narrower than that which is not
    a multiple of `base` is a count the rounding did not hide: a breach. `truth(cells)`
    gives the real counts and people of a set of fine cells."""
    breaches: list[Breach] = []
    targets: dict[frozenset[int], str] = {}
    for figure in collected.figures:
        if figure.values is None and figure.fine:
            targets.setdefault(figure.fine, figure.request)
    systems = {measure: System(collected, measure) for measure in MEASURES}
    protected = 0
    for cells, request in targets.items():
        real = truth(cells)
        if not 0 < real["people"] < threshold:
            continue
        protected += 1
        for measure in MEASURES:
            bound = systems[measure].bound(cells)
            rounded = all(
                abs(end / base - round(end / base)) < 1e-6 for end in (bound.low, bound.high)
            )
            if bound.width() < base - 1 - 1e-6 and not rounded:
                breaches.append(Breach(request, bound, real[measure]))
    return protected, breaches
