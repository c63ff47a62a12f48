"""Managers' pages with Django's test client: access, home flags, the attendance sheet,
the cohort progress page and its exports."""

import csv
import datetime
import io
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from openpyxl import load_workbook

from certificates.selectors import enrolments_progress
from cohorts.models import Attendance, AttendanceHistory, Enrolment, FunderProfile, Organisation
from tests.factories import (
    AttendanceFactory,
    CohortFactory,
    EnrolmentFactory,
    ParticipantFactory,
    SessionFactory,
    UserFactory,
    manager,
    region,
)

pytestmark = pytest.mark.django_db
PASSWORD = "pass-w0rd-for-tests"


def _session(cohort, days, **kwargs):
    now = timezone.now()
    return SessionFactory(
        cohort=cohort,
        starts_at=now + datetime.timedelta(days=days),
        ends_at=now + datetime.timedelta(days=days, hours=6),
        planned_hours=Decimal("6.00"),
        **kwargs,
    )


@pytest.fixture
def data():
    """A running cohort in MA-04: 4 people; sessions 10 days ago (marked), 2 days ago
    (unmarked), in 3 days and in 20 days. A second cohort in MA-01 for scope checks."""
    cohort = CohortFactory(name="Promotion 2021 RSK", year=2021)
    people = [
        ParticipantFactory(first_name=f"P{i}", last_name=name, region=region("MA-04"))
        for i, name in enumerate(["Alaoui", "Bennani", "Chraibi", "Dahbi"])
    ]
    for person in people:
        EnrolmentFactory(participant=person, cohort=cohort)
    sessions = [_session(cohort, d, title=f"Atelier {i}") for i, d in enumerate([-10, -2, 3, 20])]
    for i, person in enumerate(people):
        AttendanceFactory(
            session=sessions[0],
            participant=person,
            status="absent" if i == 3 else "present",
        )
    other = CohortFactory(name="Promotion 2021 TTA", year=2021, regions=[region("MA-01")])
    other_person = ParticipantFactory(region=region("MA-01"))
    EnrolmentFactory(participant=other_person, cohort=other)
    other_session = _session(other, -2)
    return {
        "cohort": cohort,
        "people": people,
        "sessions": sessions,
        "other": other,
        "other_session": other_session,
        "manager": manager("mgr-rsk", regions=["MA-04"]),
    }


@pytest.fixture
def mgr(client, data):
    # Pages follow the browser's language; these tests read English.
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    client.force_login(data["manager"])
    return client


def _sheet_url(session):
    return reverse("web:attendance-sheet", args=[session.pk])


def _progress_url(cohort):
    return reverse("web:cohort-progress", args=[cohort.pk])


def _post_sheet(people, statuses, **extra):
    form = {"person": [str(p.pk) for p in people], "save": "1"}
    for person, status in zip(people, statuses, strict=True):
        if status:
            form[f"status-{person.pk}"] = status
    form.update(extra)
    return form


# --- Access -----------------------------------------------------------------------------


def _urls(data):
    return [
        reverse("web:manager-home"),
        _sheet_url(data["sessions"][1]),
        _progress_url(data["cohort"]),
    ]


def test_anonymous_is_sent_to_login(client, data):
    for url in _urls(data):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("web:login"))


def test_trainee_and_funder_are_refused(client, data):
    trainee = UserFactory(username="trainee")
    person = data["people"][0]
    person.user = trainee
    person.save()
    funder = UserFactory(username="funder")
    FunderProfile.objects.create(
        user=funder, organisation=Organisation.objects.get(short_name="AFD")
    )
    for user in (trainee, funder):
        client.force_login(user)
        for url in _urls(data):
            assert client.get(url).status_code == 403


def test_manager_of_another_region_gets_404(client, data):
    client.force_login(manager("mgr-tta", regions=["MA-01"]))
    assert client.get(_sheet_url(data["sessions"][1])).status_code == 404
    assert client.get(_progress_url(data["cohort"])).status_code == 404
    response = client.post(
        _sheet_url(data["sessions"][1]), _post_sheet(data["people"][:1], ["present"])
    )
    assert response.status_code == 404
    assert not Attendance.objects.filter(session=data["sessions"][1]).exists()
    # And their own cohort is there, ours is not.
    home = client.get(reverse("web:manager-home")).content.decode()
    assert data["other"].name in home
    assert data["cohort"].name not in home


def test_out_of_scope_session_is_404_for_the_manager(mgr, data):
    assert mgr.get(_sheet_url(data["other_session"])).status_code == 404
    assert mgr.get(_progress_url(data["other"])).status_code == 404


# --- Home -------------------------------------------------------------------------------


