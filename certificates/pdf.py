"""Render a participation certificate as a PDF: plain data in, bytes out.

No database and no Django here: the service that issues a certificate gathers the data, calls
`render_certificate_pdf` and stores the bytes with their SHA-256. The output is deterministic
(same data, same bytes), so a file can be re-rendered and compared.

Arabic: ReportLab does not shape Arabic by itself, so each Arabic line is wrapped in logical
order, then shaped (arabic-reshaper: contextual presentation forms) and reordered for display
(the pure-Python `bidi.algorithm.get_display`, which also mirrors brackets and guillemets).
Each Arabic line goes into the file run by run in reading order, each run at its place on the
line (`draw_arabic`): copied or extracted, the text reads as written. One font, Amiri,
covers both scripts; it ships with the `fontpkg-amiri` package.
"""

from __future__ import annotations

import io
import re
import threading
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import lru_cache

import arabic_reshaper
import fontpkg_amiri
from bidi import algorithm as bidi_algorithm
from bidi.algorithm import get_display
from reportlab.graphics.barcode import qrencoder
from reportlab.lib.colors import Color, HexColor
from reportlab.lib.pagesizes import A4, landscape
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas

from certificates.codes import display
from cohorts.dates import format_date

FONT = "Amiri"
FONT_BOLD = "Amiri-Bold"
AUTHOR = "Cycle Région 2021"

NAVY = HexColor("#1f3a5f")
INK = HexColor("#222222")
GREY = HexColor("#5f6b76")
GOLD = HexColor("#a8843c")

PAGE_WIDTH, PAGE_HEIGHT = landscape(A4)
MARGIN = 40
GUTTER = 64
COLUMN_WIDTH = (PAGE_WIDTH - 2 * MARGIN - GUTTER) / 2 - 16
LEFT_X = MARGIN + 16  # the French column, left edge
RIGHT_X = PAGE_WIDTH - MARGIN - 16  # the Arabic column, right edge


NBSP = "\u00a0"
_RTL = re.compile("[\u0590-\u08ff\ufb1d-\ufdff\ufe70-\ufeff]")  # Hebrew and Arabic blocks


@dataclass(frozen=True)
class Signatory:
    """Who signs on one of the certificate's signature lines, in both languages."""

    name_fr: str
    title_fr: str
    name_ar: str = ""
    title_ar: str = ""


# The signature lines' captions when the programme has named no one.
DEFAULT_SIGNATORIES = (
    Signatory("", "Le directeur du programme", "", "مدير البرنامج"),
    Signatory("", "Pour l’Association des Régions du Maroc", "", "عن جمعية جهات المغرب"),
)


@dataclass(frozen=True)
class CertificateData:
    """Everything printed on one certificate, already resolved to plain values."""

    serial: str
    verification_code: str
    verification_url: str
    holder_name: str
    holder_name_ar: str
    region_fr: str
    region_ar: str
    cohort_name: str
    year: int
    first_session: date
    last_session: date
    hours_attended: Decimal
    issued_on: date
    version: int = 1
    # The cohort's Arabic name, when it has one (the French one otherwise).
    cohort_name_ar: str = ""
    # Left and right signature lines (the programme's signatories, set in the admin).
    signatories: tuple[Signatory, ...] = DEFAULT_SIGNATORIES


# --- fonts -------------------------------------------------------------------------------------

_fonts_lock = threading.Lock()
# An Event rather than a bool global: the double-checked locking below re-reads the flag
# after taking the lock (another thread may have set it meanwhile).
_fonts_ready = threading.Event()


def register_fonts() -> None:
    """Register Amiri once per process (parsing the TTF files per document is costly)."""
    if _fonts_ready.is_set():
        return
    with _fonts_lock:
        if _fonts_ready.is_set():
            return
        files = fontpkg_amiri.ROOT / "files"
        for name, filename in ((FONT, "Amiri-Regular.ttf"), (FONT_BOLD, "Amiri-Bold.ttf")):
            if name not in pdfmetrics.getRegisteredFontNames():
                pdfmetrics.registerFont(TTFont(name, str(files / filename)))
        _fonts_ready.set()


# --- text helpers ------------------------------------------------------------------------------


