"""The e-mail that brings a trainee their certificate, in their language."""

from typing import cast

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.utils import translation
from django.utils.translation import gettext as _

from certificates.codes import display
from certificates.models import Certificate


def certificate_message(certificate: Certificate) -> EmailMultiAlternatives:
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
            "name": participant.full_name,
            "cohort": certificate.cohort.name,
            "serial": certificate.serial,
            "code": display(certificate.verification_code),
            "url": verify,
        }
    # Only certificates of participants with an address are sent (messaging.tasks filters).
    message = EmailMultiAlternatives(subject, body, to=[cast(str, participant.email)])
    with certificate.pdf.open("rb") as handle:
        message.attach(f"{certificate.serial}.pdf", handle.read(), "application/pdf")
    return message
