"""Reader output -> the tidy tables every later stage reads.

Per dataset: ``documents`` (doc_id, split, text), ``mentions`` (doc_id, start, end, text, entity_type,
concept_ids, in_tokens), ``tokens`` (doc_id, split, sentence, position, token, start, end, tag,
concept_id) and ``problems`` (doc_id, kind, action, entity_type, start, end, detail).

Annotation rules, applied in this order (each case is a ``problems`` row; nothing vanishes silently):
1. ``out_of_range``: offsets outside the text or empty -> dropped.
2. ``text_mismatch``: stated text differs from the slice. If the stated text occurs within
   ``SEARCH_WINDOW`` characters, the mention moves there (``moved``); if it differs only in whitespace it is
   kept (``kept``); otherwise dropped.
3. ``discontinuous``: replaced by its covering span (first fragment start to last fragment end).
4. ``duplicate``: same span and type twice -> merged (concept ids united).
5. Overlapping or nested mentions cannot all be IOB2-tagged: the longest wins (ties: earlier start, then
   type name); the others stay in ``mentions`` with ``in_tokens`` false
   (``nested``/``overlap``, ``not_tagged``).
6. ``crosses_sentence``: a mention cut by a sentence boundary the source fixed: each part is tagged from B.
7. ``no_tokens``: a mention covering no word characters -> not tagged.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import pyarrow as pa

from mtaal.corpora.model import Document, Mention, Problem
from mtaal.corpora.text import split_sentences, tokenize

SEARCH_WINDOW = 20
SPLITS = ("train", "dev", "test")

DOCUMENTS_SCHEMA = pa.schema([("doc_id", pa.string()), ("split", pa.string()), ("text", pa.string())])
MENTIONS_SCHEMA = pa.schema(
    [
        ("doc_id", pa.string()),
        ("start", pa.int32()),
        ("end", pa.int32()),
        ("text", pa.string()),
        ("entity_type", pa.string()),
        ("concept_ids", pa.list_(pa.string())),
        ("in_tokens", pa.bool_()),
    ]
)
TOKENS_SCHEMA = pa.schema(
    [
        ("doc_id", pa.string()),
        ("split", pa.string()),
        ("sentence", pa.int32()),
        ("position", pa.int32()),
        ("token", pa.string()),
        ("start", pa.int32()),
        ("end", pa.int32()),
        ("tag", pa.string()),
        ("concept_id", pa.string()),
    ]
)
PROBLEMS_SCHEMA = pa.schema(
    [
        ("doc_id", pa.string()),
        ("kind", pa.string()),
        ("action", pa.string()),
        ("entity_type", pa.string()),
        ("start", pa.int32()),
        ("end", pa.int32()),
        ("detail", pa.string()),
    ]
)


@dataclass
class DatasetTables:
    documents: pa.Table
    mentions: pa.Table
    tokens: pa.Table
    problems: pa.Table


@dataclass
class _Columns:
    """Column-wise accumulation: far faster than building one dict per token."""

    names: Sequence[str]
    data: dict[str, list] = field(init=False)

    def __post_init__(self) -> None:
        self.data = {name: [] for name in self.names}

    def add(self, *values: object) -> None:
        for name, value in zip(self.names, values, strict=True):
            self.data[name].append(value)

    def table(self, schema: pa.Schema) -> pa.Table:
        return pa.table({name: pa.array(self.data[name], schema.field(name).type) for name in self.names})


def assign_splits(
    documents: Iterable[Document],
    scheme: str,
    split_lists: Mapping[str, Iterable[str]] | None = None,
) -> tuple[list[tuple[Document, str]], list[Problem]]:
    """Documents with their split: ``release`` keeps the release's subset, ``huner`` looks ids up.

    Documents outside every split list are excluded (a ``not_in_split`` problem each); split-list ids with no
    document are reported as ``missing_document``. A doc id seen twice keeps its first copy.
    """
    problems: list[Problem] = []
    lookup: dict[str, str] = {}
    if scheme == "huner":
        if split_lists is None:
            raise ValueError("the huner split scheme needs split lists")
        for split, ids in split_lists.items():
            for doc_id in ids:
                lookup[doc_id] = split
    elif scheme != "release":
        raise ValueError(f"unknown split scheme {scheme!r}")
    assigned: list[tuple[Document, str]] = []
    seen: set[str] = set()
    for document in documents:
        if document.doc_id in seen:
            problems.append(Problem(document.doc_id, "duplicate_document", "second copy excluded"))
            continue
        seen.add(document.doc_id)
        split = document.subset if scheme == "release" else lookup.get(document.doc_id)
        if split is None:
            kind = "no_subset" if scheme == "release" else "not_in_split"
            problems.append(Problem(document.doc_id, kind, "document excluded"))
            continue
        assigned.append((document, split))
    for doc_id in sorted(set(lookup) - seen):
        problems.append(Problem(doc_id, "missing_document", f"in split list {lookup[doc_id]!r} only"))
    return assigned, problems


def build_tables(
    assigned: Sequence[tuple[Document, str]],
    entity_types: Mapping[str, str],
    split_problems: Sequence[Problem] = (),
) -> DatasetTables:
    """Validate, resolve and tokenize; ``entity_types`` maps source type names to canonical ones."""
    documents = _Columns(DOCUMENTS_SCHEMA.names)
    mentions = _Columns(MENTIONS_SCHEMA.names)
    tokens = _Columns(TOKENS_SCHEMA.names)
    problems = _Columns(PROBLEMS_SCHEMA.names)
    for problem in split_problems:
        _add_problem(problems, problem, "excluded" if problem.kind != "missing_document" else "none")
    for document, split in assigned:
        documents.add(document.doc_id, split, document.text)
        for problem in document.problems:
            _add_problem(problems, problem, "dropped")
        typed = [
            _retype(m, entity_types[m.entity_type])
            for m in document.mentions
            if m.entity_type in entity_types
        ]
        valid = _validate(document, typed, problems)
        tagged, untagged = _resolve(document.doc_id, valid, problems)
        for mention in sorted(tagged + untagged, key=lambda m: (m.start, m.end, m.entity_type)):
            mentions.add(
                document.doc_id,
                mention.start,
                mention.end,
                document.text[mention.start : mention.end],
                mention.entity_type,
                list(mention.concept_ids),
                mention in tagged,
            )
        _tokenize_document(document, split, tagged, tokens, problems)
    return DatasetTables(
        documents.table(DOCUMENTS_SCHEMA),
        mentions.table(MENTIONS_SCHEMA),
        tokens.table(TOKENS_SCHEMA),
        problems.table(PROBLEMS_SCHEMA),
    )


def _retype(mention: Mention, entity_type: str) -> Mention:
    return Mention(
        mention.start, mention.end, entity_type, mention.text, mention.concept_ids, mention.fragments
    )


def _add_problem(columns: _Columns, problem: Problem, action: str) -> None:
    columns.add(
        problem.doc_id, problem.kind, action, problem.entity_type, problem.start, problem.end, problem.detail
    )


def _validate(document: Document, mentions: list[Mention], problems: _Columns) -> list[Mention]:
    text = document.text
    valid: list[Mention] = []
    for mention in mentions:
        doc_id, start, end = document.doc_id, mention.start, mention.end
        if not 0 <= start < end <= len(text):
            problems.add(
                doc_id, "out_of_range", "dropped", mention.entity_type, start, end, f"text length {len(text)}"
            )
            continue
        if mention.fragments:
            problems.add(
                doc_id,
                "discontinuous",
                "covering_span",
                mention.entity_type,
                start,
                end,
                repr(mention.fragments),
            )
            mention = Mention(start, end, mention.entity_type, None, mention.concept_ids)
        elif mention.text is not None and text[start:end] != mention.text:
            fixed = _fix_text(text, mention)
            detail = f"stated {mention.text!r}, slice {text[start:end]!r}"
            if fixed is None:
                problems.add(doc_id, "text_mismatch", "dropped", mention.entity_type, start, end, detail)
                continue
            action = "kept" if fixed == (start, end) else "moved"
            problems.add(doc_id, "text_mismatch", action, mention.entity_type, start, end, detail)
            mention = Mention(fixed[0], fixed[1], mention.entity_type, None, mention.concept_ids)
        valid.append(mention)
    return valid


def _fix_text(text: str, mention: Mention) -> tuple[int, int] | None:
    stated = mention.text or ""
    if " ".join(stated.split()) == " ".join(text[mention.start : mention.end].split()):
        return mention.start, mention.end
    low = max(0, mention.start - SEARCH_WINDOW)
    candidates = []
    position = text.find(stated, low, mention.end + SEARCH_WINDOW + len(stated))
    while position != -1:
        candidates.append(position)
        position = text.find(stated, position + 1, mention.end + SEARCH_WINDOW + len(stated))
    if not candidates or not stated:
        return None
    best = min(candidates, key=lambda p: abs(p - mention.start))
    return best, best + len(stated)


def _resolve(doc_id: str, mentions: list[Mention], problems: _Columns) -> tuple[list[Mention], list[Mention]]:
    merged: dict[tuple[int, int, str], Mention] = {}
    for mention in mentions:
        key = (mention.start, mention.end, mention.entity_type)
        if key in merged:
            first = merged[key]
            concepts = tuple(dict.fromkeys(first.concept_ids + mention.concept_ids))
            merged[key] = Mention(first.start, first.end, first.entity_type, None, concepts)
            problems.add(doc_id, "duplicate", "merged", mention.entity_type, mention.start, mention.end, "")
        else:
            merged[key] = mention
    # Longest first, then earlier start, then type name: the deterministic winner of any overlap.
    ranked = sorted(merged.values(), key=lambda m: (m.start - m.end, m.start, m.entity_type))
    tagged: list[Mention] = []
    untagged: list[Mention] = []
    for mention in ranked:
        blocker = next((t for t in tagged if t.start < mention.end and mention.start < t.end), None)
        if blocker is None:
            tagged.append(mention)
            continue
        nested = blocker.start <= mention.start and mention.end <= blocker.end
        detail = f"inside {blocker.entity_type} {blocker.start}-{blocker.end}"
        problems.add(
            doc_id,
            "nested" if nested else "overlap",
            "not_tagged",
            mention.entity_type,
            mention.start,
            mention.end,
            detail,
        )
        untagged.append(mention)
    tagged.sort(key=lambda m: m.start)
    return tagged, untagged


def _tokenize_document(
    document: Document, split: str, tagged: list[Mention], tokens: _Columns, problems: _Columns
) -> None:
    text, doc_id = document.text, document.doc_id
    spans = [(m.start, m.end) for m in tagged]
    sentences = document.sentences if document.sentences is not None else split_sentences(text, spans)
    boundaries = sorted({offset for span in spans for offset in span})
    covered = [0] * len(tagged)
    crossing: set[int] = set()
    index = 0
    for sentence_index, (sentence_start, sentence_end) in enumerate(sentences):
        previous_mention = -1
        for position, (start, end) in enumerate(tokenize(text, sentence_start, sentence_end, boundaries)):
            while index < len(tagged) and tagged[index].end <= start:
                index += 1
            tag, concept = "O", None
            if index < len(tagged) and tagged[index].start <= start:
                mention = tagged[index]
                inside = "I" if previous_mention == index else "B"
                if inside == "B" and covered[index]:
                    crossing.add(index)
                covered[index] += 1
                tag = f"{inside}-{mention.entity_type}"
                concept = "|".join(mention.concept_ids) or None
                previous_mention = index
            else:
                previous_mention = -1
            tokens.add(doc_id, split, sentence_index, position, text[start:end], start, end, tag, concept)
    for mention_index, mention in enumerate(tagged):
        if not covered[mention_index]:
            problems.add(
                doc_id, "no_tokens", "not_tagged", mention.entity_type, mention.start, mention.end, ""
            )
        elif mention_index in crossing:
            problems.add(
                doc_id,
                "crosses_sentence",
                "tagged_per_sentence",
                mention.entity_type,
                mention.start,
                mention.end,
                "",
            )
