"""Readers for standoff-annotated corpora: brat, BioCreative II GM, S800, DECA, FSU-PRGE (MMAX2).

Every reader keeps the source text exactly (no newline or whitespace normalisation) and turns the source's
offsets into Python string indices, end exclusive. DECA and FSU-PRGE are read straight from their release
archives (or from an unpacked copy of the same layout).
"""

from __future__ import annotations

import re
import tarfile
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

from mtaal.corpora.model import Document, Mention, Problem
from mtaal.errors import CorpusFormatError

# ---------------------------------------------------------------------------------------------------------
# Shared helpers


def _decode(data: bytes, path: Path) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise CorpusFormatError(
            path, line, "UTF-8 text", repr(data[error.start : error.start + 20])
        ) from None


def _read_text(path: Path) -> str:
    """The file's text exactly as stored (bytes decoded, no newline translation), so offsets stay valid."""
    return _decode(path.read_bytes(), path)


def _numbered_lines(text: str) -> Iterator[tuple[int, str]]:
    """(line number, line) without the line break; blank lines skipped. Splits on "\\n" only, since
    str.splitlines would also split inside annotation text at characters such as U+2028."""
    for number, line in enumerate(text.split("\n"), start=1):
        line = line.removesuffix("\r")
        if line.strip():
            yield number, line


def _record_orphan(
    stand_ins: dict[str, Document],
    doc_id: str,
    detail: str,
    entity_type: str | None,
    subset: str | None = None,
) -> Document | None:
    """Records an annotation whose document the release lacks as a ``missing_document`` problem on a text-less
    stand-in document (so the loss is reported, not silent). Returns the stand-in when it is new."""
    new = doc_id not in stand_ins
    if new:
        stand_ins[doc_id] = Document(doc_id, "", subset=subset)
    stand_ins[doc_id].problems.append(Problem(doc_id, "missing_document", detail, entity_type=entity_type))
    return stand_ins[doc_id] if new else None


def _int(value: str, path: Path, line: int, expected: str, found: str) -> int:
    if not value.isdigit():
        raise CorpusFormatError(path, line, expected, found)
    return int(value)


def _read_id_map(path: Path) -> dict[str, str]:
    expected = "two whitespace-separated columns 'OLD_ID NEW_ID'"
    mapping: dict[str, str] = {}
    for number, line in _numbered_lines(_read_text(path)):
        fields = line.split()
        if len(fields) != 2:
            raise CorpusFormatError(path, number, expected, line)
        mapping[fields[0]] = fields[1]
    return mapping


def _archive_files(source: Path, wanted: Callable[[str], bool]) -> dict[str, bytes]:
    """Files of a release, by '/'-separated name, from a .tar/.tar.gz/.tgz archive or an unpacked directory.

    Only names for which ``wanted`` is true are read; the archive is streamed, never extracted to disk.
    """
    files: dict[str, bytes] = {}
    if source.is_dir():
        for path in source.rglob("*"):
            name = path.relative_to(source).as_posix()
            if path.is_file() and wanted(name):
                files[name] = path.read_bytes()
        return files
    if not source.is_file():
        raise FileNotFoundError(f"{source}: release archive or directory not found")
    try:
        with tarfile.open(source, "r:*") as archive:
            for member in archive:
                if member.isfile() and wanted(member.name):
                    extracted = archive.extractfile(member)
                    if extracted is not None:
                        files[member.name.removeprefix("./")] = extracted.read()
    except tarfile.TarError as error:
        raise CorpusFormatError(source, None, "a tar archive (.tar, .tar.gz, .tgz)", str(error)) from None
    return files


def _huner_file_id(file_name: str) -> str:
    """Document id as HUNER derives it from a file name: ``name.strip(".txt")``.

    That strips the characters '.', 't' and 'x' from both ends (not the suffix), so "yeast_00053_devtest.txt"
    becomes "yeast_00053_devtes"; the HUNER split lists use exactly these ids.
    """
    return file_name.rsplit("/", 1)[-1].strip(".txt")  # noqa: B005 (HUNER's quirk, reproduced on purpose)


