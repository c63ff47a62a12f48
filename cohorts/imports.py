"""Import participants (and their enrolments) from a CSV or XLSX file, all or nothing.

The preview runs the very same import inside a transaction and rolls it back, so what
the preview reports is exactly what the commit will do.
"""

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from cohorts import services
from cohorts.errors import LineError, LineErrors
from cohorts.models import Cohort, Enrolment, Participant, Region
from cohorts.roles import region_scope, scope_cohorts
from cohorts.tables import read_table
from cohorts.validation import enrolment_date_error, local_date

if TYPE_CHECKING:  # django-stubs-ext is a development dependency
    from django_stubs_ext import StrOrPromise


@dataclass(frozen=True)
class Column:
    key: str
    label: "StrOrPromise"  # translatable, used in error messages and in exports
    aliases: tuple[str, ...]
    required: bool = False


COLUMNS = [
    Column("last_name", gettext_lazy("last name"), ("nom", "last name"), required=True),
    Column("first_name", gettext_lazy("first name"), ("prenom", "first name"), required=True),
    Column("last_name_ar", gettext_lazy("last name (Arabic)"), ("nom (arabe)", "nom arabe")),
    Column(
        "first_name_ar", gettext_lazy("first name (Arabic)"), ("prenom (arabe)", "prenom arabe")
    ),
    Column("sex", gettext_lazy("sex"), ("sexe",), required=True),
    Column("role", gettext_lazy("role"), ("role", "qualite"), required=True),
    Column("position", gettext_lazy("position"), ("fonction", "poste")),
    Column("region", gettext_lazy("region"), ("region",), required=True),
    Column("email", gettext_lazy("e-mail"), ("e-mail", "courriel", "mail")),
    Column("phone", gettext_lazy("phone"), ("telephone", "tel")),
    Column("preferred_language", gettext_lazy("language"), ("langue", "language")),
    Column("consent_date", gettext_lazy("consent date"), ("date de consentement", "consent")),
    Column("cohort", gettext_lazy("cohort"), ("cohorte", "cohort code")),
    Column("enrolled_on", gettext_lazy("enrolment date"), ("date d'inscription", "enrolled on")),
    # The cohort's name in Arabic and English (its code names it): set on the cohort.
    Column(
        "cohort_name_ar",
        gettext_lazy("cohort name (Arabic)"),
        ("cohorte (arabe)", "nom de la cohorte (arabe)", "cohort (arabic)"),
    ),
    Column(
        "cohort_name_en",
        gettext_lazy("cohort name (English)"),
        ("cohorte (anglais)", "nom de la cohorte (anglais)", "cohort (english)"),
    ),
]
_BY_KEY = {c.key: c for c in COLUMNS}
_ROLE_VALUES = {
    "elu": "elu", "elue": "elu", "elected": "elu", "elected official": "elu",
    "cadre": "cadre", "staff": "cadre",
}  # fmt: skip
_SEX_VALUES = {
    "f": "F", "femme": "F", "female": "F", "woman": "F",
    "m": "M", "h": "M", "homme": "M", "male": "M", "man": "M",
}  # fmt: skip
_LANGUAGE_VALUES = {
    "fr": "fr", "francais": "fr", "french": "fr",
    "ar": "ar", "arabe": "ar", "arabic": "ar", "عربية": "ar", "العربية": "ar",
    "en": "en", "anglais": "en", "english": "en",
}  # fmt: skip


def _fold(text: str) -> str:
    """Lower case without accents or extra spaces, to match headers and values leniently."""
    text = unicodedata.normalize("NFKD", text.strip().lower())
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    return re.sub(r"[\s_]+", " ", text)


def _match_header(header: list[str]) -> tuple[dict[str, int], list[LineError]]:
    lookup = {}
    for column in COLUMNS:
        for alias in (column.key, str(column.label), *column.aliases):
            lookup[_fold(alias)] = column.key
    positions: dict[str, int] = {}
    errors = []
    for index, name in enumerate(header):
        key = lookup.get(_fold(name))
        if key is None:
            if name:
                errors.append(LineError(1, name, _("Unknown column “%(name)s”.") % {"name": name}))
        elif key in positions:
            message = _("Column “%(name)s” appears twice.") % {"name": name}
            errors.append(LineError(1, name, message))
        else:
            positions[key] = index
    for column in COLUMNS:
        if column.required and column.key not in positions:
            errors.append(
                LineError(
                    1, str(column.label), _("Missing column “%(name)s”.") % {"name": column.label}
                )
            )
    return positions, errors


