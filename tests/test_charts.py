"""Bar charts as ReportLab drawings, for pages (SVG) and PDFs: bars, gaps, Arabic."""

import re

import pytest
from reportlab.graphics.shapes import Rect, String

from certificates.pdf import shape_arabic
from reports.charts import MISSING, bar_chart, svg_markup

PRESENTATION_FORMS = re.compile("[\ufb50-\ufdff\ufe70-\ufeff]")


def _shapes(node, kind):
    for child in getattr(node, "contents", []):
        if isinstance(child, kind):
            yield child
        yield from _shapes(child, kind)


def _bars_in_svg(svg: str) -> int:
    # The clipping rectangle is the only one outside the drawing's group.
    return svg.split('-group"', 1)[1].count("<rect")


@pytest.mark.parametrize("vertical", [False, True])
def test_one_bar_per_value_and_none_for_a_withheld_one(vertical):
    drawing = bar_chart("Enrolment", ["A", "B", "C"], [8, None, 3], vertical=vertical)
    assert len(list(_shapes(drawing, Rect))) == 2
    texts = [s.text for s in _shapes(drawing, String)]
    assert MISSING in texts and "8" in texts and "3" in texts and "Enrolment" in texts
    svg = svg_markup(drawing, chart_id="c", title="Enrolment")
    assert _bars_in_svg(svg) == 2
    assert svg.count(MISSING) == 1


def test_a_zero_is_a_value_not_a_gap():
    drawing = bar_chart("Certificates", ["2019", "2020"], [0, 4])
    assert len(list(_shapes(drawing, Rect))) == 2
    assert MISSING not in [s.text for s in _shapes(drawing, String)]


def test_bar_lengths_are_proportional_and_rates_scale_to_100_percent():
    drawing = bar_chart("Counts", ["A", "B"], [10, 5])
    long, short = (r.width for r in _shapes(drawing, Rect))
    assert long == pytest.approx(2 * short)
    rates = bar_chart("Rates", ["A", "B"], [1.0, 0.5], percent=True, threshold=0.8)
    full, half = (r.width for r in _shapes(rates, Rect))
    assert full == pytest.approx(2 * half)
    assert "100%" in [s.text for s in _shapes(rates, String)]


def test_labels_must_match_values():
    with pytest.raises(ValueError):
        bar_chart("x", ["A"], [1, 2])


def test_right_to_left_mirrors_the_bars():
    ltr = bar_chart("x", ["A"], [5])
    rtl = bar_chart("x", ["A"], [5], rtl=True)
    (bar_ltr,) = _shapes(ltr, Rect)
    (bar_rtl,) = _shapes(rtl, Rect)
    assert bar_rtl.x + bar_rtl.width == pytest.approx(ltr.width - bar_ltr.x)


def test_arabic_is_shaped_for_the_pdf_only():
    label = "جهة الرباط سلا القنيطرة"
    for_pdf = bar_chart("الحضور", [label], [0.5], percent=True, text=shape_arabic, rtl=True)
    pdf_texts = [s.text for s in _shapes(for_pdf, String)]
    assert shape_arabic(label) in pdf_texts
    assert PRESENTATION_FORMS.search(shape_arabic("الحضور"))
    assert shape_arabic("الحضور") in pdf_texts
    assert label not in pdf_texts

    svg = svg_markup(
        bar_chart("الحضور", [label], [0.5], percent=True, rtl=True), chart_id="a", title="الحضور"
    )
    assert label in svg
    assert not PRESENTATION_FORMS.search(svg)
    # The browser anchors right-to-left text in its own direction.
    assert 'direction="rtl"' in svg


def test_svg_is_inline_accessible_and_unique_per_chart():
    drawing = bar_chart("Enrolment & co", ["A"], [1])
    one = svg_markup(drawing, chart_id="one", title="Enrolment & co")
    two = svg_markup(drawing, chart_id="two", title="Enrolment & co")
    assert one.startswith("<svg") and "<?xml" not in one and "DOCTYPE" not in one
    assert 'role="img"' in one and 'aria-labelledby="one-title"' in one
    assert '<title id="one-title">Enrolment &amp; co</title>' in one
    assert 'id="one-clip"' in one and "url(#one-clip)" in one and 'id="clip"' not in one
    assert set(re.findall(r'id="([^"]+)"', one)).isdisjoint(re.findall(r'id="([^"]+)"', two))
    # The drawing itself is left as it was (it may go into a PDF next).
    assert all(s.textAnchor in ("start", "end", "middle") for s in _shapes(drawing, String))
    assert not any(getattr(s, "_svgAttrs", None) for s in _shapes(drawing, String))
