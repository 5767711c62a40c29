"""Benchmark: ``mtaal query`` (diversity) on curator pools of 20k and 100k sentences.

The pool is built from the real NCBI-disease abstracts in the corpus mirror: every sentence of the three
files, repeated until the pool size is reached, each repeat made distinct by one appended word (so the
deduplication keeps it). The seed labeled set is 200 gold sentences. Each step runs in its own process;
the query's wall time and peak RSS (``ru_maxrss`` of that process) are recorded per pool size, so the two
sizes show whether memory grows with the pool. Writes ``benchmarks/results/curate_query.json``.

    python benchmarks/curate_query.py [--mirror ../shared/corpora] [--sizes 20000 100000] [-k 50]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
RESULT = REPO / "benchmarks" / "results" / "curate_query.json"
TYPES = {"SpecificDisease": "disease", "DiseaseClass": "disease", "Modifier": "disease",
         "CompositeMention": "disease"}
FILES = {"train": "NCBItrainset_corpus.txt", "dev": "NCBIdevelopset_corpus.txt",
         "test": "NCBItestset_corpus.txt"}
# Runs one mtaal command in this process and reports its own peak RSS and wall time on the last line.
RUNNER = (
    "import json, resource, sys, time\n"
    "from mtaal.cli import main\n"
    "start = time.perf_counter()\n"
    "rc = main(sys.argv[1:])\n"
    "print(json.dumps({'rc': rc, 'seconds': time.perf_counter() - start,\n"
    "                  'peak_rss_mib': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))\n"
)


def run(*args: str) -> dict:
    done = subprocess.run([sys.executable, "-c", RUNNER, *args], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"mtaal {' '.join(args)} failed:\n{done.stderr[-3000:]}")
    *output, last = done.stdout.strip().splitlines()
    result = json.loads(last)
    result["output"] = output
    return result


def corpus(mirror: Path) -> tuple[list[str], str]:
    """Every sentence text of NCBI-disease, and a CoNLL file of the first 200 gold sentences."""
    from mtaal.corpora.readers.pubtator import read_pubtator
    from mtaal.corpora.tidy import build_tables

    documents = read_pubtator(mirror / "ncbi_disease", FILES)
    tokens = build_tables([(d, "all") for d in documents], TYPES).tokens.to_pandas()
    texts = {d.doc_id: d.text for d in documents}
    sentences, conll = [], []
    for (doc_id, _), group in tokens.groupby(["doc_id", "sentence"], sort=False):
        text = texts[doc_id][group.start.iloc[0] : group.end.iloc[-1]]
        sentences.append(" ".join(text.split()))
        if len(conll) < 200 and 5 < len(group) < 60:
            conll.append("".join(f"{w}\t{t}\t{c if t != 'O' and c else '-'}\n"
                                 for w, t, c in zip(group.token, group.tag, group.concept_id, strict=True)))
    return sentences, "\n".join(conll)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mirror", type=Path, default=REPO.parent / "shared" / "corpora")
    parser.add_argument("--sizes", type=int, nargs="+", default=[20000, 100000])
    parser.add_argument("-k", type=int, default=50)
    args = parser.parse_args()
    sentences, seed = corpus(args.mirror)
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "seed.conll").write_text(seed)
        for size in args.sizes:
            lines = [s if i < len(sentences) else f"{s} copy{i // len(sentences)}"
                     for i, s in ((i, sentences[i % len(sentences)]) for i in range(size))]
            pool = root / f"pool{size}.txt"
            pool.write_text("\n".join(lines) + "\n")
            project = root / f"project{size}"
            run("init", str(project), "--entity-types", "disease", "--concepts")
            config = yaml.safe_load((project / "config.yaml").read_text())
            config.update(embedding="glove", device="cpu")
            (project / "config.yaml").write_text(yaml.safe_dump(config))
            add = run("add-text", str(project), str(pool), "--one-per-line")
            run("add-labels", str(project), str(root / "seed.conll"))
            train = run("train", str(project))
            query = run("query", str(project), "-k", str(args.k), "--strategy", "diversity")
            events = [json.loads(line) for line in (project / "manifest.jsonl").read_text().splitlines()]
            pool_size = next(e for e in events if e["command"] == "query")["details"]["pool_size"]
            results.append({
                "pool_lines": size, "pool_sentences_scored": pool_size, "k": args.k,
                "query_seconds": round(query["seconds"], 2),
                "query_peak_rss_mib": round(query["peak_rss_mib"], 1),
                "add_text_seconds": round(add["seconds"], 2),
                "add_text_peak_rss_mib": round(add["peak_rss_mib"], 1),
                "train_seconds": round(train["seconds"], 2),
            })
            print(json.dumps(results[-1]), flush=True)
    import torch

    from mtaal.cli import KERNEL_CACHE_CAPACITY
    from mtaal.results.provenance import usable_cores

    RESULT.parent.mkdir(parents=True, exist_ok=True)
    RESULT.write_text(json.dumps({
        "what": "mtaal query --strategy diversity -k 50 on NCBI-disease sentences repeated to the pool size; "
                "DD game + streamed scoring + batch files, one process per command",
        "settings": {k: config[k] for k in ("hidden", "char_dim", "dd_steps", "scoring_batch_size",
                                            "query_chunk_sentences", "embedding")},
        "machine": {"cpus": usable_cores(), "torch_threads": torch.get_num_threads(),
                    "python": platform.python_version(), "torch": torch.__version__,
                    "onednn_primitive_cache_capacity": os.environ.get("ONEDNN_PRIMITIVE_CACHE_CAPACITY",
                                                                      KERNEL_CACHE_CAPACITY)},
        "measured": time.strftime("%Y-%m-%d"),
        "runs": results,
    }, indent=2) + "\n")
    print(f"wrote {RESULT}")


if __name__ == "__main__":
    main()
