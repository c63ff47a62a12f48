"""Importing participants and enrolments from CSV and XLSX: all or nothing."""

import io

import pytest
from django.utils import translation
from openpyxl import Workbook, load_workbook

from cohorts.errors import LineErrors
from cohorts.exports import enrolments_table, participants_table
from cohorts.imports import participants_import
from cohorts.models import Enrolment, Participant
from cohorts.tables import write_csv, write_xlsx
from tests.factories import CohortFactory, ParticipantFactory, UserFactory, manager, region

pytestmark = pytest.mark.django_db

HEADER = ";".join(
    ["Nom", "Prénom", "Nom (arabe)", "Prénom (arabe)", "Sexe", "Rôle", "Fonction", "Région",
     "E-mail", "Téléphone", "Langue", "Cohorte"]
)  # fmt: skip


def _csv(*lines: str) -> bytes:
    return ("\n".join([HEADER, *lines]) + "\n").encode("utf-8")


@pytest.fixture
def cohort():
    return CohortFactory(code="2019-centre", year=2019, regions=[region("MA-04"), region("MA-06")])


@pytest.fixture
def admin_user():
    return UserFactory(username="root", is_staff=True, is_superuser=True)


GOOD = [
    "Benali;Amina;بنعلي;أمينة;F;cadre;Cheffe de division;MA-04;amina@example.org;+212600000001;ar;"
    "2019-centre",
    "El Idrissi;Karim;;;M;élu;Vice-président;Casablanca-Settat;karim@example.org;;fr;2019-centre",
    "Tazi;Salma;;;femme;Cadre;Ingénieure;6;;;;",
]


def test_a_good_csv_file_imports_every_row_and_enrols_them(cohort, admin_user):
    result = participants_import(
        name="liste.csv", content=_csv(*GOOD), user=admin_user, commit=True
    )
    assert (result.created, result.updated, result.enrolled) == (3, 0, 2)
    amina = Participant.objects.get(email="amina@example.org")
    assert (amina.last_name_ar, amina.sex, amina.role, amina.region_id) == (
        "بنعلي",
        "F",
        "cadre",
        "MA-04",
    )
    assert amina.preferred_language == "ar"
    karim = Participant.objects.get(email="karim@example.org")
    assert (karim.role, karim.region_id) == ("elu", "MA-06")
    salma = Participant.objects.get(last_name="Tazi")
    assert (salma.sex, salma.email, salma.region_id) == ("F", None, "MA-06")
    assert set(Enrolment.objects.values_list("participant__last_name", flat=True)) == {
        "Benali", "El Idrissi",
    }  # fmt: skip
    assert {e.history.count() for e in Enrolment.objects.all()} == {1}


def test_the_preview_reports_the_same_result_and_saves_nothing(cohort, admin_user):
    preview = participants_import(
        name="liste.csv", content=_csv(*GOOD), user=admin_user, commit=False
    )
    assert (preview.created, preview.enrolled) == (3, 2)
    assert [r["action"] for r in preview.rows] == ["created"] * 3
    assert not Participant.objects.exists()
    assert not Enrolment.objects.exists()


def test_a_file_with_bad_rows_imports_nothing_and_reports_every_bad_row(cohort, admin_user):
    existing = ParticipantFactory(email="deja@example.org")
    content = _csv(
        GOOD[0],
        "Naciri;;;;X;ministre;;MA-13;pas-un-email;;klingon;2019-nord",
        GOOD[1],
        "Doublon;Amina;;;F;cadre;;MA-04;AMINA@example.org;;;",
    )
    with pytest.raises(LineErrors) as exc:
        participants_import(name="liste.csv", content=content, user=admin_user, commit=True)
    assert [(e.line, e.field) for e in exc.value.errors] == [
        (3, "cohort"), (3, "e-mail"), (3, "first name"), (3, "language"), (3, "region"),
        (3, "role"), (3, "sex"), (5, "e-mail"),
    ]  # fmt: skip
    messages = {(e.line, e.field): e.message for e in exc.value.errors}
    # In the same answer as the others: the model's own check of the e-mail's form.
    assert messages[(3, "e-mail")] == "Enter a valid email address."
    assert messages[(3, "sex")] == "“X” is not a sex: write F or M."
    assert messages[(3, "region")].startswith("Unknown region “MA-13”")
    assert messages[(5, "e-mail")] == "This e-mail already appears on row 2."
    assert list(Participant.objects.all()) == [existing]
    assert not Enrolment.objects.exists()


def test_an_invalid_e_mail_found_by_the_model_is_reported_on_its_row(cohort, admin_user):
    content = _csv(GOOD[0], "Naciri;Omar;;;M;cadre;;MA-04;pas-un-email;;;")
    with pytest.raises(LineErrors) as exc:
        participants_import(name="liste.csv", content=content, user=admin_user, commit=True)
    assert exc.value.as_list() == [
        {"line": 3, "field": "e-mail", "message": "Enter a valid email address."}
    ]
    assert not Participant.objects.exists()


