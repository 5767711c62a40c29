"""The curator commands behind ``mtaal init / add-text / add-labels / train / query / status``."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa

from mtaal.curate import learn
from mtaal.curate.importers import (
    LabelContext,
    document_sentences,
    parse_type_map,
    read_label_files,
    read_text_file,
)
from mtaal.curate.project import LABEL_SCHEMA, SENTENCE_SCHEMA, Project, ProjectError
from mtaal.errors import CorpusFormatError

DOCUMENTS_PER_BATCH = 2000  # add-text sentence-splits and writes this many documents at a time


def init(root: Path, entity_types: Sequence[str], concepts: bool | str | Path = False) -> Project:
    return Project.init(root, entity_types, concepts)


def add_text(project: Project, paths: Iterable[Path], fmt: str = "auto", one_per_line: bool = False
             ) -> dict[str, Any]:
    """Sentence-split, tokenize and deduplicate documents into the pool (nothing written on an error)."""
    with project.lock("add-text"):
        return _add_text(project, [Path(p) for p in paths], fmt, one_per_line)


def _add_text(project: Project, paths: list[Path], fmt: str, one_per_line: bool) -> dict[str, Any]:
    documents, ignored, origin = [], 0, {}
    for path in paths:
        found, skipped = read_text_file(path, fmt, one_per_line)
        for document in found:
            if document.doc_id in origin:
                raise CorpusFormatError(path, None, f"each document id once; {document.doc_id} is also in "
                                        f"{origin[document.doc_id]}")
            origin[document.doc_id] = path
        documents += found
        ignored += skipped
    index = project.sentence_index()
    keys = {key for key, _ in index.values()}
    duplicates = 0
    # Sentence-split and write DOCUMENTS_PER_BATCH documents at a time: memory follows the batch, not the
    # import; the part appears only once every batch is written.
    with project.part_writer("sentences", SENTENCE_SCHEMA) as part:
        for start in range(0, len(documents), DOCUMENTS_PER_BATCH):
            sentences, _ = document_sentences(documents[start : start + DOCUMENTS_PER_BATCH])
            kept = []
            for sentence in sentences:
                if sentence.key in keys:
                    duplicates += 1
                    continue
                if sentence.sentence_id in index:
                    raise CorpusFormatError(origin[sentence.doc_id], None, f"a new document id: document "
                                            f"{sentence.doc_id} is already in the project with other text")
                keys.add(sentence.key)
                kept.append(sentence.row())
            if kept:
                part.write(pa.Table.from_pylist(kept, schema=SENTENCE_SCHEMA))
    details = {"files": [str(p) for p in paths], "documents": len(documents), "sentences_added": part.rows,
               "duplicates_skipped": duplicates, "annotations_ignored": ignored,
               "part": str(part.path.relative_to(project.root)) if part.rows else None}
    project.log("add-text", details)
    return details


def add_labels(project: Project, paths: Iterable[Path], fmt: str = "auto", type_map: str | None = None
               ) -> dict[str, Any]:
    """Check every file, then label pool sentences (matched by id, else by text) or add new ones."""
    with project.lock("add-labels"):
        return _add_labels(project, [Path(p) for p in paths], fmt, type_map)


def _add_labels(project: Project, paths: list[Path], fmt: str, type_map: str | None) -> dict[str, Any]:
    context = LabelContext(project.entity_types, project.concepts, project.concept_list(),
                           parse_type_map(type_map, project.entity_types))
    sentences, untagged = read_label_files(paths, context, fmt)
    index = project.sentence_index()
    by_key: dict[str, str] = {}
    for sid, (key, _) in index.items():
        by_key.setdefault(key, sid)
    labeled = set(project.labeled())
    queried = project.queried()
    rows, seen = [], set()
    counts = {"new": 0, "from_pool": 0, "relabeled": 0, "from_batches": 0, "duplicates_skipped": 0}
    for sentence in sentences:
        if sentence.explicit_id and sentence.sentence_id in index:
            if index[sentence.sentence_id][0] != sentence.key:
                raise CorpusFormatError(Path(sentence.source.rsplit(":", 1)[0]), _line(sentence.source),
                                        f"the tokens of sentence {sentence.sentence_id} as stored in the "
                                        "project (its text differs)", " ".join(sentence.tokens))
            final, doc_id = sentence.sentence_id, index[sentence.sentence_id][1]
        elif sentence.key in by_key:
            final = by_key[sentence.key]
            doc_id = index[final][1]
        elif sentence.sentence_id in index:
            raise CorpusFormatError(Path(sentence.source.rsplit(":", 1)[0]), _line(sentence.source),
                                    f"a new sentence id: {sentence.sentence_id} is already used by another "
                                    "sentence (rename the file or document)", " ".join(sentence.tokens))
        else:
            final, doc_id = sentence.sentence_id, sentence.doc_id
        if final in seen:
            counts["duplicates_skipped"] += 1
            continue
        seen.add(final)
        if final in labeled:
            counts["relabeled"] += 1
        elif final in index:
            counts["from_pool"] += 1
        else:
            counts["new"] += 1
        counts["from_batches"] += final in queried
        row = sentence.row()
        row.update(sentence_id=final, doc_id=doc_id)
        rows.append(row)
    part = project.write_part("labels", pa.Table.from_pylist(rows, schema=LABEL_SCHEMA)) if rows else None
    details = {"files": [str(p) for p in paths], "sentences": len(rows), **counts,
               "not_tagged": untagged, "sentence_ids": [r["sentence_id"] for r in rows],
               "part": None if part is None else str(part.relative_to(project.root))}
    project.log("add-labels", details)
    return details


def _line(source: str) -> int | None:
    tail = source.rsplit(":", 1)[-1]
    return int(tail) if tail.isdigit() else None


def train(project: Project, fresh: bool = False) -> dict[str, Any]:
    with project.lock("train"):
        return learn.train(project, fresh)


def query(project: Project, k: int, strategy: str | None = None) -> dict[str, Any]:
    with project.lock("query"):
        return learn.query(project, k, strategy)


def status(project: Project) -> dict[str, Any]:
    config = project.config()
    labeled = project.labeled()
    queried = project.queried()
    index = project.sentence_index()
    pool = learn.Pool(project, config["min_words"], config["max_words"], set(labeled) | set(queried))
    versions = project.model_versions()
    batches = project.events("query")
    pending = sorted(set(queried) - set(labeled))
    return {
        "project": str(project.root), "entity_types": project.entity_types, "concepts": project.concepts,
        "sentences": len(index), "labeled": len(labeled), "pool": len(pool), "batches": len(batches),
        "pending": len(pending), "model_version": versions[-1] if versions else None,
        "events": len(project.events()), "last_batch": batches[-1]["details"]["batch"] if batches else None,
        "history": [f"{e['seq']:>4} {e['time']} {e['user']} {e['command']} {_brief(e)}"
                    for e in project.events()],
    }


def _brief(event: dict[str, Any]) -> str:
    d = event["details"]
    command = event["command"]
    if command == "add-text":
        return f"+{d['sentences_added']} sentences ({d['duplicates_skipped']} duplicates)"
    if command == "add-labels":
        return (f"{d['sentences']} labeled ({d['from_pool']} from pool, {d['new']} new, "
                f"{d['relabeled']} corrected)")
    if command == "train":
        return f"model v{d['model_version']} on {d['labeled_count']} sentences" + (
            f" (fresh: {d['fresh']})" if d["fresh"] else "")
    if command == "query":
        return f"batch {d['batch']}: {d['k']} by {d['strategy']}, model v{d['scored_by_version']}"
    return ", ".join(f"{k}={v}" for k, v in d.items())


def render_status(summary: dict[str, Any]) -> str:
    model = summary["model_version"]
    lines = [
        f"project {summary['project']}: entity types {', '.join(summary['entity_types'])}"
        + (" + concept ids" if summary["concepts"] else ""),
        f"sentences {summary['sentences']}, labeled {summary['labeled']}, pool {summary['pool']} "
        f"(never queried), batches {summary['batches']}, awaiting labels {summary['pending']}",
        f"model {'v' + str(model) if model else 'none yet'}",
        "history:",
        *summary["history"],
    ]
    return "\n".join(lines)


__all__ = ["ProjectError", "add_labels", "add_text", "init", "query", "render_status", "status", "train"]
