"""Results store, reported-vs-reproduced comparison and claim verdicts on small hand-made runs."""

import json
import math

import numpy as np
import pandas as pd
import pytest

from mtaal.results import claims as C
from mtaal.results.compare import ci95
from mtaal.results.store import SCHEMA, mtaal_available_sentences, read_store, write_store


def _rounds(path, dataset, embedding, variant, seed, f1s):
    path.mkdir(parents=True)
    tasks = "ner" if variant.startswith("stl_ner") else "ner+nen"
    rows = []
    for step, f1 in enumerate(f1s):
        rows.append(
            dict(
                dataset=dataset,
                embedding=embedding,
                tasks=tasks,
                strategy=variant.split("-")[-1],
                use_td=False,
                use_dd=False,
                seed=seed,
                round=step,
                labeled_count=20 + 5 * step,
                ner_precision=f1,
                ner_recall=f1,
                ner_f1=f1,
                nen_precision=f1 / 2,
                nen_recall=f1 / 2,
                nen_f1=f1 / 2 if tasks != "ner" else math.nan,
                release_ner_f1_batch_mean=f1,
                release_nen_token_accuracy_batch_mean=0.9,
                task_loss=1.0,
                wall_seconds=0.1,
                selected_ids=[f"d:{step}"] if step else [],
            )
        )
    pd.DataFrame(rows).to_parquet(path / "rounds.parquet")
    return path / "rounds.parquet"


def _transformer_run(root, experiment, group, fraction, seed, scores):
    """``scores``: task -> (dev word F1 per epoch, test word F1 per epoch); best epoch = best dev."""
    run = root / "minilm" / experiment / group / f"ablation{fraction:g}" / f"seed{seed}"
    run.mkdir(parents=True)
    rows, tasks = [], {}
    best = None
    for task, (dev, test) in scores.items():
        for epoch, (d, t) in enumerate(zip(dev, test, strict=True), start=1):
            for split, value in (("dev", d), ("test", t)):
                rows.append(
                    dict(
                        epoch=epoch,
                        task=task,
                        split=split,
                        word_precision=value,
                        word_recall=value,
                        word_f1=value,
                        entity_precision=value - 0.1,
                        entity_recall=value - 0.1,
                        entity_f1=value - 0.1,
                        words=100,
                        train_loss=1.0,
                        train_batches=2,
                        train_sequences=8,
                        train_seconds=1.0,
                        seconds=1.0,
                    )
                )
        best = int(np.argmax(dev)) + 1
        tasks[task] = {"dev": {}, "test": {}}
    pd.DataFrame(rows).to_parquet(run / "epochs.parquet")
    data = {task: {"train_total": 10, "train_kept": round(10 * (1 - fraction))} for task in scores}
    (run / "best.json").write_text(
        json.dumps({"status": "trained", "best_epoch": best, "tasks": tasks, "data": data})
    )
    return run


def test_store_writes_one_file_per_run_in_the_long_schema(tmp_path):
    rounds = _rounds(
        tmp_path / "mtaal/curves/ncbi_disease/glove/mtaal/seed3",
        "ncbi_disease",
        "glove",
        "mtaal",
        3,
        [0.1, 0.2, 0.4],
    )
    run = _transformer_run(
        tmp_path / "mt", "stl", "cdr_chemical", 0.5, 1, {"cdr_chemical": ([0.5, 0.7, 0.6], [0.4, 0.65, 0.9])}
    )
    files = write_store(tmp_path / "store", [rounds], {("curves", "ncbi_disease"): 80}, [run])
    assert [f.relative_to(tmp_path / "store").parts[:2] for f in files] == [
        ("paper=mtaal", "experiment=curves"),
        ("paper=multitask", "experiment=stl"),
    ]
    store = read_store(tmp_path / "store")
    assert list(store.columns) == ["paper", "experiment", *SCHEMA.names]
    mt = store[(store["paper"] == "mtaal") & (store["metric"] == "ner_f1")].sort_values("step")
    assert mt["value"].tolist() == [0.1, 0.2, 0.4]
    assert mt["labeled_fraction"].tolist() == [20 / 80, 25 / 80, 30 / 80]
    tr = store[(store["paper"] == "multitask") & (store["metric"] == "word_f1") & (store["split"] == "test")]
    # Best dev epoch is 2: its test score is the one a table reports, not the best test epoch (3).
    assert tr.loc[tr["final"], "value"].tolist() == [0.65]
    assert tr["labeled_fraction"].unique().tolist() == [0.5]
    assert tr["ablation_fraction"].unique().tolist() == [0.5]