def test_errors_are_reported_in_the_users_language(cohort, admin_user):
    content = _csv("Naciri;Omar;;;X;cadre;;MA-04;;;;")
    with translation.override("fr"), pytest.raises(LineErrors) as exc:
        participants_import(name="liste.csv", content=content, user=admin_user, commit=True)
    assert exc.value.as_list() == [
        {"line": 2, "field": "sexe", "message": "« X » n’est pas un sexe : écrivez F ou M."}
    ]


def test_a_known_e_mail_updates_that_participant(cohort, admin_user):
    existing = ParticipantFactory(email="amina@example.org", position="Stagiaire")
    result = participants_import(
        name="liste.csv", content=_csv(GOOD[0]), user=admin_user, commit=True
    )
    assert (result.created, result.updated, result.enrolled) == (0, 1, 1)
    existing.refresh_from_db()
    assert existing.position == "Cheffe de division"


def test_missing_and_unknown_columns_are_reported_on_row_1(admin_user):
    content = "Nom;Prénom;Couleur\nBenali;Amina;bleu\n".encode()
    with pytest.raises(LineErrors) as exc:
        participants_import(name="liste.csv", content=content, user=admin_user, commit=True)
    assert {e.message for e in exc.value.errors} == {
        "Unknown column “Couleur”.",
        "Missing column “sex”.",
        "Missing column “role”.",
        "Missing column “region”.",
    }
    assert {e.line for e in exc.value.errors} == {1}


def test_an_unreadable_file_is_refused_with_a_message(admin_user):
    for name, content, message in [
        ("liste.pdf", b"%PDF", "Unsupported file type: send a .csv or .xlsx file."),
        ("liste.xlsx", b"not a zip", "The XLSX file cannot be read."),
        ("liste.csv", "Nom;Prénom\n".encode("utf-16"), "The CSV file must be encoded in UTF-8."),
        ("liste.csv", b"", "The file is empty."),
    ]:
        with pytest.raises(LineErrors) as exc:
            participants_import(name=name, content=content, user=admin_user, commit=True)
        assert [e.message for e in exc.value.errors] == [message]


def test_an_xlsx_file_imports_with_real_dates(cohort, admin_user):
    import datetime

    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["last name", "first name", "sex", "role", "region", "consent date", "cohort",
                  "enrolment date"])  # fmt: skip
    # Spreadsheet cells hold naive date-times: that is what openpyxl reads back.
    consent, enrolled = datetime.datetime(2019, 1, 10), datetime.datetime(2019, 1, 15)  # noqa: DTZ001
    sheet.append(["Alaoui", "Nadia", "F", "elu", "MA-04", consent, "2019-centre", enrolled])
    buffer = io.BytesIO()
    workbook.save(buffer)
    participants_import(name="liste.xlsx", content=buffer.getvalue(), user=admin_user, commit=True)
    nadia = Participant.objects.get(last_name="Alaoui")
    assert nadia.consent_date == datetime.date(2019, 1, 10)
    assert Enrolment.objects.get().enrolled_on == datetime.date(2019, 1, 15)


def test_a_scoped_manager_cannot_import_into_another_region(cohort):
    scoped = manager("rabat", regions=["MA-04"])
    with pytest.raises(LineErrors) as exc:
        participants_import(name="l.csv", content=_csv(GOOD[0], GOOD[1]), user=scoped, commit=True)
    assert exc.value.as_list() == [
        {"line": 3, "field": "region", "message": "This region is outside the regions you manage."}
    ]
    assert not Participant.objects.exists()


def test_an_export_can_be_imported_back_unchanged(cohort, admin_user):
    participants_import(name="liste.csv", content=_csv(*GOOD), user=admin_user, commit=True)
    before = list(Participant.objects.order_by("pk").values())
    header, rows = participants_table(Participant.objects.all())
    for writer, name in ((write_csv, "export.csv"), (write_xlsx, "export.xlsx")):
        result = participants_import(
            name=name, content=writer(header, rows), user=admin_user, commit=True
        )
        assert (result.created, result.updated) == (1, 2)  # Salma has no e-mail to match on
    Participant.objects.filter(pk__gt=before[-1]["id"]).delete()
    after = list(Participant.objects.order_by("pk").values())
    for row in before + after:
        row.pop("updated_at")
    assert after == before


def test_the_enrolments_export_has_one_row_per_enrolment(cohort, admin_user):
    participants_import(name="liste.csv", content=_csv(*GOOD), user=admin_user, commit=True)
    header, rows = enrolments_table(Enrolment.objects.all())
    workbook = load_workbook(io.BytesIO(write_xlsx(header, rows)))
    values = list(workbook.active.iter_rows(values_only=True))
    assert values[0][:2] == ("last name", "first name")
    assert sorted((r[0], r[12]) for r in values[1:]) == [
        ("Benali", "2019-centre"), ("El Idrissi", "2019-centre"),
    ]  # fmt: skip
