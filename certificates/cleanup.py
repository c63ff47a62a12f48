"""Certificate files with no database row: delete them once they are a day old.

Issuing renders and stores the PDF inside the transaction that creates the certificate's
rows. If that transaction rolls back (a killed worker, a lost database connection, a
concurrent issue that won), the file stays in storage with a serial and a code that exist
nowhere. Such a file is only ever deleted here, and only when older than the grace period:
a file younger than that may belong to a transaction still running.
"""

from datetime import timedelta

from django.core.files.storage import default_storage
from django.utils import timezone

from certificates.models import Certificate, CertificateFile

DIRECTORY = "certificates"
GRACE = timedelta(days=1)


def orphan_files_delete(*, older_than: timedelta = GRACE, now=None) -> list[str]:
    """Delete the stored certificate files no row names, older than `older_than`; return
    their names."""
    now = now or timezone.now()
    if not default_storage.exists(DIRECTORY):
        return []
    known = set(CertificateFile.objects.values_list("pdf", flat=True))
    known |= set(Certificate.objects.exclude(pdf="").values_list("pdf", flat=True))
    _dirs, files = default_storage.listdir(DIRECTORY)
    deleted = []
    for filename in sorted(files):
        name = f"{DIRECTORY}/{filename}"
        if name in known:
            continue
        if now - default_storage.get_modified_time(name) < older_than:
            continue  # perhaps a transaction still running
        default_storage.delete(name)
        deleted.append(name)
    return deleted
