"""Public verification: what a code or a PDF says, for anyone holding a certificate.

A PDF alone is enough: the tracker's certificates carry their code in the document's
metadata (`/Keywords`, `verification-code:…`); files issued before that carry their serial
in `/Subject`, which names the certificate as well. Either way the file's SHA-256 is then
compared with the files issued for that certificate, so a forged metadata entry only leads
to a red "does not match".

Only what the certificate itself shows is revealed (holder's name, cohort, region, issue
date, hours) — never contact data. An unknown code reveals nothing.
"""

import hashlib
import re
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


# A PDF literal string: parentheses, with backslash escapes inside.
_PDF_STRING = rb"\(((?:[^()\\]|\\.)*)\)"
_KEYWORDS = re.compile(rb"/Keywords\s*" + _PDF_STRING, re.DOTALL)
_SUBJECT = re.compile(rb"/Subject\s*" + _PDF_STRING, re.DOTALL)
_CODE_IN_KEYWORDS = re.compile(rb"verification-code:\s*([0-9A-Za-z*~$=\-]+)")
_SERIAL_IN_SUBJECT = re.compile(rb"Attestation\s+([A-Z0-9]+(?:-[A-Z0-9]+)+)")


def code_from_pdf(content: bytes) -> str | None:
    """The verification code a certificate's PDF names (normalised), or None.

    Read from the document information dictionary, which ReportLab writes uncompressed;
    the last entry wins, as in a PDF updated in place.
    """
    for match in reversed(_KEYWORDS.findall(content)):
        found = _CODE_IN_KEYWORDS.search(match)
        code = normalise(found.group(1).decode("ascii")) if found else None
        if code:
            return code
    for match in reversed(_SUBJECT.findall(content)):
        found = _SERIAL_IN_SUBJECT.search(match)
        if found:
            certificate = Certificate.objects.filter(serial=found.group(1).decode("ascii"))
            code = certificate.values_list("verification_code", flat=True).first()
            if code:
                return code
    return None
