"""The dashboard's downloads: the workbook and the CSV files are the page's tables.

Each test reads the page as a funder's browser gets it, follows the download links found
in it, and compares every sheet and file with the HTML table of the same name.
"""

import csv
import io
import re
from decimal import Decimal
from html.parser import HTMLParser

import pytest
from django.test import Client
from openpyxl import load_workbook

from cohorts import services
from reports.models import Target
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
WITHHELD = "—"
TABLES = ("by-region", "by-year", "by-sex", "by-role", "by-region-year", "timeline")
RATES = {"attendance_rate", "completion_rate", "women_share"}


def _cohort(code: str, year: int, sexes: str) -> list:
    """A cohort in one region, one session held, everyone present."""
    cohort = CohortFactory(regions=[region(code)], year=year)
    session = SessionFactory(cohort=cohort)
    people = []
    for i, sex in enumerate(sexes):
        person = ParticipantFactory(region=region(code), sex=sex, role="elu" if i % 2 else "cadre")
        EnrolmentFactory(cohort=cohort, participant=person)
        people.append(person)
    services.attendance_roster_record(
        session=session, marks=[services.Mark(p.pk, "present") for p in people]
    )
    return people


@pytest.fixture
def programme():
    """Five regions over three years, two of them small enough to be withheld."""
    people = []
    for code, year, sexes in [
        ("MA-04", 2021, "FFFFFMMMMM"),
        ("MA-04", 2019, "FFFMMMMM"),
        ("MA-03", 2019, "FFFMMMM"),
        ("MA-06", 2020, "FFFFMMMMMMMM"),
        ("MA-01", 2020, "FFM"),  # 3 people: withheld from funders
        ("MA-07", 2021, "FM"),  # 2 people: withheld from funders
    ]:
        people += _cohort(code, year, sexes)
    return people


@pytest.fixture
def goals():
    """Targets for some regions and years, and for the whole programme in 2019–2021."""
    for year, code, trained, women, completion, certificates in [
        (2021, "MA-04", 12, "40", "75", 9),
        (2019, "MA-04", 10, "35", "80", 8),
        (2020, "MA-01", 6, "50", "75", 4),  # its actual is withheld; the target is not
        (2019, None, 20, "35", "75", 15),
        (2020, None, 20, "35", "75", 15),
        (2021, None, 25, "40", "75", 20),
    ]:
        Target.objects.create(
            year=year,
            region=region(code) if code else None,
            people_trained=trained,
            women_share_percent=Decimal(women),
            completion_rate_percent=Decimal(completion),
            certificates=certificates,
        )


@pytest.fixture
def funder():
    from cohorts.models import FunderProfile, Organisation

    user = UserFactory(username="afd")
    FunderProfile.objects.create(user=user, organisation=Organisation.objects.get(short_name="AFD"))
    return user


def _client(user, language="en") -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    client.force_login(user)
    return client


# Reading the page -------------------------------------------------------------------------


class _Page(HTMLParser):
    """The page's tables ({id: {"header": [...], "rows": [[cell, ...], ...]}}), each cell a
    dict of its attributes and text, and its links by id."""

    def __init__(self):
        super().__init__()
        self.tables: dict[str, dict] = {}
        self.links: dict[str, str] = {}
        self._table: dict | None = None
        self._row: list | None = None
        self._cell: dict | None = None
        self._hidden = 0  # depth inside aria-hidden or visually-hidden spans

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "a" and a.get("id"):
            self.links[a["id"]] = a["href"]
        if tag == "table" and a.get("id"):
            self._table = {"header": [], "rows": []}
            self.tables[a["id"]] = self._table
        elif self._table is not None and tag == "tr":
            self._row = []
        elif self._row is not None and tag in ("th", "td"):
            self._cell = {**a, "tag": tag, "text": ""}
        elif self._cell is not None and tag == "span":
            hidden = a.get("aria-hidden") == "true" or "visually-hidden" in a.get("class", "")
            self._hidden += 1 if hidden or self._hidden else 0

    def handle_endtag(self, tag):
        if tag == "span" and self._hidden:
            self._hidden -= 1
        elif tag in ("th", "td") and self._cell is not None:
            self._cell["text"] = self._cell["text"].strip()
            self._row.append(self._cell)
            self._cell = None
        elif tag == "tr" and self._row is not None:
            if self._row and all(c["tag"] == "th" and c.get("scope") == "col" for c in self._row):
                self._table["header"] = self._row
            else:
                self._table["rows"].append(self._row)
            self._row = None
        elif tag == "table":
            self._table = None

    def handle_data(self, data):
        if self._cell is not None and not self._hidden:
            self._cell["text"] += data