@lru_cache(maxsize=4096)
def _reshape(text: str) -> str:
    return arabic_reshaper.reshape(text)


@lru_cache(maxsize=1024)
def shape_arabic(text: str) -> str:
    """Return one line of (possibly mixed) Arabic text shaped and in visual order (RTL base)."""
    return get_display(_reshape(text), base_dir="R")


def visual_runs(text: str) -> list[tuple[int, str]]:
    """Cut one line of (possibly mixed) Arabic into the runs it is displayed in, left to right.

    Each run: its first position in the text's logical order, and its characters shaped and
    in display order. Joined, the runs give `shape_arabic(text)`: the same algorithm, run
    step by step to keep each character's logical position.
    """
    storage = bidi_algorithm.get_empty_storage()
    storage["base_level"], storage["base_dir"] = 1, "R"
    bidi_algorithm.get_embedding_levels(_reshape(text), storage)
    for index, char in enumerate(storage["chars"]):
        char["index"] = index
    bidi_algorithm.explicit_embed_and_overrides(storage)
    bidi_algorithm.resolve_weak_types(storage)
    bidi_algorithm.resolve_neutral_types(storage, False)
    bidi_algorithm.resolve_implicit_levels(storage, False)
    bidi_algorithm.reorder_resolved_levels(storage, False)
    bidi_algorithm.apply_mirroring(storage, False)
    runs: list[tuple[int, int, int, list[str]]] = []  # first, last, step (±1, 0), chars
    for char in storage["chars"]:
        index = char["index"]
        if runs:
            first, last, step, chars = runs[-1]
            if (
                abs(index - last) == 1
                and step in (0, index - last)
                and not {"R", "L"} <= {_script(char["ch"]), *map(_script, chars)}
            ):
                runs[-1] = (first, index, index - last, [*chars, char["ch"]])
                continue
        runs.append((index, index, 0, [char["ch"]]))
    pieces = []
    for first, last, step, chars in runs:
        if step < 0 and not any(_script(c) == "R" for c in chars):
            # Right to left, but no Arabic letter in it (« · »): an extractor keeps such a
            # piece as it sees it; one character at a time, each comes out in its place.
            pieces += [(first - n, c) for n, c in enumerate(chars)]
        else:
            pieces.append((min(first, last), "".join(chars)))
    return pieces


def _script(char: str) -> str:
    """R (Arabic), N (spaces and common punctuation) or L (anything else, « » included).

    Runs are cut where this changes between R and L, so that a text extractor that reads
    right-to-left letters against everything else (pypdf does) finds each piece whole.
    """
    if _RTL.match(char):
        return "R"
    if char.isspace() or ("!" <= char <= "/" and char not in "0123456789"):
        return "N"
    if ":" <= char <= "@" or "\u2000" <= char <= "\u206f":
        return "N"
    return "L"


def draw_arabic(canvas: Canvas, x: float, y: float, text: str, *, align: str) -> None:
    """Draw a line of Arabic centred on x (align="centre") or ending at x ("right").

    It looks as `shape_arabic` lays it out, but goes into the file run by run in reading
    order, each run at its place: text taken from the PDF (copied, searched, read aloud)
    then comes out in logical order, Latin names and numbers where they belong.
    """
    font, size = canvas._fontname, canvas._fontsize
    runs = visual_runs(text)
    widths = [pdfmetrics.stringWidth(chars, font, size) for _, chars in runs]
    left = x - sum(widths) / 2 if align == "centre" else x - sum(widths)
    placed = []
    for (first, chars), width in zip(runs, widths, strict=True):
        placed.append((first, left, chars))
        left += width
    # One text object: each run placed with its own origin on the same baseline (a text
    # object per run would read as a line each).
    runs_in_order = canvas.beginText()
    runs_in_order.setFont(font, size)
    for _, at, chars in sorted(placed):
        runs_in_order.setTextOrigin(at, y)
        runs_in_order.textOut(chars)
    canvas.drawText(runs_in_order)


def _identity(text: str) -> str:
    return text


