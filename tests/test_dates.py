"""Dates read the same everywhere: Moroccan month names in Arabic (pages, e-mails, admin,
PDFs) from one list, English dates day first with the month's name, one Arabic word for a
session."""

import datetime
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from django.utils import formats, translation

from certificates.pdf import date_ar, date_fr
from cohorts.dates import MONTHS, format_date

LOCALE = Path(__file__).resolve().parent.parent / "locale"


@pytest.mark.parametrize("month", range(1, 13))
def test_django_writes_the_moroccan_month_names_of_cohorts_dates(month):
    day = datetime.date(2026, month, 9)
    expected = MONTHS["ar"][month - 1]
    with translation.override("ar"):
        # F: full name, M/b: three letters, N: press style, E: the alternative form.
        for form in ("F", "M", "b", "N", "E"):
            assert formats.date_format(day, form) == expected, form
        assert formats.date_format(day, "DATE_FORMAT") == f"9 {expected} 2026"
        assert formats.date_format(day, "SHORT_DATE_FORMAT") == f"9 {expected} 2026"
    with translation.override("fr"):
        assert formats.date_format(day, "F") == MONTHS["fr"][month - 1]


def test_the_certificate_writes_its_dates_from_the_same_list():
    day = datetime.date(2026, 11, 30)
    assert date_ar(day) == format_date(day, "ar") == "30 نونبر 2026"
    assert date_fr(datetime.date(2026, 3, 1)) == "1er mars 2026"
    with translation.override("ar"):
        assert formats.date_format(day, "DATE_FORMAT") == date_ar(day)


def test_no_middle_eastern_month_name_is_left():
    day = datetime.date(2026, 1, 1)
    with translation.override("ar"):
        written = " ".join(
            formats.date_format(day.replace(month=m), "l j F Y, M N E") for m in range(1, 13)
        )
    for name in ("كانون", "تشرين", "مايو", "يوليو ", "أغسطس", "سبتمبر", "نوفمبر", "ديسمبر"):
        assert name not in written


def test_english_dates_put_the_day_first_with_the_month_named():
    moment = datetime.datetime(2026, 11, 30, 14, 5, tzinfo=datetime.UTC)
    with translation.override("en"):
        assert formats.date_format(moment, "DATE_FORMAT") == "30 November 2026"
        assert formats.date_format(moment, "SHORT_DATE_FORMAT") == "30 Nov 2026"
        assert formats.date_format(moment, "DATETIME_FORMAT") == "30 November 2026, 14:05"
        assert formats.date_format(moment, "SHORT_DATETIME_FORMAT") == "30 Nov 2026, 14:05"
    assert format_date(moment.date(), "en", short=True) == "30 Nov 2026"


def test_the_arabic_catalogue_has_one_word_for_a_session():
    """حصة (plural حصص), as the glossary at the top of the catalogue says; never جلسة."""
    with (LOCALE / "ar" / "LC_MESSAGES" / "django.po").open("rb") as handle:
        catalog = read_po(handle, locale="ar")
    found = []
    for message in catalog:
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        found += [s for s in strings if s and "جلس" in s]
    assert found == []
    with translation.override("ar"):
        assert "حص" in translation.gettext("Upcoming sessions")
