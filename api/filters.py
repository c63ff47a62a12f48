"""Query-string filters that check their values: a bad value is a 400 naming what is expected.

Every list endpoint filters through `FilterBackend` and `OrderingFilter` (the settings'
DEFAULT_FILTER_BACKENDS), with filter sets built on `FilterSet`. Each filter here validates
its value completely (type, range, choices) before it reaches the database, so nothing the
database would refuse (an offset beyond its range, an id beyond 64 bits) gets that far, and
its message says what is expected. `FilterSet` turns the model fields a view lists in
`filterset_fields` or `Meta.fields` into these filters, and refuses a field it cannot check;
tests/test_api_filters.py walks every list endpoint's filters with bad and good values.

Ids are checked for their form only, not looked up: an id that does not exist and one outside
the caller's regions both give an empty list, so a filter tells nobody which ids exist.
"""

import datetime
import re

import django_filters
from django import forms
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.db import models
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.functional import lazy
from django.utils.translation import gettext
from django_filters.rest_framework import DjangoFilterBackend
from rest_framework import exceptions
from rest_framework import filters as drf_filters

from cohorts.models import Region

MAX_ID = 2**63 - 1  # a BigAutoField's largest; beyond it SQLite raises OverflowError
FIRST_YEAR, LAST_YEAR = 2000, 2100  # as the reports' `year` (api.views.reports)
# Offsets in use run from -12:00 to +14:00 (Kiribati). Python takes up to ±23:59 and
# PostgreSQL refuses beyond ±15:59 with a DataError (the 500 of issue 14), so the filter
# draws the line where real time zones end.
MAX_OFFSET = datetime.timedelta(hours=14)
REGION_CODE = re.compile(r"^MA-(0[1-9]|1[0-2])$")
COUNTRY_CODE = re.compile(r"^[A-Z]{2}$")
# ISO 8601's extended form, the date alone or with a time and an optional offset. Python's
# parser alone takes more (300 ones read as 1111-11-11T11:11:11.111111).
_ISO_DATETIME = re.compile(
    r"^\d{4}-\d{2}-\d{2}"
    r"(?:[T ]\d{2}:\d{2}(?::\d{2}(?:[.,]\d{1,6})?)?(?:Z|[+-]\d{2}(?::?\d{2})?)?)?$"
)
# A `+` written raw in a URL arrives as a space: "2026-09-01T10:00:00 02:00". A space is
# never otherwise valid before an offset, so it can only have been a `+`.
_SPACED_OFFSET = re.compile(
    r"^(\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?) (\d{2}(?::?\d{2})?)$"
)


def _literal(message: str) -> str:
    """Escape `%` (as in %2B): django-filter formats every message with its params, even none."""
    return message.replace("%", "%%")


def datetime_expected() -> str:
    return gettext(
        "Expected an ISO 8601 date-time such as 2026-09-01T10:00:00+02:00; write + as %2B in a URL."
    )


class _DateTimeField(forms.Field):
    def to_python(self, value):
        text = (value or "").strip()
        if not text:
            return None
        text = _SPACED_OFFSET.sub(r"\1+\2", text)
        try:
            parsed = parse_datetime(text) if _ISO_DATETIME.match(text) else None
        except ValueError:  # well formed, but an offset of 24 hours or more
            parsed = None
        if parsed is None:
            raise ValidationError(_literal(datetime_expected()), code="invalid")
        if timezone.is_naive(parsed):
            parsed = timezone.make_aware(parsed)
        offset = parsed.utcoffset() or datetime.timedelta(0)
        if abs(offset) > MAX_OFFSET:
            message = gettext(
                "The time zone offset must lie between -14:00 and +14:00, "
                "as in 2026-09-01T10:00:00+02:00."
            )
            raise ValidationError(_literal(message), code="offset")
        try:
            parsed.astimezone(datetime.UTC)  # what the database adapters do
        except OverflowError:  # e.g. 0001-01-01T00:00:00+01:00
            raise ValidationError(_literal(datetime_expected()), code="invalid") from None
        return parsed


class _Expects:
    """Every message of the filter's form field says what the filter expects.

    The message is lazy: the form field may be built once for all requests (the schema
    generator builds the class's own), and each request reads it in its language.
    """

    extra: dict
    _field: forms.Field

    def expected(self) -> str:
        raise NotImplementedError

    @property
    def field(self):
        if not hasattr(self, "_field"):
            field = super().field  # type: ignore[misc]
            message = lazy(lambda: _literal(self.expected()), str)()
            field.error_messages = dict.fromkeys(field.error_messages, message)
            field.validators = [_one_message(field.validators, message)]
        return self._field


def _one_message(validators, message):
    """Run the validators; the first that fails gives the one message (not one per failure)."""

    def check(value):
        try:
            for validator in validators:
                validator(value)
        except ValidationError:
            raise ValidationError(message, code="invalid") from None

    return check


