"""Benchmark sending 10,000 session reminders against Django sending the same messages.

It prints messages per second for:
  - ours: `notices_due(now=...)`, `notices_put` and the outbox's `deliver`, as
    `sweep_notices` and the sender task do (without the queue): derive what is due from the
    database, put it in the outbox, then claim groups of 50 with a lease, send over one SMTP
    connection and record each message as sent right after the server accepted it;
  - baseline: Django sending the same messages, built by the same
    `messaging.compose.session_notice` (subject, text, HTML, .ics), for the same people,
    loaded with one plain query, over one connection for the whole run:
    `get_connection().send_messages([EmailMultiAlternatives, ...])`. That is
    `send_mass_mail`'s way of sending; `send_mass_mail` itself cannot carry an HTML part
    or an attachment. The baseline records nothing: it could send a reminder twice;
and the ratio ours / baseline in time per message (goal ≤ 1.5), the SMTP connections each
path opens, and the SQL queries per message of ours. Rounds are interleaved (the order
alternates); the figures are medians. The SMTP server is aiosmtpd, run by this script on
127.0.0.1, counting the connections it accepts and the messages it receives. The chart goes
to bench/out/reminders.svg.

The data (a few cohorts, 10,000 active participants with e-mails in French, Arabic and
English, one session each in its day-before reminder window) lives in a throwaway database:
a temporary SQLite file by default, or with --database-url postgres://... a database
bench_reminders_<pid> on that server, created and dropped by the script.

Run:
    .venv/bin/python bench/reminders.py [--count 10000] [--rounds 3]
        [--database-url postgres://postgres@127.0.0.1:5432/cycle2021_bench]
"""

import argparse
import logging
import os
import socket
import statistics
import sys
import tempfile
import threading
import time
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
OUT = ROOT / "bench" / "out"
GOAL = 1.5
COHORTS = 4
LANGUAGES = ("fr", "ar", "en")
START = datetime(2019, 10, 21, 9, 0, tzinfo=ZoneInfo("Africa/Casablanca"))
NOW = START - timedelta(days=1)  # the day-before reminder is due


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=10_000, help="reminders per round")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds (median)")
    parser.add_argument(
        "--database-url",
        help="a PostgreSQL server (and a database to connect to); the script works in a "
        "database of its own there, dropped at the end (default: a temporary SQLite file)",
    )
    return parser.parse_args()


ARGS = parse_args()
TMP = Path(tempfile.mkdtemp(prefix="bench-reminders-"))
SQLITE_FILE = TMP / "reminders.sqlite3"
SMTP_PORT = free_port()
# Settings come from the environment, read once by django.setup().
os.environ["DATABASE_URL"] = ARGS.database_url or f"sqlite:///{SQLITE_FILE}"
os.environ.update(
    DJANGO_SETTINGS_MODULE="cycle2021.settings",
    DEBUG="0",  # as in production (with DEBUG on, Django keeps a log of every query)
    EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
    EMAIL_HOST="127.0.0.1",
    EMAIL_PORT=str(SMTP_PORT),
    EMAIL_HOST_USER="",
    EMAIL_HOST_PASSWORD="",
    EMAIL_USE_TLS="0",
)
os.environ.setdefault("SECRET_KEY", "bench-only-key-8e2f4a6c0b1d3e5f7a9c2e4f6a8b0d1c")
os.environ.pop("REDIS_URL", None)  # no broker, no shared cache: nothing here needs them

import django  # noqa: E402

django.setup()
# aiosmtpd logs every SMTP command at INFO: in this process, that would be most of the work.
logging.getLogger("mail.log").setLevel(logging.WARNING)

from aiosmtpd.controller import Controller  # noqa: E402
from django.core.mail import EmailMultiAlternatives, get_connection  # noqa: E402
from django.db import connection, transaction  # noqa: E402

from bench.charts import ratio_chart  # noqa: E402
from cohorts.models import (  # noqa: E402
    Cohort,
    Enrolment,
    Notification,
    Participant,
    Programme,
    Region,
    TrainingSession,
)
from messaging.channels import OutgoingMessage  # noqa: E402
from messaging.compose import session_notice  # noqa: E402
from messaging.notices import notices_due, notices_put  # noqa: E402
from messaging.outbox import deliver  # noqa: E402

NOTICE_BATCH = 100  # progress is shown every 10 of these

# The SMTP sink -------------------------------------------------------------------------


