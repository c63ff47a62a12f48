"""The OpenAPI schema: every operation documents the error answers it can give, with the one
error body of api.exceptions, and every filter says what it expects.

`AutoSchema` (the settings' DEFAULT_SCHEMA_CLASS) adds, from what the view is:

- 400 when the operation takes query parameters or a body;
- 401 when the view authenticates (a bad or missing token);
- 403 when a permission other than AllowAny applies, or a session may fail its CSRF check
  (an object outside the caller's regions is a 404: scoped querysets never find it);
- 404 when the path names an object, or the list is paged (a page past the last);
- 429 when the view is throttled.

A view that documents one of these itself keeps its description; the body is added if absent.
"""

from drf_spectacular.contrib.django_filters import DjangoFilterExtension
from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from drf_spectacular.utils import inline_serializer
from rest_framework import serializers
from rest_framework.authentication import SessionAuthentication
from rest_framework.permissions import SAFE_METHODS, AllowAny

# Built with inline_serializer: a serializer class cannot declare a field named `fields`.
ErrorSerializer = inline_serializer(
    "Error",
    {
        "error": inline_serializer(
            "ErrorDetail",
            {
                "code": serializers.CharField(
                    help_text="validation_error, not_authenticated, authentication_failed, "
                    "permission_denied, not_found, throttled, conflict..."
                ),
                "message": serializers.CharField(help_text="In the request's language."),
                "fields": serializers.DictField(
                    child=serializers.ListField(child=serializers.CharField()),
                    required=False,
                    help_text="Each invalid field or query parameter with its messages.",
                ),
                "lines": inline_serializer(
                    "ErrorLine",
                    {
                        "line": serializers.IntegerField(help_text="From 1."),
                        "field": serializers.CharField(),
                        "message": serializers.CharField(),
                    },
                    many=True,
                    required=False,
                    help_text="A list's errors, line by line (roster saves).",
                ),
            },
        )
    },
)


ERROR_DESCRIPTIONS = {
    "400": "Invalid query parameters or body; `fields` (or `lines`) says which and why.",
    "401": "Not authenticated: no credentials, or a token that is not valid.",
    "403": "Not allowed for this account's role (or a session without its CSRF token).",
    "404": "Not found, or outside the caller's regions (or a page past the last).",
    "429": "Too many requests: the client is throttled; retry later.",
}


class AutoSchema(SpectacularAutoSchema):
    def get_operation(self, path, path_regex, path_prefix, method, registry):
        operation = super().get_operation(path, path_regex, path_prefix, method, registry)
        if operation is None:
            return None
        error = self.resolve_serializer(ErrorSerializer, "response").ref
        responses = operation.setdefault("responses", {})
        for code in self._error_codes(operation):
            documented = responses.setdefault(code, {})
            if not documented.get("description"):
                documented["description"] = ERROR_DESCRIPTIONS[code]
            documented.setdefault("content", {"application/json": {"schema": error}})
        operation["responses"] = dict(sorted(responses.items()))
        return operation

    def _error_codes(self, operation) -> list[str]:
        view = self.view
        parameters = operation.get("parameters", [])
        authenticators = view.get_authenticators()
        codes = []
        if operation.get("requestBody") or any(p["in"] == "query" for p in parameters):
            codes.append("400")
        if authenticators:
            codes.append("401")
        csrf = self.method not in SAFE_METHODS and any(
            isinstance(a, SessionAuthentication) for a in authenticators
        )
        if csrf or any(not isinstance(p, AllowAny) for p in view.get_permissions()):
            codes.append("403")
        paged = self._is_list_view() and getattr(view, "pagination_class", None) is not None
        if any(p["in"] == "path" for p in parameters) or paged:
            codes.append("404")
        if view.get_throttles():
            codes.append("429")
        return codes


class FilterExtension(DjangoFilterExtension):
    """The filters of api.filters: the type's bounds or pattern, and what they expect."""

    target_class = "api.filters.FilterBackend"
    priority = 1

    def resolve_filter_field(self, auto_schema, model, filterset_class, field_name, filter_field):
        parameters = super().resolve_filter_field(
            auto_schema, model, filterset_class, field_name, filter_field
        )
        for parameter in parameters:
            parameter["schema"].update(getattr(filter_field, "openapi", {}))
            if "enum" not in parameter["schema"] and hasattr(filter_field, "expected"):
                parameter["description"] = filter_field.expected()
        return parameters