class DateTimeFilter(_Expects, django_filters.IsoDateTimeFilter):
    """An ISO 8601 date-time, its `+` taken back from a space, its offset within ±14:00."""

    field_class = _DateTimeField

    def expected(self) -> str:
        return datetime_expected()


class IdFilter(_Expects, django_filters.NumberFilter):
    """An id: a whole number from 1, not looked up (see the module's docstring)."""

    field_class = forms.IntegerField
    openapi = {"type": "integer", "minimum": 1, "maximum": MAX_ID}

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", MAX_ID)
        super().__init__(*args, **kwargs)

    def expected(self) -> str:
        return gettext("Expected an id: a whole number from 1.")


class YearFilter(_Expects, django_filters.NumberFilter):
    field_class = forms.IntegerField
    openapi = {"type": "integer", "minimum": FIRST_YEAR, "maximum": LAST_YEAR}

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("min_value", FIRST_YEAR)
        kwargs.setdefault("max_value", LAST_YEAR)
        super().__init__(*args, **kwargs)

    def expected(self) -> str:
        return gettext("Expected a programme year, a whole number from %(first)s to %(last)s.") % {
            "first": FIRST_YEAR,
            "last": LAST_YEAR,
        }


class ChoiceFilter(_Expects, django_filters.ChoiceFilter):
    def expected(self) -> str:
        values = ", ".join(str(value) for value, _label in self.extra["choices"])
        return gettext("Expected one of: %(choices)s.") % {"choices": values}


class _PatternFilter(_Expects, django_filters.CharFilter):
    field_class = forms.RegexField
    pattern: re.Pattern

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("regex", self.pattern)
        super().__init__(*args, **kwargs)

    @property
    def openapi(self) -> dict:
        return {"type": "string", "pattern": self.pattern.pattern}


class RegionFilter(_PatternFilter):
    pattern = REGION_CODE

    def expected(self) -> str:
        return gettext("Expected a region code, MA-01 to MA-12.")


class CountryFilter(_PatternFilter):
    pattern = COUNTRY_CODE

    def expected(self) -> str:
        return gettext("Expected a two-letter country code (ISO 3166-1) such as MA or FR.")


VALIDATED_FILTERS = (DateTimeFilter, IdFilter, YearFilter, ChoiceFilter, RegionFilter,
                     CountryFilter)  # fmt: skip


class FilterSet(django_filters.FilterSet):
    """A filter set whose filters all check their values (see the module's docstring)."""

    @classmethod
    def filter_for_lookup(cls, field, lookup_type):
        if lookup_type == "exact":
            if field.many_to_one or field.one_to_one:
                if field.related_model is Region:
                    return RegionFilter, {}
                if isinstance(field.target_field, models.AutoField | models.IntegerField):
                    return IdFilter, {}
            elif field.choices:
                return ChoiceFilter, {"choices": field.choices}
        raise ImproperlyConfigured(
            f"{cls.__name__}: declare a filter from api.filters for {field.name} "
            f"({type(field).__name__}, {lookup_type}); only ids, regions and choices are "
            "made automatically."
        )


class FilterBackend(DjangoFilterBackend):
    filterset_base = FilterSet

    def get_filterset_class(self, view, queryset=None):
        filterset_class = super().get_filterset_class(view, queryset)
        if filterset_class is not None and not issubclass(filterset_class, FilterSet):
            raise ImproperlyConfigured(
                f"{type(view).__name__}.filterset_class must derive from api.filters.FilterSet"
            )
        return filterset_class


class OrderingFilter(drf_filters.OrderingFilter):
    """DRF's ordering, refusing a field it does not offer instead of ignoring it."""

    def get_ordering(self, request, queryset, view):
        param = request.query_params.get(self.ordering_param)
        terms = [term.strip() for term in (param or "").split(",") if term.strip()]
        if not terms:
            return self.get_default_ordering(view)
        valid = self._valid(queryset, view, request)
        if any(term.removeprefix("-") not in valid for term in terms):
            raise exceptions.ValidationError({self.ordering_param: [self._expected(valid)]})
        return terms

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        # The queryset only tells the model: the views' get_queryset() needs a caller.
        model = view.get_serializer_class().Meta.model
        valid = self._valid(model._default_manager.none(), view, getattr(view, "request", None))
        for parameter in parameters:
            parameter["description"] = self._expected(valid)
        return parameters

    def _valid(self, queryset, view, request) -> list[str]:
        fields = self.get_valid_fields(queryset, view, {"request": request})
        return sorted(name for name, _label in fields)

    def _expected(self, valid: list[str]) -> str:
        return gettext(
            "Expected a comma-separated list of %(fields)s, each optionally preceded by - "
            "for descending order."
        ) % {"fields": ", ".join(valid)}