def wrap(text: str, font: str, size: float, width: float, *, arabic: bool = False) -> list[str]:
    """Split text into lines no wider than width, greedily, in logical order.

    Arabic words are measured shaped (presentation forms have their own widths); shaping
    never joins across a space, so a line's width is the sum of its words' and spaces'.
    """
    shape = _reshape if arabic else _identity
    space = pdfmetrics.stringWidth(" ", font, size)
    lines: list[str] = []
    current: list[str] = []
    current_width = 0.0
    for word in text.split(" "):
        if not word:
            continue
        word_width = pdfmetrics.stringWidth(shape(word), font, size)
        if current and current_width + space + word_width > width:
            lines.append(" ".join(current))
            current, current_width = [word], word_width
        else:
            current_width += (space if current else 0) + word_width
            current.append(word)
    if current:
        lines.append(" ".join(current))
    return lines


def arabic_lines(text: str, font: str, size: float, width: float) -> list[str]:
    """Wrap Arabic text to width and return its lines shaped and in visual order."""
    return [shape_arabic(line) for line in wrap(text, font, size, width, arabic=True)]


def fit_lines(
    text: str,
    font: str,
    size: float,
    width: float,
    *,
    arabic: bool = False,
    max_lines: int = 3,
    minimum: float = 8,
) -> tuple[float, list[str]]:
    """Wrap text in at most max_lines lines, lowering the font size (down to minimum) if need be.

    Long data (a long cohort name) then shrinks the paragraph instead of running into the
    next block; at the minimum size the lines are kept as they are, however many.
    """
    lines = wrap(text, font, size, width, arabic=arabic)
    while len(lines) > max_lines and size > minimum:
        size = max(minimum, size - 0.5)
        lines = wrap(text, font, size, width, arabic=arabic)
    return size, lines


# The holder's name: as large as it fits on one line, down to 14 pt; then on two lines
# (16 to 11 pt), then three (12 to 8 pt). A word longer than the column at 8 pt is cut.
NAME_SIZE = 22
NAME_STEPS = ((1, NAME_SIZE, 14), (2, 16, 11), (3, 12, 8))


def _width(line: str, font: str, size: float, arabic: bool) -> float:
    return pdfmetrics.stringWidth(_reshape(line) if arabic else line, font, size)


def _cut(word: str, font: str, size: float, width: float, arabic: bool) -> list[str]:
    """Split a word too long for the column into pieces that fit."""
    pieces, current = [], ""
    for ch in word:
        if current and _width(current + ch, font, size, arabic) > width:
            pieces.append(current)
            current = ""
        current += ch
    return [*pieces, current] if current else pieces


def fit_name(text: str, font: str, width: float, *, arabic: bool) -> tuple[float, list[str]]:
    """Return the font size and the lines (logical order) of a name within width."""
    for max_lines, largest, smallest in NAME_STEPS:
        size = float(largest)
        while size >= smallest:
            lines = wrap(text, font, size, width, arabic=arabic)
            if len(lines) <= max_lines and all(
                _width(line, font, size, arabic) <= width for line in lines
            ):
                return size, lines
            size -= 0.5
    size = float(NAME_STEPS[-1][2])
    words = [piece for word in text.split() for piece in _cut(word, font, size, width, arabic)]
    return size, wrap(" ".join(words), font, size, width, arabic=arabic)


def name_leading(size: float) -> float:
    return size * 1.15


def _fit(text: str, font: str, size: float, width: float, minimum: float) -> float:
    """Return the largest font size ≤ size (down to minimum) at which text fits width."""
    text_width = pdfmetrics.stringWidth(text, font, size)
    if text_width <= width:
        return size
    return max(minimum, size * width / text_width)


def date_fr(day: date) -> str:
    return format_date(day, "fr")


def date_ar(day: date) -> str:
    # The Moroccan month names, the same as on the pages (cohorts.dates).
    return format_date(day, "ar")


def _number(hours: Decimal) -> str:
    """126 → "126"; 126.50 → "126,5" (a decimal comma, in both languages)."""
    return format(hours.normalize(), "f").replace(".", ",")


def hours_fr(hours: Decimal) -> str:
    return f"{_number(hours)} heure" + ("s" if hours >= 2 else "")


