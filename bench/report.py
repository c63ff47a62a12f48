"""Benchmark the funders' reports on PostgreSQL and Redis, against the approach before the
progress summary (bench/baseline_report.py: every report aggregates the attendance marks),
measured in the same run, interleaved: each round runs every variant once, in an order
that rotates, so a noisy machine affects them alike. Medians of --runs rounds.

1. The progress report per grouping: before (marks), now (summary; and as when cohorts
   follow different rules, whose constants are then read per cohort), as selectors,
   and now through the API uncached and cached (goals: by region ≤ 100 ms, all four keys
   ≤ 250 ms, uncached).
2. The dashboard after a write: a real roster save (which invalidates the reports, as any
   write does), then GET /dashboard/ as a funder, against the six reports it reads
   computed the old way (goal ≤ 300 ms).
3. A roster save, with the progress summary kept up to date and without (the refresh
   skipped, as before): goal ≤ 1.3 times.
4. Two funders opening the dashboard at the same moment after a write: wall time, and how
   many times the reports were computed (one, if the second waits for the first).
5. Growth (--growth URL,URL,...): the report by region and by all four keys, now and
   before, on each database given (e.g. the half, national and double demo scales); the
   time per enrolment should stay flat whatever the number of marks.

Each database is first vacuumed and analysed (VACUUM (ANALYZE) on the tables the reports
read; --no-vacuum skips it), as PostgreSQL's autovacuum would after a bulk load: a server
with autovacuum off would otherwise be measured with no planner statistics on the
sessions and cohorts and, after the certificates' bulk issuance, with every summary row
updated once and not vacuumed, a state no production server stays in. The machine's load
average is printed at the start and the end: the runs are only comparable at a like load.

Run:
    createdb -h 127.0.0.1 -U postgres cycle2021_bench
    export DATABASE_URL=postgres://postgres@127.0.0.1:5432/cycle2021_bench
    DEBUG=1 .venv/bin/python manage.py migrate
    DEBUG=1 .venv/bin/python manage.py seed_demo --reset --scale national
    REDIS_URL=redis://127.0.0.1:6379/14 .venv/bin/python bench/report.py [--runs 7]
        [--growth postgres://…/cycle2021_half,postgres://…/cycle2021_bench,postgres://…/cycle2021_double]
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cycle2021.settings")
# As in production: DEBUG off (with DEBUG on, Django keeps a log of every query).
os.environ.setdefault("DEBUG", "0")
# Served over plain HTTP here: no redirect to HTTPS (on by default without DEBUG).
os.environ.setdefault("SECURE_SSL_REDIRECT", "0")
os.environ.setdefault("SECRET_KEY", "bench-only-key-5d1c9e0f7a3b2c4d6e8f0a1b3c5d7e9f")
os.environ.setdefault("ALLOWED_HOSTS", "localhost")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402

# Production hashes static files when the image is built (collectstatic); this run does not.
settings.STORAGES = {
    **settings.STORAGES,
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

from django.contrib.auth import get_user_model  # noqa: E402
from django.db import connection, connections  # noqa: E402
from django.db.models import Count  # noqa: E402
from django.test import Client  # noqa: E402
from django.utils import timezone  # noqa: E402

from bench import baseline_report  # noqa: E402
from bench.charts import ratio_chart  # noqa: E402
from cohorts import services  # noqa: E402
from cohorts.models import (  # noqa: E402
    Attendance,
    Enrolment,
    FunderProfile,
    ManagerProfile,
    Organisation,
    TrainingSession,
)
from cohorts.report_cache import invalidate_all  # noqa: E402
from reports import disclosure, selectors  # noqa: E402
from reports.dashboard import DASHBOARD_GROUPINGS  # noqa: E402

GROUPINGS = ["region", "year", "sex,role", "cohort", "region,year,sex,role"]
OUT = ROOT / "bench" / "out"


def interleaved(
    variants: dict, runs: int, spread: dict[str, tuple[float, float]] | None = None
) -> dict[str, float]:
    """Median milliseconds of each variant; every round runs each once, order rotating.
    `spread`, when given, receives each variant's fastest and slowest round."""
    names = list(variants)
    times: dict[str, list[float]] = {name: [] for name in names}
    for round_ in range(runs):
        order = names[round_ % len(names) :] + names[: round_ % len(names)]
        for name in order:
            started = time.perf_counter()
            variants[name]()
            times[name].append((time.perf_counter() - started) * 1000)
    if spread is not None:
        spread.update({name: (min(values), max(values)) for name, values in times.items()})
    return {name: statistics.median(values) for name, values in times.items()}


