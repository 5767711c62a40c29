"""Curator imports: text into the pool (dedup), labels with strict checks that name file and line."""

import pytest

from mtaal.curate import commands as C
from mtaal.curate.importers import LabelContext, read_conll
from mtaal.curate.project import Project
from mtaal.errors import CorpusFormatError


@pytest.fixture
def project(tmp_path):
    return Project.init(tmp_path / "p", ["disease"], concepts=True)


def test_text_is_split_tokenized_and_deduplicated(project, fixtures):
    folder = fixtures / "curate"
    done = C.add_text(project, [folder / "abstracts.txt"], one_per_line=True)
    # Line 3 repeats line 1's first sentence: kept once.
    assert (done["documents"], done["sentences_added"], done["duplicates_skipped"]) == (3, 5, 1)
    again = C.add_text(project, [folder / "abstracts.txt"], one_per_line=True)
    assert (again["sentences_added"], again["duplicates_skipped"]) == (0, 6)
    pubtator = C.add_text(project, [folder / "docs.pubtator"])
    assert pubtator["duplicates_skipped"] == 2  # two sentences already came from abstracts.txt
    index = project.sentence_index()
    assert "100:0" in index and "abstracts-L1:1" in index
    assert len(project.events("add-text")) == 3


def test_text_import_is_streamed_in_batches_and_all_or_nothing(project, tmp_path, monkeypatch):
    monkeypatch.setattr(C, "DOCUMENTS_PER_BATCH", 1)
    first = tmp_path / "first.pubtator"
    first.write_text("7|t|Asthma in adults.\n7|a|Asthma was common. Steroids helped.\n\n"
                     "8|t|Seizures in children.\n8|a|Seizures were rare.\n\n")
    done = C.add_text(project, [first])
    assert done["sentences_added"] == 5 and done["part"] == "sentences/part-00001.parquet"
    assert list(project.sentence_index()) == ["7:0", "7:1", "7:2", "8:0", "8:1"]
    # Document 9 is new, document 7 comes back with other text: the error comes in the second batch, after
    # the first was written, and still nothing is kept.
    second = tmp_path / "second.pubtator"
    second.write_text("9|t|Heart failure.\n9|a|It was seen twice.\n\n7|t|Another text.\n7|a|Other words.\n\n")
    before = project.events()
    with pytest.raises(CorpusFormatError, match="document 7 is already in the project with other text"):
        C.add_text(project, [second])
    assert [p.name for p in (project.root / "sentences").iterdir()] == ["part-00001.parquet"]
    assert project.events() == before


def test_conll_labels_label_pool_sentences_by_id_and_by_text(project, fixtures, tmp_path):
    C.add_text(project, [fixtures / "curate" / "abstracts.txt"], one_per_line=True)
    conll = tmp_path / "fix.conll"
    conll.write_text("# sentence_id = abstracts-L3:0\nSeizures\tB-disease\tD012640\nwere\tO\t-\n"
                     "reported\tO\t-\n"
                     "in\tO\t-\ntwo\tO\t-\npatients\tO\t-\n.\tO\t-\n\n"
                     "Breast\tB-disease\tD001943\ncancer\tI-disease\nis\tO\ncommon\tO\nin\tO\nwomen\tO\n"
                     "over\tO\nfifty\tO\nyears\tO\nof\tO\nage\tO\n.\tO\n")
    done = C.add_labels(project, [conll])
    assert done["from_pool"] == 2 and done["new"] == 0
    labeled = project.labeled()
    assert list(labeled) == ["abstracts-L3:0", "abstracts-L2:0"]
    # A concept id on the mention's first token only is carried over its other tokens.
    assert labeled["abstracts-L2:0"]["concepts"][:3] == ["D001943", "D001943", None]


