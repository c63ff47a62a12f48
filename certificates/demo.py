"""Demo certificates: issued for the demo cohorts that ended, as production issues them."""

from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone

from certificates.bulk import certificate_issue_bulk
from certificates.models import Certificate, CertificateFile
from certificates.selectors import certificates_due
from cohorts.demo import DEMO_COHORT_CODE, DEMO_EMAIL_DOMAIN
from cohorts.models import Cohort, Enrolment

# Cohorts whose due certificates are listed in one query (about 30 people each).
COHORTS_PER_QUERY = 100


def _demo_certificates():
    return Certificate.objects.filter(
        participant__email__endswith=f"@{DEMO_EMAIL_DOMAIN}", cohort__code__regex=DEMO_COHORT_CODE
    )


@transaction.atomic
def delete_demo_certificates() -> int:
    """Remove the demo certificates and their files (before the demo data is rebuilt)."""
    files = CertificateFile.objects.filter(certificate__in=_demo_certificates())
    for name in files.values_list("pdf", flat=True):
        if name and default_storage.exists(name):
            default_storage.delete(name)
    deleted, _ = _demo_certificates().delete()
    return deleted


def _demo_certificates_due(progress=None) -> list[Enrolment]:
    """The enrolments of demo cohorts due a certificate, a slice of cohorts at a time."""
    ids = list(
        Cohort.objects.filter(code__regex=DEMO_COHORT_CODE)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    due: list[Enrolment] = []
    for start in range(0, len(ids), COHORTS_PER_QUERY):
        chunk = ids[start : start + COHORTS_PER_QUERY]
        due += certificates_due(Cohort.objects.filter(pk__in=chunk))
        if progress:
            progress("eligibility", start + len(chunk), len(ids))
    return due


def issue_demo_certificates(progress=None, processes=None) -> int:
    """Issue every certificate due in the demo cohorts; return how many were issued.

    Demo addresses are fictitious, so demo certificates are marked as e-mailed rather than
    sent (the reconciliation sweep would otherwise mail them).
    """
    due = _demo_certificates_due(progress)

    def issued(done: int, total: int) -> None:
        if progress:
            progress("certificates", done, total)

    return certificate_issue_bulk(
        enrolments=due, emailed_at=timezone.now(), processes=processes, progress=issued
    )
