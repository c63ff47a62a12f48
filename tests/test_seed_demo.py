"""The demo data: plausible, consistent with every invariant, deterministic and idempotent."""

import datetime
import hashlib
import io
import re
from collections import Counter
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.db.models import Exists, OuterRef
from django.utils import timezone

from certificates.rules import Rule, evaluate
from cohorts import demo
from cohorts.models import (
    Attendance,
    Cohort,
    Enrolment,
    FunderProfile,
    Organisation,
    Participant,
    Programme,
    Region,
    TrainingSession,
)
from cohorts.roles import MANAGERS_GROUP, region_scope
from cohorts.selectors import counts_of, enrolments_with_counts, sessions_without_attendance
from tests.factories import (
    CASABLANCA,
    AttendanceFactory,
    EnrolmentFactory,
    ParticipantFactory,
    SessionFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    # Seven demo accounts get a password on every run; the default hasher is slow on purpose.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def seed(*args: str) -> tuple[str, str]:
    """Seed without certificates unless asked (issuing ~400 PDFs takes seconds)."""
    out, err = StringIO(), StringIO()
    if not any(arg.endswith("certificates") for arg in args):
        args = (*args, "--no-certificates")
    call_command("seed_demo", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def fingerprint() -> tuple[list, ...]:
    """Everything generated, by natural keys (ids change from one load to the next)."""
    people = Participant.objects.filter(email__endswith="@demo.region2021.ma").values_list(
        "email",
        "first_name",
        "last_name",
        "first_name_ar",
        "last_name_ar",
        "sex",
        "role",
        "position",
        "region_id",
        "phone",
        "preferred_language",
        "consent_date",
    )
    cohorts = Cohort.objects.values_list("code", "name", "year", "regions")
    sessions = TrainingSession.objects.values_list(
        "cohort__code", "title", "theme", "starts_at", "ends_at", "city", "venue", "modality"
    )
    enrolments = Enrolment.objects.values_list(
        "participant__email", "cohort__code", "status", "enrolled_on", "withdrawn_on"
    )
    marks = Attendance.objects.values_list(
        "participant__email", "session__cohort__code", "session__starts_at", "status", "note"
    )
    return tuple(sorted(qs) for qs in (people, cohorts, sessions, enrolments, marks))


def local_day(moment: datetime.datetime) -> datetime.date:
    return timezone.localtime(moment, CASABLANCA).date()


def test_the_small_scale_covers_every_region_every_year_with_plausible_people():
    out, _ = seed()

    assert "Demo data generated (scale small, seed 2021)" in out
    people = list(Participant.objects.all())
    assert 450 <= len(people) <= 560
    assert Cohort.objects.count() == 16
    for year in (2018, 2019, 2020, 2021):
        cohorts = Cohort.objects.filter(year=year)
        assert cohorts.count() == 4
        covered = set(cohorts.values_list("regions", flat=True))
        assert covered == set(Region.objects.values_list("code", flat=True))
    assert Cohort.objects.filter(code="2019-nord", name="Promotion 2019 — Nord").exists()
    assert {p.region_id for p in people} == set(Region.objects.values_list("code", flat=True))

    elected = [p for p in people if p.role == Participant.Role.ELECTED]
    staff = [p for p in people if p.role == Participant.Role.STAFF]
    assert 0.28 <= len(elected) / len(people) <= 0.42

    def women(group):
        return sum(p.sex == Participant.Sex.FEMALE for p in group) / len(group)

    assert 0.22 <= women(people) <= 0.36
    assert women(elected) > women(staff)  # the élus' quota of seats for women
    positions = Counter(p.position for p in people)
    assert positions["Conseillère régionale"] and positions["Directeur général des services"]
    # Positions agree with the person's sex.
    feminine = ("Conseillère", "Cheffe", "Directrice", "Vice-présidente", "Présidente")
    masculine = ("Conseiller ", "Chef ", "Directeur", "Vice-président ", "Président ")
    for p in people:
        forms = masculine if p.sex == Participant.Sex.FEMALE else feminine
        assert not p.position.startswith(forms), p.position


def test_people_have_unique_ascii_emails_moroccan_phones_and_arabic_names():
    seed()
    people = list(Participant.objects.all())
    emails = [p.email for p in people]
    assert len(set(emails)) == len(emails)
    assert all(re.fullmatch(r"[a-z0-9.-]+\.\d+@demo\.region2021\.ma", e) for e in emails)
    assert all(re.fullmatch(r"\+2126\d{8}", p.phone) for p in people if p.phone)
    assert sum(bool(p.phone) for p in people) > 0.9 * len(people)
    with_arabic = [p for p in people if p.first_name_ar and p.last_name_ar]
    assert 0.8 * len(people) <= len(with_arabic) < len(people)
    assert all(re.search(r"[\u0600-\u06ff]", p.full_name_ar) for p in with_arabic)
    languages = Counter(p.preferred_language for p in people)
    assert languages["fr"] > languages["ar"] > languages["en"] > 0
    assert languages["fr"] > len(people) / 2
    enrolled_on = dict(Enrolment.objects.values_list("participant_id", "enrolled_on"))
    assert all(p.consent_date and p.consent_date <= enrolled_on[p.pk] for p in people)


def test_sessions_are_weekdays_in_a_capital_of_the_cohort_inside_the_programme():
    seed()
    programme = Programme.objects.get(code="R2021")
    sessions = list(
        TrainingSession.objects.select_related("cohort").prefetch_related("cohort__regions")
    )
    assert 16 * 18 <= len(sessions) <= 16 * 22
    for session in sessions:
        start = timezone.localtime(session.starts_at, CASABLANCA)
        end = timezone.localtime(session.ends_at, CASABLANCA)
        assert programme.start_date <= start.date() <= programme.end_date
        assert start.year == session.cohort.year
        assert start.weekday() < 5 and start.month != 8
        assert (start.hour, start.minute) == (9, 0) and start.date() == end.date()
        assert end.hour <= 17
        assert session.planned_hours in {6, 7}
        assert session.city in {r.capital for r in session.cohort.regions.all()}
        remote = session.modality != TrainingSession.Modality.IN_PERSON
        assert bool(session.online_url) == remote
    modalities = Counter(s.modality for s in sessions)
    assert modalities["in_person"] > len(sessions) / 2
    assert modalities["remote"] and modalities["hybrid"]
    lockdown = [
        s
        for s in sessions
        if datetime.date(2020, 3, 20) <= local_day(s.starts_at) <= datetime.date(2020, 6, 10)
    ]
    assert lockdown and all(s.modality == "remote" for s in lockdown)


def test_attendance_is_only_for_enrolled_people_and_stops_at_withdrawal():
    seed()
    marks = Attendance.objects.select_related("session")
    enrolled = Enrolment.objects.filter(
        participant_id=OuterRef("participant_id"), cohort_id=OuterRef("session__cohort_id")
    )
    assert marks.exists()
    assert not marks.exclude(Exists(enrolled)).exists()

    enrolments = list(Enrolment.objects.all())
    withdrawn = [e for e in enrolments if e.status == Enrolment.Status.WITHDRAWN]
    assert 0.03 <= len(withdrawn) / len(enrolments) <= 0.10
    for enrolment in withdrawn:
        assert enrolment.withdrawn_on >= enrolment.enrolled_on and enrolment.withdrawal_reason
        days = [
            local_day(a.session.starts_at)
            for a in marks.filter(participant_id=enrolment.participant_id)
        ]
        assert len(days) >= 2  # they left mid-way, not before starting
        assert max(days) <= enrolment.withdrawn_on
    assert all(e.withdrawn_on is None for e in enrolments if e.status == "active")


def test_every_demo_enrolment_falls_within_its_cohorts_dates():
    seed()
    enrolments = Enrolment.objects.select_related("cohort")
    assert enrolments.exists()
    for enrolment in enrolments:
        cohort = enrolment.cohort
        assert cohort.starts_on <= enrolment.enrolled_on <= cohort.ends_on
        first = cohort.sessions.order_by("starts_at").first()
        last = cohort.sessions.order_by("starts_at").last()
        assert cohort.starts_on < local_day(first.starts_at)
        assert cohort.ends_on == local_day(last.starts_at)


def test_attendance_varies_by_person_and_leaves_a_few_late_sessions_unrecorded():
    seed()
    statuses = Counter(Attendance.objects.values_list("status", flat=True))
    assert statuses["present"] > 0.7 * statuses.total()
    assert statuses["late"] and statuses["excused"] and statuses["absent"]
    late = Attendance.objects.filter(status="late").select_related("session")
    assert all(0 < a.minutes_attended < a.session.planned_hours * 60 for a in late)

    unrecorded = list(sessions_without_attendance(Cohort.objects.all()))
    assert 1 <= len(unrecorded) <= 5
    assert all(local_day(s.starts_at) >= datetime.date(2021, 10, 1) for s in unrecorded)

    progress = [
        evaluate(counts_of(e), Rule())
        for e in enrolments_with_counts(Enrolment.objects.filter(status="active"))
    ]
    eligible = sum(p.eligible for p in progress) / len(progress)
    assert 0.65 <= eligible <= 0.95  # most make it, a tail does not
    assert min(p.rate.value for p in progress) < 0.6


def test_running_it_twice_changes_nothing():
    seed()
    before = fingerprint()

    out, err = seed()

    assert "Demo data already loaded (scale small)" in out
    assert err == ""
    assert fingerprint() == before


def test_reset_rebuilds_the_same_data_from_the_same_seed():
    seed()
    before = fingerprint()
    first_ids = set(Participant.objects.values_list("pk", flat=True))

    out, _ = seed("--reset")

    assert "Demo data rebuilt (scale small, seed 2021)" in out
    assert fingerprint() == before
    assert first_ids.isdisjoint(Participant.objects.values_list("pk", flat=True))


def test_another_seed_gives_other_data_of_the_same_shape():
    seed()
    before = fingerprint()

    seed("--reset", "--seed", "7")

    after = fingerprint()
    assert after[0] != before[0] and after[4] != before[4]
    assert 450 <= len(after[0]) <= 560
    assert [c[:3] for c in after[1]] == [c[:3] for c in before[1]]  # same cohorts


def test_reset_keeps_reference_data_and_everybody_else():
    session = SessionFactory(cohort__code="real-2019", cohort__year=2019)
    mark = AttendanceFactory(session=session)
    references = (Region.objects.count(), Programme.objects.count(), Organisation.objects.count())
    seed()

    seed("--reset")

    assert Attendance.objects.filter(pk=mark.pk).exists()
    assert Cohort.objects.filter(code="real-2019").exists()
    assert Participant.objects.filter(pk=mark.participant_id).exists()
    assert (Region.objects.count(), Programme.objects.count(), Organisation.objects.count()) == (
        references
    )


def test_reset_refuses_to_delete_a_demo_cohort_that_holds_someone_else():
    seed()
    EnrolmentFactory(cohort=Cohort.objects.get(code="2019-nord"), participant=ParticipantFactory())
    before = fingerprint()

    with pytest.raises(CommandError, match="not demo data .*2019-nord"):
        seed("--reset")

    assert fingerprint() == before


def test_asking_for_another_scale_than_the_loaded_one_changes_nothing():
    seed()
    before = fingerprint()

    with pytest.raises(CommandError, match="small demo data set is loaded.*--reset"):
        seed("--scale", "national")

    assert fingerprint() == before


def test_the_demo_accounts_have_their_roles_and_scopes():
    out, _ = seed()
    User = get_user_model()
    users = {u.username: u for u in User.objects.all()}

    assert users["admin"].is_superuser and users["admin"].is_staff
    assert region_scope(users["admin"]) is None
    for name in ("manager", "manager-rsk"):
        assert users[name].is_staff and not users[name].is_superuser
        assert users[name].groups.filter(name=MANAGERS_GROUP).exists()
    assert region_scope(users["manager"]) is None
    assert region_scope(users["manager-rsk"]) == frozenset({"MA-04"})
    funders = dict(FunderProfile.objects.values_list("user__username", "organisation__short_name"))
    assert funders == {"funder-arm": "ARM", "funder-rdf": "RdF", "funder-afd": "AFD"}
    for name in ("trainee", "funder-arm", "funder-rdf", "funder-afd"):
        assert not users[name].is_staff and region_scope(users[name]) == frozenset()
    assert all(u.check_password(demo.DEMO_PASSWORD) for u in users.values())
    assert len(users) == 7

    trainee = Participant.objects.get(user=users["trainee"])
    enrolment = enrolments_with_counts(Enrolment.objects.filter(participant=trainee)).get()
    assert trainee.region_id == "MA-04" and enrolment.cohort.year == 2021
    assert enrolment.status == "active" and evaluate(counts_of(enrolment), Rule()).eligible
    assert users["trainee"].email == trainee.email

    for name in users:
        assert re.search(rf"^  {re.escape(name)} .*Atlas-Rabat-2018", out, re.MULTILINE)


def test_a_rerun_keeps_changed_passwords_and_reset_sets_them_back():
    seed()
    manager = get_user_model().objects.get(username="manager")
    manager.set_password("changed-by-the-demo-host")
    manager.save()

    seed()
    manager.refresh_from_db()
    assert manager.check_password("changed-by-the-demo-host")

    seed("--reset")
    manager.refresh_from_db()
    assert manager.check_password(demo.DEMO_PASSWORD)
    assert Participant.objects.filter(user__username="trainee").count() == 1


def test_progress_goes_to_stderr_phase_by_phase():
    _, err = seed()

    for phase in ("cohorts", "participants", "sessions", "enrolments", "attendance", "committing"):
        assert re.search(rf"^  {phase} .*\(100 %\) in \d+\.\d s$", err, re.MULTILINE)


def test_the_national_plan_has_the_promised_size():
    capitals = dict(Region.objects.values_list("code", "capital"))

    plan = demo.plan(seed=2021, scale=demo.SCALES["national"], capitals=capitals)

    people = list(plan.people)
    assert 45_000 <= len(people) <= 55_000
    assert 900_000 <= plan.mark_count <= 1_100_000
    assert all(26 <= len(c.members) <= 37 for c in plan.cohorts)
    assert len({c.code for c in plan.cohorts}) == len(plan.cohorts)
    assert all(re.fullmatch(demo.DEMO_COHORT_CODE, c.code) for c in plan.cohorts)
    assert len({p.email for p in people}) == len(people)
    withdrawn = sum(p.withdrawn_on is not None for p in people) / len(people)
    assert 0.05 <= withdrawn <= 0.08


# Long (about a minute): in `make test-slow`, which .ci/run runs too.
@pytest.mark.slow
def test_seed_demo_issues_the_certificates_of_ended_cohorts_through_the_service():
    from certificates.models import Certificate, CertificateFile, Credential
    from certificates.selectors import certificates_due
    from cohorts.models import Cohort

    out, _err = seed("--certificates")
    issued = Certificate.objects.count()
    assert issued > 300  # ~80 % of ~500 people meet the rule; every demo cohort has ended
    assert f"Certificates issued now: {issued:,}." in out
    assert CertificateFile.objects.count() == issued
    # Each with its Open Badges credential, signed in the same bulk path.
    assert Credential.objects.filter(version=1, revoked_at__isnull=True).count() == issued
    assert Certificate.objects.filter(emailed_at__isnull=True).count() == 0  # fake addresses
    assert certificates_due(Cohort.objects.all()) == []
    again, _err = seed("--certificates")
    assert "Certificates issued now: 0." in again and Certificate.objects.count() == issued
    seed("--reset", "--certificates")
    assert Certificate.objects.count() == issued  # same seed: the same people qualify


# Certificates issued in bulk ------------------------------------------------------------


def assert_issued_like_the_service(certificate, *, hours, today):
    """What `certificate_issue` guarantees of a fresh certificate, checked on the stored
    rows, the file and the public verification."""
    from pypdf import PdfReader

    from certificates import codes
    from certificates.models import Certificate, CertificateFile
    from certificates.pdf import render_certificate_pdf
    from certificates.selectors import certificate_by_code
    from certificates.services import _certificate_data
    from certificates.verification import verify_code, verify_file

    certificate = Certificate.objects.select_related("participant", "cohort").get(pk=certificate.pk)
    participant, cohort = certificate.participant, certificate.cohort
    region = participant.region_id.replace("-", "")
    assert certificate.serial == f"R2021-{cohort.year}-{region}-{certificate.pk:05d}"
    assert codes.normalise(certificate.verification_code) == certificate.verification_code
    assert (certificate.status, certificate.version) == (Certificate.Status.ISSUED, 1)
    assert (certificate.issued_on, certificate.hours_attended) == (today, hours)
    assert certificate.revoked_at is None and certificate.emailed_at is not None
    assert certificate.pdf.name == f"certificates/{certificate.serial}-v1.pdf"
    content = certificate.pdf.read()
    assert certificate.sha256 == hashlib.sha256(content).hexdigest()
    # The very bytes the service renders for this certificate.
    assert content == render_certificate_pdf(_certificate_data(certificate))
    (file,) = CertificateFile.objects.filter(certificate=certificate)
    assert (file.version, file.pdf.name, file.sha256) == (
        1,
        certificate.pdf.name,
        certificate.sha256,
    )
    assert (file.superseded_at, file.reason) == (None, "")
    text = PdfReader(io.BytesIO(content)).pages[0].extract_text()
    for printed in (certificate.serial, certificate.verification_code, participant.full_name):
        assert printed in text
    assert certificate_by_code(certificate.verification_code) == certificate
    assert verify_code(codes.display(certificate.verification_code)).status == "valid"
    assert verify_file(certificate, content) == "current"


def test_the_bulk_path_issues_the_certificate_the_service_issues():
    from certificates.bulk import certificate_issue_due
    from certificates.models import Certificate
    from certificates.selectors import certificates_due, enrolments_progress
    from certificates.services import certificate_issue

    seed()
    cohorts = Cohort.objects.filter(code="2019-nord")
    due = certificates_due(cohorts)
    hours = {
        row.enrolment.pk: row.progress.hours_attended
        for row in enrolments_progress(Enrolment.objects.filter(cohort__in=cohorts))
    }
    by_service, heard = [], []

    def progress(phase: str, done: int, total: int) -> None:
        heard.append((phase, done, total))
        if phase == "eligibility" and done == total:  # a worker issues the last one meanwhile
            certificate = certificate_issue(
                participant=due[-1].participant, cohort=due[-1].cohort, notify=False
            )
            Certificate.objects.filter(pk=certificate.pk).update(emailed_at=timezone.now())
            by_service.append(certificate)

    # The first batch goes in bulk; the last one meets the certificate issued meanwhile
    # and goes one by one through the service.
    issued = certificate_issue_due(
        cohorts=cohorts,
        emailed_at=timezone.now(),
        processes=2,
        batch_size=len(due) - 3,
        progress=progress,
    )

    assert issued == len(due) - 1 and len(due) > 10
    assert heard == [
        ("eligibility", 0, 1),  # each phase starts at 0: the command times it from there
        ("eligibility", 1, 1),
        ("certificates", 0, len(due)),
        ("certificates", len(due) - 3, len(due)),
        ("certificates", len(due), len(due)),
    ]
    certificates = {c.participant_id: c for c in Certificate.objects.all()}
    assert len(certificates) == len(due)
    assert certificates[due[-1].participant_id] == by_service[0]
    today = timezone.localdate()
    for enrolment in due:
        certificate = certificates[enrolment.participant_id]
        assert_issued_like_the_service(certificate, hours=hours[enrolment.pk], today=today)
    assert certificates_due(cohorts) == []


@pytest.mark.slow  # about 18 s: in make test-slow
def test_seed_demo_issues_certificates_by_default_with_progress_and_never_twice():
    from certificates.models import Certificate, CertificateFile
    from certificates.selectors import certificates_due
    from certificates.services import certificate_issue

    seed()
    due = certificates_due(Cohort.objects.all())
    earlier = certificate_issue(participant=due[0].participant, cohort=due[0].cohort)
    out, err = StringIO(), StringIO()

    call_command("seed_demo", stdout=out, stderr=err)  # no --certificates: the default

    assert f"Certificates issued now: {len(due) - 1:,}." in out.getvalue()
    for phase in ("eligibility", "certificates"):
        assert re.search(rf"^  {phase} .*\(100 %\) in \d+\.\d s$", err.getvalue(), re.MULTILINE)
    pairs = list(Certificate.objects.values_list("participant_id", "cohort_id"))
    assert len(pairs) == len(set(pairs)) == len(due)
    assert Certificate.objects.get(pk=earlier.pk).sha256 == earlier.sha256
    assert CertificateFile.objects.count() == len(due)
    assert not Certificate.objects.filter(emailed_at__isnull=True).exclude(pk=earlier.pk)
    before = sorted(Certificate.objects.values_list("pk", "serial", "sha256"))

    again, _ = seed("--certificates")

    assert "Certificates issued now: 0." in again
    assert sorted(Certificate.objects.values_list("pk", "serial", "sha256")) == before
