"""The schema documents every operation's error answers with the one error body, and the
error answers the API really gives conform to it."""

import pytest
from django.test import RequestFactory
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.validation import validate_schema
from openapi_core import OpenAPI
from openapi_core.contrib.django import DjangoOpenAPIRequest, DjangoOpenAPIResponse
from rest_framework.test import APIClient

from cohorts.models import Participant
from tests.factories import EnrolmentFactory, SessionFactory, UserFactory, manager

pytestmark = pytest.mark.django_db

ERROR = {"$ref": "#/components/schemas/Error"}
# Public and without authentication: nobody is refused, no token is checked.
PUBLIC = {
    "/api/v1/certificates/verify/{code}/",
    "/api/v1/certificates/verify/{code}/file/",
    "/api/v1/credentials/verify",
}
METHODS = {"get", "put", "post", "patch", "delete"}


@pytest.fixture(scope="module")
def schema():
    generated = SchemaGenerator().get_schema(request=None, public=True)
    validate_schema(generated)
    return generated


def _operations(schema):
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            if method in METHODS:
                yield path, method, operation


def _error_body(operation, code):
    return operation["responses"][code]["content"]["application/json"]["schema"]


def test_the_error_body_is_one_component(schema):
    components = schema["components"]["schemas"]
    assert components["Error"]["required"] == ["error"]
    assert components["ErrorDetail"]["required"] == ["code", "message"]
    assert set(components["ErrorDetail"]["properties"]) == {"code", "message", "fields", "lines"}


def test_every_operation_documents_401_and_403_with_the_error_body(schema):
    operations = list(_operations(schema))
    assert len(operations) >= 25
    for path, method, operation in operations:
        if path in PUBLIC:
            assert {"401", "403"}.isdisjoint(operation["responses"]), (method, path)
            continue
        for code in ("401", "403"):
            assert _error_body(operation, code) == ERROR, (method, path, code)
            assert operation["responses"][code]["description"]


def test_parameters_bodies_objects_and_throttles_have_their_error_answers(schema):
    for path, method, operation in _operations(schema):
        responses = operation["responses"]
        assert _error_body(operation, "429") == ERROR, (method, path)  # every view is throttled
        takes_input = "requestBody" in operation or any(
            p["in"] == "query" for p in operation.get("parameters", [])
        )
        assert ("400" in responses) == takes_input, (method, path)
        if "{" in path:
            assert _error_body(operation, "404") == ERROR, (method, path)
        for code in responses:
            if code >= "400":
                assert _error_body(operation, code) == ERROR, (method, path, code)


def test_a_view_keeps_its_own_description_of_an_error(schema):
    documented = schema["paths"]["/api/v1/certificates/verify/{code}/"]["get"]["responses"]
    assert documented["404"] == {
        "description": "unknown code",
        "content": {"application/json": {"schema": ERROR}},
    }


def test_filters_document_what_they_expect(schema):
    parameters = {p["name"]: p for p in schema["paths"]["/api/v1/sessions/"]["get"]["parameters"]}
    # In the schema's language (French when generated without a request).
    description = parameters["starts_after"]["description"]
    assert "ISO 8601" in description and "%2B" in description
    assert parameters["starts_after"]["schema"] == {"type": "string", "format": "date-time"}
    assert parameters["region"]["schema"]["pattern"] == "^MA-(0[1-9]|1[0-2])$"
    assert parameters["year"]["schema"] == {"type": "integer", "minimum": 2000, "maximum": 2100}
    assert parameters["cohort"]["schema"]["minimum"] == 1
    assert "starts_at, title" in parameters["ordering"]["description"]


def _conforms(openapi, response):
    django_request = RequestFactory().generic(
        response.request["REQUEST_METHOD"],
        response.request["PATH_INFO"] + (
            "?" + response.request["QUERY_STRING"] if response.request.get("QUERY_STRING") else ""
        ),
    )  # fmt: skip
    openapi.validate_response(DjangoOpenAPIRequest(django_request), DjangoOpenAPIResponse(response))


def _client(user=None):
    client = APIClient(HTTP_ACCEPT_LANGUAGE="en")
    if user is not None:
        client.force_authenticate(user)
    return client


def test_real_error_answers_conform_to_the_schema(schema):
    openapi = OpenAPI.from_dict(schema)
    session = SessionFactory()
    person = EnrolmentFactory(cohort=session.cohort).participant
    national = manager("national")
    trainee = UserFactory(username="trainee")
    Participant.objects.filter(pk=person.pk).update(user=trainee)
    outsider = manager("oriental", regions=["MA-02"])
    bad_token = APIClient(HTTP_AUTHORIZATION="Token not-a-token")
    cases = [
        (400, _client(national).get("/api/v1/sessions/?starts_after=2026-09-01T10:00:00+18:38")),
        (400, _client(national).get("/api/v1/participants/?ordering=password")),
        (400, _client(national).get("/api/v1/reports/progress/?group_by=colour")),
        (400, _client(national).put(f"/api/v1/sessions/{session.pk}/attendance/",
                                    [{"participant": person.pk, "status": "asleep"}])),
        (400, _client().post("/api/v1/auth/token/", {"username": "x"})),
        (401, _client().get("/api/v1/cohorts/")),
        (401, bad_token.get("/api/v1/sessions/")),
        (401, _client().delete("/api/v1/auth/token/")),
        (403, _client(trainee).get("/api/v1/participants/")),
        (403, _client(trainee).get("/api/v1/reports/progress/")),
        (404, _client(national).get("/api/v1/cohorts/999999/")),
        (404, _client(outsider).get(f"/api/v1/sessions/{session.pk}/attendance/")),
        (404, _client(national).get("/api/v1/sessions/?page=9")),
        (404, _client().get("/api/v1/certificates/verify/NO-SUCH-CODE/")),
    ]  # fmt: skip
    for _ in range(5):
        _client().post("/api/v1/auth/token/", {"username": "national", "password": "guess"})
    cases.append(
        (429, _client().post("/api/v1/auth/token/", {"username": "national", "password": "x"}))
    )
    for status, response in cases:
        assert response.status_code == status, (response.request["PATH_INFO"], response.content)
        assert set(response.json()["error"]) >= {"code", "message"}
        _conforms(openapi, response)


def test_public_verification_does_not_check_tokens():
    """Why PUBLIC documents no 401: a bad token is not even looked at there."""
    client = APIClient(HTTP_AUTHORIZATION="Token not-a-token")
    assert client.get("/api/v1/certificates/verify/NO-SUCH-CODE/").status_code == 404
