"""XML corpus readers: unified PPI XML (BioInfer, IEPA), SCAI miRNA XML, OSIRIS v0.2, ChEBI patents.

Shared helpers parse XML with expat so that format errors can name the line of the offending element.
"""

from __future__ import annotations

import re
import tarfile
from collections.abc import Iterable, Mapping
from pathlib import Path, PurePosixPath
from xml.etree import ElementTree as ET
from xml.parsers import expat

from mtaal.corpora.model import Document, Mention, Problem
from mtaal.errors import CorpusFormatError

_OFFSET = re.compile(r"\s*(\d+)-(\d+)\s*")
_SPAN = re.compile(r"(\d+)\.\.(\d+)")


class _Tree:
    """A parsed XML file: its root element and the line on which each element starts."""

    def __init__(self, path: str | Path, root: ET.Element, lines: dict[ET.Element, int]):
        self.path = path
        self.root = root
        self.lines = lines

    def error(self, element: ET.Element, expected: str, found: str = "") -> CorpusFormatError:
        return CorpusFormatError(self.path, self.lines.get(element), expected, found)


def _parse_xml(data: bytes, path: str | Path) -> _Tree:
    parser = expat.ParserCreate()
    builder = ET.TreeBuilder()
    lines: dict[ET.Element, int] = {}

    def start(tag: str, attrs: dict[str, str]) -> None:
        lines[builder.start(tag, attrs)] = parser.CurrentLineNumber

    parser.StartElementHandler = start
    parser.EndElementHandler = builder.end
    parser.CharacterDataHandler = builder.data
    parser.buffer_text = True
    try:
        parser.Parse(data, True)
    except expat.ExpatError as err:
        raise CorpusFormatError(
            path, err.lineno, "well-formed XML", expat.errors.messages[err.code]
        ) from None
    return _Tree(path, builder.close(), lines)


def _read_xml(path: Path) -> _Tree:
    if not path.is_file():
        raise CorpusFormatError(path, None, "an XML corpus file at this path", "no such file")
    return _parse_xml(path.read_bytes(), path)


def _required(tree: _Tree, element: ET.Element, name: str) -> str:
    value = element.get(name)
    if value is None:
        raise tree.error(
            element, f"<{element.tag}> with a {name!r} attribute", ET.tostring(element, "unicode")
        )
    return value


def _char_offsets(value: str, end_inclusive: bool) -> list[tuple[int, int]] | None:
    """'0-5' or '0-5,10-15' as sorted (start, end-exclusive) pieces; None when unparseable."""
    pieces = []
    for part in value.split(","):
        match = _OFFSET.fullmatch(part)
        if match is None:
            return None
        start, end = int(match[1]), int(match[2]) + end_inclusive
        if end < start:
            return None
        pieces.append((start, end))
    return sorted(pieces)


def _entity_mention(
    element: ET.Element, shift: int, doc_id: str, end_inclusive: bool, default_type: str | None
) -> Mention | Problem:
    """A charOffset <entity> (offsets relative to its sentence) as a mention in the document text."""
    entity_type = element.get("type", default_type)
    offset = element.get("charOffset", "")
    pieces = _char_offsets(offset, end_inclusive)
    if entity_type is None:
        return Problem(doc_id, "missing_type", f"entity {element.get('id')} has no type")
    if pieces is None:
        detail = f"entity {element.get('id')} has charOffset {offset!r}"
        return Problem(doc_id, "bad_offset", detail, entity_type=entity_type)
    fragments = tuple((start + shift, end + shift) for start, end in pieces)
    return Mention(
        fragments[0][0],
        fragments[-1][1],
        entity_type,
        text=element.get("text"),
        fragments=fragments if len(fragments) > 1 else (),
    )


