"""Results store and reported-vs-reproduced comparison on small hand-made runs (claims: test_claims.py)."""

import json
import math

import numpy as np
import pandas as pd
import pytest

from mtaal.errors import MtaalError
from mtaal.multitask.identity import SKIP_REASONS, run_identity
from mtaal.results.store import SCHEMA, multitask_rows, partition_path, read_store, write_store
from mtaal.stats import t_interval


def _rounds(path, dataset, embedding, variant, seed, f1s):
    path.mkdir(parents=True)
    tasks = "ner" if variant.startswith("stl_ner") else "ner+nen"
    rows = []
    for step, f1 in enumerate(f1s):
        rows.append(
            dict(
                paper="mtaal",
                experiment="curves",
                variant=variant,
                tier="test",
                settings_hash="0" * 16,
                available_sentences=80,
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


def _identity(experiment, group, fraction, seed, entity_types):
    names = dict(experiment=experiment, group=group, encoder="minilm", tier="test", entity_types=entity_types)
    return run_identity(names, list(entity_types), {"epochs": 3}, "minilm", seed=seed,
                        ablation_fraction=fraction, max_train_sequences=None, max_eval_sequences=None,
                        fine_tuned=False, save_encoder=False, encoder_revision=None)


def _transformer_run(root, experiment, group, fraction, seed, scores, entity_types=None):
    """``scores``: task -> (dev word F1 per epoch, test word F1 per epoch); best epoch = best dev. The
    directory is named after nothing the run is: the identity is best.json's."""
    run = root / f"run{len(list(root.glob('run*'))) if root.exists() else 0}"
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
    data = {task: {"train_total": 10, "train_kept": round(10 * (1 - fraction)), "ablation_fraction": fraction}
            for task in scores}
    identity = _identity(experiment, group, fraction, seed, entity_types or dict.fromkeys(scores, "chemical"))
    (run / "best.json").write_text(json.dumps(
        {"status": "trained", "best_epoch": best, "tasks": tasks, "data": data, "identity": identity}
    ))
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
    files = write_store(tmp_path / "store", [rounds], [run])
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
    # A rule reading one paper depends on (and reads) that paper's partition only.
    only_multitask = read_store([partition_path(tmp_path / "store", "multitask")])
    assert only_multitask["paper"].unique().tolist() == ["multitask"]
    assert len(only_multitask) == (store["paper"] == "multitask").sum()
    both = read_store([partition_path(tmp_path / "store", p) for p in ("mtaal", "multitask")])
    assert len(both) == len(store)
    assert tr["tier"].unique().tolist() == ["test"]
    assert tr["settings_hash"].str.len().unique().tolist() == [16]
    assert tr["setting"].unique().tolist() == ["stl/cdr_chemical"]
    assert tr["model"].unique().tolist() == ["minilm"]


def test_transformer_identity_and_data_record_come_from_best_json(tmp_path):
    # A task the corpus registry does not know: its entity type can only come from the run's identity.
    run = _transformer_run(tmp_path, "mtl", "all", 0.5, 2, {"own_task": ([0.2, 0.3], [0.1, 0.4]),
                                                            "cdr_chemical": ([0.2, 0.1], [0.3, 0.3])},
                           entity_types={"own_task": "widget", "cdr_chemical": "chemical"})
    experiment, run_id, rows = multitask_rows(run)
    assert (experiment, run_id) == ("mtl", "minilm__all__ablation0.5__seed2")
    assert dict(zip(rows["dataset"], rows["entity_type"], strict=True)) == {"own_task": "widget",
                                                                           "cdr_chemical": "chemical"}
    best = json.loads((run / "best.json").read_text())
    train = rows[rows["split"] == "train"]
    final = train[train["final"]].set_index(["dataset", "metric"])["value"]
    assert final[("own_task", "train_total")] == best["data"]["own_task"]["train_total"]
    assert final[("own_task", "train_kept")] == best["data"]["own_task"]["train_kept"]
    assert final[("own_task", "task_ablation_fraction")] == 0.5
    assert train.loc[train["final"], "step"].unique().tolist() == [best["best_epoch"]]
    # Sequences seen: every epoch; the data record: the best epoch only.
    assert sorted(train.loc[train["metric"] == "train_sequences", "step"].unique()) == [1, 2]
    assert len(train[train["metric"] == "train_total"]) == 2


def test_transformer_run_without_identity_is_refused(tmp_path):
    run = _transformer_run(tmp_path, "stl", "cdr_chemical", 0.0, 1, {"cdr_chemical": ([0.5], [0.4])})
    best = json.loads((run / "best.json").read_text())
    del best["identity"]
    (run / "best.json").write_text(json.dumps(best))
    with pytest.raises(MtaalError, match="written before runs recorded who they are: rerun"):
        write_store(tmp_path / "store", [], [run])
    assert not (tmp_path / "store").exists()


def test_two_runs_that_say_they_are_one_are_refused(tmp_path):
    runs = [_transformer_run(tmp_path, "stl", "cdr_chemical", 0.0, 1, {"cdr_chemical": ([0.5], [f1])})
            for f1 in (0.4, 0.3)]
    with pytest.raises(MtaalError, match="both say they are run minilm__cdr_chemical__ablation0__seed1"):
        write_store(tmp_path / "store", [], runs)
    assert not (tmp_path / "store").exists()


def test_skipped_runs_and_tasks_are_store_rows(tmp_path):
    run = tmp_path / "skipped"
    run.mkdir()
    identity = _identity("stl", "s800_species", 0.0, 1, {"s800_species": "species"})
    record = {"status": "skipped", "reason": SKIP_REASONS["no_training_data"],
              "skipped_tasks": ["s800_species"], "identity": identity}
    (run / "best.json").write_text(json.dumps(record))
    trained = _transformer_run(tmp_path, "mtl", "all", 0.0, 1, {"cdr_chemical": ([0.5], [0.4])},
                               entity_types={"cdr_chemical": "chemical", "s800_species": "species"})
    best = json.loads((trained / "best.json").read_text())
    (trained / "best.json").write_text(json.dumps({**best, "skipped_tasks": ["s800_species"]}))
    write_store(tmp_path / "store", [], [run, trained])
    store = read_store(tmp_path / "store")
    skipped = store[store["metric"].str.startswith("skipped_")]
    assert sorted(skipped["experiment"]) == ["mtl", "stl"]
    assert set(skipped["metric"]) == {"skipped_no_training_data"} and set(skipped["step_kind"]) == {"run"}
    assert set(skipped["dataset"]) == {"s800_species"} and set(skipped["entity_type"]) == {"species"}
    assert skipped["split"].isna().all() and skipped["final"].all()
    assert skipped.loc[skipped["experiment"] == "mtl", "tasks"].tolist() == ["cdr_chemical"]


def test_t_interval_of_the_mean_is_undefined_for_one_seed():
    low, high = t_interval(0.5, 0.1, 4)
    assert high - 0.5 == pytest.approx(3.182446 * 0.1 / 2, rel=1e-5)
    assert 0.5 - low == pytest.approx(high - 0.5)
    assert all(math.isnan(x) for x in t_interval(0.5, math.nan, 1))


def test_a_per_task_selection_marks_each_task_s_own_epoch_final(tmp_path):
    run = _transformer_run(tmp_path, "mtl", "all", 0.0, 1, {"own_task": ([0.2, 0.3], [0.1, 0.4]),
                                                            "cdr_chemical": ([0.5, 0.1], [0.3, 0.2])})
    best = json.loads((run / "best.json").read_text())
    best["best_epoch"] = 2  # the run's best mean dev epoch; cdr_chemical's own best is epoch 1
    best["tasks"]["own_task"]["best_epoch"], best["tasks"]["cdr_chemical"]["best_epoch"] = 2, 1
    (run / "best.json").write_text(json.dumps(best))
    _, _, rows = multitask_rows(run)
    final = rows[rows["final"]].groupby("dataset")["step"].unique().map(list).to_dict()
    assert final == {"own_task": [2], "cdr_chemical": [1]}
    test = rows[rows["final"] & (rows["split"] == "test") & (rows["metric"] == "word_f1")]
    assert dict(zip(test["dataset"], test["value"], strict=True)) == {"own_task": 0.4, "cdr_chemical": 0.3}