# ---------------------------------------------------------------------------------------------------------
# brat standoff

_BRAT_TEXTBOUND = re.compile(r"(T\S*)\t(\S+) (\d+) (\d+)((?:;\d+ \d+)*)(?:\t(.*))?")
_BRAT_NORMALIZATION = re.compile(r"(N\S*)\t\S+ (T\S*) (\S+)(?:\t(.*))?")
_BRAT_IGNORED = ("R", "E", "A", "M", "#", "*")
_BRAT_T_FORM = "a brat text-bound line 'T<n>\\t<type> <start> <end>[;<start> <end>...]\\t<text>'"
_BRAT_N_FORM = "a brat normalization line 'N<n>\\tReference T<n> <db>:<id>\\t<text>'"


def read_brat(
    root: Path,
    directories: dict[str, str] | None = None,
    id_map: str | None = None,
) -> list[Document]:
    """brat standoff: ``NAME.txt`` + ``NAME.ann`` per document (https://brat.nlplab.org/standoff.html).

    ``T`` lines become mentions (``;``-separated discontinuous fragments kept as ``fragments``), ``N`` lines
    add concept ids to their ``T``; relation, event, attribute and note lines are ignored. ``directories``
    maps a subset name to a directory of .txt/.ann pairs (default: JNLPBA's ``standoff/train``, the
    spyysalo/jnlpba conversion of the JNLPBA 2004 training data). The document id is the file name stem,
    renamed through ``id_map`` (a two-column ``OLD NEW`` file, e.g. ``conversion/MUID-PMID-map.txt``)
    when given; ids absent from the map stay as they are.
    """
    directories = {"train": "standoff/train"} if directories is None else directories
    rename = _read_id_map(root / id_map) if id_map else {}
    documents: list[Document] = []
    stand_ins: dict[str, Document] = {}
    for subset, directory in directories.items():
        folder = root / directory
        if not folder.is_dir():
            raise FileNotFoundError(f"{folder}: brat directory not found")
        stems = {path.stem for path in folder.glob("*.txt")}
        for stem in sorted(stems | {path.stem for path in folder.glob("*.ann")}):
            doc_id = rename.get(stem, stem)
            if stem not in stems:
                _record_orphan(stand_ins, doc_id, f"{directory}/{stem}.ann has no {stem}.txt", None, subset)
                continue
            document = Document(doc_id, _read_text(folder / f"{stem}.txt"), subset=subset)
            ann = folder / f"{stem}.ann"
            if ann.is_file():
                _parse_brat_ann(ann, document)
            documents.append(document)
    return [*documents, *stand_ins.values()]


def _parse_brat_ann(path: Path, document: Document) -> None:
    mentions: dict[str, Mention] = {}
    concepts: list[tuple[int, str, str, str]] = []
    for number, line in _numbered_lines(_read_text(path)):
        if line.startswith("T"):
            match = _BRAT_TEXTBOUND.fullmatch(line)
            if match is None:
                raise CorpusFormatError(path, number, _BRAT_T_FORM, line)
            mentions[match[1]] = _brat_mention(match)
        elif line.startswith("N"):
            match = _BRAT_NORMALIZATION.fullmatch(line)
            if match is None:
                raise CorpusFormatError(path, number, _BRAT_N_FORM, line)
            concepts.append((number, match[1], match[2], match[3]))
        elif not line.startswith(_BRAT_IGNORED):
            raise CorpusFormatError(
                path, number, "a brat annotation line starting with T, R, E, A, M, N, # or *", line
            )
    # N lines may precede the T line they refer to, so they are applied once all T lines are known.
    for number, n_id, t_id, concept in concepts:
        if t_id not in mentions:
            detail = f"{path.name}:{number}: {n_id} refers to unknown {t_id} ({concept})"
            document.problems.append(Problem(document.doc_id, "unknown_reference", detail))
            continue
        mention = mentions[t_id]
        mentions[t_id] = replace(mention, concept_ids=(*mention.concept_ids, concept))
    document.mentions.extend(mentions.values())