def _sentence_document(
    tree: _Tree,
    doc_id: str,
    sentences: list[ET.Element],
    separator: str,
    end_inclusive: bool,
    default_type: str | None,
    stray_entities: Iterable[ET.Element] = (),
    subset: str | None = None,
) -> Document:
    """Join sentence texts with ``separator``; shift each sentence's entity offsets into the joined text."""
    document = Document(doc_id, "", subset=subset, sentences=[])
    by_id = {sentence.get("id"): sentence for sentence in sentences}
    attached: dict[ET.Element, list[ET.Element]] = {
        sentence: list(sentence.iter("entity")) for sentence in sentences
    }
    for entity in stray_entities:
        # An <entity> placed after its (self-closed) sentence: its id names that sentence.
        owner = by_id.get((entity.get("id") or "").rpartition(".")[0])
        if owner is None:
            detail = f"entity {entity.get('id')} outside any sentence (line {tree.lines.get(entity)})"
            document.problems.append(Problem(doc_id, "stray_entity", detail, entity_type=entity.get("type")))
        else:
            attached[owner].append(entity)
    parts: list[str] = []
    position = 0
    for index, sentence in enumerate(sentences):
        if index:
            parts.append(separator)
            position += len(separator)
        text = _required(tree, sentence, "text")
        parts.append(text)
        document.sentences.append((position, position + len(text)))
        for entity in attached[sentence]:
            result = _entity_mention(entity, position, doc_id, end_inclusive, default_type)
            (document.mentions if isinstance(result, Mention) else document.problems).append(result)
        position += len(text)
    document.text = "".join(parts)
    return document


def _xml_files(root: Path, files: Iterable[str] | None) -> list[Path]:
    if files is None:
        found = sorted(root.glob("*.xml"))
        if not found:
            raise CorpusFormatError(root, None, "at least one *.xml corpus file in this directory", "none")
        return found
    return [root / name for name in files]


def read_ppi_xml(
    root: Path,
    files: list[str] | None = None,
    unit: str = "document",
    end_inclusive: bool = False,
    default_type: str | None = "protein",
    separator: str = "\n",
    id_replace: Mapping[str, str] | None = None,
) -> list[Document]:
    """Unified PPI XML (Pyysalo et al. 2008): corpus/document/sentence[@text]/entity[@charOffset].

    The mirror holds metalrt/ppi-dataset's conversion (github.com/metalrt/ppi-dataset, ``csv_output/``) of
    BioInfer 1.1.1 (mars.cs.utu.fi/BioInfer) and IEPA. Entity offsets are sentence-relative; a discontinuous
    entity lists its pieces ("65-71,82-87"). metalrt's files use END-EXCLUSIVE offsets (every entity text
    matches that way), the original unified-format releases use inclusive ends: set ``end_inclusive``.
    The files' train/test partition (``set`` attribute, file names) is metalrt's own and is ignored.

    ``files``: XML files under ``root`` (default: every ``*.xml``).
    ``unit="document"``: one document per <document>, its sentences joined by ``separator``; the doc id is
    the document's ``id`` with each ``id_replace`` key replaced by its value (IEPA: {".": "_"} gives the
    HUNER ids "IEPA_d0"). ``unit="sentence"``: one document per sentence; doc id = the sentence's 0-based
    position when all sentences are ordered by numeric ``origId`` (the order of BioInfer_corpus_1.1.1.xml,
    which HUNER's bioinfer split ids index). ``default_type`` is used for entities without a ``type``
    (IEPA's file omits it; all its entities are proteins).
    """
    if unit not in ("document", "sentence"):
        raise ValueError(f"ppi_xml: unit must be 'document' or 'sentence', not {unit!r}")
    trees = [_read_xml(path) for path in _xml_files(root, files)]
    if unit == "sentence":
        return _ppi_sentence_documents(trees, end_inclusive, default_type)
    documents = []
    for tree in trees:
        for element in tree.root.iter("document"):
            doc_id = _required(tree, element, "id")
            for old, new in (id_replace or {}).items():
                doc_id = doc_id.replace(old, new)
            sentences = element.findall("sentence")
            documents.append(
                _sentence_document(tree, doc_id, sentences, separator, end_inclusive, default_type)
            )
    return documents


