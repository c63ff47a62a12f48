"""The monthly report to funders without a worker: who gets one, once per contact and month,
what it says and carries (the funders' PDF, built once per month and language), the
funder's own settings, the unsubscribe link, the beat's entry and the managers' admin.
(Through a real worker and SMTP server: test_monthly_report_integration.py.)"""

import contextlib
import datetime
import io
import re

import pytest
import time_machine
from celery.schedules import crontab
from django.core import signing
from django.core.files.storage import default_storage
from django.test import Client
from pypdf import PdfReader

from cohorts import services
from cohorts.models import FunderProfile, Notification, Organisation
from messaging.monthly_report import report_month
from messaging.outbox import deliver
from messaging.tasks import send_monthly_reports
from reports import monthly_report
from tests.factories import (
    CASABLANCA,
    CohortFactory,
    EnrolmentFactory,
    ParticipantFactory,
    SessionFactory,
    UserFactory,
    manager,
    region,
)
from worker import celery_app

pytestmark = pytest.mark.django_db

# The beat's moment: the 1st of December, 07:00 in Casablanca; the report is November's.
FIRST = datetime.datetime(2026, 12, 1, 7, 0, tzinfo=CASABLANCA)
SETTINGS_URL = "/dashboard/settings/"


class Server:
    """A channel that accepts everything and keeps it, as a mail server would."""

    name = "email"

    def __init__(self) -> None:
        self.accepted: list = []

    @contextlib.contextmanager
    def open(self):
        yield self

    def send(self, message) -> None:
        self.accepted.append(message)


def funder(username, *, organisation="AFD", language="fr", subscribed=True, **user):
    account = UserFactory(username=username, **user)
    return FunderProfile.objects.create(
        user=account,
        organisation=Organisation.objects.get(short_name=organisation),
        language=language,
        monthly_report=subscribed,
    )


@pytest.fixture
def programme():
    """Two regions with enough people to be shown to funders, one too small to be."""
    for code, sexes in [("MA-04", "FFFFFMMMMM"), ("MA-03", "FFFMMMM"), ("MA-01", "FFM")]:
        cohort = CohortFactory(regions=[region(code)], year=2021)
        session = SessionFactory(cohort=cohort)
        people = [ParticipantFactory(region=region(code), sex=sex) for sex in sexes]
        for person in people:
            EnrolmentFactory(cohort=cohort, participant=person)
        services.attendance_roster_record(
            session=session, marks=[services.Mark(p.pk, "present") for p in people]
        )


@pytest.fixture
def contacts():
    return {
        "afd": funder("afd-contact"),
        "arm": funder("arm-contact", organisation="ARM", language="ar"),
        "off": funder("rdf-contact", organisation="RdF", subscribed=False),
        "inactive": funder("afd-gone", is_active=False),
        "no-address": funder("afd-no-mail", email=""),
    }


def _put() -> dict:
    with time_machine.travel(FIRST, tick=False):
        return send_monthly_reports()


def _rows():
    return Notification.objects.filter(kind=Notification.Kind.MONTHLY_REPORT)


def _text(pdf: bytes) -> str:
    return " ".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


# Who gets one, and once ---------------------------------------------------------------


def test_the_report_is_for_the_month_before():
    assert report_month(datetime.date(2026, 12, 1)) == datetime.date(2026, 11, 1)
    assert report_month(datetime.date(2027, 1, 1)) == datetime.date(2026, 12, 1)
    assert report_month(datetime.date(2027, 3, 31)) == datetime.date(2027, 2, 1)


def test_it_puts_one_message_per_subscribed_funder_contact_and_none_for_the_others(contacts):
    assert _put() == {"month": "2026-11", "put": 2}
    rows = _rows().order_by("key")
    expected = sorted(contacts[name].user_id for name in ("afd", "arm"))
    assert [(r.key, r.user_id, r.ref, r.status) for r in rows] == [
        (f"monthly-report:2026-11:{user_id}", user_id, 202611, "pending") for user_id in expected
    ]


def test_putting_it_twice_gives_one_row_per_contact(contacts):
    _put()
    assert _put() == {"month": "2026-11", "put": 0}
    assert _rows().count() == 2
    # The next month is another message.
    with time_machine.travel(FIRST + datetime.timedelta(days=31), tick=False):
        assert send_monthly_reports() == {"month": "2026-12", "put": 2}
    assert _rows().count() == 4


def test_the_beat_runs_it_on_the_first_of_the_month_at_seven_local_time():
    entries = [
        e
        for e in celery_app.conf.beat_schedule.values()
        if e["task"] == "messaging.tasks.send_monthly_reports"
    ]
    assert len(entries) == 1
    schedule = entries[0]["schedule"]
    assert isinstance(schedule, crontab)
    assert schedule == crontab(day_of_month=1, hour=7, minute=0)
    assert celery_app.conf.timezone == "Africa/Casablanca"


# What it says and carries -------------------------------------------------------------


