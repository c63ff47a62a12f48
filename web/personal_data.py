"""A trainee's download of everything held about them: the data (accounts.personal_data)
with their digital credentials added, and its readable PDF.

Both the page (/me/) and the API (/api/v1/me/export/) serve it from here: the data comes
from `accounts` and `certificates`, two rooms that do not import each other.
"""

import importlib
import io
import json
from xml.sax.saxutils import escape

from django.utils.translation import gettext as _
from reportlab.lib.colors import HexColor
from reportlab.lib.enums import TA_LEFT, TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from accounts.personal_data import personal_data
from certificates.models import Certificate
from certificates.pdf import _RTL, FONT, FONT_BOLD, arabic_lines, register_fonts, shape_arabic
from cohorts.models import AccountEmail, Attendance, Enrolment, Notification, Participant

# Stored codes in words, in the reader's language (the models' own labels).
LABELS = {
    **dict(Attendance.Status.choices),
    **dict(Enrolment.Status.choices),
    **dict(Notification.Kind.choices),
    **dict(Notification.Status.choices),
    **dict(AccountEmail.Kind.choices),
    **dict(AccountEmail.Status.choices),
    **dict(Certificate.Status.choices),
}


def _word(code) -> str:
    return "" if code in (None, "") else str(LABELS.get(code, code))


def _when(value: str | None) -> str:
    """An ISO date-time as on paper: day and minute, no "T"."""
    return (value or "")[:16].replace("T", " ")


def _shown(value) -> str:
    return "—" if value in (None, "") else str(value)


LINE = HexColor("#d5dde5")
HEAD = HexColor("#eef2f6")


def credentials_of(participant: Participant) -> list[dict] | None:
    """The person's Open Badges credentials, when the certificates room issues them
    (`certificates.credentials.credentials_of`); None until it does."""
    try:
        module = importlib.import_module("certificates.credentials")
    except ImportError:
        return None
    provider = getattr(module, "credentials_of", None)
    return None if provider is None else provider(participant)


def export_data(participant: Participant) -> dict:
    return personal_data(participant, credentials=credentials_of(participant))


def export_json(data: dict) -> bytes:
    return json.dumps(data, ensure_ascii=False, indent=2, default=str).encode()


class _Text:
    def __init__(self, rtl: bool):
        register_fonts()  # Amiri: both scripts, whatever the page's language
        self.rtl = rtl
        align = TA_RIGHT if rtl else TA_LEFT
        self.styles = {
            "title": ParagraphStyle(
                "t", fontName=FONT_BOLD, fontSize=17, leading=24, alignment=align
            ),
            "h2": ParagraphStyle(
                "h",
                fontName=FONT_BOLD,
                fontSize=12.5,
                leading=18,
                alignment=align,
                spaceBefore=10,
                spaceAfter=4,
            ),  # fmt: skip
            "body": ParagraphStyle("b", fontName=FONT, fontSize=9.5, leading=14, alignment=align),
            "cell": ParagraphStyle("c", fontName=FONT, fontSize=8, leading=11, alignment=align),
            "head": ParagraphStyle(
                "d", fontName=FONT_BOLD, fontSize=8, leading=11, alignment=align
            ),
        }

    def para(self, value, style: str = "body", width: float = 480) -> Paragraph:
        value = "" if value is None else str(value)
        chosen = self.styles[style]
        if _RTL.search(value):
            # Wrapped in logical order, then each line shaped and put in visual order.
            lines = arabic_lines(value, chosen.fontName, chosen.fontSize, width)
            return Paragraph("<br/>".join(escape(line) for line in lines), chosen)
        return Paragraph(escape(value), chosen)

    def table(self, head: list[str], rows: list[list], width: float = 515) -> Table:
        cell = width / len(head)
        body = [[self.para(h, "head", cell - 6) for h in head]]
        body += [[self.para(v, "cell", cell - 6) for v in row] for row in rows]
        if self.rtl:
            body = [list(reversed(r)) for r in body]
        table = Table(body, colWidths=[cell] * len(head), repeatRows=1,
                      hAlign="RIGHT" if self.rtl else "LEFT")  # fmt: skip
        table.setStyle(
            TableStyle(
                [
                    ("BACKGROUND", (0, 0), (-1, 0), HEAD),
                    ("LINEBELOW", (0, 0), (-1, -1), 0.5, LINE),
                    ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ]
            )
        )
        return table


def _changes(before: dict | None, after: dict | None) -> str:
    """The fields that differ, each "field: from old to new"."""
    before, after = before or {}, after or {}
    keys = sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))
    return "; ".join(
        _("%(field)s: from %(before)s to %(after)s")
        % {"field": k, "before": _shown(before.get(k)), "after": _shown(after.get(k))}
        for k in keys
    )