# The tables the reports, before and now, read.
READ_TABLES = (
    "cohorts_progresssummary",
    "cohorts_progressyear",
    "cohorts_trainingsession",
    "cohorts_cohort",
    "cohorts_enrolment",
    "cohorts_participant",
    "cohorts_region",
    "cohorts_attendance",
    "certificates_completionrule",
    "certificates_certificate",
)


def vacuum_analyze() -> str:
    """VACUUM (ANALYZE) the tables the reports read; return the server's autovacuum setting."""
    with connections["default"].cursor() as cursor:
        cursor.execute("SHOW autovacuum")
        autovacuum = cursor.fetchone()[0]
        # Names from the tuple above only.
        cursor.execute(f"VACUUM (ANALYZE) {', '.join(READ_TABLES)}")
    return autovacuum


def load_average() -> float:
    return os.getloadavg()[0]


def funder_client() -> Client:
    profile = FunderProfile.objects.select_related("user").first()
    if profile is None:
        user = get_user_model().objects.create_user("bench-funder")
        FunderProfile.objects.create(user=user, organisation=Organisation.objects.first())
    else:
        user = profile.user
    client = Client(HTTP_ACCEPT_LANGUAGE="en", HTTP_HOST="localhost")
    client.force_login(user)
    return client


def manager_client() -> Client:
    """A manager of every region: exact figures (no disclosure control), any grouping."""
    user, _ = get_user_model().objects.get_or_create(username="bench-manager")
    ManagerProfile.objects.update_or_create(user=user, defaults={"all_regions": True})
    client = Client(HTTP_ACCEPT_LANGUAGE="en", HTTP_HOST="localhost")
    client.force_login(user)
    return client


def ok(response) -> None:
    assert response.status_code == 200, response.content[:300]


def old_report(grouping: list[str]):
    return baseline_report.progress_report(
        group_by=grouping, filters=baseline_report.ReportFilters()
    )


def new_report(grouping: list[str]):
    return selectors.progress_report(group_by=grouping, filters=selectors.ReportFilters())


def per_cohort_rules_report(grouping: list[str]):
    """The report as when cohorts follow different rules: the rule's constants read per
    cohort from `facts` instead of written into the query (the demo data has one rule)."""
    as_numbers = selectors._rule_constants
    selectors._rule_constants = lambda _params: None
    try:
        return new_report(grouping)
    finally:
        selectors._rule_constants = as_numbers


# 1. Reports -------------------------------------------------------------------------------


def bench_reports(funder: Client, manager: Client, runs: int) -> list[dict]:
    """Per grouping: the report before and now as selectors (now also as when cohorts follow
    different rules: `rules/c.`); through the API uncached, as a
    funder (the published tables under disclosure control: two groupings in one SQL pass,
    the sixteen tables added up in Python) and as a manager of every region (exact figures,
    the grouping asked); and cached. Funders cannot ask by cohort (reports.disclosure)."""
    print(
        f"{'grouping':22} {'before':>9} {'now':>8} {'rules/c.':>9} {'funder':>8} {'manager':>8} "
        f"{'cached':>8} {'before/now':>11}"
    )
    results = []
    for grouping in GROUPINGS:
        keys = grouping.split(",")
        url = f"/api/v1/reports/progress/?group_by={grouping}"
        funders_may = "cohort" not in keys

        def uncached(client: Client, url=url):
            invalidate_all()
            ok(client.get(url))

        variants = {
            "before": lambda keys=keys: old_report(keys),
            "now": lambda keys=keys: new_report(keys),
            "per_cohort_rules": lambda keys=keys: per_cohort_rules_report(keys),
            "manager": lambda: uncached(manager),
        }
        if funders_may:
            variants["funder"] = lambda: uncached(funder)
        reader = funder if funders_may else manager
        ok(reader.get(url))  # warm the database's caches for every variant
        spread: dict[str, tuple[float, float]] = {}
        medians = interleaved(variants, runs, spread)
        ok(reader.get(url))
        cached = interleaved(
            {"cached": lambda url=url, reader=reader: ok(reader.get(url))}, runs * 3
        )["cached"]
        row: dict[str, Any] = {"grouping": grouping, **medians, "cached": cached}
        # "api": what the people who read this grouping wait for (funders where they may).
        row["api"] = medians["funder" if funders_may else "manager"]
        row["api_range"] = spread["funder" if funders_may else "manager"]
        row["speedup"] = row["before"] / row["now"]
        results.append(row)
        low, high = row["api_range"]
        funder_ms = f"{row['funder']:6.0f}ms" if funders_may else f"{'—':>8}"
        print(
            f"{grouping:22} {row['before']:7.0f}ms {row['now']:6.0f}ms "
            f"{row['per_cohort_rules']:7.0f}ms {funder_ms} "
            f"{row['manager']:6.0f}ms {cached:6.1f}ms {row['speedup']:10.1f}×   "
            f"({'funder' if funders_may else 'manager'} {low:.0f}–{high:.0f} ms)",
            flush=True,
        )
    return results


