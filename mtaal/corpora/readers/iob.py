"""Readers for token-per-line corpora (IOB/CoNLL): CLL, Gellus, LINNAEUS (IOB), SCAI chemicals, JNLPBA.

All five share one way of turning tags into mentions (:func:`_tag_mentions`): ``B-X`` opens a mention of
type X, ``I-X`` extends the open mention of type X, anything else closes it. An ``I-X`` that continues
nothing (IOB1 style, or after ``O``/``B-Y``) opens a new mention and is recorded as a Problem of kind
``iob_i_without_b``. Mentions never cross a sentence boundary.

Text is built one of three ways, each by one helper: the release's original text when it ships one (CLL,
Gellus), tokens placed at their stated offsets with the gaps filled by spaces when only offsets are known
(SCAI), or tokens joined by single spaces and sentences by newlines when there are no offsets (LINNAEUS,
JNLPBA).
"""

from __future__ import annotations

import re
import tarfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from mtaal.corpora.model import Document, Mention, Problem
from mtaal.errors import CorpusFormatError

_TAG = re.compile(r"O|[BI]-\S+")
_SUBSETS = {"train": "train", "devel": "dev", "dev": "dev", "test": "test"}


@dataclass(slots=True)
class _Token:
    text: str
    tag: str
    line: int
    start: int = 0
    end: int = 0
    # Mention text the source states on this (B-) token; only SCAI has one.
    stated: str | None = None


_Sentence = list[_Token]
_Lines = Iterable[tuple[int, str]]
_TokenParser = Callable[[str, int], _Token]


# ---------------------------------------------------------------- shared helpers


def _check_tag(raw: str, path: Path, number: int, line: str) -> str:
    tag = raw.strip()
    if not _TAG.fullmatch(tag):
        raise CorpusFormatError(path, number, "a tag O, B-<type> or I-<type>", line)
    return tag


def _numbered_lines(text: str) -> list[tuple[int, str]]:
    return [(n, line.rstrip("\r")) for n, line in enumerate(text.split("\n"), 1)]


def _sentences(lines: _Lines, parse: _TokenParser) -> list[_Sentence]:
    """Blank-line separated token blocks."""
    sentences: list[_Sentence] = []
    current: _Sentence = []
    for number, line in lines:
        if line.strip():
            current.append(parse(line, number))
        elif current:
            sentences.append(current)
            current = []
    if current:
        sentences.append(current)
    return sentences


def _split_headers(
    lines: _Lines, header: re.Pattern[str], path: Path, expected: str
) -> Iterator[tuple[str, list]]:
    """(doc_id, body lines) per document of a file whose documents start with a ``###`` header line."""
    doc_id: str | None = None
    body: list[tuple[int, str]] = []
    for number, line in lines:
        if line.startswith("###"):
            if doc_id is not None:
                yield doc_id, body
            match = header.fullmatch(line.strip())
            if match is None:
                raise CorpusFormatError(path, number, expected, line)
            doc_id, body = match[1], []
        elif doc_id is not None:
            body.append((number, line))
        elif line.strip():
            raise CorpusFormatError(path, number, f"{expected} before the first token", line)
    if doc_id is not None:
        yield doc_id, body


def _tag_mentions(sentences: list[_Sentence], doc_id: str, path: Path) -> tuple[list[Mention], list[Problem]]:
    """Mentions from B-/I- tags of tokens whose offsets are set (see the module docstring)."""
    mentions: list[Mention] = []
    problems: list[Problem] = []
    for sentence in sentences:
        current: list | None = None  # [start, end, type, stated text]
        previous = "O"
        for token in sentence:
            prefix, _, entity_type = token.tag.partition("-")
            if prefix == "I" and current is not None and current[2] == entity_type:
                current[1] = token.end
            else:
                if current is not None:
                    mentions.append(Mention(*current))
                current = None
                if prefix == "I":
                    detail = f"{path}:{token.line}: {token.tag} after {previous}; read as a mention start"
                    problems.append(
                        Problem(doc_id, "iob_i_without_b", detail, token.start, token.end, entity_type)
                    )
                if prefix in ("B", "I"):
                    current = [token.start, token.end, entity_type, token.stated]
            previous = token.tag
        if current is not None:
            mentions.append(Mention(*current))
    return mentions, problems


