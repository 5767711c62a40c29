"""Transcribe every numeric cell of the two papers' tables into config/reported/{mtaal,multitask}.csv.

The tables are parsed out of the papers' text renderings (tab-separated rows, see
../shared/papers/README.md); no number is typed in here. What this file does say is what each printed
row and column means (dataset, setting, metric, split), and the notes a reader of a cell needs.

Run from the repository root: python tools/transcribe_reported.py [--mtaal-paper F] [--multitask-paper F]
[--out DIR]. Both CSVs are written atomically; a per-table summary (cells written, dashes skipped) is
printed. A paper file without the expected tables stops with its name, line and the expected form.
"""

from __future__ import annotations

import argparse
import csv
import io
import re
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from mtaal.errors import MtaalError
from mtaal.io import write_text

REPO = Path(__file__).resolve().parents[1]
PAPERS = REPO.parent / "shared" / "papers"
MTAAL_PAPER = PAPERS / "mtaal-zhou-aaai2021.txt"
MULTITASK_PAPER = PAPERS / "multitask-rodriguez-jbi2022.txt"

COLUMNS = (
    "paper,table,row,column,system,dataset,setting,model,split,ablation_fraction,metric,statistic,value,"
    "printed,note"
).split(",")

NUMBER = re.compile(r"-?\d+(?:\.\d+)?")
DASH = "\u2013"  # en dash: a cell the paper does not report
# The conversion wrote a Cyrillic "МТ" in MTAAL Tables 2-3 headers.
HOMOGLYPHS = str.maketrans({"\u041c": "M", "\u0422": "T"})


@dataclass
class Row:
    line: int  # 1-based line of the paper file
    group: str  # the spanning group cell in force ("" if none)
    label: str  # the row's own label as printed
    row: str  # "<GROUP> / <label>", or the label alone
    cells: list[str]  # data cells, aligned with Table.columns
    note: str = ""


@dataclass
class Table:
    name: str  # "Table 2"
    caption: str
    line: int  # line of the first header row
    columns: list[str]  # printed column paths of the data columns, "F_1 / TEST"
    rows: list[Row] = field(default_factory=list)


@dataclass(frozen=True)
class Layout:
    header_rows: int
    label_cols: int
    groups: tuple[str, ...] = ()  # values of the spanning group column
    # Table 7 of the multitask paper: the top header's cells sit at the wrong tabs in the rendering; its
    # sub-header repeats one sequence once per top label, which places them.
    periodic_header: bool = False


# ----------------------------------------------------------------------------------------------------
# Parsing


def _blocks(lines: list[str]) -> Iterator[tuple[int, list[str]]]:
    """Maximal runs of consecutive lines that contain a tab: (index of the first line, the lines)."""
    start = None
    for index, line in enumerate([*lines, ""]):
        if "\t" in line and start is None:
            start = index
        elif "\t" not in line and start is not None:
            yield start, lines[start:index]
            start = None


def _caption_after(lines: list[str], end: int) -> tuple[str, str] | None:
    for line in lines[end : end + 4]:
        if line.strip():
            found = re.match(r"Table (\d+): (.*)", line.strip())
            return (f"Table {found[1]}", found[2]) if found else None
    return None


def _caption_before(lines: list[str], start: int) -> tuple[str, str] | None:
    window = [(i, line.strip()) for i, line in enumerate(lines[max(0, start - 6) : start]) if line.strip()]
    for position, (_, text) in enumerate(window):
        if re.fullmatch(r"Table \d+", text):
            rest = [t for _, t in window[position + 1 :]]
            return text, " ".join(rest)
    return None


