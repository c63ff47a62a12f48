"""Certificates: codes, issuance (once), re-issue, revocation, verification, e-mail, API."""

import datetime
import hashlib
import io
import re
import zipfile

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from rest_framework.test import APIClient

from certificates import codes, services
from certificates.models import Certificate, CertificateFile
from certificates.verification import verify_code, verify_file
from cohorts import services as cohort_services
from cohorts.models import Participant
from tests.factories import (
    CohortFactory,
    EnrolmentFactory,
    ParticipantFactory,
    SessionFactory,
    UserFactory,
    manager,
    region,
)

pytestmark = pytest.mark.django_db


# Codes ---------------------------------------------------------------------------------


def test_a_code_carries_80_random_bits_and_a_check_symbol():
    code = codes.new_code()
    assert len(code) == 17 and codes.normalise(code) == code
    assert len({codes.new_code() for _ in range(1000)}) == 1000
    assert re.fullmatch(r"[0-9A-Z]{4}(-[0-9A-Z]{4}){3}-[0-9A-Z*~$=U]", codes.display(code))


@pytest.mark.parametrize("attempt", range(20))  # codes are random: try several
def test_a_typed_code_is_read_leniently_but_a_typo_is_caught(attempt):
    code = codes.new_code()
    typed = codes.display(code).lower().replace("0", "o").replace("1", "l")
    assert codes.normalise(typed) == code
    for index in range(16):
        for ch in codes.ALPHABET:
            if ch != code[index]:
                assert codes.normalise(code[:index] + ch + code[index + 1 :]) is None
    for index in range(15):
        swapped = code[:index] + code[index + 1] + code[index] + code[index + 2 :]
        if swapped != code:
            assert codes.normalise(swapped) is None
    assert codes.normalise("hello") is None


# Issuance ------------------------------------------------------------------------------


def _completed(n=3, *, email=True, language="fr"):
    """A cohort in MA-04 whose two sessions have ended; n people, all present."""
    cohort = CohortFactory(regions=[region("MA-04")], name="Promotion 2019 — Centre")
    days = [datetime.datetime(2019, 3, d, 9, tzinfo=datetime.UTC) for d in (12, 26)]
    sessions = [SessionFactory(cohort=cohort, starts_at=day) for day in days]
    people = [
        EnrolmentFactory(
            cohort=cohort,
            participant=ParticipantFactory(
                region=region("MA-04"), preferred_language=language,
                email=f"p{i}-{cohort.pk}@example.org" if email else None,
            ),
        ).participant
        for i in range(n)
    ]  # fmt: skip
    for session in sessions:
        cohort_services.attendance_roster_record(
            session=session, marks=[cohort_services.Mark(p.pk, "present") for p in people]
        )
    return cohort, sessions, people


def test_an_eligible_participant_gets_one_certificate_with_its_pdf(
    django_capture_on_commit_callbacks,
):
    cohort, _sessions, (amina, *_rest) = _completed()
    with django_capture_on_commit_callbacks(execute=True):
        certificate = services.certificate_issue(participant=amina, cohort=cohort)
    assert re.fullmatch(rf"R2021-2019-MA04-{certificate.pk:05d}", certificate.serial)
    assert certificate.hours_attended == 12 and certificate.version == 1
    content = certificate.pdf.read()
    assert content.startswith(b"%PDF")
    assert certificate.sha256 == hashlib.sha256(content).hexdigest()
    assert list(CertificateFile.objects.values_list("version", "sha256")) == [
        (1, certificate.sha256)
    ]
    again = services.certificate_issue(participant=amina, cohort=cohort)
    assert again.pk == certificate.pk
    assert Certificate.objects.count() == 1 and CertificateFile.objects.count() == 1


def test_the_certificate_is_emailed_once_in_the_trainees_language(
    django_capture_on_commit_callbacks,
):
    cohort, _s, (amina, *_r) = _completed(language="ar")
    with django_capture_on_commit_callbacks(execute=True):
        certificate = services.certificate_issue(participant=amina, cohort=cohort)
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == [amina.email]
    assert "شهادتكم" in message.subject or "شهادة" in message.subject
    assert message.attachments[0][0] == f"{certificate.serial}.pdf"
    from messaging.tasks import email_certificate

    assert email_certificate(certificate.pk) is False  # claimed already: not sent again
    assert len(mail.outbox) == 1


def test_a_participant_below_the_threshold_is_refused_with_the_reason():
    cohort, sessions, (amina, *_r) = _completed()
    cohort_services.attendance_roster_record(
        session=sessions[1], marks=[cohort_services.Mark(amina.pk, "absent")]
    )
    with pytest.raises(ValidationError) as exc:
        services.certificate_issue(participant=amina, cohort=cohort)
    assert "attendance is below the threshold" in exc.value.message_dict["participant"][0]
    assert not Certificate.objects.exists()


