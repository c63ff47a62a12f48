"""The funders' dashboard and its PDF report: who may see it, what they see, no one named."""

import csv
import io
import re
from urllib.parse import parse_qs, urlparse

import pytest
from django.test import Client
from openpyxl import load_workbook
from pypdf import PdfReader

from cohorts import services
from cohorts.models import FunderProfile, Organisation
from reports.selectors import ReportFilters, progress_report
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

URL = "/dashboard/"
TIMELINE_URL = "/dashboard/timeline/"
PDF_URL = "/dashboard/report.pdf"


def _cohort(code, year, sexes):
    """A cohort in one region, one session held, everyone present; distinctive names."""
    cohort = CohortFactory(regions=[region(code)], year=year)
    session = SessionFactory(cohort=cohort)
    people = []
    for i, sex in enumerate(sexes):
        person = ParticipantFactory(
            region=region(code),
            sex=sex,
            role="elu",
            first_name=f"Zineb{code[-2:]}x{i}",
            last_name=f"QARQOURI{code[-2:]}x{i}",
            email=f"zq{code[-2:]}x{i}@secret.example",
        )
        EnrolmentFactory(cohort=cohort, participant=person)
        people.append(person)
    services.attendance_roster_record(
        session=session, marks=[services.Mark(p.pk, "present") for p in people]
    )
    return cohort, people


@pytest.fixture
def programme():
    _, rabat = _cohort("MA-04", 2021, "FFFFFMMMMM")  # 10 people
    _, fes = _cohort("MA-03", 2019, "FFFMMMM")  # 7 people
    _, tangier = _cohort("MA-01", 2020, "FFM")  # 3 people: withheld from funders
    return rabat + fes + tangier


@pytest.fixture
def funder():
    user = UserFactory(username="afd")
    FunderProfile.objects.create(user=user, organisation=Organisation.objects.get(short_name="AFD"))
    return user


def _client(user=None, language="en"):
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    if user is not None:
        client.force_login(user)
    return client


def _table(html: str, table_id: str) -> str:
    start = html.index(f'<table id="{table_id}"')
    return html[start : html.index("</table>", start)]


def _rows(html: str, table_id: str) -> dict[str, dict[str, str]]:
    """{row key: {measure: data-value}} of one table, "suppressed" when withheld."""
    rows = {}
    for key, body in re.findall(
        r'<tr data-key="([^"]+)"[^>]*>(.*?)</tr>', _table(html, table_id), re.S
    ):
        rows[key] = {
            measure: "suppressed" if flag else value
            for measure, value, flag in re.findall(
                r'data-measure="([^"]+)" data-value="([^"]*)"( data-suppressed="true")?', body
            )
        }
    return rows


TABLES = ("by-region", "by-year", "by-sex", "by-role", "by-region-year", "timeline")


def _download_links(html: str) -> dict[str, str]:
    return dict(re.findall(r'id="download-([\w-]+)" href="([^"]+)"', html))


def _names(people):
    for person in people:
        yield person.first_name
        yield person.last_name
        yield person.email


# Who may open it -------------------------------------------------------------------------


@pytest.mark.parametrize("url", [URL, PDF_URL, TIMELINE_URL])
def test_anonymous_visitors_are_sent_to_sign_in(url):
    response = _client().get(url)
    assert response.status_code == 302
    assert response["Location"].startswith("/login/?next=")


@pytest.mark.parametrize("url", [URL, PDF_URL, TIMELINE_URL])
def test_a_trainee_is_refused(url, programme):
    trainee = UserFactory(username="trainee")
    programme[0].user = trainee
    programme[0].save()
    assert _client(trainee).get(url).status_code == 403


# What each role sees ---------------------------------------------------------------------


