"""The completion rule: one pure function decides eligibility from attendance counts.

The trainee's progress bar, the managers' pages, the funders' reports and certificate
issuance all call `evaluate`, so they cannot disagree. No database access here; the
funders' reports write the same arithmetic in SQL (reports.selectors), tested equal on
random data.

Which sessions count, and how (the decision, with its edge cases):

- A session counts for an enrolment when it belongs to the enrolment's cohort, is not
  cancelled, and its local day is on or after the day of enrolment and, for a withdrawn
  enrolment, on or before the day of withdrawal. A session counts once it is *held*: it
  has started. Sessions still to come only matter for reachability.
- Every held session is in the denominator, whether or not it was recorded. A held session
  with no mark for the person is *not recorded*: it is not attended (it adds nothing to the
  numerator), and while any is left the person is not eligible, with the reason
  `attendance_not_recorded`: a certificate is never issued over a gap in the register. Once
  the managers record it, it counts as its mark says.
- Enrolled mid-cohort: the sessions before the day of enrolment do not count (the person
  could not attend them); a mark recorded on one anyway is not counted either.
- Withdrawn: never eligible (`withdrawn`); the sessions after the withdrawal day do not
  count, so the rate shown is the one at withdrawal.
- Cancelled session: counts for nobody, even if marks were recorded before it was cancelled.
- Excused: as the rule's policy says: out of the denominator (exclude), attended, or
  missed (absent). A late mark is attended when `late_counts_as_present`.
- Required sessions: a missed required session (`required_missed`) blocks eligibility
  and reachability (no session is marked required today; the counts carry 0).
- Minimum hours: hours attended are the minutes recorded, else the session's planned hours,
  of present and late marks.
- Reachability: the best case, where every session still to come and every held session
  not yet recorded turns out attended. Not-recorded sessions stay open as long as they are
  not recorded, during the cohort and after it: recording them is the managers' to do.
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
    not_recorded: int = 0  # held sessions with no mark for the person
    reasons: list[str] = field(default_factory=list)  # why not eligible, as codes

    @property
    def recorded_rate(self) -> Rate:
        """The rate over the sessions recorded only, leaving out those not recorded yet:
        what a trainee's own attendance says, whatever the register's gaps (alerts)."""
        return Rate(self.rate.numerator, self.rate.denominator - self.not_recorded)


def attendance_rate(counts: AttendanceCounts, rule: Rule) -> Rate:
    """Attended sessions over held sessions, as the rule counts late and excused marks; a held
    session not recorded is in the denominator, not in the numerator."""
    attended = counts.present
    if rule.late_counts_as_present:
        attended += counts.late
    denominator = counts.marked + counts.not_recorded
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
    if counts.not_recorded:
        reasons.append("attendance_not_recorded")
    if not rate.meets(rule.min_attendance_percent):
        reasons.append("no_attendance" if rate.denominator == 0 else "attendance_below_threshold")
    if rule.min_hours is not None and counts.hours_attended < rule.min_hours:
        reasons.append("hours_below_minimum")
    if counts.required_missed:
        reasons.append("required_session_missed")

    # The best case: every session not yet recorded, or not yet held, is attended. The
    # not-recorded ones are already in the denominator.
    best = Rate(
        rate.numerator + counts.not_recorded + counts.sessions_left,
        rate.denominator + counts.sessions_left,
    )
    best_hours = counts.hours_attended + counts.hours_not_recorded + counts.hours_remaining
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
        not_recorded=counts.not_recorded,
        reasons=reasons,
    )
