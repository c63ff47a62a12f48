"""Keep personal answers out of every cache between the server and the reader.

Anything served to a signed-in user (session or API token) may carry personal data — the
trainee's pages, calendar and certificate, rosters, the participant, enrolment and
attendance API, the managers' pages, the admin — so it is sent with `Cache-Control:
private, no-store`: no shared proxy keeps it, and the browser does not write it to disk
(a shared computer in a regional council's office). Funders' answers get it too: the same
pages give managers exact figures, and a report is cached on the server anyway, so storing
it in the browser would save nothing worth the risk of mixing the two.

Anonymous pages stay cacheable (the landing page's public totals, the login and
verification forms, static files) unless a view marks its answer personal with
`personal_response` (a verification result names the holder; a set-password page carries a
one-time token).
"""

from collections.abc import Callable
from functools import wraps

from django.http import HttpRequest, HttpResponse
from django.utils.cache import patch_cache_control


def mark_private(response: HttpResponse) -> HttpResponse:
    """Set `Cache-Control: private, no-store` on response, replacing any other directive."""
    # Replace, not merge: a `public` or `max-age` set on the way must not survive.
    if response.has_header("Cache-Control"):
        del response["Cache-Control"]
    patch_cache_control(response, private=True, no_store=True)
    return response


def personal_response(view: Callable) -> Callable:
    """Mark a view's answers as personal, whoever asks."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        return mark_private(view(request, *args, **kwargs))

    return wrapped


class PersonalDataCacheControlMiddleware:
    """Send `Cache-Control: private, no-store` with every answer that may be personal."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        # Read after the view: DRF's token authentication sets request.user only then.
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            mark_private(response)
        return response