def _column_paths(path: Path, line: int, header: list[list[str]], layout: Layout) -> list[str]:
    width = len(header[0])
    data = range(layout.label_cols, width)
    if len(header) == 1:
        return [header[0][i].strip().translate(HOMOGLYPHS) for i in data]
    top, sub = ([c.strip().translate(HOMOGLYPHS) for c in cells] for cells in header)
    if layout.periodic_header:
        labels = [top[i] for i in data if top[i]]
        subs = [sub[i] for i in data]
        period = len(subs) // len(labels) if labels else 0
        if not period or subs != subs[:period] * len(labels):
            raise MtaalError(
                f"{path}:{line + 2}: expected a sub-header repeating one sequence once per top label "
                f"{labels}, found {subs}"
            )
        return [f"{labels[k // period]} / {s}" for k, s in enumerate(subs)]
    paths, current = [], ""
    for i in data:
        current = top[i] or current
        if not current:
            raise MtaalError(f"{path}:{line + 1}: expected a column label above column {i + 1}")
        paths.append(f"{current} / {sub[i]}" if sub[i] else current)
    return paths


def parse_tables(path: Path, layouts: dict[str, Layout], caption: str) -> dict[str, Table]:
    """Every table of ``layouts`` found in the paper file; ``caption`` is where its caption is printed
    ("after" the rows, as in AAAI, or "before" them, as in JBI)."""
    lines = path.read_text(encoding="utf-8").splitlines()
    found: dict[str, Table] = {}
    for start, block in _blocks(lines):
        named = (
            _caption_after(lines, start + len(block)) if caption == "after" else _caption_before(lines, start)
        )
        if named is None or named[0] not in layouts:
            continue
        name, text = named
        layout = layouts[name]
        split = [line.split("\t") for line in block]
        width = len(split[0])
        for offset, cells in enumerate(split):
            if len(cells) != width:
                raise MtaalError(
                    f"{path}:{start + offset + 1}: expected {width} tab-separated cells as in the header "
                    f"of {name}, found {len(cells)}"
                )
        columns = _column_paths(path, start, split[: layout.header_rows], layout)
        table = Table(name, text, start + 1, columns)
        group = ""
        for offset, cells in enumerate(split[layout.header_rows :], start=layout.header_rows):
            number = start + offset + 1
            labels = [c.strip() for c in cells[: layout.label_cols]]
            data = [c.strip() for c in cells[layout.label_cols :]]
            note = ""
            if layout.label_cols == 1:
                label, row = labels[0], labels[0]
            else:
                first, label = labels
                if first in layout.groups:
                    group = first
                elif first and label:
                    raise MtaalError(
                        f"{path}:{number}: expected a group cell in {layout.groups}, found {first!r}"
                    )
                elif first.upper().startswith("OVERALL"):
                    group, label = "", first
                elif first:
                    # Multitask Table 5's species "STL average": the label is printed in the group column.
                    label = first
                    note = f"printed in the group column, without its group cell; it closes the {group} rows"
                if not group and not label:
                    raise MtaalError(f"{path}:{number}: expected a row label")
                row = f"{group} / {label}" if group else label
            table.rows.append(Row(number, group, label, row, data, note))
        if name in found:
            raise MtaalError(f"{path}:{start + 1}: {name} found twice (first at line {found[name].line})")
        found[name] = table
    missing = [name for name in layouts if name not in found]
    if missing:
        raise MtaalError(f"{path}: expected tab-separated tables {missing} with their captions, not found")
    return found


def parse_cell(text: str) -> list[tuple[str, str]]:
    """The numbers of one cell as (statistic, printed text): ``0.885`` -> value; ``3973±16`` and
    ``$1295 {\\pm} 188$`` -> mean and std; a dash or an empty cell -> nothing."""
    plain = text.replace("$", "").replace("{\\pm}", "±").replace("\\pm", "±").strip()
    if NUMBER.fullmatch(plain):
        return [("value", plain)]
    found = re.fullmatch(r"(\S+)\s*±\s*(\S+)", plain)
    if found and NUMBER.fullmatch(found[1]) and NUMBER.fullmatch(found[2]):
        return [("mean", found[1]), ("std", found[2])]
    raise ValueError(text)


def cell_text(table: Table, row: str, column: str) -> str:
    """The printed text of one cell, by its row and column labels."""
    for candidate in table.rows:
        if candidate.row == row:
            return candidate.cells[table.columns.index(column)]
    raise KeyError((table.name, row, column))