def _join_tokens(sentences: list[_Sentence]) -> tuple[str, list[tuple[int, int]]]:
    """Text for formats without offsets: tokens joined by a space, sentences by a newline."""
    parts: list[str] = []
    spans: list[tuple[int, int]] = []
    position = 0
    for index, sentence in enumerate(sentences):
        if index:
            parts.append("\n")
            position += 1
        sentence_start = position
        for token_index, token in enumerate(sentence):
            if token_index:
                parts.append(" ")
                position += 1
            token.start, position = position, position + len(token.text)
            token.end = position
            parts.append(token.text)
        spans.append((sentence_start, position))
    return "".join(parts), spans


def _text_from_offsets(sentences: list[_Sentence], path: Path) -> str:
    """Text for formats with offsets but no text: each token at its offset, shifted so that the first
    token starts at 0; the gaps (whose content the source does not give) become spaces."""
    tokens = [token for sentence in sentences for token in sentence]
    if not tokens:
        return ""
    shift = tokens[0].start
    parts: list[str] = []
    position = 0
    for token in tokens:
        start = token.start - shift
        if start < position or token.end - token.start != len(token.text):
            raise CorpusFormatError(
                path, token.line, "increasing token offsets with end - start = token length", token.text
            )
        parts.append(" " * (start - position) + token.text)
        token.start, token.end = start, start + len(token.text)
        position = token.end
    return "".join(parts)


def _sentence_spans(sentences: list[_Sentence]) -> list[tuple[int, int]]:
    return [(sentence[0].start, sentence[-1].end) for sentence in sentences]


def _unique_ids(documents: list[Document]) -> list[Document]:
    """A repeated id (the JNLPBA test file has two abstracts twice) gets a suffix ".2", ... and a Problem."""
    seen: dict[str, int] = {}
    for document in documents:
        count = seen[document.doc_id] = seen.get(document.doc_id, 0) + 1
        if count > 1:
            renamed = f"{document.doc_id}.{count}"
            detail = f"document id {document.doc_id} occurs {count} times; this copy is renamed {renamed}"
            document.problems.append(Problem(renamed, "duplicate_doc_id", detail))
            document.doc_id = renamed
    return documents


def _tokens_only_document(
    doc_id: str, sentences: list[_Sentence], path: Path, subset: str | None
) -> Document:
    text, spans = _join_tokens(sentences)
    mentions, problems = _tag_mentions(sentences, doc_id, path)
    return Document(doc_id, text, mentions, subset=subset, sentences=spans, problems=problems)


def _two_column_parser(path: Path) -> _TokenParser:
    """``token<TAB>tag`` lines (JNLPBA, LINNAEUS IOB)."""

    def parse(line: str, number: int) -> _Token:
        fields = line.split("\t")
        if len(fields) != 2 or not fields[0]:
            raise CorpusFormatError(path, number, "token<TAB>tag", line)
        return _Token(fields[0], _check_tag(fields[1], path, number, line), number)

    return parse


# ---------------------------------------------------------------- CLL and Gellus (Kaewphan et al.)


def _nersuite_parser(path: Path) -> _TokenParser:
    """NERsuite lines: tag, start, end, token, then lemma/POS/chunk columns that are not needed."""

    def parse(line: str, number: int) -> _Token:
        fields = line.split("\t")
        if len(fields) < 4 or not (fields[1].isdigit() and fields[2].isdigit()) or not fields[3]:
            raise CorpusFormatError(path, number, "tag<TAB>start<TAB>end<TAB>token[<TAB>...]", line)
        tag = _check_tag(fields[0], path, number, line)
        return _Token(fields[3], tag, number, int(fields[1]), int(fields[2]))

    return parse


