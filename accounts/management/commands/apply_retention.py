"""Anonymise the people whose last cohort ended more than RETENTION_YEARS ago."""

import sys

from django.conf import settings
from django.core.management.base import BaseCommand
from django.utils import timezone

from accounts.retention import apply_retention, cutoff, retention_due


class Command(BaseCommand):
    help = (
        "Anonymise the people whose last cohort ended more than RETENTION_YEARS years ago: "
        "names, e-mail, phone removed, account disabled; reports and verification keep working."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--dry-run", action="store_true", help="Say what would be done, change nothing."
        )
        parser.add_argument(
            "--years", type=int, default=None, help="Override RETENTION_YEARS for this run."
        )

    def handle(self, *args, dry_run: bool, years: int | None, **options):
        years = settings.RETENTION_YEARS if years is None else years
        now = timezone.now()
        limit = timezone.localtime(cutoff(now, years)).date()
        due = retention_due(now=now, years=years).count()
        self.stdout.write(
            f"Retention: {years} year(s) after the last cohort ended (ended before {limit}): "
            f"{due} person(s) to anonymise."
        )
        if dry_run:
            self.stdout.write(
                f"Dry run: would remove the names, e-mail, phone and position of {due} "
                "person(s), disable their accounts, clear the addresses of their messages "
                "and delete their certificates' stored PDFs. Nothing changed."
            )
            return
        interactive = self.stdout.isatty() if hasattr(self.stdout, "isatty") else False
        step = max(1, due // 20)

        def progress(done: int, total: int) -> None:
            if done == total or done % step == 0:
                line = f"anonymised {done}/{total} ({100 * done // total} %)"
                if interactive:
                    sys.stdout.write(f"\r{line}")
                    sys.stdout.flush()
                else:
                    self.stdout.write(line)

        run = apply_retention(now=now, years=years, progress=progress)
        if interactive and run.anonymised:
            sys.stdout.write("\n")
        self.stdout.write(self.style.SUCCESS(f"Done: {run.anonymised} person(s) anonymised."))
