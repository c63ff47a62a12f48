"""The programme's IATI 2.03 activity file, for funders and managers.

The file holds published figures only (reports.caller.published_progress: what any funder
gets, small groups withheld), so managers get the same file as funders. It is checked
against the schema and the codelists before it is served; a file that fails is not sent.
"""

import logging

from django.http import HttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from lxml import etree
from rest_framework import status
from rest_framework.exceptions import APIException
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.views import APIView

from api.permissions import IsManagerOrFunder
from reports.iati import iati_activity_file, validate

logger = logging.getLogger(__name__)


class IatiXMLRenderer(BaseRenderer):
    """The file's bytes as they are; an error as a small XML document."""

    media_type = "application/xml"
    format = "xml"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        if isinstance(data, bytes):
            return data
        error = (data or {}).get("error", {}) if isinstance(data, dict) else {}
        root = etree.Element("error", code=str(error.get("code", "error")))
        etree.SubElement(root, "message").text = str(error.get("message", ""))
        return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


class IatiFileInvalid(APIException):
    status_code = status.HTTP_500_INTERNAL_SERVER_ERROR
    default_code = "iati_invalid"


class IatiActivityFile(APIView):
    permission_classes = [IsManagerOrFunder]
    # JSON first: a client that states no preference gets errors as the rest of the API.
    renderer_classes = [JSONRenderer, IatiXMLRenderer]

    @extend_schema(
        responses={
            (200, "application/xml"): OpenApiResponse(
                OpenApiTypes.BINARY,
                description="An iati-activities document (IATI 2.03) with the programme's "
                "activity: organisations, country, sector, dates, status, and its results per "
                "programme year (targets, actual values by sex, role and region). Withheld "
                "figures are left out.",
            )
        },
        summary="The programme's IATI 2.03 activity file (results under disclosure control)",
    )
    def get(self, request):
        built = iati_activity_file()
        problems = validate(built.xml)
        if problems:
            logger.error("The IATI file fails validation: %s", "; ".join(problems))
            raise IatiFileInvalid(
                _("The IATI file failed its validation and is not served; see the server log.")
            )
        response = HttpResponse(built.xml, content_type="application/xml")
        stamp = timezone.localdate().isoformat()
        response["Content-Disposition"] = f'inline; filename="iati-activity-{stamp}.xml"'
        return response
