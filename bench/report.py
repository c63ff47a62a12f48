"""Benchmark the funders' progress report on the national demo scale, on PostgreSQL.

For each main grouping it prints the median latency of:
  - raw SQL: the same aggregate written by hand, run through the same connection;
  - API, uncached: GET /api/v1/reports/progress/ through Django's full stack, with the
    report cache invalidated before each request;
  - API, cached: the same request answered from the cache;
and the ratios (uncached / raw SQL, goal ≤ 1.5; uncached / cached, goal ≥ 50). Times are
measured in the same run, interleaved, so a noisy machine affects all three alike.

Run:
    createdb -h 127.0.0.1 -U postgres cycle2021_bench
    export DATABASE_URL=postgres://postgres@127.0.0.1:5432/cycle2021_bench
    DEBUG=1 .venv/bin/python manage.py migrate
    DEBUG=1 .venv/bin/python manage.py seed_demo --reset --scale national
    REDIS_URL=redis://127.0.0.1:6379/14 .venv/bin/python bench/report.py [--runs 7]
"""

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cycle2021.settings")
# As in production: DEBUG off (with DEBUG on, Django keeps a log of every query).
os.environ.setdefault("DEBUG", "0")
os.environ.setdefault("SECRET_KEY", "bench-only-key-5d1c9e0f7a3b2c4d6e8f0a1b3c5d7e9f")
os.environ.setdefault("ALLOWED_HOSTS", "localhost")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.utils import timezone  # noqa: E402

from bench.charts import ratio_chart  # noqa: E402
from cohorts.models import Attendance, FunderProfile  # noqa: E402
from cohorts.report_cache import _bump  # noqa: E402

GROUPINGS = ["region", "year", "sex,role", "cohort", "region,year,sex,role"]
OUT = ROOT / "bench" / "out"

# The hand-written aggregate: per enrolment (marks of the enrolment's cohort, counted by
# status; hours; the cohort's effective rule), then per group. Same definitions as
# certificates.rules, written directly for PostgreSQL.
KEY_SQL = {"region": "p.region_id", "year": "c.year", "sex": "p.sex", "role": "p.role",
           "cohort": "c.id"}  # fmt: skip
RAW_SQL = """
WITH rule AS (
    SELECT c.id AS cohort_id,
           COALESCE(own.min_attendance_percent, dflt.min_attendance_percent, 80) AS pct,
           COALESCE(own.late_counts_as_present, dflt.late_counts_as_present, TRUE) AS late_ok,
           COALESCE(own.excused_policy, dflt.excused_policy, 'exclude') AS excused_policy,
           CASE WHEN own.id IS NOT NULL THEN own.min_hours ELSE dflt.min_hours END AS min_hours
    FROM cohorts_cohort c
    LEFT JOIN certificates_completionrule own ON own.cohort_id = c.id
    LEFT JOIN certificates_completionrule dflt
           ON dflt.programme_id = c.programme_id AND dflt.cohort_id IS NULL
),
marks AS (
    SELECT a.participant_id, s.cohort_id,
           COUNT(*) FILTER (WHERE a.status = 'present') AS present,
           COUNT(*) FILTER (WHERE a.status = 'late') AS late,
           COUNT(*) FILTER (WHERE a.status = 'excused') AS excused,
           COUNT(*) FILTER (WHERE a.status = 'absent') AS absent,
           COALESCE(SUM(COALESCE(a.minutes_attended / 60.0, s.planned_hours))
                    FILTER (WHERE a.status IN ('present', 'late')), 0) AS hours
    FROM cohorts_attendance a JOIN cohorts_trainingsession s ON s.id = a.session_id
    GROUP BY a.participant_id, s.cohort_id
),
per_enrolment AS (
    SELECT {keys_select}, e.participant_id, e.cohort_id, e.status,
           COALESCE(m.present, 0) + CASE WHEN r.late_ok THEN COALESCE(m.late, 0) ELSE 0 END
             + CASE WHEN r.excused_policy = 'attended' THEN COALESCE(m.excused, 0) ELSE 0 END
             AS num,
           COALESCE(m.present + m.late + m.excused + m.absent, 0)
             - CASE WHEN r.excused_policy = 'exclude' THEN COALESCE(m.excused, 0) ELSE 0 END
             AS den,
           COALESCE(m.present + m.late + m.excused + m.absent, 0) AS marks,
           COALESCE(m.excused, 0) AS excused,
           COALESCE(m.hours, 0) AS hours, r.pct, r.min_hours
    FROM cohorts_enrolment e
    JOIN cohorts_participant p ON p.id = e.participant_id
    JOIN cohorts_cohort c ON c.id = e.cohort_id
    JOIN rule r ON r.cohort_id = e.cohort_id
    LEFT JOIN marks m ON m.participant_id = e.participant_id AND m.cohort_id = e.cohort_id
)
SELECT {keys_out},
       COUNT(*) AS enrolled,
       COUNT(DISTINCT participant_id) AS people,
       COUNT(*) FILTER (WHERE status = 'active') AS active,
       SUM(marks) AS marks, SUM(excused) AS excused, SUM(num) AS num, SUM(den) AS den,
       COUNT(*) FILTER (WHERE status = 'active' AND den > 0 AND num * 100 >= pct * den
                        AND (min_hours IS NULL OR hours >= min_hours)) AS completed
FROM per_enrolment
GROUP BY {keys_out}
ORDER BY {keys_out}
"""
SESSIONS_SQL = """
SELECT {keys_out}, COUNT(DISTINCT s.id)
FROM (SELECT DISTINCT {keys_select}, e.cohort_id FROM cohorts_enrolment e
      JOIN cohorts_participant p ON p.id = e.participant_id
      JOIN cohorts_cohort c ON c.id = e.cohort_id) g
JOIN cohorts_trainingsession s ON s.cohort_id = g.cohort_id AND s.starts_at <= %s
GROUP BY {keys_out}
"""
CERTIFICATES_SQL = """
SELECT {keys_select}, COUNT(*)
FROM certificates_certificate x
JOIN cohorts_participant p ON p.id = x.participant_id
JOIN cohorts_cohort c ON c.id = x.cohort_id
WHERE x.status = 'issued'
GROUP BY {keys_out}
"""


