"""The later stages on the `mtaal` command line (embeddings, tables, report, claims, figures, HTML pages),
on NCBI-disease and S800 from the mirror: each writes the rule's outputs at the rule's paths."""

import json
import shutil

import numpy as np
import pandas as pd
import pytest
import yaml

from mtaal.cli import REPO_CONFIG, load_config, main
from mtaal.corpora.registry import default_registry
from mtaal.embeddings import load_keyed_vectors, train_word2vec
from mtaal.results.claims import COLUMNS as CLAIM_COLUMNS
from mtaal.results.claims import Context, judge_claims
from mtaal.results.compare import load_reported
from mtaal.results.store import read_store

pytestmark = pytest.mark.slow
OVERRIDE = {
    "datasets": ["ncbi_disease", "s800_species"],
    "mtaal_data": {"datasets": ["ncbi_disease"]},
    "multitask": {"entity_groups": ["species"]},
}


@pytest.fixture(scope="module")
def chain(mirror, tmp_path_factory, one_torch_thread):
    """A results folder after the corpus steps, word2vec + coverage, one MTAAL run per study and one
    single-task transformer run (made with the rule's function at the rule's path)."""
    root = tmp_path_factory.mktemp("stages")
    (root / "override.yaml").write_text(yaml.safe_dump(OVERRIDE))
    files = [REPO_CONFIG / "config.yaml", REPO_CONFIG / "tiers/tiny.yaml", root / "override.yaml"]
    options = [part for path in files for part in ("--config", str(path))]
    results = root / "results"

    def mtaal(*args, code=0):
        assert main([*options, *args, "--results", str(results)]) == code, args

    for corpus in ("ncbi_disease", "s800", "huner_splits", "huner_patches"):
        mtaal("download", corpus, "--mirror", str(mirror))
    for dataset in OVERRIDE["datasets"]:
        mtaal("build-dataset", dataset)
    mtaal("mtaal-split", "ncbi_disease")
    mtaal("corpus-stats")
    mtaal("embeddings")
    for study in ("curves", "diversity"):
        mtaal("active-learn", "ncbi_disease", "--variant", "mtaal", "--embedding", "word2vec",
              "--study", study)
    mtaal("wordpiece", "s800_species")
    from mtaal.multitask.experiment import run_multitask

    config = load_config(files)
    settings = config["multitask"]
    run_multitask({"s800_species": (results / "wordpiece/minilm/s800_species.parquet",
                                    results / "corpora/s800_species/tokens.parquet")},
                  settings["training"], settings["encoders"]["minilm"]["model"],
                  results / "multitask/minilm/stl/s800_species/ablation0/seed1",
                  identity=dict(experiment="stl", group="s800_species", encoder="minilm", tier=config["tier"],
                                entity_types={"s800_species": "species"}),
                  seed=1,
                  ablation_fraction=0.0,
                  max_train_sequences=settings["max_train_sequences"],
                  max_eval_sequences=settings["max_eval_sequences"])
    return results, mtaal, config


def test_embeddings_are_the_rules_word2vec_and_coverage(chain, tmp_path):
    results, _, config = chain
    kv = load_keyed_vectors(results / "embeddings/word2vec.safetensors")
    # the rule word2vec: every configured dataset's tokens, config mtaal.word2vec, one worker
    tokens = [results / f"corpora/{d}/tokens.parquet" for d in config["datasets"]]
    expected = train_word2vec(tokens, tmp_path / "w.safetensors", workers=1, **config["mtaal"]["word2vec"])
    assert kv.index_to_key == expected.index_to_key and kv.vector_size == 20
    np.testing.assert_array_equal(kv.vectors, expected.vectors)
    coverage = pd.read_parquet(results / "tables/embedding_coverage.parquet")
    assert set(coverage["embedding"]) == {"word2vec"} and set(coverage["dataset"]) == {"ncbi_disease"}
    words = pd.read_parquet(results / "corpora/ncbi_disease/tokens.parquet")
    every = coverage.set_index("split").loc["all"]
    assert every["tokens"] == len(words)
    assert every["oov_tokens"] == (~words["token"].isin(kv.key_to_index)).sum() > 0  # capitals
    # lower-cased training, min_count 1, on text that includes NCBI's: each token's lower case is a key
    assert every["oov_tokens_fallback"] == 0
    assert (results / "tables/embedding_coverage.md").read_text().startswith("# Embedding coverage")


