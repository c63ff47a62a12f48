"""Writes about certificates: issue, re-issue, revoke, and batches. Idempotent by design.

A certificate is unique per (participant, cohort) in the database; issuing twice, or
from two workers at once, returns the one certificate. Its PDF is rendered by the pure
`certificates.pdf.render_certificate_pdf` and stored under a name fixed by its serial and
version, so a retry rewrites the same file rather than adding one.
"""

import hashlib
import uuid
from datetime import datetime

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from django.db.models import Max, Min
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from certificates.codes import new_code, serial
from certificates.credentials import credentials_issue, credentials_revoke, credentials_supersede
from certificates.models import Certificate, CertificateBatch, CertificateFile
from certificates.pdf import (
    DEFAULT_SIGNATORIES,
    CertificateData,
    Signatory,
    render_certificate_pdf,
)
from certificates.selectors import certificates_due, enrolments_progress
from certificates.signals import certified_sync_pairs
from cohorts.models import Cohort, Enrolment, Notification, Participant
from cohorts.models import Signatory as CohortSignatory
from cohorts.outbox import outbox_put
from cohorts.queue import enqueue_on_commit
from cohorts.report_cache import reports_changed

_REASONS = {
    "withdrawn": gettext_lazy("the participant has withdrawn"),
    "attendance_not_recorded": gettext_lazy(
        "attendance has not been recorded for every session held"
    ),
    "no_attendance": gettext_lazy("no attendance has been recorded"),
    "attendance_below_threshold": gettext_lazy("attendance is below the threshold"),
    "hours_below_minimum": gettext_lazy("hours attended are below the minimum"),
    "required_session_missed": gettext_lazy("a required session was missed"),
}


def _certificate_data(certificate: Certificate) -> CertificateData:
    participant, cohort = certificate.participant, certificate.cohort
    span = cohort.sessions.aggregate(first=Min("starts_at"), last=Max("ends_at"))
    return CertificateData(
        serial=certificate.serial,
        verification_code=certificate.verification_code,
        verification_url=settings.SITE_URL
        + reverse("certificates:verify", args=[certificate.verification_code]),
        holder_name=participant.full_name,
        holder_name_ar=participant.full_name_ar,
        region_fr=participant.region.name_fr,
        region_ar=participant.region.name_ar,
        cohort_name=cohort.name,
        cohort_name_ar=cohort.name_ar,
        year=cohort.year,
        first_session=timezone.localtime(span["first"]).date(),
        last_session=timezone.localtime(span["last"]).date(),
        hours_attended=certificate.hours_attended,
        issued_on=certificate.issued_on,
        version=certificate.version,
        signatories=_signatories(cohort),
    )


def _signatories(cohort: Cohort) -> tuple[Signatory, ...]:
    """The programme's signatories as set in the admin, left then right; or the default lines."""
    rows = CohortSignatory.objects.filter(programme_id=cohort.programme_id).order_by("line")
    named = tuple(Signatory(s.name_fr, s.title_fr, s.name_ar, s.title_ar) for s in rows)
    return named or DEFAULT_SIGNATORIES


def _store_pdf(certificate: Certificate, now: datetime, reason: str = "") -> CertificateFile:
    """Render and store the certificate's current version; record its hash."""
    content = render_certificate_pdf(_certificate_data(certificate))
    digest = hashlib.sha256(content).hexdigest()
    name = f"certificates/{certificate.serial}-v{certificate.version}.pdf"
    if default_storage.exists(name):  # a retry after a rolled-back attempt: same bytes
        default_storage.delete(name)
    stored = default_storage.save(name, ContentFile(content))
    certificate.pdf.name = stored
    certificate.sha256 = digest
    return CertificateFile.objects.create(
        certificate=certificate,
        version=certificate.version,
        pdf=stored,
        sha256=digest,
        created_at=now,
        reason=reason,
    )


def _cohort_ended(cohort: Cohort, now: datetime) -> bool:
    last = cohort.sessions.aggregate(last=Max("ends_at"))["last"]
    return last is not None and last <= now


