"""The managers' admin: region scoping, the attendance sheet, the import pages."""

import datetime

import pytest
from django.urls import reverse

from cohorts.models import Attendance, AttendanceHistory, Participant
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


@pytest.fixture
def two_regions():
    """A cohort in Rabat-Salé-Kénitra (MA-04) and one in Fès-Meknès (MA-03)."""
    rabat = CohortFactory(name="Promotion Rabat", regions=[region("MA-04")])
    fes = CohortFactory(name="Promotion Fès", regions=[region("MA-03")])
    return {
        "rabat": EnrolmentFactory(
            cohort=rabat, participant=ParticipantFactory(last_name="Rabati", region=region("MA-04"))
        ),
        "fes": EnrolmentFactory(
            cohort=fes, participant=ParticipantFactory(last_name="Fassi", region=region("MA-03"))
        ),
        "rabat_session": SessionFactory(cohort=rabat, title="Module Rabat"),
        "fes_session": SessionFactory(cohort=fes, title="Module Fès"),
    }


def _names(response):
    """The page's text in lower case (names are shown as "Amina BENALI")."""
    return response.content.decode().lower()


def test_the_admin_login_page_is_in_french_by_default(client):
    response = client.get("/admin/login/")
    assert response.status_code == 200
    assert 'lang="fr"' in response.content.decode()
    assert "Nom d’utilisateur" in response.content.decode()


def test_a_scoped_manager_sees_only_their_regions_in_every_list(client, two_regions):
    client.force_login(manager("rabat", regions=["MA-04"]))
    pages = {
        "cohorts_participant_changelist": ("Rabati", "Fassi"),
        "cohorts_cohort_changelist": ("Promotion Rabat", "Promotion Fès"),
        "cohorts_trainingsession_changelist": ("Module Rabat", "Module Fès"),
        "cohorts_enrolment_changelist": ("Rabati", "Fassi"),
    }
    for name, (mine, theirs) in pages.items():
        html = _names(client.get(reverse(f"admin:{name}")))
        assert mine.lower() in html, name
        assert theirs.lower() not in html, name


def test_a_manager_of_all_regions_sees_both(client, two_regions):
    client.force_login(manager("national"))
    html = _names(client.get(reverse("admin:cohorts_participant_changelist")))
    assert "rabati" in html and "fassi" in html


def test_a_scoped_manager_cannot_open_or_edit_another_regions_rows(client, two_regions):
    client.force_login(manager("rabat", regions=["MA-04"]))
    fassi = two_regions["fes"].participant
    url = reverse("admin:cohorts_participant_change", args=[fassi.pk])
    assert client.get(url).status_code == 302  # the admin redirects: "does not exist"
    response = client.post(url, {"first_name": "Changé"})
    assert response.status_code == 302
    fassi.refresh_from_db()
    assert fassi.first_name != "Changé"
    roster = reverse("admin:cohorts_trainingsession_roster", args=[two_regions["fes_session"].pk])
    assert client.get(roster).status_code == 404


def test_a_scoped_manager_cannot_create_a_participant_in_another_region(client, two_regions):
    client.force_login(manager("rabat", regions=["MA-04"]))
    response = client.post(
        reverse("admin:cohorts_participant_add"),
        {
            "first_name": "Omar", "last_name": "Berrada", "sex": "M", "role": "cadre",
            "region": "MA-03", "preferred_language": "fr",
            "enrolments-TOTAL_FORMS": "0", "enrolments-INITIAL_FORMS": "0",
        },
    )  # fmt: skip
    assert response.status_code == 200
    assert "Sélectionnez un choix valide" in response.content.decode()
    assert not Participant.objects.filter(last_name="Berrada").exists()


def test_a_manager_creates_a_participant_through_the_service(client, two_regions):
    client.force_login(manager("rabat", regions=["MA-04"]))
    response = client.post(
        reverse("admin:cohorts_participant_add"),
        {
            "first_name": "Omar", "last_name": "Berrada", "sex": "M", "role": "cadre",
            "region": "MA-04", "preferred_language": "fr", "email": "Omar.Berrada@Example.org",
            "enrolments-TOTAL_FORMS": "0", "enrolments-INITIAL_FORMS": "0",
        },
    )  # fmt: skip
    assert response.status_code == 302, response.content.decode()[:2000]
    assert Participant.objects.get(last_name="Berrada").email == "omar.berrada@example.org"


def test_the_attendance_sheet_records_the_roster_in_one_save(client, two_regions):
    session = two_regions["rabat_session"]
    others = [EnrolmentFactory(cohort=session.cohort).participant for _ in range(2)]
    user = manager("rabat", regions=["MA-04"])
    client.force_login(user)
    url = reverse("admin:cohorts_trainingsession_roster", args=[session.pk])
    page = client.get(url)
    assert page.status_code == 200
    rabati = two_regions["rabat"].participant
    assert f'name="status-{rabati.pk}"' in page.content.decode()
    response = client.post(
        url,
        {
            f"status-{rabati.pk}": "late",
            f"note-{rabati.pk}": "Arrivé à 10 h",
            f"status-{others[0].pk}": "excused",
            "_all_present": "1",
        },
    )
    assert response.status_code == 302
    marks = dict(Attendance.objects.values_list("participant_id", "status"))
    assert marks == {rabati.pk: "late", others[0].pk: "excused", others[1].pk: "present"}
    assert Attendance.objects.get(participant=rabati).note == "Arrivé à 10 h"
    assert set(AttendanceHistory.objects.values_list("changed_by", flat=True)) == {user.pk}


