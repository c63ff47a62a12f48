"""Failed sign-ins, counted per client address and account; the API and the login page share it.

Per address and per account: one attacker cannot lock every account, and spreading
guesses over many accounts from one address is slowed too. The fifth failure locks the
account for that address for 15 minutes from then; the lockout message says until when.
"""

import datetime
import math

from django.core.cache import cache
from django.utils import formats, timezone
from django.utils.translation import ngettext

MAX_FAILURES = 5
FAILURE_WINDOW = 15 * 60  # seconds


def _key(request, username: str) -> str:
    return f"login-failures:{request.META.get('REMOTE_ADDR', '')}:{username.lower()}"


def locked_until(request, username: str) -> datetime.datetime | None:
    """When the account may be tried again from this address, or None if it is not locked."""
    key = _key(request, username)
    if cache.get(key, 0) < MAX_FAILURES:
        return None
    until = cache.get(f"{key}:until")
    if until is None:  # locked before the end was recorded: the longest it can last
        return timezone.now() + datetime.timedelta(seconds=FAILURE_WINDOW)
    return datetime.datetime.fromtimestamp(until, tz=datetime.UTC)


def is_locked(request, username: str) -> bool:
    return locked_until(request, username) is not None


def record_failure(request, username: str) -> None:
    key = _key(request, username)
    cache.add(key, 0, FAILURE_WINDOW)
    if cache.incr(key) == MAX_FAILURES:
        # Locked from now for the whole window, whenever the first failure was.
        until = timezone.now() + datetime.timedelta(seconds=FAILURE_WINDOW)
        cache.touch(key, FAILURE_WINDOW)
        cache.set(f"{key}:until", until.timestamp(), FAILURE_WINDOW)


def clear(request, username: str) -> None:
    key = _key(request, username)
    cache.delete_many([key, f"{key}:until"])


def lockout_message(until: datetime.datetime) -> str:
    """Say how long to wait, in minutes and as a local time, in the active language."""
    minutes = max(1, math.ceil((until - timezone.now()).total_seconds() / 60))
    at = formats.time_format(timezone.localtime(until), "H:i")
    return ngettext(
        "Too many failed sign-ins. Try again in %(minutes)s minute, at %(time)s.",
        "Too many failed sign-ins. Try again in %(minutes)s minutes, at %(time)s.",
        minutes,
    ) % {"minutes": minutes, "time": at}
