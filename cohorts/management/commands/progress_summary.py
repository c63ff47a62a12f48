"""Check or rebuild the progress summaries (cohorts.progress) against the marks."""

import sys

from django.core.management.base import BaseCommand, CommandError

from cohorts.models import Enrolment
from cohorts.progress import progress_differences, progress_rebuild


class Command(BaseCommand):
    help = (
        "Verify the progress summaries against the attendance marks (--verify, the default), "
        "or recompute them all (--rebuild). The summaries are kept up to date on every write; "
        "run --rebuild after loading data in bulk outside the application."
    )

    def add_arguments(self, parser):
        action = parser.add_mutually_exclusive_group()
        action.add_argument(
            "--verify", action="store_true", help="Compare; exit 1 if any row differs."
        )
        action.add_argument("--rebuild", action="store_true", help="Recompute every row.")
        parser.add_argument(
            "--show", type=int, default=10, help="Differences to print (default 10)."
        )

    def handle(self, *args, verify, rebuild, show, **options):
        if rebuild:
            written = progress_rebuild(progress=self._progress)
            sys.stderr.write("\n")
            self.stdout.write(self.style.SUCCESS(f"Rebuilt {written:,} progress summaries."))
            return
        total = Enrolment.objects.count()
        differences = progress_differences(progress=self._progress)
        sys.stderr.write("\n")
        if not differences:
            self.stdout.write(
                self.style.SUCCESS(f"All {total:,} progress summaries agree with the marks.")
            )
            return
        for enrolment_id, stored, fresh in differences[:show]:
            self.stdout.write(f"  enrolment {enrolment_id}: stored {stored} -> marks say {fresh}")
        raise CommandError(
            f"{len(differences):,} of {total:,} progress summaries differ from the marks; "
            "`manage.py progress_summary --rebuild` repairs them."
        )

    def _progress(self, phase: str, done: int, total: int) -> None:
        percent = done * 100 // total if total else 100
        sys.stderr.write(f"\r  {phase} {done:>9,}/{total:,} ({percent} %)")
        sys.stderr.flush()
