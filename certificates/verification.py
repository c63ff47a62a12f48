"""Public verification: what a code or a PDF says, for anyone holding a certificate.

Only what the certificate itself shows is revealed (holder's name, cohort, region, issue
date, hours) — never contact data. An unknown code reveals nothing.
"""

import hashlib
from dataclasses import dataclass

from certificates.codes import normalise
from certificates.models import Certificate, CertificateFile
from certificates.selectors import certificate_by_code


@dataclass(frozen=True)
class Verification:
    status: str  # valid | revoked | unknown
    certificate: Certificate | None

    def public(self) -> dict:
        c = self.certificate
        if c is None:
            return {"status": "unknown"}
        return {
            "status": self.status,
            "serial": c.serial,
            "holder": c.participant.full_name,
            "holder_ar": c.participant.full_name_ar,
            "cohort": c.cohort.name,
            "year": c.cohort.year,
            "region": c.participant.region_id,
            "region_name": c.participant.region.name_fr,
            "issued_on": c.issued_on.isoformat(),
            "hours_attended": str(c.hours_attended),
            "version": c.version,
            "revoked_on": c.revoked_at.date().isoformat() if c.revoked_at else None,
        }


def verify_code(text: str) -> Verification:
    code = normalise(text)
    certificate = certificate_by_code(code) if code else None
    if certificate is None:
        return Verification("unknown", None)
    status = "revoked" if certificate.status == Certificate.Status.REVOKED else "valid"
    return Verification(status, certificate)


def verify_file(certificate: Certificate, content: bytes) -> str:
    """current | superseded | mismatch: is this PDF one the tracker issued for it?"""
    digest = hashlib.sha256(content).hexdigest()
    match = CertificateFile.objects.filter(certificate=certificate, sha256=digest).first()
    if match is None:
        return "mismatch"
    return "superseded" if match.superseded_at else "current"
