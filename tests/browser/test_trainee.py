"""The trainee's page in a real browser: progress, sessions, downloads, phone layout."""

import io
from pathlib import Path

from icalendar import Calendar
from playwright.sync_api import expect
from pypdf import PdfReader

from certificates.selectors import enrolments_progress
from cohorts.models import Enrolment
from tests.browser.conftest import sign_in


def _my_page(open_page, *, language: str = "en", phone: bool = False):
    """Amina signed in, on her page in the language asked for. Signing in switches to her
    preferred language (French), so the test picks its language with the site's switcher."""
    page = open_page(phone=phone, locale="en-GB" if language == "en" else "ar-MA")
    sign_in(page, "amina")
    page.click(f"button[data-lang={language}]")
    page.goto("/me/")
    expect(page.locator("html")).to_have_attribute("lang", language)
    return page


def _expected_percent(world) -> int:
    (row,) = enrolments_progress(
        Enrolment.objects.filter(participant=world["trainee"], cohort=world["running"])
    )
    rate = row.progress.rate
    return rate.numerator * 100 // rate.denominator


def test_trainee_sees_progress_and_upcoming_sessions(open_page, world):
    page = _my_page(open_page)
    expect(page.locator("h1")).to_have_text("My programme")
    running = page.locator(f"#cohort-{world['running'].pk}")
    bar = running.get_by_role("progressbar")
    expect(bar).to_have_attribute("aria-valuenow", str(_expected_percent(world)))
    expect(bar).to_have_attribute("aria-label", "Attendance rate toward the certificate")
    expect(bar).to_have_attribute("data-threshold", "80")
    expect(running.locator(".threshold-value")).to_have_text("80 %")
    expect(running.locator(".sessions-left")).to_have_text("2")
    # The two sessions to come, each with its calendar link.
    upcoming = running.locator(".sessions.upcoming > li")
    expect(upcoming).to_have_count(2)
    expect(upcoming.first).to_contain_text("Atelier 3")
    expect(upcoming.nth(1)).to_contain_text("Atelier 4")
    expect(upcoming.first.get_by_role("link", name="Add to calendar")).to_be_visible()
    # Attendance history: the marked session, and the one not recorded yet.
    history = running.locator("table.history tbody tr")
    expect(history).to_have_count(2)
    expect(history.first).to_contain_text("Not recorded")
    expect(history.nth(1)).to_contain_text("Present")
    # Nobody else's name on the page.
    for other in world["others"]:
        assert other.last_name not in page.content()


def test_trainee_downloads_her_certificate(open_page, world):
    certificate = world["certificate"]
    page = _my_page(open_page)
    block = page.locator(f"#cohort-{world['ended'].pk} .certificate-block")
    expect(block.locator(".serial")).to_have_text(certificate.serial)
    expect(block.locator(".code")).to_have_text(certificate.code_display)
    with page.expect_download() as download:
        block.get_by_role("link", name="Download the certificate (PDF)").click()
    assert download.value.suggested_filename == f"{certificate.serial}.pdf"
    body = Path(download.value.path()).read_bytes()
    assert body.startswith(b"%PDF")
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(body)).pages)
    assert certificate.serial in text


def test_trainee_downloads_a_session_calendar(open_page, world):
    session = world["running_sessions"][2]
    page = _my_page(open_page)
    with page.expect_download() as download:
        page.click(f"a[data-ics='{session.pk}']")
    calendar = Calendar.from_ical(Path(download.value.path()).read_bytes())
    (event,) = calendar.walk("VEVENT")
    assert str(event["SUMMARY"]) == f"{session.title} — {world['running'].name}"
    assert event.decoded("DTSTART") == session.starts_at.replace(microsecond=0)


def test_the_page_fits_a_phone_screen(open_page, world):
    for language in ("en", "ar"):
        page = _my_page(open_page, language=language, phone=True)
        expect(page.get_by_role("progressbar").first).to_be_visible()
        fits = page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        assert fits, language
    # The Arabic page names her in Arabic script, right to left.
    expect(page.locator("html")).to_have_attribute("dir", "rtl")
    expect(page.locator("#trainee-name")).to_have_text("أمينة التازي")
