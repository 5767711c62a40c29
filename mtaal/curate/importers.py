"""Reading a curator's files into sentences: raw text for the pool, annotated data for the labeled set.

Text (``add-text``): plain text (one document per file, or one per line), PubTator (annotation lines are
ignored and counted) or BioC XML. Labels (``add-labels``): CoNLL (``token<TAB>tag[<TAB>concept id]``,
IOB2, ``# sentence_id = ...`` comment lines as ``mtaal query`` writes them), PubTator or brat standoff
(``NAME.ann`` beside ``NAME.txt``).

Documents go through the workflow's own preprocessing (:func:`mtaal.corpora.tidy.build_tables`: the same
sentence splitter and tokenizer, mentions protected from sentence cuts and split out of words). Label
files are checked strictly first, and any error names the file, the line and the expected form: an entity
type the project does not have, broken IOB2 (``I-X`` not after ``B-X``/``I-X``), offsets outside the
text, mention text that differs from the text at its offsets, a concept id outside the project's concept
list. A command reads and checks every file before it writes anything, so a failing file imports nothing.
What IOB2 cannot hold (nested or overlapping mentions: the longest is tagged) is counted, not refused.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from mtaal.corpora.model import Document, Mention
from mtaal.corpora.readers.bioc import parse_bioc
from mtaal.corpora.readers.pubtator import concept_id_tuple, mention_fields, parse_pubtator
from mtaal.corpora.readers.standoff import (
    _BRAT_IGNORED,
    _BRAT_N_FORM,
    _BRAT_NORMALIZATION,
    _BRAT_T_FORM,
    _BRAT_TEXTBOUND,
)
from mtaal.corpora.tidy import build_tables
from mtaal.curate.project import text_key
from mtaal.errors import CorpusFormatError

TEXT_FORMATS = ("auto", "text", "pubtator", "bioc")
LABEL_FORMATS = ("auto", "conll", "pubtator", "brat")
NO_CONCEPT = ("", "-", "_", "O")
_PUBTATOR_TITLE = re.compile(r"[^|\s]+\|t\|")


@dataclass
class Sentence:
    """One sentence; ``tags`` / ``concepts`` only for labeled ones. Offsets are relative to ``text``."""

    sentence_id: str
    doc_id: str
    sentence: int
    text: str
    tokens: list[str]
    starts: list[int]
    ends: list[int]
    tags: list[str] | None = None
    concepts: list[str | None] | None = None
    source: str = ""  # file:line, for messages
    explicit_id: bool = False  # the file named the sentence id (CoNLL comment)

    @property
    def key(self) -> str:
        return text_key(self.text)

    def row(self) -> dict:
        out = {"sentence_id": self.sentence_id, "doc_id": self.doc_id, "sentence": self.sentence,
               "text": self.text, "tokens": self.tokens, "starts": self.starts, "ends": self.ends,
               "n_tokens": len(self.tokens), "key": self.key}
        if self.tags is not None:
            out.update(tags=self.tags, concepts=self.concepts, source=self.source)
        return out


@dataclass
class LabelContext:
    """What a label file is checked against."""

    entity_types: Sequence[str]
    concepts: bool
    concept_list: Iterable[str] | None = None
    type_map: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.concept_list is not None:
            self.concept_list = frozenset(self.concept_list)

    def entity_type(self, name: str, path: Path, line: int, found: str) -> str:
        if name in self.type_map:
            return self.type_map[name]
        for canonical in self.entity_types:
            if canonical.lower() == name.lower():
                return canonical
        raise CorpusFormatError(
            path, line, f"an entity type of this project ({', '.join(self.entity_types)}) or a "
            f"--map-types {name}=TYPE", found)

    def concept(self, value: str, path: Path, line: int, found: str) -> str | None:
        if not self.concepts or value in NO_CONCEPT:
            return None
        if self.concept_list is not None and value not in self.concept_list:
            # A composite id ("A|B") is one label; it passes as listed, or when each part is listed.
            unknown = [c for c in value.split("|") if c not in self.concept_list]
            if unknown:
                raise CorpusFormatError(
                    path, line, f"concept ids from the project's concept list (concepts.txt); {unknown[0]!r} "
                    "is not in it", found)
        return value


def parse_type_map(text: str | None, entity_types: Sequence[str]) -> dict[str, str]:
    """``A=disease,B=disease`` -> {"A": "disease", "B": "disease"} (targets must be project types)."""
    out: dict[str, str] = {}
    for item in (text or "").split(","):
        if not item.strip():
            continue
        source, sep, target = item.partition("=")
        match = [t for t in entity_types if t.lower() == target.strip().lower()]
        if not sep or not source.strip() or not match:
            raise CorpusFormatError(Path("--map-types"), None,
                                    f"SOURCE=TYPE pairs with TYPE one of {', '.join(entity_types)}", item)
        out[source.strip()] = match[0]
    return out


# ---------------------------------------------------------------------------------------------- text


def detect_format(path: Path, allowed: Sequence[str]) -> str:
    suffix = path.suffix.lower()
    if suffix == ".xml" and "bioc" in allowed:
        return "bioc"
    if suffix == ".ann" and "brat" in allowed:
        return "brat"
    if suffix in (".conll", ".iob", ".iob2", ".bio", ".tsv") and "conll" in allowed:
        return "conll"
    if not path.is_file():
        raise CorpusFormatError(path, None, "an existing file")
    with open(path, encoding="utf-8-sig", errors="replace") as handle:
        first = next((line for line in handle if line.strip()), "")
    if _PUBTATOR_TITLE.match(first):
        return "pubtator"
    if "conll" in allowed:
        return "conll"
    return "text"


def read_text_file(path: Path, fmt: str = "auto", one_per_line: bool = False) -> tuple[list[Document], int]:
    """Documents of one text file, and how many annotation lines were ignored (PubTator, BioC)."""
    path = Path(path)
    fmt = detect_format(path, TEXT_FORMATS) if fmt == "auto" else fmt
    if fmt == "pubtator":
        docs = [doc for doc, _ in parse_pubtator(path)]
        ignored = sum(len(d.mentions) + len(d.problems) for d in docs)
        return [Document(d.doc_id, d.text) for d in docs], ignored
    if fmt == "bioc":
        docs = parse_bioc(path.read_bytes(), path)
        return [Document(d.doc_id, d.text) for d in docs], sum(len(d.mentions) for d in docs)
    if fmt != "text":
        raise CorpusFormatError(path, None, f"a text format of {TEXT_FORMATS}", fmt)
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise CorpusFormatError(path, None, "UTF-8 text", str(error)) from None
    if not one_per_line:
        return [Document(path.stem, text)], 0
    lines = text.split("\n")
    return [Document(f"{path.stem}-L{n}", line) for n, line in enumerate(lines, start=1) if line.strip()], 0


def document_sentences(documents: Sequence[Document], type_map: Mapping[str, str] | None = None,
                       sources: Mapping[str, str] | None = None) -> tuple[list[Sentence], dict[str, int]]:
    """Sentences (with tags when ``type_map`` is given) by the workflow's tidy preprocessing, and the
    counts of what it could not tag (nested / overlapping mentions and the like)."""
    tables = build_tables([(d, "curate") for d in documents], dict(type_map or {}))
    cols = {name: tables.tokens.column(name).to_pylist()
            for name in ("doc_id", "sentence", "token", "start", "end", "tag", "concept_id")}
    texts = {d.doc_id: d.text for d in documents}
    out: list[Sentence] = []
    n = len(cols["doc_id"])
    lo = 0
    while lo < n:
        hi = lo + 1
        key = (cols["doc_id"][lo], cols["sentence"][lo])
        while hi < n and (cols["doc_id"][hi], cols["sentence"][hi]) == key:
            hi += 1
        doc_id, index = key
        base, end = cols["start"][lo], cols["end"][hi - 1]
        sentence = Sentence(
            f"{doc_id}:{index}", doc_id, index, texts[doc_id][base:end], cols["token"][lo:hi],
            [s - base for s in cols["start"][lo:hi]], [e - base for e in cols["end"][lo:hi]],
            source=(sources or {}).get(doc_id, ""))
        if type_map is not None:
            sentence.tags = cols["tag"][lo:hi]
            sentence.concepts = cols["concept_id"][lo:hi]
        out.append(sentence)
        lo = hi
    problems: dict[str, int] = {}
    for kind in tables.problems.column("kind").to_pylist():
        problems[kind] = problems.get(kind, 0) + 1
    return out, problems


# ---------------------------------------------------------------------------------------------- labels


def read_label_file(path: Path, context: LabelContext, fmt: str = "auto") -> tuple[list[Sentence], dict]:
    """Labeled sentences of one file, checked (see the module docstring), and counts of untaggable cases."""
    path = Path(path)
    fmt = detect_format(path, LABEL_FORMATS) if fmt == "auto" else fmt
    if fmt == "conll":
        return read_conll(path, context), {}
    if fmt == "pubtator":
        documents = _pubtator_labels(path, context)
    elif fmt == "brat":
        documents = [_brat_labels(path, context)]
    else:
        raise CorpusFormatError(path, None, f"a label format of {LABEL_FORMATS}", fmt)
    identity = {t: t for t in context.entity_types}
    return document_sentences(documents, identity, {d.doc_id: str(path) for d in documents})


def read_conll(path: Path, context: LabelContext) -> list[Sentence]:
    """CoNLL / IOB2: ``token<TAB>tag[<TAB>concept id]`` (or space separated), blank line between
    sentences; ``# sentence_id = X`` / ``# doc_id = X`` comments name the next sentence; ``-DOCSTART-``
    lines are skipped. Strict IOB2: ``I-X`` only after ``B-X`` or ``I-X``."""
    try:
        lines = path.read_bytes().decode("utf-8-sig").split("\n")
    except UnicodeDecodeError as error:
        raise CorpusFormatError(path, None, "UTF-8 text", str(error)) from None
    sentences: list[Sentence] = []
    rows: list[tuple[int, str, str, str | None]] = []
    comments: dict[str, str] = {}
    form = "token<TAB>tag[<TAB>concept id] with tag O, B-<type> or I-<type>"

    def flush() -> None:
        if not rows:
            return
        index = len(sentences)
        doc_id = comments.get("doc_id", path.stem)
        sid = comments.get("sentence_id", f"{path.stem}:{index}")
        tokens = [r[1] for r in rows]
        text = " ".join(tokens)
        starts, position = [], 0
        for token in tokens:
            starts.append(position)
            position += len(token) + 1
        ends = [s + len(t) for s, t in zip(starts, tokens, strict=True)]
        sentences.append(Sentence(
            sid, doc_id, index, text, tokens, starts, ends,
            [r[2] for r in rows], [r[3] for r in rows], f"{path}:{rows[0][0]}", "sentence_id" in comments))
        rows.clear()
        comments.clear()

    previous, previous_concept = "O", None
    for number, raw in enumerate(lines, start=1):
        line = raw.rstrip("\r")
        if not line.strip():
            flush()
            previous, previous_concept = "O", None
            continue
        if line.startswith("#"):
            name, sep, value = line[1:].partition("=")
            if sep and name.strip() in ("sentence_id", "doc_id"):
                if rows:
                    raise CorpusFormatError(path, number, "a blank line before the next sentence's comments",
                                            line)
                comments[name.strip()] = value.strip()
            continue
        if line.startswith("-DOCSTART-"):
            continue
        fields = line.split("\t") if "\t" in line else line.split()
        if len(fields) not in (2, 3) or not fields[0].strip() or len(fields[0].split()) != 1:
            raise CorpusFormatError(path, number, form, line)
        token, tag = fields[0].strip(), fields[1].strip()
        concept_field = fields[2].strip() if len(fields) == 3 else ""
        if tag == "O":
            if concept_field not in NO_CONCEPT and context.concepts:
                raise CorpusFormatError(path, number, "a concept id only on B-/I- tokens", line)
            rows.append((number, token, "O", None))
            previous, previous_concept = "O", None
            continue
        prefix, dash, name = tag.partition("-")
        if prefix not in ("B", "I") or not dash or not name:
            raise CorpusFormatError(path, number, form, line)
        entity_type = context.entity_type(name, path, number, line)
        concept = context.concept(concept_field, path, number, line)
        if prefix == "I":
            if previous not in (f"B-{entity_type}", f"I-{entity_type}"):
                raise CorpusFormatError(
                    path, number, f"I-{entity_type} only after B-{entity_type} or I-{entity_type} (IOB2: a "
                    f"mention starts with B-), not after {previous}", line)
            if concept is None:
                concept = previous_concept  # a concept id written on the mention's first token only
            elif previous_concept is not None and concept != previous_concept:
                raise CorpusFormatError(path, number, f"the mention's concept id {previous_concept} on each "
                                        "of its tokens", line)
        full = f"{prefix}-{entity_type}"
        rows.append((number, token, full, concept))
        previous, previous_concept = full, concept
    flush()
    return sentences


def _check_mention(path: Path, line: int, raw: str, text: str, start: int, end: int,
                   stated: str | None) -> None:
    if not 0 <= start < end <= len(text):
        raise CorpusFormatError(path, line, f"offsets 0 <= start < end <= {len(text)} (the document's text "
                                "length)", raw)
    if stated is not None and " ".join(stated.split()) != " ".join(text[start:end].split()):
        raise CorpusFormatError(path, line, f"mention text equal to the document's text at {start}-{end} "
                                f"({text[start:end]!r})", raw)


def _pubtator_labels(path: Path, context: LabelContext) -> list[Document]:
    """PubTator documents with every entity line checked; each error names its line."""
    documents: list[Document] = []
    seen: set[str] = set()
    lines = path.read_bytes().decode("utf-8-sig").split("\n")
    for parsed, first_line in parse_pubtator(path):
        if parsed.doc_id in seen:
            raise CorpusFormatError(path, first_line, f"each document once; {parsed.doc_id} is repeated")
        seen.add(parsed.doc_id)
        document = Document(parsed.doc_id, parsed.text)
        number = first_line + 2  # title and abstract lines come first
        while number <= len(lines) and lines[number - 1].strip():
            raw = lines[number - 1].rstrip("\r")
            parts = mention_fields(path, number, raw, parsed.doc_id)  # None: a relation line
            if parts is not None:
                start, end = int(parts[1]), int(parts[2])
                _check_mention(path, number, raw, document.text, start, end, parts[3])
                entity_type = context.entity_type(parts[4], path, number, raw)
                concept = context.concept("|".join(concept_id_tuple(parts[5])) if len(parts) > 5 else "",
                                          path, number, raw)
                ids = tuple(concept.split("|")) if concept else ()
                document.mentions.append(Mention(start, end, entity_type, parts[3], ids))
            number += 1
        documents.append(document)
    return documents


def _brat_labels(path: Path, context: LabelContext) -> Document:
    """``NAME.ann`` with ``NAME.txt`` beside it (either may be given)."""
    ann, txt = path.with_suffix(".ann"), path.with_suffix(".txt")
    for needed in (ann, txt):
        if not needed.is_file():
            raise CorpusFormatError(needed, None, "a brat .txt / .ann pair with the same name")
    text = txt.read_bytes().decode("utf-8")
    mentions: dict[str, tuple[int, Mention]] = {}
    normalizations: list[tuple[int, str, str, str]] = []
    for number, raw in enumerate(ann.read_bytes().decode("utf-8").split("\n"), start=1):
        line = raw.removesuffix("\r")
        if not line.strip():
            continue
        if line.startswith("T"):
            match = _BRAT_TEXTBOUND.fullmatch(line)
            if match is None:
                raise CorpusFormatError(ann, number, _BRAT_T_FORM, line)
            spans = [(int(match[3]), int(match[4]))]
            spans += [tuple(map(int, s.split(" "))) for s in match[5][1:].split(";")] if match[5] else []
            for start, end in spans:
                _check_mention(ann, number, line, text, start, end, match[6] if len(spans) == 1 else None)
            entity_type = context.entity_type(match[2], ann, number, line)
            fragments = tuple(spans) if len(spans) > 1 else ()
            mention = Mention(spans[0][0], spans[-1][1], entity_type, None, (), fragments)
            mentions[match[1]] = (number, mention)
        elif line.startswith("N"):
            match = _BRAT_NORMALIZATION.fullmatch(line)
            if match is None:
                raise CorpusFormatError(ann, number, _BRAT_N_FORM, line)
            normalizations.append((number, line, match[2], match[3]))
        elif not line.startswith(_BRAT_IGNORED):
            raise CorpusFormatError(ann, number, "a brat annotation line starting with T, R, E, A, M, N, # "
                                    "or *", line)
    # N lines may come before their T line: references are checked once every T line is known.
    concepts: dict[str, list[str]] = {}
    for number, line, t_id, value in normalizations:
        if t_id not in mentions:
            raise CorpusFormatError(ann, number, f"a normalization of a T line of this file ({t_id} has "
                                    "none)", line)
        concept = context.concept(value, ann, number, line)
        if concept is not None:
            concepts.setdefault(t_id, []).append(concept)
    document = Document(ann.stem, text)
    for t_id, (_, mention) in mentions.items():
        ids = tuple(dict.fromkeys(concepts.get(t_id, [])))
        document.mentions.append(Mention(mention.start, mention.end, mention.entity_type, None, ids,
                                         mention.fragments))
    return document


def read_label_files(paths: Iterable[Path], context: LabelContext, fmt: str = "auto"
                     ) -> tuple[list[Sentence], dict[str, int]]:
    sentences: list[Sentence] = []
    problems: dict[str, int] = {}
    for path in paths:
        found, counts = read_label_file(Path(path), context, fmt)
        sentences.extend(found)
        for kind, count in counts.items():
            problems[kind] = problems.get(kind, 0) + count
    return sentences, problems
