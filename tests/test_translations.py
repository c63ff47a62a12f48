"""The French and Arabic catalogues are complete, and the site speaks them."""

import re
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from django.utils import translation

LOCALE = Path(__file__).resolve().parent.parent / "locale"
PLACEHOLDER = re.compile(r"%\(\w+\)s")


@pytest.mark.parametrize("language", ["fr", "ar"])
def test_every_message_is_translated_with_the_same_placeholders(language):
    with (LOCALE / language / "LC_MESSAGES" / "django.po").open("rb") as handle:
        catalog = read_po(handle, locale=language)
    problems = []
    for message in catalog:
        if not message.id:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        if message.fuzzy or not all(strings):
            problems.append(f"untranslated: {ids[0]!r}")
            continue
        expected = set(PLACEHOLDER.findall(ids[-1]))
        for string in strings:
            if set(PLACEHOLDER.findall(string)) - expected:
                problems.append(f"placeholders differ: {ids[0]!r} -> {string!r}")
    assert problems == []
    assert len(catalog) > 150


def test_the_compiled_catalogues_are_used():
    with translation.override("fr"):
        assert translation.gettext("Attendance sheet") == "Feuille de présence"
    with translation.override("ar"):
        assert translation.gettext("Attendance sheet") == "ورقة الحضور"
        assert translation.get_language_bidi()