# 2 and 3. Writes --------------------------------------------------------------------------


class Roster:
    """A held session's whole roster, saved again with one mark toggled each time."""

    def __init__(self) -> None:
        session = (
            TrainingSession.objects.filter(starts_at__lte=timezone.now(), cancelled_at=None)
            .annotate(n=Count("attendances"))
            .order_by("-n", "-starts_at")
            .first()
        )
        assert session is not None
        self.session = session
        self.marks = {
            a.participant_id: a.status for a in Attendance.objects.filter(session=session)
        }

    def save(self) -> None:
        # Always a change (a save that changes nothing invalidates nothing).
        first = min(self.marks)
        self.marks[first] = "present" if self.marks[first] == "absent" else "absent"
        services.attendance_roster_record(
            session=self.session,
            marks=[services.Mark(p, status) for p, status in self.marks.items()],
        )


def bench_writes(client: Client, runs: int) -> dict:
    roster = Roster()
    refresh = services.progress_refresh

    def save_without_summary():
        services.progress_refresh = lambda **_kwargs: set()  # as before: no summary
        try:
            roster.save()
        finally:
            services.progress_refresh = refresh

    def dashboard_after_write():
        roster.save()
        started = time.perf_counter()
        ok(client.get("/dashboard/"))
        timings.append((time.perf_counter() - started) * 1000)

    def before_dashboard():
        for grouping in DASHBOARD_GROUPINGS:
            old_report(grouping)

    def timeline_after_write():
        roster.save()
        started = time.perf_counter()
        ok(client.get("/dashboard/timeline/"))
        timeline_timings.append((time.perf_counter() - started) * 1000)

    timings: list[float] = []
    timeline_timings: list[float] = []
    saves = interleaved({"with summary": roster.save, "without": save_without_summary}, runs * 3)
    roster.save()  # the last save leaves the summary true
    dashboards = interleaved(
        {
            "dashboard after write": dashboard_after_write,
            "timeline after write": timeline_after_write,
            "six reports before": before_dashboard,
        },
        runs,
    )
    ok(client.get("/dashboard/"))
    cached = interleaved({"cached": lambda: ok(client.get("/dashboard/"))}, runs)["cached"]
    result: dict[str, Any] = {
        "roster_save_with_summary": saves["with summary"],
        "roster_save_without": saves["without"],
        "roster_ratio": saves["with summary"] / saves["without"],
        "dashboard_after_write": statistics.median(timings),
        "dashboard_after_write_range": (min(timings), max(timings)),
        "dashboard_six_reports_before": dashboards["six reports before"],
        "timeline_after_write": statistics.median(timeline_timings),
        "timeline_after_write_range": (min(timeline_timings), max(timeline_timings)),
        "dashboard_cached": cached,
        "roster_size": len(roster.marks),
    }
    print(
        f"\nroster save ({result['roster_size']} people): with summary "
        f"{result['roster_save_with_summary']:.1f} ms, without {result['roster_save_without']:.1f}"
        f" ms, ratio {result['roster_ratio']:.2f} (goal ≤ 1.3)"
    )
    print(
        f"dashboard after a write: {result['dashboard_after_write']:.0f} ms "
        f"({min(timings):.0f}–{max(timings):.0f}; goal ≤ 300); its six "
        f"reports the old way: {result['dashboard_six_reports_before']:.0f} ms "
        f"({result['dashboard_six_reports_before'] / result['dashboard_after_write']:.1f}× "
        f"slower); cached: {cached:.1f} ms"
    )
    print(
        f"its table over time (loaded after the page) after a write: "
        f"{result['timeline_after_write']:.0f} ms "
        f"({min(timeline_timings):.0f}–{max(timeline_timings):.0f})"
    )
    return result