def test_available_sentences_apply_the_study_caps(tmp_path):
    split = pd.DataFrame({"split": ["labeled"] * 30 + ["unlabeled"] * 100 + ["test"] * 9})
    split.to_parquet(tmp_path / "split.parquet")
    path = tmp_path / "split.parquet"
    assert mtaal_available_sentences(path, {"max_labeled_sentences": None, "max_pool_sentences": None}) == 130
    assert mtaal_available_sentences(path, {"max_labeled_sentences": 20, "max_pool_sentences": 50}) == 70


def test_ci95_is_the_t_interval_and_undefined_for_one_seed():
    low, high = ci95(0.5, 0.1, 4)
    assert high - 0.5 == pytest.approx(3.182446 * 0.1 / 2, rel=1e-5)
    assert 0.5 - low == pytest.approx(high - 0.5)
    assert all(math.isnan(x) for x in ci95(0.5, math.nan, 1))


def _store_with_mtaal(tmp_path, variants, seeds=(1, 2, 3), embeddings=("glove",)):
    paths = []
    for variant, base in variants.items():
        for embedding in embeddings:
            for seed in seeds:
                f1 = base + 0.01 * seed
                paths.append(
                    _rounds(
                        tmp_path / f"mtaal/curves/ncbi_disease/{embedding}/{variant}/seed{seed}",
                        "ncbi_disease",
                        embedding,
                        variant,
                        seed,
                        [0.0, f1 / 2, f1],
                    )
                )
    write_store(tmp_path / "store", paths, {("curves", "ncbi_disease"): 100}, [])
    return read_store(tmp_path / "store")


def _context(store, **overrides):
    empty = pd.DataFrame()
    values = dict(
        store=store,
        report_after_round={"ncbi_disease": 2},
        diversity=pd.DataFrame(columns=["dataset", "variant", "statistic", "mean", "std", "n_repeats"]),
        fig4_stats=empty,
        alpha=0.05,
        margin=0.02,
    )
    values.update(overrides)
    return C.Context(**values)


def test_paired_verdicts_follow_the_sign_and_the_p_value():
    assert C.paired(pd.Series([0.10, 0.12, 0.11, 0.13]), 0.05)[0] == C.HOLDS
    assert C.paired(pd.Series([-0.10, -0.12, -0.11, -0.13]), 0.05)[0] == C.FAILS
    assert C.paired(pd.Series([0.10, -0.12, 0.11, -0.09]), 0.05)[0] == C.UNSURE
    assert C.paired(pd.Series([0.10]), 0.05)[0] == C.UNSURE  # one unit: no test


def test_td_claim_holds_when_td_variants_score_higher(tmp_path):
    variants = {f"mtl_td-{s}": 0.5 + 0.05 * i for i, s in enumerate(C.UNCERTAINTY)}
    variants |= {f"mtl-{s}": 0.4 + 0.05 * i for i, s in enumerate(C.UNCERTAINTY)}
    store = _store_with_mtaal(tmp_path, variants)
    with_td = store["setting"].str.startswith("mtl_td") & (store["seed"] == 2)
    store.loc[with_td, "value"] += 0.01  # differences must vary for a t test
    verdict = C.claim3(_context(store))
    assert verdict.verdict == C.HOLDS and verdict.effect == pytest.approx(
        (0.1 + 0.05) / 2 + 0.01 / 3
    )  # NER and NEN units
    # Single-task versions absent: claim 1 has nothing to compare.
    assert C.claim1(_context(store)).verdict == C.UNSURE


def test_mtaal_best_claim_fails_when_a_rival_is_better(tmp_path):
    store = _store_with_mtaal(tmp_path, {"mtaal": 0.3, "mtl-lc": 0.5, "mtl-random": 0.2})
    verdict = C.claim2(_context(store))
    assert verdict.verdict == C.FAILS
    assert "MTAAL rank 2/3, vs mtl-lc" in verdict.evidence