def _brat_mention(match: re.Match[str]) -> Mention:
    entity_type, start, end, more, text = match[2], int(match[3]), int(match[4]), match[5], match[6]
    if not more:
        return Mention(start, end, entity_type, text)
    fragments = ((start, end), *(tuple(map(int, span.split(" "))) for span in more[1:].split(";")))
    return Mention(start, fragments[-1][1], entity_type, text, fragments=fragments)


# ---------------------------------------------------------------------------------------------------------
# BioCreative II gene mention

_BC2GM_SUBSETS = {
    "train": {"text": "train/train.in", "annotations": "train/GENE.eval"},
    "test": {"text": "test/test.in", "annotations": "test/GENE.eval"},
}
_BC2GM_ANNOTATION = re.compile(r"([^|]+)\|(\d+) (\d+)\|(.*)")


def read_bc2gm(root: Path, subsets: dict[str, dict[str, str]] | None = None) -> list[Document]:
    """BioCreative II gene mention task (Smith et al. 2008; https://biocreative.bioinformatics.udel.edu/
    tasks/biocreative-ii/task-1a-gene-mention-tagging/): ``*.in`` holds ``SENTENCE_ID text`` per line,
    ``GENE.eval`` holds ``SENTENCE_ID|start end|text`` where the offsets count non-whitespace characters and
    the end is inclusive. One document per sentence; its id is the sentence id (test ids are the release's
    ``BC2GM…`` ids, as in HUNER's split lists). ``ALTGENE.eval`` (acceptable alternative boundaries, used only
    by the official scorer) is deliberately not read: gold mentions come from ``GENE.eval`` alone.
    """
    subsets = _BC2GM_SUBSETS if subsets is None else subsets
    documents: list[Document] = []
    for subset, files in subsets.items():
        by_id: dict[str, Document] = {}
        for doc in _read_bc2gm_sentences(root / files["text"], subset):
            by_id.setdefault(doc.doc_id, doc)
            documents.append(doc)
        for doc in _read_bc2gm_mentions(root / files["annotations"], by_id, subset):
            documents.append(doc)
    return documents


def _read_bc2gm_sentences(path: Path, subset: str) -> Iterator[Document]:
    for number, line in _numbered_lines(_read_text(path)):
        doc_id, space, text = line.partition(" ")
        if not space or not doc_id:
            raise CorpusFormatError(path, number, "'SENTENCE_ID sentence text'", line)
        yield Document(doc_id, text, subset=subset, sentences=[(0, len(text))])


def _read_bc2gm_mentions(path: Path, by_id: dict[str, Document], subset: str) -> Iterator[Document]:
    """Adds the mentions to ``by_id``; yields stand-ins for sentence ids the text file lacks."""
    non_space: dict[str, list[int]] = {}
    stand_ins: dict[str, Document] = {}
    for number, line in _numbered_lines(_read_text(path)):
        match = _BC2GM_ANNOTATION.fullmatch(line)
        if match is None:
            raise CorpusFormatError(path, number, "'SENTENCE_ID|start end|text' (non-space offsets)", line)
        doc_id, first, last, text = match[1], int(match[2]), int(match[3]), match[4]
        if doc_id not in by_id:
            detail = f"{path.name}:{number}: sentence not in the text file ({text!r})"
            stand_in = _record_orphan(stand_ins, doc_id, detail, "GENE", subset)
            if stand_in is not None:
                yield stand_in
            continue
        document = by_id[doc_id]
        if doc_id not in non_space:
            non_space[doc_id] = [i for i, char in enumerate(document.text) if not char.isspace()]
        positions = non_space[doc_id]
        if not first <= last < len(positions):
            detail = f"{path.name}:{number}: non-space offsets {first} {last} outside the sentence ({text!r})"
            document.problems.append(Problem(doc_id, "out_of_range", detail, entity_type="GENE"))
            continue
        document.mentions.append(Mention(positions[first], positions[last] + 1, "GENE", text))