# 4. Two funders at once ------------------------------------------------------------------


def bench_two_funders(runs: int) -> dict:
    # The funders' published tables are computed by `published_cells` (reports.caller).
    counted = {"builds": 0}
    original = selectors.published_cells

    def counting(*args, **kwargs):
        counted["builds"] += 1
        return original(*args, **kwargs)

    roster, walls = Roster(), []
    selectors.published_cells = counting
    try:
        for _ in range(runs):
            roster.save()
            clients = [funder_client(), funder_client()]
            threads = [
                threading.Thread(target=lambda c=c: (ok(c.get("/dashboard/")), connection.close()))
                for c in clients
            ]
            started = time.perf_counter()
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            walls.append((time.perf_counter() - started) * 1000)
    finally:
        selectors.published_cells = original
    result = {"wall_ms": statistics.median(walls), "builds_per_write": counted["builds"] / runs}
    print(
        f"two funders after a write: both served in {result['wall_ms']:.0f} ms; the reports were "
        f"computed {result['builds_per_write']:.1f} time(s) per write (single flight: 1)"
    )
    return result


# 5. Growth ---------------------------------------------------------------------------------


def growth_point(runs: int, vacuum: bool) -> dict:
    """One database's numbers (run in a subprocess per database)."""
    if vacuum:
        vacuum_analyze()

    def published():
        disclosure.publish(*selectors.published_cells(), settings.REPORT_SUPPRESSION_THRESHOLD)

    medians = interleaved(
        {
            "now region": lambda: new_report(["region"]),
            "now all keys": lambda: new_report(["region", "year", "sex", "role"]),
            "funder tables": published,
            "timeline by year": lambda: selectors.timeline_report(
                period="year", filters=selectors.ReportFilters()
            ),
            "before region": lambda: old_report(["region"]),
            "before all keys": lambda: old_report(["region", "year", "sex", "role"]),
        },
        runs,
    )
    return {"enrolments": Enrolment.objects.count(), "marks": Attendance.objects.count(), **medians}