def test_user_vectors_and_the_command_that_makes_a_missing_one(tmp_path, capsys):
    vectors = tmp_path / "mine.txt"
    vectors.write_text("2 3\ndisease 0.1 0.2 0.3\ngene 1 2 3\n")
    (tmp_path / "user.yaml").write_text(yaml.safe_dump({**OVERRIDE, "mtaal": {
        "embeddings": ["word2vec", "user"], "user_vectors": {"path": str(vectors), "binary": None}}}))
    files = [REPO_CONFIG / "config.yaml", REPO_CONFIG / "tiers/tiny.yaml", tmp_path / "user.yaml"]
    options = [part for path in files for part in ("--config", str(path))]
    results = ["--results", str(tmp_path / "r")]
    assert main([*options, "embeddings", "coverage", *results]) == 2
    err = capsys.readouterr().err
    assert "r/embeddings/word2vec.safetensors (make it with `mtaal embeddings word2vec --results" in err
    assert "r/embeddings/user.safetensors (make it with `mtaal embeddings user --results" in err
    assert main([*options, "embeddings", "user", *results]) == 0
    user = load_keyed_vectors(tmp_path / "r/embeddings/user.safetensors")
    assert user.index_to_key == ["disease", "gene"] and user["gene"].tolist() == [1, 2, 3]


def test_mtaal_tables_and_figures_from_the_runs_that_finished(chain, capsys):
    results, mtaal, _ = chain
    mtaal("store")  # the tables read the store
    mtaal("mtaal-tables")
    assert "curves 1 of 21 runs, diversity 1 of 8 runs" in capsys.readouterr().out
    runs = [results / f"mtaal/{study}/ncbi_disease/word2vec/mtaal/seed1/rounds.parquet"
            for study in ("curves", "diversity")]
    rounds = pd.read_parquet(results / "mtaal/tables/rounds.parquet")
    assert len(rounds) == sum(len(pd.read_parquet(run)) for run in runs)
    assert rounds.groupby("study")["round"].max().to_dict() == {"curves": 2, "diversity": 2}
    final = pd.read_parquet(results / "mtaal/tables/final_f1.parquet")
    ner = final[final["metric"] == "ner_f1"]  # the curves study only, after report_after_round (2) rounds
    curve = pd.read_parquet(runs[0])
    assert ner[["round", "n_seeds"]].values.tolist() == [[2, 1]]
    assert ner["mean"].iloc[0] == pytest.approx(curve.loc[curve["round"] == 2, "ner_f1"].iloc[0])
    diversity = pd.read_parquet(results / "mtaal/tables/query_diversity.parquet")
    assert set(diversity["variant"]) == {"mtaal"} and set(diversity["dataset"]) == {"ncbi_disease"}
    for name in ("fig6_td_effect", "fig7_strategies", "fig8_ablation"):
        assert (results / f"mtaal/figures/{name}.png").stat().st_size > 1000


