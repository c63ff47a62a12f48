from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ReportsConfig(AppConfig):
    name = "reports"
    verbose_name = _("Reports and targets")

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from reports import monthly_report  # noqa: F401  (its composer, with the outbox)
        from reports.roles import managers_permissions_sync

        # Permissions exist only after migrate has run, so the group is synced afterwards.
        post_migrate.connect(managers_permissions_sync, sender=self)