def prose_line(path: Path, quote: str) -> int:
    """The line of the paper file that states ``quote``: a note that cites the prose must find it there."""
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if quote in line:
            return number
    raise MtaalError(f"{path}: expected the sentence {quote!r}, not found")


# ----------------------------------------------------------------------------------------------------
# Meaning of rows and columns


@dataclass
class Cell:
    system: str = "paper"
    dataset: str = ""
    setting: str = ""
    model: str = ""
    split: str = "test"
    ablation_fraction: float = 0.0
    metric: str = ""
    note: str = ""


Describe = Callable[[Table, Row, str], Cell]


def _join(*notes: str) -> str:
    return "; ".join(n for n in notes if n)


@dataclass
class Transcript:
    paper: str
    records: list[dict] = field(default_factory=list)
    summary: dict[str, dict[str, int]] = field(default_factory=dict)

    def add(self, path: Path, table: Table, describe: Describe) -> None:
        counts = self.summary.setdefault(table.name, {"written": 0, "dashes": 0, "empty": 0})
        for row in table.rows:
            for column, text in zip(table.columns, row.cells, strict=True):
                if text == DASH:
                    counts["dashes"] += 1
                    continue
                if not text:
                    counts["empty"] += 1
                    continue
                cell = describe(table, row, column)
                if cell.metric == "document_type":
                    numbers = [("value", "")]
                else:
                    try:
                        numbers = parse_cell(text)
                    except ValueError:
                        raise MtaalError(
                            f"{path}:{row.line}: {table.name}, row {row.row!r}, column {column!r}: expected "
                            f"a number, 'mean ± std' or '{DASH}', found {text!r}"
                        ) from None
                for statistic, printed in numbers:
                    self.records.append(
                        {
                            "paper": self.paper,
                            "table": table.name,
                            "row": row.row,
                            "column": column,
                            "system": cell.system,
                            "dataset": cell.dataset,
                            "setting": cell.setting,
                            "model": cell.model,
                            "split": cell.split,
                            "ablation_fraction": cell.ablation_fraction,
                            "metric": cell.metric,
                            "statistic": statistic,
                            "value": printed,
                            "printed": text if cell.metric == "document_type" else printed,
                            "note": _join(row.note, cell.note),
                        }
                    )
                    counts["written"] += 1

    def annotate(self, table: str, row: str, column: str, note: str) -> None:
        for record in self.records:
            if (record["table"], record["row"], record["column"]) == (table, row, column):
                record["note"] = _join(record["note"], note)

    def csv_text(self) -> str:
        keys = [(r["table"], r["row"], r["column"], r["statistic"]) for r in self.records]
        duplicated = {k for k in keys if keys.count(k) > 1}
        if duplicated:
            raise MtaalError(
                f"{self.paper}: one (table, row, column, statistic) twice: {sorted(duplicated)[:3]}"
            )
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n")
        writer.writeheader()
        for record in self.records:
            writer.writerow({**record, "ablation_fraction": f"{record['ablation_fraction']:g}"})
        return out.getvalue()


# MTAAL (Zhou et al., AAAI 2021) ---------------------------------------------------------------------

