"""One JSON shape for every API error, with messages in the request's language.

    {"error": {"code": "validation_error", "message": "...", "fields": {...}, "lines": [...]}}

`fields` maps a field to its messages; `lines` (roster saves) lists per-line errors.
"""

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from django.utils.translation import gettext as _
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from cohorts.errors import Conflict, LineErrors


def _flatten(detail) -> dict[str, list[str]]:
    if isinstance(detail, dict):
        out = {}
        for key, value in detail.items():
            if isinstance(value, dict):
                for sub, messages in _flatten(value).items():
                    out[f"{key}.{sub}"] = messages
            else:
                out[key] = [str(v) for v in (value if isinstance(value, list) else [value])]
        return out
    return {
        "non_field_errors": [str(v) for v in (detail if isinstance(detail, list) else [detail])]
    }


def error_response(code: str, message: str, http_status: int, **extra) -> Response:
    return Response({"error": {"code": code, "message": message, **extra}}, status=http_status)


def exception_handler(exc, context):
    if isinstance(exc, LineErrors):
        return error_response(
            "validation_error",
            _("Nothing was saved: %(n)s line(s) have errors.") % {"n": len(exc.errors)},
            status.HTTP_400_BAD_REQUEST,
            fields={},
            lines=exc.as_list(),
        )
    if isinstance(exc, Conflict):
        return error_response(
            "conflict", " ".join(str(m) for m in exc.messages), status.HTTP_409_CONFLICT, fields={}
        )
    if isinstance(exc, DjangoValidationError):
        fields = (
            exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        )
        exc = exceptions.ValidationError(fields)
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()

    response = drf_exception_handler(exc, context)
    if response is None:
        return None  # a real server error: Django's 500 handling and logging take over
    if isinstance(exc, exceptions.ValidationError):
        # DRF's detail, or it re-keyed by item index below: narrowed by isinstance.
        detail: object = exc.detail
        if isinstance(detail, list) and detail and all(isinstance(d, dict) for d in detail):
            detail = dict(enumerate(detail))
        if isinstance(detail, dict) and detail and all(isinstance(k, int) for k in detail):
            # A list body (e.g. a roster): DRF keys the errors by 0-based item index;
            # people count lines from 1.
            lines = [
                {"line": index + 1, "field": field, "message": str(message)}
                for index, item in sorted(detail.items())
                for field, messages in _flatten(item).items()
                for message in messages
            ]
            response.data = {"error": {"code": "validation_error", "message": _(
                "Nothing was saved: %(n)s line(s) have errors.") % {"n": len(
                {line["line"] for line in lines})}, "fields": {}, "lines": lines}}  # fmt: skip
        else:
            response.data = {
                "error": {
                    "code": "validation_error",
                    "message": _("The request has invalid fields."),
                    "fields": _flatten(detail),
                }
            }
        return response
    code = getattr(exc, "default_code", "error")
    if isinstance(exc, exceptions.APIException):
        code = exc.get_codes() if isinstance(exc.get_codes(), str) else code
    response.data = {"error": {"code": code, "message": str(exc.detail), "fields": {}}}
    return response
