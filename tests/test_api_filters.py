"""Every filter of every API list endpoint checks its value: a bad one answers 400 with the
error body naming the parameter and what is expected, never a 500; a good one answers 200.

The endpoints and their filters are read from api.urls and the views' filter sets, so a new
endpoint or filter is tried too; a filter of a kind this file has no values for fails
`test_every_filter_is_of_a_kind_that_checks_its_value` until its cases are added to CASES.
Values are written as they appear in a query string: a raw `+` arrives as a space.
"""

import copy
import datetime

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.urls import URLPattern
from django.utils import translation
from django_filters import CharFilter, Filter
from django_filters import FilterSet as PlainFilterSet
from rest_framework.generics import GenericAPIView
from rest_framework.mixins import ListModelMixin
from rest_framework.request import Request
from rest_framework.test import APIClient, APIRequestFactory

from api import filters, urls
from cohorts.models import Organisation, TrainingSession
from tests.factories import SessionFactory, manager

pytestmark = pytest.mark.django_db

MAX_ID = str(2**63 - 1)
# For each kind of filter: (bad values, good values, words its message must contain).
CASES: dict[type, tuple[list[str], list[str], str]] = {
    filters.DateTimeFilter: (
        [
            "junk",
            "2026-13-01T10:00:00Z",
            "2026-09-01T25:00:00Z",
            "2026-09-01T10:00:00%2B24:00",
            "0001-01-01T00:00:00%2B01:00",
            "9999-12-31T23:59:59-14:00",
            "2026-09-01T10:00:00  02:00",
            "%00",
            "1" * 300,
        ],
        [
            "2026-09-01T10:00:00+02:00",
            "2026-09-01T10:00:00%2B02:00",
            "2026-09-01T10:00:00Z",
            "2026-09-01T10:00:00-14:00",
            "2026-09-01T10:00:00+14:00",
            "2026-09-01 10:00:00+0200",
            "2026-09-01T10:00:00",
            "2026-09-01",
            "",
        ],
        "ISO 8601 date-time such as 2026-09-01T10:00:00+02:00; write + as %2B in a URL",
    ),  # fmt: skip
    filters.IdFilter: (
        ["abc", "0", "-1", "1.5", "1e3", str(2**63), "99999999999999999999999", "%00"],
        ["1", MAX_ID, ""],
        "an id: a whole number from 1",
    ),
    filters.YearFilter: (
        ["abc", "1999", "2101", "2019.5", "99999999999999999999", "%00"],
        ["2019", "2000", "2100"],
        "a programme year, a whole number from 2000 to 2100",
    ),
    filters.ChoiceFilter: (["nope", "%00", "x" * 300], [], "Expected one of: "),
    filters.RegionFilter: (
        ["MA-99", "MA-00", "MA-4", "ma-04", "%3Cscript%3E", "%00"],
        ["MA-04", "MA-12"],
        "a region code, MA-01 to MA-12",
    ),
    filters.CountryFilter: (["M", "MAR", "ma", "%00"], ["MA", "FR"], "two-letter country code"),
}


def _list_endpoints() -> dict[str, type[GenericAPIView]]:
    """The API's list endpoints (no path parameter, a list action), by URL."""
    found = {}
    for pattern in urls.urlpatterns:
        assert isinstance(pattern, URLPattern)
        view = getattr(pattern.callback, "view_class", None)
        if view and issubclass(view, ListModelMixin) and not pattern.pattern.converters:
            found[f"/api/v1/{pattern.pattern}"] = view
    return found


LIST_ENDPOINTS = _list_endpoints()


def _filters(url: str) -> dict[str, Filter]:
    view_class = LIST_ENDPOINTS[url]
    model = view_class.serializer_class.Meta.model
    found = {}
    for backend in view_class().filter_backends:
        if isinstance(backend(), filters.FilterBackend):
            filterset = backend().get_filterset_class(view_class(), model.objects.none())
            found.update(filterset.base_filters if filterset else {})
    return found


def _orderings(url: str) -> list[str] | None:
    view_class = LIST_ENDPOINTS[url]
    if filters.OrderingFilter not in view_class().filter_backends:
        return None
    view = view_class(format_kwarg=None, kwargs={})
    view.request = Request(APIRequestFactory().get(url))
    model = view_class.serializer_class.Meta.model
    valid = filters.OrderingFilter().get_valid_fields(
        model.objects.none(), view, {"request": view.request}
    )
    return [name for name, _label in valid]