def _parse_date(value: str) -> date:
    for pattern in ("%Y-%m-%d", "%d/%m/%Y", "%d-%m-%Y"):
        try:
            return datetime.strptime(value, pattern).date()  # noqa: DTZ007 (a date, no time)
        except ValueError:
            continue
    raise ValueError


@dataclass
class ImportResult:
    created: int = 0
    updated: int = 0
    enrolled: int = 0
    rows: list[dict] = field(default_factory=list)  # what each row did, for the preview


class _Row:
    """One data row being checked; collects its errors."""

    def __init__(self, number: int, values: dict[str, str], errors: list[LineError]):
        self.number, self.values, self.errors = number, values, errors

    def error(self, key: str, message: str) -> None:
        self.errors.append(LineError(self.number, str(_BY_KEY[key].label), message))

    def choice(self, key: str, table: dict[str, str], message: str) -> str | None:
        raw = self.values.get(key, "")
        if not raw:
            return None
        value = table.get(_fold(raw))
        if value is None:
            self.error(key, message % {"value": raw})
        return value

    def date(self, key: str) -> date | None:
        raw = self.values.get(key, "")
        if not raw:
            return None
        try:
            return _parse_date(raw)
        except ValueError:
            message = _("“%(value)s” is not a date: write 2019-03-25 or 25/03/2019.")
            self.error(key, message % {"value": raw})
            return None


def _regions_index() -> dict[str, Region]:
    index = {}
    for region in Region.objects.all():
        number = region.code.split("-")[1]
        for alias in (region.code, number, str(int(number)), region.name_fr, region.name_ar):
            index[_fold(alias)] = region
    return index


def _plan_row(row: _Row, regions, cohorts, scope, seen_emails) -> dict:
    """Turn a row's text into participant fields, reporting every problem."""
    values = row.values
    for key in ("last_name", "first_name"):
        if not values.get(key):
            row.error(key, _("This field is required."))
    sex = row.choice("sex", _SEX_VALUES, _("“%(value)s” is not a sex: write F or M."))
    role = row.choice("role", _ROLE_VALUES, _("“%(value)s” is not a role: write élu or cadre."))
    for key, value in (("sex", sex), ("role", role)):
        if value is None and not values.get(key):
            row.error(key, _("This field is required."))
    language = row.choice(
        "preferred_language", _LANGUAGE_VALUES, _("“%(value)s” is not a language: fr, ar or en.")
    )
    region = None
    if not values.get("region"):
        row.error("region", _("This field is required."))
    else:
        region = regions.get(_fold(values["region"]))
        if region is None:
            row.error(
                "region",
                _("Unknown region “%(value)s”: write its code (MA-01 to MA-12) or its name.")
                % {"value": values["region"]},
            )
        elif scope is not None and region.code not in scope:
            row.error("region", _("This region is outside the regions you manage."))
    email = services.normalise_email(values.get("email"))
    if email:
        if email in seen_emails:
            row.error(
                "email",
                _("This e-mail already appears on row %(row)s.") % {"row": seen_emails[email]},
            )
        else:
            seen_emails[email] = row.number
    cohort = None
    if values.get("cohort"):
        cohort = cohorts.get(values["cohort"].strip().lower())
        if cohort is None:
            row.error(
                "cohort",
                _("Unknown cohort “%(value)s”, or outside your regions.")
                % {"value": values["cohort"]},
            )
    enrolled_on = row.date("enrolled_on")
    if cohort is not None and not (values.get("enrolled_on") and enrolled_on is None):
        wrong = enrolment_date_error(cohort, enrolled_on or local_date(timezone.now()))
        if wrong:
            row.error("enrolled_on", wrong)
    plan: dict[str, Any] = {
        "fields": {
            "last_name": values.get("last_name", ""),
            "first_name": values.get("first_name", ""),
            "last_name_ar": values.get("last_name_ar", ""),
            "first_name_ar": values.get("first_name_ar", ""),
            "sex": sex,
            "role": role,
            "position": values.get("position", ""),
            "region": region,
            "email": email,
            "phone": values.get("phone", ""),
            "preferred_language": language or "fr",
            "consent_date": row.date("consent_date"),
        },
        "cohort": cohort,
        "enrolled_on": enrolled_on,
        "cohort_names": _cohort_names(row, values),
    }
    _check_fields(row, plan["fields"])
    return plan


