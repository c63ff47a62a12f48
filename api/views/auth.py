"""Token authentication for API clients: obtain and revoke. Failed logins are throttled."""

import math

from django.contrib.auth import authenticate
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import status
from rest_framework.authtoken.models import Token
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import login_failures
from api.exceptions import error_response
from api.serializers import TokenRequestSerializer, TokenSerializer


class TokenView(APIView):
    permission_classes = [AllowAny]

    def get_permissions(self):
        return [IsAuthenticated()] if self.request.method == "DELETE" else [AllowAny()]

    @extend_schema(
        request=TokenRequestSerializer,
        responses={200: TokenSerializer},
        examples=[
            OpenApiExample(
                "Demo manager",
                value={"username": "manager", "password": "Atlas-Rabat-2018"},
                request_only=True,
            ),
        ],  # fmt: skip
        summary="Obtain an API token",
    )
    def post(self, request):
        data = TokenRequestSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        username = data.validated_data["username"]
        until = login_failures.locked_until(request, username)
        if until is not None:
            response = error_response(
                "throttled",
                login_failures.lockout_message(until),
                status.HTTP_429_TOO_MANY_REQUESTS,
                fields={},
            )
            wait = max(1, math.ceil((until - timezone.now()).total_seconds()))
            response["Retry-After"] = str(wait)
            return response
        user = authenticate(request, username=username, password=data.validated_data["password"])
        if user is None:
            login_failures.record_failure(request, username)
            return error_response(
                "authentication_failed",
                _("Unknown user name or wrong password."),
                status.HTTP_400_BAD_REQUEST,
                fields={},
            )
        login_failures.clear(request, username)
        token, _created = Token.objects.get_or_create(user=user)
        return Response({"token": token.key})

    @extend_schema(request=None, responses={204: None}, summary="Revoke the current token")
    def delete(self, request):
        Token.objects.filter(user=request.user).delete()
        return Response(status=status.HTTP_204_NO_CONTENT)
