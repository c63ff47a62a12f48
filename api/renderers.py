"""CSV and Excel renderings of a report: the same columns as the JSON rows, flattened."""

from django.utils.translation import pgettext_lazy
from rest_framework.renderers import BaseRenderer

from cohorts.tables import write_csv, write_xlsx

# Column labels, translated by the request's language (French headers for French users).
LABELS = {
    "period": pgettext_lazy("report column", "period"),
    "region": pgettext_lazy("report column", "region"),
    "region_name": pgettext_lazy("report column", "region name"),
    "year": pgettext_lazy("report column", "year"),
    "sex": pgettext_lazy("report column", "sex"),
    "role": pgettext_lazy("report column", "role"),
    "cohort": pgettext_lazy("report column", "cohort"),
    "cohort_name": pgettext_lazy("report column", "cohort name"),
    "people": pgettext_lazy("report column", "people"),
    "enrolled": pgettext_lazy("report column", "enrolled"),
    "active": pgettext_lazy("report column", "active"),
    "withdrawn": pgettext_lazy("report column", "withdrawn"),
    "sessions_held": pgettext_lazy("report column", "sessions held"),
    "attendance_marks": pgettext_lazy("report column", "attendance marks"),
    "attendance_rate": pgettext_lazy("report column", "attendance rate"),
    "excused_rate": pgettext_lazy("report column", "excused rate"),
    "completed": pgettext_lazy("report column", "meeting the completion rule"),
    "completion_rate": pgettext_lazy("report column", "completion rate"),
    "certificates_issued": pgettext_lazy("report column", "certificates issued"),
    "suppressed": pgettext_lazy("report column", "suppressed"),
    "suppression": pgettext_lazy("report column", "suppression"),
    "enrolments": pgettext_lazy("report column", "enrolments"),
}
_RATE_PARTS = {
    "value": "",
    "numerator": pgettext_lazy("report column", "numerator"),
    "denominator": pgettext_lazy("report column", "denominator"),
}


def flatten(data: dict) -> tuple[list[str], list[list]]:
    """Header and rows of a report; a rate becomes three columns (value, numerator, denominator)."""
    rows = [*data["rows"], {**data["totals"], "_totals": True}]
    keys: list[str] = []
    for row in rows:
        for key in row:
            if key not in keys and not key.startswith("_"):
                keys.append(key)
    header: list[str] = []
    columns: list[tuple[str, str | None]] = []  # (key, rate part or None)
    for key in keys:
        label = str(LABELS.get(key, key))
        if any(isinstance(row.get(key), dict) for row in rows):
            for rate_part, suffix in _RATE_PARTS.items():
                header.append(f"{label} ({suffix})" if suffix else label)
                columns.append((key, rate_part))
        else:
            header.append(label)
            columns.append((key, None))
    total_label = str(pgettext_lazy("report column", "total"))
    out = []
    for row in rows:
        line = []
        for key, part in columns:
            value = row.get(key)
            if part is not None:
                value = value.get(part) if isinstance(value, dict) else value
            if row.get("_totals") and value is None and key in data.get("group_by", []):
                value = total_label
            line.append(value)
        out.append(line)
    return header, out


class CSVRenderer(BaseRenderer):
    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        if "rows" not in (data or {}):  # an error: keep it readable
            return str(data).encode()
        return write_csv(*flatten(data))


class XLSXRenderer(BaseRenderer):
    media_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    format = "xlsx"
    charset = None
    render_style = "binary"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        if "rows" not in (data or {}):
            return str(data).encode()
        return write_xlsx(*flatten(data), title="report")