def _archive_members(
    archive: Path, corpus_dir: str
) -> tuple[dict[str, tuple[str, str | None]], dict[str, str]]:
    """Token files (doc_id -> (member, subset)) and original texts (doc_id -> member) in the archive.

    The prefix before ``corpus_dir`` is ignored: the original Gellus tarball nests it under
    ``home/smp/cellline_data/``, the HU Berlin re-host does not.
    """
    quoted = re.escape(corpus_dir)
    token_file = re.compile(rf"(?:.*/)?{quoted}/nersuite/(?:([^/]+)/)?([^/]+)\.nersuite")
    text_file = re.compile(rf"(?:.*/)?{quoted}/standoff/(?:[^/]+/)?([^/]+)\.txt")
    tokens: dict[str, tuple[str, str | None]] = {}
    texts: dict[str, str] = {}
    with tarfile.open(archive) as tar:
        names = [member.name for member in tar.getmembers() if member.isfile()]
    for name in sorted(names):
        if match := token_file.fullmatch(name):
            subset = _SUBSETS.get(match[1] or "")
            known = tokens.get(match[2])
            if known is not None and known[1] is not None and subset is not None and known[1] != subset:
                raise CorpusFormatError(
                    archive, None, "each document in at most one of train/devel/test", name
                )
            if known is None or known[1] is None:
                tokens[match[2]] = (name, subset)
        elif match := text_file.fullmatch(name):
            texts.setdefault(match[1], name)
    if not tokens:
        raise CorpusFormatError(archive, None, f"token files {corpus_dir}/nersuite/[<subset>/]<doc>.nersuite")
    return tokens, texts


def _kaewphan_document(
    doc_id: str, sentences: list[_Sentence], text: str | None, path: Path, subset: str | None
) -> Document:
    problems: list[Problem] = []
    if text is None:
        text = _text_from_offsets(sentences, path)
        problems.append(
            Problem(doc_id, "no_original_text", f"{path}: no standoff .txt; text rebuilt from offsets")
        )
    for token in (token for sentence in sentences for token in sentence):
        if text[token.start : token.end] != token.text:
            found = text[token.start : token.end]
            detail = f"{path}:{token.line}: token {token.text!r} but the text has {found!r}"
            problems.append(Problem(doc_id, "token_offset_mismatch", detail, token.start, token.end))
    mentions, tag_problems = _tag_mentions(sentences, doc_id, path)
    return Document(doc_id, text, mentions, subset, _sentence_spans(sentences), problems + tag_problems)


def _read_kaewphan(root: Path, archive: str, corpus_dir: str) -> list[Document]:
    """NERsuite token files (tags with offsets) + the standoff ``.txt`` original texts, from the tarball."""
    path = root / archive
    token_files, text_files = _archive_members(path, corpus_dir)
    documents = []
    with tarfile.open(path) as tar:

        def read(member: str) -> str:
            handle = tar.extractfile(member)
            assert handle is not None  # members were listed as regular files
            return handle.read().decode("utf-8")

        for doc_id in sorted(token_files):
            member, subset = token_files[doc_id]
            member_path = path / member
            sentences = _sentences(_numbered_lines(read(member)), _nersuite_parser(member_path))
            text = read(text_files[doc_id]) if doc_id in text_files else None
            documents.append(_kaewphan_document(doc_id, sentences, text, member_path, subset))
    return documents


def read_cll(root: Path, archive: str = "CLL_corpus.tar.gz", corpus_dir: str = "CLL-1.0.2") -> list[Document]:
    """CLL cell line corpus 1.0.2 (Kaewphan et al. 2016), ``CLL_corpus.tar.gz`` from
    bionlp-www.utu.fi/cell-lines/ (re-hosted in hu-ner/hunflair-corpora).

    Reads ``CLL-1.0.2/nersuite/*.nersuite`` (tag, start, end, token, ...; one sentence per blank-line
    block) with the original texts ``CLL-1.0.2/standoff/*.txt``. The ``conll/`` copy that HUNER reads is
    not used: in release 1.0.2 it tags 381 of the 418 inside tokens ``O``, truncating multi-token names,
    whereas the NERsuite tags agree with the standoff ``.ann`` exactly. Doc ids are the file names
    (``PMC-1413994``, ``PMID-10075083``) as in HUNER ``cll.*``. Entity type: ``CL`` (cell line).
    """
    return _read_kaewphan(Path(root), archive, corpus_dir)


def read_gellus(
    root: Path, archive: str = "Gellus_corpus.tar.gz", corpus_dir: str = "GELLUS-1.0.3"
) -> list[Document]:
    """Gellus cell line corpus 1.0.3 (Kaewphan et al. 2016), ``Gellus_corpus.tar.gz`` from
    bionlp-www.utu.fi/cell-lines/ (re-hosted in hu-ner/hunflair-corpora).

    Same package layout as CLL, with subset folders: ``GELLUS-1.0.3/nersuite/{train,devel,test}/*.nersuite``
    (subset taken from the folder; a copy under ``all/`` is used only when no subset copy exists) and the
    original texts ``GELLUS-1.0.3/standoff/<folder>/*.txt``. HUNER read ``conll/all/*.conll`` instead;
    the doc ids (file names such as ``PMC-1044634-sec-01``, ``PMID-18451223``) are the same.
    """
    return _read_kaewphan(Path(root), archive, corpus_dir)


