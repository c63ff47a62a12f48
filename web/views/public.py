"""Public pages and signing in: the landing page, login, logout and the role dispatcher."""

from django import forms
from django.conf import settings
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import AuthenticationForm
from django.db.models import Count
from django.shortcuts import redirect, render
from django.urls import path

from accounts import login_failures
from certificates.models import Certificate
from cohorts.models import Cohort, Region
from cohorts.roles import user_role

# Keyed by `user_role`, which is None for no role (then no home).
HOME_OF_ROLE: dict[str | None, str] = {
    "trainee": "web:trainee-home",
    "manager": "web:manager-home",
    "funder": "web:funder-dashboard",
}


def landing(request):
    """What the programme is, for anyone; a few public totals, no person named."""
    facts = {
        "regions": Region.objects.count(),
        "cohorts": Cohort.objects.count(),
        "certificates": Certificate.objects.filter(status=Certificate.Status.ISSUED).count(),
        "years": Cohort.objects.aggregate(n=Count("year", distinct=True))["n"],
    }
    return render(request, "web/landing.html", {"facts": facts})


class LoginForm(AuthenticationForm):
    """Django's form, with the API's lockout after repeated failures."""

    def clean(self):
        username = self.cleaned_data.get("username") or ""
        until = login_failures.locked_until(self.request, username) if username else None
        if until is not None:
            raise forms.ValidationError(login_failures.lockout_message(until), code="locked")
        try:
            cleaned = super().clean()
        except forms.ValidationError:
            if username:
                login_failures.record_failure(self.request, username)
            raise
        login_failures.clear(self.request, username)
        return cleaned


class LoginView(auth_views.LoginView):
    template_name = "web/login.html"
    authentication_form = LoginForm
    redirect_authenticated_user = True

    def form_valid(self, form):
        response = super().form_valid(form)
        # A trainee who never chose a language here gets the one they gave at enrolment.
        participant = getattr(form.get_user(), "participant", None)
        chosen = self.request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME)
        if participant is not None and not chosen and participant.preferred_language:
            response.set_cookie(
                settings.LANGUAGE_COOKIE_NAME,
                participant.preferred_language,
                max_age=settings.LANGUAGE_COOKIE_AGE,
                samesite="Lax",
            )
        return response


@login_required
def home(request):
    """Send each signed-in user to their own space."""
    target = HOME_OF_ROLE.get(user_role(request.user))
    if target is None:
        return render(request, "web/no_role.html", status=403)
    return redirect(target)


urlpatterns = [
    path("", landing, name="landing"),
    path("login/", LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("home/", home, name="home"),
]
