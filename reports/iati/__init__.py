"""The programme's IATI 2.03 activity file (builder) and its check (validation).

`reference/` is the project's copy of the IATI 2.03 schema, codelist mapping and the
codelists it names, taken from ../shared/reference/iati-2.03 by tools/iati_reference.py:
the app reads only this copy at run time.
"""

from reports.iati.builder import IatiFile, Summary, iati_activity_file
from reports.iati.validation import validate

__all__ = ["IatiFile", "Summary", "iati_activity_file", "validate"]