# ---------------------------------------------------------------- SCAI chemicals

_SCAI_HEADER = re.compile(r"###\s*(\S+)")


def _scai_parser(path: Path) -> _TokenParser:
    """``token<TAB>start<TAB>end<TAB>mention text or empty<TAB>|tag`` lines."""

    def parse(line: str, number: int) -> _Token:
        fields = line.split("\t")
        if (
            len(fields) != 5
            or not (fields[1].isdigit() and fields[2].isdigit())
            or not fields[4].startswith("|")
        ):
            raise CorpusFormatError(path, number, "token<TAB>start<TAB>end<TAB>mention text<TAB>|tag", line)
        tag = _check_tag(fields[4][1:], path, number, line)
        stated = fields[3].strip() or None
        return _Token(fields[0], tag, number, int(fields[1]), int(fields[2]), stated)

    return parse


def _scai_document(doc_id: str, body: list[tuple[int, str]], path: Path) -> Document:
    # Not sentence segmented: blank lines only end documents, so all tokens form one block.
    tokens = [token for sentence in _sentences(body, _scai_parser(path)) for token in sentence]
    text = _text_from_offsets([tokens], path)
    mentions, problems = _tag_mentions([tokens], doc_id, path)
    for token in tokens:
        if token.stated is not None and token.tag == "O":
            detail = f"{path}:{token.line}: annotation {token.stated!r} has tag O (no entity type)"
            end = token.start + len(token.stated)
            problems.append(Problem(doc_id, "annotation_without_type", detail, token.start, end))
    return Document(doc_id, text, mentions, problems=problems)


def read_scai_iob(
    root: Path, file: str = "chemicals-test-corpus-27-04-2009-v3.iob", encoding: str = "latin-1"
) -> list[Document]:
    """SCAI chemicals test corpus v3 (Kolářik et al. 2008), Fraunhofer SCAI
    ``chemicals-test-corpus-27-04-2009-v3_iob.gz`` (gunzipped).

    ``### <PMID>`` starts a document; token lines are ``token, start, end, mention text, |tag``. The
    mention text is given on the B- token only and is kept as ``Mention.text`` (stripped). Offsets refer to
    an abstract text that is not distributed, so the text is rebuilt from them. No sentence segmentation.
    Types: IUPAC, PARTIUPAC, TRIVIAL, TRIVIALVAR, SUM, FAMILY, ABBREVIATION, MODIFIER (all chemical).
    Read as Latin-1 by default, as HUNER does: the file is bytes, and its offsets count bytes.
    """
    path = Path(root) / file
    lines = _numbered_lines(path.read_text(encoding=encoding))
    docs = [
        _scai_document(doc_id, body, path)
        for doc_id, body in _split_headers(lines, _SCAI_HEADER, path, "a document header ### <id>")
    ]
    return _unique_ids(docs)


# ---------------------------------------------------------------- JNLPBA

_JNLPBA_HEADER = re.compile(r"###MEDLINE:(\S+)")
_JNLPBA_FILES = {"test": "test/Genia4EReval2.iob2"}


def read_jnlpba_iob(root: Path, files: dict[str, str] | None = None) -> list[Document]:
    """JNLPBA 2004 shared task (Kim et al. 2004) IOB2 files with abstract boundaries: the training file
    ``Genia4ERtask2.iob2`` and the test reference ``Genia4EReval2.iob2`` (GENIA project).

    ``files`` maps subset -> path under ``root``; the default reads the test file, the only one in the
    mirror (add ``"train": "train/Genia4ERtask2.iob2"`` when it is available). ``###MEDLINE:<MUID>``
    starts a document; doc ids are the MEDLINE UIDs, as in HUNER ``genia.*``. The files without boundaries
    (``Genia4EReval1.iob2``, ``Genia4ERtask1.iob2``) are refused.
    Types: protein, DNA, RNA, cell_line, cell_type.
    """
    root = Path(root)
    documents = []
    for subset, name in (files or _JNLPBA_FILES).items():
        path = root / name
        parse = _two_column_parser(path)
        lines = _numbered_lines(path.read_text(encoding="utf-8"))
        for doc_id, body in _split_headers(lines, _JNLPBA_HEADER, path, "a document header ###MEDLINE:<id>"):
            documents.append(
                _tokens_only_document(doc_id, _sentences(body, parse), path, _SUBSETS.get(subset, subset))
            )
    return _unique_ids(documents)


