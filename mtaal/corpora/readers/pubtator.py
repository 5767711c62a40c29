"""PubTator format: NCBI disease corpus and BioCreative V CDR (BC5CDR).

Releases: NCBI disease https://www.ncbi.nlm.nih.gov/CBBresearch/Dogan/DISEASE/ (``NCBI*_corpus.txt``);
BC5CDR https://biocreative.bioinformatics.udel.edu/tasks/biocreative-v/track-3-cdr/ (``CDR_Data.zip``,
``CDR.Corpus.v010516/CDR_*Set.PubTator.txt``).

One document per block, blocks separated by blank lines::

    PMID|t|title
    PMID|a|abstract
    PMID<TAB>start<TAB>end<TAB>text<TAB>type[<TAB>concept ids[<TAB>individual mentions]]
    PMID<TAB>CID<TAB>chemical id<TAB>disease id          (relation line: ignored)

A relation line has four fields, the second a word starting with a letter (CID, ...); every other line must
be a mention line with whole-number offsets. A line of neither shape (a negative or non-numeric offset, too
few fields) is an error naming the file and line, never skipped.

Offsets count the title, one separator character, then the abstract. The document text is
``title + separator + abstract`` (separator "\\n" by default; both releases have no mention crossing it).

Concept-id rule: ``concept_ids`` holds the ids of column 6 split on "|" (alternatives, or the parts of a
composite mention), "-1" (CDR: no id) is dropped, and a "+" id (NCBI: one concept expressed as a
combination, e.g. "D004829+D003294") stays one label. CDR's 7th column (the individual mention texts of
a composite mention) is ignored.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from pathlib import Path

from mtaal.corpora.model import Document, Mention, Problem
from mtaal.errors import CorpusFormatError, MissingCorpusError

# Known release layouts, tried in order when the registry gives no ``files``.
DEFAULT_LAYOUTS: tuple[dict[str, str], ...] = (
    {
        "train": "NCBItrainset_corpus.txt",
        "dev": "NCBIdevelopset_corpus.txt",
        "test": "NCBItestset_corpus.txt",
    },
    {
        "train": "CDR_TrainingSet.PubTator.txt",
        "dev": "CDR_DevelopmentSet.PubTator.txt",
        "test": "CDR_TestSet.PubTator.txt",
    },
)

SUBSET_ALIASES = {
    **dict.fromkeys(("train", "training", "trainset"), "train"),
    **dict.fromkeys(("dev", "devel", "development", "developset", "val", "validation"), "dev"),
    **dict.fromkeys(("test", "testing", "testset", "evaluation", "eval"), "test"),
}


def subset_name(name: str | None) -> str | None:
    """A release's subset name normalised to train/dev/test (other names are kept as given)."""
    if name is None:
        return None
    return SUBSET_ALIASES.get(name.lower(), name)


def default_files(root: Path, layouts: tuple[dict[str, str], ...]) -> dict[str, str]:
    """The first layout whose files all exist under ``root`` (else the first, so errors name its files)."""
    for layout in layouts:
        if all((root / path).exists() for path in layout.values()):
            return dict(layout)
    return dict(layouts[0])


def read_pubtator(
    root: Path, files: Mapping[str, str] | None = None, separator: str = "\n"
) -> list[Document]:
    """Read PubTator files ``files`` (subset -> path under ``root``).

    A document id seen twice keeps its first copy; the second is reported as a ``duplicate_document``
    problem on the kept document (the NCBI training set holds PMID 8528200 twice).
    """
    root = Path(root)
    files = files or default_files(root, DEFAULT_LAYOUTS)
    documents: dict[str, Document] = {}
    for subset, relative in files.items():
        path = root / relative
        for document, line_number in parse_pubtator(path, separator):
            document.subset = subset_name(subset)
            kept = documents.get(document.doc_id)
            if kept is None:
                documents[document.doc_id] = document
                continue
            same = (kept.text, kept.mentions) == (document.text, document.mentions)
            detail = (
                f"second copy at {path.name}:{line_number} ({'identical' if same else 'differs'}) ignored"
            )
            kept.problems.append(Problem(document.doc_id, "duplicate_document", detail))
    return list(documents.values())


