"""Digital credentials through the API: anyone checks a credential."""

import json

from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.parsers import JSONParser
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView

from certificates.credentials import credential_verify

MAX_CREDENTIAL_CHARS = 100_000


class CredentialVerifyInput(serializers.Serializer):
    credential = serializers.JSONField(
        help_text="The credential: its JWT (a string) or its JSON (an object)."
    )

    def validate_credential(self, value):
        text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
        if not text.strip():
            raise serializers.ValidationError("Send the credential.")
        if len(text) > MAX_CREDENTIAL_CHARS:
            raise serializers.ValidationError("The credential is too large.")
        return text


class CredentialSummary(serializers.Serializer):
    id = serializers.CharField()
    name = serializers.CharField()
    achievement = serializers.CharField()
    valid_from = serializers.CharField()
    hours = serializers.FloatField()
    evidence = serializers.ListField(child=serializers.URLField())


class CredentialCheckOutput(serializers.Serializer):
    status = serializers.ChoiceField(["valid", "revoked", "tampered", "unknown_issuer"])
    reason_code = serializers.CharField(
        help_text="Why, as a code (valid, revoked, superseded, "
        "signature, content, contexts, malformed, issuer, key, "
        "not_found)."
    )
    reason = serializers.CharField(help_text="Why, in the request's language.")
    reasons = serializers.DictField(
        child=serializers.CharField(), help_text="Why, in French, Arabic and English."
    )
    credential = CredentialSummary(
        required=False, help_text="What a valid or revoked credential says."
    )


class CredentialVerify(APIView):
    permission_classes = [AllowAny]
    authentication_classes = []
    parser_classes = [JSONParser]
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "verify"

    @extend_schema(
        request=CredentialVerifyInput,
        responses={
            200: OpenApiResponse(
                CredentialCheckOutput,
                description="What the check found: valid, revoked, tampered or unknown issuer",
            )
        },
        examples=[
            OpenApiExample(
                "Altered credential",
                value={
                    "status": "tampered",
                    "reason_code": "signature",
                    "reason": "The signature does not match the content: the credential "
                    "was altered.",
                },
                response_only=True,
            )
        ],
        summary="Verify an Open Badges credential (public)",
    )
    def post(self, request):
        data = CredentialVerifyInput(data=request.data)
        data.is_valid(raise_exception=True)
        return Response(credential_verify(data.validated_data["credential"]).public())