@transaction.atomic
def certificate_issue(
    *, participant: Participant, cohort: Cohort, by=None, notify: bool = True
) -> Certificate:
    """Issue the participant's certificate for the cohort, once; return it.

    Refused, with the reason, unless the participant meets the completion rule and the
    cohort's last session has ended. With `notify`, the trainee gets it by e-mail.
    """
    existing = Certificate.objects.filter(participant=participant, cohort=cohort).first()
    if existing is not None:
        return existing
    now = timezone.now()
    enrolments = Enrolment.objects.filter(participant=participant, cohort=cohort)
    rows = enrolments_progress(enrolments, now=now)
    if not rows:
        raise ValidationError({"participant": _("This person is not enrolled in the cohort.")})
    progress = rows[0].progress
    if not _cohort_ended(cohort, now):
        raise ValidationError({"cohort": _("The cohort's last session has not ended yet.")})
    if not progress.eligible:
        reasons = "; ".join(str(_REASONS.get(r, r)) for r in progress.reasons)
        raise ValidationError(
            {
                "participant": _("Not eligible for a certificate: %(reasons)s.")
                % {"reasons": reasons}
            }
        )
    try:
        with transaction.atomic():
            certificate = Certificate.objects.create(
                participant=participant,
                cohort=cohort,
                serial=f"pending-{uuid.uuid4().hex}",
                verification_code=new_code(),
                issued_on=timezone.localdate(now),
                hours_attended=progress.hours_attended,
            )
    except IntegrityError:
        # Another worker issued it meanwhile (the unique constraint decided): use theirs.
        return Certificate.objects.get(participant=participant, cohort=cohort)
    certificate.serial = serial(
        programme_code=cohort.programme.code,
        year=cohort.year,
        region_code=participant.region_id,
        number=certificate.pk,
    )
    _store_pdf(certificate, now)
    certificate.save(update_fields=["serial", "pdf", "sha256"])  # signals invalidate reports
    credentials_issue([certificate], now)
    if notify:
        certificate_emails_put([certificate])
    return certificate


def certificate_emails_put(certificates: list[Certificate]) -> int:
    """Put each certificate's e-mail in the outbox, in the caller's transaction (so it
    exists exactly when the certificate does); once per certificate, to those with an
    address. Messaging composes and sends it."""
    return outbox_put(
        Notification(
            key=f"certificate:{c.pk}", kind=Notification.Kind.CERTIFICATE, ref=c.pk,
            participant_id=c.participant_id,
        )
        for c in certificates
        if c.participant.email
    )  # fmt: skip


@transaction.atomic
def certificate_reissue(*, certificate: Certificate, reason: str, by=None) -> Certificate:
    """A new PDF under the same serial, with the next version; the old hash stays known."""
    if not reason.strip():
        raise ValidationError({"reason": _("Say why the certificate is re-issued.")})
    certificate = Certificate.objects.select_for_update().get(pk=certificate.pk)
    if certificate.status == Certificate.Status.REVOKED:
        raise ValidationError({"status": _("A revoked certificate cannot be re-issued.")})
    now = timezone.now()
    certificate.files.filter(superseded_at__isnull=True).update(superseded_at=now)
    certificate.version += 1
    _store_pdf(certificate, now, reason=reason.strip())
    certificate.save(update_fields=["version", "pdf", "sha256"])
    credentials_supersede(certificate, now)
    credentials_issue([certificate], now)
    return certificate


@transaction.atomic
def certificate_revoke(*, certificate: Certificate, reason: str, by=None) -> Certificate:
    if not reason.strip():
        raise ValidationError({"reason": _("Say why the certificate is revoked.")})
    now = timezone.now()
    claimed = Certificate.objects.filter(
        pk=certificate.pk, status=Certificate.Status.ISSUED
    ).update(
        status=Certificate.Status.REVOKED,
        revoked_at=now,
        revoked_by=by,
        revocation_reason=reason.strip(),
    )
    if not claimed:
        raise ValidationError({"status": _("This certificate is already revoked.")})
    credentials_revoke(certificate, now)
    # An update() sends no signal: the summary's flag and the reports, here.
    certified_sync_pairs([(certificate.participant_id, certificate.cohort_id)])
    reports_changed({certificate.participant.region_id})
    certificate.refresh_from_db()
    return certificate


@transaction.atomic
def certificate_batch_start(*, cohort: Cohort, by=None) -> CertificateBatch:
    """Queue the issuance of every certificate due in the cohort; follow it on the batch."""
    now = timezone.now()
    if not _cohort_ended(cohort, now):
        raise ValidationError({"cohort": _("The cohort's last session has not ended yet.")})
    due = certificates_due(Cohort.objects.filter(pk=cohort.pk), now=now)
    batch = CertificateBatch.objects.create(
        cohort=cohort, requested_by=by, total=len(due), created_at=now, heartbeat_at=now
    )
    enqueue_on_commit("certificates.tasks.issue_cohort_certificates", batch.pk)
    return batch


def certificate_batch_run(*, batch: CertificateBatch) -> CertificateBatch:
    """Issue what is still due for the batch's cohort; safe to run again after a crash."""
    CertificateBatch.objects.filter(pk=batch.pk).update(
        status=CertificateBatch.Status.RUNNING, heartbeat_at=timezone.now()
    )
    due = certificates_due(Cohort.objects.filter(pk=batch.cohort_id))
    for index, enrolment in enumerate(due, start=1):
        certificate_issue(participant=enrolment.participant, cohort=enrolment.cohort)
        still_due = len(due) - index
        CertificateBatch.objects.filter(pk=batch.pk).update(
            done=max(batch.total - still_due, 0), heartbeat_at=timezone.now()
        )
    CertificateBatch.objects.filter(pk=batch.pk).update(
        status=CertificateBatch.Status.DONE, done=batch.total, finished_at=timezone.now()
    )
    batch.refresh_from_db()
    return batch
