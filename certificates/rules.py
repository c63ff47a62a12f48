"""The completion rule: one pure function decides eligibility from attendance counts.

The trainee's progress bar, the managers' pages, the funders' reports and certificate
issuance all call `evaluate`, so they cannot disagree. No database access here.
"""

from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum

from cohorts.selectors import AttendanceCounts


class ExcusedPolicy(StrEnum):
    EXCLUDE = "exclude"  # an excused absence leaves the denominator
    ATTENDED = "attended"  # it counts as attended
    ABSENT = "absent"  # it counts as missed


@dataclass(frozen=True)
class Rule:
    min_attendance_percent: int = 80
    late_counts_as_present: bool = True
    excused_policy: ExcusedPolicy = ExcusedPolicy.EXCLUDE
    min_hours: Decimal | None = None


@dataclass(frozen=True)
class Rate:
    numerator: int
    denominator: int

    @property
    def value(self) -> float | None:
        """The rate between 0 and 1, or None when nothing counts yet."""
        return self.numerator / self.denominator if self.denominator else None

    @property
    def percent(self) -> int | None:
        """Whole percent, rounded down: a rate shown as 80 % always meets 80 %. Every page
        shows this one, so the number a person reads agrees with their eligibility."""
        return self.numerator * 100 // self.denominator if self.denominator else None

    def meets(self, percent: int) -> bool:
        # Integer arithmetic: 8 of 10 meets 80 % exactly, with no rounding surprise.
        return self.denominator > 0 and self.numerator * 100 >= percent * self.denominator


@dataclass(frozen=True)
class Progress:
    rate: Rate
    threshold_percent: int
    eligible: bool  # meets the rule now
    reachable: bool  # could still meet it if every remaining session is attended
    sessions_left: int
    hours_attended: Decimal
    reasons: list[str] = field(default_factory=list)  # why not eligible, as codes


def attendance_rate(counts: AttendanceCounts, rule: Rule) -> Rate:
    """Attended sessions over recorded sessions, as the rule counts late and excused marks."""
    attended = counts.present
    if rule.late_counts_as_present:
        attended += counts.late
    denominator = counts.marked
    if rule.excused_policy is ExcusedPolicy.EXCLUDE:
        denominator -= counts.excused
    elif rule.excused_policy is ExcusedPolicy.ATTENDED:
        attended += counts.excused
    return Rate(attended, denominator)


def evaluate(counts: AttendanceCounts, rule: Rule) -> Progress:
    rate = attendance_rate(counts, rule)
    reasons = []
    if counts.withdrawn:
        reasons.append("withdrawn")
    if not rate.meets(rule.min_attendance_percent):
        reasons.append("no_attendance" if rate.denominator == 0 else "attendance_below_threshold")
    if rule.min_hours is not None and counts.hours_attended < rule.min_hours:
        reasons.append("hours_below_minimum")
    if counts.required_missed:
        reasons.append("required_session_missed")

    # The best case: every session not yet recorded, or not yet held, is attended.
    open_sessions = counts.sessions_left + counts.unmarked
    best = Rate(rate.numerator + open_sessions, rate.denominator + open_sessions)
    best_hours = counts.hours_attended + counts.hours_remaining
    reachable = (
        not counts.withdrawn
        and counts.required_missed == 0
        and best.meets(rule.min_attendance_percent)
        and (rule.min_hours is None or best_hours >= rule.min_hours)
    )
    return Progress(
        rate=rate,
        threshold_percent=rule.min_attendance_percent,
        eligible=not reasons,
        reachable=reachable,
        sessions_left=counts.sessions_left,
        hours_attended=counts.hours_attended,
        reasons=reasons,
    )
