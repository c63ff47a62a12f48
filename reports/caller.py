"""Reports for one caller, cached: shared by the API's report views and the funders' pages.

Funders see every region with small groups withheld (reports.suppression); managers
see their own regions without suppression. A cached report is keyed by the generations of
the regions it covers (cohorts.report_cache), which every write about them bumps once it
commits, so a report is never stale after a write, and a write in one region leaves the
other regions' reports cached; the rest of the key says who asks (role and region scope)
for what (grouping and filters).

When a report is missing, one request computes it and the others asking for the same one
meanwhile wait for it (`cached_payload`), so two funders opening the dashboard after a
write do not both occupy a server process rebuilding the same figures.
"""

import hashlib
import json
import time
from collections.abc import Callable
from typing import TypeVar

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone

from cohorts import roles
from cohorts.report_cache import generation
from reports import disclosure
from reports.selectors import Report, ReportFilters
from reports.suppression import suppress


def caller_scope(user) -> tuple[str | None, frozenset[str] | None]:
    """The caller's role and, for a manager, the regions in scope (None: every region)."""
    role = roles.user_role(user)
    return role, roles.region_scope(user) if role == "manager" else None


def report_filters(params: dict, scope: frozenset[str] | None) -> ReportFilters:
    return ReportFilters(
        year=params.get("year"),
        region=params.get("region"),
        cohort=params.get("cohort"),
        regions_in_scope=scope,
    )


def covered_regions(scope: frozenset[str] | None, params: dict) -> frozenset[str] | None:
    """The regions whose data a report reads (None: the whole country)."""
    region = params.get("region")
    if region is None:
        return scope
    return frozenset({region}) & scope if scope is not None else frozenset({region})


def report_key(
    kind: str,
    role: str | None,
    scope: frozenset[str] | None,
    params: dict,
    generation_token: str | None = None,
) -> str:
    """The cache key of a report; `generation_token` saves reading the generations again
    when the caller already has them for the same regions (`report_generation`)."""
    # The generations change with every write about the regions covered; the rest says who
    # asks for what.
    who = [role, "all" if scope is None else sorted(scope)]
    what = hashlib.sha256(json.dumps([who, params], sort_keys=True).encode()).hexdigest()
    token = generation_token or report_generation(scope, params)
    return f"report:{kind}:{token}:{what}"


def report_generation(scope: frozenset[str] | None, params: dict) -> str:
    """The generations of the regions a report with these filters reads (one cache read)."""
    return generation(covered_regions(scope, params))


def report_payload(report: Report, role: str | None) -> dict:
    """The report as plain data for this role: protected for funders (reports.disclosure;
    their progress reports come from `funder_answer`, this is for the timeline), exact for
    managers."""
    if role == "funder":
        threshold = settings.REPORT_SUPPRESSION_THRESHOLD
        if report.group_by == ("period",):
            report = disclosure.publish_timeline(report, threshold)
        else:
            report = suppress(report, threshold)
    return {
        "group_by": list(report.group_by),
        "suppression_threshold": settings.REPORT_SUPPRESSION_THRESHOLD
        if role == "funder"
        else None,
        "generated_at": timezone.now().isoformat(),
        "rows": report.rows,
        "totals": report.totals,
    }


T = TypeVar("T")

# How long a request waits for another one computing the same report before computing it
# itself (the other may have died): well above a national report's time.
BUILD_WAIT_SECONDS = 10.0
_POLL_SECONDS = 0.05


def cached_payload(key: str, compute: Callable[[], dict]) -> dict:
    """The cached value, or computed once however many requests ask at the same moment."""

    def build() -> dict:
        data = compute()
        cache.set(key, data, settings.REPORT_CACHE_SECONDS)
        return data

    return _single_flight(f"{key}:building", lambda: cache.get(key), build)


def _single_flight(lock: str, ready: Callable[[], T | None], build: Callable[[], T]) -> T:
    """`ready()` if it has a value; else `build()` in one request at a time: the others
    wait for it (polling `ready`), and build it themselves only if the builder seems gone."""
    data = ready()
    if data is not None:
        return data
    deadline = time.monotonic() + BUILD_WAIT_SECONDS
    # cache.add is atomic (Redis SET NX): one request wins the right to build.
    while not cache.add(lock, 1, timeout=int(BUILD_WAIT_SECONDS) + 1):
        time.sleep(_POLL_SECONDS)
        data = ready()
        if data is not None:
            return data
        if time.monotonic() > deadline:
            break  # the builder is gone or stuck: build it here
    try:
        data = ready()  # built by the request that held the lock just before
        return data if data is not None else build()
    finally:
        cache.delete(lock)


