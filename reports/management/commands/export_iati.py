"""Write the programme's IATI 2.03 activity file, only if it passes the schema and codelists."""

import os
import tempfile
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from reports.iati import iati_activity_file, validate


class Command(BaseCommand):
    help = (
        "Write the programme's IATI 2.03 activity file (results per year under disclosure "
        "control) to --out, after checking it against the IATI schema and codelists; an "
        "invalid file is not written and the command exits with its problems."
    )

    def add_arguments(self, parser):
        parser.add_argument("--out", required=True, help="Where to write the XML file.")

    def handle(self, *args, out, **options):
        built = iati_activity_file()
        problems = validate(built.xml)
        if problems:
            for problem in problems:
                self.stderr.write(f"  {problem}")
            raise CommandError(_("The IATI file is not valid; nothing was written."))
        path = Path(out)
        # Written beside the target and renamed over it: a reader never sees half a file.
        handle, temporary = tempfile.mkstemp(dir=path.parent or ".", prefix=f".{path.name}.")
        try:
            with os.fdopen(handle, "wb") as stream:
                stream.write(built.xml)
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(temporary, 0o666 & ~umask)  # as open() would have made it
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        summary = built.summary
        self.stdout.write(
            self.style.SUCCESS(
                _(
                    "Wrote %(path)s (%(bytes)s bytes): %(indicators)s indicators, %(periods)s "
                    "periods, %(actuals)s actual values, %(withheld)s withheld and left out, "
                    "%(targets)s target values. Schema and codelists: no problems."
                )
                % {
                    "path": path,
                    "bytes": len(built.xml),
                    "indicators": summary.indicators,
                    "periods": summary.periods,
                    "actuals": summary.actuals,
                    "withheld": summary.withheld,
                    "targets": summary.targets,
                }
            )
        )
