"""Reports change with the completion rules and the certificates, however they are saved
(the admin, a `rule.save()` in a shell): these receivers invalidate the cached reports, and
keep the progress summaries' `certified` flag (cohorts.models.ProgressSummary) true."""

from django.db.models import Exists, OuterRef, Q
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from certificates.models import Certificate, CompletionRule
from cohorts.models import Participant, ProgressSummary
from cohorts.progress import summaries_written
from cohorts.report_cache import reports_changed


def certified_sync(summaries=None) -> int:
    """Set each summary's `certified` from the certificates, in one UPDATE (all of them, or
    the queryset given)."""
    issued = Certificate.objects.filter(
        participant_id=OuterRef("participant_id"),
        cohort_id=OuterRef("cohort_id"),
        status=Certificate.Status.ISSUED,
    )
    rows = ProgressSummary.objects.all() if summaries is None else summaries
    return rows.update(certified=Exists(issued))


def certified_sync_pairs(pairs) -> int:
    """`certified_sync` for these (participant id, cohort id) pairs."""
    condition = Q(pk__in=[])
    for participant_id, cohort_id in set(pairs):
        condition |= Q(participant_id=participant_id, cohort_id=cohort_id)
    return certified_sync(ProgressSummary.objects.filter(condition))


@receiver(summaries_written)
def summaries_were_written(sender, enrolment_ids, **kwargs) -> None:
    if enrolment_ids:
        certified_sync(ProgressSummary.objects.filter(pk__in=enrolment_ids))


@receiver(post_save, sender=CompletionRule)
@receiver(post_delete, sender=CompletionRule)
def rule_changed(sender, **kwargs) -> None:
    # A programme's default rule concerns every cohort without its own: any report.
    reports_changed()


@receiver(post_save, sender=Certificate)
@receiver(post_delete, sender=Certificate)
def certificate_changed(sender, instance: Certificate, **kwargs) -> None:
    certified_sync_pairs([(instance.participant_id, instance.cohort_id)])
    region = Participant.objects.filter(pk=instance.participant_id).values_list(
        "region_id", flat=True
    )
    reports_changed(set(region))
