"""Failed sign-ins, counted per client address and account; the API and the login page share it.

Per address and per account: one attacker cannot lock every account, and spreading
guesses over many accounts from one address is slowed too.
"""

from django.core.cache import cache

MAX_FAILURES = 5
FAILURE_WINDOW = 15 * 60  # seconds


def _key(request, username: str) -> str:
    return f"login-failures:{request.META.get('REMOTE_ADDR', '')}:{username.lower()}"


def is_locked(request, username: str) -> bool:
    return cache.get(_key(request, username), 0) >= MAX_FAILURES


def record_failure(request, username: str) -> None:
    key = _key(request, username)
    cache.add(key, 0, FAILURE_WINDOW)
    cache.incr(key)


def clear(request, username: str) -> None:
    cache.delete(_key(request, username))
