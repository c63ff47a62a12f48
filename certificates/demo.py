"""Demo certificates: issued for the demo cohorts that ended, as production issues them."""

from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone

from certificates.bulk import certificate_issue_due
from certificates.models import Certificate, CertificateFile
from cohorts.demo import DEMO_COHORT_CODE, DEMO_EMAIL_DOMAIN
from cohorts.models import Cohort


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


def issue_demo_certificates(progress=None, processes=None) -> int:
    """Issue every certificate due in the demo cohorts; return how many were issued.

    Demo addresses are fictitious, so demo certificates are marked as e-mailed rather than
    sent (the reconciliation sweep would otherwise mail them).
    """
    return certificate_issue_due(
        cohorts=Cohort.objects.filter(code__regex=DEMO_COHORT_CODE),
        emailed_at=timezone.now(),
        processes=processes,
        progress=progress,
    )
