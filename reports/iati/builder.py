"""The programme's IATI 2.03 activity file: who, where, what, and its results per year.

`collect()` reads what the file says (the programme and its partners, the sessions'
dates, the published figures, the targets); `render()` turns that into the XML, with no
database access. Every number comes from `reports.caller.published_progress`, the figures
any funder gets: a withheld figure (null, `suppressed`) is left out of the file, never
worked out from others, and a missing value in the file means "withheld", which the
file's "other" description says. Targets come from `reports.targets`.

Results: one output result, five indicators, a period per programme year (the cohort's
year), each with its targets (the whole programme's and per region) and its actual values
(the year's, then per sex, role and region as dimensions):

- participants trained (unit): distinct people enrolled in the year's cohorts (`people`);
- women's share of enrolments (percentage): women's enrolments over enrolments, as the
  dashboard computes it, from the year's total and its women's row;
- completion rate, attendance rate (percentage): the report's rates;
- certificates issued (unit).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING, Literal

from django.conf import settings
from django.db.models import Max, Min
from django.utils import timezone, translation
from django.utils.functional import Promise
from django.utils.translation import pgettext_lazy
from lxml import etree

from cohorts.models import Organisation, Participant, Programme, TrainingSession

if TYPE_CHECKING:
    from reports.targets import TargetValues

PROGRAMME_CODE = "R2021"
VERSION = "2.03"
DEFAULT_LANGUAGE = "fr"  # the activity's xml:lang: narratives without one are French
LANGUAGES = ("fr", "en", "ar")
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"

# Codes from the IATI codelists (checked by reports.iati.validation).
SECTORS = [("1", "15112", "100")]  # DAC 5-digit: decentralisation and subnational government
RECIPIENT_COUNTRY = "MA"
RESULT_OUTPUT = "1"
MEASURE_UNIT, MEASURE_PERCENTAGE = "1", "2"
PLANNED_START, ACTUAL_START, PLANNED_END, ACTUAL_END = "1", "2", "3", "4"
DESCRIPTION_GENERAL, DESCRIPTION_OTHER = "1", "4"
STATUS_PIPELINE, STATUS_IMPLEMENTATION, STATUS_FINALISATION = "1", "2", "3"
FUNDING, ACCOUNTABLE, EXTENDING, IMPLEMENTING = "1", "2", "3", "4"
GOVERNMENT, LOCAL_GOVERNMENT, OTHER_PUBLIC_SECTOR = "10", "11", "15"

Kind = Organisation.Kind
# The pilot manages the programme on the funder's behalf and runs it with the partners.
ROLES = {
    Kind.FUNDER: (FUNDING,),
    Kind.MINISTRY: (ACCOUNTABLE,),
    Kind.PILOT: (EXTENDING, IMPLEMENTING),
    Kind.PARTNER: (IMPLEMENTING,),
}
# AFD is a public agency, the DGCL a ministry's directorate, the pilot a French region;
# ARM and Régions de France are the associations of the two countries' regions.
ORGANISATION_TYPES = {
    Kind.FUNDER: GOVERNMENT,
    Kind.MINISTRY: GOVERNMENT,
    Kind.PILOT: LOCAL_GOVERNMENT,
    Kind.PARTNER: OTHER_PUBLIC_SECTOR,
}

# The published reports the file reads, by name: (keys), each by programme year.
GROUPINGS: dict[str, list[str]] = {
    "year": ["year"],
    "sex": ["year", "sex"],
    "role": ["year", "role"],
    "region": ["year", "region"],
}
DIMENSIONS = ("sex", "role", "region")
# Dimension values in the file: words rather than the tracker's codes; regions by ISO code.
Sex, Role = Participant.Sex, Participant.Role
DIMENSION_VALUES = {
    "sex": {Sex.FEMALE.value: "female", Sex.MALE.value: "male"},
    "role": {Role.ELECTED.value: "elected official", Role.STAFF.value: "staff"},
}

TITLE = pgettext_lazy(
    "IATI", "Région 2021 study cycle: training the elected officials and staff of Morocco's regions"
)
DESCRIPTION = pgettext_lazy(
    "IATI",
    "A French–Moroccan study cycle (%(start)s–%(end)s) that trains the elected officials and "
    "staff of the councils of Morocco's 12 regions. Piloted by Région Occitanie with the "
    "Association des Régions du Maroc (ARM) and Régions de France, funded by the Agence "
    "française de développement (AFD), with the support of the Direction générale des "
    "Collectivités locales (DGCL, Ministry of the Interior).",
)
DISCLOSURE = pgettext_lazy(
    "IATI",
    "To protect privacy, figures about small groups of people are not published: a period or "
    "a dimension without an actual value is withheld, not zero.",
)
RESULT_TITLE = pgettext_lazy("IATI", "Elected officials and staff of Morocco's regions trained")
RESULT_DESCRIPTION = pgettext_lazy(
    "IATI",
    "Per programme year (the year of the cohort), from the attendance registers kept in the "
    "programme's tracker.",
)


Cell = tuple[Literal["value", "withheld", "none"], str | None]
WITHHELD: Cell = ("withheld", None)
NOTHING: Cell = ("none", None)  # nothing to report (no group, or a rate of nothing)


@dataclass(frozen=True)
class Indicator:
    key: str
    measure: str
    title: Promise
    description: Promise
    target: str | None  # the TargetValues field, if any
    read: Callable[[dict], Cell] | None  # the actual value from a published row
    dimensions: tuple[str, ...] = DIMENSIONS


@dataclass(frozen=True)
class Org:
    name: str
    ref: str
    type: str
    roles: tuple[str, ...] = ()


@dataclass(frozen=True)
class Inputs:
    """Everything the file says, as plain data."""

    identifier: str
    reporting_org: Org
    organisations: list[Org]
    status: str
    dates: list[tuple[str, date]]  # (activity date type, date)
    periods: list[tuple[int, date, date]]  # (programme year, start, end)
    reports: dict[str, dict]  # GROUPINGS' name -> published report
    targets: Mapping[tuple[int, str | None], TargetValues]
    now: datetime


@dataclass
class Summary:
    indicators: int = 0
    periods: int = 0
    actuals: int = 0
    withheld: int = 0  # actual values left out: withheld by disclosure control
    targets: int = 0


@dataclass(frozen=True)
class IatiFile:
    xml: bytes
    summary: Summary = field(default_factory=Summary)


def _number(value: float) -> str:
    """A decimal for the file: at most two decimals, no trailing zeros."""
    return f"{value:.2f}".rstrip("0").rstrip(".")


def _count(measure: str) -> Callable[[dict], Cell]:
    def read(row: dict) -> Cell:
        value = row.get(measure)
        if row.get("suppressed") or value is None:
            return WITHHELD
        return ("value", str(int(value)))

    return read


def _rate(measure: str) -> Callable[[dict], Cell]:
    def read(row: dict) -> Cell:
        rate = row.get(measure)
        if row.get("suppressed") or rate is None:
            return WITHHELD
        if rate.get("value") is None:
            return NOTHING  # nothing counts yet: no rate, nothing withheld
        return ("value", _number(rate["value"] * 100))

    return read


INDICATORS = (
    Indicator(
        "participants_trained",
        MEASURE_UNIT,
        pgettext_lazy("IATI", "Participants trained"),
        pgettext_lazy(
            "IATI", "Distinct people (elected officials and staff) enrolled in the year's cohorts."
        ),
        "people_trained",
        _count("people"),
    ),
    Indicator(
        "women_share",
        MEASURE_PERCENTAGE,
        pgettext_lazy("IATI", "Women's share of enrolments"),
        pgettext_lazy(
            "IATI", "Women's enrolments over all enrolments in the year's cohorts, in percent."
        ),
        "women_share",
        None,  # from two rows: see _women_share
        dimensions=(),
    ),
    Indicator(
        "completion_rate",
        MEASURE_PERCENTAGE,
        pgettext_lazy("IATI", "Completion rate"),
        pgettext_lazy(
            "IATI",
            "Enrolments meeting the completion rule (the attendance threshold of the cohort's "
            "rule) over enrolments, in percent.",
        ),
        "completion_rate",
        _rate("completion_rate"),
    ),
    Indicator(
        "certificates_issued",
        MEASURE_UNIT,
        pgettext_lazy("IATI", "Certificates issued"),
        pgettext_lazy("IATI", "Certificates issued and not revoked, for the year's enrolments."),
        "certificates",
        _count("certificates_issued"),
    ),
    Indicator(
        "attendance_rate",
        MEASURE_PERCENTAGE,
        pgettext_lazy("IATI", "Attendance rate"),
        pgettext_lazy(
            "IATI",
            "Sessions attended over the sessions that count for each enrolment (a held session "
            "not recorded counts as not attended), in percent.",
        ),
        None,
        _rate("attendance_rate"),
    ),
)


# Reading the data ---------------------------------------------------------------------------


def iati_activity_file(
    *,
    now: datetime | None = None,
    targets: Mapping[tuple[int, str | None], TargetValues] | None = None,
) -> IatiFile:
    """The programme's activity file as it stands (not validated: see validation.validate)."""
    return render(collect(now=now, targets=targets))


