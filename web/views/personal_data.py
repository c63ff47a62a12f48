"""The trainee's personal data: download everything held about them (JSON, PDF), and
their choices about being named (public verification, e-mails)."""

from django import forms
from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect
from django.urls import path
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from accounts.services import naming_consent, naming_consent_record
from web.access import role_required
from web.personal_data import export_data, export_json, export_pdf


class NamingForm(forms.Form):
    on_verification = forms.BooleanField(
        label=gettext_lazy("Show my name to whoever verifies my certificates"), required=False
    )
    in_emails = forms.BooleanField(
        label=gettext_lazy("Greet me by name in the e-mails I receive"), required=False
    )


def naming_context(participant) -> dict:
    """What the trainee's page shows of their choice, and its form."""
    current = naming_consent(participant)
    return {
        "naming": current,
        "naming_form": NamingForm(
            initial={"on_verification": current.on_verification, "in_emails": current.in_emails}
        ),
    }


def export_response(participant, fmt: str) -> HttpResponse:
    data = export_data(participant)
    if fmt == "pdf":
        body = export_pdf(data, language=translation.get_language() or "fr")
        response = HttpResponse(body, content_type="application/pdf")
    else:
        response = HttpResponse(export_json(data), content_type="application/json; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="my-data.{fmt}"'
    response["Cache-Control"] = "private, no-store"
    return response


@role_required("trainee")
@require_GET
def export_json_view(request):
    return export_response(request.user.participant, "json")


@role_required("trainee")
@require_GET
def export_pdf_view(request):
    return export_response(request.user.participant, "pdf")


@role_required("trainee")
@require_POST
def naming_view(request):
    form = NamingForm(request.POST)
    if form.is_valid():
        naming_consent_record(
            participant=request.user.participant,
            on_verification=form.cleaned_data["on_verification"],
            in_emails=form.cleaned_data["in_emails"],
            by=request.user,
        )
        messages.success(request, _("Your choice has been recorded."))
    return redirect("web:trainee-home")


urlpatterns = [
    path("me/my-data.json", export_json_view, name="trainee-export-json"),
    path("me/my-data.pdf", export_pdf_view, name="trainee-export-pdf"),
    path("me/naming/", naming_view, name="trainee-naming"),
]