FILTERS = [(url, name) for url in LIST_ENDPOINTS for name in _filters(url)]


def _bad_cases():
    for url, name in FILTERS:
        bad, _good, _words = CASES.get(type(_filters(url)[name]), ([], [], ""))
        for value in bad:
            yield url, name, value


def _good_cases():
    for url, name in FILTERS:
        flt = _filters(url)[name]
        _bad, good, _words = CASES.get(type(flt), ([], [], ""))
        if isinstance(flt, filters.ChoiceFilter):
            good = [str(value) for value, _label in flt.extra["choices"]]
        for value in good:
            yield url, name, value


@pytest.fixture
def api():
    client = APIClient(HTTP_ACCEPT_LANGUAGE="en")
    client.force_authenticate(manager("national"))
    return client


def _error(response, name: str) -> str:
    assert response.status_code == 400, response.content[:300]
    body = response.json()
    assert body == {
        "error": {
            "code": "validation_error",
            "message": "The request has invalid fields.",
            "fields": {name: [body["error"]["fields"][name][0]]},
        }
    }
    return body["error"]["fields"][name][0]


def test_the_walk_finds_every_list_endpoint_and_their_filters():
    assert set(LIST_ENDPOINTS) >= {
        f"/api/v1/{name}/"
        for name in ("regions", "organisations", "cohorts", "sessions", "participants",
                     "enrolments", "attendance", "certificates")
    }  # fmt: skip
    assert {"starts_after", "starts_before", "year", "region", "cohort", "modality"} <= set(
        _filters("/api/v1/sessions/")
    )
    assert len(FILTERS) >= 25


@pytest.mark.parametrize(("url", "name"), FILTERS)
def test_every_filter_is_of_a_kind_that_checks_its_value(url, name):
    assert type(_filters(url)[name]) in CASES, f"add {type(_filters(url)[name])} to CASES"


@pytest.mark.parametrize(("url", "name", "value"), list(_bad_cases()))
def test_a_bad_value_answers_400_naming_the_parameter_and_what_is_expected(api, url, name, value):
    message = _error(api.get(f"{url}?{name}={value}"), name)
    words = CASES[type(_filters(url)[name])][2]
    assert words in message
    with translation.override("en"):
        # The message is the filter's own (the offset has a more precise one, tested below).
        filter_copy = copy.deepcopy(_filters(url)[name])
        assert message == filter_copy.expected()


@pytest.mark.parametrize(("url", "name", "value"), list(_good_cases()))
def test_a_good_value_answers_200(api, url, name, value):
    response = api.get(f"{url}?{name}={value}")
    assert response.status_code == 200, response.content[:300]


@pytest.mark.parametrize("url", [url for url in LIST_ENDPOINTS if _orderings(url) is not None])
def test_ordering_accepts_the_fields_offered_and_refuses_others(api, url):
    fields = _orderings(url)
    assert fields
    for term in [*fields, *(f"-{field}" for field in fields), ",".join(fields)]:
        assert api.get(f"{url}?ordering={term}").status_code == 200, term
    for term in ["nope", "password", "-", "--" + fields[0], f"{fields[0]},nope", "%00"]:
        message = _error(api.get(f"{url}?ordering={term}"), "ordering")
        assert message == (
            f"Expected a comma-separated list of {', '.join(sorted(fields))}, "
            "each optionally preceded by - for descending order."
        )


@pytest.mark.parametrize(
    "url", [*LIST_ENDPOINTS, "/api/v1/reports/progress/", "/api/v1/reports/timeline/"]
)
def test_an_unknown_format_answers_400_with_the_formats(api, url):
    assert api.get(f"{url}?format=json").status_code == 200
    message = _error(api.get(f"{url}?format=pdf"), "format")
    assert message.startswith("Expected one of: json, ")


# The case of issue 14 -------------------------------------------------------------------


def test_an_offset_beyond_14_hours_answers_400_whether_its_plus_was_encoded_or_not(api):
    for offset in ("+18:38", "%2B18:38", "%2B1838", "-14:01", "%2B14:30", "%2B23:59"):
        response = api.get(f"/api/v1/sessions/?starts_after=2026-09-01T10:00:00{offset}")
        assert _error(response, "starts_after") == (
            "The time zone offset must lie between -14:00 and +14:00, "
            "as in 2026-09-01T10:00:00+02:00."
        )


