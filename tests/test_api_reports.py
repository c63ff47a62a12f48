"""The report endpoints: formats, languages, bad parameters, caching and invalidation."""

import csv
import datetime
import io

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from openpyxl import load_workbook
from rest_framework.test import APIClient

from cohorts import services
from cohorts.models import FunderProfile, Organisation
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
def funder():
    user = UserFactory(username="arm")
    FunderProfile.objects.create(user=user, organisation=Organisation.objects.get(short_name="ARM"))
    return user


def _client(user, language="en"):
    client = APIClient(HTTP_ACCEPT_LANGUAGE=language)
    client.force_authenticate(user)
    return client


def _cohort(code, n, sex="F"):
    """A cohort in MA-04 with n people, one session, everyone present."""
    cohort = CohortFactory(regions=[region(code)])
    session = SessionFactory(cohort=cohort)
    people = [
        EnrolmentFactory(
            cohort=cohort, participant=ParticipantFactory(region=region(code), sex=sex, role="elu")
        ).participant
        for _ in range(n)
    ]
    services.attendance_roster_record(
        session=session, marks=[services.Mark(p.pk, "present") for p in people]
    )
    return cohort, session, people


def test_a_funder_sees_small_groups_withheld_and_totals_intact(funder):
    _cohort("MA-04", 8)
    _cohort("MA-03", 3)
    body = _client(funder).get("/api/v1/reports/progress/?group_by=region").json()
    rows = {row["region"]: row for row in body["rows"]}
    assert body["suppression_threshold"] == 5
    assert rows["MA-03"]["suppressed"] is True and rows["MA-03"]["enrolled"] is None
    # MA-04's 8 people are one group of region, year, sex and role: exact. MA-03's 3
    # are rounded to 0 or 5 (reports.disclosure) and count so in the total, which
    # therefore never gives the 3 away.
    assert rows["MA-04"]["suppressed"] is False and rows["MA-04"]["enrolled"] == 8
    assert body["totals"]["enrolled"] in (8, 13)
    assert body["totals"]["completed"] in (8, 13)


def test_a_manager_sees_the_same_report_without_suppression():
    _cohort("MA-04", 8)
    _cohort("MA-03", 3)
    body = _client(manager("national")).get("/api/v1/reports/progress/?group_by=region").json()
    assert [(r["region"], r["enrolled"]) for r in body["rows"]] == [("MA-03", 3), ("MA-04", 8)]
    assert body["suppression_threshold"] is None


@pytest.mark.parametrize(
    ("query", "field"),
    [("group_by=region,colour", "group_by"), ("group_by=region,region", "group_by"),
     ("year=abc", "year"), ("region=MA-13", "region"), ("cohort=-1", "cohort")],
)  # fmt: skip
def test_bad_parameters_answer_400_with_the_field(query, field):
    response = _client(manager("national")).get(f"/api/v1/reports/progress/?{query}")
    assert response.status_code == 400
    assert list(response.json()["error"]["fields"]) == [field]