def test_a_bad_line_on_the_sheet_saves_nothing_and_says_which(client, two_regions):
    session = two_regions["rabat_session"]
    other = EnrolmentFactory(cohort=session.cohort).participant
    client.force_login(manager("rabat", regions=["MA-04"]))
    url = reverse("admin:cohorts_trainingsession_roster", args=[session.pk])
    rabati = two_regions["rabat"].participant
    response = client.post(
        url,
        {f"status-{rabati.pk}": "present", f"status-{other.pk}": "present",
         f"minutes-{other.pk}": "100000"},
    )  # fmt: skip
    html = response.content.decode()
    assert response.status_code == 200
    assert 'id="roster-error"' in html
    assert "100000 minutes, c’est plus long que la séance (420 min)." in html
    assert not Attendance.objects.exists()


def test_the_sheet_refuses_to_record_a_session_that_has_not_started(client, two_regions):
    future = SessionFactory(
        cohort=two_regions["rabat"].cohort,
        starts_at=datetime.datetime(2099, 1, 5, 9, tzinfo=datetime.UTC),
    )
    client.force_login(manager("rabat", regions=["MA-04"]))
    url = reverse("admin:cohorts_trainingsession_roster", args=[future.pk])
    rabati = two_regions["rabat"].participant
    response = client.post(url, {f"status-{rabati.pk}": "present"})
    assert response.status_code == 200
    assert not Attendance.objects.exists()


def test_the_import_page_previews_then_commits(client, two_regions):
    client.force_login(manager("rabat", regions=["MA-04"]))
    url = reverse("admin:cohorts_participant_import")
    content = "Nom,Prénom,Sexe,Rôle,Région,E-mail\nAlami,Nadia,F,cadre,MA-04,nadia@example.org\n"
    from django.core.files.uploadedfile import SimpleUploadedFile

    upload = SimpleUploadedFile("liste.csv", content.encode(), content_type="text/csv")
    preview = client.post(url, {"file": upload})
    html = preview.content.decode()
    assert preview.status_code == 200
    assert 'id="import-preview"' in html and "Nadia ALAMI" in html
    assert not Participant.objects.filter(last_name="Alami").exists()
    token = preview.context["token"]
    done = client.post(url, {"token": token})
    assert done.status_code == 302
    assert Participant.objects.get(last_name="Alami").region_id == "MA-04"


def test_the_import_page_lists_the_errors_in_french(client, two_regions):
    client.force_login(manager("rabat", regions=["MA-04"]))
    from django.core.files.uploadedfile import SimpleUploadedFile

    content = "Nom,Prénom,Sexe,Rôle,Région\nAlami,Nadia,Z,cadre,MA-03\n"
    upload = SimpleUploadedFile("liste.csv", content.encode(), content_type="text/csv")
    response = client.post(reverse("admin:cohorts_participant_import"), {"file": upload})
    html = response.content.decode()
    assert 'id="import-errors"' in html
    assert "Cette région est hors des régions que vous gérez." in html
    assert not Participant.objects.filter(last_name="Alami").exists()


def test_a_trainee_or_funder_account_cannot_enter_the_admin(client):
    client.force_login(UserFactory(username="trainee"))
    response = client.get(reverse("admin:cohorts_participant_changelist"))
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]


def test_exports_download_the_scoped_selection(client, two_regions):
    client.force_login(manager("rabat", regions=["MA-04"]))
    ids = list(Participant.objects.values_list("pk", flat=True))
    response = client.post(
        reverse("admin:cohorts_participant_changelist"),
        {"action": "export_csv", "_selected_action": ids},
    )
    assert response["Content-Type"].startswith("text/csv")
    body = response.content.decode("utf-8-sig")
    assert "Rabati" in body and "Fassi" not in body


def test_the_cohort_progress_page_shows_each_participants_rate_from_the_rule(client, two_regions):
    from cohorts import services
    from cohorts.services import Mark

    session = two_regions["rabat_session"]
    other = EnrolmentFactory(cohort=session.cohort).participant
    rabati = two_regions["rabat"].participant
    services.attendance_roster_record(
        session=session, marks=[Mark(rabati.pk, "present"), Mark(other.pk, "absent")]
    )
    client.force_login(manager("rabat", regions=["MA-04"]))
    url = reverse("admin:certificates_cohortprogress_change", args=[session.cohort.pk])
    response = client.get(url)
    assert response.status_code == 200
    rows = {r.enrolment.participant_id: r.progress for r in response.context["rows"]}
    assert rows[rabati.pk].eligible and not rows[other.pk].eligible
    html = response.content.decode()
    assert "100 % (1/1)" in html and "0 % (0/1)" in html
    assert response.context["eligible"] == 1
    fes = reverse("admin:certificates_cohortprogress_change", args=[two_regions["fes"].cohort.pk])
    assert client.get(fes).status_code == 404