def test_home_lists_cohorts_with_counts_flags_and_upcoming(mgr, data):
    Enrolment.objects.filter(participant=data["people"][3]).update(
        status="withdrawn", withdrawn_on=datetime.date(2021, 2, 1)
    )
    response = mgr.get(reverse("web:manager-home"))
    assert response.status_code == 200
    html = response.content.decode()
    (row,) = response.context["rows"]
    assert (row.active, row.withdrawn, row.sessions_held, row.sessions_total) == (3, 1, 2, 4)
    # The session held 2 days ago has no mark: flagged, with a link to its sheet.
    assert [s.pk for s in row.flagged] == [data["sessions"][1].pk]
    assert f'href="{_sheet_url(data["sessions"][1])}"' in html
    # In 3 days: in the week ahead; in 20 days: not.
    assert [s.pk for s in response.context["upcoming"]] == [data["sessions"][2].pk]
    assert f'href="{_progress_url(data["cohort"])}"' in html
    assert data["other"].name not in html


def test_cancelled_sessions_are_not_flagged(mgr, data):
    data["sessions"][1].__class__.objects.filter(pk=data["sessions"][1].pk).update(
        cancelled_at=timezone.now()
    )
    (row,) = mgr.get(reverse("web:manager-home")).context["rows"]
    assert row.flagged == []
    assert (row.sessions_held, row.sessions_total) == (1, 3)


def test_home_costs_the_same_queries_whatever_the_number_of_cohorts(mgr, data):
    def count():
        with CaptureQueriesContext(connection) as queries:
            assert mgr.get(reverse("web:manager-home") + "?year=all").status_code == 200
        return len(queries)

    before = count()
    for n in range(4):
        cohort = CohortFactory(year=2020)
        for _ in range(3):
            EnrolmentFactory(cohort=cohort)
        _session(cohort, -1 - n)
        _session(cohort, 1 + n)
    after = count()
    assert len(mgr.get(reverse("web:manager-home") + "?year=all").context["rows"]) == 5
    assert after == before


def test_home_shows_the_latest_year_by_default_and_pages_the_cohorts(mgr, data):
    from web.views import manager as manager_views

    older = [CohortFactory(year=2020, name=f"Promotion 2020 — {n:02}") for n in range(3)]
    home = reverse("web:manager-home")
    response = mgr.get(home)
    assert [row.cohort for row in response.context["rows"]] == [data["cohort"]]
    assert response.context["years"] == [2021, 2020]
    response = mgr.get(home + "?year=2020")
    assert [row.cohort for row in response.context["rows"]] == older
    # A page of two: the second page holds the rest, in the same order.
    manager_views.COHORTS_PER_PAGE, previous = 2, manager_views.COHORTS_PER_PAGE
    try:
        first = mgr.get(home + "?year=all")
        second = mgr.get(home + "?year=all&page=2")
    finally:
        manager_views.COHORTS_PER_PAGE = previous
    listed = [row.cohort for r in (first, second) for row in r.context["rows"]]
    assert listed == [data["cohort"], *older]
    assert 'rel="next" href="?year=all&amp;page=2"' in first.content.decode()
    # An unknown year falls back to the latest, never an error.
    assert mgr.get(home + "?year=1999&page=x").status_code == 200


# --- Attendance sheet -------------------------------------------------------------------


def test_sheet_shows_the_roster_with_current_marks(mgr, data):
    response = mgr.get(_sheet_url(data["sessions"][0]))
    html = response.content.decode()
    assert response.status_code == 200
    for person in data["people"]:
        assert f'id="s-{person.pk}-present"' in html
    pk = data["people"][3].pk
    assert f'id="s-{pk}-absent" name="status-{pk}" value="absent" checked' in html
    assert 'id="save"' in html
    assert 'id="last-recording"' in html


def test_save_records_marks_with_recorded_by_and_redirects(mgr, data):
    session = data["sessions"][1]
    people = data["people"]
    form = _post_sheet(people, ["present", "late", "excused", ""])
    form[f"note-{people[1].pk}"] = "Train en retard"
    form[f"minutes-{people[1].pk}"] = "300"
    response = mgr.post(_sheet_url(session), form)
    assert response.status_code == 302
    assert response["Location"] == _sheet_url(session)
    marks = {a.participant_id: a for a in Attendance.objects.filter(session=session)}
    assert {pk: a.status for pk, a in marks.items()} == {
        people[0].pk: "present",
        people[1].pk: "late",
        people[2].pk: "excused",
    }
    assert marks[people[1].pk].note == "Train en retard"
    assert marks[people[1].pk].minutes_attended == 300
    assert all(a.recorded_by == data["manager"] for a in marks.values())
    page = mgr.get(response["Location"]).content.decode()
    assert "Marks saved: 3. Without a status (not recorded): 1." in page
    assert "Last marks recorded on" in page


