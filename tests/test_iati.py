"""The IATI 2.03 activity file: built from the published figures, valid, and refused when not."""

import datetime
import io
import re
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from django.core.cache import cache
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from lxml import etree
from rest_framework.test import APIClient

from certificates.models import Certificate
from cohorts import services
from cohorts.models import FunderProfile, Organisation, Participant
from reports.caller import published_progress
from reports.iati import iati_activity_file, validate
from reports.iati import validation as iati_validation
from reports.iati.builder import GROUPINGS
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
from tools import iati_reference

pytestmark = pytest.mark.django_db

SHARED = Path(settings.BASE_DIR).parent / "shared" / "reference" / "iati-2.03"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
PEOPLE_TOKEN = "Qzx"  # in every test person's name: never in the file


def _people(cohort, code, sexes_roles, *, present=None):
    """Enrol people with these (sex, role) in the cohort; one session, marked."""
    session = SessionFactory(cohort=cohort)
    people = []
    for sex, role in sexes_roles:
        n = Participant.objects.count()
        person = ParticipantFactory(
            first_name=f"Amal{PEOPLE_TOKEN}{n}", last_name=f"Bennani{PEOPLE_TOKEN}{n}",
            email=f"amal.{PEOPLE_TOKEN.lower()}{n}@example.org", phone=f"+2126000{n:05d}",
            sex=sex, role=role, region=region(code),
        )  # fmt: skip
        EnrolmentFactory(cohort=cohort, participant=person)
        people.append(person)
    present = len(people) if present is None else present
    services.attendance_roster_record(
        session=session,
        marks=[
            services.Mark(p.pk, "present" if i < present else "absent")
            for i, p in enumerate(people)
        ],
    )
    return people


def _certify(person, cohort, n):
    Certificate.objects.create(
        participant=person, cohort=cohort, serial=f"R2021-T{n:05d}",
        verification_code=f"iati-code-{n}", issued_on=datetime.date(cohort.year, 12, 1),
        hours_attended=Decimal("6.00"),
    )  # fmt: skip


@pytest.fixture
def programme_data():
    """2019: Rabat-Salé-Kénitra (10) and Casablanca-Settat (8); 2020: Rabat (9),
    Marrakech-Safi (6) and a group of 2 in Dakhla-Oued Ed-Dahab (MA-12), too small to
    publish (and Marrakech-Safi's, the smallest other, withheld with it)."""
    rabat = CohortFactory(year=2019, regions=[region("MA-04")])
    people = _people(rabat, "MA-04", [("F", "elu")] * 3 + [("F", "cadre")] * 3
                     + [("M", "elu")] * 2 + [("M", "cadre")] * 2, present=8)  # fmt: skip
    for i, person in enumerate(people[:6]):
        _certify(person, rabat, i)
    casa = CohortFactory(year=2019, regions=[region("MA-06")])
    _people(casa, "MA-06", [("F", "elu")] * 4 + [("M", "cadre")] * 4)
    later = CohortFactory(year=2020, regions=[region(c) for c in ("MA-04", "MA-07", "MA-12")])
    _people(later, "MA-04", [("F", "cadre")] * 5 + [("M", "elu")] * 4, present=7)
    _people(later, "MA-07", [("F", "cadre")] * 3 + [("M", "cadre")] * 3)
    _people(later, "MA-12", [("F", "elu"), ("M", "elu")])
    return {"rabat": rabat, "casa": casa, "later": later}


@pytest.fixture
def targets():
    Target(year=2019, people_trained=20, women_share_percent=Decimal("45.50"),
           completion_rate_percent=Decimal("80"), certificates=15).save()  # fmt: skip
    Target(year=2019, region=region("MA-04"), people_trained=12, certificates=9).save()
    Target(year=2020, completion_rate_percent=Decimal("75")).save()


def _tree(xml: bytes) -> etree._Element:
    return etree.fromstring(xml)


def _narrative(element, language="en") -> str:
    for narrative in element.iterfind("narrative"):
        if narrative.get(XML_LANG, "fr") == language:
            return narrative.text or ""
    raise AssertionError(f"no {language} narrative in {element.tag}")


def _indicators(root) -> dict:
    return {_narrative(i.find("title")): i for i in root.iterfind(".//result/indicator")}


def _period(indicator, year: int):
    for period in indicator.iterfind("period"):
        if period.find("period-start").get("iso-date").startswith(str(year)):
            return period
    raise AssertionError(f"no period for {year}")