def test_pubtator_and_brat_labels(project, fixtures):
    folder = fixtures / "curate"
    C.add_text(project, [folder / "docs.pubtator"])
    brat = C.add_labels(project, [folder / "notes.ann"])
    assert brat["from_pool"] == 2  # matched by text to 101:1 and 100:2
    row = project.labeled()["101:1"]
    assert row["tags"][0] == "B-disease" and row["concepts"][0] == "D012640"
    with pytest.raises(CorpusFormatError, match=r"labels\.pubtator:3: expected an entity type"):
        C.add_labels(project, [folder / "labels.pubtator"])
    done = C.add_labels(project, [folder / "labels.pubtator"],
                        type_map="SpecificDisease=disease,DiseaseClass=disease")
    assert done["new"] == 2
    tags = project.labeled()["300:1"]["tags"]
    assert tags == ["O", "O", "B-disease", "O", "B-disease", "I-disease", "O", "O", "O"]


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("bad_type.conll", r"bad_type\.conll:3: expected an entity type of this project \(disease\)"),
        ("bad_iob.conll", r"bad_iob\.conll:7: expected I-disease only after B-disease or I-disease"),
        ("bad_offsets.pubtator", r"bad_offsets\.pubtator:4: expected offsets 0 <= start < end <= 50"),
    ],
)
def test_bad_labels_name_file_and_line_and_import_nothing(project, fixtures, name, message):
    good = fixtures / "curate" / "seed.conll"
    with pytest.raises(CorpusFormatError, match=message):
        C.add_labels(project, [good, fixtures / "curate" / name])
    assert project.labeled() == {}
    assert project.events("add-labels") == []


def test_concept_list_and_mismatched_text_are_refused(tmp_path, fixtures):
    concepts = tmp_path / "concepts.txt"
    concepts.write_text("D001943\nD001249\n")
    project = Project.init(tmp_path / "p", ["disease"], concepts=concepts)
    with pytest.raises(CorpusFormatError, match=r"seed\.conll:12: .*'D006333' is not in it"):
        C.add_labels(project, [fixtures / "curate" / "seed.conll"])
    bad = tmp_path / "x.pubtator"
    bad.write_text("1|t|Asthma here.\n1|a|More text.\n1\t0\t6\tAsthmb\tdisease\tD001249\n")
    with pytest.raises(CorpusFormatError, match=r"x\.pubtator:3: expected mention text equal"):
        C.add_labels(project, [bad])


def test_a_negative_or_non_numeric_offset_stops_the_import(project, fixtures, tmp_path):
    # these lines were taken for relation lines and skipped: the sentence was stored all-O
    for start in ("-5", "five"):
        bad = tmp_path / f"{start}.pubtator"
        bad.write_text("1|t|Asthma here.\n1|a|More text.\n1\t0\t6\tAsthma\tdisease\n"
                       f"1\t{start}\t3\tAst\tdisease\n")
        with pytest.raises(CorpusFormatError, match=rf"{start}\.pubtator:4: expected an annotation line: .*"
                                                    r"\(start and end whole numbers >= 0\)"):
            C.add_labels(project, [fixtures / "curate" / "seed.conll", bad])
    assert project.labeled() == {} and project.events("add-labels") == []


def test_explicit_sentence_id_must_keep_its_tokens(project, fixtures, tmp_path):
    C.add_text(project, [fixtures / "curate" / "abstracts.txt"], one_per_line=True)
    edited = tmp_path / "edited.conll"
    edited.write_text("# sentence_id = abstracts-L3:0\nSeizures\tB-disease\nwere\tO\nseen\tO\n")
    with pytest.raises(CorpusFormatError, match=r"edited\.conll:2: expected the tokens of sentence"):
        C.add_labels(project, [edited])


def test_ner_only_project_ignores_concept_column(tmp_path, fixtures):
    context = LabelContext(["disease"], concepts=False)
    sentences = read_conll(fixtures / "curate" / "seed.conll", context)
    assert [s.sentence_id for s in sentences] == ["seed:0", "seed:1"]
    assert sentences[0].explicit_id and not sentences[1].explicit_id
    assert all(c is None for s in sentences for c in s.concepts)
