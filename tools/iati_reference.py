"""Copy the IATI 2.03 reference files the app checks its files against into the project.

The app reads its own copy (reports/iati/reference/) at run time: a deployment has no
../shared. This copies, from ../shared/reference/iati-2.03/, the activity schema and the
schemas it includes, the codelist mapping and every codelist the mapping names; run it
again when the reference changes (tests/test_iati.py fails while the copy differs).
"""

import shutil
import sys
from pathlib import Path

from lxml import etree

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared" / "reference" / "iati-2.03"
SHIPPED = ROOT / "reports" / "iati" / "reference"
SCHEMAS = ("iati-activities-schema.xsd", "iati-common.xsd", "xml.xsd")
MAPPING = "codelist-mapping.xml"


def needed_files(source: Path = SHARED) -> list[str]:
    """The reference files the app needs, relative to the reference directory."""
    mapping = etree.parse(str(source / MAPPING))
    codelists = sorted(set(mapping.xpath("//mapping/codelist/@ref")))
    return [*SCHEMAS, MAPPING, "README.txt", *(f"codelists/{name}.xml" for name in codelists)]


def main() -> int:
    if not SHARED.is_dir():
        print(f"no reference directory at {SHARED}", file=sys.stderr)
        return 1
    if SHIPPED.exists():
        for old in [
            *SHIPPED.glob("*.x*"),
            *SHIPPED.glob("codelists/*.xml"),
            SHIPPED / "README.txt",
        ]:
            old.unlink(missing_ok=True)
    (SHIPPED / "codelists").mkdir(parents=True, exist_ok=True)
    files = needed_files()
    for name in files:
        shutil.copyfile(SHARED / name, SHIPPED / name)
    print(f"copied {len(files)} files into {SHIPPED.relative_to(ROOT)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
