"""A trainee's own view: cohorts, sessions, marks, progress and certificates — nobody else's.

Read through `certificates.trainee.trainee_overview`, as the "My programme" page is."""

from django.urls import reverse
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers as drf
from rest_framework.response import Response
from rest_framework.views import APIView

from api.permissions import IsTrainee
from api.serializers import RateSerializer
from certificates.credentials import current_credentials
from certificates.models import Credential
from certificates.trainee import CohortOverview, trainee_overview

MeSerializer = inline_serializer(
    "Me",
    {
        "participant": inline_serializer(
            "MeParticipant",
            {
                "first_name": drf.CharField(),
                "last_name": drf.CharField(),
                "first_name_ar": drf.CharField(),
                "last_name_ar": drf.CharField(),
                "region": drf.CharField(),
                "preferred_language": drf.CharField(),
            },
        ),
        "cohorts": inline_serializer(
            "MeCohort",
            {
                "id": drf.IntegerField(),
                "code": drf.CharField(),
                "name": drf.CharField(),
                "year": drf.IntegerField(),
                "enrolment_status": drf.CharField(),
                "progress": inline_serializer(
                    "MeProgress",
                    {
                        "attendance_rate": RateSerializer(),
                        "threshold_percent": drf.IntegerField(),
                        "eligible": drf.BooleanField(),
                        "reachable": drf.BooleanField(),
                        "sessions_left": drf.IntegerField(),
                        "hours_attended": drf.DecimalField(max_digits=7, decimal_places=2),
                        "reasons": drf.ListField(child=drf.CharField()),
                    },
                ),
                "sessions": inline_serializer(
                    "MeSession",
                    {
                        "id": drf.IntegerField(),
                        "title": drf.CharField(),
                        "starts_at": drf.DateTimeField(),
                        "ends_at": drf.DateTimeField(),
                        "city": drf.CharField(),
                        "venue": drf.CharField(),
                        "modality": drf.CharField(),
                        "past": drf.BooleanField(),
                        "mark": drf.CharField(allow_null=True),
                    },
                    many=True,
                ),
                "certificate": inline_serializer(
                    "MeCertificate",
                    {
                        "serial": drf.CharField(),
                        "verification_code": drf.CharField(),
                        "issued_on": drf.DateField(),
                        "status": drf.CharField(),
                        "pdf_url": drf.CharField(),
                        "verification_url": drf.CharField(),
                        "credential_url": drf.CharField(
                            allow_null=True,
                            help_text="The Open Badges credential's public address (JSON; "
                            "the same with .jwt: signed).",
                        ),
                    },
                    allow_null=True,
                ),
            },
            many=True,
        ),
    },
)


def _rate(rate) -> dict:
    return {"value": rate.value, "numerator": rate.numerator, "denominator": rate.denominator}


class Me(APIView):
    permission_classes = [IsTrainee]

    @extend_schema(responses={200: MeSerializer}, summary="The signed-in trainee's own record")
    def get(self, request):
        overview = trainee_overview(request.user.participant)
        participant = overview.participant
        credentials = current_credentials(
            c.certificate.pk for c in overview.cohorts if c.certificate
        )
        return Response(
            {
                "participant": {
                    "first_name": participant.first_name,
                    "last_name": participant.last_name,
                    "first_name_ar": participant.first_name_ar,
                    "last_name_ar": participant.last_name_ar,
                    "region": participant.region_id,
                    "preferred_language": participant.preferred_language,
                },
                "cohorts": [_cohort(row, credentials) for row in overview.cohorts],
            }
        )


def _cohort(row: CohortOverview, credentials: dict[int, Credential]) -> dict:
    enrolment, p, certificate = row.enrolment, row.progress, row.certificate
    credential = credentials.get(certificate.pk) if certificate else None
    return {
        "id": enrolment.cohort_id,
        "code": enrolment.cohort.code,
        "name": enrolment.cohort.display_title,  # in the request's language
        "year": enrolment.cohort.year,
        "enrolment_status": enrolment.status,
        "progress": {
            "attendance_rate": _rate(p.rate),
            "threshold_percent": p.threshold_percent,
            "eligible": p.eligible,
            "reachable": p.reachable,
            "sessions_left": p.sessions_left,
            "hours_attended": str(p.hours_attended),
            "reasons": p.reasons,
        },
        "sessions": [
            {
                "id": line.session.pk,
                "title": line.session.display_title,
                "starts_at": line.session.starts_at,
                "ends_at": line.session.ends_at,
                "city": line.session.city,
                "venue": line.session.venue,
                "modality": line.session.modality,
                "past": line.past,
                "mark": line.mark,
            }
            for line in row.sessions
        ],
        "certificate": {
            "serial": certificate.serial,
            "verification_code": certificate.verification_code,
            "issued_on": certificate.issued_on,
            "status": certificate.status,
            "pdf_url": reverse("api:certificate-pdf", args=[certificate.pk]),
            "verification_url": reverse(
                "certificates:verify", args=[certificate.verification_code]
            ),
            "credential_url": reverse("credentials:credential-json", args=[credential.uid])
            if credential
            else None,
        }
        if certificate
        else None,
    }