def _page(client, query=None) -> _Page:
    """The dashboard as the person sees it: with the section it loads after the page (the
    table over time, from its own page), as site.js puts it in."""
    response = client.get(URL, query or {})
    assert response.status_code == 200
    html = response.content.decode()
    page = _Page()
    page.feed(html)
    for later in re.findall(r'<section id="[\w-]+"[^>]* data-load="([^"]+)"', html):
        loaded = client.get(later.replace("&amp;", "&"))
        assert loaded.status_code == 200
        page.feed(loaded.content.decode())
    return page


def _header_label(cell: dict) -> str:
    """A column's full label: a target column shows "Target" and names itself in `title`."""
    return cell.get("title") or cell["text"]


def _expected(cell: dict):
    """What the workbook must hold for a page cell: a number, the dash, text or None."""
    if cell.get("data-suppressed") == "true":
        return WITHHELD
    raw, measure = cell.get("data-value", ""), cell.get("data-measure", "")
    if not raw:
        return cell["text"] or None  # "n/a", or an empty target
    if measure.endswith("_target"):
        return float(raw) if measure.removesuffix("_target") in RATES else int(raw)
    if "/" in raw:
        numerator, denominator = (int(n) for n in raw.split("/"))
        return numerator / denominator if denominator else cell["text"]
    return int(raw)


def _key(text: str):
    """A key as a spreadsheet reads it back: a year is a number, an empty cell None."""
    return int(text) if text.isdigit() else (text or None)


def _withheld_rows(rows) -> int:
    return sum(1 for row in rows if any(value == WITHHELD for value in row))


# The workbook -------------------------------------------------------------------------------


@pytest.mark.parametrize("query", [{}, {"year": "2019"}, {"region": "MA-04"}])
def test_a_funder_downloads_the_workbook_and_each_sheet_is_the_pages_table(
    funder, programme, goals, query
):
    client = _client(funder)
    page = _page(client, query)
    response = client.get(page.links["download-xlsx"])
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    assert 'attachment; filename="progress-report-' in response["Content-Disposition"]
    workbook = load_workbook(io.BytesIO(response.content))

    # Notes first, one sheet per table in the page's order, the charts last. (A funder's
    # timeline is published for the whole programme only: not there with a filter.)
    shown = list(page.tables)
    assert shown == list(TABLES if not query else TABLES[:-1])
    assert len(workbook.worksheets) == len(shown) + 2
    for table_id, sheet in zip(shown, workbook.worksheets[1:-1], strict=True):
        table = page.tables[table_id]
        rows = list(sheet.iter_rows(values_only=True))
        assert list(rows[0]) == [_header_label(c) for c in table["header"]], table_id
        assert len(rows) - 1 == len(table["rows"]), table_id
        for got, cells in zip(rows[1:], table["rows"], strict=True):
            keys = [c for c in cells if c["tag"] == "th"]
            values = [c for c in cells if c["tag"] == "td"]
            assert list(got[: len(keys)]) == [_key(c["text"]) for c in keys], table_id
            for value, cell in zip(got[len(keys) :], values, strict=True):
                expected = _expected(cell)
                if isinstance(expected, float):
                    assert value == pytest.approx(expected), (table_id, cell)
                else:
                    assert value == expected, (table_id, cell)
        # At most the rows the page withholds are withheld (here: exactly those).
        page_withheld = sum(
            1 for cells in table["rows"] if any(c.get("data-suppressed") for c in cells)
        )
        assert _withheld_rows(rows[1:]) <= page_withheld

    charts = workbook.worksheets[-1]
    assert len(charts._charts) == 5
    assert {chart.type for chart in charts._charts} == {"bar", "col"}


def test_the_notes_sheet_says_what_is_withheld_and_how_each_figure_is_counted(funder, programme):
    client = _client(funder)
    page = _page(client)
    workbook = load_workbook(io.BytesIO(client.get(page.links["download-xlsx"]).content))
    notes = workbook.worksheets[0]
    assert notes.title == "Notes"
    text = " ".join(str(v) for row in notes.iter_rows(values_only=True) for v in row if v)
    assert (
        "Figures about fewer than 5 people are withheld (—), with other cells where needed so "
        "they cannot be worked out." in text
    )
    assert "at least 80% of the sessions held" in text
    assert "Enrolments that meet the completion rule today" in text
    assert "Figures computed from the data on" in text
    assert "Different people" in text  # the definition of "People"


