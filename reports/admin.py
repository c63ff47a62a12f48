"""Targets in the managers' admin, with their history shown read-only under each target."""

from django.contrib import admin
from django.utils.html import format_html_join
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from reports.models import FIGURES, Target, TargetRevision


def _shown(value) -> str:
    return "—" if value is None else str(value)


class TargetRevisionInline(admin.TabularInline):
    model = TargetRevision
    fk_name = "target"
    fields = ["changed_at", "changed_by", "action", "changes"]
    readonly_fields = ["changed_at", "changed_by", "action", "changes"]
    extra = 0
    can_delete = False
    verbose_name_plural = gettext_lazy("History of this target")

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_view_permission(self, request, obj=None):
        # Whoever may see the target sees its history.
        return True

    @admin.display(description=gettext_lazy("changes"))
    def changes(self, revision: TargetRevision):
        before, after = revision.before or {}, revision.after or {}
        labels = {
            name: getattr(Target._meta.get_field(name), "verbose_name", name) for name in FIGURES
        }
        lines = [
            (str(labels[name]), _shown(before.get(name)), _shown(after.get(name)))
            for name in FIGURES
            if before.get(name) != after.get(name)
        ]
        return format_html_join("", "<div>{}: {} → {}</div>", lines) or "—"


@admin.register(Target)
class TargetAdmin(admin.ModelAdmin):
    list_display = ["year", "region_shown", *FIGURES]
    list_filter = ["year", "region"]
    ordering = ["year", "region_id"]
    fields = ["year", "region", *FIGURES]
    inlines = [TargetRevisionInline]

    @admin.display(description=gettext_lazy("region"), ordering="region")
    def region_shown(self, target: Target) -> str:
        return str(target.region) if target.region_id else _("Whole programme")

    def save_model(self, request, obj, form, change):
        obj.save(changed_by=request.user)

    def delete_model(self, request, obj):
        obj.delete(changed_by=request.user)

    def delete_queryset(self, request, queryset):
        # One by one, so that each deletion is recorded.
        for target in queryset:
            target.delete(changed_by=request.user)


@admin.register(TargetRevision)
class TargetRevisionAdmin(admin.ModelAdmin):
    list_display = ["changed_at", "year", "region", "action", "changed_by"]
    list_filter = ["year", "region", "action"]
    fields = ["changed_at", "changed_by", "action", "year", "region", "target", "before", "after"]
    readonly_fields = [
        "changed_at", "changed_by", "action", "year", "region", "target", "before", "after",
    ]  # fmt: skip

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
