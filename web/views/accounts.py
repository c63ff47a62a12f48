"""Accounts by invitation, password set and reset.

Managers invite a cohort or one trainee (POST only); the e-mails go out through the
worker (accounts.invitations). The password pages are Django's own views with our token
generator, templates and a reset form that queues its e-mail instead of sending it.
"""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import PasswordResetForm
from django.contrib.auth.hashers import UNUSABLE_PASSWORD_PREFIX
from django.db.models import Q
from django.shortcuts import get_object_or_404, redirect
from django.urls import NoReverseMatch, path, reverse, reverse_lazy
from django.utils import translation
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from accounts import invitations
from cohorts import roles
from cohorts.models import Cohort, Participant
from web.access import role_required

# Invitations (managers) ---------------------------------------------------------------------


def _back(request, fallback: str | None = None):
    """Where the manager came from: the given page, a safe `next`, else their home."""
    if fallback:
        return redirect(fallback)
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return redirect(target)
    return redirect("web:manager-home")


def _report(request, result: invitations.InviteResult) -> None:
    level = messages.SUCCESS if result.invited else messages.WARNING
    messages.add_message(request, level, invitations.summary(result))


@role_required("manager")
@require_POST
def invite_cohort(request, pk: int):
    cohort = get_object_or_404(roles.scope_cohorts(Cohort.objects.all(), request.user), pk=pk)
    _report(request, invitations.invite_cohort(cohort, by=request.user))
    try:
        progress = reverse("web:cohort-progress", args=[cohort.pk])
    except NoReverseMatch:  # the cohort page is another module's; not there yet
        progress = None
    return _back(request, progress)


@role_required("manager")
@require_POST
def invite_participant(request, pk: int):
    scoped = roles.scope_participants(Participant.objects.all(), request.user)
    participant = get_object_or_404(scoped, pk=pk)
    _report(
        request, invitations.invite_participants(scoped.filter(pk=participant.pk), by=request.user)
    )
    return _back(request)


# Choosing a password ------------------------------------------------------------------------


def _remember_language(request, response, user) -> None:
    """A trainee who never chose a language here gets the one they gave at enrolment (as
    the login page does)."""
    participant = Participant.objects.filter(user=user).first()
    if (
        participant is not None
        and participant.preferred_language
        and not request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME)
    ):
        response.set_cookie(
            settings.LANGUAGE_COOKIE_NAME,
            participant.preferred_language,
            max_age=settings.LANGUAGE_COOKIE_AGE,
            samesite="Lax",
        )


class _ChoosePasswordView(auth_views.PasswordResetConfirmView):
    """Django's confirm view: the token is checked, then swapped for a session marker so it
    leaves the address bar; on success the person is signed in."""

    template_name = "web/accounts/set_password.html"
    post_reset_login = True

    def get_user(self, uidb64):
        user = super().get_user(uidb64)
        # A switched-off account gets no password through an old link (nor a session).
        return user if user is not None and user.is_active else None

    def form_valid(self, form):
        response = super().form_valid(form)
        _remember_language(self.request, response, form.user)
        return response


class SetPasswordView(_ChoosePasswordView):
    """The invitation link: choose a password, then land signed in on one's own page."""

    token_generator = invitations.invitation_tokens
    success_url = reverse_lazy("web:home")
    extra_context = {"purpose": "invitation"}


class ResetConfirmView(_ChoosePasswordView):
    success_url = reverse_lazy("web:password-reset-complete")
    extra_context = {"purpose": "reset"}


# Password reset -----------------------------------------------------------------------------


class ResetForm(PasswordResetForm):
    """Django's form, but the e-mail is queued for the worker, in the person's language."""

    def get_users(self, email):
        # Invited trainees whose link expired have no usable password yet: they may use
        # this form too (the invitation page sends them here).
        users = get_user_model().objects.filter(email__iexact=email.strip(), is_active=True)
        return list(
            users.filter(
                Q(participant__isnull=False) | ~Q(password__startswith=UNUSABLE_PASSWORD_PREFIX)
            )
        )

    def save(self, *args: object, **kwargs: object) -> None:
        # Django's options (templates, domain, sender...) don't apply: the worker builds the mail.
        language = translation.get_language() or settings.LANGUAGE_CODE
        for user in self.get_users(self.cleaned_data["email"]):
            invitations.request_password_reset(user, language=language[:2])


class ResetView(auth_views.PasswordResetView):
    template_name = "web/accounts/password_reset_form.html"
    form_class = ResetForm
    success_url = reverse_lazy("web:password-reset-done")


urlpatterns = [
    path("manage/cohorts/<int:pk>/invite/", invite_cohort, name="invite-cohort"),
    path("manage/participants/<int:pk>/invite/", invite_participant, name="invite-participant"),
    path("accounts/set-password/<uidb64>/<token>/", SetPasswordView.as_view(), name="set-password"),
    path("accounts/password-reset/", ResetView.as_view(), name="password-reset"),
    path(
        "accounts/password-reset/done/",
        auth_views.PasswordResetDoneView.as_view(
            template_name="web/accounts/password_reset_done.html"
        ),
        name="password-reset-done",
    ),
    path(
        "accounts/reset/<uidb64>/<token>/",
        ResetConfirmView.as_view(),
        name="password-reset-confirm",
    ),
    path(
        "accounts/reset/done/",
        auth_views.PasswordResetCompleteView.as_view(
            template_name="web/accounts/password_reset_complete.html"
        ),
        name="password-reset-complete",
    ),
]