def _values(period, tag: str) -> dict:
    """{None or (dimension name, value): value} of a period's targets or actuals."""
    found = {}
    for element in period.iterfind(tag):
        dimension = element.find("dimension")
        key = None if dimension is None else (dimension.get("name"), dimension.get("value"))
        assert key not in found
        found[key] = element.get("value")
    return found


# The file -----------------------------------------------------------------------------------


def test_the_file_validates_and_says_who_where_and_what(programme_data):
    built = iati_activity_file()
    assert validate(built.xml) == []
    activity = _tree(built.xml).find("iati-activity")
    assert activity.findtext("iati-identifier") == settings.IATI_ACTIVITY_IDENTIFIER
    assert activity.find("reporting-org").get("ref") == settings.IATI_REPORTING_ORG_REF
    assert activity.find("reporting-org").get("type") == "11"
    roles = sorted(
        (o.get("role"), o.get("type"), _narrative(o, "fr"), o.get("ref"))
        for o in activity.iterfind("participating-org")
    )
    assert roles == [
        ("1", "10", "Agence française de développement", "FR-3"),
        ("2", "10", "Direction générale des Collectivités locales (ministère de l'Intérieur)",
         None),
        ("3", "11", "Région Occitanie / Pyrénées-Méditerranée", settings.IATI_REPORTING_ORG_REF),
        ("4", "11", "Région Occitanie / Pyrénées-Méditerranée", settings.IATI_REPORTING_ORG_REF),
        ("4", "15", "Association des Régions du Maroc", None),
        ("4", "15", "Régions de France", None),
    ]  # fmt: skip
    assert activity.find("recipient-country").get("code") == "MA"
    assert [(s.get("vocabulary"), s.get("code")) for s in activity.iterfind("sector")] == [
        ("1", "15112")
    ]
    dates = {d.get("type"): d.get("iso-date") for d in activity.iterfind("activity-date")}
    assert dates == {"1": "2018-01-01", "2": "2019-03-12", "3": "2021-12-31",
                     "4": "2020-03-12"}  # fmt: skip
    assert activity.find("activity-status").get("code") == "3"  # the programme has ended
    title = activity.find("title")
    assert {n.get(XML_LANG, "fr") for n in title.iterfind("narrative")} == {"fr", "en", "ar"}
    assert _narrative(title, "fr").startswith("Cycle d'études Région 2021")
    assert re.search(r"[\u0600-\u06FF]", _narrative(title, "ar"))
    assert "2018–2021" in _narrative(activity.find("description[@type='1']"), "en")


def test_the_results_hold_five_indicators_with_a_period_per_programme_year(programme_data):
    root = _tree(iati_activity_file().xml)
    indicators = _indicators(root)
    assert {name: i.get("measure") for name, i in indicators.items()} == {
        "Participants trained": "1", "Women's share of enrolments": "2",
        "Completion rate": "2", "Certificates issued": "1", "Attendance rate": "2",
    }  # fmt: skip
    assert root.find(".//result").get("type") == "1"
    for indicator in indicators.values():
        periods = [
            (p.find("period-start").get("iso-date"), p.find("period-end").get("iso-date"))
            for p in indicator.iterfind("period")
        ]
        assert periods == [(f"{y}-01-01", f"{y}-12-31") for y in (2018, 2019, 2020, 2021)]


WORDS = {"F": "female", "M": "male", "elu": "elected official", "cadre": "staff"}
MEASURES = {
    "Participants trained": "people",
    "Completion rate": "completion_rate",
    "Certificates issued": "certificates_issued",
    "Attendance rate": "attendance_rate",
}


def _published_actuals(measure: str, year: int) -> dict:
    """What a funder reads for this measure and year, keyed as the file's actual values:
    the year's figure, then per sex, role and region; withheld rows left out."""
    expected = {}
    for keys in GROUPINGS.values():
        dimension = keys[-1] if len(keys) > 1 else None
        for row in published_progress(group_by=keys)["rows"]:
            if row["year"] != year or row["suppressed"]:
                continue
            value = row[measure]
            if isinstance(value, dict):  # a rate, in percent with at most two decimals
                if value["value"] is None:
                    continue
                value = f"{value['value'] * 100:.2f}".rstrip("0").rstrip(".")
            label = None if dimension is None else WORDS.get(row[dimension], row[dimension])
            expected[None if dimension is None else (dimension, label)] = str(value)
    return expected


