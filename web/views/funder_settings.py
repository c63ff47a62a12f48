"""A funder's settings (the monthly report by e-mail, and its language), and the page the
e-mail's unsubscribe link opens, which works without signing in (reports.monthly_report)."""

from django import forms
from django.contrib import messages
from django.core import signing
from django.shortcuts import redirect, render
from django.urls import path
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods

from cohorts.models import FunderProfile, Language
from reports.monthly_report import (
    funder_settings_save,
    monthly_report_unsubscribe,
    profile_for_token,
)
from web.access import role_required


class FunderSettingsForm(forms.Form):
    monthly_report = forms.BooleanField(
        label=gettext_lazy("Receive the monthly report by e-mail"),
        required=False,
        help_text=gettext_lazy(
            "On the 1st of each month, the programme's progress report (PDF) for the month "
            "before, with the figures of this dashboard."
        ),
    )
    language = forms.ChoiceField(
        label=gettext_lazy("Language of the e-mails"), choices=Language.choices
    )


@role_required("funder")
@require_http_methods(["GET", "POST"])
def funder_settings(request):
    profile = FunderProfile.objects.select_related("organisation").get(user=request.user)
    if request.method == "POST":
        form = FunderSettingsForm(request.POST)
        if form.is_valid():
            funder_settings_save(profile=profile, **form.cleaned_data)
            if profile.monthly_report:
                done = _("Saved: you will receive the monthly report by e-mail.")
            else:
                done = _("Saved: you will no longer receive the monthly report by e-mail.")
            messages.success(request, done)
            return redirect("web:funder-settings")
    else:
        form = FunderSettingsForm(
            initial={"monthly_report": profile.monthly_report, "language": profile.language}
        )
    return render(
        request,
        "web/funder/settings.html",
        {"form": form, "profile": profile, "address": request.user.email},
    )


@require_http_methods(["GET", "POST"])
def monthly_report_stop(request, token: str):
    """The e-mail's link: a page with one button (a POST) that turns the report off. A
    GET changes nothing: mail scanners open links."""
    try:
        profile = profile_for_token(token)
    except (signing.BadSignature, FunderProfile.DoesNotExist):
        return render(request, "web/funder/unsubscribe.html", {"invalid": True}, status=400)
    if request.method == "POST":
        monthly_report_unsubscribe(token=token)
        return redirect("web:monthly-report-unsubscribe", token=token)
    return render(request, "web/funder/unsubscribe.html", {"profile": profile})


urlpatterns = [
    path("dashboard/settings/", funder_settings, name="funder-settings"),
    path(
        "monthly-report/unsubscribe/<str:token>/",
        monthly_report_stop,
        name="monthly-report-unsubscribe",
    ),
]
