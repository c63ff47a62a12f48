from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CohortsConfig(AppConfig):
    name = "cohorts"
    verbose_name = _("Cohorts and attendance")

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from cohorts import signals  # noqa: F401  (connects the receivers)
        from cohorts.progress import progress_fill_missing
        from cohorts.roles import managers_group_sync

        # Permissions exist only after migrate has run, so the group is synced afterwards.
        post_migrate.connect(managers_group_sync, sender=self)
        # A database from before the summary existed gets its rows on the next migrate.
        post_migrate.connect(progress_fill_missing, sender=self)
