"""System checks: a CREDENTIAL_KEYS that cannot sign stops the app at start, not at the
first certificate."""

from django.conf import settings
from django.core.checks import Error, Warning, register


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


@register(deploy=True)
def credential_keys_deploy_check(app_configs=None, **kwargs) -> list[Warning]:
    """In production the credentials' key must be its own secret: one derived from
    SECRET_KEY would change with it, and every credential signed before would fail."""
    if settings.CREDENTIAL_KEYS or settings.DEBUG:
        return []
    return [
        Warning(
            "CREDENTIAL_KEYS is not set: digital credentials are signed with a key derived "
            "from SECRET_KEY.",
            hint="Run `manage.py credential_key` and set CREDENTIAL_KEYS to what it prints.",
            id="certificates.W001",
        )
    ]
