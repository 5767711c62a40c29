"""Benchmark: training tokens/s with length-bucketed dynamic padding vs a naive loop padded to max_len.

Same encoder (the packaged MiniLM unless --encoder), same sequences (real sentences of a corpus's training
split, tokenised inline with the encoder's tokenizer, [CLS] + subwords + [SEP], cut at max_len), same
optimiser step (``mtaal.multitask.steps.train_step``: AdamW, linear schedule, clipping), one epoch each:

* naive: shuffled, batches of ``batch_size`` padded to ``max_len`` (the authors' fixed-length batches);
* bucketed: :func:`~mtaal.multitask.batching.bucket_batches` + :func:`~mtaal.multitask.batching.pad_batch`
  (padded to each batch's longest sequence).

Throughput counts real (non-padding) tokens per second of training. Target: bucketed >= 1.5x naive.

    python benchmarks/multitask_throughput.py [--dataset ncbi_disease] [--sequences 320] [--threads 2]
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from mtaal.multitask.batching import bucket_batches, pad_batch  # noqa: E402
from mtaal.multitask.model import MultiTaskTagger, default_encoder_path, load_encoder  # noqa: E402
from mtaal.multitask.settings import TrainSettings  # noqa: E402
from mtaal.multitask.steps import make_optimizer, resolve_device, train_step  # noqa: E402


def load_sequences(corpus_dir: Path, encoder_dir: Path, n: int, max_len: int, seed: int):
    """``n`` random training sentences as (input_ids, labels) with the word's tag on every subword."""
    from tokenizers import Tokenizer

    tokens = pd.read_parquet(
        corpus_dir / "tokens.parquet", columns=["doc_id", "split", "sentence", "token", "tag"]
    )
    tokens = tokens[tokens["split"] == "train"]
    tag_ids = {t: i for i, t in enumerate(["O", *sorted(set(tokens["tag"]) - {"O"})])}
    sentences = [
        (list(g["token"]), list(g["tag"])) for _, g in tokens.groupby(["doc_id", "sentence"], sort=False)
    ]
    rng = np.random.default_rng(seed)
    chosen = rng.choice(len(sentences), size=min(n, len(sentences)), replace=False)
    tokenizer = Tokenizer.from_file(str(encoder_dir / "tokenizer.json"))
    tokenizer.no_truncation()
    tokenizer.no_padding()
    cls_id, sep_id = tokenizer.token_to_id("[CLS]"), tokenizer.token_to_id("[SEP]")
    out = []
    for i in chosen:
        words, tags = sentences[int(i)]
        ids, labels = [cls_id], [-100]
        for word, tag in zip(words, tags, strict=True):
            pieces = tokenizer.encode(word, add_special_tokens=False).ids or [tokenizer.token_to_id("[UNK]")]
            ids.extend(pieces)
            labels.extend([tag_ids[tag]] * len(pieces))
        ids, labels = [*ids[: max_len - 1], sep_id], [*labels[: max_len - 1], -100]
        out.append((np.asarray(ids, dtype=np.int64), np.asarray(labels, dtype=np.int64)))
    return out, len(tag_ids)


def pad_to(ids, labels, pad_id: int, width: int):
    batch_ids = torch.full((len(ids), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(ids), width), dtype=torch.long)
    batch_labels = torch.full((len(ids), width), -100, dtype=torch.long)
    for row, (a, b) in enumerate(zip(ids, labels, strict=True)):
        batch_ids[row, : len(a)] = torch.from_numpy(a)
        mask[row, : len(a)] = 1
        batch_labels[row, : len(b)] = torch.from_numpy(b)
    return batch_ids, mask, batch_labels


def one_epoch(mode: str, sequences, n_labels: int, args, device) -> dict:
    torch.manual_seed(args.seed)
    encoder = load_encoder(args.encoder)
    model = MultiTaskTagger(encoder, {"task": n_labels}).to(device)
    settings = TrainSettings(learning_rate=5e-5)
    optimizer = make_optimizer(model, settings)
    pad_id = int(encoder.config.pad_token_id or 0)
    lengths = np.array([len(ids) for ids, _ in sequences])
    if mode == "bucketed":
        batches = bucket_batches(lengths, args.batch_size, args.seed, args.batch_size * args.pool_batches)
    else:
        order = np.random.default_rng(args.seed).permutation(len(sequences))
        batches = [order[i : i + args.batch_size] for i in range(0, len(order), args.batch_size)]

    def make(batch):
        ids = [sequences[i][0] for i in batch]
        labels = [sequences[i][1] for i in batch]
        return (
            pad_batch(ids, labels, pad_id)
            if mode == "bucketed"
            else pad_to(ids, labels, pad_id, args.max_len)
        )

    # one untimed step on the first batch (allocator and kernel warm-up), then a fresh optimiser
    ids, mask, labels = make(batches[0])
    train_step(model, optimizer, None, "task", ids, mask, labels, device)
    optimizer = make_optimizer(model, settings)
    model.train()
    real = padded = 0
    if device.type == "cuda":
        torch.cuda.synchronize()
    started = time.perf_counter()
    for batch in batches:
        ids, mask, labels = make(batch)
        real += int(mask.sum())
        padded += ids.numel()
        train_step(model, optimizer, None, "task", ids, mask, labels, device)
    if device.type == "cuda":
        torch.cuda.synchronize()
    seconds = time.perf_counter() - started
    return {
        "mode": mode,
        "batches": len(batches),
        "real_tokens": real,
        "padded_tokens": padded,
        "padding_fraction": round(1 - real / padded, 4),
        "seconds": round(seconds, 3),
        "tokens_per_second": round(real / seconds, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", default="ncbi_disease")
    parser.add_argument("--corpora", type=Path, default=REPO / "results" / "corpora")
    parser.add_argument("--encoder", default=None, help="encoder directory (default: the packaged MiniLM)")
    parser.add_argument("--sequences", type=int, default=320)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--pool-batches", type=int, default=50)
    parser.add_argument("--max-len", type=int, default=128)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    device = resolve_device(args.device)
    encoder_dir = Path(args.encoder) if args.encoder else default_encoder_path()
    sequences, n_labels = load_sequences(
        args.corpora / args.dataset, encoder_dir, args.sequences, args.max_len, args.seed
    )
    lengths = np.array([len(ids) for ids, _ in sequences])
    naive = one_epoch("naive", sequences, n_labels, args, device)
    bucketed = one_epoch("bucketed", sequences, n_labels, args, device)
    report = {
        "benchmark": "multitask_throughput",
        "encoder": str(encoder_dir),
        "dataset": args.dataset,
        "sequences": len(sequences),
        "mean_length": round(float(lengths.mean()), 1),
        "max_length": int(lengths.max()),
        "max_len": args.max_len,
        "batch_size": args.batch_size,
        "device": str(device),
        "threads": args.threads,
        "machine": f"{platform.machine()} {platform.processor()}".strip(),
        "torch": torch.__version__,
        "naive": naive,
        "bucketed": bucketed,
        "speedup": round(bucketed["tokens_per_second"] / naive["tokens_per_second"], 2),
        "target_speedup": 1.5,
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "multitask_throughput.json").write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
