"""Every invariant of the domain, with bad input: rejected with a clear message, nothing saved.

Each is checked twice: through the services (what users meet) and straight against the
database (the safety net for anything that bypasses them).
"""

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from cohorts import services
from cohorts.models import Attendance, Enrolment, Participant, TrainingSession
from tests.factories import (
    CASABLANCA,
    AttendanceFactory,
    CohortFactory,
    EnrolmentFactory,
    ParticipantFactory,
    SessionFactory,
    programme,
    region,
)

pytestmark = pytest.mark.django_db


def _participant_fields(**overrides):
    fields = {
        "first_name": "Amina",
        "last_name": "Benali",
        "sex": "F",
        "role": "cadre",
        "region": region("MA-06"),
        "email": "amina.benali@example.org",
    }
    return fields | overrides


def test_the_twelve_regions_exist_after_migrate_with_iso_codes_and_arabic_names():
    from cohorts.models import Region

    regions = {r.code: r for r in Region.objects.all()}
    assert sorted(regions) == [f"MA-{n:02d}" for n in range(1, 13)]
    assert regions["MA-04"].name_fr == "Rabat-Salé-Kénitra"
    assert regions["MA-04"].name_ar == "جهة الرباط سلا القنيطرة"
    assert regions["MA-12"].capital == "Dakhla"


def test_the_shipped_regions_file_matches_the_shared_reference():
    """The app ships its own copy (a deployment has no ../shared); it must not drift."""
    import csv
    from pathlib import Path

    from django.conf import settings

    shipped = settings.REFERENCE_DIR / "regions.csv"
    with shipped.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert [r["iso_code"] for r in rows] == [f"MA-{n:02d}" for n in range(1, 13)]
    shared = Path(settings.BASE_DIR).parent / "shared" / "reference" / "regions.csv"
    if shared.exists():  # beside a checkout in development and CI, not in a deployment
        assert shipped.read_bytes() == shared.read_bytes()


def test_the_programme_and_its_partners_exist_after_migrate():
    prog = programme()
    assert (prog.start_date, prog.end_date) == (
        datetime.date(2018, 1, 1),
        datetime.date(2021, 12, 31),
    )
    assert sorted(o.short_name for o in prog.partners.all()) == [
        "AFD", "ARM", "DGCL", "Occitanie", "RdF",
    ]  # fmt: skip


# One enrolment per participant and cohort ---------------------------------------------


def test_a_second_enrolment_in_the_same_cohort_is_refused_with_a_message():
    enrolment = EnrolmentFactory()
    with pytest.raises(ValidationError) as exc:
        services.enrolment_create(participant=enrolment.participant, cohort=enrolment.cohort)
    assert "already enrolled" in str(exc.value) or "existe déjà" in str(exc.value)
    assert Enrolment.objects.count() == 1


def test_the_database_refuses_a_second_enrolment():
    enrolment = EnrolmentFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        Enrolment.objects.create(
            participant=enrolment.participant,
            cohort=enrolment.cohort,
            enrolled_on=enrolment.enrolled_on,
        )
    assert Enrolment.objects.count() == 1


def test_a_withdrawal_without_a_date_is_refused_by_the_database():
    enrolment = EnrolmentFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        Enrolment.objects.filter(pk=enrolment.pk).update(status="withdrawn")
    enrolment.refresh_from_db()
    assert enrolment.status == "active"


def test_a_withdrawal_before_the_enrolment_is_refused():
    enrolment = EnrolmentFactory()
    with pytest.raises(ValidationError) as exc:
        services.enrolment_withdraw(
            enrolment=enrolment, withdrawn_on=enrolment.enrolled_on - datetime.timedelta(days=1)
        )
    assert "precede" in str(exc.value)
    enrolment.refresh_from_db()
    assert (enrolment.status, enrolment.withdrawn_on) == ("active", None)


# One attendance mark per participant and session --------------------------------------


def test_the_database_refuses_a_second_mark_for_the_same_session():
    mark = AttendanceFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        Attendance.objects.create(
            participant=mark.participant,
            session=mark.session,
            status="absent",
            recorded_at=mark.recorded_at,
        )
    assert Attendance.objects.get().status == "present"


def test_recording_twice_updates_the_one_mark():
    mark = AttendanceFactory()
    services.attendance_record(session=mark.session, participant=mark.participant, status="late")
    assert list(Attendance.objects.values_list("status", flat=True)) == ["late"]


# A mark only for a participant enrolled in the session's cohort ------------------------


def test_a_mark_for_someone_not_enrolled_is_refused_by_the_service():
    session = SessionFactory()
    outsider = ParticipantFactory()
    with pytest.raises(ValidationError) as exc:
        services.attendance_record(session=session, participant=outsider, status="present")
    assert exc.value.message_dict == {"participant": ["This person is not enrolled in the cohort."]}
    assert not Attendance.objects.exists()


