"""MTAAL+g and Random+g multi-task runs on BC5CDR at the paper's scale, several at once on one GPU.

One prepared script for a scarce GPU lease (issue 15, section 3): the runs a 2-core machine cannot do
(about 1.1 h per MTAAL run on one core, benchmarks/README.md), each in its own process sharing the GPU
(hidden-64 LSTMs at batch 32 leave most of an H200 idle, so one run alone does not fill it). Each run is the
workflow's own (``mtaal.active.experiment``: the paper tier's settings from the config files, bf16 autocast
on CUDA for the attention and output layers, the LSTMs in fp32 cuDNN) and resumes from its checkpoint when
the lease is cut and the script run again. Rounds land in ``OUT/<variant>-seed<seed>.parquet``, the store's
input format, ready for ``mtaal record add`` on a machine with the record.

Needs a built corpus (``results/corpora/bc5cdr``: tokens, mtaal_split, mtaal_labels) and the GloVe vectors
(``results/embeddings/glove.safetensors``), both carried to the GPU machine. Try it on CPU at a tiny size
first:

    python tools/gpu_bc5cdr.py --out /tmp/gpu-smoke --tiny
    python tools/gpu_bc5cdr.py --out $OUT --variants mtaal mtl-random --seeds 1   # on the GPU machine
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import shutil
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

CONFIGS = [REPO / "config" / "config.yaml", REPO / "config" / "tiers" / "paper.yaml",
           REPO / "config" / "tiers" / "reproduce-bc5cdr.yaml"]
TINY = {"rounds": 2, "query_size": 8, "max_labeled_sentences": 40, "max_pool_sentences": 120,
        "max_test_sentences": 60}


def one_run(variant: str, seed: int, args: argparse.Namespace) -> tuple[str, float]:
    import torch

    from mtaal.active.experiment import experiment_settings, run_experiment
    from mtaal.cli import load_config

    config = load_config(CONFIGS)
    mtaal = config["mtaal"]
    study = {**mtaal["curves"], "rounds": args.rounds or mtaal["report_after_round"].get(args.dataset, 55)}
    model = dict(mtaal["model"])
    if args.tiny:
        study.update(TINY)
        model.update(hidden=8, char_dim=8)
    if not torch.cuda.is_available():
        torch.set_num_threads(1)
    settings = experiment_settings(args.dataset, "glove", mtaal["variants"][variant], study, model, seed)
    name = f"{variant}-seed{seed}"
    started = time.perf_counter()
    run_experiment(settings, args.corpus, args.vectors, args.out / "runs" / name / "rounds.parquet",
                   args.out / "checkpoints" / f"{name}.safetensors", progress=False,
                   identity={"paper": "mtaal", "experiment": "curves", "variant": variant,
                             "tier": "gpu-bc5cdr" + ("-tiny" if args.tiny else "")})
    # Flat for the device tool's $OUT (two folders deep at most).
    shutil.copyfile(args.out / "runs" / name / "rounds.parquet", args.out / f"{name}.parquet")
    return name, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--dataset", default="bc5cdr")
    parser.add_argument("--corpus", type=Path, default=None, help="default: results/corpora/<dataset>")
    parser.add_argument("--vectors", type=Path, default=REPO / "results" / "embeddings" / "glove.safetensors")
    parser.add_argument("--variants", nargs="+", default=["mtaal", "mtl-random"])
    parser.add_argument("--seeds", nargs="+", type=int, default=[1])
    parser.add_argument("--rounds", type=int, default=None, help="default: the Table 2 point (55 queries)")
    parser.add_argument("--tiny", action="store_true", help="a CPU check of the script in a minute")
    args = parser.parse_args()
    args.corpus = args.corpus or REPO / "results" / "corpora" / args.dataset
    for needed in (args.corpus / "mtaal_split.parquet", args.vectors):
        if not needed.exists():
            raise SystemExit(f"missing {needed}: build it here first (snakemake --configfile "
                             f"config/tiers/paper.yaml config/tiers/reproduce-bc5cdr.yaml {needed})")
    args.out.mkdir(parents=True, exist_ok=True)
    jobs = [(variant, seed) for variant in args.variants for seed in args.seeds]
    with mp.get_context("spawn").Pool(len(jobs)) as pool:
        for name, seconds in pool.starmap(one_run, [(v, s, args) for v, s in jobs]):
            print(f"{name}: {seconds / 60:.1f} min", flush=True)


if __name__ == "__main__":
    main()
