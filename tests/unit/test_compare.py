"""Printed cells joined to reproduced ones: by (table, row, column), like with like, with a prediction
interval, the all-O score and the reason for every cell a tier did not reproduce. Hand-made stores."""

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from mtaal.corpora.registry import default_registry
from mtaal.errors import MtaalError
from mtaal.results.compare import (
    COMPARED,
    NOT_COMPARED,
    REFERENCE,
    REPORTED_COLUMNS,
    Reproduction,
    compare,
    load_reported,
)
from mtaal.results.comparison_markdown import comparison_markdown
from mtaal.results.store import SCHEMA
from mtaal.stats import prediction_interval

HEADER = ",".join(REPORTED_COLUMNS)
REGISTRY_TYPES = default_registry().entity_types()  # the test config's registry (config/corpora.yaml)


def _store_rows(**fixed):
    base = dict.fromkeys(["paper", "experiment", *SCHEMA.names])
    base.update(final=True, split="test", ablation_fraction=0.0, labeled_count=10, labeled_fraction=0.5)
    base.update(fixed)
    return base


def _mtaal_store(values_by_setting, report_round=2):
    """Round rows of NCBI runs: ``values_by_setting[variant] = {seed: release NER F1 at the report round}``;
    the strict NER F1 is half of it, the all-O NEN accuracy 0.92."""
    rows = []
    for setting, per_seed in values_by_setting.items():
        for seed, value in per_seed.items():
            for step in range(report_round + 2):
                at = value if step == report_round else value / 3
                common = dict(paper="mtaal", experiment="curves", run_id=f"{setting}-{seed}",
                              dataset="ncbi_disease", setting=setting, model="glove", seed=seed, step=step,
                              step_kind="round")
                rows += [
                    _store_rows(**common, metric="release_ner_f1_batch_mean", value=at),
                    _store_rows(**common, metric="ner_f1", value=at / 2),
                    _store_rows(**common, metric="all_o_release_ner_f1_batch_mean", value=0.0),
                    _store_rows(**common, metric="release_nen_token_accuracy_batch_mean", value=0.95),
                    _store_rows(**common, metric="all_o_release_nen_token_accuracy_batch_mean", value=0.92),
                ]
    return pd.DataFrame(rows, columns=["paper", "experiment", *SCHEMA.names])


def _multitask_store(scores):
    """``scores[(experiment, task, fraction)] = {seed: paper word F1}`` at the best epoch (3); tag-strict F1
    0.1 lower; one non-final epoch with other values."""
    rows = []
    for (experiment, task, fraction), per_seed in scores.items():
        entity = task.rsplit("_", 1)[1]
        for seed, value in per_seed.items():
            common = dict(paper="multitask", experiment=experiment, run_id=f"{experiment}-{task}-{seed}",
                          dataset=task, entity_type=entity, setting=f"{experiment}/{task}", model="minilm",
                          seed=seed, ablation_fraction=fraction, step_kind="epoch")
            for step, final in ((2, False), (3, True)):
                v = value if final else 0.01
                rows += [
                    _store_rows(**common, step=step, final=final, metric="word_io_f1", value=v),
                    _store_rows(**common, step=step, final=final, metric="word_f1", value=v - 0.1),
                    _store_rows(**common, step=step, final=final, metric="all_o_word_io_f1", value=0.0),
                ]
    return pd.DataFrame(rows)


def _reported(tmp_path, lines):
    path = tmp_path / "reported.csv"
    path.write_text(HEADER + "\n" + "\n".join(lines) + "\n")
    return load_reported([path])


def test_prediction_interval_is_wider_than_the_mean_interval_by_sqrt_n_plus_1():
    low, high = prediction_interval(0.5, 0.1, 4)
    assert high - 0.5 == pytest.approx(stats.t.ppf(0.975, 3) * 0.1 * math.sqrt(1.25))
    assert 0.5 - low == pytest.approx(high - 0.5)
    assert all(math.isnan(x) for x in prediction_interval(0.5, 0.1, 1))


