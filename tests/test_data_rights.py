"""Data rights (issue 16): a trainee downloads everything held about them, a manager
corrects a person's identity (kept in history) and re-issues their certificate, and the
trainee's choice about being named is respected by verification and e-mails."""

import datetime
import io
import json
import re

import pytest
from django.apps import apps
from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.test import Client
from django.utils import timezone
from pypdf import PdfReader

from accounts.models import IdentityChange, NamingConsent
from accounts.services import identity_correct, naming_consent_record
from certificates.services import certificate_issue
from cohorts.models import AccountEmail, Notification, Participant
from cohorts.services import attendance_record, enrolment_create, enrolment_withdraw
from tests.factories import (
    CohortFactory,
    EnrolmentFactory,
    ParticipantFactory,
    SessionFactory,
    UserFactory,
    manager,
)

pytestmark = pytest.mark.django_db

EN = {"HTTP_ACCEPT_LANGUAGE": "en"}


@pytest.fixture
def world():
    """Amina (a certificate, marks changed, messages, an account e-mail, a choice and an
    identity correction) and Karim, in the same cohort, with his own of each."""
    boss = manager("manager-rsk", regions=["MA-04"])
    user = UserFactory(username="amina.tazi@example.org", email="amina.tazi@example.org")
    amina = ParticipantFactory(
        first_name="Amina", last_name="TAZI", first_name_ar="أمينة", last_name_ar="التازي",
        email="amina.tazi@example.org", phone="+212600000001", user=user, sex="F",
    )  # fmt: skip
    karim_user = UserFactory(username="karim.bennani@example.org")
    karim = ParticipantFactory(
        first_name="Karim", last_name="BENNANI", first_name_ar="كريم", last_name_ar="بناني",
        email="karim.bennani@example.org", phone="+212600000002", user=karim_user, sex="M",
    )  # fmt: skip
    cohort = CohortFactory(code="2019-rsk", name="Promotion 2019 Rabat", year=2019)
    sessions = [
        SessionFactory(
            cohort=cohort,
            title=f"Module {i + 1}",
            starts_at=datetime.datetime(2019, 3 + i, 12, 9, tzinfo=datetime.UTC),
            ends_at=datetime.datetime(2019, 3 + i, 12, 16, tzinfo=datetime.UTC),
        )
        for i in range(3)
    ]
    other = CohortFactory(code="2020-rsk", name="Promotion 2020 Karim", year=2020)
    for person in (amina, karim):
        enrolment_create(
            participant=person, cohort=cohort, enrolled_on=datetime.date(2019, 1, 15), by=boss
        )
    enrolment_withdraw(
        enrolment=EnrolmentFactory(participant=karim, cohort=other), reason="moved", by=boss
    )
    for session in sessions:
        for person in (amina, karim):
            attendance_record(
                session=session, participant=person, status="absent", recorded_by=boss
            )
            attendance_record(
                session=session, participant=person, status="present", recorded_by=boss
            )
    certificates = {
        person.pk: certificate_issue(participant=person, cohort=cohort, notify=False)
        for person in (amina, karim)
    }
    for person, account in ((amina, user), (karim, karim_user)):
        Notification.objects.create(
            key=f"reminder:{person.pk}", kind="reminder", participant=person,
            session=sessions[0], address=person.email, status="sent", sent_at=timezone.now(),
        )  # fmt: skip
        AccountEmail.objects.create(
            kind="invitation", user=account, participant=person, language="fr"
        )
        naming_consent_record(participant=person, on_verification=True, in_emails=True, by=account)
    # An alert about Amina sent to her manager: about her, not to her.
    Notification.objects.create(
        key=f"alert_manager:{amina.pk}", kind="alert_manager", participant=amina, user=boss,
        address="manager-rsk@example.org",
    )  # fmt: skip
    identity_correct(participant=karim, by=boss, position="Président")
    for person in (amina, karim):  # the admin's log of a change to each record
        LogEntry.objects.create(
            user=boss, content_type=ContentType.objects.get_for_model(Participant),
            object_id=str(person.pk), object_repr=str(person), action_flag=CHANGE,
        )  # fmt: skip
    return {"amina": amina, "user": user, "karim": karim, "karim_user": karim_user,
            "boss": boss, "cohort": cohort, "certificates": certificates}  # fmt: skip


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _rows_pointing_at(participant: Participant) -> dict[str, set]:
    """From the database: every row of every table with a foreign key to the person or
    their account, by table."""
    user_model = get_user_model()
    wanted: dict[str, set] = {}
    for model in apps.get_models():
        for field in model._meta.concrete_fields:
            if not field.is_relation:
                continue
            if field.related_model is Participant:
                target = participant.pk
            elif field.related_model is user_model and participant.user_id:
                target = participant.user_id
            else:
                continue
            ids = set(
                model._default_manager.filter(**{field.attname: target}).values_list(
                    "pk", flat=True
                )
            )
            if ids:
                label = f"{model._meta.app_label}.{model._meta.model_name}"
                wanted.setdefault(label, set()).update(ids)
    return wanted


