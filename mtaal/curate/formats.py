"""The files of one query batch: CoNLL and brat pre-annotated with the model's predictions, and a ranking.

``NAME.conll``: per sentence ``# sentence_id``, ``# doc_id``, ``# rank``, ``# score`` comments, then
``token<TAB>tag[<TAB>concept id]`` lines (``-`` for no concept), a blank line after each sentence.
``NAME.txt`` / ``NAME.ann``: brat standoff, one sentence per line in rank order; ``T`` lines for the
predicted mentions and ``N`` lines for their concept ids. ``ranking.tsv``: rank, sentence_id, doc_id,
score, text. Each file reads back with ``mtaal add-labels`` as written (the CoNLL by sentence id, the
brat pair by sentence text).
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

from mtaal.active.metrics import iob2_mentions
from mtaal.io import write_text

NONE = "-"


def conll_text(rows: list[dict], predictions: list[tuple[list[str], list[str | None]]],
               scores: list[float | None], with_concepts: bool) -> str:
    lines: list[str] = []
    for rank, (row, (tags, concepts), score) in enumerate(zip(rows, predictions, scores, strict=True), 1):
        lines += [f"# sentence_id = {row['sentence_id']}", f"# doc_id = {row['doc_id']}", f"# rank = {rank}",
                  f"# score = {'' if score is None else f'{score:.6g}'}"]
        for token, tag, concept in zip(row["tokens"], tags, concepts, strict=True):
            lines.append(f"{token}\t{tag}\t{concept or NONE}" if with_concepts else f"{token}\t{tag}")
        lines.append("")
    return "\n".join(lines) + "\n"


def brat_texts(rows: list[dict], predictions: list[tuple[list[str], list[str | None]]],
               with_concepts: bool) -> tuple[str, str]:
    text_parts, ann, offset, t_n, n_n = [], [], 0, 0, 0
    for row, (tags, concepts) in zip(rows, predictions, strict=True):
        for start, end, entity_type in iob2_mentions(tags):
            begin, stop = offset + row["starts"][start], offset + row["ends"][end - 1]
            t_n += 1
            ann.append(f"T{t_n}\t{entity_type} {begin} {stop}\t{row['text'][begin - offset : stop - offset]}")
            if with_concepts and concepts[start] is not None:
                n_n += 1
                ann.append(f"N{n_n}\tReference T{t_n} {concepts[start]}\t{concepts[start]}")
        text_parts.append(row["text"])
        offset += len(row["text"]) + 1
    return "\n".join(text_parts) + "\n", "".join(f"{line}\n" for line in ann)


def ranking_text(rows: list[dict], scores: list[float | None]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter="\t", lineterminator="\n")
    writer.writerow(["rank", "sentence_id", "doc_id", "score", "text"])
    for rank, (row, score) in enumerate(zip(rows, scores, strict=True), 1):
        writer.writerow([rank, row["sentence_id"], row["doc_id"], "" if score is None else f"{score:.6g}",
                         " ".join(row["text"].split())])
    return buffer.getvalue()


def write_batch(folder: Path, name: str, rows: list[dict],
                predictions: list[tuple[list[str], list[str | None]]], scores: list[float | None],
                with_concepts: bool) -> list[Path]:
    folder = Path(folder)
    text, ann = brat_texts(rows, predictions, with_concepts)
    files = {f"{name}.conll": conll_text(rows, predictions, scores, with_concepts), f"{name}.txt": text,
             f"{name}.ann": ann, "ranking.tsv": ranking_text(rows, scores)}
    for file, content in files.items():
        write_text(content, folder / file)
    return [folder / file for file in files]