def test_no_certificate_before_the_cohorts_last_session_has_ended():
    cohort, _s, (amina, *_r) = _completed()
    SessionFactory(cohort=cohort, starts_at=datetime.datetime(2099, 1, 5, 9, tzinfo=datetime.UTC))
    with pytest.raises(ValidationError) as exc:
        services.certificate_issue(participant=amina, cohort=cohort)
    assert exc.value.message_dict == {"cohort": ["The cohort's last session has not ended yet."]}


def test_a_reissue_keeps_the_serial_and_the_old_file_verifies_as_superseded():
    cohort, _s, (amina, *_r) = _completed()
    first = services.certificate_issue(participant=amina, cohort=cohort)
    old_bytes = first.pdf.read()
    Participant.objects.filter(pk=amina.pk).update(last_name="Benalli")
    second = services.certificate_reissue(certificate=first, reason="Nom mal orthographié")
    assert (second.serial, second.version) == (first.serial, 2)
    new_bytes = second.pdf.read()
    assert new_bytes != old_bytes
    assert verify_file(second, new_bytes) == "current"
    assert verify_file(second, old_bytes) == "superseded"
    edited = new_bytes[:-6] + b"%edit\n" + new_bytes[-6:]  # still opens as a PDF
    assert verify_file(second, edited) == "mismatch"
    with pytest.raises(ValidationError):
        services.certificate_reissue(certificate=second, reason="  ")


def test_a_revoked_certificate_verifies_as_revoked():
    cohort, _s, (amina, *_r) = _completed()
    certificate = services.certificate_issue(participant=amina, cohort=cohort)
    boss = UserFactory()
    services.certificate_revoke(certificate=certificate, reason="Fraude", by=boss)
    result = verify_code(codes.display(certificate.verification_code))
    assert result.status == "revoked"
    assert result.public()["revoked_on"] is not None
    with pytest.raises(ValidationError):
        services.certificate_revoke(certificate=certificate, reason="Encore")


def test_a_batch_issues_every_due_certificate_and_reports_progress(
    django_capture_on_commit_callbacks,
):
    cohort, sessions, people = _completed(n=4)
    cohort_services.attendance_roster_record(
        session=sessions[1], marks=[cohort_services.Mark(people[3].pk, "absent")]
    )
    with django_capture_on_commit_callbacks(execute=True):
        batch = services.certificate_batch_start(cohort=cohort)
    batch.refresh_from_db()
    assert (batch.status, batch.total, batch.done) == ("done", 3, 3)
    assert set(Certificate.objects.values_list("participant_id", flat=True)) == {
        p.pk for p in people[:3]
    }


def test_the_sweep_issues_certificates_whose_message_was_lost():
    cohort, _s, people = _completed(n=2)
    from certificates.tasks import sweep_certificates

    result = sweep_certificates()
    assert result["issued"] == 2
    assert Certificate.objects.count() == 2
    assert sweep_certificates()["issued"] == 0


# Public verification -------------------------------------------------------------------


def test_the_verification_page_shows_the_public_fields_only(client):
    cohort, _s, (amina, *_r) = _completed()
    amina.phone = "+212600000009"
    amina.save()
    certificate = services.certificate_issue(participant=amina, cohort=cohort)
    response = client.get(f"/verify/{certificate.verification_code}")
    html = response.content.decode()
    assert response.status_code == 200
    assert 'data-status="valid"' in html and amina.full_name in html
    assert "Rabat-Salé-Kénitra" in html and certificate.serial in html
    assert amina.email not in html and amina.phone not in html
    upload = io.BytesIO(certificate.pdf.read())
    upload.name = "c.pdf"
    checked = client.post(f"/verify/{certificate.verification_code}", {"file": upload})
    assert 'data-result="current"' in checked.content.decode()


def test_an_unknown_code_answers_404_and_reveals_nothing(client):
    response = client.get("/verify/" + codes.new_code())
    assert response.status_code == 404
    assert 'data-status="unknown"' in response.content.decode()


def test_the_json_verification_is_public_and_has_no_contact_data():
    cohort, _s, (amina, *_r) = _completed()
    certificate = services.certificate_issue(participant=amina, cohort=cohort)
    response = APIClient().get(f"/api/v1/certificates/verify/{certificate.verification_code}/")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "valid" and body["holder"] == amina.full_name
    assert set(body) == {
        "status", "serial", "holder", "holder_ar", "cohort", "year", "region", "region_name",
        "issued_on", "hours_attended", "version", "revoked_on", "holder_disclosure",
    }  # fmt: skip
    missing = APIClient().get(f"/api/v1/certificates/verify/{codes.new_code()}/")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"


