"""The OpenAPI schema is generated, valid, and real responses conform to it."""

import pytest
import yaml
from django.test import RequestFactory
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.validation import validate_schema
from openapi_core import OpenAPI
from openapi_core.contrib.django import DjangoOpenAPIRequest, DjangoOpenAPIResponse
from rest_framework.test import APIClient

from cohorts import services
from cohorts.models import FunderProfile, Organisation, Participant
from tests.factories import (
    CohortFactory,
    EnrolmentFactory,
    SessionFactory,
    UserFactory,
    manager,
    region,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def schema():
    generated = SchemaGenerator().get_schema(request=None, public=True)
    validate_schema(generated)  # raises on an invalid OpenAPI document
    return generated


def test_the_schema_is_served_and_documents_every_endpoint(client, schema):
    response = client.get("/api/schema/")
    assert response.status_code == 200
    served = yaml.safe_load(response.content)
    assert served["openapi"].startswith("3.")
    paths = set(served["paths"])
    for path in ("/api/v1/auth/token/", "/api/v1/me/", "/api/v1/sessions/{id}/attendance/",
                 "/api/v1/reports/progress/", "/api/v1/reports/timeline/",
                 "/api/v1/participants/", "/api/v1/cohorts/"):  # fmt: skip
        assert path in paths, path
    docs = client.get("/api/docs/")
    assert docs.status_code == 200 and b"swagger" in docs.content.lower()


def test_the_token_example_in_the_schema_is_a_real_demo_account(schema):
    example = schema["paths"]["/api/v1/auth/token/"]["post"]["requestBody"]["content"][
        "application/json"
    ]["examples"]["DemoManager"]["value"]
    from cohorts.demo import DEMO_PASSWORD

    assert example == {"username": "manager", "password": DEMO_PASSWORD}


@pytest.fixture
def world():
    cohort = CohortFactory(regions=[region("MA-04")])
    session = SessionFactory(cohort=cohort)
    trainee = UserFactory(username="trainee")
    people = [EnrolmentFactory(cohort=cohort).participant for _ in range(6)]
    Participant.objects.filter(pk=people[0].pk).update(user=trainee)
    services.attendance_roster_record(
        session=session, marks=[services.Mark(p.pk, "present") for p in people]
    )
    funder = UserFactory(username="afd")
    FunderProfile.objects.create(
        user=funder, organisation=Organisation.objects.get(short_name="AFD")
    )
    return {"session": session, "people": people, "trainee": trainee, "funder": funder,
            "manager": manager("national")}  # fmt: skip


def _conforms(openapi, response):
    django_request = RequestFactory().generic(
        response.request["REQUEST_METHOD"],
        response.request["PATH_INFO"] + (
            "?" + response.request["QUERY_STRING"] if response.request.get("QUERY_STRING") else ""
        ),
    )  # fmt: skip
    openapi.validate_response(DjangoOpenAPIRequest(django_request), DjangoOpenAPIResponse(response))


def test_real_responses_conform_to_the_schema(schema, world):
    openapi = OpenAPI.from_dict(schema)
    session = world["session"]
    cases = [
        ("manager", "get", "/api/v1/regions/", None),
        ("manager", "get", "/api/v1/organisations/", None),
        ("manager", "get", "/api/v1/cohorts/", None),
        ("manager", "get", "/api/v1/sessions/?year=2019", None),
        ("manager", "get", "/api/v1/participants/?region=MA-04", None),
        ("manager", "get", "/api/v1/enrolments/", None),
        ("manager", "get", "/api/v1/attendance/", None),
        ("manager", "get", f"/api/v1/sessions/{session.pk}/attendance/", None),
        ("manager", "put", f"/api/v1/sessions/{session.pk}/attendance/",
         [{"participant": world["people"][1].pk, "status": "late"}]),
        ("trainee", "get", "/api/v1/me/", None),
        ("funder", "get", "/api/v1/reports/progress/?group_by=region,sex", None),
        ("funder", "get", "/api/v1/reports/timeline/?period=year", None),
    ]  # fmt: skip
    for who, method, url, body in cases:
        client = APIClient(HTTP_ACCEPT_LANGUAGE="en")
        client.force_authenticate(world[who])
        response = (getattr(client, method)(url, body, format="json") if body
                    else getattr(client, method)(url))  # fmt: skip
        assert response.status_code == 200, (url, response.content[:300])
        _conforms(openapi, response)
