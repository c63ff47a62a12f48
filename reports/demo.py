"""Demo targets: what the programme might have promised for each year and region.

Set from the demo data itself, so that each scale gets plausible figures: people trained a
little above or below what was reached (the same draw every time: it depends only on the
year and the region), a share of women of 30 to 40 %, a completion rate of 75 to 80 % and
the certificates that follow. The whole programme's row for a year is the sum of its
regions, with a national share of women of 35 % and completion of 75 %.

Idempotent: `demo_targets_ensure` only adds the targets that are missing, unless asked to
replace them (the demo data was rebuilt, so targets set for the old data are stale).
"""

from __future__ import annotations

import zlib
from decimal import Decimal

from django.db import transaction

from reports.models import Target
from reports.selectors import ReportFilters, progress_report


def _draw(year: int, region: str, low: float, high: float) -> float:
    """A fixed pseudo-random value in [low, high] for this year and region."""
    unit = zlib.crc32(f"{year}:{region}".encode()) % 1000 / 999
    return low + (high - low) * unit


def _round(value: float, step: int) -> int:
    return max(step, int(round(value / step)) * step)


def _floor(value: float, step: int) -> int:
    return int(value) // step * step if value >= 20 * step else int(value)


def demo_targets() -> dict[tuple[int, str | None], dict]:
    """The targets' values, from the people in the loaded data, by (year, region)."""
    report = progress_report(group_by=["year", "region"], filters=ReportFilters())
    plans: dict[tuple[int, str | None], dict] = {}
    by_year: dict[int, list[dict]] = {}
    for row in report.rows:
        year, region, people = row["year"], row["region"], row["people"] or 0
        if not people:
            continue
        step = 5 if people < 500 else 50
        trained = _round(people * _draw(year, region, 0.92, 1.18), step)
        completion = Decimal(round(_draw(year, region + "c", 75, 80)))
        plan = {
            "people_trained": trained,
            "women_share_percent": Decimal(5 * round(_draw(year, region + "w", 30, 40) / 5)),
            "completion_rate_percent": completion,
            # Rounded down (to the step for large numbers): fewer certificates than people.
            "certificates": max(1, _floor(trained * float(completion) / 100, step)),
        }
        plans[(year, region)] = plan
        by_year.setdefault(year, []).append(plan)
    for year, regions in by_year.items():
        plans[(year, None)] = {
            "people_trained": sum(p["people_trained"] for p in regions),
            "women_share_percent": Decimal(35),
            "completion_rate_percent": Decimal(75),
            "certificates": sum(p["certificates"] for p in regions),
        }
    return plans


def demo_targets_ensure(*, replace: bool = False) -> int:
    """Add the demo targets that are missing (all of them again with `replace`); return how
    many were written. Each write is a revision in the targets' history."""
    written = 0
    with transaction.atomic():
        existing = {(t.year, t.region_id): t for t in Target.objects.all()}
        for (year, region), values in sorted(
            demo_targets().items(), key=lambda item: (item[0][0], item[0][1] or "")
        ):
            target = existing.get((year, region))
            if target is not None and not replace:
                continue
            target = target or Target(year=year, region_id=region)
            for name, value in values.items():
                setattr(target, name, value)
            target.full_clean()
            target.save()
            written += 1
    return written