def test_mtaal_cell_joins_the_release_metric_with_strict_metric_and_all_o_beside(tmp_path):
    store = _mtaal_store({"mtaal": {1: 0.70, 2: 0.74, 3: 0.72}})
    reported = _reported(tmp_path, [
        "mtaal,Table 3,MTAAL+g,MT / NER,paper,ncbi_disease,mtaal,glove,test,0,"
        "release_ner_f1_batch_mean,value,"
        "0.7744,0.7744,release metric",
        "mtaal,Table 3,MTAAL+g,MT / NEN,paper,ncbi_disease,mtaal,glove,test,0,"
        "release_nen_token_accuracy_batch_mean,value,0.9287,0.9287,",
    ])
    table = compare(reported, Reproduction(store=store, report_after_round={"ncbi_disease": 2}), "tiny")
    ner = table[table["column"] == "MT / NER"].iloc[0]
    assert ner["status"] == COMPARED and ner["n"] == 3
    assert ner["mean"] == pytest.approx(0.72)  # the report round's values, not the last round's
    assert sorted(ner["values"]) == pytest.approx([0.70, 0.72, 0.74])
    low, high = prediction_interval(0.72, float(np.std([0.70, 0.72, 0.74], ddof=1)), 3)
    assert (ner["pi95_low"], ner["pi95_high"]) == (pytest.approx(low), pytest.approx(high))
    assert ner["judgement"] == ("within" if low <= 0.7744 <= high else "printed above")
    assert ner["second_metric"] == "ner_f1" and ner["second_mean"] == pytest.approx(0.36)
    assert ner["all_o"] == 0.0
    nen = table[table["column"] == "MT / NEN"].iloc[0]
    # one std of 0 over seeds: an interval of width 0, the printed value above it; all-O already 0.92
    assert nen["all_o"] == pytest.approx(0.92) and nen["judgement"] == "printed below"


def test_cells_printed_twice_stay_two_rows_and_average_rows_are_means_over_their_tasks(tmp_path):
    store = _multitask_store({
        ("stl", "cdr_chemical", 0.0): {1: 0.90, 2: 0.92},
        ("stl", "scai_chemical", 0.0): {1: 0.70, 2: 0.74},
    })
    t2 = "multitask,Table 2,CHEMICAL / {},F_1 / TEST,paper,{},stl,biobert,test,0,word_io_f1,value,{},{},"
    reported = _reported(tmp_path, [
        t2.format("CDR", "cdr_chemical", 0.934, 0.934),
        t2.format("SCAI", "scai_chemical", 0.939, 0.939),
        t2.format("CHEBI", "chebi_chemical", 0.894, 0.894),
        t2.format("average", "group:chemical", 0.925, 0.925),
        "multitask,Table 4,CHEMICAL / CDR,Ablation amount / 0.00,paper,cdr_chemical,stl,biobert,test,0,"
        "word_io_f1,"
        "value,0.937,0.937,separate runs",
        "multitask,Table 4,CHEMICAL / CDR,Ablation amount / 0.25,paper,cdr_chemical,stl,biobert,test,0.25,"
        "word_io_f1,value,0.934,0.934,",
    ])
    coverage = pd.DataFrame({"dataset": ["cdr_chemical", "scai_chemical", "chebi_chemical"],
                             "status": ["built", "built", "skipped"],
                             "reason": [None, None, "ChEBI patents are not in the mirror (get them at ...)"]})
    rep = Reproduction(store=store, report_after_round={}, coverage=coverage, registry_types=REGISTRY_TYPES)
    table = compare(reported, rep, "default").set_index(["table", "row", "column"])
    t2 = table.loc[("Table 2", "CHEMICAL / CDR", "F_1 / TEST")]
    t4 = table.loc[("Table 4", "CHEMICAL / CDR", "Ablation amount / 0.00")]
    assert t2["mean"] == pytest.approx(0.91) and t4["mean"] == pytest.approx(0.91)
    assert (t2["reported"], t4["reported"]) == (0.934, 0.937)  # each against its own printed number
    assert t2["second_mean"] == pytest.approx(0.81) and t2["reproduced_model"] == "minilm"
    average = table.loc[("Table 2", "CHEMICAL / average", "F_1 / TEST")]
    # per seed: mean of CDR and SCAI (ChEBI's corpus is missing), then over seeds
    assert average["values"] == pytest.approx([0.80, 0.83])
    assert average["units"] == "2 of 3 tasks" and "chebi_chemical" in average["reason"]
    chebi = table.loc[("Table 2", "CHEMICAL / CHEBI", "F_1 / TEST")]
    assert chebi["status"] == NOT_COMPARED and chebi["reason"] == (
        "corpus missing: ChEBI patents are not in the mirror")
    # two seeds 0.02 apart: t(0.975, 1) = 12.7 makes the prediction interval ±0.22, so 0.934 is within
    assert table.loc[("Table 2", "CHEMICAL / CDR", "F_1 / TEST"), "judgement"] == "within"
    ablated = table.loc[("Table 4", "CHEMICAL / CDR", "Ablation amount / 0.25")]
    assert ablated["status"] == NOT_COMPARED and ablated["reason"] == "not run at this tier (ablation 0.25)"