def hours_ar(hours: Decimal) -> str:
    # With 3 to 10 (counting the last two digits) the counted noun is plural; otherwise singular.
    whole = hours == hours.to_integral()
    plural = whole and 3 <= int(hours) % 100 <= 10
    return f"{_number(hours)} " + ("ساعات" if plural else "ساعة")


# --- QR code -----------------------------------------------------------------------------------


def qr_matrix(value: str) -> list[list[bool]]:
    """Encode value once (error correction M, survives a crease or a smudge)."""
    code = qrencoder.QRCode(None, qrencoder.QRErrorCorrectLevel.M)
    code.addData(value)
    code.make()
    return [[bool(module) for module in row] for row in code.modules]


def _draw_qr(canvas: Canvas, modules: list[list[bool]], x: float, y: float, size: float) -> None:
    """Draw the dark modules as one filled path, each horizontal run one rectangle.

    (x, y) is the lower-left corner of the symbol including a 4-module quiet zone.
    """
    count = len(modules)
    quiet = 4
    module = size / (count + 2 * quiet)
    left = x + quiet * module
    top = y + size - quiet * module
    path = canvas.beginPath()
    for row_index, row in enumerate(modules):
        bottom = top - (row_index + 1) * module
        column = 0
        while column < count:
            if row[column]:
                start = column
                while column < count and row[column]:
                    column += 1
                path.rect(left + start * module, bottom, (column - start) * module, module)
            else:
                column += 1
    canvas.setFillColor(Color(0, 0, 0))
    canvas.drawPath(path, fill=1, stroke=0)


# --- the page ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Column:
    """One language's column: how to shape, wrap and align its text."""

    arabic: bool
    anchor: float  # left edge (French) or right edge (Arabic)

    @property
    def centre(self) -> float:
        return self.anchor + COLUMN_WIDTH / 2 if not self.arabic else self.anchor - COLUMN_WIDTH / 2

    def shape(self, text: str) -> str:
        # Text with no right-to-left letter (a Latin name or cohort) keeps its own direction,
        # like a cell with dir="auto": reordering it in an RTL line would misplace its brackets.
        return shape_arabic(text) if self.arabic and _RTL.search(text) else text

    def draw(self, canvas: Canvas, x: float, y: float, text: str, align: str) -> None:
        """Draw a line centred on x, or from x (French) / up to x (Arabic) for "edge"."""
        if self.arabic and _RTL.search(text):
            draw_arabic(canvas, x, y, text, align="centre" if align == "centre" else "right")
        elif align == "centre":
            canvas.drawCentredString(x, y, text)
        elif self.arabic:
            canvas.drawRightString(x, y, text)
        else:
            canvas.drawString(x, y, text)

    def centred(self, canvas: Canvas, y: float, text: str, font: str, size: float) -> None:
        canvas.setFont(font, size)
        self.draw(canvas, self.centre, y, text, "centre")

    def paragraph(
        self, canvas: Canvas, y: float, text: str, font: str, size: float, leading: float
    ) -> None:
        """Draw text wrapped and centred in at most three lines (smaller if need be)."""
        fitted, lines = fit_lines(text, font, size, COLUMN_WIDTH, arabic=self.arabic)
        canvas.setFont(font, fitted)
        for line in lines:
            self.draw(canvas, self.centre, y, line, "centre")
            y -= leading * fitted / size

    def name(self, canvas: Canvas, y: float, layout: tuple[float, list[str]]) -> None:
        """Draw the holder's name as fit_name laid it out, first line at y."""
        size, lines = layout
        canvas.setFont(FONT_BOLD, size)
        for line in lines:
            self.draw(canvas, self.centre, y, line, "centre")
            y -= name_leading(size)

    def fitted(
        self, canvas: Canvas, y: float, text: str, font: str, size: float, minimum: float
    ) -> None:
        shaped = self.shape(text)
        canvas.setFont(font, _fit(shaped, font, size, COLUMN_WIDTH, minimum))
        self.draw(canvas, self.centre, y, text, "centre")

    def rows(self, canvas: Canvas, y: float, rows: list[tuple[str, str]], leading: float) -> float:
        """Draw label / value rows, labels in grey and values in bold; return the next y.

        A value too long for one line (a long cohort name) wraps onto a second, smaller line.
        """
        label_width = 118
        value_width = COLUMN_WIDTH - label_width - 8
        if self.arabic:
            label_x, value_x = self.anchor - 8, self.anchor - 8 - label_width
        else:
            label_x, value_x = self.anchor + 8, self.anchor + 8 + label_width
        for label, value in rows:
            canvas.setFillColor(GREY)
            canvas.setFont(FONT, 10.5)
            self.draw(canvas, label_x, y, label, "edge")
            size, lines = 11.0, [value]
            if pdfmetrics.stringWidth(self.shape(value), FONT_BOLD, size) > value_width:
                size, lines = fit_lines(
                    value, FONT_BOLD, 10, value_width, arabic=self.arabic, max_lines=2, minimum=7
                )
            canvas.setFillColor(INK)
            canvas.setFont(FONT_BOLD, size)
            for line in lines:
                self.draw(canvas, value_x, y, line, "edge")
                y -= size + 1.5
            y -= leading - (size + 1.5)
        return y


