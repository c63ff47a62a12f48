"""A trainee's own data, all of it (their right of access): GET /api/v1/me/export/,
`?format=json` (the default) or `?format=pdf`, as the page's downloads."""

from django.utils import translation
from django.utils.cache import patch_cache_control
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

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