def raw_report(grouping: str) -> list[tuple]:
    keys = grouping.split(",")
    select = ", ".join(f"{KEY_SQL[k]} AS k_{k}" for k in keys)
    out = ", ".join(f"k_{k}" for k in keys)
    plain = ", ".join(KEY_SQL[k] for k in keys)
    with connection.cursor() as cursor:
        cursor.execute(RAW_SQL.format(keys_select=select, keys_out=out))
        rows = cursor.fetchall()
        cursor.execute(SESSIONS_SQL.format(keys_select=select, keys_out=out), [timezone.now()])
        cursor.fetchall()
        cursor.execute(CERTIFICATES_SQL.format(keys_select=plain, keys_out=plain))
        cursor.fetchall()
    return rows


def median_ms(function, runs: int) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        function()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=7, help="timed runs per measure (median)")
    parser.add_argument(
        "--min-marks",
        type=int,
        default=500_000,
        help="refuse to run on less data than this many attendance marks",
    )
    args = parser.parse_args()  # fmt: skip

    if connection.vendor != "postgresql":
        print("bench/report.py needs PostgreSQL: set DATABASE_URL (see the docstring).")
        return 2
    marks = Attendance.objects.count()
    if marks < args.min_marks:
        print(f"Only {marks:,} attendance marks: load the national scale first "
              "(manage.py seed_demo --reset --scale national).")  # fmt: skip
        return 2
    funder = FunderProfile.objects.select_related("user").first()
    user = funder.user if funder else None
    if user is None:
        user = get_user_model().objects.create_user("bench-funder")
        from cohorts.models import Organisation

        FunderProfile.objects.create(user=user, organisation=Organisation.objects.first())
    client = Client(HTTP_ACCEPT_LANGUAGE="en", HTTP_HOST="localhost")
    client.force_login(user)
    cache_kind = "Redis" if settings.REDIS_URL else "local memory"
    print(f"{marks:,} attendance marks; cache: {cache_kind}; {args.runs} runs per measure\n")
    print(
        f"{'grouping':24} {'raw SQL':>9} {'API':>9} {'cached':>9} {'API/raw':>8} {'API/cached':>11}"
    )

    results = []
    for grouping in GROUPINGS:
        url = f"/api/v1/reports/progress/?group_by={grouping}"

        def uncached(url=url):
            _bump()
            response = client.get(url)
            assert response.status_code == 200, response.content[:300]

        def cached(url=url):
            response = client.get(url)
            assert response.status_code == 200

        raw_report(grouping)  # warm the database's caches for all three
        uncached()
        raw = median_ms(lambda grouping=grouping: raw_report(grouping), args.runs)
        api = median_ms(uncached, args.runs)
        client.get(url)
        hit = median_ms(cached, args.runs * 5)
        row = {"grouping": grouping, "raw_ms": raw, "api_ms": api, "cached_ms": hit,
               "api_over_raw": api / raw, "cached_speedup": api / hit}  # fmt: skip
        results.append(row)
        print(f"{grouping:24} {raw:8.0f}ms {api:8.0f}ms {hit:8.2f}ms {api / raw:8.2f} "
              f"{api / hit:10.0f}×", flush=True)  # fmt: skip

    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "report.json").write_text(json.dumps(results, indent=2))
    labels = [r["grouping"] for r in results]
    ratio_chart(OUT / "report-api-over-raw.svg", "Progress report: uncached API / raw SQL "
                "(lower is better)", labels, {"API / raw SQL": [r["api_over_raw"] for r in
                results]}, goal=1.5)  # fmt: skip
    worst = max(r["api_over_raw"] for r in results)
    slowest_hit = min(r["cached_speedup"] for r in results)
    print(f"\nworst API/raw ratio {worst:.2f} (goal ≤ 1.5); smallest cache speed-up "
          f"{slowest_hit:.0f}× (goal ≥ 50). Chart: {OUT / 'report-api-over-raw.svg'}")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
