"""Account invitations from the managers' admin: actions on participants and cohorts.

The participants' and cohorts' admin pages belong to `cohorts`, which sits below this app;
the invitation actions are added here, by extending those pages, so that no arrow points up.
"""

from django.contrib import admin, messages
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext, gettext_lazy

from accounts import invitations
from accounts.models import IdentityChange, NamingConsent
from accounts.services import identity_correct
from cohorts import admin as cohorts_admin
from cohorts.admin import ReadOnlyInline
from cohorts.models import Cohort, Participant

admin.site.unregister(Participant)
admin.site.unregister(Cohort)


@admin.register(Participant)
class ParticipantAdmin(cohorts_admin.ParticipantAdmin):
    # The parent's actions, listed by name: reading `ParticipantAdmin.actions` off the
    # (generic) class is ambiguous to the type checker. Keep in step with cohorts.admin.
    actions = ["invite", "export_csv", "export_xlsx"]

    @admin.action(description=gettext_lazy("Send an account invitation"))
    def invite(self, request, queryset):
        # The queryset is already scoped; the service scopes again (it refuses, not trusts).
        result = invitations.invite_participants(queryset, by=request.user)
        self.message_user(
            request,
            invitations.summary(result),
            messages.SUCCESS if result.invited else messages.WARNING,
        )


@admin.register(Cohort)
class CohortAdmin(cohorts_admin.CohortAdmin):
    # cohorts.admin.CohortAdmin declares no actions of its own (ModelAdmin's default is empty).
    actions = ["invite"]

    @admin.action(description=gettext_lazy("Send account invitations to the active trainees"))
    def invite(self, request, queryset):
        for cohort in queryset:
            result = invitations.invite_cohort(cohort, by=request.user)
            self.message_user(
                request,
                f"{cohort.name}: {invitations.summary(result)}",
                messages.SUCCESS if result.invited else messages.WARNING,
            )


class IdentityChangeInline(ReadOnlyInline):
    """The corrections of the person's identity: who, when, before and after."""

    model = IdentityChange
    fields = ["changed_at", "changed_by", "before", "after"]
    verbose_name_plural = gettext_lazy("identity corrections")


class NamingConsentInline(ReadOnlyInline):
    """The person's choices about being named, latest first (they make them on their page)."""

    model = NamingConsent
    fields = ["recorded_at", "on_verification", "in_emails", "recorded_by"]
    verbose_name_plural = gettext_lazy("consents to being named")


class DataRightsParticipantAdmin(ParticipantAdmin):
    """Identity corrections kept in history, and the certificates to re-issue after one."""

    def get_inlines(self, request, obj):
        if obj is None:
            return super().get_inlines(request, obj)
        return [*super().get_inlines(request, obj), IdentityChangeInline, NamingConsentInline]

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        return [*fields, "reissue_certificates"] if obj is not None else fields

    def get_fieldsets(self, request, obj=None):
        fieldsets = list(super().get_fieldsets(request, obj))
        if obj is not None:
            fieldsets.append((gettext_lazy("Certificates"), {"fields": ["reissue_certificates"]}))
        return fieldsets

    @admin.display(description=gettext_lazy("certificates"))
    def reissue_certificates(self, obj):
        # The certificates' room (above this one) does the re-issue: the button posts the
        # page's form, with its CSRF token, to its admin view.
        url = reverse("admin:certificates_certificate_reissue_for", args=[obj.pk])
        return format_html(
            '<button type="submit" class="button" formaction="{}" formnovalidate '
            'name="reissue">{}</button><p class="help">{}</p>',
            url,
            gettext("Re-issue their certificates under the current name"),
            gettext(
                "After correcting the name, save first, then re-issue: each issued "
                "certificate gets a new PDF under the same serial; the old file still "
                "verifies as superseded."
            ),
        )

    def save_model(self, request, obj, form, change):
        if not change:
            return super().save_model(request, obj, form, change)
        fields = {name: form.cleaned_data[name] for name in form.changed_data}
        identity_correct(participant=obj, by=request.user, **fields)


admin.site.unregister(Participant)
admin.site.register(Participant, DataRightsParticipantAdmin)
