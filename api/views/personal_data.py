"""A trainee's own data, all of it (their right of access): GET /api/v1/me/export/,
`?format=json` (the default) or `?format=pdf`, as the page's downloads; and their choice
about being named (GET / PUT /api/v1/me/naming/)."""

from django.utils import translation
from django.utils.cache import patch_cache_control
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers as drf
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.services import naming_consent, naming_consent_record
from api.permissions import IsTrainee
from web.personal_data import export_data, export_pdf


class PDFRenderer(BaseRenderer):
    media_type = "application/pdf"
    format = "pdf"
    charset = None
    render_style = "binary"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        if isinstance(data, dict) and "profile" in data:
            return export_pdf(data, language=translation.get_language() or "fr")
        return str(data).encode()  # an error: keep it readable


class MeExport(APIView):
    permission_classes = [IsTrainee]
    renderer_classes = [JSONRenderer, PDFRenderer]

    @extend_schema(
        responses={
            (200, "application/json"): OpenApiResponse(
                OpenApiTypes.OBJECT,
                description="Everything held about the trainee: profile, enrolments, marks "
                "and their history, messages, certificates, credentials, choices about being "
                "named, identity corrections, and every stored record (`records`).",
            ),
            (200, "application/pdf"): OpenApiResponse(
                OpenApiTypes.BINARY, description="The same as a readable PDF."
            ),
        },
        summary="Download everything held about me (JSON or PDF)",
    )
    def get(self, request):
        fmt = "pdf" if isinstance(request.accepted_renderer, PDFRenderer) else "json"
        response = Response(export_data(request.user.participant))
        response["Content-Disposition"] = f'attachment; filename="my-data.{fmt}"'
        return response

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        patch_cache_control(response, private=True, no_store=True)
        return response


class NamingSerializer(drf.Serializer):
    on_verification = drf.BooleanField(
        help_text="Named to whoever verifies the trainee's certificates."
    )
    in_emails = drf.BooleanField(help_text="Greeted by name in the e-mails they receive.")
    recorded_at = drf.DateTimeField(
        read_only=True, allow_null=True, help_text="When they chose; null: never (named)."
    )


class MeNaming(APIView):
    """The trainee's choice about being named, as on their page; each change is dated and
    the earlier ones kept (they are in the export)."""

    permission_classes = [IsTrainee]

    @extend_schema(responses={200: NamingSerializer}, summary="My choice about being named")
    def get(self, request):
        return Response(NamingSerializer(naming_consent(request.user.participant)).data)

    @extend_schema(
        request=NamingSerializer,
        responses={200: NamingSerializer},
        summary="Change my choice about being named",
    )
    def put(self, request):
        serializer = NamingSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        participant = request.user.participant
        naming_consent_record(
            participant=participant,
            on_verification=serializer.validated_data["on_verification"],
            in_emails=serializer.validated_data["in_emails"],
            by=request.user,
        )
        return Response(NamingSerializer(naming_consent(participant)).data)