def _glued(text: str) -> str:
    """Keep a date or a quantity on one line (wrapping splits at plain spaces only)."""
    return text.replace(" ", NBSP)


@dataclass(frozen=True)
class _Words:
    """The words of one column."""

    programme: str
    title: str
    intro: str
    name: str
    body: str
    rows: list[tuple[str, str]]
    partners: str

    def strings(self) -> list[str]:
        plain = [self.programme, self.title, self.intro, self.name, self.body, self.partners]
        return plain + [text for row in self.rows for text in row]


def _texts(data: CertificateData) -> dict[str, _Words]:
    """The words of the certificate, in French and in Arabic."""
    hours_fr_text = hours_fr(data.hours_attended)
    hours_ar_text = hours_ar(data.hours_attended)
    first_fr, last_fr = date_fr(data.first_session), date_fr(data.last_session)
    first_ar, last_ar = date_ar(data.first_session), date_ar(data.last_session)
    serial = data.serial
    serial_ar = data.serial
    cohort_ar = data.cohort_name_ar or data.cohort_name
    if data.version > 1:
        serial = f"{data.serial} · version {data.version}"
        serial_ar = f"{data.serial} · النسخة {data.version}"
    return {
        "fr": _Words(
            programme=f"CYCLE D’ÉTUDES «{NBSP}RÉGION 2021{NBSP}» · 2018–2021",
            title="Attestation de participation",
            intro=f"Le cycle d’études «{NBSP}Région 2021{NBSP}» atteste que",
            name=data.holder_name,
            body=(
                f"a suivi les sessions de formation de la «{NBSP}{data.cohort_name}{NBSP}», "
                f"du {_glued(first_fr)} au {_glued(last_fr)}, soit {_glued(hours_fr_text)} "
                "de formation."
            ),
            rows=[
                ("Région", data.region_fr),
                ("Promotion", data.cohort_name),
                ("Période", f"du {first_fr} au {last_fr}"),
                ("Heures suivies", hours_fr_text),
                ("Délivrée le", date_fr(data.issued_on)),
                ("N° de série", serial),
                ("Code de vérification", display(data.verification_code)),
            ],
            partners=(
                "Cycle piloté par la Région Occitanie avec l’Association des Régions du Maroc "
                "et Régions de France, financé par l’Agence française de développement, avec "
                "le soutien de la Direction générale des Collectivités locales (ministère de "
                "l’Intérieur du Royaume du Maroc)."
            ),
        ),
        "ar": _Words(
            programme="الدورة الدراسية «جهة 2021» · 2018–2021",
            title="شهادة المشاركة",
            intro="تشهد الدورة الدراسية «جهة 2021» بمشاركة",
            name=data.holder_name_ar or data.holder_name,
            body=(
                f"في دورات التكوين المنظمة لفائدة فوج «{cohort_ar}»، خلال الفترة "
                f"الممتدة من {_glued(first_ar)} إلى {_glued(last_ar)} "
                f"({_glued(hours_ar_text)} من التكوين)."
            ),
            rows=[
                ("الجهة", data.region_ar),
                ("الفوج", cohort_ar),
                ("الفترة", f"من {first_ar} إلى {last_ar}"),
                ("ساعات الحضور", hours_ar_text),
                ("تاريخ الإصدار", date_ar(data.issued_on)),
                ("الرقم التسلسلي", serial_ar),
                ("رمز التحقق", display(data.verification_code)),
            ],
            partners=(
                "دورة بقيادة جهة أوكسيتانيا، بشراكة مع جمعية جهات المغرب وجهات فرنسا، "
                "وبتمويل من الوكالة الفرنسية للتنمية، وبدعم من المديرية العامة للجماعات "
                "المحلية (وزارة الداخلية بالمملكة المغربية)."
            ),
        ),
    }