def test_all_present_without_javascript_fills_the_gaps_and_saves_nothing(mgr, data):
    session = data["sessions"][1]
    form = _post_sheet(data["people"], ["late", "", "", ""], all_present="1")
    del form["save"]
    response = mgr.post(_sheet_url(session), form)
    assert response.status_code == 200
    assert [line.status for line in response.context["lines"]] == [
        "late",
        "present",
        "present",
        "present",
    ]
    assert response.context["unset"] == 0
    assert not Attendance.objects.filter(session=session).exists()


def _unchanged(session):
    return list(
        Attendance.objects.filter(session=session)
        .order_by("pk")
        .values_list("participant_id", "status", "note")
    )


@pytest.mark.parametrize(
    "tamper",
    [
        "bad_status",
        "bad_minutes",
        "too_many_minutes",
        "stranger",
        "withdrawn_meanwhile",
        "garbage_id",
    ],
)
def test_bad_input_is_400_with_a_message_and_nothing_saved(mgr, data, tamper):
    session = data["sessions"][0]  # already marked: the marks must stay as they are
    people = data["people"]
    before = _unchanged(session)
    history = AttendanceHistory.objects.count()
    form = _post_sheet(people, ["late", "late", "late", "late"])
    form[f"note-{people[0].pk}"] = "kept"
    if tamper == "bad_status":
        form[f"status-{people[2].pk}"] = "asleep"
    elif tamper == "bad_minutes":
        form[f"minutes-{people[2].pk}"] = "lots"
    elif tamper == "too_many_minutes":
        form[f"minutes-{people[2].pk}"] = "9999"
    elif tamper == "stranger":
        stranger = ParticipantFactory(region=region("MA-04"))
        form["person"].append(str(stranger.pk))
        form[f"status-{stranger.pk}"] = "present"
    elif tamper == "withdrawn_meanwhile":
        Enrolment.objects.filter(participant=people[2]).update(
            status="withdrawn", withdrawn_on=datetime.date(2021, 2, 1)
        )
    elif tamper == "garbage_id":
        form["person"].append("nobody")
    response = mgr.post(_sheet_url(session), form)
    assert response.status_code == 400
    html = response.content.decode()
    assert 'id="sheet-errors" role="alert"' in html
    assert "Nothing was saved." in html
    assert _unchanged(session) == before
    assert AttendanceHistory.objects.count() == history
    # The choices are kept on the re-rendered form.
    assert 'value="late" checked' in html
    assert 'value="kept"' in html


def test_service_error_is_shown_per_person(mgr, data):
    session = data["sessions"][1]
    people = data["people"]
    form = _post_sheet(people, ["present"] * 4)
    form[f"minutes-{people[1].pk}"] = "9999"
    response = mgr.post(_sheet_url(session), form)
    assert response.status_code == 400
    assert "9999 minutes is longer than the session (360 min)." in response.content.decode()
    assert not Attendance.objects.filter(session=session).exists()


def test_future_session_has_no_save_and_refuses_posts(mgr, data):
    session = data["sessions"][2]
    response = mgr.get(_sheet_url(session))
    html = response.content.decode()
    assert response.context["state"] == "future"
    assert 'id="sheet-closed"' in html
    assert 'id="save"' not in html
    response = mgr.post(_sheet_url(session), _post_sheet(data["people"], ["present"] * 4))
    assert response.status_code == 400
    assert not Attendance.objects.filter(session=session).exists()


def test_cancelled_session_has_no_save(mgr, data):
    session = data["sessions"][1]
    session.cancelled_at = timezone.now()
    session.save()
    response = mgr.get(_sheet_url(session))
    assert response.context["state"] == "cancelled"
    assert 'id="save"' not in response.content.decode()
    response = mgr.post(_sheet_url(session), _post_sheet(data["people"], ["present"] * 4))
    assert response.status_code == 400
    assert not Attendance.objects.filter(session=session).exists()


# --- Progress ---------------------------------------------------------------------------


def _progress_fixture(data):
    """Make the standings differ: people[3] absent twice (at risk), people[2] withdrawn."""
    session = data["sessions"][1]
    people = data["people"]
    for person, status in zip(people[:2], ["present", "late"], strict=True):
        AttendanceFactory(session=session, participant=person, status=status)
    AttendanceFactory(session=session, participant=people[3], status="absent")
    Enrolment.objects.filter(participant=people[2]).update(
        status="withdrawn", withdrawn_on=datetime.date(2021, 2, 1)
    )


