"""Digital credentials on the web: what a verifier fetches (keys, DID document, contexts,
revocation lists, the credentials themselves), the trainee's downloads, and the public page
that checks a pasted credential."""

import json
from typing import Any

from django import forms
from django.conf import settings
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, render
from django.urls import path, reverse
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_GET, require_http_methods

from certificates.credentials import (
    context_bytes,
    credential_payload,
    credential_verify,
    current_credentials,
    did_document,
    jwks,
    qr_svg,
    status_list_token,
    status_position,
)
from certificates.models import Credential
from certificates.trainee import trainee_certificates
from web.access import role_required

JWT_TYPE = "application/vc+jwt"
MAX_CREDENTIAL_CHARS = 100_000


def _json(data, **kwargs) -> JsonResponse:
    return JsonResponse(data, json_dumps_params={"ensure_ascii": False, "indent": 2}, **kwargs)


@require_GET
@cache_control(public=True, max_age=300)
def jwks_view(request):
    return _json(jwks(), content_type="application/jwk-set+json")


@require_GET
@cache_control(public=True, max_age=300)
def did_view(request):
    return _json(did_document(), content_type="application/did+json")


@require_GET
@cache_control(public=True, max_age=86400)
def context_view(request, name: str):
    try:
        body = context_bytes(name)
    except KeyError:
        raise Http404 from None
    return HttpResponse(body, content_type="application/ld+json")


@require_GET
@cache_control(no_cache=True)
def status_list_view(request, number: int):
    """A revocation list, signed afresh from the database on each request."""
    last = Credential.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    if not 1 <= number <= status_position(last)[0]:
        raise Http404
    return HttpResponse(status_list_token(number), content_type=JWT_TYPE)


@require_GET
def credential_json(request, uid):
    """The credential's JSON (unguessable address: what the trainee's QR code opens)."""
    credential = get_object_or_404(Credential, uid=uid)
    response = _json(credential_payload(credential), content_type="application/vc+ld+json")
    response["Content-Disposition"] = f'inline; filename="credential-{uid}.json"'
    return response


@require_GET
def credential_jwt(request, uid):
    credential = get_object_or_404(Credential, uid=uid)
    response = HttpResponse(credential.token, content_type=JWT_TYPE)
    response["Content-Disposition"] = f'attachment; filename="credential-{uid}.jwt"'
    return response


@require_GET
def credential_qr(request, uid):
    credential = get_object_or_404(Credential, uid=uid)
    return HttpResponse(qr_svg(_public_url(credential)), content_type="image/svg+xml")


def _public_url(credential: Credential) -> str:
    return settings.SITE_URL + reverse("credentials:credential-json", args=[credential.uid])


@require_GET
def achievement_view(request, pk: int):
    """The achievement a credential names, as its newest credential describes it."""
    credential = (
        Credential.objects.filter(certificate__cohort_id=pk, revoked_at__isnull=True)
        .order_by("-pk")
        .first()
    )
    if credential is None:
        raise Http404
    return _json(credential_payload(credential)["credentialSubject"]["achievement"])


def _own_credential(request, pk: int) -> Credential:
    certificate = get_object_or_404(trainee_certificates(request.user.participant), pk=pk)
    credential = current_credentials([certificate.pk]).get(certificate.pk)
    if credential is None:
        raise Http404
    return credential


@role_required("trainee")
def trainee_credential(request, pk: int, kind: str):
    """The trainee's own credential: its JSON, its JWT, or a QR code of its address."""
    if kind not in {"json", "jwt", "svg"}:
        raise Http404
    credential = _own_credential(request, pk)
    response: HttpResponse
    if kind == "json":
        response = _json(credential_payload(credential), content_type="application/vc+ld+json")
        response["Content-Disposition"] = f'attachment; filename="credential-{pk}.json"'
        return response
    if kind == "jwt":
        response = HttpResponse(credential.token, content_type=JWT_TYPE)
        response["Content-Disposition"] = f'attachment; filename="credential-{pk}.jwt"'
        return response
    return HttpResponse(qr_svg(_public_url(credential)), content_type="image/svg+xml")


class CredentialForm(forms.Form):
    credential = forms.CharField(
        label=_("The credential (its JWT or its JSON)"),
        widget=forms.Textarea(attrs={"rows": 6, "spellcheck": "false", "dir": "ltr"}),
        max_length=MAX_CREDENTIAL_CHARS,
    )
    file = forms.FileField(label=_("or its file"), required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["credential"].required = False

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        upload = data.get("file")
        if upload is not None:
            if upload.size > MAX_CREDENTIAL_CHARS:
                raise forms.ValidationError(_("The file is too large."))
            data["credential"] = upload.read().decode("utf-8", errors="replace")
        if not data.get("credential"):
            raise forms.ValidationError(_("Paste the credential or choose its file."))
        return data


@require_http_methods(["GET", "POST"])
def verify_credential(request):
    """Check a credential: valid, revoked, tampered or unknown issuer, with the reason."""
    form = CredentialForm(request.POST or None, request.FILES or None)
    check = None
    if request.method == "POST" and form.is_valid():
        check = credential_verify(form.cleaned_data["credential"])
    context: dict[str, Any] = {"form": form, "check": check}
    if check is not None and check.credential is not None:
        context["pretty"] = json.dumps(check.credential, ensure_ascii=False, indent=2)
    return render(request, "web/verify_credential.html", context)


# Its own namespace, as the certificates' verification: the domain names these URLs.
app_name = "credentials"

urlpatterns = [
    path(".well-known/jwks.json", jwks_view, name="jwks"),
    path(".well-known/did.json", did_view, name="did"),
    path("credentials/contexts/<str:name>", context_view, name="context"),
    path("credentials/status/<int:number>", status_list_view, name="status-list"),
    path("credentials/achievements/<int:pk>", achievement_view, name="achievement"),
    path("credentials/<uuid:uid>.json", credential_json, name="credential-json"),
    path("credentials/<uuid:uid>.jwt", credential_jwt, name="credential-jwt"),
    path("credentials/<uuid:uid>/qr.svg", credential_qr, name="credential-qr"),
    path("verify/credential/", verify_credential, name="verify"),
    path(
        "me/certificates/<int:pk>/credential.<str:kind>",
        trainee_credential,
        name="trainee-credential",
    ),
]
