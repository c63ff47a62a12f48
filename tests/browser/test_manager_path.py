"""The managers' path on a phone, without the admin: from the home page to a past
session's roster, a correction, and the correction in the history; and the sheet's
errors in closed sections."""

from playwright.sync_api import expect

from cohorts.models import Attendance, AttendanceHistory
from tests.browser.conftest import sign_in


def _fits_the_screen(page):
    """No sideways scrolling: the document is no wider than the phone's screen (a mobile
    browser widens its layout viewport to fit wide content, so compare with the screen)."""
    assert page.evaluate("document.documentElement.scrollWidth <= screen.width")


def test_a_manager_corrects_a_past_roster_from_the_home_page(open_page, world):
    cohort, session = world["running"], world["running_sessions"][0]  # held 20 days ago
    person = world["others"][2]
    assert Attendance.objects.get(session=session, participant=person).status == "present"
    page = open_page(phone=True, locale="en-GB")
    sign_in(page, "manager-rsk")
    expect(page).to_have_url("/manage/")

    page.click(f"#cohort-{cohort.pk} a[data-link=sessions]")
    expect(page.locator("h1")).to_contain_text(cohort.name)
    row = page.locator(f"#sessions li[data-session='{session.pk}']")
    expect(row).to_have_attribute("data-state", "recorded")
    expect(row).to_contain_text("Recorded")
    expect(page.locator(f"#sessions li[data-session='{world['running_sessions'][1].pk}']"))\
        .to_have_attribute("data-state", "to_record")  # fmt: skip
    _fits_the_screen(page)
    row.get_by_role("link").click()

    expect(page.locator("h1")).to_contain_text(session.title)
    expect(page.locator(f"#s-{person.pk}-present")).to_be_checked()
    page.click(f"label[for='s-{person.pk}-excused']")
    page.click(f"#person-{person.pk} summary")
    page.fill(f"#note-{person.pk}", "Medical certificate brought later")
    page.click("#save")
    expect(page.locator(".messages")).to_contain_text("Marks saved")
    mark = Attendance.objects.get(session=session, participant=person)
    assert (mark.status, mark.recorded_by) == ("excused", world["manager"])

    page.click("#history-link")
    expect(page.locator("h1")).to_contain_text("History")
    latest = page.locator("#history li").first
    expect(latest).to_have_attribute("data-person", str(person.pk))
    expect(latest).to_contain_text("manager-rsk")
    expect(latest).to_contain_text("Present")
    expect(latest).to_contain_text("Excused")
    expect(latest).to_contain_text("Medical certificate brought later")
    _fits_the_screen(page)
    assert AttendanceHistory.objects.filter(session=session, participant=person).count() == 1
    assert "/admin/" not in page.url


def test_the_sessions_to_record_are_one_tap_from_the_home_page(open_page, world):
    page = open_page(phone=True, locale="en-GB")
    sign_in(page, "manager-rsk")
    page.click("#to-record-link")
    rows = page.locator("#sessions li")
    expect(rows).to_have_count(1)
    expect(rows.first).to_have_attribute("data-session", str(world["running_sessions"][1].pk))
    rows.first.get_by_role("link").click()
    expect(page.locator("h1")).to_contain_text(world["running_sessions"][1].title)


def test_wrong_minutes_in_a_closed_section_open_it_with_a_message(open_page, world):
    session = world["running_sessions"][1]
    person = world["others"][0]
    page = open_page(phone=True, locale="en-GB")
    sign_in(page, "manager-rsk")
    page.goto(f"/manage/sessions/{session.pk}/attendance/")
    page.click("#all-present")
    details = page.locator(f"#person-{person.pk} details")
    page.click(f"#person-{person.pk} summary")
    page.fill(f"#minutes-{person.pk}", "-5")
    page.click(f"#person-{person.pk} summary")  # closed again: the field is hidden
    expect(details).not_to_have_attribute("open", "")
    page.click("#save")

    expect(details).to_have_attribute("open", "")
    field = page.locator(f"#minutes-{person.pk}")
    expect(field).to_be_focused()
    expect(field).to_have_attribute("aria-invalid", "true")
    expect(page.locator(f"#error-{person.pk}")).to_have_text("Minutes attended cannot be negative.")
    summary = page.locator("#sheet-errors")
    expect(summary).to_be_visible()
    expect(summary).to_contain_text("Nothing was saved")
    expect(summary).to_contain_text("Minutes attended cannot be negative.")
    assert not Attendance.objects.filter(session=session).exists()

    # Too long says so, with the session's length; corrected, it saves.
    page.fill(f"#minutes-{person.pk}", "400")
    page.click("#save")
    expect(page.locator(f"#error-{person.pk}")).to_have_text(
        "400 minutes is longer than the session (360 min)."
    )
    page.fill(f"#minutes-{person.pk}", "300")
    page.click("#save")
    expect(page.locator(".messages")).to_contain_text("Marks saved: 8")
    assert Attendance.objects.get(session=session, participant=person).minutes_attended == 300
