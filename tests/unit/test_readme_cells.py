"""README's "What we reproduced" cells are the record's own (tools/readme_cells.py keeps them in step)."""

import importlib.util
from pathlib import Path

import pytest

REPO = Path(__file__).parents[2]
SPEC = importlib.util.spec_from_file_location("readme_cells", REPO / "tools" / "readme_cells.py")
readme_cells = importlib.util.module_from_spec(SPEC)
SPEC.loader.exec_module(readme_cells)


def test_readme_shows_the_records_cells_with_runs():
    cells = (REPO / "reproductions" / "ncbi-paper-scale" / "cells.md").read_text()
    readme = (REPO / "README.md").read_text()
    assert readme_cells.refresh(readme, cells) == readme, "run python tools/readme_cells.py"


def test_rows_without_runs_are_left_out_and_a_missing_block_is_an_error():
    cells = ("# cells\n\n| row | says |\n|---|---|\n| LC+w | not yet run |\n| LC+g | within the interval |\n")
    shown = readme_cells.refresh("a\n<!-- cells: x -->\nold\n<!-- /cells -->\nb\n", cells)
    assert shown == ("a\n<!-- cells: x -->\n| row | says |\n|---|---|\n| LC+g | within the interval |\n"
                     "<!-- /cells -->\nb\n")
    with pytest.raises(SystemExit, match="no <!-- cells"):
        readme_cells.refresh("no block here", cells)