def test_each_contact_gets_the_funders_pdf_in_their_language(contacts, programme):
    _put()
    server = Server()
    with time_machine.travel(FIRST + datetime.timedelta(minutes=1), tick=False):
        result = deliver(channel=server)
    assert result.sent == 2
    by_address = {m.to: m for m in server.accepted}
    assert set(by_address) == {"afd-contact@example.org", "arm-contact@example.org"}

    french = by_address["afd-contact@example.org"]
    assert french.subject == "Cycle d'études Région 2021 : rapport d'avancement de novembre 2026"
    assert "novembre 2026" in french.text and "novembre 2026" in french.html
    assert '<html lang="fr" dir="ltr">' in french.html
    [(name, pdf, mimetype)] = french.attachments
    assert (name, mimetype) == ("progress-report-2026-11-fr.pdf", "application/pdf")
    text = _text(pdf)
    assert "Rapport d'avancement du programme" in text
    assert "Cycle d'études Région 2021" in text
    assert "20" in text  # enrolled, the whole programme

    arabic = by_address["arm-contact@example.org"]
    assert "نونبر 2026" in arabic.subject  # the Moroccan month name (cohorts.dates)
    assert '<html lang="ar" dir="rtl">' in arabic.html
    assert arabic.attachments[0][0] == "progress-report-2026-11-ar.pdf"
    assert arabic.attachments[0][1].startswith(b"%PDF-")


def test_the_pdf_is_the_funders_dashboard_report_with_small_groups_withheld(contacts, programme):
    _put()
    server = Server()
    deliver(channel=server)
    pdf = next(m for m in server.accepted if m.to == "afd-contact@example.org").attachments[0][1]
    text = _text(pdf)
    # What a funder downloads from /dashboard/report.pdf with no filters, in French.
    page = Client(HTTP_ACCEPT_LANGUAGE="fr")
    page.force_login(contacts["afd"].user)
    downloaded = _text(page.get("/dashboard/report.pdf").content)
    generated = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d")
    assert generated.sub("", text) == generated.sub("", downloaded)
    assert "groupes de moins de 5 personnes" in text


def test_the_pdf_is_built_once_per_month_and_language_not_per_recipient(
    contacts, programme, monkeypatch
):
    for n in range(3):
        funder(f"afd-more-{n}")
    builds = []
    build = monthly_report.published_report_pdf

    def counted(language):
        builds.append(language)
        return build(language)

    monkeypatch.setattr(monthly_report, "published_report_pdf", counted)
    _put()
    server = Server()
    deliver(channel=server)
    assert len(server.accepted) == 5
    assert sorted(builds) == ["ar", "fr"]
    stored = default_storage.listdir("reports/monthly/2026-11")[1]
    assert sorted(stored) == ["progress-report-2026-11-ar.pdf", "progress-report-2026-11-fr.pdf"]
    # A message of the same month sent later (a retry, a late subscriber) reuses the file.
    funder("afd-late")
    _put()
    deliver(channel=server)
    assert len(server.accepted) == 6
    assert sorted(builds) == ["ar", "fr"]
    first = next(m for m in server.accepted if m.to == "afd-contact@example.org")
    assert server.accepted[-1].to == "afd-late@example.org"
    assert server.accepted[-1].attachments == first.attachments


def test_a_stored_file_cut_short_is_built_again(contacts, programme):
    name = monthly_report.report_path(datetime.date(2026, 11, 1), "fr")
    default_storage.save(name, io.BytesIO(b"%PDF-1.4 cut"))
    pdf = monthly_report.report_pdf(datetime.date(2026, 11, 1), "fr")
    assert pdf.rstrip().endswith(b"%%EOF")
    with default_storage.open(name, "rb") as handle:
        assert handle.read() == pdf


def test_a_contact_who_stops_it_before_it_goes_is_not_sent_one(contacts, programme):
    _put()
    FunderProfile.objects.filter(pk=contacts["arm"].pk).update(monthly_report=False)
    server = Server()
    result = deliver(channel=server)
    assert [m.to for m in server.accepted] == ["afd-contact@example.org"]
    assert result.dropped == 1
    dropped = _rows().get(user=contacts["arm"].user)
    assert (dropped.status, dropped.last_error) == (
        "dropped",
        "the funder turned the monthly report off",
    )


# The unsubscribe link -----------------------------------------------------------------


def _unsubscribe_url(message) -> str:
    match = re.search(r"https?://[^/\s]+(/monthly-report/unsubscribe/[^/\s]+/)", message.text)
    assert match, message.text
    assert match.group(1) in message.html
    return match.group(1)


def test_the_unsubscribe_link_turns_the_report_off_without_signing_in(contacts, programme):
    _put()
    server = Server()
    deliver(channel=server)
    message = next(m for m in server.accepted if m.to == "afd-contact@example.org")
    url = _unsubscribe_url(message)
    visitor = Client(enforce_csrf_checks=True)

    page = visitor.get(url)  # opening it (a mail scanner does) changes nothing
    assert page.status_code == 200
    assert 'id="unsubscribe-form"' in page.content.decode()
    contacts["afd"].refresh_from_db()
    assert contacts["afd"].monthly_report is True

    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.content.decode())
    assert token
    answer = visitor.post(url, {"csrfmiddlewaretoken": token.group(1)})
    assert answer.status_code == 302
    done = visitor.get(answer["Location"])
    assert 'id="unsubscribe-done"' in done.content.decode()
    contacts["afd"].refresh_from_db()
    assert contacts["afd"].monthly_report is False
    contacts["arm"].refresh_from_db()
    assert contacts["arm"].monthly_report is True  # only the link's own account
    # Next month, nothing for them.
    with time_machine.travel(FIRST + datetime.timedelta(days=31), tick=False):
        assert send_monthly_reports()["put"] == 1


