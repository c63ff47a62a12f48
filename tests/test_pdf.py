"""The certificate PDF (certificates.pdf): real renders, read back with pypdf, poppler and zxing.

No database: `render_certificate_pdf` is a pure function of `CertificateData`.
"""

import dataclasses
import io
import shutil
import subprocess
from datetime import date
from decimal import Decimal

import arabic_reshaper
import pytest
import zxingcpp
from PIL import Image
from pypdf import PdfReader
from reportlab.pdfbase import pdfmetrics

from certificates.pdf import (
    FONT,
    FONT_BOLD,
    CertificateData,
    _texts,
    arabic_lines,
    date_fr,
    fit_lines,
    hours_ar,
    hours_fr,
    register_fonts,
    render_certificate_pdf,
    shape_arabic,
    wrap,
)

SAMPLE = CertificateData(
    serial="R2021-2019-MA04-00123",
    verification_code="7KQ2-M9XD-4HTA-WB3P-Z",
    verification_url="https://tracker.example/verify/7KQ2M9XD4HTAWB3PZ",
    holder_name="Amina BENALI",
    holder_name_ar="أمينة بنعلي",
    region_fr="Rabat-Salé-Kénitra",
    region_ar="جهة الرباط سلا القنيطرة",
    cohort_name="Promotion 2019 — Centre",
    year=2019,
    first_session=date(2019, 3, 12),
    last_session=date(2019, 12, 5),
    hours_attended=Decimal("126"),
    issued_on=date(2020, 1, 15),
)

PRESENTATION_FORMS = range(0xFE70, 0xFF00)


def is_presentation_form(character: str) -> bool:
    return ord(character) in PRESENTATION_FORMS


def text_of(pdf: bytes) -> str:
    """The page's text with runs of white space (line breaks, no-break spaces) as one space."""
    page = PdfReader(io.BytesIO(pdf)).pages[0]
    return " ".join(page.extract_text().split())


@pytest.fixture(scope="module")
def pdf() -> bytes:
    return render_certificate_pdf(SAMPLE)


def test_it_prints_the_fields_in_french(pdf):
    text = text_of(pdf)

    for expected in [
        "Attestation de participation",
        "Le cycle d’études « Région 2021 » atteste que",
        "Amina BENALI",
        "a suivi les sessions de formation de la « Promotion 2019 — Centre »",
        "du 12 mars 2019 au 5 décembre 2019, soit 126 heures de formation.",
        "Région Rabat-Salé-Kénitra",
        "Promotion Promotion 2019 — Centre",
        "Heures suivies 126 heures",
        "Délivrée le 15 janvier 2020",
        "N° de série R2021-2019-MA04-00123",
        "Code de vérification 7KQ2-M9XD-4HTA-WB3P-Z",
        "Le directeur du programme",
        "Pour l’Association des Régions du Maroc",
        SAMPLE.verification_url,
    ]:
        assert expected in text, expected
    for partner in [
        "Région Occitanie",
        "Association des Régions du Maroc",
        "Régions de France",
        "Agence française de développement",
        "Direction générale des Collectivités locales",
    ]:
        assert partner in text, partner
    assert "version" not in text


def test_it_prints_arabic_shaped_into_presentation_forms(pdf):
    text = text_of(pdf)

    assert sum(map(is_presentation_form, text)) > 300
    # pypdf turns right-to-left runs back into logical order: finding the shaped words in
    # logical order shows they were drawn shaped and in visual order.
    for words in ["شهادة المشاركة", "أمينة بنعلي", "جهة الرباط سلا القنيطرة", "جهة أوكسيتانيا",
                  "جمعية جهات المغرب", "الوكالة الفرنسية للتنمية",
                  "المديرية العامة للجماعات المحلية", "مدير البرنامج"]:  # fmt: skip
        assert arabic_reshaper.reshape(words) in text, words
    # No unshaped Arabic letters (U+0621–U+064A) reach the page.
    assert not [c for c in text if "\u0621" <= c <= "\u064a"]


def test_it_shows_the_latin_name_in_the_arabic_column_when_the_arabic_name_is_unknown():
    text = text_of(render_certificate_pdf(dataclasses.replace(SAMPLE, holder_name_ar="")))

    assert text.count("Amina BENALI") == 2


def test_its_metadata_name_the_programme_and_the_serial(pdf):
    metadata = PdfReader(io.BytesIO(pdf)).metadata

    assert metadata.author == "Cycle Région 2021"
    assert metadata.title == "Attestation de participation — Amina BENALI"
    assert "R2021-2019-MA04-00123" in metadata.subject


def test_it_embeds_subsets_of_amiri_and_no_other_font(pdf):
    page = PdfReader(io.BytesIO(pdf)).pages[0]
    fonts = [font.get_object() for font in page["/Resources"]["/Font"].values()]

    names = sorted(str(font["/BaseFont"]).split("+", 1)[1] for font in fonts)
    assert names == ["Amiri-Bold", "Amiri-Regular"]
    for font in fonts:
        assert str(font["/BaseFont"])[7] == "+"  # a subset: "/AAAAAA+Amiri-…"
        assert "/FontFile2" in font["/FontDescriptor"].get_object()