def test_progress_numbers_are_those_of_enrolments_progress(mgr, data):
    _progress_fixture(data)
    response = mgr.get(_progress_url(data["cohort"]))
    assert response.status_code == 200
    expected = {
        r.enrolment.participant_id: r.progress
        for r in enrolments_progress(Enrolment.objects.filter(cohort=data["cohort"]))
    }
    lines = response.context["lines"]
    assert len(lines) == 4
    for line in lines:
        assert line.progress == expected[line.participant.pk]
    standings = {line.participant.pk: line.standing for line in lines}
    people = data["people"]
    assert standings[people[0].pk] == "eligible"
    assert standings[people[2].pk] == "withdrawn"
    assert standings[people[3].pk] == "at_risk"
    html = response.content.decode()
    row = html.split(f'data-participant="{people[1].pk}"')[1].split("</tr>")[0]
    assert "2/2" in row and "100 %" in row


def test_progress_filters(mgr, data):
    _progress_fixture(data)
    url = _progress_url(data["cohort"])
    people = data["people"]

    def shown(**params):
        response = mgr.get(url, params)
        assert response.status_code == 200
        return {line.participant.pk for line in response.context["lines"]}

    assert shown(status="at_risk") == {people[3].pk}
    assert shown(status="withdrawn") == {people[2].pk}
    assert shown(status="eligible") == {people[0].pk, people[1].pk}
    assert shown(q="benn") == {people[1].pk}
    assert shown(region="MA-04") == {p.pk for p in people}
    assert mgr.get(url, {"status": "sleepy"}).status_code == 400


def test_progress_csv_export_follows_the_filters(mgr, data):
    _progress_fixture(data)
    response = mgr.get(_progress_url(data["cohort"]), {"status": "eligible", "format": "csv"})
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment;")
    assert response["Content-Disposition"].endswith('.csv"')
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0][:3] == ["Last name", "First name", "Region"]
    assert "Attendance rate (%)" in rows[0]
    assert sorted(r[0] for r in rows[1:]) == ["Alaoui", "Bennani"]
    bennani = next(r for r in rows[1:] if r[0] == "Bennani")
    header = rows[0]
    assert bennani[header.index("Attendance rate (%)")] == "100"
    assert bennani[header.index("Sessions attended")] == "2"
    assert bennani[header.index("Standing")] == "Eligible"


def test_progress_xlsx_export_in_the_page_language(mgr, data):
    _progress_fixture(data)
    response = mgr.get(_progress_url(data["cohort"]), {"format": "xlsx", "q": "dahbi"})
    assert response.status_code == 200
    assert response["Content-Disposition"].endswith('.xlsx"')
    sheet = load_workbook(io.BytesIO(response.content)).worksheets[0]
    rows = list(sheet.iter_rows(values_only=True))
    assert len(rows) == 2
    assert rows[1][0] == "Dahbi"
    assert rows[0][:2] == ("Last name", "First name")
    assert rows[1][rows[0].index("Standing")] == "At risk (no longer reachable)"
    # In French the headers follow the page's language (the catalogue is filled in later,
    # so only check that the region column names the region in French).
    mgr.defaults["HTTP_ACCEPT_LANGUAGE"] = "fr"
    response = mgr.get(_progress_url(data["cohort"]), {"format": "xlsx", "q": "dahbi"})
    rows = list(
        load_workbook(io.BytesIO(response.content)).worksheets[0].iter_rows(values_only=True)
    )
    assert rows[0][2] == "Région"
    assert rows[1][2] == region("MA-04").name_fr


def test_progress_shows_invitation_forms_only_when_the_urls_exist(mgr, data):
    html = mgr.get(_progress_url(data["cohort"])).content.decode()
    try:
        reverse("web:invite-cohort", args=[data["cohort"].pk])
    except NoReverseMatch:
        assert "invite-cohort" not in html
    else:
        assert 'class="invite-cohort"' in html


def test_progress_costs_a_constant_number_of_queries(mgr, data):
    def count():
        with CaptureQueriesContext(connection) as queries:
            assert mgr.get(_progress_url(data["cohort"])).status_code == 200
        return len(queries)

    before = count()
    for _ in range(5):
        person = ParticipantFactory(region=region("MA-04"))
        EnrolmentFactory(participant=person, cohort=data["cohort"])
        AttendanceFactory(session=data["sessions"][0], participant=person)
    assert count() == before


def test_sheet_costs_a_constant_number_of_queries(mgr, data):
    session = data["sessions"][0]

    def count():
        with CaptureQueriesContext(connection) as queries:
            assert mgr.get(_sheet_url(session)).status_code == 200
        return len(queries)

    before = count()
    for _ in range(5):
        person = ParticipantFactory(region=region("MA-04"))
        EnrolmentFactory(participant=person, cohort=data["cohort"])
        AttendanceFactory(session=session, participant=person, status="late")
    assert count() == before