# ---------------------------------------------------------------- LINNAEUS (IOB conversion)

_LINNAEUS_FILES = {
    "train": "linnaeus-IOB/train.tsv",
    "dev": "linnaeus-IOB/devel.tsv",
    "test": "linnaeus-IOB/test.tsv",
}
_LINNAEUS_IDS = {"train": "split/train.txt", "dev": "split/devel.txt", "test": "split/test.txt"}
# A title line ending in one of these words continues on the next "sentence" (titles broken over lines).
_TITLE_LINKS = frozenset({"a", "an", "and", "at", "by", "for", "from", "in", "of", "on", "the", "to", "with"})


def _document_starts(sentences: list[_Sentence]) -> list[int]:
    """Index of each document's first sentence: every full text has a one-token ``Abstract`` heading
    right after its title; the title is the sentence before it, plus earlier lines it continues."""
    starts = []
    for index, sentence in enumerate(sentences):
        if len(sentence) == 1 and sentence[0].text == "Abstract" and index:
            start = index - 1
            floor = starts[-1] + 1 if starts else 0
            while start > floor and sentences[start - 1][-1].text in _TITLE_LINKS:
                start -= 1
            starts.append(start)
    if not starts or starts[0] != 0:
        starts.insert(0, 0)
    return starts


def _linnaeus_ids(root: Path, id_list: str | None, subset: str, count: int, path: Path) -> list[str]:
    if id_list is None:
        return [f"linnaeus-{subset}-{number:04d}" for number in range(1, count + 1)]
    ids_path = root / id_list
    ids = [line.strip() for line in ids_path.read_text(encoding="utf-8").splitlines() if line.strip()]
    if len(ids) != count:
        expected = f"one id per document of {path} ({count}, one per 'Abstract' heading)"
        raise CorpusFormatError(ids_path, None, expected, f"{len(ids)} ids")
    return ids


def read_linnaeus_iob(
    root: Path, files: dict[str, str] | None = None, id_lists: dict[str, str | None] | None = None
) -> list[Document]:
    """LINNAEUS species corpus (Gerner et al. 2010) in the IOB conversion of Crichton et al. 2017
    (cambridgeltl/MTL-Bioinformatics-2016 ``data/linnaeus-IOB/{train,devel,test}.tsv``; the official
    release is linnaeus.sourceforge.net ``manual-corpus-species-1.0.tar.gz``).

    The files have no document markers. Documents are cut before each title (see
    :func:`_document_starts`), and named in order from ``id_lists`` (subset -> id file, by default the
    spyysalo/linnaeus-corpus split lists, which are sorted and whose counts 50/17/33 equal the number of
    ``Abstract`` headings; the first train document, the Scp160p paper, is pmcA102792). With an id list of
    ``None`` the ids are synthetic (``linnaeus-train-0001``). Type: ``Species``.
    """
    root = Path(root)
    id_lists = _LINNAEUS_IDS if id_lists is None else id_lists
    documents = []
    for subset, name in (files or _LINNAEUS_FILES).items():
        path = root / name
        sentences = _sentences(_numbered_lines(path.read_text(encoding="utf-8")), _two_column_parser(path))
        starts = _document_starts(sentences) if sentences else []
        ids = _linnaeus_ids(root, id_lists.get(subset), subset, len(starts), path)
        for doc_id, start, end in zip(ids, starts, [*starts[1:], len(sentences)], strict=True):
            documents.append(
                _tokens_only_document(doc_id, sentences[start:end], path, _SUBSETS.get(subset, subset))
            )
    return _unique_ids(documents)


READERS = {
    "cll": read_cll,
    "gellus": read_gellus,
    "linnaeus_iob": read_linnaeus_iob,
    "scai_iob": read_scai_iob,
    "jnlpba_iob": read_jnlpba_iob,
}
