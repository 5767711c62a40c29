"""What a reader of a tier's outputs takes in at a glance: no empty figure panels, tables with word headers
and whole-number epochs, a long reason said once per table. Used by the workflow tests on the tiny tier
(and by hand on the default tier's results/)."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

SVG = "{http://www.w3.org/2000/svg}"
# matplotlib's SVG: an axes group holds its background patch, four spines (patches), both axes, titles and
# a legend; anything else (lines, collections, images, further patches = bars) is something drawn.
FRAME = {"matplotlib.axis", "text", "legend"}
FRAME_PATCHES = 5


def _drawn(axes: ET.Element) -> tuple[bool, bool]:
    kinds = [child.get("id", "").rsplit("_", 1)[0] for child in axes if child.tag == f"{SVG}g"]
    data = any(kind not in FRAME | {"patch"} for kind in kinds) or kinds.count("patch") > FRAME_PATCHES
    return data, "text" in kinds


def figure_problems(svg: Path) -> list[str]:
    """Panels with nothing drawn: in a figure of several panels every one must show data; a figure of one
    panel may instead say in words why there is nothing (no runs at this tier)."""
    panels = [g for g in ET.parse(svg).getroot().iter(f"{SVG}g") if g.get("id", "").startswith("axes_")]
    drawn = [_drawn(axes) for axes in panels]
    if len(panels) == 1:
        return [] if any(drawn[0]) else [f"{svg}: its one panel is empty and says nothing"]
    return [f"{svg}: panel {i + 1} of {len(panels)} is empty"
            for i, (data, _) in enumerate(drawn) if not data]


def svg_words(svg: Path) -> str:
    """The text a matplotlib SVG draws (each text line is a comment before its glyphs), lines joined by a
    space, so that a wrapped title reads as one string."""
    return " ".join(re.findall(r"<!-- (.*?) -->", svg.read_text(encoding="utf-8"), re.S))


def _rows(markdown: str) -> list[list[str]]:
    """The markdown table rows of a file (header, then body rows; separator rows dropped)."""
    rows = []
    for line in markdown.splitlines():
        if line.startswith("|") and not re.fullmatch(r"\|[\s:|-]+\|?", line.strip()):
            rows.append([cell.strip() for cell in line.strip().strip("|").split("|")])
    return rows


def table_problems(path: Path, long_text: int = 80) -> list[str]:
    problems = []
    tables, current = [], []
    for line in [*path.read_text().splitlines(), ""]:
        if line.startswith("|"):
            current.append(line)
        elif current:
            tables.append(_rows("\n".join(current)))
            current = []
    for rows in tables:
        if not rows:
            continue
        header, body = rows[0], rows[1:]
        if tuples := [cell for cell in header if re.search(r"\(\s*'", cell)]:
            problems.append(f"{path}: column headers are Python tuples: {tuples[:2]}")
        for column, name in enumerate(header):
            if "epoch" in name.lower():
                fractional = [row[column] for row in body if column < len(row)
                              and re.fullmatch(r"-?\d+\.\d+", row[column])]
                if fractional:
                    problems.append(f"{path}: column {name!r} shows epochs as decimals: {fractional[:2]}")
        seen: dict[str, int] = {}
        for row in body:
            for cell in row:
                if len(cell) >= long_text:
                    seen[cell] = seen.get(cell, 0) + 1
        problems += [f"{path}: the same {len(text)}-character text in {n} rows: {text[:60]}..."
                     for text, n in seen.items() if n > 1]
    return problems


def output_problems(results: Path) -> list[str]:
    """Every problem of the figures (SVG) and markdown tables under ``results`` (not logs, benchmarks)."""
    problems = []
    for path in sorted(results.rglob("*")):
        if path.relative_to(results).parts[0] in {"logs", "benchmarks"}:
            continue
        if path.suffix == ".svg":
            problems += figure_problems(path)
        elif path.suffix == ".md":
            problems += table_problems(path)
    return problems
