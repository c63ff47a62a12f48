"""Account invitations from the managers' admin: actions on participants and cohorts.

The participants' and cohorts' admin pages belong to `cohorts`, which sits below this app;
the invitation actions are added here, by extending those pages, so that no arrow points up.
"""

from django.contrib import admin, messages
from django.utils.translation import gettext_lazy

from accounts import invitations
from cohorts import admin as cohorts_admin
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
