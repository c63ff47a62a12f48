"""Read and write tables (CSV, XLSX) for imports and exports; no database access here."""

import csv
import io
from collections.abc import Iterable, Sequence
from datetime import date, datetime

from django.utils.translation import gettext as _
from openpyxl import Workbook, load_workbook

MAX_ROWS = 20_000


class TableError(Exception):
    """The file as a whole cannot be read."""


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = value.date()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def read_table(name: str, content: bytes) -> tuple[list[str], list[list[str]]]:
    """Return the header and the data rows of a CSV or XLSX file, as strings."""
    lowered = name.lower()
    if lowered.endswith(".xlsx"):
        rows = _read_xlsx(content)
    elif lowered.endswith(".csv") or lowered.endswith(".txt"):
        rows = _read_csv(content)
    else:
        raise TableError(_("Unsupported file type: send a .csv or .xlsx file."))
    rows = [row for row in rows if any(cell for cell in row)]
    if not rows:
        raise TableError(_("The file is empty."))
    if len(rows) - 1 > MAX_ROWS:
        raise TableError(_("The file has more than %(max)s rows.") % {"max": MAX_ROWS})
    header, *data = rows
    return [h.strip() for h in header], data


def _read_csv(content: bytes) -> list[list[str]]:
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise TableError(_("The CSV file must be encoded in UTF-8.")) from exc
    sample = text[:4096]
    try:
        dialect = csv.Sniffer().sniff(sample, delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    return [[_cell(c) for c in row] for row in csv.reader(io.StringIO(text), dialect)]


def _read_xlsx(content: bytes) -> list[list[str]]:
    try:
        workbook = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a damaged file
        raise TableError(_("The XLSX file cannot be read.")) from exc
    sheet = workbook.worksheets[0]
    rows = [[_cell(c) for c in row] for row in sheet.iter_rows(values_only=True)]
    workbook.close()
    return rows


def write_csv(header: Sequence[str], rows: Iterable[Sequence]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    for row in rows:
        writer.writerow([_cell(v) for v in row])
    # A BOM so that spreadsheet programs open the UTF-8 (accents, Arabic) correctly.
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def write_xlsx(header: Sequence[str], rows: Iterable[Sequence], title: str = "export") -> bytes:
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title[:31])
    sheet.append(list(header))
    for row in rows:
        sheet.append([v if isinstance(v, int | float | date) else _cell(v) for v in row])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
