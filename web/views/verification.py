"""The public verification page (HTML, French and Arabic side by side)."""

from django import forms
from django.shortcuts import render
from django.urls import path
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_http_methods

from accounts.services import holder_disclosure
from certificates.codes import display
from certificates.verification import code_from_pdf, verify_code, verify_file
from web.middleware import mark_private

MAX_PDF_BYTES = 5 * 1024 * 1024


class CodeForm(forms.Form):
    code = forms.CharField(label=_("Verification code"), max_length=40)


class FileForm(forms.Form):
    file = forms.FileField(
        label=_("The certificate's PDF"),
        error_messages={
            "required": _("Choose the certificate's PDF, or type the code printed on it."),
            "empty": _("The file is empty: choose the certificate's PDF."),
        },
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > MAX_PDF_BYTES:
            raise forms.ValidationError(_("The file is too large (5 MB at most)."))
        return upload


@require_http_methods(["GET", "POST"])
def verify(request, code: str = ""):
    """Check a code, a PDF against its code, or a PDF alone (its code read from the file)."""
    code = code or request.GET.get("code", "")
    posted = request.method == "POST"
    file_form = FileForm(request.POST, request.FILES) if posted else FileForm()
    content = file_form.cleaned_data["file"].read() if posted and file_form.is_valid() else None
    context = {"form": CodeForm(initial={"code": code}), "file_form": file_form, "code": code}
    if not code and content is not None:
        found = code_from_pdf(content)
        if found is None:
            context["no_code_in_file"] = True
            return render(request, "web/verify.html", context, status=400)
        code = context["code"] = found
        context["code_from_file"] = True
    if code:
        result = verify_code(code)
        context["result"] = result
        if result.certificate is not None:
            context["holder"] = holder_disclosure(result.certificate.participant)
            context["code_display"] = display(result.certificate.verification_code)
            if content is not None:
                context["file_check"] = verify_file(result.certificate, content)
                context["file_form"] = FileForm()
        status = 404 if result.certificate is None else 200
        return mark_private(render(request, "web/verify.html", context, status=status))
    return render(request, "web/verify.html", context, status=400 if posted else 200)


# Its own namespace, as before the move: certificates' QR codes and e-mails link to
# `certificates:verify`.
app_name = "certificates"

urlpatterns = [
    path("verify/", verify, name="verify-form"),
    path("verify/<str:code>", verify, name="verify"),
]
