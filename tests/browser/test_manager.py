"""The attendance sheet in a real browser, on a phone: tap, "All present", note, save."""

import datetime
import re

from django.utils import timezone
from playwright.sync_api import expect

from cohorts.models import Attendance, Enrolment
from tests.browser.conftest import sign_in


def _tap(page, person, status):
    page.click(f"label[for='s-{person.pk}-{status}']")


def _no_horizontal_scroll(page):
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_manager_takes_the_roll_on_a_phone(open_page, world):
    session = world["running_sessions"][1]  # held 2 days ago, not marked yet
    amina, first, second, *rest = [world["trainee"], *world["others"]]
    page = open_page(phone=True, locale="en-GB")
    sign_in(page, "manager-rsk")
    page.goto(f"/manage/sessions/{session.pk}/attendance/")
    expect(page.locator("h1")).to_contain_text(session.title)
    expect(page.locator("fieldset.person")).to_have_count(8)
    expect(page.locator("#unset-count")).to_have_text("8")
    _no_horizontal_scroll(page)

    # The tap targets are big enough for a thumb.
    box = page.locator(f"label[for='s-{amina.pk}-late']").bounding_box()
    assert box["height"] >= 44

    _tap(page, amina, "late")
    _tap(page, first, "absent")
    _tap(page, second, "excused")
    expect(page.locator(f"#s-{amina.pk}-late")).to_be_checked()
    expect(page.locator("#unset-count")).to_have_text("5")

    page.click("#all-present")  # client-side: fills the gaps, saves nothing
    expect(page.locator("#unset-count")).to_have_text("0")
    expect(page.locator(f"#s-{first.pk}-absent")).to_be_checked()
    for person in rest:
        expect(page.locator(f"#s-{person.pk}-present")).to_be_checked()
    assert not Attendance.objects.filter(session=session).exists()

    page.click(f"#person-{second.pk} summary")
    page.fill(f"#note-{second.pk}", "Sick leave, certificate given")
    _no_horizontal_scroll(page)
    page.click("#save")

    expect(page.locator(".messages")).to_contain_text("Marks saved: 8")
    expect(page.locator("#last-recording")).to_contain_text("manager-rsk")
    marks = {a.participant_id: a for a in Attendance.objects.filter(session=session)}
    assert len(marks) == 8
    assert marks[amina.pk].status == "late"
    assert marks[first.pk].status == "absent"
    assert marks[second.pk].status == "excused"
    assert marks[second.pk].note == "Sick leave, certificate given"
    assert all(marks[p.pk].status == "present" for p in rest)
    assert all(a.recorded_by == world["manager"] for a in marks.values())
    # The saved marks come back pre-filled.
    expect(page.locator(f"#s-{first.pk}-absent")).to_be_checked()
    _no_horizontal_scroll(page)


def test_a_failed_save_says_why_and_saves_nothing(open_page, world):
    session = world["running_sessions"][1]
    leaver = world["others"][0]
    page = open_page(phone=True, locale="en-GB")
    sign_in(page, "manager-rsk")
    page.goto(f"/manage/sessions/{session.pk}/attendance/")
    _tap(page, world["trainee"], "late")
    page.click("#all-present")

    # Meanwhile, someone records that this person left the cohort before the session.
    Enrolment.objects.filter(participant=leaver, cohort=world["running"]).update(
        status=Enrolment.Status.WITHDRAWN,
        withdrawn_on=timezone.localdate() - datetime.timedelta(days=10),
    )
    page.click("#save")

    errors = page.locator("#sheet-errors")
    expect(errors).to_be_visible()
    expect(errors).to_have_attribute("role", "alert")
    expect(errors).to_contain_text("Nothing was saved")
    expect(errors).to_contain_text(re.compile(re.escape(leaver.last_name), re.IGNORECASE))
    assert not Attendance.objects.filter(session=session).exists()
    # The choices made are still there, to save again without the leaver.
    expect(page.locator(f"#s-{world['trainee'].pk}-late")).to_be_checked()
    expect(page.locator("fieldset.person")).to_have_count(7)
    page.click("#save")
    expect(page.locator(".messages")).to_contain_text("Marks saved: 7")
    assert Attendance.objects.filter(session=session).count() == 7


def test_future_session_shows_a_notice_and_no_save(open_page, world):
    session = world["running_sessions"][2]
    page = open_page(locale="en-GB")
    sign_in(page, "manager-rsk")
    page.goto(f"/manage/sessions/{session.pk}/attendance/")
    expect(page.locator("#sheet-closed")).to_contain_text("not started yet")
    expect(page.locator("#save")).to_have_count(0)


def test_managers_pages_fit_an_arabic_phone(open_page, world):
    page = open_page(phone=True, locale="ar-MA")
    sign_in(page, "manager-rsk")
    for url in [
        "/manage/",
        f"/manage/sessions/{world['running_sessions'][1].pk}/attendance/",
        f"/manage/cohorts/{world['running'].pk}/progress/",
    ]:
        page.goto(url)
        expect(page.locator("html")).to_have_attribute("dir", "rtl")
        _no_horizontal_scroll(page)
    # The flagged session on the home page links to its sheet.
    page.goto("/manage/")
    flagged = page.locator(f"li.flag[data-session='{world['running_sessions'][1].pk}'] a")
    flagged.click()
    expect(page).to_have_url(re.compile(rf"/manage/sessions/{world['running_sessions'][1].pk}/"))


def test_a_failed_message_is_shown_to_the_manager_on_an_arabic_phone(open_page, world, tmp_path):
    from cohorts.models import Notification

    person = world["others"][0]
    Notification.objects.create(
        key=f"invitation-demo:{person.pk}",
        kind=Notification.Kind.INVITATION,
        participant=person,
        status=Notification.Status.FAILED,
        attempts=3,
        address="a.very.long.address.that.does.not.exist@region-rabat-sale-kenitra.example.org",
        last_error="a.very.long.address.that.does.not.exist@region-rabat-sale-kenitra.example.org:"
        " 550 5.1.1 Recipient address rejected: User unknown in virtual mailbox table",
    )
    page = open_page(phone=True, locale="ar-MA")
    sign_in(page, "manager-rsk")
    page.goto("/manage/")
    panel = page.locator("#failed-messages")
    expect(panel).to_contain_text("550 5.1.1")
    expect(panel).to_contain_text(person.full_name)
    # Measured against the screen, not innerWidth (a phone widens its layout to fit).
    assert page.evaluate("document.documentElement.scrollWidth <= screen.width")
    page.screenshot(path=str(tmp_path / "failed-messages-ar-phone.png"), full_page=True)
    page.goto(f"/manage/cohorts/{world['running'].pk}/progress/")
    expect(
        page.locator(f"tr[data-participant='{person.pk}'] [data-col='message-failed']")
    ).to_have_count(1)
