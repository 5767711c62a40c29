"""The tiny tier's whole DAG (corpus layer, MTAAL, multitask NER) end to end through Snakemake."""

import json

import pandas as pd
import pytest

from tests.workflow_helpers import copy_workflow, snakemake

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def tiny_all(mirror, tmp_path_factory):
    workdir = copy_workflow(tmp_path_factory.mktemp("tiny_all"))
    snakemake(workdir, "all", "--configfile", "config/tiers/tiny.yaml", mirror=mirror)
    return workdir


def test_mtaal_runs_write_one_row_per_round_with_selected_ids(tiny_all):
    rounds = pd.read_parquet(tiny_all / "results/mtaal/tables/rounds.parquet")
    curves = rounds[rounds["study"] == "curves"]
    assert curves["variant"].nunique() == 21
    assert set(curves["round"]) == {0, 1, 2}
    queried = curves[curves["round"] > 0]
    assert queried["selected_ids"].map(len).eq(5).all()
    for _, run in curves.groupby("variant"):
        picked = [sid for ids in run["selected_ids"] for sid in ids]
        assert len(picked) == len(set(picked))  # never queried twice
    single_ner = curves[curves["variant"] == "stl_ner-random"]
    assert single_ner["nen_f1"].isna().all() and single_ner["ner_f1"].notna().all()


def test_mtaal_tables_and_figures(tiny_all):
    final = pd.read_parquet(tiny_all / "results/mtaal/tables/final_f1.parquet")
    assert {"ner_f1", "nen_f1", "release_ner_f1_batch_mean"} <= set(final["metric"])
    diversity = pd.read_parquet(tiny_all / "results/mtaal/tables/query_diversity.parquet")
    assert set(diversity["variant"]) == {"mtl-lc", "mtl-entropy", "mtl-random", "mtaal"}
    for name in ("fig6_td_effect", "fig7_strategies", "fig8_ablation"):
        assert (tiny_all / f"results/mtaal/figures/{name}.png").stat().st_size > 1000
    coverage = pd.read_parquet(tiny_all / "results/tables/embedding_coverage.parquet")
    assert set(coverage["embedding"]) == {"word2vec"}


def test_multitask_runs_apply_data_ablation_and_report(tiny_all):
    base = tiny_all / "results/multitask/minilm"
    full = json.loads((base / "stl/bc2gm_gene/ablation0/seed1/best.json").read_text())
    half = json.loads((base / "stl/bc2gm_gene/ablation0.5/seed1/best.json").read_text())
    assert full["status"] == "trained"
    assert full["tasks"]["bc2gm_gene"]["train_sequences"] == 6
    assert half["tasks"]["bc2gm_gene"]["train_sequences"] == 3
    skipped = json.loads((base / "stl/gellus_cellline/ablation0/seed1/best.json").read_text())
    assert skipped["status"] == "skipped"
    mtl = json.loads((base / "mtl/all/ablation0/seed1/best.json").read_text())
    assert set(mtl["tasks"]) == {"bc2gm_gene", "s800_species"} and mtl["skipped_tasks"] == ["gellus_cellline"]
    report = base / "report"
    assert (report / "table2_stl.parquet").is_file() and (report / "fig4_stl_correlation.png").is_file()
