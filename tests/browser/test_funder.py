"""The funders' dashboard in a real browser: tables, SVG charts, the PDF, Arabic."""

import re

from playwright.sync_api import expect

from tests.browser.conftest import sign_in


def _no_one_named(page, world):
    body = page.content()
    for person in [world["trainee"], *world["others"]]:
        assert person.last_name not in body
        assert person.email not in body


def test_a_funder_sees_tables_and_charts_and_downloads_the_pdf(open_page, world):
    page = open_page(locale="en-GB")
    sign_in(page, "funder-afd")
    page.goto("/dashboard/")
    expect(page.locator("h1")).to_have_text("Programme progress")
    expect(page.locator("#by-region tr[data-key='MA-04'] th")).to_have_text("Rabat-Salé-Kénitra")
    # 8 people in groups (region, year, sex, role) of fewer than 5: each group's counts
    # are published rounded to a multiple of 5 (reports.disclosure), so is their sum.
    expect(page.locator("#by-region tr[data-key='MA-04'] td[data-measure='people']")).to_have_text(
        re.compile(r"^\d*[05]$")
    )
    expect(page.locator("#by-year")).to_be_visible()
    expect(page.locator("#by-sex")).to_be_visible()
    expect(page.locator("#by-role")).to_be_visible()
    charts = page.locator("figure.chart svg")
    assert charts.count() >= 4
    for i in range(charts.count()):
        chart = charts.nth(i)
        expect(chart).to_be_visible()
        assert chart.get_attribute("role") == "img"
    # Bars drawn: at least one rectangle besides the clipping one in the enrolment chart.
    bars = page.locator("#chart-enrolled-region rect").count() - 1
    assert bars >= 1
    box = page.locator("#chart-enrolled-region").bounding_box()
    assert box["width"] > 200 and box["height"] > 40
    # The table over time arrives after the page, from its own page.
    expect(page.locator("#timeline-section[data-loaded='true'] table#timeline")).to_be_visible()
    expect(page.locator("#timeline tbody tr[data-key]").first).to_be_visible()
    _no_one_named(page, world)

    with page.expect_download() as info:
        page.click("#download-pdf")
    download = info.value
    with open(download.path(), "rb") as pdf:
        assert pdf.read(4) == b"%PDF"
    assert download.suggested_filename.endswith(".pdf")


def test_filters_work_without_javascript(open_page, world):
    page = open_page(locale="en-GB")
    sign_in(page, "funder-afd")
    page.goto("/dashboard/")
    page.select_option("#id_year", "2019")
    page.click("form.dash-filters button[type=submit]")
    expect(page).to_have_url(re.compile(r"year=2019"))
    expect(page.locator("#by-year tbody tr[data-key]")).to_have_count(1)
    expect(page.locator("#by-year tbody tr[data-key='2019']")).to_be_visible()


def test_on_a_phone_the_page_does_not_scroll_sideways(open_page, world):
    page = open_page(phone=True, locale="en-GB")
    sign_in(page, "manager-rsk")
    page.goto("/dashboard/")
    expect(page.locator("figure.chart svg").first).to_be_visible()
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"] + 1


def test_in_arabic_the_page_is_right_to_left_and_the_charts_render(open_page, world):
    page = open_page(locale="ar")
    sign_in(page, "funder-afd")
    page.goto("/dashboard/")
    expect(page.locator("html")).to_have_attribute("dir", "rtl")
    charts = page.locator("figure.chart svg")
    assert charts.count() >= 4
    expect(charts.first).to_be_visible()
    # Region names in Arabic, inside the chart too (the browser shapes them).
    label = page.locator("#chart-enrolled-region text[direction='rtl']").first
    assert re.search(r"[\u0600-\u06FF]", label.text_content())
    assert page.locator("#chart-enrolled-region rect").count() >= 2
    _no_one_named(page, world)