def _ppi_sentence_documents(
    trees: list[_Tree], end_inclusive: bool, default_type: str | None
) -> list[Document]:
    keyed = []
    for tree in trees:
        for sentence in tree.root.iter("sentence"):
            orig_id = _required(tree, sentence, "origId")
            if not orig_id.isdigit():
                raise tree.error(sentence, "a numeric sentence origId", orig_id)
            keyed.append((int(orig_id), tree, sentence))
    keyed.sort(key=lambda item: item[0])
    return [
        _sentence_document(tree, str(index), [sentence], "", end_inclusive, default_type)
        for index, (_, tree, sentence) in enumerate(keyed)
    ]


_MIRNA_FILES = {"train": "miRNA-Train-Corpus.xml", "test": "miRNA-Test-Corpus.xml"}


def read_mirna_xml(
    root: Path, files: Mapping[str, str] | None = None, separator: str = "\n"
) -> list[Document]:
    """SCAI miRNA corpus XML (Bagewadi et al. 2014), scai.fraunhofer.de ``miRNA-{Train,Test}-Corpus.xml``.

    corpus/document[@origId = PMID]/sentence[@text]/entity[@charOffset, @type]; offsets are sentence-relative
    with INCLUSIVE ends. Sentences carry no offsets, so the document text is the sentence texts (each with its
    own trailing space) joined by ``separator``. The doc id is the PMID; the subset comes from the file
    (``files``: subset -> file name). One train entity sits after its self-closed sentence (d199.s5): it is
    attached to the sentence its id names.
    """
    documents = []
    for subset, name in (files or _MIRNA_FILES).items():
        tree = _read_xml(root / name)
        for element in tree.root.iter("document"):
            doc_id = _required(tree, element, "origId")
            documents.append(
                _sentence_document(
                    tree,
                    doc_id,
                    element.findall("sentence"),
                    separator,
                    end_inclusive=True,
                    default_type=None,
                    stray_entities=element.findall("entity"),
                    subset=subset,
                )
            )
    return documents


def _archive_members(root: Path, archive: str) -> dict[str, bytes]:
    """Every regular file in a tar archive (read in memory, never extracted), by member name."""
    path = root / archive
    if not path.is_file():
        raise CorpusFormatError(path, None, "a tar archive at this path", "no such file")
    try:
        with tarfile.open(path) as tar:
            return {m.name: tar.extractfile(m).read() for m in tar.getmembers() if m.isfile()}
    except tarfile.TarError as err:
        raise CorpusFormatError(path, None, "a readable tar archive", str(err)) from None


def _decode(data: bytes, path: Path) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as err:
        line = data[: err.start].count(b"\n") + 1
        raise CorpusFormatError(path, line, "UTF-8 text", repr(data[err.start : err.start + 20])) from None


def _natural_key(name: str) -> list[object]:
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", name)]


def read_osiris(root: Path, archive: str = "OSIRIScorpusv02.tar") -> list[Document]:
    """OSIRIS corpus v0.2 (Furlong et al. 2008), ibi.imim.es/OSIRIScorpusv02.tar (re-hosted by hu-ner).

    ``OSIRIScorpusv02/articleN.txt`` holds "PMID\\n\\ntitle\\n\\nabstract"; ``articleN.txt.ann`` is an
    AnnotationFile of <Annotation type=... span="start..end"> (end exclusive) over that text. Types: ge
    (gene), and for variants so/sa (state original/altered), lo (location), ty (variation type), plus sg and
    ev, which the release README does not define; ``comment`` holds a dbSNP id. The outer type="file"
    annotation spans the whole text and is not an entity. The text is kept exactly, PMID line included; the
    doc id is that PMID (or the file name when the text is empty, as for article74).
    """
    members = _archive_members(root, archive)
    documents = []
    for name in sorted((n for n in members if n.endswith(".txt.ann")), key=_natural_key):
        text_name = name[: -len(".ann")]
        if text_name not in members:
            raise CorpusFormatError(root / archive / name, None, f"the text file {text_name} in the archive")
        text = _decode(members[text_name], root / archive / text_name)
        tree = _parse_xml(members[name], root / archive / name)
        documents.append(_osiris_document(tree, text, PurePosixPath(text_name).stem))
    return documents


