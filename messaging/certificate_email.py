"""The e-mail that brings a trainee their certificate, in their language, with its PDF."""

from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext as _

from certificates.codes import display
from certificates.models import Certificate
from cohorts.models import Notification
from cohorts.outbox import Drop, OutgoingMessage, composes
from messaging.naming import email_name, tidy, unnamed_in_emails


def certificate_message(
    certificate: Certificate, unnamed: set[int] | None = None
) -> OutgoingMessage:
    participant = certificate.participant
    with translation.override(participant.preferred_language or settings.LANGUAGE_CODE):
        verify = f"{settings.SITE_URL}/verify/{certificate.verification_code}"
        subject = _("Your certificate: %(cohort)s") % {"cohort": certificate.cohort.name}
        body = _(
            "Hello %(name)s,\n\n"
            "Congratulations: you have completed %(cohort)s of the study cycle Région 2021. "
            "Your certificate of participation is attached.\n\n"
            "Serial number: %(serial)s\nVerification code: %(code)s\n"
            "Anyone can check it at %(url)s\n\n"
            "The Région 2021 programme team"
        ) % {
            "name": email_name(participant, unnamed),
            "cohort": certificate.cohort.name,
            "serial": certificate.serial,
            "code": display(certificate.verification_code),
            "url": verify,
        }
    with certificate.pdf.open("rb") as handle:
        pdf = handle.read()
    return OutgoingMessage(
        to=participant.email or "",
        subject=subject,
        text=tidy(body),
        attachments=[(f"{certificate.serial}.pdf", pdf, "application/pdf")],
    )


def _emailed(rows: list[Notification], now) -> None:
    Certificate.objects.filter(pk__in=[r.ref for r in rows], emailed_at__isnull=True).update(
        emailed_at=now
    )


@composes(Notification.Kind.CERTIFICATE, on_sent=_emailed)
def compose_certificates(rows: list[Notification]) -> dict[int, OutgoingMessage | Drop]:
    certificates = Certificate.objects.select_related("participant", "cohort").in_bulk(
        [r.ref for r in rows]
    )
    unnamed = unnamed_in_emails(c.participant_id for c in certificates.values())
    composed: dict[int, OutgoingMessage | Drop] = {}
    for row in rows:
        certificate = certificates.get(row.ref or 0)
        if certificate is None:
            composed[row.pk] = Drop("the certificate is gone")
        elif certificate.status != Certificate.Status.ISSUED:
            composed[row.pk] = Drop("the certificate was revoked")
        elif not certificate.participant.email:
            composed[row.pk] = Drop("no e-mail address")
        else:
            composed[row.pk] = certificate_message(certificate, unnamed)
    return composed
