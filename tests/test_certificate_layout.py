"""Long names stay inside their half of the certificate, and the signatories are printed.

Text positions are read back from the PDF (pypdf's visitor: each string drawn, its text
matrix and font), and each string's extent measured with the font's own metrics.
"""

import datetime
import io
from decimal import Decimal

import pytest
from pypdf import PdfReader
from reportlab.pdfbase import pdfmetrics

from certificates.pdf import (
    PAGE_WIDTH,
    Y_SIGNATURE,
    CertificateData,
    Signatory,
    register_fonts,
    render_certificate_pdf,
)
from cohorts.demo import FAMILY_NAMES, FEMALE_FIRST_NAMES, MALE_FIRST_NAMES
from cohorts.models import Participant

MIDDLE = PAGE_WIDTH / 2
GAP = 4  # points kept clear on each side of the centre line

NAME_120 = (
    "Mohammed-Abdelkrim Sidi Ahmed Ben Abdeslam Ould Cheikh Mohamed Lamine El Idrissi "
    "El Alaoui BENKIRANE-TAHIRI DE LA ROCHES"
)
NAME_120_AR = (
    "محمد عبد الكريم سيدي أحمد بن عبد السلام ولد الشيخ محمد الأمين الإدريسي العلوي "
    "بنكيران الطاهري دو لا روش عبد الرحمن"
)
FIRST_MAX = Participant._meta.get_field("first_name").max_length
LAST_MAX = Participant._meta.get_field("last_name").max_length


def _longest(names, index, font="Amiri-Bold"):
    register_fonts()
    return max((n[index] for n in names), key=lambda s: pdfmetrics.stringWidth(s, font, 22))


def _demo_longest() -> tuple[str, str]:
    first_names = FEMALE_FIRST_NAMES + MALE_FIRST_NAMES
    latin = f"{_longest(first_names, 0)} {_longest(FAMILY_NAMES, 0).upper()}"
    arabic = f"{_longest(first_names, 1)} {_longest(FAMILY_NAMES, 1)}"
    return latin, arabic


def _words_to(length: int, words: str) -> str:
    """Words repeated to exactly length characters (no space at either end)."""
    text = " ".join([words] * length)[:length]
    return text[:-1] + words[0] if text.endswith(" ") else text


def _maximum() -> tuple[str, str]:
    """First and last names at the model's maximum length, in both scripts."""
    first, last = _words_to(FIRST_MAX, "Abdelkrim-Mohammed Sidi"), _words_to(LAST_MAX, "El-Alaoui")
    latin = f"{first} {last.upper()}"
    arabic = f"{_words_to(FIRST_MAX, 'عبد الكريم محمد')} {_words_to(LAST_MAX, 'بنكيران العلوي')}"
    return latin, arabic


def _data(name: str, name_ar: str, **extra) -> CertificateData:
    code = "7KQ2M9XD4HTAWB3PZ"
    return CertificateData(
        serial="R2021-2019-MA04-00123",
        verification_code=code,
        verification_url=f"https://tracker.example/verify/{code}",
        holder_name=name,
        holder_name_ar=name_ar,
        region_fr="Rabat-Salé-Kénitra",
        region_ar="الرباط - سلا - القنيطرة",
        cohort_name="Promotion 2019 — Centre",
        year=2019,
        first_session=datetime.date(2019, 3, 12),
        last_session=datetime.date(2019, 12, 5),
        hours_attended=Decimal("126.00"),
        issued_on=datetime.date(2020, 1, 15),
        **extra,
    )


def _strings(pdf: bytes) -> list[dict]:
    """Every string drawn: its text, left and right edges, baseline, font and size."""
    drawn = []

    def visit(text, cm, tm, font, size):
        text = text.strip("\n")
        if not text.strip() or font is None:
            return
        name = str(font["/BaseFont"]).split("+", 1)[-1]
        name = {"Amiri-Regular": "Amiri"}.get(name, name)  # as registered
        x, y = tm[4] * cm[0] + cm[4], tm[5] * cm[3] + cm[5]
        width = pdfmetrics.stringWidth(text, name, size)
        drawn.append(
            {"text": text, "left": x, "right": x + width, "y": y, "font": name, "size": size}
        )

    PdfReader(io.BytesIO(pdf)).pages[0].extract_text(visitor_text=visit)
    return drawn


