"""Check an IATI activity file: the 2.03 schema, then every coded value against its codelist.

The schema (XSD) checks structure only. Which attribute takes its values from which
codelist is what the standard's `codelist-mapping.xml` says, as an XPath per mapping
(with an optional condition on the element, e.g. a sector's vocabulary): each mapping is
applied as it is written, so a code anywhere the mapping covers is checked, whatever the
builder puts in the file. A few of the standard's rules beyond both come last.

The reference files are the project's own copy (reference/, from
../shared/reference/iati-2.03 by tools/iati_reference.py): a deployment has no ../shared.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from functools import cache
from pathlib import Path
from typing import Any

from django.utils.translation import gettext as _
from lxml import etree

REFERENCE = Path(__file__).resolve().parent / "reference"
SCHEMA = REFERENCE / "iati-activities-schema.xsd"
MAPPING = REFERENCE / "codelist-mapping.xml"
CODELISTS = REFERENCE / "codelists"
XML_NS = "http://www.w3.org/XML/1998/namespace"


@dataclass(frozen=True)
class Mapping:
    path: str  # XPath to the coded values: .../@attribute or .../text()
    codelist: str
    condition: str | None  # XPath predicate on the element that holds the value

    @property
    def selector(self) -> str:
        """The XPath that selects the values this mapping covers."""
        if self.condition is None:
            return self.path
        element, _, step = self.path.rpartition("/")
        return f"{element}[{self.condition}]/{step}"


def validate(xml_bytes: bytes) -> list[str]:
    """The file's problems, in the active language: none means valid."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True)
    try:
        root = etree.fromstring(xml_bytes, parser)
    except etree.XMLSyntaxError as exc:
        return [_("Not well-formed XML: %(message)s") % {"message": exc}]
    tree = root.getroottree()
    problems = schema_problems(tree)
    problems += codelist_problems(tree)
    problems += rule_problems(tree)
    return problems


def schema_problems(tree: etree._ElementTree) -> list[str]:
    try:
        _schema().assertValid(tree)
    except etree.DocumentInvalid as exc:
        # The exception's own log: the schema object is shared between requests. (lxml-stubs
        # leave the log's type empty; it is a list of errors.)
        errors: Any = exc.error_log
        return [
            _("Line %(line)s, schema: %(message)s") % {"line": e.line, "message": e.message}
            for e in errors
        ]
    return []


def codelist_problems(tree: etree._ElementTree) -> list[str]:
    problems: list[str] = []
    for mapping in mappings():
        found = tree.xpath(mapping.selector)
        if not isinstance(found, list):
            continue
        for value in found:
            if not isinstance(value, etree._ElementUnicodeResult):
                continue
            code = str(value).strip()
            codes = _codes(mapping.codelist)
            if codes is None:
                problems.append(
                    _("The %(codelist)s codelist is missing from the reference files.")
                    % {"codelist": mapping.codelist}
                )
                break
            status = codes.get(code)
            if status is not None and status != "withdrawn":
                continue
            message = (
                _(
                    "Line %(line)s, %(where)s: “%(value)s” is not a code of the %(codelist)s "
                    "codelist."
                )
                if status is None
                else _(
                    "Line %(line)s, %(where)s: “%(value)s” is a withdrawn code of the "
                    "%(codelist)s codelist."
                )
            )
            problems.append(message % {**_location(tree, value), "value": code,
                                       "codelist": mapping.codelist})  # fmt: skip
    return problems


def rule_problems(tree: etree._ElementTree) -> list[str]:
    """Rules of the standard that neither the schema nor the codelists check."""
    problems: list[str] = []
    for activity in tree.iterfind("iati-activity"):
        identifier = (activity.findtext("iati-identifier") or "").strip()
        reporting = activity.find("reporting-org")
        ref = (reporting.get("ref", "") if reporting is not None else "").strip()
        if identifier and ref and not identifier.startswith(ref):
            problems.append(
                _(
                    "The activity identifier %(identifier)s does not begin with the reporting "
                    "organisation's identifier %(ref)s."
                )
                % {"identifier": identifier, "ref": ref}
            )
        totals: dict[str, Decimal] = defaultdict(Decimal)
        for sector in activity.iterfind("sector"):
            try:
                totals[sector.get("vocabulary", "1")] += Decimal(sector.get("percentage", "100"))
            except InvalidOperation:
                continue  # the schema reports a percentage that is not a number
        for vocabulary, total in sorted(totals.items()):
            if total != 100:
                problems.append(
                    _(
                        "Line %(line)s: the sector percentages of vocabulary %(vocabulary)s "
                        "add up to %(total)s, not 100."
                    )
                    % {"line": activity.sourceline, "vocabulary": vocabulary, "total": total}
                )
        for period in activity.iterfind("result/indicator/period"):
            start = period.find("period-start")
            end = period.find("period-end")
            if start is None or end is None:
                continue
            if end.get("iso-date", "") < start.get("iso-date", ""):
                problems.append(
                    _("Line %(line)s: the period ends before it starts.")
                    % {"line": period.sourceline}
                )
    return problems


def _location(tree: etree._ElementTree, value: etree._ElementUnicodeResult) -> dict:
    element = value.getparent()
    if element is None:
        return {"line": "?", "where": "?"}
    if value.is_attribute and value.attrname is not None:
        name = etree.QName(value.attrname)
        attribute = f"xml:{name.localname}" if name.namespace == XML_NS else name.localname
        step = f"@{attribute}"
    else:
        step = "text()"
    return {"line": element.sourceline, "where": f"{tree.getpath(element)}/{step}"}


@cache
def mappings() -> tuple[Mapping, ...]:
    """The codelist mapping's entries, in its order."""
    root = etree.parse(str(MAPPING)).getroot()
    found = []
    for entry in root.iterfind("mapping"):
        condition = (entry.findtext("condition") or "").strip() or None
        codelist = entry.find("codelist")
        if codelist is None:
            continue
        found.append(
            Mapping(
                path=(entry.findtext("path") or "").strip(),
                codelist=codelist.get("ref", ""),
                condition=condition,
            )
        )
    return tuple(found)


@cache
def _codes(codelist: str) -> dict[str, str] | None:
    """A codelist's codes and their status ("active", "withdrawn"); None if it is missing."""
    path = CODELISTS / f"{codelist}.xml"
    if not path.is_file():
        return None
    root = etree.parse(str(path)).getroot()
    return {
        (item.findtext("code") or "").strip(): item.get("status", "active")
        for item in root.iter("codelist-item")
    }


@cache
def _schema() -> etree.XMLSchema:
    # The schema includes iati-common.xsd and imports xml.xsd from the same directory.
    parser = etree.XMLParser(no_network=True)
    return etree.XMLSchema(etree.parse(str(SCHEMA), parser))
