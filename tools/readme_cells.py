"""Copy a reproduction record's printed cells that have runs into the record's own README.

    python tools/readme_cells.py [--record reproductions/ncbi-paper-scale] [--readme RECORD/README.md]

The block lies between ``<!-- cells: ... -->`` and ``<!-- /cells -->``; the record's ``cells.md`` (written
by ``mtaal record rebuild``) is the source, so the README never holds numbers the record does not.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from mtaal.io import write_text  # noqa: E402

BLOCK = re.compile(r"(<!-- cells: [^\n]*-->\n)(.*?)(<!-- /cells -->)", re.S)


def cells_with_runs(cells_md: str) -> str:
    """The header, separator and every table row of ``cells.md`` whose cell has runs (a line if none has)."""
    table = [line for line in cells_md.splitlines() if line.startswith("|")]
    if len(table) < 2:
        raise SystemExit("cells.md holds no table (run `mtaal record rebuild` first)")
    rows = [r for r in table[2:] if "not yet run" not in r]
    if not rows:
        return "No printed cell has runs yet.\n"
    return "\n".join([*table[:2], *rows]) + "\n"


def refresh(readme: str, cells_md: str) -> str:
    if not BLOCK.search(readme):
        raise SystemExit("README has no <!-- cells: ... --> ... <!-- /cells --> block")
    return BLOCK.sub(lambda m: m.group(1) + cells_with_runs(cells_md) + m.group(3), readme, count=1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--record", type=Path, default=REPO / "reproductions" / "ncbi-paper-scale")
    parser.add_argument("--readme", type=Path, help="default: the record's README.md")
    args = parser.parse_args()
    readme = args.readme or args.record / "README.md"
    write_text(refresh(readme.read_text(), (args.record / "cells.md").read_text()), readme)


if __name__ == "__main__":
    main()
