"""Benchmark the outbox's per-minute questions on an outbox of national size.

At national scale the outbox grows by about two reminders per person and session: some
two million rows over the programme (50,000 enrolments, about 20 sessions each), nearly
all sent. The beat asks every minute what is due and how many failed
(`messaging.tasks.sweep_outbox`), and each sender group asks for the next due rows
(`messaging.outbox._claim`). This script fills a throwaway PostgreSQL database with
`--sent` sent rows, `--pending` due ones and `--failed` failed ones, then times those
questions as the application asks them (on the partial indexes of unsent and failed rows)
against the same questions with index scans switched off (what they would cost if they
read the whole log), interleaved, medians of `--rounds`. It prints the plans, the times and
the ratios, and draws bench/out/outbox-sweep.svg.

Run:
    .venv/bin/python bench/outbox_sweep.py --database-url postgres://postgres@127.0.0.1:5432/postgres
        [--sent 2000000] [--pending 1000] [--failed 200] [--rounds 7]
"""

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
OUT = ROOT / "bench" / "out"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", required=True, help="a PostgreSQL server")
    parser.add_argument("--sent", type=int, default=2_000_000)
    parser.add_argument("--pending", type=int, default=1_000)
    parser.add_argument("--failed", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=7)
    return parser.parse_args()


ARGS = parse_args()
os.environ["DATABASE_URL"] = ARGS.database_url
os.environ.update(DJANGO_SETTINGS_MODULE="cycle2021.settings", DEBUG="0", SECURE_SSL_REDIRECT="0")
os.environ.setdefault("SECRET_KEY", "bench-only-key-1c3e5a7b9d0f2e4a6c8b0d2f4a6c8e0b")
os.environ.pop("REDIS_URL", None)

import django  # noqa: E402

django.setup()

from django.db import connection, transaction  # noqa: E402
from django.utils import timezone  # noqa: E402

from bench.charts import ratio_chart  # noqa: E402
from cohorts.models import Notification  # noqa: E402
from messaging.outbox import GROUP, due  # noqa: E402

TABLE = Notification._meta.db_table
CHUNK = 200_000


def fill() -> None:
    """Sent rows in chunks (with progress), then the due and the failed ones; ANALYZE."""
    columns = (
        "key, kind, channel, priority, status, created_at, attempts, address, last_error, "
        "claim, sent_at"
    )
    with connection.cursor() as cursor:
        for start in range(0, ARGS.sent, CHUNK):
            stop = min(start + CHUNK, ARGS.sent)
            cursor.execute(
                f"INSERT INTO {TABLE} ({columns}) SELECT 'bench:sent:' || g, 'reminder', "  # noqa: S608
                "'email', 5, 'sent', now() - interval '1 day', 1, 'x@example.org', '', '', "
                "now() FROM generate_series(%s, %s) g",
                [start + 1, stop],
            )
            print(f"\r  sent rows {stop:>10,}/{ARGS.sent:,}", end="", flush=True)
        print()
        for status, count in (("pending", ARGS.pending), ("failed", ARGS.failed)):
            cursor.execute(
                f"INSERT INTO {TABLE} ({columns}) SELECT 'bench:{status}:' || g, 'reminder', "  # noqa: S608
                f"'email', 5, '{status}', now(), 1, 'x@example.org', '', '', NULL "
                "FROM generate_series(1, %s) g",
                [count],
            )
        cursor.execute(f"ANALYZE {TABLE}")


def questions() -> dict[str, tuple[str, list]]:
    """The sweep's two questions and the sender's claim, as the ORM writes them."""
    now = timezone.now()
    failed = Notification.objects.filter(status=Notification.Status.FAILED)
    claim = (
        due(now).order_by("priority", "id").select_for_update(skip_locked=True).values("pk")[:GROUP]
    )
    found = {
        "sweep: what is due": due(now).values("pk"),
        "sweep: how many failed": failed.values("pk"),
        "sender: next group due": claim,
    }
    out = {}
    for name, queryset in found.items():
        with transaction.atomic():  # (the ORM writes FOR UPDATE only inside one)
            sql, params = queryset.query.sql_with_params()
        if name.startswith("sweep"):
            sql = f"SELECT COUNT(*) FROM ({sql}) counted"  # noqa: S608 (the ORM's own SQL)
        out[name] = (sql, list(params))
    return out


def timed(sql: str, params: list, *, whole_log: bool) -> float:
    with connection.cursor() as cursor:
        switch = "off" if whole_log else "on"
        for setting in ("enable_indexscan", "enable_bitmapscan", "enable_indexonlyscan"):
            cursor.execute(f"SET {setting} = {switch}")
        started = time.perf_counter()
        cursor.execute("BEGIN")
        cursor.execute(sql, params)
        cursor.fetchall()
        cursor.execute("ROLLBACK")  # the claim's row locks, released
        return (time.perf_counter() - started) * 1000


def plan(sql: str, params: list) -> str:
    with connection.cursor() as cursor:
        for setting in ("enable_indexscan", "enable_bitmapscan", "enable_indexonlyscan"):
            cursor.execute(f"SET {setting} = on")
        cursor.execute("EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) " + sql, params)
        return "\n".join("      " + row[0] for row in cursor.fetchall())


def main() -> int:
    creation = connection.creation
    connection.settings_dict["TEST"]["NAME"] = f"bench_outbox_{os.getpid()}"
    print(f"Filling an outbox: {ARGS.sent:,} sent, {ARGS.pending:,} due, {ARGS.failed:,} failed")
    name = creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
    try:
        connection.set_autocommit(True)
        fill()
        asked = questions()
        times: dict[str, dict[str, list[float]]] = {q: {"now": [], "whole": []} for q in asked}
        for round_ in range(ARGS.rounds):
            for question, (sql, params) in asked.items():
                order = [False, True] if round_ % 2 else [True, False]
                for whole_log in order:
                    ms = timed(sql, params, whole_log=whole_log)
                    times[question]["whole" if whole_log else "now"].append(ms)
            print(f"\r  round {round_ + 1}/{ARGS.rounds}", end="", flush=True)
        print("\n")
        for question, (sql, params) in asked.items():
            print(f"  {question}: plan\n{plan(sql, params)}")
    finally:
        creation.destroy_test_db(name, verbosity=0)
    print(f"\n{'question':26} {'now':>10} {'whole log':>12} {'ratio':>8}")
    ratios = {}
    for question, measured in times.items():
        now_ms = statistics.median(measured["now"])
        whole_ms = statistics.median(measured["whole"])
        ratios[question] = whole_ms / now_ms
        print(f"{question:26} {now_ms:8.2f} ms {whole_ms:9.1f} ms {ratios[question]:7.0f}×")
    per_minute = sum(statistics.median(m["now"]) for q, m in times.items() if "sweep" in q)
    print(f"\nThe sweep's two questions together: {per_minute:.2f} ms a minute.")
    chart = ratio_chart(
        OUT / "outbox-sweep.svg",
        f"Outbox of {ARGS.sent + ARGS.pending + ARGS.failed:,} rows: whole log / partial index",
        list(ratios),
        {"time, whole log / now": list(ratios.values())},
        goal=None,
    )
    print(f"Chart: {chart}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