def _other_signature(token: str) -> str:
    return token[:-2] + ("BB" if token.endswith("AA") else "AA")


def _another_account(token: str) -> str:
    """Someone else's account id, in the same shape, without the site's signature."""
    user_id, signature = token.split(":", 1)
    other = signing.b64_encode(str(int(signing.b64_decode(user_id.encode())) + 1).encode())
    return f"{other.decode()}:{signature}"


def _signed_without_the_salt(token: str) -> str:
    return signing.dumps(signing.loads(token, salt=monthly_report._SALT))


@pytest.mark.parametrize(
    "tamper",
    [_other_signature, _another_account, _signed_without_the_salt, lambda _token: "not-a-token"],
    ids=["signature", "account", "unsalted", "garbage"],
)
def test_a_tampered_unsubscribe_link_changes_nothing(contacts, tamper):
    token = monthly_report.unsubscribe_token(contacts["afd"].user)
    assert monthly_report.profile_for_token(token) == contacts["afd"]
    for method in ("get", "post"):
        response = getattr(Client(), method)(f"/monthly-report/unsubscribe/{tamper(token)}/")
        assert response.status_code == 400
        assert 'id="unsubscribe-invalid"' in response.content.decode()
    assert set(FunderProfile.objects.values_list("monthly_report", flat=True)) == {True, False}
    contacts["afd"].refresh_from_db()
    assert contacts["afd"].monthly_report is True


# The funder's settings ----------------------------------------------------------------


def test_a_funder_sees_and_changes_the_setting_on_their_settings_page(contacts):
    client = Client(enforce_csrf_checks=True, HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(contacts["afd"].user)
    page = client.get(SETTINGS_URL)
    html = page.content.decode()
    assert page.status_code == 200
    assert "Receive the monthly report by e-mail" in html
    assert re.search(r'<input type="checkbox" id="id_monthly_report"[^>]* checked>', html)
    assert "afd-contact@example.org" in html
    assert f'href="{SETTINGS_URL}"' in client.get("/dashboard/").content.decode()  # the nav

    # Without the CSRF token, refused.
    assert client.post(SETTINGS_URL, {"language": "fr"}).status_code == 403
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)
    # Unticked: off; and the e-mails' language.
    answer = client.post(SETTINGS_URL, {"csrfmiddlewaretoken": token, "language": "ar"})
    assert answer.status_code == 302
    contacts["afd"].refresh_from_db()
    assert (contacts["afd"].monthly_report, contacts["afd"].language) == (False, "ar")
    page = client.get(answer["Location"]).content.decode()
    assert "Saved: you will no longer receive the monthly report by e-mail." in page
    assert not re.search(r'id="id_monthly_report"[^>]* checked', page)

    answer = client.post(
        SETTINGS_URL, {"csrfmiddlewaretoken": token, "monthly_report": "on", "language": "en"}
    )
    contacts["afd"].refresh_from_db()
    assert (contacts["afd"].monthly_report, contacts["afd"].language) == (True, "en")
    assert (
        "Saved: you will receive the monthly report"
        in client.get(answer["Location"]).content.decode()
    )


def test_a_bad_language_is_explained_and_nothing_is_saved(contacts):
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(contacts["afd"].user)
    response = client.post(SETTINGS_URL, {"language": "de"})
    assert response.status_code == 200
    assert 'role="alert"' in response.content.decode()
    contacts["afd"].refresh_from_db()
    assert (contacts["afd"].monthly_report, contacts["afd"].language) == (True, "fr")


def test_the_settings_page_in_french_and_arabic(contacts):
    for language, label in [
        ("fr", "Recevoir le rapport mensuel par e-mail"),
        ("ar", "تلقّي التقرير الشهري"),
    ]:
        client = Client(HTTP_ACCEPT_LANGUAGE=language)
        client.force_login(contacts["afd"].user)
        assert label in client.get(SETTINGS_URL).content.decode()


def test_only_funders_have_the_settings_page(contacts):
    assert Client().get(SETTINGS_URL)["Location"].startswith("/login/")
    client = Client()
    client.force_login(manager("national"))
    assert client.get(SETTINGS_URL).status_code == 403


def test_managers_see_the_flag_in_the_admin(contacts):
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(manager("national"))
    page = client.get("/admin/cohorts/funderprofile/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "monthly report by e-mail" in html.lower()
    assert "rdf-contact" in html
    # Seen, not changed: the funder decides.
    profile = contacts["off"]
    assert client.post(f"/admin/cohorts/funderprofile/{profile.pk}/change/", {}).status_code == 403
