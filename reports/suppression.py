"""Small-cell suppression for funders: pure functions on a report, no database.

A row about fewer people than the threshold has its numbers withheld (primary
suppression). A withheld row must not be recoverable by subtraction either: the rows that
share all keys but one add up to a subtotal a funder can get from a coarser report, and
all rows add up to the totals; wherever such a margin has exactly one withheld row, its
smallest other row (by people) is withheld too (secondary suppression), until no margin
has exactly one. Subtotals over two keys or more at once (from a report grouped by fewer
keys still) are not checked: this is the usual margin heuristic, not an optimal
suppression pattern.

The totals are the report's, computed before suppression; they are withheld as well only
when they themselves are about fewer people than the threshold.
"""

from dataclasses import replace

from reports.selectors import Report

PRIMARY = "primary"
SECONDARY = "secondary"


def suppress(report: Report, threshold: int) -> Report:
    """The report with small rows withheld: measures set to None, `suppressed` and
    `suppression` ("primary", "secondary" or None) on every row and on the totals."""
    status = {i: PRIMARY for i, row in enumerate(report.rows) if _people(row) < threshold}
    margins = _margins(report.rows, report.group_by)
    changed = bool(status)
    while changed:
        changed = False
        for margin in margins:
            withheld = [i for i in margin if i in status]
            shown = [i for i in margin if i not in status]
            if len(withheld) == 1 and shown:
                # The smallest by people, the first in the report's order on a tie.
                status[min(shown, key=lambda i: (_people(report.rows[i]), i))] = SECONDARY
                changed = True
    rows = [_marked(row, report.measures, status.get(i)) for i, row in enumerate(report.rows)]
    totals = _marked(
        report.totals, report.measures, PRIMARY if _people(report.totals) < threshold else None
    )
    return replace(report, rows=rows, totals=totals)


def _people(row: dict) -> int:
    return row.get("people") or 0


def _margins(rows: list[dict], keys: tuple[str, ...]) -> list[list[int]]:
    """Row indexes that add up to a subtotal: those sharing all keys but one, and all rows
    (they add up to the totals). Without keys the one row is the totals."""
    if not keys:
        return []
    margins: list[list[int]] = []
    if len(keys) > 1:
        for varying in keys:
            fixed = [key for key in keys if key != varying]
            groups: dict[tuple, list[int]] = {}
            for i, row in enumerate(rows):
                groups.setdefault(tuple(row[key] for key in fixed), []).append(i)
            margins.extend(groups.values())
    # Last: with two keys or more it only matters for a row alone in all its margins.
    margins.append(list(range(len(rows))))
    return margins


def _marked(row: dict, measures: tuple[str, ...], suppression: str | None) -> dict:
    marked = dict(row)
    if suppression is not None:
        marked.update(dict.fromkeys(measures))
    marked["suppressed"] = suppression is not None
    marked["suppression"] = suppression
    return marked