def parse_pubtator(path: Path, separator: str = "\n") -> Iterator[tuple[Document, int]]:
    """Documents of one PubTator file, each with the line number where it starts."""
    block: list[tuple[int, str]] = []
    for line_number, line in _lines(path):
        if line.strip():
            block.append((line_number, line))
        elif block:
            yield _document(path, block, separator), block[0][0]
            block = []
    if block:
        yield _document(path, block, separator), block[0][0]


def _lines(path: Path) -> Iterator[tuple[int, str]]:
    # Split on "\n" only: a stray "\r" inside a line is text, not a line break.
    if not path.is_file():
        raise MissingCorpusError(f"{path}: corpus file not found")
    text = path.read_bytes().decode("utf-8-sig")
    for number, line in enumerate(text.split("\n"), start=1):
        yield number, line.removesuffix("\r")


def _document(path: Path, block: list[tuple[int, str]], separator: str) -> Document:
    doc_id, title = _text_line(path, block[0], "t")
    if len(block) < 2:
        raise CorpusFormatError(
            path, block[0][0] + 1, "an abstract line 'PMID|a|abstract'", "end of document"
        )
    abstract_id, abstract = _text_line(path, block[1], "a")
    if abstract_id != doc_id:
        raise CorpusFormatError(path, block[1][0], f"the abstract line of document {doc_id}", block[1][1])
    document = Document(doc_id, title + separator + abstract)
    for line_number, line in block[2:]:
        _add_annotation(path, line_number, line, document)
    return document


def _text_line(path: Path, numbered: tuple[int, str], kind: str) -> tuple[str, str]:
    line_number, line = numbered
    parts = line.split("|", 2)
    if len(parts) != 3 or parts[1] != kind or not parts[0]:
        expected = "a title line 'PMID|t|title'" if kind == "t" else "an abstract line 'PMID|a|abstract'"
        raise CorpusFormatError(path, line_number, expected, line)
    return parts[0], parts[2]


_RELATION_TYPE = re.compile(r"[A-Za-z][A-Za-z0-9_-]*")
_OFFSET = re.compile(r"[0-9]+")
ANNOTATION_FORMS = ("an annotation line: a mention line 'PMID<TAB>start<TAB>end<TAB>text<TAB>type[<TAB>ids]' "
                    "(start and end whole numbers >= 0) or a relation line 'PMID<TAB>TYPE<TAB>ID<TAB>ID' "
                    "(TYPE a word such as CID)")


def mention_fields(path: Path, line_number: int, line: str, doc_id: str) -> list[str] | None:
    """The fields of an annotation line of document ``doc_id``: None for a relation line, else a mention
    line's fields (offsets checked to be whole numbers); CorpusFormatError for a line of neither shape."""
    parts = line.split("\t")
    if parts[0] == doc_id:
        if len(parts) == 4 and _RELATION_TYPE.fullmatch(parts[1]) and parts[2] and parts[3]:
            return None
        if len(parts) >= 5 and _OFFSET.fullmatch(parts[1]) and _OFFSET.fullmatch(parts[2]):
            return parts
    raise CorpusFormatError(path, line_number, f"{ANNOTATION_FORMS} of document {doc_id}", line)


def _add_annotation(path: Path, line_number: int, line: str, document: Document) -> None:
    parts = mention_fields(path, line_number, line, document.doc_id)
    if parts is None:
        return  # a relation line (e.g. "PMID CID D1 D2"): not an entity mention
    start, end, text, entity_type = int(parts[1]), int(parts[2]), parts[3], parts[4]
    if start >= end:
        kind = "empty_span" if start == end else "bad_offsets"
        detail = f"{path.name}:{line_number}: span {start}-{end} for {text!r}"
        document.problems.append(Problem(document.doc_id, kind, detail, start, end, entity_type))
        return
    concept_ids = concept_id_tuple(parts[5]) if len(parts) > 5 else ()
    document.mentions.append(Mention(start, end, entity_type, text, concept_ids))


def concept_id_tuple(field: str) -> tuple[str, ...]:
    """Column-6 ids: split on "|", "-1" and blanks dropped, "+" combinations kept whole."""
    return tuple(part.strip() for part in field.split("|") if part.strip() not in ("", "-1"))


READERS = {"pubtator": read_pubtator}
