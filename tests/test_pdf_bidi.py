"""The certificate's Arabic lines come out of the PDF in reading order.

The page shows each line as the bidirectional algorithm lays it out; the file holds its
runs in logical order, each drawn at its place (certificates.pdf.draw_arabic), so text
taken from the PDF (pypdf here, after NFKC folds the shaped letters back) reads as written:
Latin names, dates and numbers where they belong in the Arabic sentence.
"""

import io
import re
import unicodedata

from pypdf import PdfReader
from reportlab.pdfgen.canvas import Canvas

from certificates.pdf import (
    FONT,
    draw_arabic,
    register_fonts,
    render_certificate_pdf,
    shape_arabic,
    visual_runs,
)
from tests.test_pdf import SAMPLE

TOKEN = re.compile(r"[\u0600-\u06ff]+|[A-Za-zÀ-ÿ]+|\d+")


def tokens(text: str) -> list[str]:
    """Words and numbers, in order (whatever the spacing an extractor puts between runs)."""
    return TOKEN.findall(unicodedata.normalize("NFKC", text))


def lines_of(pdf: bytes) -> list[list[str]]:
    text = PdfReader(io.BytesIO(pdf)).pages[0].extract_text()
    return [tokens(line) for line in text.splitlines()]


def holds(line: list[str], expected: list[str]) -> bool:
    return any(line[i : i + len(expected)] == expected for i in range(len(line)))


def test_each_arabic_line_of_the_certificate_reads_in_logical_order():
    lines = lines_of(render_certificate_pdf(SAMPLE))
    for written in [
        "الدورة الدراسية «جهة 2021» · 2018–2021",
        "تشهد الدورة الدراسية «جهة 2021» بمشاركة",
        "لفائدة فوج «Promotion 2019 — Centre»، خلال",
        "من 12 مارس 2019 إلى 5 دجنبر 2019",
        "تاريخ الإصدار",
        "15 يناير 2020",
        "126 ساعة",
        "الرقم التسلسلي R2021-2019-MA04-00123",
    ]:
        expected = tokens(written)
        assert any(holds(line, expected) for line in lines), (written, lines)


def test_a_line_written_in_display_order_would_not():
    """The check fails on what the certificate did before: whole lines in display order."""
    written = "من 12 مارس 2019 إلى 5 دجنبر 2019"
    register_fonts()
    before, after = io.BytesIO(), io.BytesIO()
    for buffer, draw in (
        (before, lambda c: c.drawRightString(500, 700, shape_arabic(written))),
        (after, lambda c: draw_arabic(c, 500, 700, written, align="right")),
    ):
        canvas = Canvas(buffer)
        canvas.setFont(FONT, 12)
        draw(canvas)
        canvas.showPage()
        canvas.save()
    assert not any(holds(line, tokens(written)) for line in lines_of(before.getvalue()))
    assert any(holds(line, tokens(written)) for line in lines_of(after.getvalue()))


def test_the_runs_look_as_the_whole_line_did():
    for text in ["من 12 مارس 2019 إلى 5 دجنبر 2019", "فوج «Promotion 2019 — Centre»، خلال"]:
        assert "".join(chars for _, chars in visual_runs(text)) == shape_arabic(text)
