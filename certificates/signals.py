"""Reports change with the completion rules and the certificates, however they are saved
(the admin, a `rule.save()` in a shell): these receivers invalidate the cached reports."""

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from certificates.models import Certificate, CompletionRule
from cohorts.models import Participant
from cohorts.report_cache import reports_changed


@receiver(post_save, sender=CompletionRule)
@receiver(post_delete, sender=CompletionRule)
def rule_changed(sender, **kwargs) -> None:
    # A programme's default rule concerns every cohort without its own: any report.
    reports_changed()


@receiver(post_save, sender=Certificate)
@receiver(post_delete, sender=Certificate)
def certificate_changed(sender, instance: Certificate, **kwargs) -> None:
    region = Participant.objects.filter(pk=instance.participant_id).values_list(
        "region_id", flat=True
    )
    reports_changed(set(region))