# ---------------------------------------------------------------------------------------------------------
# S800


def read_s800(root: Path, annotations: str = "S800.tsv", abstracts: str = "abstracts") -> list[Document]:
    """S800 species corpus (Pafilis et al. 2013; S800-1.0.tar.gz from https://species.jensenlab.org/).

    ``abstracts/speciesNNN.txt`` holds each document (title line, blank line, abstract); ``S800.tsv`` holds
    ``taxonomy_id<TAB>speciesNNN:PMID<TAB>start<TAB>end<TAB>text`` with offsets into that file, end inclusive.
    Document ids are the file stems ("species001"), as in HUNER's split lists. All 800 abstracts are
    documents, annotated or not. Mentions have type "Species" and concept id "NCBITaxon:<taxonomy_id>".
    """
    folder = root / abstracts
    documents = {path.stem: Document(path.stem, _read_text(path)) for path in sorted(folder.glob("*.txt"))}
    if not documents:
        raise FileNotFoundError(f"{folder}: no S800 abstracts (*.txt) found")
    stand_ins: dict[str, Document] = {}
    path = root / annotations
    expected = "'taxonomy_id<TAB>speciesNNN:PMID<TAB>start<TAB>end<TAB>text' (end inclusive)"
    for number, line in _numbered_lines(_read_text(path)):
        fields = line.split("\t")
        if len(fields) != 5 or not fields[0]:
            raise CorpusFormatError(path, number, expected, line)
        taxon, source_id, first, last, text = fields
        start = _int(first, path, number, expected, line)
        end = _int(last, path, number, expected, line) + 1
        doc_id = source_id.split(":", 1)[0]
        if doc_id not in documents:
            _record_orphan(stand_ins, doc_id, f"{path.name}:{number}: no {doc_id}.txt ({text!r})", "Species")
            continue
        documents[doc_id].mentions.append(Mention(start, end, "Species", text, (f"NCBITaxon:{taxon}",)))
    return [*documents.values(), *stand_ins.values()]


# ---------------------------------------------------------------------------------------------------------
# DECA


def read_deca(root: Path, archive: str = "species_corpus_0.2.tar.gz") -> list[Document]:
    """DECA gene/protein corpus (Wang et al. 2010, NaCTeM; http://www.nactem.ac.uk/deca/, released as
    ``species_corpus_0.2.tar.gz``). Layout: ``species_corpus_0.2/text/<file>`` (one abstract per file) and
    ``species_corpus_0.2/gold.txt`` with tab-separated ``<file> <start> <end> <text> ...`` lines (offsets
    into the text file, end exclusive; further columns, the species the gene belongs to, are not read).

    ``archive`` is the release archive or an unpacked copy of it. Every text file is a document; ids follow
    HUNER (see :func:`_huner_file_id`). Mentions have type "Gene".
    """
    source = root / archive
    files = _archive_files(source, lambda name: re.search(r"(^|/)(gold\.txt|text/[^/]+)$", name) is not None)
    gold_names = [name for name in files if name.rsplit("/", 1)[-1] == "gold.txt"]
    if len(gold_names) != 1:
        raise CorpusFormatError(
            source, None, "exactly one gold.txt in the DECA release", f"{len(gold_names)} found"
        )
    prefix = gold_names[0][: -len("gold.txt")]
    texts: dict[str, Document] = {}
    for name in sorted(files):
        file_name = name.removeprefix(f"{prefix}text/")
        if name.startswith(f"{prefix}text/") and not file_name.startswith("."):
            texts[file_name] = Document(_huner_file_id(file_name), _decode(files[name], source / name))
    stand_ins: dict[str, Document] = {}
    gold = source / gold_names[0]
    expected = "'<file><TAB><start><TAB><end><TAB><text>[<TAB>...]' (end exclusive)"
    for number, line in _numbered_lines(_decode(files[gold_names[0]], gold)):
        fields = line.split("\t")
        if len(fields) < 4:
            raise CorpusFormatError(gold, number, expected, line)
        start = _int(fields[1].strip(), gold, number, expected, line)
        end = _int(fields[2].strip(), gold, number, expected, line)
        file_name = fields[0].strip()
        if file_name not in texts:
            detail = f"gold.txt:{number}: no text/{file_name} ({fields[3]!r})"
            _record_orphan(stand_ins, _huner_file_id(file_name), detail, "Gene")
            continue
        texts[file_name].mentions.append(Mention(start, end, "Gene", fields[3]))
    return [*texts.values(), *stand_ins.values()]