def test_actual_values_are_the_published_ones_by_sex_role_and_region(programme_data):
    indicators = _indicators(_tree(iati_activity_file().xml))
    trained_2019 = _values(_period(indicators["Participants trained"], 2019), "actual")
    assert set(trained_2019) == {
        None, ("sex", "female"), ("sex", "male"), ("role", "elected official"),
        ("role", "staff"), ("region", "MA-04"), ("region", "MA-06"),
    }  # fmt: skip
    for name, measure in MEASURES.items():
        for year in (2019, 2020):
            actuals = _values(_period(indicators[name], year), "actual")
            assert actuals == _published_actuals(measure, year), (name, year)
    # The women's share: the year's women's enrolments over its enrolments, both published.
    years = published_progress(group_by=["year"])["rows"]
    by_sex = published_progress(group_by=["year", "sex"])["rows"]
    enrolled = next(r["enrolled"] for r in years if r["year"] == 2019)
    women = next(r["enrolled"] for r in by_sex if (r["year"], r["sex"]) == (2019, "F"))
    share = _values(_period(indicators["Women's share of enrolments"], 2019), "actual")
    assert share == {None: f"{women / enrolled * 100:.2f}".rstrip("0").rstrip(".")}
    # Nobody in 2018 or 2021: no actual values, nothing invented.
    for year in (2018, 2021):
        for indicator in indicators.values():
            assert _values(_period(indicator, year), "actual") == {}


def test_a_withheld_figure_is_left_out_of_the_file(programme_data):
    by_region = published_progress(group_by=["year", "region"])
    small = next(r for r in by_region["rows"] if (r["year"], r["region"]) == (2020, "MA-12"))
    assert small["suppressed"] is True  # 2 people: under the threshold
    built = iati_activity_file()
    indicators = _indicators(_tree(built.xml))
    for name, indicator in indicators.items():
        actuals = _values(_period(indicator, 2020), "actual")
        assert ("region", "MA-12") not in actuals, name
    # And every other withheld cell of every grouping the file reads is left out too, while
    # every published one is there.
    trained = _values(_period(indicators["Participants trained"], 2020), "actual")
    withheld = 0
    for dimension in ("sex", "role", "region"):
        report = published_progress(group_by=["year", dimension])
        for row in report["rows"]:
            if row["year"] != 2020:
                continue
            value = WORDS.get(row[dimension], row[dimension])
            if row["suppressed"]:
                withheld += 1
                assert (dimension, value) not in trained
            else:
                assert trained[(dimension, value)] == str(row["people"])
    assert withheld >= 1  # the small group, at least
    assert built.summary.withheld >= withheld


def test_targets_are_in_the_periods_for_the_programme_and_per_region(programme_data, targets):
    indicators = _indicators(_tree(iati_activity_file().xml))
    assert _values(_period(indicators["Participants trained"], 2019), "target") == {
        None: "20", ("region", "MA-04"): "12",
    }  # fmt: skip
    assert _values(_period(indicators["Women's share of enrolments"], 2019), "target") == {
        None: "45.5"
    }
    assert _values(_period(indicators["Completion rate"], 2019), "target") == {None: "80"}
    assert _values(_period(indicators["Certificates issued"], 2019), "target") == {
        None: "15", ("region", "MA-04"): "9",
    }  # fmt: skip
    assert _values(_period(indicators["Completion rate"], 2020), "target") == {None: "75"}
    assert _values(_period(indicators["Participants trained"], 2020), "target") == {}
    assert _values(_period(indicators["Attendance rate"], 2019), "target") == {}


def test_the_file_holds_no_personal_data(programme_data):
    xml = iati_activity_file().xml.decode()
    assert PEOPLE_TOKEN not in xml
    assert "@" not in xml
    for person in Participant.objects.all():
        for value in (person.first_name, person.last_name, person.email, person.phone):
            assert value not in xml


# The check ----------------------------------------------------------------------------------


def _edited(xml: bytes, edit) -> bytes:
    root = etree.fromstring(xml)
    edit(root.find("iati-activity"))
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def test_a_wrong_sector_code_is_rejected_naming_it(programme_data):
    xml = iati_activity_file().xml

    def wrong_sector(activity):
        activity.find("sector").set("code", "15199")

    problems = validate(_edited(xml, wrong_sector))
    assert len(problems) == 1
    assert "15199" in problems[0] and "Sector" in problems[0] and "sector" in problems[0]