def test_the_workbook_withholds_what_the_page_withholds_and_keeps_the_targets(
    funder, programme, goals
):
    client = _client(funder)
    page = _page(client, {"year": "2020"})
    by_region = {row[0]["text"]: row for row in page.tables["by-region"]["rows"]}
    tangier = {c.get("data-measure"): c for c in by_region["Tanger-Tétouan-Al Hoceïma"]}
    assert tangier["people"].get("data-suppressed") == "true"
    assert tangier["people_target"]["text"] == "6"  # the target stays

    workbook = load_workbook(io.BytesIO(client.get(page.links["download-xlsx"]).content))
    sheet = workbook["By region"]
    header = [c.value for c in sheet[1]]
    rows = {row[0]: row for row in sheet.iter_rows(min_row=2, values_only=True)}
    tangier_row = rows["Tanger-Tétouan-Al Hoceïma"]
    assert tangier_row[header.index("People")] == WITHHELD
    assert tangier_row[header.index("Target: people trained")] == 6


def test_a_manager_gets_exact_figures_and_is_told_so(programme, goals):
    client = _client(manager("national"))
    page = _page(client)
    workbook = load_workbook(io.BytesIO(client.get(page.links["download-xlsx"]).content))
    for sheet in workbook.worksheets[1:-1]:
        values = [v for row in sheet.iter_rows(values_only=True) for v in row]
        assert WITHHELD not in values, sheet.title
    text = " ".join(
        str(v) for row in workbook.worksheets[0].iter_rows(values_only=True) for v in row if v
    )
    assert "nothing is withheld" in text


def test_the_arabic_workbook_reads_right_to_left(funder, programme, goals):
    client = _client(funder, "ar")
    page = _page(client)
    response = client.get(page.links["download-xlsx"])
    assert response["Content-Disposition"].endswith('-ar.xlsx"')
    workbook = load_workbook(io.BytesIO(response.content))
    assert all(sheet.sheet_view.rightToLeft for sheet in workbook.worksheets)
    # Arabic names: the sheets, the region labels.
    assert all(any("\u0600" <= ch <= "\u06ff" for ch in s.title) for s in workbook.worksheets)
    first_region = workbook.worksheets[1]["A2"].value
    assert any("\u0600" <= ch <= "\u06ff" for ch in first_region)


# CSV ------------------------------------------------------------------------------------------


def test_each_tables_csv_is_the_pages_table(funder, programme, goals):
    client = _client(funder)
    page = _page(client, {"year": "2021"})
    assert "download-csv-timeline" not in page.links  # whole programme only, for funders
    for table_id in page.tables:
        response = client.get(page.links[f"download-csv-{table_id}"])
        assert response.status_code == 200
        assert response["Content-Type"] == "text/csv; charset=utf-8"
        lines = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
        table = page.tables[table_id]
        header = [_header_label(c) for c in table["header"]]
        assert [h.removesuffix(" (%)") for h in lines[0]] == header, table_id
        assert len(lines) - 1 == len(table["rows"]), table_id
        for got, cells in zip(lines[1:], table["rows"], strict=True):
            keys = [c for c in cells if c["tag"] == "th"]
            values = [c for c in cells if c["tag"] == "td"]
            assert got[: len(keys)] == [c["text"] for c in keys], table_id
            for value, cell in zip(got[len(keys) :], values, strict=True):
                expected = _expected(cell)
                if isinstance(expected, float):
                    assert float(value) == pytest.approx(expected * 100, abs=0.051), cell
                elif expected is None:
                    assert value == "", cell
                else:
                    assert value == str(expected), cell


# Who may download -----------------------------------------------------------------------------


def test_an_unknown_table_is_not_found_and_a_trainee_is_refused(funder, programme):
    assert _client(funder).get("/dashboard/tables/by-name.csv").status_code == 404
    trainee = UserFactory(username="trainee")
    programme[0].user = trainee
    programme[0].save()
    assert _client(trainee).get("/dashboard/report.xlsx").status_code == 403
    assert _client(trainee).get("/dashboard/tables/by-region.csv").status_code == 403