def test_the_export_holds_every_row_that_mentions_the_trainee_and_nobody_else(world):
    response = _client(world["user"]).get("/me/my-data.json")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/json")
    assert "no-store" in response["Cache-Control"]
    data = json.loads(response.content)
    wanted = _rows_pointing_at(world["amina"])
    # The tables this world fills: the check below is not vacuous.
    assert {
        "cohorts.enrolment", "cohorts.attendance", "cohorts.attendancehistory",
        "cohorts.notification", "cohorts.accountemail", "certificates.certificate",
        "accounts.namingconsent",
    } <= set(wanted)  # fmt: skip
    for label, ids in wanted.items():
        exported = {row["pk"] for row in data["records"].get(label, [])}
        assert ids <= exported, label
    # The rows hanging off those: a certificate's files, an enrolment's history.
    files = data["records"]["certificates.certificatefile"]
    assert {f["certificate_id"] for f in files} == {world["certificates"][world["amina"].pk].pk}
    assert data["records"]["cohorts.enrolmenthistory"]
    assert [e["object_repr"] for e in data["records"]["admin.logentry"]] == ["Amina TAZI"]
    # Readable sections.
    assert data["profile"]["email"] == "amina.tazi@example.org"
    assert [e["cohort_name"] for e in data["enrolments"]] == ["Promotion 2019 Rabat"]
    assert len(data["attendance"]) == 3 and {m["status"] for m in data["attendance"]} == {"present"}
    assert len(data["attendance_history"]) == 6  # each mark created, then changed
    assert {m["kind"] for m in data["messages"]} == {"reminder", "alert_manager"}
    assert [a["kind"] for a in data["account_emails"]] == ["invitation"]
    assert [c["serial"] for c in data["certificates"]] == [
        world["certificates"][world["amina"].pk].serial
    ]
    assert data["consent"][0]["on_verification"] is True
    # Her digital credential (certificates.credentials.credentials_of), the signed JWT too.
    serial = world["certificates"][world["amina"].pk].serial
    assert [c["certificate"] for c in data["credentials"]] == [serial]
    assert data["credentials"][0]["jwt"]
    assert data["records"]["certificates.credential"]
    # Nobody else: Karim's name, e-mail, phone, cohort and certificate, nor the manager's
    # address, nor secrets.
    text = response.content.decode()
    karim_cert = world["certificates"][world["karim"].pk]
    for other in ("Karim", "BENNANI", "كريم", "karim.bennani", "+212600000002", "Promotion 2020",
                  karim_cert.serial, karim_cert.verification_code, "manager-rsk@example.org",
                  "Président", world["user"].password):  # fmt: skip
        assert other not in text, other
    assert "password" not in data["records"]["auth.user"][0]


def test_the_api_gives_the_same_export_as_json_and_pdf(world):
    client = _client(world["user"])
    page = json.loads(client.get("/me/my-data.json").content)
    response = client.get("/api/v1/me/export/?format=json")
    assert response.status_code == 200
    api = response.json()
    assert api["records"].keys() == page["records"].keys()
    assert api["profile"] == page["profile"]
    assert client.get("/api/v1/me/export/").status_code == 200
    response = client.get("/api/v1/me/export/?format=pdf")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(response.content)).pages)
    assert "Amina" in text and "TAZI" in text
    assert "Promotion 2019 Rabat" in text
    assert "Karim" not in text


def test_the_export_pdf_renders_in_arabic_with_the_arabic_name(world):
    client = _client(world["user"])
    response = client.get("/me/my-data.pdf", HTTP_ACCEPT_LANGUAGE="ar")
    assert response.status_code == 200
    reader = PdfReader(io.BytesIO(response.content))
    text = "".join(page.extract_text() for page in reader.pages)
    assert "Amina" in text and "Promotion 2019 Rabat" in text
    assert len(reader.pages) >= 1