def _name_lines(drawn, font="Amiri-Bold"):
    """The holder's name: the bold lines between the introduction and the body."""
    intro = next(s for s in drawn if s["text"].startswith("Le cycle d’études"))
    body = next(s for s in drawn if s["text"].startswith("a suivi les sessions"))
    return [
        s
        for s in drawn
        if body["y"] < s["y"] < intro["y"] and s["font"] == font and s["right"] < MIDDLE
    ]


CASES = {
    "demo's longest": _demo_longest(),
    "120 characters": (NAME_120, NAME_120_AR),
    "model's maximum": _maximum(),
}


def test_the_names_are_what_they_say():
    assert len(NAME_120) == 120
    latin, arabic = _maximum()
    assert len(latin) == FIRST_MAX + 1 + LAST_MAX and len(arabic) == FIRST_MAX + 1 + LAST_MAX


@pytest.mark.parametrize("case", CASES)
def test_every_line_stays_inside_its_half(case):
    name, name_ar = CASES[case]
    drawn = _strings(render_certificate_pdf(_data(name, name_ar)))
    columns = [s for s in drawn if s["y"] > Y_SIGNATURE]  # the centre's code and link below
    assert columns
    for s in columns:
        if s["left"] < MIDDLE:
            assert s["right"] <= MIDDLE - GAP, (case, s)
        else:
            assert s["left"] >= MIDDLE + GAP, (case, s)
    lines = _name_lines(drawn)
    # The French half shows the whole name, in order, shrunk and wrapped as needed.
    assert " ".join(s["text"] for s in lines).split() == name.split()
    assert all(s["right"] <= MIDDLE - GAP for s in lines)
    assert all(8 <= s["size"] <= 22 for s in lines)
    # The Arabic half holds the Arabic name's lines, on the right of the centre line.
    arabic = [s for s in drawn if s["left"] >= MIDDLE and s["font"] == "Amiri-Bold"]
    arabic = [s for s in arabic if lines[-1]["y"] - 40 < s["y"] <= lines[0]["y"] + 1]
    assert arabic and all(s["left"] >= MIDDLE + GAP for s in arabic)


def test_a_short_name_keeps_its_large_single_line():
    lines = _name_lines(_strings(render_certificate_pdf(_data("Amina BENALI", "أمينة بنعلي"))))
    assert [(s["text"], s["size"]) for s in lines] == [("Amina BENALI", 22)]


def test_a_long_name_shrinks_before_it_wraps():
    lines = _name_lines(_strings(render_certificate_pdf(_data(*CASES["demo's longest"]))))
    assert len(lines) == 1 and 14 <= lines[0]["size"] <= 22
    lines = _name_lines(_strings(render_certificate_pdf(_data(NAME_120, NAME_120_AR))))
    assert 2 <= len(lines) <= 3 and lines[0]["size"] < 14


def test_the_rows_below_a_wrapped_name_stay_level_in_both_halves():
    drawn = _strings(render_certificate_pdf(_data(NAME_120, "أمينة بنعلي")))
    french = next(s for s in drawn if s["text"] == "Région")
    arabic = next(s for s in drawn if s["left"] > MIDDLE and s["text"].strip() == "ﺍﻟﺠﻬﺔ")
    assert french["y"] == pytest.approx(arabic["y"])


def test_the_signatories_are_printed_on_their_lines_in_both_languages():
    signatories = (
        Signatory("Karima Benyaïch", "Directrice du programme", "كريمة بنيعيش", "مديرة البرنامج"),
        Signatory(
            "Mustapha Bakkoury",
            "Président de l’Association des Régions du Maroc",
            "مصطفى الباكوري",
            "رئيس جمعية جهات المغرب",
        ),
    )
    pdf = render_certificate_pdf(_data("Amina BENALI", "أمينة بنعلي", signatories=signatories))
    below = [s for s in _strings(pdf) if s["y"] < Y_SIGNATURE]
    left = [s for s in below if s["right"] < MIDDLE - 50]
    right = [s for s in below if s["left"] > MIDDLE + 50]
    assert [s["text"] for s in left][:2] == ["Karima Benyaïch", "Directrice du programme"]
    assert [s["text"] for s in right][:2] == [
        "Mustapha Bakkoury",
        "Président de l’Association des Régions du Maroc",
    ]
    assert len(left) == 4 and len(right) == 4  # and the Arabic name and title under each
    text = PdfReader(io.BytesIO(pdf)).pages[0].extract_text()
    for word in ("ﻛﺮﻳﻤﺔ", "ﺍﻟﺒﺎﻛﻮﺭﻱ"):
        assert word in text
