"""The trainee's pages: "My programme", session calendars and the certificate download."""

import datetime
import re
from decimal import Decimal

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from icalendar import Calendar

from certificates.models import Certificate
from certificates.services import certificate_issue, certificate_revoke
from cohorts.models import Attendance, Enrolment, FunderProfile, Organisation
from tests.factories import (
    AttendanceFactory,
    CohortFactory,
    EnrolmentFactory,
    ParticipantFactory,
    SessionFactory,
    UserFactory,
    manager,
)

pytestmark = pytest.mark.django_db

EN = {"HTTP_ACCEPT_LANGUAGE": "en"}


def _sessions(cohort, offsets, now):
    return [
        SessionFactory(
            cohort=cohort,
            title=f"Atelier {i + 1}",
            starts_at=now + datetime.timedelta(days=days),
            ends_at=now + datetime.timedelta(days=days, hours=6),
            planned_hours=Decimal("6.00"),
        )
        for i, days in enumerate(offsets)
    ]


@pytest.fixture
def world():
    """Amina holds a certificate for a 2019 cohort and follows a running 2021 one; Karim,
    another trainee, is in the running cohort and a cohort of his own."""
    now = timezone.now()
    user = UserFactory(username="amina")
    amina = ParticipantFactory(
        first_name="Amina", last_name="TAZI", first_name_ar="أمينة", last_name_ar="التازي",
        user=user,
    )  # fmt: skip
    ended = CohortFactory(code="2019-rsk", name="Promotion 2019", year=2019)
    ended_sessions = [
        SessionFactory(
            cohort=ended,
            title=f"Module {i + 1}",
            starts_at=datetime.datetime(2019, 3 + i, 12, 9, tzinfo=datetime.UTC),
            ends_at=datetime.datetime(2019, 3 + i, 12, 16, tzinfo=datetime.UTC),
        )
        for i in range(4)
    ]
    EnrolmentFactory(participant=amina, cohort=ended)
    for session in ended_sessions:
        AttendanceFactory(session=session, participant=amina)
    certificate = certificate_issue(participant=amina, cohort=ended, notify=False)

    running = CohortFactory(code="2021-rsk", name="Promotion 2021", year=2021)
    sessions = _sessions(running, [-20, -10, -2, 5, 30], now)
    karim_user = UserFactory(username="karim")
    karim = ParticipantFactory(first_name="Karim", last_name="BENNANI", user=karim_user)
    for person in (amina, karim):
        EnrolmentFactory(participant=person, cohort=running, enrolled_on=datetime.date(2021, 1, 1))
    AttendanceFactory(session=sessions[0], participant=amina, status=Attendance.Status.PRESENT)
    AttendanceFactory(session=sessions[1], participant=amina, status=Attendance.Status.LATE)
    AttendanceFactory(session=sessions[0], participant=karim, status=Attendance.Status.ABSENT)
    # A cancelled upcoming session.
    cancelled = SessionFactory(
        cohort=running,
        title="Atelier annulé",
        starts_at=now + datetime.timedelta(days=12),
        ends_at=now + datetime.timedelta(days=12, hours=3),
        cancelled_at=now,
    )

    theirs = CohortFactory(code="2021-oriental", name="Promotion Oriental", year=2021)
    their_session = _sessions(theirs, [3], now)[0]
    EnrolmentFactory(participant=karim, cohort=theirs, enrolled_on=datetime.date(2021, 1, 1))
    return {
        "amina": amina,
        "user": user,
        "karim": karim,
        "karim_user": karim_user,
        "certificate": certificate,
        "ended": ended,
        "running": running,
        "sessions": sessions,
        "cancelled": cancelled,
        "their_session": their_session,
    }


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _urls(world) -> list[str]:
    return [
        "/me/",
        "/me/calendar.ics",
        f"/me/sessions/{world['sessions'][0].pk}/calendar.ics",
        f"/me/certificates/{world['certificate'].pk}/pdf",
    ]


def test_anonymous_visitors_are_sent_to_sign_in(world):
    for url in _urls(world):
        response = Client().get(url)
        assert response.status_code == 302
        assert response["Location"] == f"/login/?next={url}"


def test_managers_and_funders_are_refused(world):
    funder = UserFactory(username="funder-afd")
    FunderProfile.objects.create(
        user=funder, organisation=Organisation.objects.get(short_name="AFD")
    )
    for user in (manager("manager-rsk", regions=["MA-04"]), funder):
        client = _client(user)
        for url in _urls(world):
            assert client.get(url).status_code == 403, (user.username, url)


