from django.apps import AppConfig


class MessagingConfig(AppConfig):
    name = "messaging"
    verbose_name = "Messaging"

    def ready(self) -> None:
        # Register the composers of messaging's kinds with the outbox (cohorts.outbox).
        from messaging import alerts, certificate_email, notices  # noqa: F401