def test_a_plus_decoded_as_a_space_is_read_as_the_plus_it_was(api):
    """09:30 UTC is after 10:00+01:00 (09:00 UTC) and before 10:00-01:00 (11:00 UTC)."""
    session = SessionFactory(starts_at=datetime.datetime(2026, 9, 1, 9, 30, tzinfo=datetime.UTC))
    found = [
        [row["id"] for row in api.get(f"/api/v1/sessions/?{query}").json()["results"]]
        for query in ("starts_after=2026-09-01T10:00:00+01:00",
                      "starts_after=2026-09-01T10:00:00%2B01:00",
                      "starts_before=2026-09-01T10:00:00+01:00",
                      "starts_after=2026-09-01T10:00:00-01:00")
    ]  # fmt: skip
    assert found == [[session.pk], [session.pk], [], []]


def test_the_messages_are_in_the_requests_language(api):
    response = api.get("/api/v1/sessions/?starts_after=junk", HTTP_ACCEPT_LANGUAGE="fr")
    assert response.status_code == 400
    message = response.json()["error"]["fields"]["starts_after"][0]
    assert "ISO 8601" in message and "%2B" in message and "Expected" not in message
    response = api.get("/api/v1/sessions/?modality=nope", HTTP_ACCEPT_LANGUAGE="ar")
    assert "in_person, remote, hybrid" in response.json()["error"]["fields"]["modality"][0]
    assert "Expected" not in response.json()["error"]["fields"]["modality"][0]


def test_the_language_is_the_requests_even_after_the_schema_built_the_form_fields(api):
    for flt in _filters("/api/v1/sessions/").values():
        with translation.override("fr"):
            assert flt.field  # what drf-spectacular does when it documents the choices
    for language, words in [("en", "Expected one of"), ("fr", "Valeurs attendues")]:
        response = api.get("/api/v1/sessions/?modality=nope", HTTP_ACCEPT_LANGUAGE=language)
        assert words in response.json()["error"]["fields"]["modality"][0]


def test_an_id_filter_does_not_tell_which_ids_exist(api):
    """A cohort that does not exist and one outside the caller's regions look the same."""
    session = SessionFactory()  # a cohort in MA-04
    outsider = APIClient(HTTP_ACCEPT_LANGUAGE="en")
    outsider.force_authenticate(manager("oriental", regions=["MA-02"]))
    for cohort in (session.cohort_id, 2**62):
        response = outsider.get(f"/api/v1/sessions/?cohort={cohort}")
        assert (response.status_code, response.json()["count"]) == (200, 0)


def test_filters_still_filter(api):
    kept = SessionFactory(modality=TrainingSession.Modality.REMOTE)
    SessionFactory(modality=TrainingSession.Modality.IN_PERSON)
    Organisation.objects.create(short_name="GIZ", name="GIZ", kind="funder", country="DE")
    for query, expected in [
        ("modality=remote", [kept.pk]),
        (f"cohort={kept.cohort_id}", [kept.pk]),
        ("region=MA-04&year=2019&modality=remote", [kept.pk]),
        ("region=MA-05", []),
        ("year=2020", []),
    ]:
        rows = api.get(f"/api/v1/sessions/?{query}").json()["results"]
        assert [row["id"] for row in rows] == expected, query
    rows = api.get("/api/v1/organisations/?country=DE").json()["results"]
    assert [row["short_name"] for row in rows] == ["GIZ"]


# The guard rails ------------------------------------------------------------------------


def test_a_model_field_that_cannot_be_checked_must_be_declared():
    with pytest.raises(ImproperlyConfigured, match="declare a filter from api.filters for title"):

        class _Unchecked(filters.FilterSet):
            class Meta:
                model = TrainingSession
                fields = ["title"]


def test_the_backend_refuses_a_filter_set_that_does_not_check_its_values():
    class Plain(PlainFilterSet):
        title = CharFilter()

        class Meta:
            model = TrainingSession
            fields = ["title"]

    class View(GenericAPIView):
        filterset_class = Plain

    with pytest.raises(ImproperlyConfigured, match="must derive from api.filters.FilterSet"):
        filters.FilterBackend().get_filterset_class(View(), TrainingSession.objects.none())