def test_a_funder_sees_small_groups_as_dashes_and_the_rest_in_numbers(funder, programme):
    response = _client(funder).get(URL)
    assert response.status_code == 200
    html = response.content.decode()
    by_region = _rows(html, "by-region")
    assert by_region["MA-01"]["enrolled"] == "suppressed"
    # MA-04's groups (region, year, sex, role) hold 5 people each: exact.
    assert by_region["MA-04"]["enrolled"] == "10"
    # MA-03's 7 people are two groups of 3 and 4 (by sex): each rounded to a multiple
    # of 5 (reports.disclosure), so its figure is one too; MA-01's 3 people are rounded
    # into the total the same way.
    ma03 = int(by_region["MA-03"]["enrolled"])
    assert ma03 % 5 == 0
    assert (int(by_region["total"]["enrolled"]) - 10 - ma03) % 5 == 0
    assert "groups of fewer than 5 people are not shown" in html
    assert 'data-suppressed="true"><span aria-hidden="true">—</span>' in html
    # Women's share: MA-04 has 5 women out of 10; MA-01 is withheld, so unknown.
    assert by_region["MA-04"]["women_share"] == "5/10"
    assert by_region["MA-01"]["women_share"] == "suppressed"


def test_a_manager_sees_every_number(programme):
    html = _client(manager("national")).get(URL).content.decode()
    by_region = _rows(html, "by-region")
    assert by_region["MA-01"]["enrolled"] == "3"
    assert by_region["MA-01"]["women_share"] == "2/3"
    assert 'id="suppression-note"' not in html
    assert 'data-suppressed="true"' not in html


def test_a_scoped_manager_sees_only_their_regions(programme):
    html = _client(manager("rsk", regions=["MA-04"])).get(URL).content.decode()
    assert set(_rows(html, "by-region")) == {"MA-04", "total"}
    assert _rows(html, "by-region")["total"]["enrolled"] == "10"
    region_choices = re.findall(r'<option value="(MA-\d\d)"', html)
    assert region_choices == ["MA-04"]


def test_the_page_shows_the_numbers_of_the_progress_report(programme):
    user = manager("national")
    html = _client(user).get(URL).content.decode()
    for key, table in [("region", "by-region"), ("year", "by-year"), ("sex", "by-sex")]:
        report = progress_report(group_by=[key], filters=ReportFilters())
        shown = _rows(html, table)
        for row in report.rows:
            cells = shown[str(row[key])]
            assert cells["enrolled"] == str(row["enrolled"])
            assert cells["people"] == str(row["people"])
            assert cells["certificates_issued"] == str(row["certificates_issued"])
            rate = row["attendance_rate"]
            assert cells["attendance_rate"] == f"{rate['numerator']}/{rate['denominator']}"
            rate = row["completion_rate"]
            assert cells["completion_rate"] == f"{rate['numerator']}/{rate['denominator']}"
    headline = dict(re.findall(r'class="fact" data-measure="([^"]+)" data-value="([^"]*)"', html))
    assert headline["people"] == "20"
    assert headline["women_share"] == "10/20"


def test_filters_narrow_the_figures(funder, programme):
    html = _client(funder).get(URL, {"year": "2019"}).content.decode()
    assert set(_rows(html, "by-region")) == {"MA-03", "total"}
    html = _client(funder).get(URL, {"region": "MA-04"}).content.decode()
    assert set(_rows(html, "by-year")) == {"2021", "total"}
    assert '<option value="MA-04" selected>' in html


@pytest.mark.parametrize("query", [{"year": "abc"}, {"year": "1999"}, {"region": "MA-13"}])
def test_a_bad_filter_is_explained_and_ignored(funder, programme, query):
    response = _client(funder).get(URL, query)
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="filter-errors"' in html
    unfiltered = _rows(_client(funder).get(URL).content.decode(), "by-region")
    assert _rows(html, "by-region")["total"] == unfiltered["total"]


def test_the_dashboard_draws_its_charts(funder, programme):
    html = _client(funder).get(URL).content.decode()
    figures = re.findall(r'<figure class="chart".*?</figure>', html, re.S)
    assert len(figures) >= 5
    for figure in figures:
        assert 'role="img"' in figure and "<title id=" in figure and "<figcaption>" in figure
    assert len(set(re.findall(r'<clipPath id="([^"]+)"', html))) == len(figures)


# Nobody named, in any format -------------------------------------------------------------