MTAAL_LAYOUTS = {
    "Table 1": Layout(header_rows=1, label_cols=1),
    "Table 2": Layout(header_rows=2, label_cols=1),
    "Table 3": Layout(header_rows=2, label_cols=1),
    "Table 4": Layout(header_rows=1, label_cols=2, groups=("NCBI", "BC5CDR")),
}
MTAAL_DATASETS = {"NCBI": "ncbi_disease", "BC5CDR": "bc5cdr"}
MTAAL_EMBEDDINGS = {"w": "word2vec", "g": "glove"}
MTAAL_STRATEGIES = {"LC": "lc", "Entropy": "entropy", "Random": "random", "MTAAL": "diversity"}
MTAAL_TABLE1 = {  # item -> (metric, split, note)
    "vocabulary size": (
        "vocabulary_size",
        "all",
        "the paper does not say how words are counted (case, test data)",
    ),
    "# medical abstracts": ("abstracts", "all", ""),
    "# entities": ("entities", "all", "annotated entity mentions"),
    "# NER labels": ("ner_labels", "all", "NER tag set size (IOB tags per entity type and O)"),
    "# NEN labels": (
        "nen_labels",
        "all",
        "NEN label set size (concept identifiers); the paper does not say whether O is counted",
    ),
    "# initial labeled samples": ("sentences", "labeled", "samples are sentences (paper: Datasets)"),
    "# unlabeled samples": ("sentences", "unlabeled", "samples are sentences (paper: Datasets)"),
    "# test samples": ("sentences", "test", "samples are sentences (paper: Datasets)"),
}
MTAAL_TABLE4_METRICS = {
    "# words": "distinct_words",
    "# ent.": "entity_mentions",
    "% sample w/ ent.": "sentences_with_entity_pct",
}
RELEASE_NOTES = {
    "NER": "release metric: F1 averaged over test batches of 32, last partial batch dropped",
    "NEN": "release metric: token accuracy with O tokens included (printed as F1)",
}


def mtaal_prose_counts(path: Path) -> dict[tuple[str, str], tuple[int, str]]:
    """(dataset column, Table 1 item) -> (number, line) for the corpus sizes the Datasets prose states."""
    lines = path.read_text(encoding="utf-8").splitlines()
    patterns = {
        "NCBI": r"\*\*NCBI\*\* dataset .*? contains (\d+) public medical abstracts\. There are (\d+) ",
        "BC5CDR": r"\*\*BC5CDR\*\* dataset .*? consists of (\d+) public medical abstracts\. And (\d+) ",
    }
    counts = {}
    for column, pattern in patterns.items():
        for number, line in enumerate(lines, start=1):
            found = re.search(pattern, line)
            if found:
                counts[(column, "# medical abstracts")] = (int(found[1]), f"line {number}")
                counts[(column, "# entities")] = (int(found[2]), f"line {number}")
                break
        else:
            raise MtaalError(f"{path}: expected the Datasets prose on {column} ({pattern!r}), not found")
    return counts


