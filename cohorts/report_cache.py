"""Invalidate cached reports: every write that can change a report bumps a generation.

Reports are cached under a key that includes the current generation, so a bump makes
every cached report unreachable at once (they then expire). The bump happens after the
transaction commits: a rolled-back write changes nothing, and a reader never caches
numbers from before a commit under the new generation.
"""

from django.core.cache import cache
from django.db import transaction

_KEY = "reports:generation"


def generation() -> int:
    value = cache.get(_KEY)
    if value is None:
        # First use, or the cache was flushed: any new number invalidates old keys.
        cache.add(_KEY, 1, timeout=None)
        value = cache.get(_KEY, 1)
    return int(value)


def _bump() -> None:
    try:
        cache.incr(_KEY)
    except ValueError:  # the key is gone (expired, flushed): start again
        cache.set(_KEY, 1, timeout=None)
        cache.incr(_KEY)


def reports_changed() -> None:
    """Call from any write that changes what a report would say."""
    transaction.on_commit(_bump)
