"""Keep the progress summaries and the reports' cache true after a plain model write.

The services refresh what their bulk writes change themselves (bulk operations send no
signals); these receivers cover every other path: the admin, a `save()` in a shell, a
fixture, a data migration run through the models. They run inside the writer's
transaction, so the summary commits (or rolls back) with the write.
"""

from django.db.models.signals import post_delete, post_save, pre_save
from django.dispatch import receiver

from cohorts.models import Attendance, Cohort, Enrolment, Participant, Region, TrainingSession
from cohorts.progress import progress_refresh, refresh_cohort_firsts, refresh_suspended
from cohorts.report_cache import reports_changed


def _enrolments_of_mark(mark: Attendance) -> list[int]:
    cohort = TrainingSession.objects.filter(pk=mark.session_id).values("cohort_id")
    return list(
        Enrolment.objects.filter(
            participant_id=mark.participant_id, cohort_id__in=cohort
        ).values_list("pk", flat=True)
    )


@receiver(post_save, sender=Attendance)
@receiver(post_delete, sender=Attendance)
def attendance_changed(sender, instance: Attendance, **kwargs) -> None:
    if refresh_suspended():
        return
    reports_changed(progress_refresh(enrolment_ids=_enrolments_of_mark(instance)))


@receiver(post_save, sender=Enrolment)
def enrolment_saved(sender, instance: Enrolment, **kwargs) -> None:
    if refresh_suspended():
        return
    reports_changed(progress_refresh(enrolment_ids=[instance.pk]))


@receiver(post_delete, sender=Enrolment)
def enrolment_deleted(sender, instance: Enrolment, **kwargs) -> None:
    if refresh_suspended():
        return
    # Its summary goes with it (on delete cascade); the person's other enrolments may
    # become their first, and another enrolment of the cohort its first in a group.
    regions = progress_refresh(participant_ids=[instance.participant_id])
    refresh_cohort_firsts([instance.cohort_id])
    region = Participant.objects.filter(pk=instance.participant_id).values_list(
        "region_id", flat=True
    )
    reports_changed(regions | set(region))


@receiver(post_save, sender=TrainingSession)
@receiver(post_delete, sender=TrainingSession)
def session_changed(sender, instance: TrainingSession, **kwargs) -> None:
    if refresh_suspended():
        return
    # Moved or cancelled: which sessions count, and when they are held, changes for the
    # whole cohort.
    reports_changed(progress_refresh(cohort_ids=[instance.cohort_id]))


@receiver(pre_save, sender=Participant)
def participant_saving(sender, instance: Participant, **kwargs) -> None:
    if refresh_suspended():
        return
    # The region the person leaves changes too.
    instance._region_before = (  # type: ignore[attr-defined]
        Participant.objects.filter(pk=instance.pk).values_list("region_id", flat=True).first()
        if instance.pk
        else None
    )


@receiver(post_save, sender=Participant)
@receiver(post_delete, sender=Participant)
def participant_changed(sender, instance: Participant, created=False, **kwargs) -> None:
    if refresh_suspended():
        return
    before = getattr(instance, "_region_before", None)
    regions = {instance.region_id} | ({before} if before else set())
    if kwargs.get("signal") is post_save and not created:
        # The summaries carry the person's region, sex and role (the report keys).
        regions |= progress_refresh(participant_ids=[instance.pk])
    reports_changed(regions)


@receiver(post_save, sender=Cohort)
def cohort_saved(sender, instance: Cohort, created=False, **kwargs) -> None:
    if refresh_suspended():
        return
    if not created:  # the summaries carry the cohort's year
        progress_refresh(cohort_ids=[instance.pk])
    reports_changed()  # names and years appear in every report's rows


@receiver(post_delete, sender=Cohort)
@receiver(post_save, sender=Region)
def labels_changed(sender, **kwargs) -> None:
    if refresh_suspended():
        return
    reports_changed()