def mtaal_transcript(path: Path) -> Transcript:
    tables = parse_tables(path, MTAAL_LAYOUTS, caption="after")
    prose = mtaal_prose_counts(path)
    transcript = Transcript("mtaal")

    def table1(table: Table, row: Row, column: str) -> Cell:
        if row.label not in MTAAL_TABLE1:
            raise MtaalError(
                f"{path}:{row.line}: expected an item of {list(MTAAL_TABLE1)}, found {row.label!r}"
            )
        metric, split, note = MTAAL_TABLE1[row.label]
        stated = prose.get((column, row.label))
        value = int(row.cells[table.columns.index(column)])
        if stated and stated[0] != value:
            note = _join(note, f"paper inconsistency: the Datasets prose ({stated[1]}) says {stated[0]}")
        return Cell(dataset=MTAAL_DATASETS[column], split=split, metric=metric, note=note)

    def scores(table: Table, row: Row, column: str) -> Cell:
        found = re.fullmatch(r"(LC|Entropy|Random|MTAAL)\+([wg])", row.label)
        dataset = re.search(r" on (NCBI|BC5CDR)\.", table.caption)
        queries = re.search(r"after (\d+) queries", table.caption)
        if not (found and dataset and queries and column in ("ST / NER", "ST / NEN", "MT / NER", "MT / NEN")):
            raise MtaalError(
                f"{path}:{row.line}: {table.name}: expected rows like 'LC+w', columns ST|MT / NER|NEN and a "
                f"caption naming the dataset and the query count, found {row.label!r}, {column!r}"
            )
        strategy = MTAAL_STRATEGIES[found[1]]
        scope, task = column.split(" / ")
        if scope == "ST":
            setting = f"stl_{task.lower()}-{strategy}"
            scope_note = ""
        elif found[1] == "MTAAL":
            setting, scope_note = "mtaal", ""
        else:
            setting, scope_note = (
                f"mtl-{strategy}",
                "MT baseline without the task discriminator (paper: Results)",
            )
        metric = "release_ner_f1_batch_mean" if task == "NER" else "release_nen_token_accuracy_batch_mean"
        return Cell(
            dataset=MTAAL_DATASETS[dataset[1]],
            setting=setting,
            model=MTAAL_EMBEDDINGS[found[2]],
            metric=metric,
            note=_join(RELEASE_NOTES[task], f"after {queries[1]} queries (caption)", scope_note),
        )

    def table4(table: Table, row: Row, column: str) -> Cell:
        strategy = MTAAL_STRATEGIES.get(row.label)
        if strategy is None or column not in MTAAL_TABLE4_METRICS:
            raise MtaalError(f"{path}:{row.line}: Table 4: unexpected row {row.row!r} or column {column!r}")
        printed = row.cells[table.columns.index(column)]
        return Cell(
            dataset=MTAAL_DATASETS[row.group],
            setting="mtaal" if strategy == "diversity" else f"mtl-{strategy}",
            split="unlabeled",
            metric=MTAAL_TABLE4_METRICS[column],
            note=_join(
                "the 1000 sentences queried from the unlabeled pool (10 queries of 100), mean and std over 5 "
                "repeats (paper: Case Study); the paper does not say whether the baselines use the task "
                "discriminator",
                "value in percent, as printed" if column.startswith("%") else "",
                f"cell printed {printed!r}",
            ),
        )

    transcript.add(path, tables["Table 1"], table1)
    transcript.add(path, tables["Table 2"], scores)
    transcript.add(path, tables["Table 3"], scores)
    transcript.add(path, tables["Table 4"], table4)
    table4_prose_notes(path, tables["Table 4"], transcript)
    return transcript


def table4_prose_notes(path: Path, table: Table, transcript: Transcript) -> None:
    """The Case Study says Random is the least diverse strategy: note each mean below Random's."""
    quote = "Random strategy performs worst in the diversity of query samples."
    line = prose_line(path, quote)
    for column in table.columns:
        for row in table.rows:
            if row.label == "Random":
                continue
            mean = float(parse_cell(cell_text(table, row.row, column))[0][1])
            random = parse_cell(cell_text(table, f"{row.group} / Random", column))[0][1]
            if mean < float(random):
                transcript.annotate(
                    table.name,
                    row.row,
                    column,
                    f"paper inconsistency: the Case Study (line {line}) says {quote[:-1]!r}, but Random's "
                    f"mean here is {random}",
                )


# Multitask (Rodriguez, Nguyen & McInnes, JBI 2022) --------------------------------------------------