def test_only_a_trainee_gets_their_export(world):
    assert Client().get("/me/my-data.json").status_code == 302
    assert _client(world["boss"]).get("/me/my-data.json").status_code == 403
    assert _client(world["boss"]).get("/api/v1/me/export/").status_code == 403
    assert Client().get("/api/v1/me/export/").status_code in (401, 403)


def test_the_trainee_sees_and_changes_their_choice_about_being_named(world):
    client = _client(world["user"])
    page = client.get("/me/", **EN).content.decode()
    assert "Being named" in page and 'name="on_verification"' in page
    response = client.post("/me/naming/", {"in_emails": "on"})
    assert response.status_code == 302
    latest = NamingConsent.objects.filter(participant=world["amina"]).first()
    assert (latest.on_verification, latest.in_emails, latest.recorded_by) == (
        False,
        True,
        world["user"],
    )
    assert NamingConsent.objects.filter(participant=world["amina"]).count() == 2  # history kept
    page = client.get("/me/", **EN).content.decode()
    assert "Your choice, recorded on" in page


def test_verification_withholds_the_name_of_a_holder_who_asked(world):
    certificate = world["certificates"][world["amina"].pk]
    url = f"/verify/{certificate.verification_code}"
    page = Client().get(url, **EN).content.decode()
    assert "Amina" in page
    naming_consent_record(participant=world["amina"], on_verification=False, in_emails=True)
    page = Client().get(url, **EN).content.decode()
    assert "Valid certificate" in page
    assert 'data-holder="withheld"' in page and "Name withheld at the holder" in page
    assert "Amina" not in page and "TAZI" not in page and "أمينة" not in page
    body = Client().get(f"/api/v1/certificates/verify/{certificate.verification_code}/").json()
    assert body["status"] == "valid"
    assert (body["holder"], body["holder_ar"], body["holder_disclosure"]) == ("", "", "withheld")
    # Karim did not ask: named.
    other = world["certificates"][world["karim"].pk]
    body = Client().get(f"/api/v1/certificates/verify/{other.verification_code}/").json()
    assert body["holder"] == "Karim BENNANI" and body["holder_disclosure"] == "named"


def test_identity_corrections_are_kept_in_history_and_follow_to_the_account(world):
    amina = world["amina"]
    identity_correct(
        participant=amina, by=world["boss"], first_name="Aminah", last_name_ar="التازية",
        email="Aminah.Tazi@example.org", phone="+212600000009",
    )  # fmt: skip
    change = IdentityChange.objects.get(participant=amina)
    assert change.changed_by == world["boss"]
    assert change.before == {"first_name": "Amina", "last_name_ar": "التازي",
                             "email": "amina.tazi@example.org"}  # fmt: skip
    assert change.after == {"first_name": "Aminah", "last_name_ar": "التازية",
                            "email": "aminah.tazi@example.org"}  # fmt: skip
    world["user"].refresh_from_db()
    assert (world["user"].username, world["user"].email, world["user"].first_name) == (
        "aminah.tazi@example.org", "aminah.tazi@example.org", "Aminah",
    )  # fmt: skip
    # Nothing changed, nothing recorded.
    identity_correct(participant=amina, by=world["boss"], first_name="Aminah")
    assert IdentityChange.objects.filter(participant=amina).count() == 1


def _change_form(client, participant) -> dict:
    """The participant's change form as the admin renders it, ready to post back."""
    from cohorts.models import Participant as P

    p = P.objects.get(pk=participant.pk)
    data = {
        "first_name": p.first_name, "last_name": p.last_name,
        "first_name_ar": p.first_name_ar, "last_name_ar": p.last_name_ar,
        "sex": p.sex, "role": p.role, "position": p.position, "region": p.region_id,
        "email": p.email or "", "phone": p.phone, "preferred_language": p.preferred_language,
        "consent_date": "", "user": p.user_id or "",
    }  # fmt: skip
    page = client.get(f"/admin/cohorts/participant/{p.pk}/change/")
    assert page.status_code == 200
    for prefix in re.findall(r'name="([\w-]+)-TOTAL_FORMS" value="(\d+)"', page.content.decode()):
        name, total = prefix
        data[f"{name}-TOTAL_FORMS"] = total
        data[f"{name}-INITIAL_FORMS"] = total
    for name, value in re.findall(
        r'<input type="hidden" name="([\w-]+-\d+-[\w]+)" value="([^"]*)"', page.content.decode()
    ):
        data[name] = value
    return data