def test_the_csv_has_the_same_columns_with_headers_in_the_requests_language():
    _cohort("MA-04", 6)
    user = manager("national")
    english = _client(user, "en").get("/api/v1/reports/progress/?group_by=region&format=csv")
    assert english["Content-Type"].startswith("text/csv")
    assert "attachment" in english["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(english.content.decode("utf-8-sig"))))
    assert rows[0][:4] == ["region", "region name", "people", "enrolled"]
    assert rows[1][:4] == ["MA-04", "Rabat-Salé-Kénitra", "6", "6"]
    assert rows[-1][0] == "total"
    french = _client(user, "fr").get("/api/v1/reports/progress/?group_by=region&format=csv")
    header = next(csv.reader(io.StringIO(french.content.decode("utf-8-sig"))))
    assert header[:4] == ["région", "nom de la région", "personnes", "inscrits"]
    assert len(header) == len(rows[0])


def test_the_xlsx_holds_the_same_numbers_as_the_json():
    _cohort("MA-04", 6)
    client = _client(manager("national"))
    data = client.get("/api/v1/reports/progress/?group_by=sex").json()
    workbook = load_workbook(io.BytesIO(client.get(
        "/api/v1/reports/progress/?group_by=sex&format=xlsx").content))  # fmt: skip
    header, first, total = list(workbook.active.iter_rows(values_only=True))
    assert first[header.index("enrolled")] == data["rows"][0]["enrolled"] == 6
    assert total[header.index("meeting the completion rule")] == data["totals"]["completed"]


def test_a_cached_report_is_served_without_database_work_and_never_stale(
    django_capture_on_commit_callbacks,
):
    cohort, session, people = _cohort("MA-04", 6)
    client = _client(manager("national"))
    url = "/api/v1/reports/progress/?group_by=region"
    first = client.get(url).json()
    assert first["rows"][0]["completed"] == 6
    with CaptureQueriesContext(connection) as queries:
        again = client.get(url).json()
    assert again == first
    assert len(queries) == 0  # the role and scope are kept on the user for the request
    with django_capture_on_commit_callbacks(execute=True):
        services.attendance_roster_record(
            session=session, marks=[services.Mark(p.pk, "absent") for p in people[:3]]
        )
    after = client.get(url).json()
    assert after["rows"][0]["completed"] == 3
    with django_capture_on_commit_callbacks(execute=True):
        services.enrolment_withdraw(
            enrolment=cohort.enrolments.get(participant=people[5]),
            withdrawn_on=session.starts_at.date(),
        )
    assert client.get(url).json()["rows"][0]["withdrawn"] == 1


def test_a_rolled_back_write_leaves_the_cache_alone(django_capture_on_commit_callbacks):
    from cohorts.report_cache import generation

    before = generation()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        _cohort("MA-04", 2)
    assert callbacks  # bumps are queued for after the commit, not run inside
    assert generation() == before


@pytest.mark.parametrize("size", [5, 40])
def test_a_report_request_costs_the_same_queries_at_two_sizes(funder, size):
    for code in ("MA-01", "MA-04", "MA-09"):
        _cohort(code, size)
    client = _client(funder)
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/api/v1/reports/progress/?group_by=region,sex,role,year")
    assert response.status_code == 200
    # role (a manager? a funder?), the rules in force, then the funders' published tables
    # from the progress summary: the finest table with each cell's sessions, one query on
    # every engine (reports.selectors.published_cells). The same at both sizes.
    assert len(queries) == 4, [q["sql"][:60] for q in queries]
    assert "cohorts_progresssummary" in queries[-1]["sql"]


def test_the_timeline_gives_measures_per_month():
    _cohort("MA-04", 6)
    body = _client(manager("national")).get("/api/v1/reports/timeline/?period=month").json()
    assert body["group_by"] == ["period"]
    months = {row["period"]: row for row in body["rows"]}
    assert months["2019-01"]["enrolled"] == 6  # the factory enrols on 15 January
    assert months["2019-03"]["attendance_marks"] == 6  # the session is on 12 March
    assert months["2019-03"]["sessions_held"] == 1


# Fresh by construction --------------------------------------------------------------------


def _completed(client, url="/api/v1/reports/progress/?group_by=region") -> int:
    return client.get(url).json()["totals"]["completed"]


def _rule_world():
    """Six people in MA-04 (one group for funders: exact figures): 4 of 5 sessions
    attended (80 %), so the 80 % default rule is met by all and a 95 % rule by none."""
    cohort = CohortFactory(regions=[region("MA-04")])
    sessions = [
        SessionFactory(
            cohort=cohort, starts_at=datetime.datetime(2019, m, 10, 9, tzinfo=datetime.UTC)
        )
        for m in range(2, 7)
    ]
    people = [
        EnrolmentFactory(
            cohort=cohort,
            participant=ParticipantFactory(region=region("MA-04"), sex="F", role="elu"),
        ).participant
        for _ in range(6)
    ]
    for i, session in enumerate(sessions):
        status = "absent" if i == 0 else "present"
        services.attendance_roster_record(
            session=session, marks=[services.Mark(p.pk, status) for p in people]
        )
    return cohort


def test_a_rule_changed_by_save_in_a_shell_shows_on_the_next_request(
    funder, django_capture_on_commit_callbacks
):
    from certificates.models import CompletionRule

    _rule_world()
    client = _client(funder)
    assert _completed(client) == 6  # now cached
    rule = CompletionRule.objects.get(cohort=None)
    rule.min_attendance_percent = 95
    with django_capture_on_commit_callbacks(execute=True):
        rule.save()  # no service involved: a plain save, as in `manage.py shell`
    assert _completed(client) == 0


def test_a_rule_changed_in_the_admin_shows_on_the_next_request(
    funder, django_capture_on_commit_callbacks
):
    from django.test import Client

    from certificates.models import CompletionRule

    _rule_world()
    client = _client(funder)
    assert _completed(client) == 6
    admin = Client()
    admin.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    rule = CompletionRule.objects.get(cohort=None)
    url = f"/admin/certificates/completionrule/{rule.pk}/change/"
    form = {
        "programme": rule.programme_id,
        "cohort": "",
        "min_attendance_percent": 95,
        "late_counts_as_present": "on",
        "excused_policy": rule.excused_policy,
        "min_hours": "",
    }
    with django_capture_on_commit_callbacks(execute=True):
        response = admin.post(url, form)
    assert response.status_code == 302, response.content.decode()[:2000]
    assert CompletionRule.objects.get(pk=rule.pk).min_attendance_percent == 95
    assert _completed(client) == 0


def test_a_write_in_one_region_leaves_the_other_regions_reports_cached(
    django_capture_on_commit_callbacks,
):
    _, session_04, people_04 = _cohort("MA-04", 6)
    _cohort("MA-01", 6)
    north = _client(manager("north", regions=["MA-01"]))
    national = _client(manager("national"))
    url = "/api/v1/reports/progress/?group_by=region"
    north.get(url), national.get(url)  # both cached
    with django_capture_on_commit_callbacks(execute=True):
        services.attendance_roster_record(
            session=session_04, marks=[services.Mark(p.pk, "absent") for p in people_04]
        )
    with CaptureQueriesContext(connection) as queries:
        north.get(url)
    assert not [q for q in queries if "cohorts_progresssummary" in q["sql"]]  # still cached
    with CaptureQueriesContext(connection) as queries:
        rows = {r["region"]: r for r in national.get(url).json()["rows"]}
    assert [q for q in queries if "cohorts_progresssummary" in q["sql"]]  # computed again
    assert rows["MA-04"]["completed"] == 0 and rows["MA-01"]["completed"] == 6


def test_requests_for_a_missing_report_compute_it_once():
    """Single flight: while one request computes a report, the others wait for it."""
    import threading
    import time
    import uuid

    from reports import caller

    calls = []

    def slow():
        calls.append(1)
        time.sleep(0.3)
        return {"rows": [1]}

    results = []
    key = f"report:test:{uuid.uuid4().hex}"
    threads = [
        threading.Thread(target=lambda: results.append(caller.cached_payload(key, slow)))
        for _ in range(4)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [{"rows": [1]}] * 4
    assert len(calls) == 1


@pytest.mark.parametrize(
    "query",
    ["group_by=cohort", "group_by=region,cohort", "cohort=1", "group_by=sex&cohort=1"],
)
def test_funders_are_told_cohorts_are_not_published_to_them(funder, query):
    """Funders' figures are the published tables of region, year, sex and role
    (reports.disclosure); a cohort is refused with the reason, in their language."""
    response = _client(funder, "fr").get(f"/api/v1/reports/progress/?{query}")
    assert response.status_code == 400
    message = response.json()["error"]["fields"]["group_by"][0]
    assert "cohorte" in message


def test_funders_timeline_is_the_whole_programme_only(funder):
    assert _client(funder).get("/api/v1/reports/timeline/?period=year").status_code == 200
    response = _client(funder).get("/api/v1/reports/timeline/?period=year&region=MA-04")
    assert response.status_code == 400
    assert list(response.json()["error"]["fields"]) == ["period"]


def test_a_funders_every_answer_adds_up_from_the_same_published_cells(funder):
    """Whatever the grouping and filters, a funder's figures are sums of the same
    published cells: the rows of a grouping add up to its total, and a filtered total is
    the matching row of the coarser grouping."""
    _cohort("MA-04", 8)
    _cohort("MA-03", 3)
    _cohort("MA-01", 2, sex="M")
    client = _client(funder)
    get = lambda q: client.get(f"/api/v1/reports/progress/?{q}").json()  # noqa: E731
    by_region_sex = get("group_by=region,sex")
    total = get("group_by=")["totals"]
    # Withheld rows hide their numbers but not from the sums: compare with a manager's
    # view of the same published cells is impossible; so check additivity where shown.
    for region_row in get("group_by=region")["rows"]:
        if region_row["suppressed"]:
            continue
        parts = [r for r in by_region_sex["rows"] if r["region"] == region_row["region"]]
        if all(not r["suppressed"] for r in parts):
            assert sum(r["enrolled"] for r in parts) == region_row["enrolled"]
        filtered = get(f"group_by=sex&region={region_row['region']}")
        assert filtered["totals"]["enrolled"] == region_row["enrolled"]
    assert total["enrolled"] == get("group_by=region")["totals"]["enrolled"]
