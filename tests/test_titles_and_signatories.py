"""Cohort and session titles in the reader's language; the programme's signatories on the
certificate."""

import datetime
import io

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from pypdf import PdfReader

from certificates.services import certificate_issue
from cohorts.models import Signatory, in_language
from tests.factories import (
    AttendanceFactory,
    CohortFactory,
    EnrolmentFactory,
    ParticipantFactory,
    SessionFactory,
    programme,
)

pytestmark = pytest.mark.django_db


def test_a_missing_language_falls_back_to_french():
    assert in_language("ar", fr="Promotion", ar="فوج") == "فوج"
    assert in_language("ar-ma", fr="Promotion", ar="فوج") == "فوج"
    assert in_language("en", fr="Promotion", ar="فوج") == "Promotion"
    assert in_language("fr", fr="Promotion", ar="فوج", en="Class") == "Promotion"
    assert in_language(None, fr="Promotion", en="Class") == "Promotion"


def test_cohorts_and_sessions_say_their_title_in_each_language():
    cohort = CohortFactory(name="Promotion 2019 — Nord", name_ar="فوج 2019 — الشمال")
    session = SessionFactory(cohort=cohort, title="Finances locales", title_en="Local finance")
    assert [cohort.title_in(lang) for lang in ("fr", "ar", "en")] == [
        "Promotion 2019 — Nord", "فوج 2019 — الشمال", "Promotion 2019 — Nord",
    ]  # fmt: skip
    assert [session.title_in(lang) for lang in ("fr", "ar", "en")] == [
        "Finances locales", "Finances locales", "Local finance",
    ]  # fmt: skip


def _certificate(cohort):
    amina = ParticipantFactory(first_name="Amina", last_name="TAZI")
    session = SessionFactory(
        cohort=cohort,
        starts_at=datetime.datetime(2019, 3, 12, 9, tzinfo=datetime.UTC),
        ends_at=datetime.datetime(2019, 3, 12, 16, tzinfo=datetime.UTC),
    )
    EnrolmentFactory(participant=amina, cohort=cohort)
    AttendanceFactory(session=session, participant=amina)
    certificate = certificate_issue(participant=amina, cohort=cohort, notify=False)
    certificate.pdf.open("rb")
    try:
        return PdfReader(io.BytesIO(certificate.pdf.read())).pages[0].extract_text()
    finally:
        certificate.pdf.close()


def test_the_certificate_prints_the_programmes_signatories_and_the_arabic_cohort_name():
    Signatory.objects.create(
        programme=programme(), line=Signatory.Line.RIGHT, name_fr="Mustapha Bakkoury",
        title_fr="Président de l’ARM", name_ar="مصطفى الباكوري", title_ar="رئيس جمعية جهات المغرب",
    )  # fmt: skip
    Signatory.objects.create(
        programme=programme(), line=Signatory.Line.LEFT, name_fr="Karima Benyaïch",
        title_fr="Directrice du programme", name_ar="كريمة بنيعيش", title_ar="مديرة البرنامج",
    )  # fmt: skip
    text = _certificate(CohortFactory(name="Promotion 2019 — Nord", name_ar="فوج الشمال"))
    assert text.index("Karima Benyaïch") < text.index("Mustapha Bakkoury")
    assert "Directrice du programme" in text and "Président de l’ARM" in text
    assert "Le directeur du programme" not in text  # the default caption gives way
    assert "ﺍﻟﺸﻤﺎﻝ" in text  # the Arabic column names the cohort in Arabic


def test_without_signatories_the_lines_keep_their_captions():
    text = _certificate(CohortFactory())
    assert "Le directeur du programme" in text