def collect(
    *,
    now: datetime | None = None,
    targets: Mapping[tuple[int, str | None], TargetValues] | None = None,
) -> Inputs:
    """What the file says: the programme, its partners and dates, the published figures."""
    from reports.caller import published_progress

    now = now or timezone.now()
    if targets is None:
        from reports.targets import targets as programme_targets

        targets = programme_targets()
    programme = Programme.objects.get(code=PROGRAMME_CODE)
    partners = list(programme.partners.all())
    pilot = next((o for o in partners if o.kind == Kind.PILOT), None)
    if pilot is None:
        raise ValueError(f"Programme {PROGRAMME_CODE} has no pilot organisation to report it.")
    refs = {**settings.IATI_ORGANISATION_REFS, pilot.short_name: settings.IATI_REPORTING_ORG_REF}
    organisations = sorted(
        (
            Org(o.name, refs.get(o.short_name, ""), ORGANISATION_TYPES[kind], ROLES[kind])
            for o in partners
            for kind in [Kind(o.kind)]
        ),
        key=lambda org: (org.roles, org.name),
    )
    reporting = Org(pilot.name, settings.IATI_REPORTING_ORG_REF, ORGANISATION_TYPES[Kind.PILOT])

    # Held sessions: started by now and not cancelled.
    held = TrainingSession.objects.filter(
        cohort__programme=programme, cancelled_at__isnull=True, starts_at__lte=now
    ).aggregate(first=Min("starts_at"), last=Max("ends_at"))
    today = timezone.localdate(now)
    dates = [(PLANNED_START, programme.start_date)]
    if held["first"] is not None:
        dates.append((ACTUAL_START, timezone.localdate(held["first"])))
    dates.append((PLANNED_END, programme.end_date))
    if programme.end_date < today and held["last"] is not None:
        dates.append((ACTUAL_END, min(timezone.localdate(held["last"]), today)))

    status = settings.IATI_ACTIVITY_STATUS or (
        STATUS_PIPELINE
        if today < programme.start_date
        else STATUS_IMPLEMENTATION
        if today <= programme.end_date
        else STATUS_FINALISATION  # done; closing it (4) is the publisher's call
    )
    start, end = programme.start_date, programme.end_date
    periods = [
        (year, max(date(year, 1, 1), start), min(date(year, 12, 31), end))
        for year in range(start.year, end.year + 1)
    ]
    return Inputs(
        identifier=settings.IATI_ACTIVITY_IDENTIFIER,
        reporting_org=reporting,
        organisations=organisations,
        status=status,
        dates=dates,
        periods=periods,
        reports={name: published_progress(group_by=keys) for name, keys in GROUPINGS.items()},
        targets=targets,
        now=now,
    )