def export_pdf(data: dict, *, language: str = "fr") -> bytes:
    """The export as a readable A4 document (in the reader's language; Arabic shaped)."""
    text = _Text(rtl=language.startswith("ar"))
    p = data["profile"]
    story: list = [
        text.para(_("Everything the programme holds about you"), "title"),
        text.para(_("Generated on %(date)s.") % {"date": _when(data["generated_at"])}),
        text.para(_("Profile"), "h2"),
    ]
    profile_rows = [
        [_("Name"), f"{p['first_name']} {p['last_name']}"],
        [_("Name (Arabic)"), f"{p['first_name_ar']} {p['last_name_ar']}".strip()],
        [_("Sex"), str(dict(Participant.Sex.choices).get(p["sex"], p["sex"]))],
        [_("Role"), str(dict(Participant.Role.choices).get(p["role"], p["role"]))],
        [_("Position"), p["position"]],
        [_("Region"), f"{p['region_name']} ({p['region']})"],
        [_("E-mail"), p["email"]],
        [_("Phone"), p["phone"]],
        [_("Language"), p["preferred_language"]],
        [_("Consent date"), p["consent_date"] or ""],
        [_("Account"), p["account"]["username"] if p["account"] else ""],
    ]
    story.append(text.table([_("Field"), _("Value")], profile_rows))
    sections = [
        (
            _("Enrolments"),
            [_("Cohort"), _("Programme year"), _("Status"), _("Enrolled on"), _("Withdrawn on")],
            [
                [
                    e["cohort_name"],
                    e["year"],
                    _word(e["status"]),
                    e["enrolled_on"],
                    e["withdrawn_on"] or "",
                ]
                for e in data["enrolments"]
            ],
        ),
        (
            _("Attendance"),
            [_("Cohort"), _("Session"), _("Date"), _("Mark"), _("Minutes")],
            [
                [
                    m["cohort"],
                    m["session"],
                    _when(m["starts_at"]),
                    _word(m["status"]),
                    m["minutes_attended"] or "",
                ]
                for m in data["attendance"]
            ],
        ),
        (
            _("Changes to your attendance"),
            [_("Session"), _("Date"), _("Changed on"), _("Change")],
            [
                [
                    h["session"],
                    h["starts_at"][:10],
                    _when(h["changed_at"]),
                    _changes(h["before"], h["after"]),
                ]
                for h in data["attendance_history"]
            ],
        ),
        (
            _("Messages sent to you"),
            [_("Kind"), _("Status"), _("Address"), _("Created on"), _("Sent on")],
            [
                [
                    _word(m["kind"]),
                    _word(m["status"]),
                    m["address"],
                    _when(m["created_at"]),
                    _when(m["sent_at"]),
                ]
                for m in data["messages"]
            ]
            + [
                [
                    _word(a["kind"]),
                    _word(a["status"]),
                    "",
                    _when(a["created_at"]),
                    _when(a["sent_at"]),
                ]
                for a in data["account_emails"]
            ],
        ),
        (
            _("Certificates"),
            [_("Serial"), _("Cohort"), _("Issued on"), _("Status"), _("Version")],
            [
                [c["serial"], c["cohort_name"], c["issued_on"], _word(c["status"]), c["version"]]
                for c in data["certificates"]
            ],
        ),
        (
            _("Digital credentials"),
            [_("Certificate"), _("Version"), _("Status"), _("Issued on")],
            [
                [c.get("certificate"), c.get("version"), c.get("state"), _when(c.get("issued_at"))]
                for c in data["credentials"] or []
            ],
        ),
        (
            _("Your choices about being named"),
            [_("Recorded on"), _("On public verification"), _("In e-mails")],
            [
                [
                    _when(c["recorded_at"]),
                    _("yes") if c["on_verification"] else _("no"),
                    _("yes") if c["in_emails"] else _("no"),
                ]  # fmt: skip
                for c in data["consent"]
            ],
        ),
        (
            _("Corrections of your identity"),
            [_("Changed on"), _("Change")],
            [
                [_when(c["changed_at"]), _changes(c["before"], c["after"])]
                for c in data["identity_history"]
            ],
        ),
    ]
    for title, head, rows in sections:
        story.append(text.para(title, "h2"))
        story.append(text.table(head, rows) if rows else text.para(_("None.")))
    story.append(Spacer(1, 10))
    story.append(
        text.para(
            _("The JSON download holds the same, with every stored record in full (%(n)s tables).")
            % {"n": len(data["records"])}
        )
    )
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(buffer, pagesize=A4, leftMargin=40, rightMargin=40, topMargin=40,
                            bottomMargin=40, title=_("Personal data"))  # fmt: skip
    doc.build(story)
    return buffer.getvalue()


__all__ = ["credentials_of", "export_data", "export_json", "export_pdf", "shape_arabic"]
