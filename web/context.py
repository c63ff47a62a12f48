"""What every page's frame needs: the caller's role (for the navigation) and the languages."""

from django.conf import settings

from cohorts.roles import user_role


def site(request) -> dict:
    return {
        "role": user_role(getattr(request, "user", None)),
        "site_languages": [
            # Each language named in itself, so a reader finds theirs whatever the page's.
            ("fr", "Français"),
            ("ar", "العربية"),
            ("en", "English"),
        ],
        "site_url": getattr(settings, "SITE_URL", ""),
    }