def test_multitask_report_from_the_store(chain, capsys):
    results, mtaal, _ = chain
    report = results / "multitask/minilm/report"
    shutil.rmtree(results / "store", ignore_errors=True)  # the MTAAL tables' test made one
    mtaal("multitask-report", code=2)
    err = capsys.readouterr().err
    assert "wordpiece_minilm.parquet (make it with `mtaal wordpiece-table --encoder minilm" in err
    assert "store/paper=multitask (make it with `mtaal store" in err
    mtaal("wordpiece-table")
    sequences = pd.read_parquet(results / "tables/wordpiece_minilm.parquet")
    assert set(sequences["dataset"]) == {"s800_species"} and set(sequences["max_len"]) == {32}
    mtaal("store")
    mtaal("multitask-report")
    assert "minilm, 1 runs" in capsys.readouterr().out
    best = json.loads((results / "multitask/minilm/stl/s800_species/ablation0/seed1/best.json").read_text())
    stl = pd.read_parquet(report / "table2_stl.parquet")
    row = stl[(stl["task"] == "s800_species") & (stl["split"] == "test") & (stl["metric"] == "word_f1")]
    assert row["mean"].iloc[0] == pytest.approx(best["tasks"]["s800_species"]["test"]["word_f1"])
    assert (report / "fig4_stl_correlation.parquet").is_file() and (report / "table3_mtl_vs_stl.md").is_file()


def test_store_claims_figures_and_report_pages(chain, capsys):
    results, mtaal, _ = chain
    shutil.rmtree(results / "store", ignore_errors=True)  # the multitask report's test made one
    mtaal("claims", code=2)
    assert "make it with `mtaal store --results" in capsys.readouterr().err
    mtaal("store")
    if not (results / "multitask/minilm/report").is_dir():
        mtaal("wordpiece-table")
        mtaal("multitask-report")
    mtaal("store")
    if not (results / "mtaal/tables/query_diversity.parquet").is_file():
        mtaal("mtaal-tables")
    mtaal("claims")
    claims = pd.read_parquet(results / "results/claims.parquet")
    assert list(claims.columns) == CLAIM_COLUMNS and set(claims["tier"]) == {"tiny"}
    # Table 4 and Fig. 4 computed from the store: the verdicts the written tables give
    config = load_config([REPO_CONFIG / "config.yaml", REPO_CONFIG / "tiers/tiny.yaml", results.parent /
                          "override.yaml"])
    report = results / "multitask/minilm/report"
    on_tables = judge_claims(Context(
        store=read_store(results / "store"), report_after_round=config["mtaal"]["report_after_round"],
        diversity=pd.read_parquet(results / "mtaal/tables/query_diversity.parquet"),
        fig4_points=pd.read_parquet(report / "fig4_stl_correlation.parquet"),
        alpha=config["results"]["alpha"], margin=config["results"]["equivalence_margin"],
        correlation_margin=config["results"]["correlation_margin"], multitask_report=str(report),
        registry_types=default_registry().entity_types()),
        load_reported([REPO_CONFIG.parent / p for p in config["results"]["reported"]]), "tiny")
    pd.testing.assert_frame_equal(claims, on_tables)
    assert sorted(set(claims["claim_id"])) == list(range(1, 14)) and len(claims) == 26
    assert (results / "results/claims.md").read_text().startswith("# The papers' claims at this tier")
    mtaal("figures")
    points = pd.read_parquet(results / "results/annotation_curves.parquet")
    assert points.empty  # the shared corpus (BC5CDR / CDR) is not in this folder
    fig5 = pd.read_parquet(results / "results/fig5_entity_ablation.parquet")
    assert list(fig5.columns) == ["held_out", "entity_type", "tasks", "n_seeds", "mean", "se"]
    assert (results / "results/fig6_finetune_groups.png").stat().st_size > 1000
    mtaal("report")
    out = capsys.readouterr().out
    assert "comparison (`mtaal compare`)" in out  # listed, not rendered: no `mtaal compare` here
    pages = results / "report"
    assert not (pages / "tables/comparison.html").exists()
    html = (pages / "tables/multitask_table2_stl.html").read_text()
    assert "<h3>multitask table2 stl</h3>" in html and "s800_species" in html
    for name in ("mtaal_final_f1", "embedding_coverage", "claims", "annotation_curves", "corpus_stats"):
        assert (pages / f"tables/{name}.html").is_file(), name
    assert "tier: tiny" in (pages / "provenance.html").read_text()
    assert pd.read_parquet(pages / "benchmarks.parquet").empty  # no Snakemake job here wrote one