def test_average_rows_group_tasks_by_their_runs_entity_type_else_the_config_s_registry(tmp_path):
    store = _multitask_store({("stl", "cdr_chemical", 0.0): {1: 0.9},
                              ("stl", "scai_chemical", 0.0): {1: 0.7}})
    store.loc[store["dataset"] == "scai_chemical", "entity_type"] = "gene"  # its run says so, not its name
    t2 = "multitask,Table 2,{},F_1 / TEST,paper,{},stl,biobert,test,0,word_io_f1,value,0.9,0.9,"
    reported = _reported(tmp_path, [t2.format(f"R{i}", task) for i, task in enumerate(
        ["cdr_chemical", "scai_chemical", "chebi_chemical", "group:chemical", "group:gene"])])
    # this config's registry, not the repository's: ChEBI (no runs) is gene here; CDR's runs outrank it
    config_registry = {"chebi_chemical": "gene", "cdr_chemical": "species", "scai_chemical": "chemical"}
    rep = Reproduction(store=store, report_after_round={}, registry_types=config_registry)
    table = compare(reported, rep, "default").set_index("row")
    assert table.loc["R3", "mean"] == pytest.approx(0.9) and table.loc["R3", "units"] == "1 of 1 tasks"
    assert table.loc["R4", "mean"] == pytest.approx(0.7) and table.loc["R4", "units"] == "1 of 2 tasks"
    with pytest.raises(MtaalError, match="chebi_chemical has no runs in the store and no single entity type"):
        compare(reported, Reproduction(store=store, report_after_round={}), "default")


def test_third_party_columns_are_references_never_joined(tmp_path):
    store = _multitask_store({("stl", "cdr_chemical", 0.0): {1: 0.9}})
    reported = _reported(tmp_path, [
        "multitask,Table 7,CHEMICAL / CDR,F1 / No PT,Weber et al. 2020 (No PT),cdr_chemical,,,test,0,"
        "entity_f1,"
        "value,0.907,0.907,",
    ])
    rep = Reproduction(store=store, report_after_round={}, registry_types=REGISTRY_TYPES)
    row = compare(reported, rep, "default").iloc[0]
    assert row["status"] == REFERENCE and math.isnan(row["mean"]) and row["reported"] == 0.907


