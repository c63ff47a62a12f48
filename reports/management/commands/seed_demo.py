"""Load synthetic demo data for the "Région 2021" cycle and print the demo accounts.

It lives in the reports app because, after the data (cohorts.demo), it issues the
certificates of the cohorts that have ended as production does (certificates.bulk), then
sets the programme's targets from them (reports.demo): it reads every room below.
"""

import argparse
from time import monotonic

from django.core.management.base import BaseCommand, CommandError

from certificates.demo import delete_demo_certificates, issue_demo_certificates
from cohorts import demo
from reports.demo import demo_targets_ensure


class Command(BaseCommand):
    help = (
        "Load synthetic demo data (cohorts 2018–2021, participants, sessions, attendance) "
        "and create the demo accounts. Idempotent: when demo data is loaded, only the "
        "accounts are ensured. Demo use only: the accounts share a published password."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--seed",
            type=int,
            default=demo.DEFAULT_SEED,
            help=f"Random seed: the same seed gives the same data (default {demo.DEFAULT_SEED}).",
        )
        parser.add_argument(
            "--scale",
            choices=list(demo.SCALES),
            help="small: about 500 participants; national: about 50,000 participants and "
            "1,000,000 attendance marks. Default: the loaded scale, or small.",
        )
        parser.add_argument(
            "--reset",
            action="store_true",
            help="Delete the demo data (never regions, programme or organisations), rebuild "
            "it (at the loaded scale unless --scale says otherwise), and set the demo "
            "accounts' password back.",
        )
        parser.add_argument(
            "--certificates",
            action=argparse.BooleanOptionalAction,
            default=True,
            help="Issue the certificates due in the cohorts that have ended, with their PDFs "
            "(default: yes). The PDFs are rendered by one process per CPU: at national scale, "
            "about 40,000 of them take some 15 minutes on two CPUs.",
        )

    def handle(self, *args, seed, scale, reset, certificates, **options):
        started = monotonic()
        progress = _Progress(self.stderr)
        try:
            if reset:
                delete_demo_certificates()
            outcome = demo.seed_demo(seed=seed, scale=scale, reset=reset, progress=progress)
        except demo.DemoError as exc:
            raise CommandError(str(exc)) from exc
        progress.close()
        if certificates:
            issued = issue_demo_certificates(progress=progress)
            progress.close()
            self.stdout.write(f"Certificates issued now: {issued:,}.")
        # Set from the data: replaced when the data was rebuilt, else only the missing ones.
        targets = demo_targets_ensure(replace=outcome.action != "kept")
        if targets:
            self.stdout.write(f"Targets set: {targets:,} (programme years × regions).")

        counts = outcome.counts
        if outcome.action == "kept":
            self.stdout.write(
                f"Demo data already loaded (scale {outcome.scale}): nothing generated, "
                "accounts ensured. Use --reset to rebuild it."
            )
        else:
            self.stdout.write(
                self.style.SUCCESS(
                    f"Demo data {outcome.action} (scale {outcome.scale}, seed {seed}) "
                    f"in {monotonic() - started:.1f} s."
                )
            )
        self.stdout.write(
            f"  participants {counts.participants:,}, cohorts {counts.cohorts:,}, "
            f"sessions {counts.sessions:,} ({counts.unrecorded_sessions:,} without attendance), "
            f"enrolments {counts.enrolments:,} ({counts.withdrawn:,} withdrawn), "
            f"attendance marks {counts.marks:,}"
        )
        self.stdout.write("\nDemo accounts (demo only; the password is public):")
        rows = [("username", "role", "password", "sees"), *map(_row, outcome.accounts)]
        widths = [max(len(row[i]) for row in rows) for i in range(3)]
        for row in rows:
            cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=False)]
            self.stdout.write("  " + "  ".join([*cells, row[3]]))
        if not reset and outcome.action == "kept":
            self.stdout.write("  (existing accounts keep their password; --reset sets it back)")


def _row(account: demo.Account) -> tuple[str, str, str, str]:
    return (account.username, account.role, account.password, account.sees)


class _Progress:
    """Report progress per batch on stderr, and each phase's time when it ends.

    On a terminal one line is rewritten; in a log, a line every tenth of the way.
    """

    def __init__(self, stream):
        self.stream = stream
        self.tty = stream.isatty()
        self.phase = None
        self.started = 0.0
        self.next_tenth = 0

    def __call__(self, phase: str, done: int, total: int) -> None:
        if phase != self.phase:
            self.close()
            self.phase, self.started, self.next_tenth = phase, monotonic(), 1
        percent = done * 100 // total if total else 100
        line = f"  {phase:<12} {done:>9,}/{total:,} ({percent} %)"
        if done >= total:
            self.stream.write(f"{self._start()}{line} in {monotonic() - self.started:.1f} s")
            self.phase = None
        elif self.tty:
            self.stream.write(f"\r{line}", ending="")
            self.stream.flush()
        elif percent >= self.next_tenth * 10:
            self.stream.write(line)
            self.next_tenth = percent // 10 + 1

    def _start(self) -> str:
        return "\r" if self.tty else ""

    def close(self) -> None:
        if self.phase is not None and self.tty:
            self.stream.write("")
        self.phase = None