def _cohort_names(row: _Row, values: dict) -> dict[str, str]:
    """The cohort's names in other languages given on the row (checked, not yet written)."""
    names = {}
    for key, attr in (("cohort_name_ar", "name_ar"), ("cohort_name_en", "name_en")):
        value = (values.get(key) or "").strip()
        if not value:
            continue
        if not values.get("cohort"):
            row.error(key, _("A cohort's name needs the cohort's code on the same row."))
        elif len(value) > 200:  # the fields' max_length
            row.error(key, _("At most 200 characters."))
        else:
            names[attr] = value
    return names


def _check_fields(row: _Row, fields: dict) -> None:
    """Every field's own rules (an e-mail's form, lengths…), now rather than when writing,
    so one pass reports every problem of the file. Fields already reported are left out."""
    reported = {e.field for e in row.errors if e.line == row.number}
    skip = [c.key for c in COLUMNS if str(c.label) in reported and c.key in fields]
    try:
        Participant(**fields).full_clean(
            exclude=[*skip, "user"], validate_unique=False, validate_constraints=False
        )
    except ValidationError as exc:
        for key, messages in exc.message_dict.items():
            for message in messages:
                if key in _BY_KEY:
                    row.error(key, message)
                else:
                    row.errors.append(LineError(row.number, key, message))


def _apply(row: _Row, plan: dict, existing: Participant | None, user, result: ImportResult):
    fields = plan["fields"]
    try:
        if existing is None:
            participant = services.participant_create(**fields)
            result.created += 1
            action = "created"
        else:
            participant = services.participant_update(participant=existing, **fields)
            result.updated += 1
            action = "updated"
        cohort = plan["cohort"]
        names = plan["cohort_names"] if cohort is not None else {}
        changed = {k: v for k, v in names.items() if getattr(cohort, k) != v}
        if changed:
            for field, value in changed.items():
                setattr(cohort, field, value)
            cohort.save(update_fields=list(changed))
        enrolled = False
        if (
            cohort is not None
            and not Enrolment.objects.filter(participant=participant, cohort=cohort).exists()
        ):
            services.enrolment_create(
                participant=participant, cohort=cohort, enrolled_on=plan["enrolled_on"], by=user
            )
            result.enrolled += 1
            enrolled = True
    except ValidationError as exc:
        for key, messages in exc.message_dict.items():
            label = str(_BY_KEY[key].label) if key in _BY_KEY else key
            for message in messages:
                row.errors.append(LineError(row.number, label, message))
        return
    result.rows.append(
        {
            "row": row.number,
            "action": action,
            "name": participant.full_name,
            "region": participant.region_id,
            "cohort": cohort.code if enrolled else "",
        }
    )


class _Rollback(Exception):
    pass


def participants_import(*, name: str, content: bytes, user, commit: bool) -> ImportResult:
    """Import the file; with commit=False, do it all and roll it back (the preview).

    Raises LineErrors with every problem (row number, column, message); then nothing is
    saved. Row numbers are the spreadsheet's: the header is row 1.
    """
    from cohorts.tables import TableError

    try:
        header, data = read_table(name, content)
    except TableError as exc:
        raise LineErrors([LineError(1, "", str(exc))]) from exc
    positions, errors = _match_header(header)
    if errors:
        raise LineErrors(errors)

    scope = region_scope(user)
    regions = _regions_index()
    cohorts = {c.code.lower(): c for c in scope_cohorts(Cohort.objects.all(), user)}
    rows: list[_Row] = []
    plans: list[dict] = []
    seen: dict[str, int] = {}
    for offset, cells in enumerate(data):
        values = {k: (cells[i] if i < len(cells) else "").strip() for k, i in positions.items()}
        row = _Row(offset + 2, values, errors)
        plans.append(_plan_row(row, regions, cohorts, scope, seen))
        rows.append(row)
    existing = {
        p.email: p
        for p in Participant.objects.filter(email__in=list(seen)).select_related("region")
    }
    for row, plan in zip(rows, plans, strict=True):
        match = existing.get(plan["fields"]["email"])
        if match is not None and scope is not None and match.region_id not in scope:
            row.error("email", _("This e-mail belongs to a participant outside your regions."))
    if errors:
        raise LineErrors(errors)

    result = ImportResult()
    try:
        with transaction.atomic():
            for row, plan in zip(rows, plans, strict=True):
                _apply(row, plan, existing.get(plan["fields"]["email"]), user, result)
            if errors:
                raise LineErrors(errors)
            if not commit:
                raise _Rollback
    except _Rollback:
        pass
    return result