def test_home_shows_each_cohort_newest_first_with_progress(world):
    response = _client(world["user"]).get("/me/", **EN)
    assert response.status_code == 200
    html = response.content.decode()
    assert html.index('data-cohort="2021-rsk"') < html.index('data-cohort="2019-rsk"')
    assert "Amina TAZI" in html
    # The running cohort: 2 marks attended (late counts) and 1 held session nobody
    # recorded, so 2 of 3; 2 to come (the cancelled one counts for nobody).
    running = _section(html, world["running"])
    assert 'role="progressbar"' in running
    assert 'aria-valuenow="66"' in running
    assert 'aria-valuemin="0"' in running and 'aria-valuemax="100"' in running
    assert 'data-threshold="80"' in running
    assert re.search(r'class="sessions-left">2<', running)
    assert re.search(r'class="not-recorded">1<', running)
    assert 'data-state="reachable"' in running
    assert "(2 of 3 sessions counted)" in running
    assert "1 session held has not been recorded yet" in running
    # The ended cohort's certificate is obtained.
    assert 'data-state="obtained"' in _section(html, world["ended"])


def test_home_lists_upcoming_sessions_and_attendance_history(world):
    html = _client(world["user"]).get("/me/", **EN).content.decode()
    running = _section(html, world["running"])
    s = world["sessions"]
    upcoming = running[running.index('class="sessions upcoming"') :]
    for session in s[3:]:
        assert f'href="/me/sessions/{session.pk}/calendar.ics"' in upcoming
    # The cancelled session says so and offers no calendar link.
    cancelled = world["cancelled"]
    item = re.search(rf'data-session="{cancelled.pk}".*?</li>', upcoming, re.S).group(0)
    assert "Cancelled" in item
    assert "calendar.ics" not in item
    # Attendance history, most recent first, with the trainee's own marks in words.
    marks = re.findall(r'<tr data-session="(\d+)" data-mark="(\w*)">', running)
    assert marks == [(str(s[2].pk), ""), (str(s[1].pk), "late"), (str(s[0].pk), "present")]
    assert "Not recorded" in running and "Late" in running and "Present" in running
    # Karim's mark and name are nowhere.
    assert "Absent" not in running
    assert "BENNANI" not in html


def test_times_are_shown_in_local_time(world):
    session = world["sessions"][3]
    html = _client(world["user"]).get("/me/", **EN).content.decode()
    local = timezone.localtime(session.starts_at)  # Africa/Casablanca
    assert str(local.tzinfo) == "Africa/Casablanca"
    item = re.search(rf'data-session="{session.pk}".*?</li>', html, re.S).group(0)
    assert f"{local:%H:%M}–{timezone.localtime(session.ends_at):%H:%M}" in item


def test_an_online_session_gives_its_link_instead_of_a_place(world):
    now = timezone.now()
    session = SessionFactory(
        cohort=world["running"],
        title="Webinaire",
        starts_at=now + datetime.timedelta(days=8),
        ends_at=now + datetime.timedelta(days=8, hours=2),
        modality="remote",
        city="",
        venue="",
        online_url="https://visio.example.org/r2021",
    )
    html = _client(world["user"]).get("/me/", **EN).content.decode()
    item = re.search(rf'data-session="{session.pk}".*?</li>', html, re.S).group(0)
    assert "Online" in item
    assert 'href="https://visio.example.org/r2021"' in item
    assert "Remote" in item


def test_certificate_block_gives_serial_code_download_and_verification(world):
    certificate = world["certificate"]
    html = _client(world["user"]).get("/me/", **EN).content.decode()
    block = _section(html, world["ended"])
    assert certificate.serial in block
    assert certificate.verification_code in block
    assert f'href="/me/certificates/{certificate.pk}/pdf"' in block
    assert f'href="/verify/{certificate.verification_code}"' in block
    assert "Download the certificate (PDF)" in block


def test_a_revoked_certificate_says_so_and_is_not_served(world):
    certificate = certificate_revoke(certificate=world["certificate"], reason="Erreur")
    client = _client(world["user"])
    block = _section(client.get("/me/", **EN).content.decode(), world["ended"])
    assert 'data-status="revoked"' in block
    assert "revoked" in block
    assert f"/me/certificates/{certificate.pk}/pdf" not in block
    assert client.get(f"/me/certificates/{certificate.pk}/pdf").status_code == 404


def test_the_name_is_in_arabic_on_arabic_pages_when_known(world):
    client = _client(world["user"])
    assert "أمينة التازي" in client.get("/me/", HTTP_ACCEPT_LANGUAGE="ar").content.decode()
    assert "أمينة" not in client.get("/me/", **EN).content.decode()
    # Without an Arabic spelling, the Latin one, also on Arabic pages.
    html = _client(world["karim_user"]).get("/me/", HTTP_ACCEPT_LANGUAGE="ar").content.decode()
    assert "Karim BENNANI" in html


def test_unreachable_certificate_says_why(world):
    now = timezone.now()
    cohort = CohortFactory(code="2021-late", name="Promotion late", year=2021)
    sessions = _sessions(cohort, [-30, -20, -10, 40], now)
    EnrolmentFactory(participant=world["amina"], cohort=cohort)
    for session in sessions[:3]:
        AttendanceFactory(session=session, participant=world["amina"], status="absent")
    html = _client(world["user"]).get("/me/", **EN).content.decode()
    block = _section(html, cohort)
    assert 'data-state="unreachable"' in block
    assert 'aria-valuenow="0"' in block
    assert "No longer reachable" in block
    assert "Your attendance rate is below the required rate." in block


