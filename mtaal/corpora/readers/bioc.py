"""BioC XML (collection / document / passage / annotation), e.g. BC5CDR and the Variome corpus.

Format: http://bioc.sourceforge.net/ (BioC.dtd). Releases read here: BC5CDR
``CDR.Corpus.v010516/CDR_{Training,Development,Test}Set.BioC.xml`` (https://biocreative.bioinformatics.udel.edu/
tasks/biocreative-v/track-3-cdr/) and the Variome corpus as HU Berlin's ``hvp_bioc.xml.zip``
(https://github.com/hu-ner/hunflair-corpora, ``variome/``).

Document text: each passage's (or sentence's) text is placed at its ``offset``; gaps are filled with "\\n",
so the document-level annotation offsets of BioC hold. An annotation with several ``location`` elements is
discontinuous (``fragments``). The entity type is the ``type`` infon; concept ids come from the first
concept infon present (MESH, identifier, NCBI Gene, ...), split on "|", ";" or ",", with "-1" dropped.

Expat is used directly (not ElementTree) so that errors can name the line of the offending element.
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from xml.parsers import expat

from mtaal.corpora.model import Document, Mention, Problem
from mtaal.corpora.readers.pubtator import default_files, subset_name
from mtaal.errors import CorpusFormatError, MissingCorpusError

DEFAULT_LAYOUTS: tuple[dict[str, str], ...] = (
    # An extracted (and possibly patched) Variome XML is preferred over the zip.
    {"all": "hvp_bioc.xml"},
    {"all": "hvp_bioc.xml.zip"},
    {
        "train": "CDR_TrainingSet.BioC.xml",
        "dev": "CDR_DevelopmentSet.BioC.xml",
        "test": "CDR_TestSet.BioC.xml",
    },
)
CONCEPT_KEYS = ("MESH", "identifier", "Identifier", "NCBI Gene", "NCBI Taxonomy", "concept_id")
NO_SUBSET = "all"
_ID_SEPARATORS = re.compile(r"[|;,]")


def read_bioc(
    root: Path,
    files: Mapping[str, str] | str | None = None,
    type_key: str = "type",
    concept_keys: Iterable[str] = CONCEPT_KEYS,
    gap_fill: str = "\n",
) -> list[Document]:
    """Read BioC XML files: ``files`` maps subset -> path (subset "all": the release has no subsets).

    A path may be a ``.zip`` (its single ``.xml`` member is read) or ``archive.zip/member.xml``.
    """
    root = Path(root)
    if files is None:
        files = default_files(root, DEFAULT_LAYOUTS)
    elif isinstance(files, str):
        files = {NO_SUBSET: files}
    documents: list[Document] = []
    for subset, relative in files.items():
        name, data = _read_source(root, relative)
        for document in parse_bioc(data, name, type_key, tuple(concept_keys), gap_fill):
            document.subset = None if subset == NO_SUBSET else subset_name(subset)
            documents.append(document)
    return documents


def _read_source(root: Path, relative: str) -> tuple[Path, bytes]:
    """Bytes of a plain XML file or of a zip member, with the path to name in errors."""
    path = root / relative
    if path.is_file() and not zipfile.is_zipfile(path):
        return path, path.read_bytes()
    archive, member = path, None
    while not archive.is_file():
        if archive.parent == archive:
            raise MissingCorpusError(f"{path}: corpus file not found")
        member = archive.name if member is None else f"{archive.name}/{member}"
        archive = archive.parent
    with zipfile.ZipFile(archive) as opened:
        if member is None:
            members = [n for n in opened.namelist() if n.endswith(".xml")]
            if len(members) != 1:
                raise CorpusFormatError(
                    archive, None, "a zip with exactly one .xml member", ", ".join(members)
                )
            member = members[0]
        return archive / member, opened.read(member)


@dataclass
class _Element:
    tag: str
    line: int
    attributes: dict[str, str]
    text: list[str] = field(default_factory=list)
    children: list[_Element] = field(default_factory=list)

    def child_text(self, tag: str) -> str | None:
        for child in self.children:
            if child.tag == tag:
                return "".join(child.text)
        return None

    def all(self, tag: str) -> list[_Element]:
        return [child for child in self.children if child.tag == tag]


# Elements kept in the tree; everything else (relations, nodes, collection infons) is skipped.
_KEPT = {"document", "id", "passage", "sentence", "offset", "text", "annotation", "infon", "location"}
_TEXT_TAGS = {"id", "offset", "text", "infon"}


def parse_bioc(
    data: bytes,
    path: Path,
    type_key: str = "type",
    concept_keys: tuple[str, ...] = CONCEPT_KEYS,
    gap_fill: str = "\n",
) -> list[Document]:
    """Documents of one BioC XML collection (given as bytes; ``path`` names it in errors)."""
    documents: list[Document] = []
    stack: list[_Element | None] = []
    parser = expat.ParserCreate()

    def start(tag: str, attributes: dict[str, str]) -> None:
        parent = stack[-1] if stack else None
        # Keep documents and the BioC elements inside them that are not inside a skipped element.
        if tag == "document" or (parent is not None and tag in _KEPT):
            element = _Element(tag, parser.CurrentLineNumber, attributes)
            if parent is not None:
                parent.children.append(element)
            stack.append(element)
        else:
            stack.append(None)

    def end(tag: str) -> None:
        element = stack.pop()
        if element is not None and element.tag == "document":
            documents.append(_document(path, element, type_key, concept_keys, gap_fill))

    def characters(text: str) -> None:
        if stack and stack[-1] is not None and stack[-1].tag in _TEXT_TAGS:
            stack[-1].text.append(text)

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = characters
    parser.buffer_text = True
    try:
        parser.Parse(data, True)
    except expat.ExpatError as error:
        raise CorpusFormatError(
            path, error.lineno, "well-formed BioC XML", expat.ErrorString(error.code)
        ) from None
    return documents


def _document(
    path: Path, element: _Element, type_key: str, concept_keys: tuple[str, ...], gap_fill: str
) -> Document:
    doc_id = (element.child_text("id") or "").strip()
    if not doc_id:
        raise CorpusFormatError(path, element.line, "a <document> with an <id>")
    pieces = []  # (offset, text, line) of passages, or of their sentences when a passage has no text
    annotations: list[_Element] = []
    for passage in element.all("passage"):
        annotations += passage.all("annotation")
        if passage.child_text("text") is not None or not passage.all("sentence"):
            pieces.append(_piece(path, passage))
        for sentence in passage.all("sentence"):
            annotations += sentence.all("annotation")
            if passage.child_text("text") is None:
                pieces.append(_piece(path, sentence))
    document = Document(doc_id, _place(path, pieces, gap_fill))
    for annotation in annotations + element.all("annotation"):  # document-level annotations last
        _add_annotation(path, annotation, document, type_key, concept_keys)
    return document


def _piece(path: Path, element: _Element) -> tuple[int, str, int]:
    offset = _integer(path, element.line, element.child_text("offset"), f"<{element.tag}> <offset> integer")
    return offset, element.child_text("text") or "", element.line


def _place(path: Path, pieces: list[tuple[int, str, int]], gap_fill: str) -> str:
    parts: list[str] = []
    length = 0
    for offset, text, line in sorted(pieces, key=lambda piece: piece[0]):
        if offset < length:
            raise CorpusFormatError(
                path, line, f"a passage offset >= {length} (end of the previous passage)", str(offset)
            )
        parts.append(gap_fill * (offset - length))
        parts.append(text)
        length = offset + len(text)
    return "".join(parts)


def _integer(path: Path, line: int, value: str | None, expected: str) -> int:
    try:
        return int((value or "").strip())
    except ValueError:
        raise CorpusFormatError(path, line, expected, value or "") from None


def _add_annotation(
    path: Path, annotation: _Element, document: Document, type_key: str, concept_keys: tuple[str, ...]
) -> None:
    infons = {infon.attributes.get("key", ""): "".join(infon.text) for infon in annotation.all("infon")}
    entity_type = infons.get(type_key)
    where = f"{path.name}:{annotation.line} annotation {annotation.attributes.get('id', '?')}"
    locations = annotation.all("location")
    if entity_type is None or not locations:
        missing = f"'{type_key}' infon" if entity_type is None else "location"
        document.problems.append(Problem(document.doc_id, "incomplete_annotation", f"{where}: no {missing}"))
        return
    fragments = []
    for location in locations:
        expected = "<location offset=INT length=INT>"
        start = _integer(path, location.line, location.attributes.get("offset"), expected)
        length = _integer(path, location.line, location.attributes.get("length"), expected)
        fragments.append((start, start + length))
    fragments.sort()
    start, end = fragments[0][0], max(fragment_end for _, fragment_end in fragments)
    if any(s >= e for s, e in fragments):
        document.problems.append(
            Problem(document.doc_id, "bad_offsets", f"{where}: empty location", start, end, entity_type)
        )
        return
    document.mentions.append(
        Mention(
            start,
            end,
            entity_type,
            annotation.child_text("text"),
            _concept_ids(infons, concept_keys),
            tuple(fragments) if len(fragments) > 1 else (),
        )
    )


def _concept_ids(infons: Mapping[str, str], concept_keys: tuple[str, ...]) -> tuple[str, ...]:
    for key in concept_keys:
        if key in infons:
            parts = (part.strip() for part in _ID_SEPARATORS.split(infons[key]))
            return tuple(part for part in parts if part not in ("", "-1"))
    return ()


READERS = {"bioc": read_bioc}