# Managers and trainees through the API --------------------------------------------------


def test_a_manager_issues_reissues_revokes_and_downloads_a_zip():
    cohort, _s, people = _completed(n=2)
    api = APIClient(HTTP_ACCEPT_LANGUAGE="en")
    api.force_authenticate(manager("rabat", regions=["MA-04"]))
    created = api.post("/api/v1/certificates/", {"participant": people[0].pk, "cohort": cohort.pk})
    assert created.status_code == 201
    pk = created.json()["id"]
    bad = api.post("/api/v1/certificates/", {"participant": "x"})
    assert bad.status_code == 400 and set(bad.json()["error"]["fields"]) == {
        "participant",
        "cohort",
    }
    reissued = api.post(f"/api/v1/certificates/{pk}/reissue/", {"reason": "Prénom corrigé"})
    assert reissued.json()["version"] == 2
    api.post("/api/v1/certificates/", {"participant": people[1].pk, "cohort": cohort.pk})
    archive = zipfile.ZipFile(
        io.BytesIO(api.get(f"/api/v1/cohorts/{cohort.pk}/certificates.zip").content)
    )
    assert len(archive.namelist()) == 2
    assert all(archive.read(name).startswith(b"%PDF") for name in archive.namelist())
    revoked = api.post(f"/api/v1/certificates/{pk}/revoke/", {"reason": ""})
    assert revoked.status_code == 400
    assert (
        api.post(f"/api/v1/certificates/{pk}/revoke/", {"reason": "Erreur"}).json()["status"]
        == "revoked"
    )


def test_a_manager_of_another_region_cannot_touch_them():
    cohort, _s, people = _completed(n=1)
    certificate = services.certificate_issue(participant=people[0], cohort=cohort)
    api = APIClient()
    api.force_authenticate(manager("oujda", regions=["MA-02"]))
    assert api.get(f"/api/v1/certificates/{certificate.pk}/pdf/").status_code == 404
    assert (
        api.post(f"/api/v1/certificates/{certificate.pk}/revoke/", {"reason": "x"}).status_code
        == 404
    )
    assert api.get("/api/v1/certificates/").json()["count"] == 0


def test_a_trainee_downloads_their_own_certificate_only():
    cohort, _s, (amina, karim) = _completed(n=2)
    user = UserFactory(username="amina")
    Participant.objects.filter(pk=amina.pk).update(user=user)
    mine = services.certificate_issue(participant=amina, cohort=cohort)
    theirs = services.certificate_issue(participant=karim, cohort=cohort)
    api = APIClient()
    api.force_authenticate(user)
    response = api.get(f"/api/v1/certificates/{mine.pk}/pdf/")
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == mine.pdf.read()
    assert api.get(f"/api/v1/certificates/{theirs.pk}/pdf/").status_code == 404
    me = api.get("/api/v1/me/").json()
    listed = me["cohorts"][0]["certificate"]
    assert listed["serial"] == mine.serial
    assert listed["pdf_url"] == f"/api/v1/certificates/{mine.pk}/pdf/"
    assert listed["verification_url"] == f"/verify/{mine.verification_code}"


def test_certificate_files_without_a_row_are_deleted_once_a_day_old():
    """A rolled-back issuance leaves its PDF behind: the daily cleanup removes it, and
    only it (a young file may belong to a transaction still running)."""
    import os
    import time

    from django.core.files.base import ContentFile
    from django.core.files.storage import default_storage

    from certificates.cleanup import orphan_files_delete
    from certificates.tasks import clean_orphan_files

    cohort, _sessions, (amina, *_) = _completed(1)
    kept = services.certificate_issue(participant=amina, cohort=cohort)
    old_orphan = default_storage.save("certificates/R2021-ORPHAN-v1.pdf", ContentFile(b"%PDF-"))
    young_orphan = default_storage.save("certificates/R2021-YOUNG-v1.pdf", ContentFile(b"%PDF-"))
    two_days_ago = time.time() - 2 * 86400
    os.utime(default_storage.path(old_orphan), (two_days_ago, two_days_ago))
    os.utime(default_storage.path(kept.pdf.name), (two_days_ago, two_days_ago))
    assert orphan_files_delete(older_than=datetime.timedelta(days=3)) == []
    assert clean_orphan_files.apply().get() == 1
    assert not default_storage.exists(old_orphan)
    assert default_storage.exists(young_orphan) and default_storage.exists(kept.pdf.name)