def _osiris_document(tree: _Tree, text: str, stem: str) -> Document:
    pmid = text.split("\n", 1)[0].strip()
    document = Document(pmid if pmid.isdigit() else stem, text)
    if not pmid.isdigit():
        detail = f"{stem}: first line {pmid[:40]!r} is not a PMID; id taken from the file name"
        document.problems.append(Problem(document.doc_id, "no_pmid", detail))
    for element in tree.root.iter("Annotation"):
        entity_type = _required(tree, element, "type")
        if entity_type == "file":
            continue
        span = _required(tree, element, "span")
        match = _SPAN.fullmatch(span)
        if match is None:
            detail = f"annotation {element.get('id')} has span {span!r}"
            document.problems.append(Problem(document.doc_id, "bad_offset", detail, entity_type=entity_type))
            continue
        comment = element.get("comment")
        concept_ids = (comment,) if comment else ()
        document.mentions.append(Mention(int(match[1]), int(match[2]), entity_type, concept_ids=concept_ids))
    return document


def read_chebi(
    root: Path, archive: str = "PatentAnnotations_GoldStandard.tgz", file_name: str = "source.xml"
) -> list[Document]:
    """ChEBI patent gold standard (chapati), SourceForge CVS chebi/chapati/patentsGoldStandard/.

    ``PatentAnnotations_GoldStandard.tgz`` holds OSCAR3 scrapbook files ``scrapbook/<patent id>/source.xml``
    (the layout the HUNER chebi converter and the BigBio loader read): <snippet> elements whose text carries
    inline <ne type="..." chebi-id="..."> chemical mentions. The document text is the character data of the
    snippets joined by "\\n" (whitespace kept); each <ne> is a mention over its own text, nested ones too.
    The doc id is the patent directory name (e.g. WO2007000651, as in HUNER ``chebi.*``).
    """
    members = _archive_members(root, archive)
    documents = []
    for name in sorted(n for n in members if PurePosixPath(n).name == file_name):
        doc_id = PurePosixPath(name).parent.name
        tree = _parse_xml(members[name], root / archive / name)
        documents.append(_chebi_document(tree, doc_id))
    return documents


def _chebi_document(tree: _Tree, doc_id: str) -> Document:
    document = Document(doc_id, "")
    parts: list[str] = []
    position = 0
    for index, snippet in enumerate(tree.root.iter("snippet")):
        if index:
            parts.append("\n")
            position += 1
        position = _inline_text(snippet, parts, position, document)
    document.text = "".join(parts)
    return document


def _inline_text(element: ET.Element, parts: list[str], position: int, document: Document) -> int:
    """Append ``element``'s character data to ``parts``; record its <ne> descendants; return the new end."""
    if element.text:
        parts.append(element.text)
        position += len(element.text)
    for child in element:
        start = position
        position = _inline_text(child, parts, position, document)
        if child.tag == "ne":
            result = _ne_mention(child, start, position, document.doc_id)
            (document.mentions if isinstance(result, Mention) else document.problems).append(result)
        if child.tail:
            parts.append(child.tail)
            position += len(child.tail)
    return position


def _ne_mention(element: ET.Element, start: int, end: int, doc_id: str) -> Mention | Problem:
    entity_type = element.get("type")
    if entity_type is None:
        return Problem(doc_id, "missing_type", f"<ne> {element.get('id')} has no type", start, end)
    chebi_ids = tuple(part.strip() for part in element.get("chebi-id", "").split(",") if part.strip())
    return Mention(start, end, entity_type, text="".join(element.itertext()), concept_ids=chebi_ids)


READERS = {
    "ppi_xml": read_ppi_xml,
    "mirna_xml": read_mirna_xml,
    "osiris": read_osiris,
    "chebi": read_chebi,
}