def _progress_params(group_by: list[str], year, region, cohort) -> dict:
    # The shape of the API's validated query, so the API and the pages share cache entries.
    params: dict = {"group_by": list(group_by)}
    params |= {
        name: value
        for name, value in (("year", year), ("region", region), ("cohort", cohort))
        if value is not None
    }
    return params


def progress_for(user, *, group_by: list[str], year=None, region=None, cohort=None) -> dict:
    """The progress report the API would give this user for the same parameters (same
    cache entry too). A funder's is read from the published tables (reports.disclosure)."""
    from reports.selectors import progress_report

    params = _progress_params(group_by, year, region, cohort)
    role, scope = caller_scope(user)
    if role == "funder":
        return funder_answer(group_by=group_by, year=year, region=region, cohort=cohort)
    filters = report_filters(params, scope)
    return cached_payload(
        report_key("progress", role, scope, params),
        lambda: report_payload(progress_report(group_by=group_by, filters=filters), role),
    )


def progress_for_many(
    user, *, groupings: list[list[str]], year=None, region=None, cohort=None
) -> list[dict]:
    """`progress_for` for several groupings with the same filters: those not cached are
    computed together, in one pass over the data (the dashboard's six tables after a write)."""
    from reports.selectors import progress_reports

    role, scope = caller_scope(user)
    if role == "funder":
        tables = published_tables()
        return [
            funder_answer(group_by=g, year=year, region=region, cohort=cohort, tables=tables)
            for g in groupings
        ]
    params = [_progress_params(g, year, region, cohort) for g in groupings]
    # The same filters, so the same regions: their generations read once for every key.
    token = report_generation(scope, params[0])
    keys = [report_key("progress", role, scope, p, token) for p in params]
    filters = report_filters(params[0], scope)

    def ready() -> list[dict] | None:
        found = cache.get_many(keys)
        return [found[k] for k in keys] if len(found) == len(set(keys)) else None

    def build() -> list[dict]:
        found = cache.get_many(keys)
        missing = [i for i, k in enumerate(keys) if k not in found]
        reports = progress_reports(groupings=[groupings[i] for i in missing], filters=filters)
        computed = {keys[i]: report_payload(r, role) for i, r in zip(missing, reports, strict=True)}
        cache.set_many(computed, settings.REPORT_CACHE_SECONDS)
        return [found.get(k) or computed[k] for k in keys]

    batch = hashlib.sha256("|".join(keys).encode()).hexdigest()
    return _single_flight(f"report:batch:{batch}:building", ready, build)


def published_progress(
    *, group_by: list[str], year: int | None = None, region: str | None = None
) -> dict:
    """What any funder gets for this grouping and filters (the published figures, under
    disclosure control), without a user: the IATI file and the monthly report use it."""
    return funder_answer(group_by=group_by, year=year, region=region)


def funder_answer(
    *,
    group_by: list[str],
    year: int | None = None,
    region: str | None = None,
    cohort: int | None = None,
    tables: dict | None = None,
) -> dict:
    """A funder's progress report: rows of one of the published tables (NotPublished when
    the question is outside them, e.g. by cohort)."""
    filters = {"year": year, "region": region, "cohort": cohort}
    disclosure.table_for(group_by, filters)  # refuse before computing anything
    return disclosure.answer(tables or published_tables(), list(group_by), filters)


def published_tables() -> dict[tuple[str, ...], dict]:
    """Every table published to funders, protected together (reports.disclosure): computed
    in one pass after a write anywhere, then read from the cache by every funder."""
    from reports.selectors import published_cells

    threshold = settings.REPORT_SUPPRESSION_THRESHOLD
    key = f"report:published:{generation(None)}:{threshold}"

    def compute() -> dict:
        protected = disclosure.publish(*published_cells(), threshold)
        generated = timezone.now().isoformat()
        return {
            table: {
                "group_by": list(table),
                "suppression_threshold": threshold,
                "generated_at": generated,
                "rows": report.rows,
                "totals": report.totals,
            }
            for table, report in protected.items()
        }

    return cached_payload(key, compute)
