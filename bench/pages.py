"""Benchmark the pages on the national demo scale (PostgreSQL): each page against its twin
measured in the same run, so a noisy machine affects both alike.

  - « Mon parcours » (/me/) vs the API's /api/v1/me/ (the same selector, as JSON);
  - the attendance sheet of the largest session vs the API's roster of that session;
  - a cohort's progress page vs `enrolments_progress` alone (the numbers, no page);
  - the managers' home, all regions and one region, vs the API's cohort list;
  - the dashboard uncached vs one uncached API report (it draws seven reports and five
    charts), and cached vs uncached.

Each line gives the medians and the ratio page / twin; the ratios are drawn in
bench/out/pages.svg. Run (see bench/report.py for loading the national scale):
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/cycle2021_bench .venv/bin/python bench/pages.py
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
os.environ.setdefault("DEBUG", "0")  # as in production: no query log
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
from django.db import connection  # noqa: E402
from django.db.models import Count  # noqa: E402
from django.test import Client  # noqa: E402

from bench.charts import ratio_chart  # noqa: E402
from certificates.selectors import enrolments_progress  # noqa: E402
from cohorts.models import Attendance, Cohort, Enrolment, TrainingSession  # noqa: E402
from cohorts.report_cache import invalidate_all  # noqa: E402

OUT = ROOT / "bench" / "out"


def median_ms(function, runs: int) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        function()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def client_for(username: str) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="fr", HTTP_HOST="localhost")
    client.force_login(get_user_model().objects.get(username=username))
    return client


def get(client: Client, url: str, *, fresh_reports: bool = False):
    def run():
        if fresh_reports:
            invalidate_all()  # every write does this: the next report is computed again
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)

    return run


def interleaved(page, twin, runs: int) -> tuple[float, float]:
    """Medians of page and twin, timed in alternation (after one warm-up each)."""
    page(), twin()
    page_times, twin_times = [], []
    for _ in range(runs):
        page_times.append(median_ms(page, 1))
        twin_times.append(median_ms(twin, 1))
    return statistics.median(page_times), statistics.median(twin_times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    if connection.vendor != "postgresql" or Attendance.objects.count() < 500_000:
        print("bench/pages.py needs the national scale on PostgreSQL (see bench/report.py).")
        return 2

    trainee, manager, rsk = client_for("trainee"), client_for("manager"), client_for("manager-rsk")
    funder = client_for("funder-afd")
    session = TrainingSession.objects.annotate(n=Count("attendances")).order_by("-n", "pk").first()
    cohort = session.cohort
    enrolments = Enrolment.objects.filter(cohort=cohort)
    cohorts_total = Cohort.objects.count()
    print(
        f"{Attendance.objects.count():,} marks, {cohorts_total:,} cohorts; largest session: "
        f"{session.n} marks, its cohort {enrolments.count()} people; {args.runs} runs\n"
    )
    cases = [
        ("Mon parcours / API me", get(trainee, "/me/"), get(trainee, "/api/v1/me/")),
        (
            "attendance sheet / API roster",
            get(manager, f"/manage/sessions/{session.pk}/attendance/"),
            get(manager, f"/api/v1/sessions/{session.pk}/attendance/"),
        ),
        (
            "cohort progress / selector",
            get(manager, f"/manage/cohorts/{cohort.pk}/progress/"),
            lambda: enrolments_progress(enrolments),
        ),
        (
            "managers' home, 1 region / API cohorts",
            get(rsk, "/manage/"),
            get(rsk, "/api/v1/cohorts/?page_size=100"),
        ),
        (
            "managers' home, 12 regions / API cohorts",
            get(manager, "/manage/"),
            get(manager, "/api/v1/cohorts/?page_size=100"),
        ),
        (
            "dashboard / one API report (uncached)",
            get(funder, "/dashboard/", fresh_reports=True),
            get(funder, "/api/v1/reports/progress/?group_by=region", fresh_reports=True),
        ),
        (
            "dashboard uncached / cached",
            get(funder, "/dashboard/", fresh_reports=True),
            get(funder, "/dashboard/"),
        ),
    ]
    print(f"{'page / twin':42} {'page':>9} {'twin':>9} {'ratio':>7}")
    results = []
    for name, page, twin in cases:
        page_ms, twin_ms = interleaved(page, twin, args.runs)
        results.append({"case": name, "page_ms": page_ms, "twin_ms": twin_ms,
                        "ratio": page_ms / twin_ms})  # fmt: skip
        print(f"{name:42} {page_ms:8.0f}ms {twin_ms:8.0f}ms {page_ms / twin_ms:7.2f}", flush=True)
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "pages.json").write_text(json.dumps(results, indent=2))
    chart = ratio_chart(
        OUT / "pages.svg",
        "Pages at national scale: time of the page / its twin (same run)",
        [r["case"] for r in results],
        {"page / twin": [r["ratio"] for r in results]},
        goal=None,
    )
    print(f"\nChart: {chart}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