# ---------------------------------------------------------------------------------------------------------
# FSU-PRGE (MMAX2)

_FSU_FILES = ("Basedata/Basedata.xml", "Markables/sentence.xml", "Markables/proteins.xml", "Basedata.uri")
_FSU_MEMBER = re.compile(r"(?:.*/)?([^/]+)/mmax/([^/.][^/]*)/(" + "|".join(map(re.escape, _FSU_FILES)) + ")")
_MMAX_SPAN = re.compile(r"([^,.\s]+)(?:\.\.([^,.\s]+))?")
_MMAX_SPAN_FORM = "an MMAX2 span 'word_a..word_b' or a comma-separated list of such pieces"


def read_fsu(root: Path, archive: str = "fsu_prge_release_v1_0.tgz") -> list[Document]:
    """FSU-PRGE gene/protein corpus (Hahn et al. 2010, JULIE Lab; https://julielab.de/Resources/FSU_PRGE.html,
    ``fsu_prge_release_v1_0.tgz``): one MMAX2 project per abstract at
    ``fsu-prge-release-v1.0/<subcorpus>/mmax/<doc>/`` with ``Basedata/Basedata.xml`` (tokens),
    ``Markables/sentence.xml``, ``Markables/proteins.xml`` (type in the ``proteins`` attribute: protein,
    protein_familiy_or_group, protein_complex, protein_variant, protein_enum) and ``Basedata.uri`` (the PMID,
    used as document id as in HUNER).

    Text: tokens joined by single spaces, sentences by newlines (sentence spans recorded). Multi-piece
    markable spans become discontinuous mentions. A project with a missing or unparseable file (both HUNER
    and flair skip such projects) becomes an empty document carrying an ``unreadable_document`` problem.
    """
    source = root / archive
    files = _archive_files(source, lambda name: _FSU_MEMBER.fullmatch(name) is not None)
    projects: dict[tuple[str, str], dict[str, tuple[str, bytes]]] = {}
    for name, data in files.items():
        match = _FSU_MEMBER.fullmatch(name)
        assert match is not None
        projects.setdefault((match[1], match[2]), {})[match[3]] = (name, data)
    if not projects:
        raise CorpusFormatError(source, None, "MMAX2 projects at <subcorpus>/mmax/<doc>/ (FSU-PRGE release)")
    return [_fsu_document(source, key, projects[key]) for key in sorted(projects)]


def _fsu_document(source: Path, key: tuple[str, str], parts: dict[str, tuple[str, bytes]]) -> Document:
    doc_id = key[1]
    if "Basedata.uri" in parts:
        uri_name, uri_data = parts["Basedata.uri"]
        doc_id = _decode(uri_data, source / uri_name).strip()
        if not doc_id:
            raise CorpusFormatError(source / uri_name, 1, "the document's PMID", "")
    trees = _fsu_trees(key, parts)
    if isinstance(trees, str):
        return Document(doc_id, "", problems=[Problem(doc_id, "unreadable_document", trees)])
    words = [(word.get("id", ""), word.text or "") for word in trees[0].iter() if _local(word.tag) == "word"]
    index = {word_id: position for position, (word_id, _) in enumerate(words)}
    sentence_name, sentence_data = parts[_FSU_FILES[1]]
    sentences = [pieces for pieces, _ in _markables(trees[1], sentence_data, index, source / sentence_name)]
    text, starts, ends = _join_words([word for _, word in words], {pieces[0][0] for pieces in sentences})
    document = Document(doc_id, text, sentences=sorted((starts[p[0][0]], ends[p[-1][1]]) for p in sentences))
    proteins_name, proteins_data = parts[_FSU_FILES[2]]
    for pieces, markable in _markables(trees[2], proteins_data, index, source / proteins_name, document):
        entity_type = markable.get("proteins")
        if entity_type is None:
            detail = f"{proteins_name}: markable {markable.get('id')} has no 'proteins' type attribute"
            document.problems.append(Problem(doc_id, "unreadable_annotation", detail))
            continue
        fragments = tuple((starts[first], ends[last]) for first, last in pieces)
        multiple = fragments if len(fragments) > 1 else ()
        document.mentions.append(Mention(fragments[0][0], fragments[-1][1], entity_type, fragments=multiple))
    return document


