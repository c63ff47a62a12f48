from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CohortsConfig(AppConfig):
    name = "cohorts"
    verbose_name = _("Cohorts and attendance")

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from cohorts.roles import managers_group_sync

        # Permissions exist only after migrate has run, so the group is synced afterwards.
        post_migrate.connect(managers_group_sync, sender=self)
