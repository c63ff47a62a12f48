"""Month and weekday names, and dates written out, in the programme's three languages.

The one list of names: the certificate and report PDFs use `format_date` (no Django there);
the pages, e-mails and the admin format dates with Django (`|date`, `formats.date_format`),
whose month names come from the catalogues, and `locale/ar/LC_MESSAGES/django.po` gives
Django the Moroccan names below instead of its Middle-Eastern ones (a test checks Django's
output against these lists, month by month, form by form). The formats themselves (day
first, no US 11/30/2026 in English) are in `cycle2021/formats/`.

Arabic: the month names used in Morocco's official documents (Bulletin officiel, DGCL) —
يناير … ماي، يوليوز، غشت، شتنبر، نونبر، دجنبر — not مايو/أغسطس nor كانون/تشرين.
"""

from __future__ import annotations

from datetime import date

MONTHS: dict[str, tuple[str, ...]] = {
    "fr": ("janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août",
           "septembre", "octobre", "novembre", "décembre"),
    "ar": ("يناير", "فبراير", "مارس", "أبريل", "ماي", "يونيو", "يوليوز", "غشت", "شتنبر",
           "أكتوبر", "نونبر", "دجنبر"),
    "en": ("January", "February", "March", "April", "May", "June", "July", "August",
           "September", "October", "November", "December"),
}  # fmt: skip
# Short forms, where a page is short of room (Arabic month names are not abbreviated).
MONTHS_SHORT: dict[str, tuple[str, ...]] = {
    "fr": ("janv.", "févr.", "mars", "avr.", "mai", "juin", "juil.", "août", "sept.", "oct.",
           "nov.", "déc."),
    "ar": MONTHS["ar"],
    "en": ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"),
}  # fmt: skip
MONTHS_AR = MONTHS["ar"]
MONTHS_FR = MONTHS["fr"]


def format_date(day: date, language: str, *, short: bool = False) -> str:
    """Write a date out, day first: "1er mars 2026", "1 مارس 2026", "1 Mar 2026"."""
    language = language.split("-")[0] if language else "fr"
    names = (MONTHS_SHORT if short else MONTHS).get(language, MONTHS["fr"])
    number = "1er" if language == "fr" and day.day == 1 else str(day.day)
    return f"{number} {names[day.month - 1]} {day.year}"