def test_a_mark_for_someone_enrolled_in_another_cohort_is_refused_by_the_database():
    session = SessionFactory()
    elsewhere = EnrolmentFactory(cohort=CohortFactory(year=2019))
    with pytest.raises(IntegrityError) as exc, transaction.atomic():
        Attendance.objects.create(
            participant=elsewhere.participant,
            session=session,
            status="present",
            recorded_at=session.ends_at,
        )
    assert "attendance_requires_enrolment" in str(exc.value)
    assert not Attendance.objects.exists()


def test_moving_a_mark_to_a_session_of_another_cohort_is_refused_by_the_database():
    mark = AttendanceFactory()
    other_session = SessionFactory(cohort=CohortFactory())
    with pytest.raises(IntegrityError), transaction.atomic():
        Attendance.objects.filter(pk=mark.pk).update(session=other_session)
    mark.refresh_from_db()
    assert mark.session_id != other_session.pk


# Sessions end after they start and fall inside the programme's dates -------------------


def _session_fields(cohort, starts_at, hours=7):
    return {
        "cohort": cohort,
        "title": "Finances régionales",
        "starts_at": starts_at,
        "ends_at": starts_at + datetime.timedelta(hours=hours),
        "city": "Rabat",
        "planned_hours": Decimal("6"),
    }


def test_a_session_that_ends_before_it_starts_is_refused():
    cohort = CohortFactory()
    start = datetime.datetime(2019, 5, 6, 9, tzinfo=CASABLANCA)
    with pytest.raises(ValidationError) as exc:
        services.session_create(**_session_fields(cohort, start, hours=-2))
    assert exc.value.message_dict["ends_at"] == ["A session must end after it starts."]
    assert not TrainingSession.objects.exists()


def test_the_database_refuses_a_session_that_ends_before_it_starts():
    session = SessionFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        TrainingSession.objects.filter(pk=session.pk).update(ends_at=session.starts_at)


@pytest.mark.parametrize(
    "start",
    [
        datetime.datetime(2017, 12, 31, 9, tzinfo=CASABLANCA),
        datetime.datetime(2022, 1, 3, 9, tzinfo=CASABLANCA),
    ],
)
def test_a_session_outside_the_programme_dates_is_refused(start):
    cohort = CohortFactory()
    with pytest.raises(ValidationError) as exc:
        services.session_create(**_session_fields(cohort, start))
    assert "within the programme's dates" in exc.value.message_dict["starts_at"][0]
    assert not TrainingSession.objects.exists()


def test_the_programme_boundary_is_judged_in_local_time():
    cohort = CohortFactory()
    # 31 December 2021, 23:00 in Casablanca is already 1 January in some zones, not here.
    start = datetime.datetime(2021, 12, 31, 16, tzinfo=CASABLANCA)
    session = services.session_create(**_session_fields(cohort, start, hours=7))
    assert session.pk


def test_a_naive_datetime_is_refused_with_a_message():
    cohort = CohortFactory()
    start = datetime.datetime(2019, 5, 6, 9)  # noqa: DTZ001 (the point of the test)
    with pytest.raises(ValidationError) as exc:
        services.session_create(**_session_fields(cohort, start))
    assert "time zone" in exc.value.message_dict["starts_at"][0]


def test_a_cohort_year_outside_the_programme_is_refused():
    with pytest.raises(ValidationError) as exc:
        services.cohort_create(
            programme=programme(), code="p-2023", name="Promotion 2023", year=2023,
            regions=[region("MA-01")],
        )  # fmt: skip
    assert "2018–2021" in exc.value.message_dict["year"][0]


# E-mails unique when present -----------------------------------------------------------


def test_two_participants_without_e_mail_are_fine():
    services.participant_create(**_participant_fields(email=None))
    services.participant_create(**_participant_fields(email="", first_name="Karim", sex="M"))
    assert Participant.objects.filter(email__isnull=True).count() == 2


def test_a_duplicate_e_mail_is_refused_whatever_its_case():
    services.participant_create(**_participant_fields())
    with pytest.raises(ValidationError) as exc:
        services.participant_create(**_participant_fields(email="  Amina.BENALI@example.org "))
    assert exc.value.messages == ["Another participant already has this e-mail."]
    assert Participant.objects.count() == 1


def test_the_database_refuses_a_duplicate_e_mail_in_another_case():
    ParticipantFactory(email="a.b@example.org")
    with pytest.raises(IntegrityError), transaction.atomic():
        ParticipantFactory(email="A.B@example.org")


def test_the_database_refuses_an_empty_string_e_mail():
    with pytest.raises(IntegrityError), transaction.atomic():
        Participant.objects.create(**_participant_fields(email=""))


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("sex", "X", "Value 'X' is not a valid choice."),
        ("role", "ministre", "Value 'ministre' is not a valid choice."),
        ("email", "not-an-email", "Enter a valid email address."),
        ("first_name", "", "This field cannot be blank."),
    ],
)
def test_bad_participant_fields_are_refused_field_by_field(field, value, message):
    with pytest.raises(ValidationError) as exc:
        services.participant_create(**_participant_fields(**{field: value}))
    assert exc.value.message_dict[field] == [message]
    assert not Participant.objects.exists()
