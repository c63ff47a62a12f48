"""The outbox in the admin: what went out, what waits, what failed and why, and sending a
failed message again once its address is corrected. Managers see the messages to the
people of their regions and their own; rows are never edited by hand."""

from django.contrib import admin, messages
from django.db.models import Q
from django.utils.translation import gettext_lazy, ngettext

from cohorts.models import Notification
from cohorts.outbox import deliver_on_commit
from cohorts.roles import region_scope

Status = Notification.Status


@admin.register(Notification)
class OutboxAdmin(admin.ModelAdmin):
    list_display = [
        "created_at", "kind", "recipient", "address", "status", "attempts", "sent_at",
        "last_error",
    ]  # fmt: skip
    list_filter = ["status", "kind", "created_at"]
    search_fields = ["address", "key", "participant__last_name", "participant__email"]
    date_hierarchy = "created_at"
    list_select_related = ["participant", "user"]
    ordering = ["-created_at", "-id"]
    actions = ["send_again"]
    readonly_fields = [
        "key", "kind", "participant", "user", "session", "ref", "channel", "priority",
        "status", "created_at", "next_attempt_at", "claim", "claimed_at", "lease_until",
        "attempts", "address", "last_error", "sent_at",
    ]  # fmt: skip

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        scope = region_scope(request.user)
        if scope is None:
            return queryset
        return queryset.filter(Q(participant__region_id__in=scope) | Q(user=request.user))

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(description=gettext_lazy("recipient"))
    def recipient(self, row: Notification) -> str:
        if row.participant is not None and row.kind not in {"alert_manager", "digest"}:
            return row.participant.full_name
        return str(row.user or "")

    @admin.action(description=gettext_lazy("Send again (after correcting the address)"))
    def send_again(self, request, queryset):
        again = queryset.filter(status=Status.FAILED).update(
            status=Status.PENDING, attempts=0, next_attempt_at=None, lease_until=None, claim=""
        )
        if again:
            deliver_on_commit()
        self.message_user(
            request,
            ngettext(
                "%(n)s failed message will be sent again.",
                "%(n)s failed messages will be sent again.",
                again,
            )
            % {"n": again},
            messages.SUCCESS if again else messages.WARNING,
        )