GROUPS = {"CELL LINE": "cell_line", "CHEMICAL": "chemical", "GENE": "gene", "SPECIES": "species"}
TASK_SUFFIX = {"CELL LINE": "cellline", "CHEMICAL": "chemical", "GENE": "gene", "SPECIES": "species"}
CORPUS_NAMES = {"LINNEAUS": "linnaeus"}  # printed misspelt
MULTITASK_LAYOUTS = {
    "Table 1": Layout(header_rows=2, label_cols=2, groups=tuple(GROUPS)),
    "Table 2": Layout(header_rows=2, label_cols=2, groups=tuple(GROUPS)),
    "Table 3": Layout(header_rows=2, label_cols=2, groups=tuple(GROUPS)),
    "Table 4": Layout(header_rows=2, label_cols=2, groups=tuple(GROUPS)),
    "Table 5": Layout(header_rows=2, label_cols=2, groups=tuple(GROUPS)),
    "Table 6": Layout(header_rows=2, label_cols=2, groups=tuple(GROUPS)),
    "Table 7": Layout(header_rows=2, label_cols=2, groups=tuple(GROUPS), periodic_header=True),
    "Table 8": Layout(header_rows=2, label_cols=1),
}
WORD_METRICS = {"F_1": "word_io_f1", "Precision": "word_io_precision", "Recall": "word_io_recall"}
ENTITY_METRICS = {"F1": "entity_f1", "Precision": "entity_precision", "Recall": "entity_recall"}
THIRD_PARTIES = {
    "No PT": "Weber et al. 2020 (No PT)",
    "GSPT": "Weber et al. 2020 (GSPT)",
    "SSPT": "Weber et al. 2020 (SSPT)",
    "[13]": "Zuo et al. 2020 [13]",
    "[2]": "Peng et al. 2020 [2]",
}
WORD_NOTE = "word-level IO metric: B-/I- stripped, entity vs O per word (last subword's label)"
SWAP_NOTE = (
    "the authors' code passes seqeval (predictions, gold) swapped, so printed precision and recall are "
    "probably exchanged"
)
ENTITY_NOTE = "entity mention level: B then I labels, exact boundaries (paper 7.5)"
THIRD_PARTY_NOTES = {
    "Table 7": "as reported by {system}, on HUNER's test split (the paper uses the same partitioning, "
    "Section 5)",
    "Table 8": "as reported by {system}; its data and splits may differ (paper 7.5: 'the tasks and data "
    "sources utilized in the frameworks vary')",
}
TEST_ASSUMED = "test split assumed: the paper does not name the split of this table"


def huner_datasets(repo: Path = REPO) -> set[str]:
    datasets = yaml.safe_load((repo / "config" / "corpora.yaml").read_text(encoding="utf-8"))["datasets"]
    return {name for name, entry in datasets.items() if entry.get("paper") == "huner"}


