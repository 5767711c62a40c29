"""The tiny tier's `corpora` target end to end through Snakemake, on the real mirror."""

import json

import pandas as pd
import pytest

from tests.workflow_helpers import copy_workflow, snakemake

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def tiny_run(mirror, tmp_path_factory):
    workdir = copy_workflow(tmp_path_factory.mktemp("tiny"))
    snakemake(workdir, "corpora", "--configfile", "config/tiers/tiny.yaml", mirror=mirror)
    return workdir


def test_every_dataset_is_built_or_skipped_with_a_reason(tiny_run):
    coverage = pd.read_parquet(tiny_run / "results/tables/corpus_coverage.parquet")
    status = dict(zip(coverage["dataset"], coverage["status"], strict=True))
    assert status == {"ncbi_disease": "built", "bc5cdr": "built", "s800_species": "built",
                      "bc2gm_gene": "built", "gellus_cellline": "skipped"}
    reason = coverage.set_index("dataset").loc["gellus_cellline", "reason"]
    assert "Gellus_corpus.tar.gz" in reason


def test_tables_have_the_tidy_schema_and_consistent_offsets(tiny_run):
    folder = tiny_run / "results/corpora/ncbi_disease"
    documents = pd.read_parquet(folder / "documents.parquet")
    tokens = pd.read_parquet(folder / "tokens.parquet")
    mentions = pd.read_parquet(folder / "mentions.parquet")
    assert list(documents.columns) == ["doc_id", "split", "text"]
    assert set(documents["split"]) == {"train", "dev", "test"}
    assert documents.groupby("split").size().max() <= 15
    text = documents.set_index("doc_id")["text"]
    assert all(text[row.doc_id][row.start:row.end] == row.token for row in tokens.itertuples())
    assert all(text[row.doc_id][row.start:row.end] == row.text for row in mentions.itertuples())
    tagged = mentions[mentions["in_tokens"]]
    assert (tokens["tag"].str.startswith("B-")).sum() >= len(tagged)


def test_stats_and_mtaal_split_are_written(tiny_run):
    stats = pd.read_parquet(tiny_run / "results/tables/corpus_stats.parquet")
    assert set(stats["dataset"]) == {"ncbi_disease", "bc5cdr", "s800_species", "bc2gm_gene"}
    row = stats[(stats["dataset"] == "bc5cdr") & (stats["split"] == "all")].iloc[0]
    assert row["ner_labels"] == 5  # O, B/I-chemical, B/I-disease
    assert (tiny_run / "results/tables/corpus_stats.md").read_text().startswith("# Corpus statistics")
    labels = json.loads((tiny_run / "results/corpora/bc5cdr/mtaal_labels.json").read_text())
    assert labels["source_splits"] == ["labeled", "unlabeled"]
    split = pd.read_parquet(tiny_run / "results/corpora/bc5cdr/mtaal_split.parquet")
    assert split["n_words"].between(6, 59).all()


def test_second_run_has_nothing_to_do(tiny_run, mirror):
    result = snakemake(tiny_run, "-n", "corpora", "--configfile", "config/tiers/tiny.yaml", mirror=mirror)
    assert "Nothing to be done" in result.stdout + result.stderr


def test_corrupted_mirror_fails_with_checksum_message_and_leaves_no_output(mirror, tmp_path):
    import shutil

    fake_mirror = tmp_path / "mirror"
    shutil.copytree(mirror / "ncbi_disease", fake_mirror / "ncbi_disease")
    with open(fake_mirror / "ncbi_disease" / "NCBItestset_corpus.txt", "a") as handle:
        handle.write("tampered\n")
    workdir = copy_workflow(tmp_path / "wf")
    result = snakemake(workdir, "results/raw/ncbi_disease/download.json", mirror=fake_mirror, check=False)
    assert result.returncode != 0
    log = (workdir / "results/logs/download/ncbi_disease.log").read_text()
    assert "NCBItestset_corpus.txt: sha256 mismatch" in log and "expected 61c8050b" in log
    assert not (workdir / "results/raw/ncbi_disease/download.json").exists()
    assert not (workdir / "results/raw/ncbi_disease/files").exists()
    assert not list((workdir / "results/raw/ncbi_disease").glob(".files.*"))  # no staging left