def test_its_qr_code_carries_exactly_the_verification_url(pdf, tmp_path):
    if shutil.which("pdftoppm") is None:
        pytest.skip("pdftoppm not found: apt-get install poppler-utils")
    (tmp_path / "certificate.pdf").write_bytes(pdf)
    subprocess.run(  # noqa: S603 - fixed arguments
        ["pdftoppm", "-r", "150", "-png", "-singlefile", "certificate.pdf", "page"],  # noqa: S607
        cwd=tmp_path,
        check=True,
    )

    barcodes = zxingcpp.read_barcodes(Image.open(tmp_path / "page.png"))

    assert [(b.format, b.text) for b in barcodes] == [
        (zxingcpp.BarcodeFormat.QRCode, SAMPLE.verification_url)
    ]


def test_the_same_data_gives_the_same_bytes_and_other_data_other_bytes(pdf):
    assert render_certificate_pdf(SAMPLE) == pdf
    for change in [{"serial": "R2021-2019-MA04-00124"}, {"hours_attended": Decimal(125)}]:
        assert render_certificate_pdf(dataclasses.replace(SAMPLE, **change)) != pdf


def test_a_reissue_prints_its_version_in_both_languages():
    reissue = render_certificate_pdf(dataclasses.replace(SAMPLE, version=2))
    text = text_of(reissue)

    assert "R2021-2019-MA04-00123 · version 2" in text
    assert arabic_reshaper.reshape("النسخة") in text


# --- shaping and wrapping -------------------------------------------------------------------


def test_shaping_joins_the_letters_and_puts_them_in_visual_order():
    shaped = shape_arabic("شهادة المشاركة")

    assert all(is_presentation_form(c) for c in shaped if c != " ")
    # Visual order, left to right: the last letter (final teh marbuta) comes first and the
    # first letter (initial sheen) last.
    assert shaped[0] == "\ufe94"
    assert shaped[-1] == "\ufeb7"
    assert shaped == arabic_reshaper.reshape("شهادة المشاركة")[::-1]


def test_shaping_mirrors_brackets_and_guillemets_and_keeps_numbers_left_to_right():
    word = arabic_reshaper.reshape("دورة")[::-1]

    assert shape_arabic("(دورة 2019)") == f"(2019 {word})"
    assert shape_arabic("«دورة 2019»") == f"«2019 {word}»"
    # A French name inside Arabic text stays left to right, its quotes mirrored around it.
    assert shape_arabic("فوج «Promotion 2019 — Centre»") == (
        f"«Promotion 2019 — Centre» {arabic_reshaper.reshape('فوج')[::-1]}"
    )


def test_a_long_arabic_sentence_wraps_into_lines_within_the_width():
    register_fonts()
    sentence = (
        "تشهد الدورة الدراسية «جهة 2021» بمشاركة المعنية بالأمر في دورات التكوين المنظمة "
        "لفائدة منتخبي وأطر مجالس الجهات الاثنتي عشرة للمملكة المغربية (126 ساعة من التكوين)."
    )

    logical = wrap(sentence, FONT, 12, 180, arabic=True)
    lines = arabic_lines(sentence, FONT, 12, 180)

    assert len(lines) >= 4
    assert " ".join(logical) == sentence
    for line in lines:
        assert pdfmetrics.stringWidth(line, FONT, 12) <= 180
    assert lines == [shape_arabic(line) for line in logical]


def test_every_character_drawn_has_a_glyph_in_amiri():
    register_fonts()
    missing = set()
    for language, words in _texts(dataclasses.replace(SAMPLE, version=3)).items():
        for string in words.strings():
            drawn = shape_arabic(string) if language == "ar" else string
            for font in (FONT, FONT_BOLD):
                face = pdfmetrics.getFont(font).face
                missing |= {c for c in drawn if ord(c) not in face.charToGlyph}
    assert missing == set()


def test_dates_and_hours_read_naturally():
    assert date_fr(date(2019, 3, 1)) == "1er mars 2019"
    assert hours_fr(Decimal("126.50")) == "126,5 heures"
    assert hours_fr(Decimal("1")) == "1 heure"
    assert hours_ar(Decimal("126")) == "126 ساعة"
    assert hours_ar(Decimal("8.00")) == "8 ساعات"
    assert hours_ar(Decimal("12.5")) == "12,5 ساعة"


def test_a_long_paragraph_gets_smaller_rather_than_longer_than_three_lines():
    register_fonts()
    cohort = (
        "Promotion 2020 — Sud, provinces sahariennes et régions de l’Oriental "
        "(session de rattrapage)"
    )
    words = _texts(dataclasses.replace(SAMPLE, cohort_name=cohort))

    for language in ("fr", "ar"):
        size, lines = fit_lines(words[language].body, FONT, 12, 300, arabic=language == "ar")
        assert size < 12
        assert len(lines) <= 3
