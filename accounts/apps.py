from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Accounts"

    def ready(self) -> None:
        # Registers the composer of account e-mails with the outbox (cohorts.outbox).
        from accounts import invitations  # noqa: F401
