"""System checks: a CREDENTIAL_KEYS that cannot sign stops the app at start, not at the
first certificate."""

from django.conf import settings
from django.core.checks import Error, register


@register()
def credential_keys_check(app_configs=None, **kwargs) -> list[Error]:
    if not settings.CREDENTIAL_KEYS:
        return []
    from certificates.credentials import keys

    try:
        keys()
    except Exception as error:  # noqa: BLE001 (any parse or key error: say which)
        return [
            Error(
                f"CREDENTIAL_KEYS cannot be used: {error}",
                hint="Set it to the line printed by `manage.py credential_key`.",
                id="certificates.E001",
            )
        ]
    return []