def test_counts_of_table_1_come_from_the_corpus_statistics(tmp_path):
    corpus_stats = pd.DataFrame({
        "dataset": ["ncbi_disease", "cll_cellline"], "split": ["all", "train"], "documents": [793, 30],
        "mentions": [6881, 250], "unique_mentions": [2100, 200], "vocabulary_size": [9000, 900],
        "ner_labels": [3, 3], "nen_labels": [750, 0],
    })
    sentences = pd.DataFrame({"dataset": ["ncbi_disease"], "split": ["labeled"], "sentences": [1433]})
    reported = _reported(tmp_path, [
        "mtaal,Table 1,# medical abstracts,NCBI,paper,ncbi_disease,,,all,0,abstracts,value,793,793,",
        "mtaal,Table 1,# initial labeled samples,NCBI,paper,ncbi_disease,,,labeled,0,sentences,value,"
        "1439,1439,",
        "multitask,Table 1,CELL LINE / CLL,Total / TRAIN,paper,cll_cellline,,,train,0,mentions_total,value,"
        "234,234,",
        "multitask,Table 1,CELL LINE / CLL,Type,paper,cll_cellline,,,all,0,document_type,value,,AA,",
    ])
    rep = Reproduction(store=_mtaal_store({}), report_after_round={}, corpus_stats=corpus_stats,
                       mtaal_sentences=sentences, registry_types=REGISTRY_TYPES)
    table = compare(reported, rep, "default")
    assert table["mean"].tolist()[:3] == [793.0, 1433.0, 250.0]
    assert table["status"].tolist() == [COMPARED] * 3 + [NOT_COMPARED]
    assert table["reason"].iat[3] == "not computed by this workflow"
    text = comparison_markdown(table, "multitask", "Multitask")
    assert "250 / 234" in text and "not computed by this workflow" in text
    # A long reason shared by cells is said once, under "Reasons", and referred to in the cells.
    long = "corpus missing: " + "x" * 200
    many = pd.concat([table] * 3, ignore_index=True).assign(reason=["", "", "", long] * 3)
    text = comparison_markdown(many, "multitask", "Multitask")
    assert text.count(long) == 1 and text.count("see reason 1") == 3 and "## Reasons" in text