# Vertical positions (baselines, in points from the bottom of the page).
Y_PROGRAMME = PAGE_HEIGHT - 68
Y_TITLE = PAGE_HEIGHT - 110
Y_TITLE_RULE = Y_TITLE - 13
Y_INTRO = Y_TITLE - 40
Y_NAME = Y_INTRO - 31
Y_BODY = Y_NAME - 27
Y_ROWS_RULE = Y_BODY - 50
Y_DIVIDER_BOTTOM = 215
QR_SIZE = 86
QR_BOTTOM = 70
Y_SIGNATURE = 90


def _draw_frame(canvas: Canvas) -> None:
    canvas.setStrokeColor(NAVY)
    canvas.setLineWidth(2.2)
    canvas.rect(22, 22, PAGE_WIDTH - 44, PAGE_HEIGHT - 44, stroke=1, fill=0)
    canvas.setStrokeColor(GOLD)
    canvas.setLineWidth(0.7)
    canvas.rect(29, 29, PAGE_WIDTH - 58, PAGE_HEIGHT - 58, stroke=1, fill=0)
    middle = PAGE_WIDTH / 2
    canvas.setLineWidth(0.5)
    canvas.line(middle, Y_DIVIDER_BOTTOM, middle, PAGE_HEIGHT - 62)


def _name_layout(column: _Column, words: _Words) -> tuple[float, list[str]]:
    return fit_name(words.name, FONT_BOLD, COLUMN_WIDTH, arabic=column.arabic)


def _extra_height(layout: tuple[float, list[str]]) -> float:
    """How much lower than a one-line name the text below it starts."""
    size, lines = layout
    return (len(lines) - 1) * name_leading(size)


def _draw_column(
    canvas: Canvas,
    column: _Column,
    words: _Words,
    name: tuple[float, list[str]],
    shift: float,
) -> None:
    left, right = column.centre - COLUMN_WIDTH / 2, column.centre + COLUMN_WIDTH / 2
    canvas.setFillColor(NAVY)
    column.centred(canvas, Y_PROGRAMME, words.programme, FONT_BOLD, 10)
    column.fitted(canvas, Y_TITLE, words.title, FONT_BOLD, 27, 18)
    canvas.setStrokeColor(GOLD)
    canvas.setLineWidth(0.8)
    canvas.line(column.centre - 40, Y_TITLE_RULE, column.centre + 40, Y_TITLE_RULE)
    canvas.setFillColor(INK)
    column.centred(canvas, Y_INTRO, words.intro, FONT, 12.5)
    canvas.setFillColor(NAVY)
    column.name(canvas, Y_NAME, name)
    canvas.setFillColor(INK)
    column.paragraph(canvas, Y_BODY - shift, words.body, FONT, 12, 16.5)
    canvas.setStrokeColor(GOLD)
    canvas.setLineWidth(0.4)
    canvas.line(left, Y_ROWS_RULE - shift, right, Y_ROWS_RULE - shift)
    bottom = column.rows(canvas, Y_ROWS_RULE - shift - 16, words.rows, 15.5) + 6
    canvas.line(left, bottom, right, bottom)
    canvas.setFillColor(GREY)
    column.paragraph(canvas, bottom - 14, words.partners, FONT, 9, 11)


SIGNATURE_WIDTH = 190


def _signature_caption(
    canvas: Canvas, centre: float, y: float, text: str, font: str, size: float
) -> None:
    shaped = shape_arabic(text) if _RTL.search(text) else text
    canvas.setFont(font, _fit(shaped, font, size, SIGNATURE_WIDTH, 6))
    if _RTL.search(text):
        draw_arabic(canvas, centre, y, text, align="centre")
    else:
        canvas.drawCentredString(centre, y, text)