def test_a_file_without_its_reporting_org_is_rejected(programme_data):
    def no_reporting_org(activity):
        activity.remove(activity.find("reporting-org"))

    problems = validate(_edited(iati_activity_file().xml, no_reporting_org))
    assert problems and any("reporting-org" in p for p in problems), problems


@pytest.mark.parametrize(
    ("path", "attribute", "value", "codelist"),
    [("participating-org", "role", "7", "OrganisationRole"),
     ("participating-org", "type", "12", "OrganisationType"),
     ("recipient-country", "code", "XY", "Country"),
     ("activity-status", "code", "9", "ActivityStatus"),
     ("activity-date", "type", "5", "ActivityDateType"),
     ("result", "type", "4", "ResultType"),
     ("result/indicator", "measure", "7", "IndicatorMeasure"),
     ("title/narrative[2]", XML_LANG, "xx", "Language")],
)  # fmt: skip
def test_every_coded_value_is_checked_against_its_codelist(path, attribute, value, codelist):
    xml = iati_activity_file().xml

    def edit(activity):
        activity.find(path).set(attribute, value)

    problems = validate(_edited(xml, edit))
    assert any(f"“{value}”" in p and codelist in p for p in problems), problems


def test_a_mappings_condition_picks_the_codelist():
    xml = iati_activity_file().xml

    def three_digit(activity):
        activity.find("sector").set("vocabulary", "2")  # DAC 3-digit: 15112 is not one

    problems = validate(_edited(xml, three_digit))
    assert any("“15112”" in p and "SectorCategory" in p for p in problems), problems

    def category(activity):
        activity.find("sector").set("vocabulary", "2")
        activity.find("sector").set("code", "151")

    assert validate(_edited(xml, category)) == []


def test_the_check_applies_every_mapping_of_the_codelist_mapping():
    mappings = iati_validation.mappings()
    assert len(mappings) == len(
        etree.parse(str(iati_validation.MAPPING)).getroot().findall("mapping")
    )
    for mapping in mappings:
        assert (iati_validation.CODELISTS / f"{mapping.codelist}.xml").is_file(), mapping
    # A withdrawn code is refused too.
    sector = etree.parse(str(iati_validation.CODELISTS / "Sector.xml"))
    withdrawn = sector.xpath("//codelist-item[@status='withdrawn']/code/text()")[0]
    xml = iati_activity_file().xml

    def edit(activity):
        activity.find("sector").set("code", withdrawn)

    problems = validate(_edited(xml, edit))
    assert any("withdrawn" in p and withdrawn in p for p in problems), problems


def test_an_identifier_not_under_the_reporting_org_is_rejected(settings):
    settings.IATI_ACTIVITY_IDENTIFIER = "XM-DAC-0000-R2021"
    problems = validate(iati_activity_file().xml)
    assert problems == [
        "The activity identifier XM-DAC-0000-R2021 does not begin with the reporting "
        f"organisation's identifier {settings.IATI_REPORTING_ORG_REF}."
    ]


def test_the_shipped_reference_files_match_the_shared_reference():
    """The app reads its own copy (a deployment has no ../shared); it must not drift."""
    shipped = iati_reference.SHIPPED
    expected = sorted(iati_reference.needed_files(shipped))
    present = sorted(str(p.relative_to(shipped)) for p in shipped.rglob("*") if p.is_file())
    assert present == expected
    if SHARED.exists():  # beside a checkout in development and CI, not in a deployment
        assert expected == sorted(iati_reference.needed_files(SHARED))
        for name in expected:
            assert (shipped / name).read_bytes() == (SHARED / name).read_bytes(), name


def test_the_file_validates_against_the_shared_schema_too(programme_data):
    # The shared reference where it sits beside the checkout, else the project's copy
    # (byte for byte the same: test_the_shipped_reference_files_match_the_shared_reference).
    reference = SHARED if SHARED.exists() else iati_reference.SHIPPED
    schema = etree.XMLSchema(etree.parse(str(reference / "iati-activities-schema.xsd")))
    schema.assertValid(etree.fromstring(iati_activity_file().xml).getroottree())


# The command ----------------------------------------------------------------------------