class CountingSink:
    """An aiosmtpd handler that accepts every message and only counts (no parsing: the
    server's work should weigh as little as possible in either path's time)."""

    def __init__(self) -> None:
        self.messages = 0
        self.connections = 0
        self._lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802 (aiosmtpd's name)
        with self._lock:
            self.messages += 1
        return "250 2.0.0 OK"

    def counts(self) -> tuple[int, int]:
        with self._lock:
            return self.connections, self.messages


class CountingController(Controller):
    def factory(self):  # called once per connection accepted
        with self.handler._lock:
            self.handler.connections += 1
        return super().factory()


# Data ----------------------------------------------------------------------------------


def build_data(count: int) -> None:
    """A few cohorts of 2019, `count` active participants, one session per cohort starting
    at START."""
    programme = Programme.objects.get(code="R2021")
    regions = list(Region.objects.order_by("code"))
    with transaction.atomic():
        cohorts = [
            Cohort.objects.create(
                programme=programme,
                code=f"bench-{i}",
                year=2019,
                name=f"Promotion 2019 — Banc d'essai {i + 1}",
            )  # fmt: skip
            for i in range(COHORTS)
        ]
        for index, cohort in enumerate(cohorts):
            cohort.regions.set([regions[index % len(regions)]])
            TrainingSession.objects.create(
                cohort=cohort, title=f"Finances régionales, module {index + 1}",
                theme="Finances", starts_at=START, ends_at=START + timedelta(hours=7),
                city="Rabat", venue="Siège de la Région", planned_hours=6,
            )  # fmt: skip
        people = Participant.objects.bulk_create(
            Participant(
                first_name=f"Prénom{i}", last_name=f"Nom{i}", sex="FM"[i % 2],
                role=("elu", "cadre")[i % 2], position="Conseiller",
                region=regions[i % len(regions)], email=f"participant{i}@example.org",
                preferred_language=LANGUAGES[i % len(LANGUAGES)],
            )
            for i in range(count)
        )  # fmt: skip
        Enrolment.objects.bulk_create(
            Enrolment(participant=person, cohort=cohorts[i % COHORTS],
                      enrolled_on=date(2019, 1, 15))
            for i, person in enumerate(people)
        )  # fmt: skip


# The two paths -------------------------------------------------------------------------


def progress(title: str, done: int, total: int) -> None:
    if done % (10 * NOTICE_BATCH) < 20 or done == total:
        print(f"\r  {title} {done:6,}/{total:,}", end="", flush=True)


def ours(title: str, limit: int) -> None:
    """What the sweep and the outbox's sender do: derive, put, then claim, send and record."""
    due = notices_due(now=NOW).notices
    assert len(due) == ARGS.count, f"{len(due)} due, expected {ARGS.count}"
    due = due[:limit]
    notices_put(due, deliver=False)  # the sender runs here, timed, not inline on commit
    result = deliver(progress=lambda so_far: progress(title, so_far.sent, len(due)))
    assert result.sent == len(due) and not (result.retrying or result.failed), result


def email(message: OutgoingMessage, connection) -> EmailMultiAlternatives:
    """The Django message for `message`, as EmailChannel builds it."""
    mail = EmailMultiAlternatives(
        message.subject, message.text, to=[message.to], connection=connection
    )
    if message.html:
        mail.attach_alternative(message.html, "text/html")
    for name, content, mimetype in message.attachments:
        mail.attach(name, content, mimetype)
    return mail


def baseline(title: str, limit: int) -> None:
    """Django sending the same messages over one connection, with nothing recorded."""
    sessions = TrainingSession.objects.filter(
        starts_at__gt=NOW, starts_at__lte=NOW + timedelta(days=1)
    ).select_related("cohort")
    by_cohort = {s.cohort_id: s for s in sessions}
    enrolments = Enrolment.objects.filter(
        cohort_id__in=by_cohort, status=Enrolment.Status.ACTIVE, participant__email__isnull=False
    ).select_related("participant")
    pairs = [(e.participant, by_cohort[e.cohort_id]) for e in enrolments]
    assert len(pairs) == ARGS.count, f"{len(pairs)} people, expected {ARGS.count}"
    pairs = pairs[:limit]
    smtp = get_connection(fail_silently=False)
    smtp.open()  # kept open across the chunks below: one connection for the whole run
    try:
        # In chunks only to show progress; send_messages on an open connection leaves it open.
        for start in range(0, len(pairs), NOTICE_BATCH):
            messages = [
                email(session_notice(Notification.Kind.REMINDER, person, session), smtp)
                for person, session in pairs[start : start + NOTICE_BATCH]
            ]
            assert smtp.send_messages(messages) == len(messages)
            progress(title, start + len(messages), len(pairs))
    finally:
        smtp.close()


class QueryCounter:
    """Counts SQL queries (not BEGIN / COMMIT, which Django's SQLite backend runs through
    the same cursor around every write)."""

    CONTROL = ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE")

    def __init__(self) -> None:
        self.count = 0

    def __call__(self, execute, sql, params, many, context):
        if not sql.lstrip().upper().startswith(self.CONTROL):
            self.count += 1
        return execute(sql, params, many, context)


def timed(title: str, path, sink: CountingSink, count: int) -> dict:
    """Send `count` reminders by `path`; return its time, connections and queries."""
    Notification.objects.all().delete()  # a fresh sent-log for every round
    counter = QueryCounter()
    connections_before, messages_before = sink.counts()
    with connection.execute_wrapper(counter):
        started = time.perf_counter()
        path(title, count)
        elapsed = time.perf_counter() - started
    connections_after, messages_after = sink.counts()
    received = messages_after - messages_before
    assert received == count, f"{title} the SMTP server received {received} of {count}"
    rate = count / elapsed
    print(f"\r  {title} {rate:7.0f} messages/s ({elapsed:5.1f} s){' ' * 8}")
    return {
        "seconds": elapsed,
        "rate": rate,
        "connections": connections_after - connections_before,
        "queries": counter.count,
    }


# Main ----------------------------------------------------------------------------------


def main() -> int:
    creation = connection.creation
    # A name of this run's own: another run, or a test run's test_<name>, is never touched.
    connection.settings_dict["TEST"]["NAME"] = (
        str(SQLITE_FILE) if connection.vendor == "sqlite" else f"bench_reminders_{os.getpid()}"
    )
    print(f"Database: {connection.vendor}; building {ARGS.count:,} participants...", flush=True)
    test_name = creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
    sink = CountingSink()
    controller = CountingController(sink, hostname="127.0.0.1", port=SMTP_PORT)
    controller.start()
    try:
        build_data(ARGS.count)
        # Warm up both paths (templates compiled, translations loaded, code imported).
        warm_up = min(NOTICE_BATCH, ARGS.count)
        timed("warm-up:  ours     ", ours, sink, warm_up)
        timed("warm-up:  baseline ", baseline, sink, warm_up)
        print(f"\n{ARGS.count:,} reminders per round, {ARGS.rounds} rounds, interleaved\n")
        paths = {"ours": ours, "baseline": baseline}
        runs: dict[str, list[dict]] = {name: [] for name in paths}
        for round_ in range(1, ARGS.rounds + 1):
            order = list(paths) if round_ % 2 else list(reversed(paths))
            for name in order:
                title = f"round {round_}:  {name:9}"
                runs[name].append(timed(title, paths[name], sink, ARGS.count))
    finally:
        controller.stop()
        creation.destroy_test_db(test_name, verbosity=0)
        SQLITE_FILE.unlink(missing_ok=True)
        TMP.rmdir()
    report(runs)
    return 0


def report(runs: dict[str, list[dict]]) -> None:
    count = ARGS.count
    seconds = {name: statistics.median(r["seconds"] for r in rs) for name, rs in runs.items()}
    ratios = [
        o["seconds"] / b["seconds"] for o, b in zip(runs["ours"], runs["baseline"], strict=True)
    ]
    ratio = seconds["ours"] / seconds["baseline"]
    print(f"\n{'path':9} {'median':>14} {'per message':>12} {'connections':>12} {'queries':>8}")
    for name, rs in runs.items():
        print(
            f"{name:9} {count / seconds[name]:8.0f} msg/s {seconds[name] / count * 1000:9.2f} ms"
            f" {statistics.median(r['connections'] for r in rs):12.0f}"
            f" {statistics.median(r['queries'] for r in rs):8.0f}"
        )
    queries = statistics.median(r["queries"] for r in runs["ours"]) / count
    print(f"\nSQL queries per message, ours: {queries:.3f}")
    verdict = "meets" if ratio <= GOAL else "MISSES"
    rounds = ", ".join(f"{r:.2f}" for r in ratios)
    print(f"ratio ours / baseline, time: {ratio:.2f} ({verdict} the goal ≤ {GOAL})")
    print(f"ratio per round: {rounds}")
    chart = ratio_chart(
        OUT / "reminders.svg",
        f"{count:,} reminders ({connection.vendor}): ours / Django send_messages, time "
        "(lower is better)",
        [*(f"round {i}" for i in range(1, len(ratios) + 1)), "median"],
        {"ours / baseline": [*ratios, ratio]},
        goal=GOAL,
    )
    print(f"Chart: {chart}")


if __name__ == "__main__":
    sys.exit(main())
