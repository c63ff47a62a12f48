"""Reports for one caller, cached: shared by the API's report views and the funders' pages.

Funders see every region with small groups withheld (reports.suppression); managers
see their own regions without suppression. A cached report is keyed by the reports'
generation, which every write bumps, so a report is never stale after a write; the rest of
the key says who asks (role and region scope) for what (grouping and filters).
"""

import hashlib
import json
from collections.abc import Callable

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone

from cohorts import roles
from cohorts.report_cache import generation
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


def report_key(kind: str, role: str | None, scope: frozenset[str] | None, params: dict) -> str:
    # The generation changes with every write; the rest says who asks for what.
    who = [role, "all" if scope is None else sorted(scope)]
    what = hashlib.sha256(json.dumps([who, params], sort_keys=True).encode()).hexdigest()
    return f"report:{kind}:{generation()}:{what}"


def report_payload(report: Report, role: str | None) -> dict:
    """The report as plain data for this role: suppressed for funders, never for managers."""
    if role == "funder":
        report = suppress(report, settings.REPORT_SUPPRESSION_THRESHOLD)
    return {
        "group_by": list(report.group_by),
        "suppression_threshold": settings.REPORT_SUPPRESSION_THRESHOLD
        if role == "funder"
        else None,
        "generated_at": timezone.now().isoformat(),
        "rows": report.rows,
        "totals": report.totals,
    }


def cached_payload(key: str, compute: Callable[[], dict]) -> dict:
    data = cache.get(key)
    if data is None:
        data = compute()
        cache.set(key, data, settings.REPORT_CACHE_SECONDS)
    return data


def progress_for(user, *, group_by: list[str], year=None, region=None, cohort=None) -> dict:
    """The progress report the API would give this user for the same parameters (same
    cache entry too: the parameters take the shape of the API's validated query)."""
    from reports.selectors import progress_report

    params = {"group_by": list(group_by)}
    params |= {
        name: value
        for name, value in (("year", year), ("region", region), ("cohort", cohort))
        if value is not None
    }
    role, scope = caller_scope(user)
    filters = report_filters(params, scope)
    return cached_payload(
        report_key("progress", role, scope, params),
        lambda: report_payload(progress_report(group_by=group_by, filters=filters), role),
    )
