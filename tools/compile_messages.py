"""Compile the translation catalogues (locale/*/LC_MESSAGES/*.po -> .mo) with Babel.

Django's own compilemessages needs GNU gettext's msgfmt, which a fresh machine may lack;
Babel is pure Python and comes from the lock file.
"""

import sys
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

LOCALE = Path(__file__).resolve().parent.parent / "locale"


def main() -> int:
    compiled = 0
    for po_path in sorted(LOCALE.glob("*/LC_MESSAGES/*.po")):
        mo_path = po_path.with_suffix(".mo")
        if mo_path.exists() and mo_path.stat().st_mtime >= po_path.stat().st_mtime:
            continue
        with po_path.open("rb") as handle:
            catalog = read_po(handle, locale=po_path.parts[-3])
        with mo_path.open("wb") as handle:
            write_mo(handle, catalog, use_fuzzy=False)
        compiled += 1
    print(f"translations: {compiled} catalogue(s) compiled", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
