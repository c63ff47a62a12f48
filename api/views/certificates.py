"""Certificates through the API: public verification; managers issue, re-issue, revoke and
download; trainees download their own."""

import io
import zipfile
from typing import ClassVar, Protocol

from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from django.utils.cache import patch_cache_control
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics, serializers, status
from rest_framework.parsers import MultiPartParser
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView

from accounts.services import holder_disclosure
from api.exceptions import error_response
from api.permissions import HasAnyRole, IsManager
from certificates import services
from certificates.files import pdf_download
from certificates.models import Certificate, CertificateBatch
from certificates.verification import verify_code, verify_file
from cohorts import roles
from cohorts.models import Cohort, Participant


class CertificateSerializer(serializers.ModelSerializer):
    class Meta:
        model = Certificate
        fields = [
            "id", "participant", "cohort", "serial", "verification_code", "issued_on",
            "hours_attended", "status", "version", "sha256", "revoked_at",
            "revocation_reason", "emailed_at",
        ]  # fmt: skip


class IssueSerializer(serializers.Serializer):
    participant = serializers.IntegerField(min_value=1)
    cohort = serializers.IntegerField(min_value=1)


class ReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=300)


class BatchSerializer(serializers.ModelSerializer):
    class Meta:
        model = CertificateBatch
        fields = ["id", "cohort", "status", "total", "done", "created_at", "finished_at"]


PublicVerification = serializers.DictField(help_text="status, serial, holder, cohort, ...")


def _managed_certificates(user):
    return roles.scope_enrolments(Certificate.objects.all(), user)


class _Verify(APIView):
    permission_classes = [AllowAny]
    authentication_classes = []
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "verify"

    def finalize_response(self, request, response, *args, **kwargs):
        # The answer names the holder: no cache between here and the reader keeps it.
        response = super().finalize_response(request, response, *args, **kwargs)
        patch_cache_control(response, private=True, no_store=True)
        return response


def _public(result) -> dict:
    """The public fields, the holder's name left out when they asked for it (or their
    details were removed under the retention rule): `holder_disclosure` says which."""
    body = result.public()
    disclosure = holder_disclosure(result.certificate.participant)
    body["holder_disclosure"] = disclosure  # named | withheld | removed
    if disclosure != "named":
        body["holder"] = body["holder_ar"] = ""
    return body


class CertificateVerify(_Verify):
    @extend_schema(
        responses={200: OpenApiResponse(description="valid or revoked, with the public fields"),
                   404: OpenApiResponse(description="unknown code")},
        summary="Verify a certificate by its code (public)",
    )  # fmt: skip
    def get(self, request, code):
        result = verify_code(code)
        if result.certificate is None:
            return error_response("not_found", "Unknown code.", status.HTTP_404_NOT_FOUND)
        return Response(_public(result))


class CertificateVerifyFile(_Verify):
    parser_classes = [MultiPartParser]

    @extend_schema(
        request={"multipart/form-data": {"type": "object", "properties": {
            "file": {"type": "string", "format": "binary"}}}},
        responses={200: OpenApiResponse(description='{"file": "current|superseded|mismatch"}')},
        summary="Check that a PDF is the one issued for this code (public)",
    )  # fmt: skip
    def post(self, request, code):
        result = verify_code(code)
        if result.certificate is None:
            return error_response("not_found", "Unknown code.", status.HTTP_404_NOT_FOUND)
        upload = request.FILES.get("file")
        if upload is None or upload.size > 5 * 1024 * 1024:
            raise serializers.ValidationError({"file": ["Send the PDF (5 MB at most)."]})
        return Response({**result.public(), "file": verify_file(result.certificate, upload.read())})


class CertificateList(generics.ListCreateAPIView):
    permission_classes = [IsManager]
    serializer_class = CertificateSerializer
    filterset_fields = ["cohort", "status", "participant"]
    ordering = ["-issued_on", "id"]

    def get_queryset(self):
        return _managed_certificates(self.request.user)

    @extend_schema(request=IssueSerializer, responses={201: CertificateSerializer})
    def post(self, request):
        data = IssueSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        participant = get_object_or_404(
            roles.scope_participants(Participant.objects.all(), request.user),
            pk=data.validated_data["participant"],
        )
        cohort = get_object_or_404(
            roles.scope_cohorts(Cohort.objects.all(), request.user),
            pk=data.validated_data["cohort"],
        )
        certificate = services.certificate_issue(
            participant=participant, cohort=cohort, by=request.user
        )
        return Response(CertificateSerializer(certificate).data, status=status.HTTP_201_CREATED)


class _CertificateService(Protocol):
    def __call__(
        self, *, certificate: Certificate, reason: str, by: object = ...
    ) -> Certificate: ...


class _CertificateAction(APIView):
    permission_classes = [IsManager]
    service: ClassVar[_CertificateService]  # each action's services function

    @extend_schema(request=ReasonSerializer, responses={200: CertificateSerializer})
    def post(self, request, pk):
        certificate = get_object_or_404(_managed_certificates(request.user), pk=pk)
        data = ReasonSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        certificate = self.service(
            certificate=certificate, reason=data.validated_data["reason"], by=request.user
        )
        return Response(CertificateSerializer(certificate).data)


class CertificateReissue(_CertificateAction):
    service = staticmethod(services.certificate_reissue)


class CertificateRevoke(_CertificateAction):
    service = staticmethod(services.certificate_revoke)


class CertificatePdf(APIView):
    """A manager within scope, or the trainee it belongs to, downloads the current PDF."""

    permission_classes = [HasAnyRole]

    @extend_schema(responses={(200, "application/pdf"): OpenApiResponse(description="the PDF")})
    def get(self, request, pk):
        role = roles.user_role(request.user)
        if role == "manager":
            certificates = _managed_certificates(request.user)
        elif role == "trainee":
            certificates = Certificate.objects.filter(participant__user=request.user)
        else:
            certificates = Certificate.objects.none()
        return pdf_download(get_object_or_404(certificates, pk=pk))


class CohortCertificatesZip(APIView):
    permission_classes = [IsManager]

    @extend_schema(responses={(200, "application/zip"): OpenApiResponse(description="ZIP")})
    def get(self, request, pk):
        cohort = get_object_or_404(roles.scope_cohorts(Cohort.objects.all(), request.user), pk=pk)
        certificates = _managed_certificates(request.user).filter(
            cohort=cohort, status=Certificate.Status.ISSUED
        )
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for certificate in certificates.order_by("serial"):
                with certificate.pdf.open("rb") as handle:
                    archive.writestr(f"{certificate.serial}.pdf", handle.read())
        response = HttpResponse(buffer.getvalue(), content_type="application/zip")
        response["Content-Disposition"] = f'attachment; filename="certificates-{cohort.code}.zip"'
        return response


class CohortCertificateBatch(APIView):
    permission_classes = [IsManager]

    @extend_schema(request=None, responses={202: BatchSerializer})
    def post(self, request, pk):
        cohort = get_object_or_404(roles.scope_cohorts(Cohort.objects.all(), request.user), pk=pk)
        batch = services.certificate_batch_start(cohort=cohort, by=request.user)
        return Response(BatchSerializer(batch).data, status=status.HTTP_202_ACCEPTED)


class BatchDetail(generics.RetrieveAPIView):
    permission_classes = [IsManager]
    serializer_class = BatchSerializer

    def get_queryset(self):
        return CertificateBatch.objects.filter(
            cohort__in=roles.scope_cohorts(Cohort.objects.all(), self.request.user)
        )