def test_a_manager_corrects_a_name_in_the_admin_and_re_issues_the_certificate(world):
    amina, boss = world["amina"], world["boss"]
    certificate = world["certificates"][amina.pk]
    old_sha = certificate.sha256
    client = _client(boss)
    data = _change_form(client, amina)
    data.update(first_name="Aminah", last_name_ar="التازية", sex="F")
    response = client.post(f"/admin/cohorts/participant/{amina.pk}/change/", data)
    assert response.status_code == 302, response.content.decode()[:3000]
    change = IdentityChange.objects.get(participant=amina)
    assert change.changed_by == boss
    assert change.before == {"first_name": "Amina", "last_name_ar": "التازي"}
    assert change.after == {"first_name": "Aminah", "last_name_ar": "التازية"}
    page = client.get(f"/admin/cohorts/participant/{amina.pk}/change/", **EN).content.decode()
    assert "Re-issue their certificates under the current name" in page
    assert "التازية" in page  # the history, shown on the page
    # One click: the button posts to the certificates' view.
    response = client.post(f"/admin/certificates/certificate/reissue-for/{amina.pk}/", data)
    assert response.status_code == 302
    certificate.refresh_from_db()
    assert certificate.version == 2 and certificate.sha256 != old_sha
    text = PdfReader(io.BytesIO(certificate.pdf.read())).pages[0].extract_text()
    assert "Aminah" in text
    # The old file still verifies, as superseded.
    assert certificate.files.get(version=1).superseded_at is not None
    # A manager of another region re-issues nothing of hers.
    outsider = manager("manager-oriental", regions=["MA-02"])
    _client(outsider).post(f"/admin/certificates/certificate/reissue-for/{amina.pk}/", {})
    certificate.refresh_from_db()
    assert certificate.version == 2


def test_the_certificate_list_action_re_issues_under_the_current_name(world):
    amina = world["amina"]
    identity_correct(participant=amina, by=world["boss"], last_name="TAZI-ALAOUI")
    certificate = world["certificates"][amina.pk]
    response = _client(world["boss"]).post(
        "/admin/certificates/certificate/",
        {"action": "reissue_current_name", "_selected_action": [certificate.pk]},
        **EN,
    )
    assert response.status_code == 302
    certificate.refresh_from_db()
    assert certificate.version == 2
    assert certificate.files.get(version=2).reason == "Identity corrected"
    text = PdfReader(io.BytesIO(certificate.pdf.read())).pages[0].extract_text()
    assert "TAZI-ALAOUI" in text


def test_e_mails_greet_without_the_name_of_a_trainee_who_asked(world):
    from accounts.invitations import account_message
    from messaging.certificate_email import certificate_message
    from messaging.compose import session_notice

    amina = world["amina"]
    amina.preferred_language = "fr"
    amina.save(update_fields=["preferred_language"])
    session = world["cohort"].sessions.first()
    certificate = world["certificates"][amina.pk]
    row = AccountEmail.objects.get(participant=amina)

    def texts():
        notice = session_notice("reminder", amina, session)
        return [
            notice.text,
            notice.html,
            certificate_message(certificate).text,
            account_message(row).text,
        ]

    for text in texts():
        assert "Amina" in text
    naming_consent_record(participant=amina, on_verification=True, in_emails=False)
    for text in texts():
        assert "Amina" not in text and "TAZI" not in text and "\x00" not in text
        assert "Bonjour," in text


def test_the_api_shows_and_changes_the_choice_about_being_named(world):
    from rest_framework.test import APIClient

    client = APIClient()
    client.force_authenticate(world["user"])
    body = client.get("/api/v1/me/naming/").json()
    assert (body["on_verification"], body["in_emails"]) == (True, True)
    assert body["recorded_at"]
    response = client.put(
        "/api/v1/me/naming/", {"on_verification": False, "in_emails": True}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["on_verification"] is False
    assert NamingConsent.objects.filter(participant=world["amina"]).count() == 2
    bad = client.put("/api/v1/me/naming/", {"on_verification": "maybe"}, format="json")
    assert bad.status_code == 400
    assert NamingConsent.objects.filter(participant=world["amina"]).count() == 2
    outsider = APIClient()
    outsider.force_authenticate(world["boss"])
    assert outsider.get("/api/v1/me/naming/").status_code == 403
