"""The public verification page (HTML, French and Arabic side by side)."""

from django import forms
from django.shortcuts import render
from django.urls import path
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_http_methods

from accounts.services import holder_disclosure
from certificates.verification import verify_code, verify_file
from web.middleware import mark_private

MAX_PDF_BYTES = 5 * 1024 * 1024


class CodeForm(forms.Form):
    code = forms.CharField(label=_("Verification code"), max_length=40)


class FileForm(forms.Form):
    file = forms.FileField(label=_("The certificate's PDF"))

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > MAX_PDF_BYTES:
            raise forms.ValidationError(_("The file is too large (5 MB at most)."))
        return upload


@require_http_methods(["GET", "POST"])
def verify(request, code: str = ""):
    code = code or request.GET.get("code", "")
    context = {"form": CodeForm(initial={"code": code}), "file_form": FileForm(), "code": code}
    if code:
        result = verify_code(code)
        context["result"] = result
        if result.certificate is not None:
            context["holder"] = holder_disclosure(result.certificate.participant)
        if result.certificate is not None and request.method == "POST":
            file_form = FileForm(request.POST, request.FILES)
            if file_form.is_valid():
                context["file_check"] = verify_file(
                    result.certificate, file_form.cleaned_data["file"].read()
                )
            context["file_form"] = file_form
        status = 404 if result.certificate is None else 200
        return mark_private(render(request, "web/verify.html", context, status=status))
    return render(request, "web/verify.html", context)


# Its own namespace, as before the move: certificates' QR codes and e-mails link to
# `certificates:verify`.
app_name = "certificates"

urlpatterns = [
    path("verify/", verify, name="verify-form"),
    path("verify/<str:code>", verify, name="verify"),
]
