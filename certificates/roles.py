"""What programme managers may do with completion rules and progress."""

from django.contrib.auth.models import Permission

from cohorts.roles import managers_group_sync

_MANAGER_PERMISSIONS = ["view_completionrule", "add_completionrule", "change_completionrule",
                        "view_cohortprogress", "view_certificate", "add_certificate",
                        "change_certificate", "view_certificatebatch"]  # fmt: skip


def managers_permissions_sync(**kwargs) -> None:
    """Add this app's permissions to the managers' group (idempotent)."""
    group = managers_group_sync()
    group.permissions.add(
        *Permission.objects.filter(
            content_type__app_label="certificates", codename__in=_MANAGER_PERMISSIONS
        )
    )