def bench_growth(urls: list[str], runs: int, vacuum: bool) -> list[dict]:
    points = []
    for url in urls:
        env = {**os.environ, "DATABASE_URL": url}
        flags = ["--growth-point", "--runs", str(runs)] + ([] if vacuum else ["--no-vacuum"])
        done = subprocess.run(  # noqa: S603 (this script, this Python)
            [sys.executable, __file__, *flags],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        points.append(json.loads(done.stdout.strip().splitlines()[-1]))
    points.sort(key=lambda p: p["enrolments"])
    print(f"\n{'enrolments':>10} {'marks':>10} {'now region':>11} {'now all':>8} "
          f"{'funders':>8} {'timeline':>9} {'before region':>14} {'before all':>11}")  # fmt: skip
    for p in points:
        print(
            f"{p['enrolments']:10,} {p['marks']:10,} {p['now region']:9.0f}ms "
            f"{p['now all keys']:6.0f}ms {p['funder tables']:6.0f}ms "
            f"{p['timeline by year']:7.0f}ms "
            f"{p['before region']:12.0f}ms {p['before all keys']:9.0f}ms"
        )
    for a, b in zip(points, points[1:], strict=False):
        size = b["enrolments"] / a["enrolments"]
        print(
            f"×{size:.2f} enrolments: now ×{b['now region'] / a['now region']:.2f} (region), "
            f"×{b['now all keys'] / a['now all keys']:.2f} (all keys), "
            f"×{b['funder tables'] / a['funder tables']:.2f} (funders' tables), "
            f"×{b['timeline by year'] / a['timeline by year']:.2f} (timeline); before "
            f"×{b['before region'] / a['before region']:.2f}, "
            f"×{b['before all keys'] / a['before all keys']:.2f}"
        )
    return points


def charts(reports: list[dict], writes: dict, growth: list[dict]) -> None:
    labels = [r["grouping"] for r in reports]
    ratio_chart(
        OUT / "report-speedup.svg",
        "Progress report: before (marks) / now (summary), higher is better",
        labels,
        {"before / now": [r["speedup"] for r in reports]},
        goal=None,
    )
    ratio_chart(
        OUT / "report-ms.svg",
        "Progress report, uncached, milliseconds (lower is better)",
        [*labels, "dashboard after a write"],
        {
            "now (API)": [*[r["api"] for r in reports], writes["dashboard_after_write"]],
            "before": [*[r["before"] for r in reports], writes["dashboard_six_reports_before"]],
        },
        goal=None,
    )
    if growth:
        ratio_chart(
            OUT / "report-growth.svg",
            "Report by region against data size, milliseconds (lower is better)",
            [f"{g['enrolments']:,} enrolments, {g['marks'] / 1e6:.2f} M marks" for g in growth],
            {
                "now": [g["now region"] for g in growth],
                "funders' tables": [g["funder tables"] for g in growth],
                "before": [g["before region"] for g in growth],
            },
            goal=None,
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=7, help="rounds per measure (median)")
    parser.add_argument("--growth", default="", help="database URLs for the growth run")
    parser.add_argument("--growth-point", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument(
        "--min-marks", type=int, default=500_000, help="refuse to run on less data than this"
    )
    parser.add_argument(
        "--no-vacuum", action="store_true", help="measure the tables as they are (no VACUUM)"
    )
    args = parser.parse_args()
    vacuum = not args.no_vacuum
    if connection.vendor != "postgresql":
        print("bench/report.py needs PostgreSQL: set DATABASE_URL (see the docstring).")
        return 2
    if args.growth_point:
        print(json.dumps(growth_point(args.runs, vacuum)))
        return 0
    marks = Attendance.objects.count()
    if marks < args.min_marks:
        print(f"Only {marks:,} attendance marks: load the national scale first "
              "(manage.py seed_demo --reset --scale national).")  # fmt: skip
        return 2
    cache_kind = "Redis" if settings.REDIS_URL else "local memory (set REDIS_URL)"
    if vacuum:
        autovacuum = vacuum_analyze()
        print(f"VACUUM (ANALYZE) of the tables the reports read (autovacuum here: {autovacuum})")
    with connections["default"].cursor() as cursor:
        cursor.execute("SHOW jit")
        jit = cursor.fetchone()[0]
    load_at_start = load_average()
    print(
        f"{marks:,} attendance marks, {Enrolment.objects.count():,} enrolments; cache: "
        f"{cache_kind}; JIT {jit}; {args.runs} rounds per measure; load average "
        f"{load_at_start:.2f} on {os.cpu_count()} CPUs\n"
    )
    client = funder_client()
    reports = bench_reports(client, manager_client(), args.runs)
    writes = bench_writes(client, args.runs)
    two = bench_two_funders(max(3, args.runs // 2))
    growth = (
        bench_growth([u for u in args.growth.split(",") if u], args.runs, vacuum)
        if args.growth
        else []
    )
    load = {"start": load_at_start, "end": load_average(), "cpus": os.cpu_count()}
    print(f"\nload average: {load['start']:.2f} at the start, {load['end']:.2f} at the end")
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "report.json").write_text(
        json.dumps(
            {
                "reports": reports,
                "writes": writes,
                "two_funders": two,
                "growth": growth,
                "load_average": load,
                "vacuumed": vacuum,
            },
            indent=2,
        )  # fmt: skip
    )
    charts(reports, writes, growth)
    drawn = ["report-ms.svg", "report-speedup.svg", *(["report-growth.svg"] if growth else [])]
    print(f"\nResults: {OUT / 'report.json'}; charts: {', '.join(str(OUT / d) for d in drawn)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