# Writing the file ---------------------------------------------------------------------------


def render(inputs: Inputs) -> IatiFile:
    """The activity file for these inputs (pure: no database access)."""
    summary = Summary()
    generated = inputs.now.replace(microsecond=0).isoformat()
    root = etree.Element("iati-activities", version=VERSION)
    root.set("generated-datetime", generated)
    activity = etree.SubElement(root, "iati-activity")
    activity.set("last-updated-datetime", generated)
    activity.set(XML_LANG, DEFAULT_LANGUAGE)
    etree.SubElement(activity, "iati-identifier").text = inputs.identifier
    reporting = _org(activity, "reporting-org", inputs.reporting_org)
    reporting.set("type", inputs.reporting_org.type)
    _narratives(etree.SubElement(activity, "title"), TITLE)
    first, last = inputs.periods[0][0], inputs.periods[-1][0]
    general = etree.SubElement(activity, "description", type=DESCRIPTION_GENERAL)
    _narratives(general, DESCRIPTION, start=first, end=last)
    _narratives(etree.SubElement(activity, "description", type=DESCRIPTION_OTHER), DISCLOSURE)
    for organisation in inputs.organisations:
        for role in organisation.roles:
            element = _org(activity, "participating-org", organisation)
            element.set("type", organisation.type)
            element.set("role", role)
    etree.SubElement(activity, "activity-status", code=inputs.status)
    for date_type, day in inputs.dates:
        etree.SubElement(
            activity, "activity-date", {"iso-date": day.isoformat(), "type": date_type}
        )
    etree.SubElement(activity, "recipient-country", code=RECIPIENT_COUNTRY, percentage="100")
    for vocabulary, code, percentage in SECTORS:
        etree.SubElement(
            activity, "sector", vocabulary=vocabulary, code=code, percentage=percentage
        )
    result = etree.SubElement(activity, "result", type=RESULT_OUTPUT)
    _narratives(etree.SubElement(result, "title"), RESULT_TITLE)
    _narratives(etree.SubElement(result, "description"), RESULT_DESCRIPTION)
    for indicator in INDICATORS:
        _indicator(result, indicator, inputs, summary)
    xml = etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)
    return IatiFile(xml=xml, summary=summary)