def test_a_withdrawn_trainee_is_told_and_offered_no_calendar_link(world):
    Enrolment.objects.filter(participant=world["amina"], cohort=world["running"]).update(
        status="withdrawn", withdrawn_on=datetime.date(2021, 2, 1)
    )
    block = _section(_client(world["user"]).get("/me/", **EN).content.decode(), world["running"])
    assert 'data-status="withdrawn"' in block
    assert 'data-state="unreachable"' in block
    assert "You have withdrawn from this cohort." in block
    assert "data-ics=" not in block


def test_a_trainee_without_cohorts_gets_a_notice(world):
    user = UserFactory(username="nadia")
    ParticipantFactory(user=user)
    response = _client(user).get("/me/", **EN)
    assert response.status_code == 200
    assert "You are not enrolled in any cohort yet." in response.content.decode()


def test_session_calendar_is_one_event_of_ones_own_cohort(world):
    session = world["sessions"][3]
    client = _client(world["user"])
    response = client.get(f"/me/sessions/{session.pk}/calendar.ics")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/calendar; charset=utf-8"
    assert response["Content-Disposition"] == f'attachment; filename="session-{session.pk}.ics"'
    (event,) = Calendar.from_ical(response.content).walk("VEVENT")
    assert str(event["SUMMARY"]) == f"{session.title} — {session.cohort.name}"
    assert event.decoded("DTSTART") == session.starts_at.replace(microsecond=0)
    # Someone else's cohort, or no such session: not found.
    assert client.get(f"/me/sessions/{world['their_session'].pk}/calendar.ics").status_code == 404
    assert client.get("/me/sessions/999999/calendar.ics").status_code == 404


def test_cancelled_session_calendar_cancels_the_event(world):
    response = _client(world["user"]).get(f"/me/sessions/{world['cancelled'].pk}/calendar.ics")
    calendar = Calendar.from_ical(response.content)
    assert str(calendar["METHOD"]) == "CANCEL"
    assert str(calendar.walk("VEVENT")[0]["STATUS"]) == "CANCELLED"


def test_whole_calendar_holds_every_session_of_ones_cohorts_only(world):
    response = _client(world["user"]).get("/me/calendar.ics")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/calendar; charset=utf-8"
    assert "attachment" in response["Content-Disposition"]
    calendar = Calendar.from_ical(response.content)
    uids = {str(e["UID"]) for e in calendar.walk("VEVENT")}
    mine = [*world["sessions"], world["cancelled"], *world["ended"].sessions.all()]
    assert uids == {f"session-{s.pk}@region2021" for s in mine}
    assert f"session-{world['their_session'].pk}@region2021" not in uids


def test_certificate_pdf_is_the_trainees_own(world):
    certificate = world["certificate"]
    client = _client(world["user"])
    response = client.get(f"/me/certificates/{certificate.pk}/pdf")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert f'filename="{certificate.serial}.pdf"' in response["Content-Disposition"]
    body = b"".join(response.streaming_content)
    assert body.startswith(b"%PDF")
    assert body == certificate.pdf.open("rb").read()
    # Another trainee asking for it: not found.
    other = _client(world["karim_user"])
    assert other.get(f"/me/certificates/{certificate.pk}/pdf").status_code == 404
    assert client.get("/me/certificates/999999/pdf").status_code == 404


def test_certificate_without_a_file_is_not_found(world):
    Certificate.objects.filter(pk=world["certificate"].pk).update(pdf="")
    response = _client(world["user"]).get(f"/me/certificates/{world['certificate'].pk}/pdf")
    assert response.status_code == 404


def _queries_for_sessions(n: int) -> int:
    now = timezone.now()
    user = UserFactory(username=f"trainee-{n}")
    person = ParticipantFactory(user=user)
    for year in (2020, 2021):
        cohort = CohortFactory(year=year)
        EnrolmentFactory(participant=person, cohort=cohort)
        sessions = _sessions(cohort, [d * 3 - n for d in range(n)], now)
        for session in sessions[: n // 2]:
            AttendanceFactory(session=session, participant=person)
    client = _client(user)
    client.get("/me/")  # warm caches (session, content types)
    with CaptureQueriesContext(connection) as captured:
        response = client.get("/me/")
    assert response.status_code == 200
    return len(captured)


def test_home_queries_do_not_grow_with_sessions(db):
    assert _queries_for_sessions(2) == _queries_for_sessions(10)


def _section(html: str, cohort) -> str:
    start = html.index(f'id="cohort-{cohort.pk}"')
    end = html.find("</section>", start)
    return html[start:end]
