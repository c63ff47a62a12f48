"""The programme's targets as plain values, for the reports (dashboard, workbook, PDF, IATI).

`targets()` maps (programme year, region ISO code or None for the whole programme) to what
was promised; shares are rates between 0 and 1, like the reports' own rates. `combined`
adds targets up over several years or regions (a region over every year, a scoped
manager's regions): counts are summed, shares weighted by the people to be trained, and a
figure is known only when every part has it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True)
class TargetValues:
    people_trained: int | None
    women_share: float | None  # 0..1
    completion_rate: float | None  # 0..1
    certificates: int | None


NONE = TargetValues(None, None, None, None)


def _rate(percent: Decimal | None) -> float | None:
    return None if percent is None else float(percent) / 100


def targets() -> dict[tuple[int, str | None], TargetValues]:
    """Every target, by (year, region code or None for the whole programme). One query."""
    from reports.models import Target

    return {
        (year, region): TargetValues(
            people_trained=people,
            women_share=_rate(women),
            completion_rate=_rate(completion),
            certificates=certificates,
        )
        for year, region, people, women, completion, certificates in Target.objects.values_list(
            "year",
            "region_id",
            "people_trained",
            "women_share_percent",
            "completion_rate_percent",
            "certificates",
        )
    }


def combined(parts: Iterable[TargetValues | None]) -> TargetValues:
    """Several targets as one: counts summed, shares weighted by people to be trained.

    A figure is None unless every part has it (a sum of some years would read as the
    whole); a share also needs every part's people trained, its weight. One part is
    returned as it is."""
    parts = list(parts)
    if not parts or any(part is None for part in parts):
        return NONE
    known = [part for part in parts if part is not None]
    if len(known) == 1:
        return known[0]

    def total(name: str) -> int | None:
        values = [getattr(part, name) for part in known]
        return None if any(v is None for v in values) else sum(values)

    people = total("people_trained")

    def share(name: str) -> float | None:
        if not people:
            return None
        values = [(getattr(part, name), part.people_trained) for part in known]
        if any(value is None or weight is None for value, weight in values):
            return None
        return sum(value * weight for value, weight in values) / people

    return TargetValues(
        people_trained=people,
        women_share=share("women_share"),
        completion_rate=share("completion_rate"),
        certificates=total("certificates"),
    )
