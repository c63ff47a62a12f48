"""An import reports every bad row and every bad field of the file in one answer (nothing
written), enrolment dates included: an enrolment before its cohort starts or after it
ends is an error, in the import and in every other way of enrolling."""

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.utils import translation

from cohorts import services
from cohorts.errors import LineErrors
from cohorts.imports import participants_import
from cohorts.models import Enrolment, EnrolmentHistory, Participant
from tests.factories import CohortFactory, ParticipantFactory, UserFactory, region

pytestmark = pytest.mark.django_db

HEADER = ";".join(
    ["Nom", "Prénom", "Sexe", "Rôle", "Région", "E-mail", "Date de consentement", "Cohorte",
     "Date d'inscription"]
)  # fmt: skip


def _csv(*lines: str) -> bytes:
    return ("\n".join([HEADER, *lines]) + "\n").encode("utf-8")


@pytest.fixture
def cohort():
    return CohortFactory(
        code="2019-centre",
        year=2019,
        regions=[region("MA-04")],
        starts_on=datetime.date(2019, 1, 1),
        ends_on=datetime.date(2019, 12, 20),
    )


@pytest.fixture
def admin_user():
    return UserFactory(username="root", is_staff=True, is_superuser=True)


ROWS = [
    # row 2: good
    "Benali;Amina;F;cadre;MA-04;amina@example.org;2019-01-10;2019-centre;2019-01-15",
    # row 3: a consent date that does not exist
    "Alaoui;Omar;M;élu;MA-04;omar@example.org;31/02/2019;2019-centre;2019-01-15",
    # row 4: a bad e-mail, and an enrolment date that is no date
    "Chraibi;Nadia;F;cadre;MA-04;nadia@;2019-01-10;2019-centre;2019-13-01",
    # row 5: a consent date that is no date
    "Dahbi;Youssef;M;cadre;MA-04;youssef@example.org;hier;2019-centre;2019-02-01",
    # row 6: a bad e-mail
    "El Fassi;Leila;F;élu;MA-04;pas une adresse;2019-01-10;2019-centre;2019-02-01",
    # row 7: enrolled before the cohort starts
    "Fikri;Hamid;M;élu;MA-04;hamid@example.org;2018-05-01;2019-centre;2018-06-01",
]


def test_three_bad_dates_two_bad_e_mails_and_an_early_enrolment_are_six_errors_at_once(
    cohort, admin_user
):
    with translation.override("en"), pytest.raises(LineErrors) as exc:
        participants_import(name="liste.csv", content=_csv(*ROWS), user=admin_user, commit=True)
    errors = [(e["line"], e["field"], e["message"]) for e in exc.value.as_list()]
    not_a_date = "is not a date: write 2019-03-25 or 25/03/2019."
    assert errors == [
        (3, "consent date", f"“31/02/2019” {not_a_date}"),
        (4, "e-mail", "Enter a valid email address."),
        (4, "enrolment date", f"“2019-13-01” {not_a_date}"),
        (5, "consent date", f"“hier” {not_a_date}"),
        (6, "e-mail", "Enter a valid email address."),
        (7, "enrolment date", "Enrolled on 2018-06-01, before the cohort starts (2019-01-01)."),
    ]
    assert not Participant.objects.exists()
    assert not Enrolment.objects.exists()
    assert not EnrolmentHistory.objects.exists()


def test_the_preview_reports_the_same_six_errors(cohort, admin_user):
    with pytest.raises(LineErrors) as exc:
        participants_import(name="liste.csv", content=_csv(*ROWS), user=admin_user, commit=False)
    assert len(exc.value.errors) == 6
    assert not Participant.objects.exists()


def test_an_enrolment_after_the_cohort_ends_is_an_error_in_french_and_arabic(cohort, admin_user):
    late = "Benali;Amina;F;cadre;MA-04;amina@example.org;2019-01-10;2019-centre;2020-01-06"
    expected = {
        "fr": "Inscription datée du 2020-01-06, après la fin de la cohorte (2019-12-20).",
        "ar": "تسجيل بتاريخ 2020-01-06، بعد انتهاء الفوج (2019-12-20).",
    }
    for language, message in expected.items():
        with translation.override(language), pytest.raises(LineErrors) as exc:
            participants_import(name="l.csv", content=_csv(late), user=admin_user, commit=True)
        assert [(e.line, e.message) for e in exc.value.errors] == [(2, message)]
    assert not Participant.objects.exists()


def test_a_good_file_within_the_cohorts_dates_imports(cohort, admin_user):
    result = participants_import(
        name="liste.csv", content=_csv(ROWS[0]), user=admin_user, commit=True
    )
    assert (result.created, result.enrolled) == (1, 1)
    assert Enrolment.objects.get().enrolled_on == datetime.date(2019, 1, 15)


@pytest.mark.parametrize("day", [datetime.date(2018, 12, 31), datetime.date(2019, 12, 21)])
def test_the_service_refuses_an_enrolment_outside_the_cohorts_dates(cohort, day):
    with pytest.raises(ValidationError) as exc:
        services.enrolment_create(participant=ParticipantFactory(), cohort=cohort, enrolled_on=day)
    assert "enrolled_on" in exc.value.message_dict
    assert not Enrolment.objects.exists()


def test_a_cohort_without_dates_takes_any_enrolment_date(admin_user):
    cohort = CohortFactory(year=2019)
    enrolment = services.enrolment_create(
        participant=ParticipantFactory(), cohort=cohort, enrolled_on=datetime.date(2018, 11, 2)
    )
    assert enrolment.pk


def test_the_admin_says_an_enrolment_is_outside_the_cohorts_dates(client, cohort, admin_user):
    from django.forms import modelform_factory

    from cohorts.admin import EnrolmentDateForm

    person = ParticipantFactory(region=region("MA-04"))
    client.force_login(admin_user)
    response = client.post(
        "/admin/cohorts/enrolment/add/",
        {
            "participant": person.pk,
            "cohort": cohort.pk,
            "status": "active",
            "enrolled_on": "2018-12-01",
            "withdrawal_reason": "",
        },
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.status_code == 200
    assert "Enrolled on 2018-12-01, before the cohort starts (2019-01-01)." in (
        response.content.decode()
    )
    assert not Enrolment.objects.exists()
    # The cohort page's inline: its cohort is the one being edited.
    form_class = modelform_factory(
        Enrolment, form=EnrolmentDateForm, fields=["participant", "enrolled_on"]
    )
    with translation.override("en"):
        form = form_class(
            {"participant": person.pk, "enrolled_on": "2019-12-21"},
            instance=Enrolment(cohort=cohort),
        )
        assert form.errors["enrolled_on"] == [
            "Enrolled on 2019-12-21, after the cohort ends (2019-12-20)."
        ]