def multitask_transcript(path: Path) -> Transcript:
    tables = parse_tables(path, MULTITASK_LAYOUTS, caption="before")
    known = huner_datasets()
    transcript = Transcript("multitask")

    def dataset(row: Row) -> str:
        if row.label.upper().startswith("OVERALL"):
            return "group:all"
        if row.label in ("average", "STL average"):
            return f"group:{GROUPS[row.group]}"
        name = f"{CORPUS_NAMES.get(row.label, row.label.lower())}_{TASK_SUFFIX[row.group]}"
        if name not in known:
            raise MtaalError(
                f"{path}:{row.line}: row {row.row!r} names no HUNER dataset of config/corpora.yaml"
            )
        return name

    def experiment(row: Row, default: str) -> str:
        if row.label == "STL average" or row.label == "OVERALL STL AVERAGE":
            return "stl"
        return default

    def table1(table: Table, row: Row, column: str) -> Cell:
        if column == "Type":
            return Cell(
                dataset=dataset(row),
                split="all",
                metric="document_type",
                note="first letter Article/Patent, second Abstract/Full-text (paper Section 5)",
            )
        kind, split = column.split(" / ")
        return Cell(dataset=dataset(row), split=split.lower(), metric=f"mentions_{kind.lower()}")

    def word_table(default: str, table_note: Callable[[Row, str], str] | None = None) -> Describe:
        def describe(table: Table, row: Row, column: str) -> Cell:
            top, _, sub = column.partition(" / ")
            cell = Cell(dataset=dataset(row), setting=experiment(row, default), model="biobert")
            if top == "Epoch":
                cell.metric, cell.split = "best_epoch", "dev"
                cell.note = (
                    "the epoch (of 20) with the highest dev F_1; the paper does not say if it counts from 0"
                )
                return cell
            if top == "Ablation amount":
                cell.ablation_fraction = float(sub)
                if default == "finetune":
                    cell.setting = "finetune"
                    cell.note = (
                        "STL model started from the MTL encoder trained without this entity group (entity "
                        "ablation), trained on the task with this fraction of its training data removed"
                    )
                cell.metric = "word_io_f1"
            elif top in ("STL", "MTL"):  # Table 6's reference columns
                cell.setting, cell.metric = top.lower(), "word_io_f1"
                cell.note = f"reference column, as Table {'2' if top == 'STL' else '3'} F_1 / TEST"
            elif sub == "STL":  # Table 3's F_1 / STL
                cell.setting, cell.metric = "stl", WORD_METRICS[top]
                cell.note = "reference column, as Table 2 F_1 / TEST"
            else:
                cell.metric, cell.split = WORD_METRICS[top], sub.lower()
            cell.note = _join(WORD_NOTE, cell.note, table_note(row, column) if table_note else "")
            return cell

        return describe

    footnote = prose_line(path, "The scores for 0.0 ablation differ slightly from Tables 2 and 3")

    def full_data_note(row: Row, column: str, reference: str) -> str:
        """Footnote 1 says the 0.00 column comes from separate runs; compare with the Table it names."""
        if column != "Ablation amount / 0.00":
            return ""
        same_row = "OVERALL AVERAGE" if row.label.startswith("OVERALL") else row.row
        printed = cell_text(tables[reference], same_row, "F_1 / TEST")
        ours = row.cells[tables["Table 4" if reference == "Table 2" else "Table 5"].columns.index(column)]
        same = "equals" if printed == ours else "differs from"
        note = f"separate runs from {reference} (footnote 1, line {footnote}); {same} {reference} F_1 / TEST"
        if printed != ours:
            note += f" ({printed})"
        elif reference == "Table 3":
            note = (
                f"paper inconsistency: footnote 1 (line {footnote}) says the 0.0 ablation scores come from "
                f"separate runs and differ from Tables 2 and 3, but this cell equals {reference} F_1 / TEST"
            )
        return note

    def table4_note(row: Row, column: str) -> str:
        return _join(
            "split: test assumed (the paper does not name it)", full_data_note(row, column, "Table 2")
        )

    def table5_note(row: Row, column: str) -> str:
        if experiment(row, "mtl") == "stl":
            return _join("split: test assumed (the paper does not name it)", "as Table 4's average row")
        return _join(
            "split: test assumed (the paper does not name it)", full_data_note(row, column, "Table 3")
        )

    def entity_table(table: Table, row: Row, column: str) -> Cell:
        top, sub = column.split(" / ")
        if sub in THIRD_PARTIES:
            cell = Cell(
                system=THIRD_PARTIES[sub], dataset=table_dataset(table, row), metric=ENTITY_METRICS[top]
            )
            cell.note = THIRD_PARTY_NOTES[table.name].format(system=THIRD_PARTIES[sub])
            return cell
        cell = Cell(
            dataset=table_dataset(table, row),
            setting=sub.lower(),
            model="biobert",
            metric=ENTITY_METRICS[top],
        )
        cell.note = _join(ENTITY_NOTE, SWAP_NOTE if top != "F1" else "", TEST_ASSUMED)
        if table.name == "Table 8":
            cell.note = _join(cell.note, "as Table 7")
        return cell

    table8_datasets = match_table8(path, tables["Table 7"], tables["Table 8"], dataset)

    def table_dataset(table: Table, row: Row) -> str:
        if table.name == "Table 8":
            return table8_datasets[row.label][0]
        return dataset(row)

    def table8(table: Table, row: Row, column: str) -> Cell:
        cell = entity_table(table, row, column)
        cell.note = _join(cell.note, table8_datasets[row.label][1])
        return cell

    transcript.add(path, tables["Table 1"], table1)
    transcript.add(path, tables["Table 2"], word_table("stl"))
    transcript.add(path, tables["Table 3"], word_table("mtl"))
    transcript.add(path, tables["Table 4"], word_table("stl", table4_note))
    transcript.add(path, tables["Table 5"], word_table("mtl", table5_note))
    transcript.add(
        path, tables["Table 6"], word_table("finetune", lambda row, column: "split: test (paper 7.4)")
    )
    transcript.add(path, tables["Table 7"], entity_table)
    transcript.add(path, tables["Table 8"], table8)
    table8_prose_notes(path, tables["Table 8"], transcript)
    return transcript