@pytest.mark.parametrize("who", ["funder", "manager"])
def test_no_one_is_named_in_the_page_or_the_downloads(who, funder, programme):
    user = funder if who == "funder" else manager("national")
    client = _client(user)
    html = client.get(URL).content.decode()
    links = {k: v.replace("&amp;", "&") for k, v in _download_links(html).items()}
    assert set(links) == {"pdf", "xlsx"} | {f"csv-{t}" for t in TABLES}
    csv_text = "\n".join(client.get(links[f"csv-{t}"]).content.decode("utf-8-sig") for t in TABLES)
    workbook = load_workbook(io.BytesIO(client.get(links["xlsx"]).content))
    xlsx_text = " ".join(
        str(value)
        for sheet in workbook.worksheets
        for row in sheet.iter_rows(values_only=True)
        for value in row
    )
    pdf = client.get(links["pdf"])
    assert pdf["Content-Type"] == "application/pdf"
    pdf_text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.content)).pages)
    assert len(list(csv.reader(io.StringIO(csv_text)))) > 2
    for text in (html, csv_text, xlsx_text, pdf_text):
        for name in _names(programme):
            assert name not in text


def test_the_page_does_not_wait_for_the_figures_over_time(funder, programme):
    """The table over time adds up every enrolment's marks per year: the page leaves it to
    its own page, which the dashboard loads after it is shown (site.js), so the first view
    after a write computes only the published tables."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = _client(funder)
    with CaptureQueriesContext(connection) as queries:
        html = client.get(URL).content.decode()
    assert not any("cohorts_progressyear" in q["sql"] for q in queries.captured_queries)
    assert f'data-load="{TIMELINE_URL}"' in html and 'id="timeline"' not in html
    timeline = client.get(TIMELINE_URL).content.decode()
    assert '<table id="timeline"' in timeline and 'id="timeline-section"' in timeline
    assert 'id="download-csv-timeline"' in html


def test_with_filters_a_funder_is_told_the_figures_over_time_are_the_programmes(funder, programme):
    html = _client(funder).get(URL, {"year": "2019"}).content.decode()
    assert "data-load" not in html and "whole programme only" in html
    timeline = _client(funder).get(TIMELINE_URL, {"year": "2019"}).content.decode()
    assert '<table id="timeline"' not in timeline and "whole programme only" in timeline


def test_the_download_links_carry_the_filters(funder, programme):
    html = _client(funder).get(URL, {"year": "2021", "region": "MA-04"}).content.decode()
    links = _download_links(html)
    assert set(links) >= {"pdf", "xlsx", "csv-by-region"}
    for link in links.values():
        query = parse_qs(urlparse(link.replace("&amp;", "&")).query)
        assert query == {"year": ["2021"], "region": ["MA-04"]}


# The PDF report ---------------------------------------------------------------------------


def test_the_pdf_report_has_the_charts_and_tables(funder, programme):
    response = _client(funder).get(PDF_URL)
    assert response.status_code == 200
    assert response.content.startswith(b"%PDF")
    assert "attachment" in response["Content-Disposition"]
    reader = PdfReader(io.BytesIO(response.content))
    text = " ".join(page.extract_text() for page in reader.pages)
    for title in (
        "Programme progress report",
        "Enrolment by region",
        "Attendance rate by region",
        "Completion rate by year",
        "Certificates issued by year",
        "By region",
        "By role",
        "Rabat-Salé-Kénitra",
    ):
        assert title in text
    assert reader.pages[0].mediabox.width == pytest.approx(595.27, abs=1)


def test_the_pdf_report_in_arabic_uses_amiri(funder, programme):
    response = _client(funder, "ar").get(PDF_URL)
    assert response.status_code == 200
    reader = PdfReader(io.BytesIO(response.content))
    fonts = set()
    for page in reader.pages:
        for font in page["/Resources"]["/Font"].values():
            fonts.add(str(font.get_object()["/BaseFont"]))
    assert any("Amiri" in font for font in fonts)
    text = " ".join(page.extract_text() for page in reader.pages)
    # Shaped: Arabic letters in their contextual (presentation) forms.
    assert re.search("[\ufe70-\ufeff]", text)


def test_the_pdf_report_respects_the_filters(funder, programme):
    reader = PdfReader(io.BytesIO(_client(funder).get(PDF_URL, {"year": "2019"}).content))
    text = " ".join(page.extract_text() for page in reader.pages)
    assert "Fès-Meknès" in text
    assert "Rabat-Salé-Kénitra" not in text