def _fsu_trees(key: tuple[str, str], parts: dict[str, tuple[str, bytes]]) -> list[ET.Element] | str:
    """The parsed words, sentence and proteins files, or why the project cannot be read."""
    missing = [part for part in _FSU_FILES if part not in parts]
    if missing:
        return f"{key[0]}/mmax/{key[1]}: missing {', '.join(missing)}"
    trees = []
    for part in _FSU_FILES[:3]:
        name, data = parts[part]
        try:
            trees.append(ET.fromstring(data))
        except ET.ParseError as error:
            return f"{name}: invalid XML ({error})"
    return trees


def _local(tag: str) -> str:
    """Element name without its namespace (MMAX2 markable files declare one per annotation level)."""
    return tag.rsplit("}", 1)[-1]


def _join_words(words: list[str], first_words: set[int]) -> tuple[str, list[int], list[int]]:
    """Text with words joined by spaces and a newline before each sentence's first word; word offsets."""
    parts: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    offset = 0
    for position, word in enumerate(words):
        if position:
            parts.append("\n" if position in first_words else " ")
            offset += 1
        starts.append(offset)
        parts.append(word)
        offset += len(word)
        ends.append(offset)
    return "".join(parts), starts, ends


def _markables(
    tree: ET.Element, data: bytes, index: dict[str, int], path: Path, document: Document | None = None
) -> list[tuple[list[tuple[int, int]], ET.Element]]:
    """Each markable whose span resolves, with its word pieces as (first, last) positions, adjacent pieces
    merged. A span naming an unknown word id is a problem on ``document`` (when given) and is left out."""
    result = []
    for markable in tree.iter():
        if _local(markable.tag) != "markable":
            continue
        span = markable.get("span", "")
        pieces = _span_pieces(span, index)
        if pieces is None:
            line = _line_of(data, f'"{markable.get("id")}"')
            raise CorpusFormatError(path, line, _MMAX_SPAN_FORM, f"{markable.get('id')}: {span!r}")
        if pieces:
            result.append((pieces, markable))
        elif document is not None:
            detail = f"{path.name}: markable {markable.get('id')} span {span!r} names an unknown word"
            document.problems.append(Problem(document.doc_id, "unknown_word", detail))
    return result


def _span_pieces(span: str, index: dict[str, int]) -> list[tuple[int, int]] | None:
    """(first, last) word positions of an MMAX2 span; [] if it names an unknown word, None if malformed."""
    pieces: list[tuple[int, int]] = []
    for piece in span.split(","):
        match = _MMAX_SPAN.fullmatch(piece.strip())
        if match is None:
            return None
        first, last = index.get(match[1]), index.get(match[2] or match[1])
        if first is None or last is None:
            return []
        if pieces and pieces[-1][1] + 1 == first:
            pieces[-1] = (pieces[-1][0], last)  # adjacent pieces are one contiguous span
        else:
            pieces.append((first, last))
    return pieces


def _line_of(data: bytes, needle: str) -> int | None:
    """Line number of the first occurrence of ``needle`` (ElementTree keeps no line numbers)."""
    found = data.find(needle.encode("utf-8"))
    return None if found < 0 else data.count(b"\n", 0, found) + 1


READERS = {"brat": read_brat, "bc2gm": read_bc2gm, "s800": read_s800, "deca": read_deca, "fsu": read_fsu}
