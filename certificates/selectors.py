"""Reads about completion: which rule applies, and where each enrolment stands."""

from dataclasses import dataclass

from django.db.models import Q, QuerySet
from django.utils import timezone

from certificates.models import CompletionRule
from certificates.rules import Progress, Rule, evaluate
from cohorts.models import Cohort, Enrolment
from cohorts.selectors import counts_of, enrolments_with_counts


def rules_for_cohorts(cohorts: list[Cohort]) -> dict[int, Rule]:
    """The rule of each cohort: its own, else its programme's default, else the built-in one.

    One query whatever the number of cohorts.
    """
    rows = CompletionRule.objects.filter(
        Q(cohort__in=cohorts)
        | Q(cohort__isnull=True, programme_id__in={c.programme_id for c in cohorts})
    )
    own = {r.cohort_id: r.as_rule() for r in rows if r.cohort_id}
    default = {r.programme_id: r.as_rule() for r in rows if r.cohort_id is None}
    return {c.pk: own.get(c.pk) or default.get(c.programme_id) or Rule() for c in cohorts}


def rule_for_cohort(cohort: Cohort) -> Rule:
    return rules_for_cohorts([cohort])[cohort.pk]


@dataclass(frozen=True)
class EnrolmentProgress:
    enrolment: Enrolment
    progress: Progress


def enrolments_progress(enrolments: QuerySet[Enrolment], now=None) -> list[EnrolmentProgress]:
    """Each enrolment with its progress toward completion, in a constant number of queries."""
    rows = list(
        enrolments_with_counts(enrolments, now=now).select_related(
            "participant", "participant__region", "cohort"
        )
    )
    rules = rules_for_cohorts(list({e.cohort_id: e.cohort for e in rows}.values()))
    return [EnrolmentProgress(e, evaluate(counts_of(e), rules[e.cohort_id])) for e in rows]


def certificates_due(cohorts: QuerySet[Cohort], now=None) -> list[Enrolment]:
    """Active enrolments that meet the rule, in cohorts whose last session has ended, and
    have no certificate yet: what issuance (and the reconciliation sweep) must do."""
    from django.db.models import Exists, Max, OuterRef

    from certificates.models import Certificate

    now = now or timezone.now()
    ended = cohorts.annotate(last_end=Max("sessions__ends_at")).filter(last_end__lte=now)
    has_certificate = Certificate.objects.filter(
        participant_id=OuterRef("participant_id"), cohort_id=OuterRef("cohort_id")
    )
    candidates = Enrolment.objects.filter(
        cohort__in=ended.values("pk"), status=Enrolment.Status.ACTIVE
    ).exclude(Exists(has_certificate))
    return [
        row.enrolment for row in enrolments_progress(candidates, now=now) if row.progress.eligible
    ]


def certificate_by_code(code: str):
    """The certificate a (normalised) verification code names, or None."""
    from certificates.models import Certificate

    return (
        Certificate.objects.select_related("participant__region", "cohort")
        .filter(verification_code=code)
        .first()
    )
