"""Invalidate cached reports precisely: one generation per region, bumped by the writes
that change that region's figures.

A cached report's key carries the generations of what it covers (cached reports are
never updated, only made unreachable; they then expire):
- `everything`: bumped by changes that can touch any report (a completion rule, a cohort's
  name, a region);
- `any`: bumped by every change, so reports over the whole country (funders) are fresh;
- one per region (`MA-01`…): bumped by the changes about that region's people, so a report
  limited to some regions (a regional manager's, a funder's `?region=`) stays cached while
  the other regions are written.

A bump happens after the transaction commits: a rolled-back write changes nothing, and a
reader never caches numbers from before a commit under the new generation. A generation
missing from the cache (first use, flushed, evicted) starts again at the current time in
nanoseconds, never at a number an older cached report could carry.
"""

import time
from collections.abc import Iterable

from django.core.cache import cache
from django.db import transaction

_PREFIX = "reports:generation:"
EVERYTHING = "everything"
ANY = "any"


def _key(name: str) -> str:
    return _PREFIX + name


def generation(regions: Iterable[str] | None = None) -> str:
    """A token that changes whenever a report over these regions (None: all) may change."""
    names = [EVERYTHING, ANY] if regions is None else [EVERYTHING, *sorted(set(regions))]
    keys = [_key(n) for n in names]
    values = cache.get_many(keys)
    for key in keys:
        if key not in values:
            cache.add(key, time.time_ns(), timeout=None)
            values[key] = cache.get(key)
    return ".".join(str(values[k]) for k in keys)


def _bump(names: set[str]) -> None:
    for name in sorted(names):
        try:
            cache.incr(_key(name))
        except ValueError:  # the key is gone (expired, flushed): start afresh
            cache.add(_key(name), time.time_ns(), timeout=None)


def reports_changed(regions: Iterable[str] | None = None) -> None:
    """Call from any write that changes what a report would say: with the regions of the
    people concerned, or None when it may concern anyone."""
    names = {EVERYTHING} if regions is None else {ANY, *regions}
    transaction.on_commit(lambda: _bump(names))


def invalidate_all() -> None:
    """Make every cached report unreachable now (benchmarks, operators)."""
    _bump({EVERYTHING})
