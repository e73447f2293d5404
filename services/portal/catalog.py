"""Keep the English catalog in step with the German source: ``python -m services.portal.catalog``
extracts every marked string (templates and ``N_``) and merges it into ``locale/en``; a test
fails while any string lacks its translation."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).parent
POT = HERE / "locale" / "messages.pot"
PO = HERE / "locale" / "en" / "LC_MESSAGES" / "messages.po"


def main() -> None:
    pybabel = Path(sys.executable).with_name("pybabel")
    keys: list[str | Path] = ["-k", "_", "-k", "N_", "--no-location", "--omit-header", "--sort-output"]
    subprocess.run([pybabel, "-q", "extract", "-F", HERE / "babel.cfg", *keys, "-o", POT, HERE], check=True)  # noqa: S603
    merge: list[str | Path] = ["-i", POT, "-o", PO, "-l", "en", "--no-fuzzy-matching", "--ignore-obsolete"]
    subprocess.run([pybabel, "-q", "update", *merge], check=True)  # noqa: S603


if __name__ == "__main__":
    main()