def test_managers_set_the_signatories_in_the_admin():
    client = Client()
    admin = get_user_model().objects.create_superuser("root", "root@example.org", "x-pass-1234")
    client.force_login(admin)
    page = client.get(f"/admin/cohorts/programme/{programme().pk}/change/")
    assert page.status_code == 200
    html = page.content.decode()
    assert 'name="signatories-0-name_fr"' in html or "signatories-TOTAL_FORMS" in html
    cohort_page = client.get("/admin/cohorts/cohort/add/").content.decode()
    assert 'name="name_ar"' in cohort_page and 'name="name_en"' in cohort_page
    session_page = client.get("/admin/cohorts/trainingsession/add/").content.decode()
    assert 'name="title_ar"' in session_page and 'name="title_en"' in session_page


def test_pages_and_the_api_show_titles_in_the_readers_language():
    from tests.factories import UserFactory

    user = UserFactory(username="amina")
    amina = ParticipantFactory(first_name="Amina", last_name="TAZI", user=user)
    cohort = CohortFactory(name="Promotion 2021 — Nord", name_ar="فوج 2021 — الشمال", year=2021)
    SessionFactory(cohort=cohort, title="Finances locales", title_ar="المالية المحلية")
    EnrolmentFactory(participant=amina, cohort=cohort)
    client = Client()
    client.force_login(user)
    arabic = client.get("/me/", HTTP_ACCEPT_LANGUAGE="ar").content.decode()
    assert "فوج 2021 — الشمال" in arabic and "المالية المحلية" in arabic
    french = client.get("/me/", HTTP_ACCEPT_LANGUAGE="fr").content.decode()
    assert "Promotion 2021 — Nord" in french and "Finances locales" in french
    english = client.get("/me/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Promotion 2021 — Nord" in english  # no English name: the French one
    me = client.get("/api/v1/me/", HTTP_ACCEPT_LANGUAGE="ar").json()
    assert me["cohorts"][0]["name"] == "فوج 2021 — الشمال"
    assert me["cohorts"][0]["sessions"][0]["title"] == "المالية المحلية"


def test_an_import_sets_the_cohorts_names_in_arabic_and_english():
    from cohorts.errors import LineErrors
    from cohorts.imports import participants_import
    from tests.factories import UserFactory, region

    cohort = CohortFactory(code="2019-centre", name="Promotion 2019 — Centre", year=2019)
    cohort.regions.set([region("MA-04")])
    root = UserFactory(username="root", is_staff=True, is_superuser=True)
    header = "Nom;Prénom;Sexe;Rôle;Région;Cohorte;Cohorte (arabe);Cohorte (anglais)"
    rows = [
        "Benali;Amina;F;cadre;MA-04;2019-centre;فوج 2019 — الوسط;Class of 2019 — Centre",
        "Tazi;Salma;F;cadre;MA-04;2019-centre;;",
    ]
    content = "\n".join([header, *rows]).encode()
    participants_import(name="liste.csv", content=content, user=root, commit=True)
    cohort.refresh_from_db()
    assert (cohort.name, cohort.name_ar, cohort.name_en) == (
        "Promotion 2019 — Centre", "فوج 2019 — الوسط", "Class of 2019 — Centre",
    )  # fmt: skip
    # A name without the cohort's code is an error on its row, and nothing is written.
    bad = "\n".join([header, "Alaoui;Sara;F;cadre;MA-04;;فوج آخر;"]).encode()
    with pytest.raises(LineErrors) as caught:
        participants_import(name="liste.csv", content=bad, user=root, commit=True)
    assert [(e.line, e.message) for e in caught.value.errors] == [
        (2, "A cohort's name needs the cohort's code on the same row.")
    ]


def test_the_demo_cohorts_have_arabic_names():
    from cohorts.demo import cohort_name_ar

    assert cohort_name_ar("Promotion 2019 — Nord") == "فوج 2019 — الشمال"
    assert cohort_name_ar("Promotion 2020 — Centre-Sud 007") == "فوج 2020 — الوسط الجنوبي 007"
    assert cohort_name_ar("Promotion 2021 — Centre") == "فوج 2021 — الوسط"
