from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CertificatesConfig(AppConfig):
    name = "certificates"
    verbose_name = _("Completion and certificates")

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from certificates import checks, signals  # noqa: F401  (registers, connects)
        from certificates.roles import managers_permissions_sync

        post_migrate.connect(managers_permissions_sync, sender=self)
