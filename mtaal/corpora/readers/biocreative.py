"""BioCreative CHEMDNER family: CHEMDNER (BioCreative IV) and CHEMDNER-patents CEMP / GPRO (BioCreative V).

Releases: CHEMDNER https://biocreative.bioinformatics.udel.edu/resources/biocreative-iv/chemdner-corpus/
(``chemdner_corpus/{training,development,evaluation}.{abstracts,annotations}.txt``); CEMP and GPRO
https://biocreative.bioinformatics.udel.edu/resources/corpora/chemdner-patents-cemp-corpus/ and
``.../bc-v-chemdner-patents-gpro-corpus/`` (``chemdner_patents_{train,development}_text.txt`` + gold tsv).

Texts: one document per line, ``id<TAB>title<TAB>abstract``. Annotations: one mention per line,
``id<TAB>T|A<TAB>start<TAB>end<TAB>text<TAB>class[<TAB>db id]``, offsets relative to the title (T) or the
abstract (A). The document text is ``title + separator + abstract`` (separator "\\n" by default) and abstract
offsets are shifted by ``len(title) + len(separator)``.

``entity_type`` is the mention class of column 6 (CHEMDNER/CEMP: ABBREVIATION, FAMILY, FORMULA, IDENTIFIER,
MULTIPLE, NO CLASS, SYSTEMATIC, TRIVIAL; GPRO: ABBREVIATION, FAMILY, FULL_NAME, IDENTIFIER, MULTIPLE, NESTED,
NO_CLASS, SEQUENCE). GPRO's column 7 is the database id of a "type 1" mention (kept as ``concept_ids``; "-"
means none found) or the tag ``GPRO_TYPE_2``. With ``gpro_type=True`` the entity type is instead
"GPRO_TYPE_1" / "GPRO_TYPE_2" from column 7 (the official task evaluates type 1 only; HUNER keeps both).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import NamedTuple

from mtaal.corpora.model import Document, Mention, Problem
from mtaal.corpora.readers.pubtator import subset_name
from mtaal.errors import CorpusFormatError, MissingCorpusError

GPRO_TYPE_2 = "GPRO_TYPE_2"
NO_DB_ID = ("", "-", GPRO_TYPE_2)

# Mirror layout (official annotation files; rebuilt abstracts) and the official release layout.
CHEMDNER_ANNOTATIONS = {
    "train": "chemdner_corpus/training.annotations.txt",
    "dev": "chemdner_corpus/development.annotations.txt",
    "test": "chemdner_corpus/testing.annotations.txt",
}
CHEMDNER_ANNOTATIONS_RELEASE = {**CHEMDNER_ANNOTATIONS, "test": "chemdner_corpus/evaluation.annotations.txt"}
CHEMDNER_ABSTRACTS_RELEASE = {
    "train": "chemdner_corpus/training.abstracts.txt",
    "dev": "chemdner_corpus/development.abstracts.txt",
    "test": "chemdner_corpus/evaluation.abstracts.txt",
}
CHEMDNER_ABSTRACTS_MIRROR = {
    subset: path.replace("chemdner_corpus/", "derived_reconstructed/")
    for subset, path in CHEMDNER_ABSTRACTS_RELEASE.items()
}
CHEMDNER_TEST_LABELS = "chemdner_corpus/chemdner_abs_test_pmid_label.txt"

PATENT_LAYOUTS: tuple[tuple[dict[str, str], dict[str, str]], ...] = (
    (  # CEMP
        {
            "train": "cemp_training_set/chemdner_patents_train_text.txt",
            "dev": "cemp_development_set_v03/chemdner_patents_development_text.txt",
        },
        {
            "train": "cemp_training_set/chemdner_cemp_gold_standard_train.tsv",
            "dev": "cemp_development_set_v03/chemdner_cemp_gold_standard_development_v03.tsv",
        },
    ),
    (  # GPRO
        {
            "train": "gpro_training_set_v02/chemdner_patents_train_text.txt",
            "dev": "gpro_development_set/chemdner_patents_development_text.txt",
        },
        {
            "train": "gpro_training_set_v02/chemdner_gpro_gold_standard_train_v02.tsv",
            "dev": "gpro_development_set/chemdner_gpro_gold_standard_development.tsv",
        },
    ),
)


class SectionAnnotation(NamedTuple):
    """One gold line: offsets are relative to the title (section "T") or the abstract ("A")."""

    doc_id: str
    section: str
    start: int
    end: int
    text: str
    mention_class: str
    db_id: str | None
    line: int


def read_chemdner(
    root: Path,
    abstracts: Mapping[str, str] | None = None,
    annotations: Mapping[str, str] | None = None,
    test_labels: str | None = CHEMDNER_TEST_LABELS,
    separator: str = "\n",
) -> list[Document]:
    """CHEMDNER: ``abstracts`` / ``annotations`` map subset -> path under ``root``.

    ``test_labels`` (PMID<TAB>Y|N) restricts the test abstracts to the 3,000 annotated ones ('Y'); the
    release's evaluation.abstracts.txt also holds 17,000 unannotated background abstracts ('N').
    Ignored when the file is absent.
    """
    root = Path(root)
    abstracts = abstracts or _first_existing(root, CHEMDNER_ABSTRACTS_RELEASE, CHEMDNER_ABSTRACTS_MIRROR)
    annotations = annotations or _first_existing(root, CHEMDNER_ANNOTATIONS, CHEMDNER_ANNOTATIONS_RELEASE)
    keep = _test_ids(root / test_labels) if test_labels and (root / test_labels).is_file() else None
    documents: list[Document] = []
    for subset in abstracts:
        only = keep if subset_name(subset) == "test" else None
        documents += _read_subset(root, subset, abstracts[subset], annotations.get(subset), separator, only)
    return documents


def read_chemdner_patents(
    root: Path,
    texts: Mapping[str, str] | None = None,
    annotations: Mapping[str, str] | None = None,
    separator: str = "\n",
    gpro_type: bool = False,
) -> list[Document]:
    """CEMP or GPRO patents: ``texts`` / ``annotations`` map subset -> path under ``root``.

    Every patent in a text file is a document, annotated or not (HUNER keeps them all).
    """
    root = Path(root)
    if texts is None or annotations is None:
        default_texts, default_annotations = _patent_layout(root)
        texts = texts or default_texts
        annotations = annotations or default_annotations
    documents: list[Document] = []
    for subset in texts:
        documents += _read_subset(
            root, subset, texts[subset], annotations.get(subset), separator, None, gpro_type
        )
    return documents


def _first_existing(root: Path, *layouts: dict[str, str]) -> dict[str, str]:
    for layout in layouts:
        if all((root / path).is_file() for path in layout.values()):
            return dict(layout)
    return dict(layouts[0])


def _patent_layout(root: Path) -> tuple[dict[str, str], dict[str, str]]:
    for texts, gold in PATENT_LAYOUTS:
        if all((root / path).is_file() for path in gold.values()):
            return texts, gold
    return PATENT_LAYOUTS[0]


def _test_ids(path: Path) -> set[str]:
    ids = set()
    for line_number, line in _lines(path):
        parts = line.split("\t")
        if len(parts) != 2 or parts[1] not in ("Y", "N"):
            raise CorpusFormatError(path, line_number, "'PMID<TAB>Y|N'", line)
        if parts[1] == "Y":
            ids.add(parts[0])
    return ids


def _read_subset(
    root: Path,
    subset: str,
    text_path: str,
    annotation_path: str | None,
    separator: str,
    only: set[str] | None,
    gpro_type: bool = False,
) -> list[Document]:
    texts = read_texts(_existing(root / text_path))
    documents = {
        doc_id: Document(doc_id, title + separator + abstract, subset=subset_name(subset))
        for doc_id, (title, abstract) in texts.items()
        if only is None or doc_id in only
    }
    if annotation_path is None:
        return list(documents.values())
    orphans: dict[str, Document] = {}
    for annotation in read_annotations(_existing(root / annotation_path)):
        document = documents.get(annotation.doc_id)
        if document is None:
            # Keep the problem on an empty stand-in document, so that it is reported, not lost.
            document = orphans.setdefault(
                annotation.doc_id, Document(annotation.doc_id, "", subset=subset_name(subset))
            )
            document.problems.append(_problem(annotation, "missing_document", annotation_path))
            continue
        title, _ = texts[annotation.doc_id]
        _add_mention(document, annotation, title, separator, annotation_path, gpro_type)
    return list(documents.values()) + list(orphans.values())


def _existing(path: Path) -> Path:
    if not path.is_file():
        raise MissingCorpusError(f"{path}: corpus file not found (see the corpus README / registry entry)")
    return path


def _add_mention(
    document: Document,
    annotation: SectionAnnotation,
    title: str,
    separator: str,
    source: str,
    gpro_type: bool,
) -> None:
    section_length = (
        len(title) if annotation.section == "T" else len(document.text) - len(title) - len(separator)
    )
    if annotation.start >= annotation.end or annotation.end > section_length:
        kind = "empty_span" if annotation.start == annotation.end else "bad_offsets"
        document.problems.append(_problem(annotation, kind, source))
        return
    shift = 0 if annotation.section == "T" else len(title) + len(separator)
    db_ids = () if annotation.db_id in NO_DB_ID or annotation.db_id is None else (annotation.db_id,)
    entity_type = annotation.mention_class
    if gpro_type:
        entity_type = "GPRO_TYPE_2" if annotation.db_id == GPRO_TYPE_2 else "GPRO_TYPE_1"
    start, end = annotation.start + shift, annotation.end + shift
    document.mentions.append(Mention(start, end, entity_type, annotation.text, db_ids))


def _problem(annotation: SectionAnnotation, kind: str, source: str) -> Problem:
    detail = (
        f"{Path(source).name}:{annotation.line}: {annotation.section}:{annotation.start}:{annotation.end} "
        f"{annotation.text!r}"
    )
    return Problem(annotation.doc_id, kind, detail, None, None, annotation.mention_class)


def read_texts(path: Path) -> dict[str, tuple[str, str]]:
    """``id<TAB>title<TAB>abstract`` lines -> {id: (title, abstract)} (first copy of a repeated id wins)."""
    texts: dict[str, tuple[str, str]] = {}
    for line_number, line in _lines(path):
        if not line:
            continue
        parts = line.split("\t")
        if len(parts) != 3 or not parts[0]:
            raise CorpusFormatError(path, line_number, "'id<TAB>title<TAB>abstract'", line)
        texts.setdefault(parts[0], (parts[1], parts[2]))
    return texts


def read_annotations(path: Path) -> Iterator[SectionAnnotation]:
    """Gold lines ``id<TAB>T|A<TAB>start<TAB>end<TAB>text<TAB>class[<TAB>db id]`` of one file."""
    expected = "'id<TAB>T|A<TAB>start<TAB>end<TAB>text<TAB>class[<TAB>db id]'"
    for line_number, line in _lines(path):
        if not line:
            continue
        parts = line.split("\t")
        if (
            len(parts) not in (6, 7)
            or parts[1] not in ("T", "A")
            or not (parts[2].isdigit() and parts[3].isdigit())
        ):
            raise CorpusFormatError(path, line_number, expected, line)
        db_id = parts[6] if len(parts) == 7 else None
        yield SectionAnnotation(
            parts[0], parts[1], int(parts[2]), int(parts[3]), parts[4], parts[5], db_id, line_number
        )


def _lines(path: Path) -> Iterator[tuple[int, str]]:
    # Split on "\n" only; texts may hold other line-break characters (e.g. U+2028), which are text.
    text = path.read_bytes().decode("utf-8-sig")
    if text.endswith("\n"):
        text = text[:-1]
    for number, line in enumerate(text.split("\n"), start=1):
        yield number, line.removesuffix("\r")


READERS = {"chemdner": read_chemdner, "chemdner_patents": read_chemdner_patents}