def test_the_demo_data_exports_to_a_valid_file(tmp_path):
    call_command("seed_demo", "--no-certificates", stdout=io.StringIO(), stderr=io.StringIO())
    out = io.StringIO()
    path = tmp_path / "iati.xml"
    call_command("export_iati", "--out", str(path), stdout=out)
    xml = path.read_bytes()
    assert validate(xml) == []
    root = _tree(xml)
    trained = _indicators(root)["Participants trained"]
    for year in (2018, 2019, 2020, 2021):
        actuals = _values(_period(trained, year), "actual")
        assert actuals[None].isdigit() and int(actuals[None]) > 0
        assert {d for d, _ in filter(None, actuals)} == {"sex", "role", "region"}
    assert re.search(
        r"Wrote .*iati\.xml \(\d+ bytes\): 5 indicators, 20 periods, \d+ actual values, "
        r"\d+ withheld and left out, \d+ target values\. Schema and codelists: no problems\.",
        out.getvalue(),
    ), out.getvalue()


def test_the_command_refuses_to_write_an_invalid_file(programme_data, settings, tmp_path):
    settings.IATI_ACTIVITY_STATUS = "9"
    path = tmp_path / "iati.xml"
    err = io.StringIO()
    with pytest.raises(CommandError, match="not valid; nothing was written"):
        call_command("export_iati", "--out", str(path), stderr=err)
    assert not path.exists()
    assert "“9” is not a code of the ActivityStatus codelist" in err.getvalue()
    assert list(tmp_path.iterdir()) == []


# The API ----------------------------------------------------------------------------------

URL = "/api/v1/reports/iati.xml"


def _funder():
    user = UserFactory(username="afd")
    FunderProfile.objects.create(user=user, organisation=Organisation.objects.get(short_name="AFD"))
    return user


def _get(user, **headers):
    client = APIClient(HTTP_ACCEPT_LANGUAGE="en", **headers)
    if user is not None:
        client.force_authenticate(user)
    return client.get(URL)


def test_a_funder_and_a_manager_get_the_same_valid_file(programme_data):
    response = _get(_funder())
    assert response.status_code == 200
    assert response["Content-Type"] == "application/xml"
    assert validate(response.content) == []
    again = _get(manager("national"), HTTP_ACCEPT="application/xml")
    assert again.status_code == 200 and again["Content-Type"] == "application/xml"

    def without_times(xml):
        return re.sub(rb'(generated|last-updated)-datetime="[^"]+"', b"", xml)

    assert without_times(again.content) == without_times(response.content)


def test_a_trainee_gets_403_and_anonymous_401(programme_data):
    trainee = UserFactory(username="trainee-iati")
    Participant.objects.filter(pk=Participant.objects.first().pk).update(user=trainee)
    response = _get(trainee)
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"
    response = _get(None)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"
    as_xml = _get(None, HTTP_ACCEPT="application/xml")
    assert as_xml.status_code == 401
    assert etree.fromstring(as_xml.content).get("code") == "not_authenticated"


def test_an_invalid_file_is_not_served(programme_data, settings):
    settings.IATI_ACTIVITY_STATUS = "9"
    response = _get(_funder())
    assert response.status_code == 500
    assert response.json()["error"]["code"] == "iati_invalid"
    assert b"<iati-activities" not in response.content


def _queries(user) -> int:
    user = type(user).objects.get(pk=user.pk)  # the role is kept on the object: ask anew
    cache.clear()
    with CaptureQueriesContext(connection) as queries:
        assert _get(user).status_code == 200
    return len(queries)


def _published_queries() -> int:
    """What the published figures the file reads cost, the cache emptied (reports.caller's)."""
    cache.clear()
    with CaptureQueriesContext(connection) as queries:
        for keys in GROUPINGS.values():
            published_progress(group_by=keys)
    return len(queries)


def test_the_file_costs_the_same_queries_whatever_the_size(programme_data):
    # The caller's role (2: a manager? a funder?); the targets (1); the programme (1) and its
    # partners (1); the held sessions' first and last dates (1); then the published figures,
    # whatever reports.caller spends on them (one pass over the summary for every table).
    funder = _funder()
    published = _published_queries()
    assert 1 <= published <= len(GROUPINGS)
    assert _queries(funder) == 6 + published
    rabat = programme_data["rabat"]
    _people(CohortFactory(year=2021, regions=[region("MA-01")]), "MA-01", [("F", "elu")] * 30)
    _people(rabat, "MA-04", [("M", "cadre")] * 12)
    assert _published_queries() == published
    assert _queries(funder) == 6 + published