def _indicator(result: etree._Element, indicator: Indicator, inputs: Inputs, summary: Summary):
    element = etree.SubElement(result, "indicator", measure=indicator.measure, ascending="1")
    _narratives(etree.SubElement(element, "title"), indicator.title)
    _narratives(etree.SubElement(element, "description"), indicator.description)
    summary.indicators += 1
    for year, start, end in inputs.periods:
        period = etree.SubElement(element, "period")
        etree.SubElement(period, "period-start", {"iso-date": start.isoformat()})
        etree.SubElement(period, "period-end", {"iso-date": end.isoformat()})
        summary.periods += 1
        for region, aim in _targets(indicator, year, inputs.targets):
            target = etree.SubElement(period, "target", value=aim)
            if region is not None:
                etree.SubElement(target, "dimension", name="region", value=region)
            summary.targets += 1
        for dimension, (state, value) in _actuals(indicator, year, inputs.reports):
            if state == "withheld":
                summary.withheld += 1
            if state != "value" or value is None:
                continue  # left out: no value is ever worked out around a withheld one
            actual = etree.SubElement(period, "actual", value=value)
            if dimension is not None:
                etree.SubElement(actual, "dimension", name=dimension[0], value=dimension[1])
            summary.actuals += 1


def _targets(
    indicator: Indicator, year: int, targets: Mapping[tuple[int, str | None], TargetValues]
) -> list[tuple[str | None, str]]:
    """(region or None for the whole programme, value) of the year's targets."""
    if indicator.target is None:
        return []
    found = []
    for (target_year, region), values in sorted(
        targets.items(), key=lambda item: (item[0][0], item[0][1] or "")
    ):
        value = getattr(values, indicator.target)
        if target_year != year or value is None:
            continue
        text = _number(value * 100) if indicator.measure == MEASURE_PERCENTAGE else str(value)
        found.append((region, text))
    return found


def _actuals(
    indicator: Indicator, year: int, reports: dict[str, dict]
) -> list[tuple[tuple[str, str] | None, Cell]]:
    """(dimension (name, value) or None for the year as a whole, cell) of the year."""
    if indicator.read is None:  # the women's share, from two rows
        return [(None, _women_share(year, reports))]
    cells: list[tuple[tuple[str, str] | None, Cell]] = []
    for row in _rows(reports["year"], year):
        cells.append((None, indicator.read(row)))
    for dimension in indicator.dimensions:
        values = DIMENSION_VALUES.get(dimension, {})
        for row in _rows(reports[dimension], year):
            key = str(row[dimension])
            cells.append(((dimension, values.get(key, key)), indicator.read(row)))
    return cells


def _women_share(year: int, reports: dict[str, dict]) -> Cell:
    """Women's enrolments over the year's enrolments: both figures published, or none."""
    total = next(iter(_rows(reports["year"], year)), None)
    if total is None:
        return NOTHING
    enrolled = total.get("enrolled")
    if total.get("suppressed") or enrolled is None:
        return WITHHELD
    women_rows = [row for row in _rows(reports["sex"], year) if row["sex"] == Sex.FEMALE]
    if any(row.get("suppressed") or row.get("enrolled") is None for row in women_rows):
        return WITHHELD
    if not enrolled:
        return NOTHING
    women = sum(row["enrolled"] for row in women_rows)  # no row: no woman enrolled
    return ("value", _number(women / enrolled * 100))


def _rows(report: dict, year: int) -> list[dict]:
    return [row for row in report["rows"] if row.get("year") == year]


def _org(parent: etree._Element, tag: str, org: Org) -> etree._Element:
    element = etree.SubElement(parent, tag)
    if org.ref:
        element.set("ref", org.ref)
    etree.SubElement(element, "narrative").text = org.name
    return element


def _narratives(parent: etree._Element, text: Promise, **params) -> None:
    """One narrative per language; the default language's without xml:lang."""
    for language in LANGUAGES:
        with translation.override(language):
            value = str(text) % params if params else str(text)
        narrative = etree.SubElement(parent, "narrative")
        narrative.text = value
        if language != DEFAULT_LANGUAGE:
            narrative.set(XML_LANG, language)