def test_reported_numbers_are_checked_with_file_and_line(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text(
        HEADER + "\nmtaal,Table 3,MTAAL+g,MT / NER,paper,ncbi_disease,mtaal,glove,test,0,"
        "release_ner_f1_batch_mean,value,77.44,77.44,\n"
    )
    expected = r"bad.csv:2: value 77.44 for release_ner_f1_batch_mean: expected a fraction"
    with pytest.raises(MtaalError, match=expected):
        load_reported([bad])
    no_row = "mtaal,Table 3,,MT / NER,paper,ncbi_disease,mtaal,glove,test,0,ner_f1,value,0.7,0.7,"
    bad.write_text(HEADER + "\n" + no_row + "\n")
    with pytest.raises(MtaalError, match=r"bad.csv:2: column 'row' is empty"):
        load_reported([bad])
    twice = "mtaal,Table 3,MTAAL+g,MT / NER,paper,ncbi_disease,mtaal,glove,test,0,ner_f1,value,0.7,0.7,"
    bad.write_text(HEADER + "\n" + twice + "\n" + twice + "\n")
    with pytest.raises(MtaalError, match="one printed cell twice"):
        load_reported([bad])
    bad.write_text("paper,source,value\nmtaal,Table 2,0.5\n")
    with pytest.raises(MtaalError, match="missing columns"):
        load_reported([bad])


def test_sequence_counts_of_section_6_and_their_group_average(tmp_path):
    sequences = pd.DataFrame({
        "encoder": ["biobert_vocab"] * 3, "dataset": ["cll_cellline", "s800_species", "linnaeus_species"],
        "split": ["train"] * 3, "sequences": [20, 300, 200], "max_len": [512] * 3,
    })
    table1 = "multitask,Table 1,SPECIES / {},Total / TRAIN,paper,{},,,train,0,mentions_total,value,1,1,"
    section6 = "multitask,Section 6,{},input sequences (training set),paper,{},,biobert,train,0,"
    section6 += "train_sequences,"
    reported = _reported(tmp_path, [
        table1.format("S800", "s800_species"),
        table1.format("LINNEAUS", "linnaeus_species"),
        table1.format("MIRNA", "mirna_species"),
        section6.format("CELL LINE / CLL", "cll_cellline") + "value,14,14,",
        section6.format("SPECIES / average", "group:species") + "value,263,263,",
    ])
    rep = Reproduction(store=_mtaal_store({}), report_after_round={}, sequences=sequences,
                       registry_types=REGISTRY_TYPES)
    table = compare(reported, rep, "default").set_index("row")
    assert table.loc["CELL LINE / CLL", "mean"] == 20
    species = table.loc["SPECIES / average"]
    # the group is Table 1's species tasks; miRNA has no sequence table here
    assert species["mean"] == 250 and species["units"].startswith("2 of 3 tasks; max_len 512")


def test_cli_store_and_compare_work_on_a_partial_results_folder(tmp_path, capsys):
    from mtaal.cli import main
    from tests.unit.test_results import _rounds

    results = tmp_path / "results"
    (results / "corpora/ncbi_disease").mkdir(parents=True)
    pd.DataFrame({"split": ["labeled"] * 20 + ["unlabeled"] * 80 + ["test"] * 10}).to_parquet(
        results / "corpora/ncbi_disease/mtaal_split.parquet")
    for seed in (1, 2):
        run = results / f"mtaal/curves/ncbi_disease/glove/mtaal/seed{seed}"
        _rounds(run, "ncbi_disease", "glove", "mtaal", seed, [0.1, 0.5 + seed / 100])
    assert main(["compare", "--results", str(results)]) == 2
    assert "make it with `mtaal store --results" in capsys.readouterr().err
    assert main(["store", "--results", str(results)]) == 0
    assert main(["compare", "--results", str(results)]) == 0
    table = pd.read_parquet(results / "results/comparison.parquet")
    # the default tier reports NCBI after 5 queries; these runs have 1 round: their last round counts
    cell = table[(table["table"] == "Table 3") & (table["row"] == "MTAAL+g")
                 & (table["column"] == "MT / NER")]
    assert cell["status"].iat[0] == COMPARED and cell["mean"].iat[0] == pytest.approx(0.515)
    assert sorted(cell["values"].iat[0]) == pytest.approx([0.51, 0.52])
    sentences = table[(table["table"] == "Table 1") & (table["metric"] == "sentences")
                      & (table["dataset"] == "ncbi_disease")].set_index("split")["mean"]
    assert sentences.to_dict() == {"labeled": 20, "unlabeled": 80, "test": 10}
    assert (results / "results/comparison_mtaal.md").read_text().startswith("# MTAAL (Zhou et al. 2021)")


def test_table_4_cells_are_the_diversity_runs_queries_in_the_store(tmp_path):
    """Table 4 from the store's diversity runs (their last round's query counts), mean and std over repeats;
    a store without the diversity study leaves the cells unreproduced."""
    from mtaal.results.store import read_store, write_store
    from tests.unit.test_mtaal_tables import run_rows

    runs = []
    for seed, words in ((1, 30), (2, 36), (3, 33)):
        path = tmp_path / f"run{seed}" / "rounds.parquet"
        path.parent.mkdir()
        queried = [(0, 0, 0, 0, 0), (5, 5, 10, 1, 1), (10, 10, words, 4, 3)]  # cumulative per round
        run_rows("ncbi_disease", "mtl-lc", seed, 3, [0.1, 0.2, 0.3], queried, "diversity").to_parquet(path)
        runs.append(path)
    write_store(tmp_path / "store", runs, [])
    cell = "mtaal,Table 4,NCBI / LC,# words,paper,ncbi_disease,mtl-lc,,unlabeled,0,distinct_words"
    reported = _reported(tmp_path, [f"{cell},mean,3973,3973,", f"{cell},std,16,16,"])
    table = compare(reported, Reproduction(store=read_store(tmp_path / "store"),
                                           report_after_round={"ncbi_disease": 2}), "tiny")
    mean, std = table.iloc[0], table.iloc[1]
    assert mean["status"] == COMPARED and mean["mean"] == pytest.approx(33.0) and mean["n"] == 3
    assert std["mean"] == pytest.approx(3.0)  # the std over the three repeats, as the paper prints it
    curves_only = _mtaal_store({"mtl-lc": {1: 0.7}})
    table = compare(reported, Reproduction(store=curves_only, report_after_round={"ncbi_disease": 2}), "tiny")
    assert set(table["status"]) == {NOT_COMPARED}