def test_embedding_equivalence_uses_the_margin(tmp_path):
    store = _store_with_mtaal(tmp_path, {"mtaal": 0.5, "mtl-lc": 0.4}, embeddings=("glove", "word2vec"))
    assert C.claim6(_context(store)).verdict == C.HOLDS  # identical scores: CI [0, 0]
    shifted = store.copy()
    glove = (shifted["model"] == "glove") & shifted["metric"].isin(["ner_f1", "nen_f1"])
    shifted.loc[glove, "value"] -= 0.1 + 0.001 * shifted.loc[glove, "seed"]
    assert C.claim6(_context(shifted)).verdict == C.FAILS


def test_claims_over_tasks_need_enough_tasks(tmp_path):
    runs = []
    for i in range(6):
        task = f"t{i}_" + ("chemical" if i < 3 else "gene" if i == 3 else "species")
        base = 0.8 if i < 3 else 0.7 if i == 3 else 0.6
        runs.append(
            _transformer_run(tmp_path / "mt", "stl", task, 0.0, 1, {task: ([0.5], [base + 0.01 * i])})
        )
        runs.append(_transformer_run(tmp_path / "mt", "stl", task, 0.9, 1, {task: ([0.5], [base - 0.3])}))
    mtl = {
        f"t{i}_" + ("chemical" if i < 3 else "gene" if i == 3 else "species"): ([0.5], [0.7])
        for i in range(6)
    }
    runs.append(_transformer_run(tmp_path / "mt", "mtl", "all", 0.0, 1, mtl))
    runs.append(
        _transformer_run(
            tmp_path / "mt", "mtl", "all", 0.9, 1, {t: ([0.5], [0.65 + 0.001 * i]) for i, t in enumerate(mtl)}
        )
    )
    write_store(tmp_path / "store", [], {}, runs)
    context = _context(read_store(tmp_path / "store"))
    assert C.claim10(context).verdict == C.HOLDS  # chemical 0.81 > gene 0.73 > species 0.645
    assert C.claim9(context).verdict == C.HOLDS  # STL drops ~0.3, MTL ~0.05
    assert C.claim11(context).verdict == C.UNSURE  # entity = word - 0.1 on every task: no variance
    # MTL 0.7 everywhere against STL 0.8, 0.81, 0.82 (chemical), 0.73 (gene), 0.64, 0.65 (species).
    verdict = C.claim7(context)
    stl = [0.8, 0.81, 0.82, 0.73, 0.64, 0.65]
    assert verdict.n == 6 and verdict.effect == pytest.approx(0.7 - np.mean(stl))
    assert verdict.verdict == C.HOLDS  # mixed signs over six tasks: not significant
    three = context.store[~context.store["dataset"].isin(["t0_chemical", "t1_chemical", "t2_chemical"])]
    assert C.claim7(_context(three)).verdict == C.UNSURE  # three tasks: too few to judge
    table = C.judge_claims(context, "tiny")
    assert table["claim_id"].tolist() == list(range(1, 12))
    assert set(table["verdict"]) <= {C.HOLDS, C.FAILS, C.UNSURE}


def test_models_that_learned_nothing_are_no_evidence(tmp_path):
    # Every F1 0 in both embeddings: zeros on both sides must not "show" that the embedding changes little.
    store = _store_with_mtaal(tmp_path, {"mtaal": 0.5, "mtl-lc": 0.4}, embeddings=("glove", "word2vec"))
    store.loc[store["metric"].str.endswith("_f1"), "value"] = 0.0
    assert C.claim6(_context(store)).verdict == C.HOLDS  # what the raw zeros say
    judged = C.judge_claims(_context(store), "tiny").set_index("claim_id")
    assert judged.loc[6, "verdict"] == C.UNSURE
    assert "left out nen_f1, ner_f1: 0 in every run" in judged.loc[6, "evidence"]
    kept, notes = C.drop_untrained(store)
    assert kept[kept["metric"].isin(["ner_f1", "nen_f1"])].empty and set(notes) == {"mtaal"}
    # A model that learned NER keeps its NER scores.
    learned = _store_with_mtaal(tmp_path / "b", {"mtaal": 0.4, "mtl-lc": 0.3})
    learned.loc[learned["metric"] == "nen_f1", "value"] = 0.0
    kept, notes = C.drop_untrained(learned)
    assert set(kept["metric"]) >= {"ner_f1"} and "nen_f1" not in set(kept["metric"])
    assert notes["mtaal"].startswith("left out nen_f1:")
