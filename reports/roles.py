"""What programme managers may do with targets: see, add and change them, read their history."""

from django.contrib.auth.models import Permission

from cohorts.roles import managers_group_sync

_MANAGER_PERMISSIONS = ["view_target", "add_target", "change_target", "view_targetrevision"]


def managers_permissions_sync(**kwargs) -> None:
    """Add this app's permissions to the managers' group (idempotent)."""
    group = managers_group_sync()
    group.permissions.add(
        *Permission.objects.filter(
            content_type__app_label="reports", codename__in=_MANAGER_PERMISSIONS
        )
    )
