"""Who may open which page. Deny by default, as in the API: a page names the roles it serves.

Anonymous visitors are sent to the login page (and back afterwards); a signed-in user
without the role gets a 403 page, not a redirect loop.
"""

from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied

from cohorts.roles import user_role


def role_required(*roles: str):
    def decorator(view):
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if user_role(request.user) not in roles:
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return wrapped

    return decorator