def table8_prose_notes(path: Path, table: Table, transcript: Transcript) -> None:
    """Section 7.5: "our MTL model obtained higher Precision, Recall and F_1 scores except for BC2GM. In
    this case, Peng, et al. report higher scores": note each cell that says otherwise."""
    claim = "our MTL model obtained higher Precision, Recall and F_1 scores except for BC2GM"
    line = prose_line(path, claim)
    prose_line(path, "In this case, Peng, et al. report higher scores than our MTL results")
    for row in table.rows:
        for column in table.columns:
            top, sub = column.split(" / ")
            text = cell_text(table, row.row, column)
            if sub not in ("[13]", "[2]") or text == DASH:
                continue
            mtl = cell_text(table, row.row, f"{top} / MTL")
            if row.label != "BC2GM" and float(text) >= float(mtl):
                transcript.annotate(
                    table.name,
                    row.row,
                    column,
                    f"paper inconsistency: the prose (line {line}) says {claim!r}, but MTL prints {mtl} here",
                )
            if row.label == "BC2GM" and sub == "[13]" and float(text) > float(mtl):
                transcript.annotate(
                    table.name,
                    row.row,
                    column,
                    f"paper inconsistency: the prose (line {line}) attributes BC2GM's higher scores to Peng "
                    f"et al. [2], but they are printed in the [13] (Zuo et al.) column; [2] prints "
                    f"{cell_text(table, row.row, f'{top} / [2]')} for BC2GM",
                )


def match_table8(
    path: Path, table7: Table, table8: Table, dataset: Callable[[Row], str]
) -> dict[str, tuple[str, str]]:
    """Table 8's printed dataset -> (our dataset, note): the Table 7 row of that name; where several
    (JNLPBA: cell line and gene), the one whose MTL and STL cells Table 8 repeats."""
    ours = [i for i, c in enumerate(table8.columns) if c.split(" / ")[1] in ("MTL", "STL")]
    out = {}
    for row8 in table8.rows:
        candidates = [r for r in table7.rows if r.label == row8.label]
        if len(candidates) > 1:
            same = [
                r
                for r in candidates
                if all(r.cells[table7.columns.index(table8.columns[i])] == row8.cells[i] for i in ours)
            ]
            if len(same) != 1:
                raise MtaalError(
                    f"{path}:{row8.line}: Table 8 row {row8.label!r}: expected exactly one Table 7 row of "
                    f"that name with the same MTL and STL cells, found {len(same)}"
                )
            groups = ", ".join(r.group.lower() for r in candidates)
            note = (
                f"the paper does not say which {row8.label} task ({groups}); {same[0].group.lower()} is the "
                "only one whose Table 7 MTL and STL cells Table 8 repeats"
            )
            out[row8.label] = (dataset(same[0]), note)
        elif candidates:
            out[row8.label] = (dataset(candidates[0]), "")
        else:
            raise MtaalError(f"{path}:{row8.line}: Table 8 row {row8.label!r}: expected a Table 7 dataset")
    return out


# ----------------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mtaal-paper", type=Path, default=MTAAL_PAPER)
    parser.add_argument("--multitask-paper", type=Path, default=MULTITASK_PAPER)
    parser.add_argument("--out", type=Path, default=REPO / "config" / "reported")
    args = parser.parse_args(argv)
    try:
        for paper in (args.mtaal_paper, args.multitask_paper):
            if not paper.is_file():
                raise MtaalError(f"{paper}: paper text not found (expected the file of ../shared/papers/)")
        transcripts = [mtaal_transcript(args.mtaal_paper), multitask_transcript(args.multitask_paper)]
        texts = [t.csv_text() for t in transcripts]  # everything checked before anything is written
    except MtaalError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    for transcript, text in zip(transcripts, texts, strict=True):
        target = args.out / f"{transcript.paper}.csv"
        write_text(text, target)
        for name, counts in transcript.summary.items():
            print(
                f"{transcript.paper} {name}: {counts['written']} cells written, {counts['dashes']} dashes "
                f"skipped, {counts['empty']} empty cells"
            )
        print(f"wrote {target} ({len(transcript.records)} cells)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
