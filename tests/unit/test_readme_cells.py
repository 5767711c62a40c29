"""The record README's cells are the record's own (tools/readme_cells.py keeps them in step)."""

import importlib.util
from pathlib import Path

import pytest

REPO = Path(__file__).parents[2]
SPEC = importlib.util.spec_from_file_location("readme_cells", REPO / "tools" / "readme_cells.py")
readme_cells = importlib.util.module_from_spec(SPEC)
SPEC.loader.exec_module(readme_cells)


@pytest.mark.parametrize("record", ["ncbi-paper-scale", "bc5cdr-paper-scale"])
def test_the_record_readme_shows_the_records_cells_with_runs(record):
    record = REPO / "reproductions" / record
    cells = (record / "cells.md").read_text()
    readme = (record / "README.md").read_text()
    assert readme_cells.refresh(readme, cells) == readme, "run python tools/readme_cells.py"


def test_rows_without_runs_are_left_out_and_a_missing_block_is_an_error():
    cells = ("# cells\n\n| row | says |\n|---|---|\n| LC+w | not yet run |\n| LC+g | within the interval |\n")
    shown = readme_cells.refresh("a\n<!-- cells: x -->\nold\n<!-- /cells -->\nb\n", cells)
    assert shown == ("a\n<!-- cells: x -->\n| row | says |\n|---|---|\n| LC+g | within the interval |\n"
                     "<!-- /cells -->\nb\n")
    unrun = cells.replace("| LC+g | within the interval |\n", "")
    none = readme_cells.refresh("<!-- cells: x -->\nold\n<!-- /cells -->\n", unrun)
    assert none == "<!-- cells: x -->\nNo printed cell has runs yet.\n<!-- /cells -->\n"
    with pytest.raises(SystemExit, match="no <!-- cells"):
        readme_cells.refresh("no block here", cells)