def _draw_signatures(canvas: Canvas, signatories: tuple[Signatory, ...]) -> None:
    """Each line with its signatory's name (bold) and title, in French then in Arabic."""
    centres = (LEFT_X + 100, RIGHT_X - 100)
    for centre, person in zip(centres, signatories, strict=False):
        canvas.setStrokeColor(GREY)
        canvas.setLineWidth(0.6)
        canvas.line(
            centre - SIGNATURE_WIDTH / 2, Y_SIGNATURE, centre + SIGNATURE_WIDTH / 2, Y_SIGNATURE
        )
        canvas.setFillColor(INK)
        captions = [
            (person.name_fr, FONT_BOLD, 9.5),
            (person.title_fr, FONT, 8.5),
            (person.name_ar, FONT_BOLD, 9.5),
            (person.title_ar, FONT, 8.5),
        ]
        y: float = Y_SIGNATURE - 12
        for text, font, size in captions:
            if text:
                _signature_caption(canvas, centre, y, text, font, size)
                y -= size + 3


def _draw_verification(canvas: Canvas, data: CertificateData) -> None:
    middle = PAGE_WIDTH / 2
    _draw_qr(canvas, qr_matrix(data.verification_url), middle - QR_SIZE / 2, QR_BOTTOM, QR_SIZE)
    canvas.setFillColor(INK)
    canvas.setFont(FONT_BOLD, 9)
    canvas.drawCentredString(middle, QR_BOTTOM - 8, display(data.verification_code))
    canvas.setFillColor(GREY)
    canvas.setFont(FONT, 7.5)
    canvas.drawRightString(middle - 5, QR_BOTTOM - 18, "Vérifier en ligne")
    canvas.drawCentredString(middle, QR_BOTTOM - 18, "·")
    online = "التحقق عبر الإنترنت"
    end = middle + 5 + pdfmetrics.stringWidth(shape_arabic(online), FONT, 7.5)
    draw_arabic(canvas, end, QR_BOTTOM - 18, online, align="right")
    url = data.verification_url
    canvas.setFont(FONT, _fit(url, FONT, 7, 230, 5))
    canvas.drawCentredString(middle, QR_BOTTOM - 27, url)


def render_certificate_pdf(data: CertificateData) -> bytes:
    """Return the certificate as one A4 landscape PDF page, French left and Arabic right."""
    register_fonts()
    buffer = io.BytesIO()
    canvas = Canvas(
        buffer,
        pagesize=(PAGE_WIDTH, PAGE_HEIGHT),
        invariant=1,
        pageCompression=1,
        initialFontName=FONT,
        lang="fr",
    )
    canvas.setTitle(f"Attestation de participation — {data.holder_name}")
    canvas.setAuthor(AUTHOR)
    canvas.setSubject(f"Attestation {data.serial}")
    # The verification page reads the code back from here when given the PDF alone.
    canvas.setKeywords(f"verification-code:{display(data.verification_code)}")
    canvas.setCreator(AUTHOR)
    texts = _texts(data)
    _draw_frame(canvas)
    french, arabic = _Column(arabic=False, anchor=LEFT_X), _Column(arabic=True, anchor=RIGHT_X)
    names = _name_layout(french, texts["fr"]), _name_layout(arabic, texts["ar"])
    # A name on several lines moves both columns' text down alike, keeping their rows level.
    shift = max(_extra_height(layout) for layout in names)
    _draw_column(canvas, french, texts["fr"], names[0], shift)
    _draw_column(canvas, arabic, texts["ar"], names[1], shift)
    _draw_signatures(canvas, data.signatories)
    _draw_verification(canvas, data)
    canvas.showPage()
    canvas.save()
    return buffer.getvalue()


__all__ = [
    "DEFAULT_SIGNATORIES",
    "CertificateData",
    "Signatory",
    "fit_name",
    "arabic_lines",
    "register_fonts",
    "render_certificate_pdf",
    "shape_arabic",
    "wrap",
]
