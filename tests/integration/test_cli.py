"""The `mtaal` command line runs the corpus steps without Snakemake."""

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd

MTAAL = str(Path(sys.executable).with_name("mtaal"))


def run(*args, cwd):
    return subprocess.run([MTAAL, *args], cwd=cwd, capture_output=True, text=True)


def test_download_and_build_one_dataset(mirror, tmp_path):
    results = tmp_path / "results"
    for corpus in ("s800", "huner_splits", "huner_patches"):
        done = run("download", corpus, "--mirror", str(mirror), "--results", str(results), cwd=tmp_path)
        assert done.returncode == 0, done.stderr
        assert f"{corpus}: ok" in done.stdout
    built = run("build-dataset", "s800_species", "--results", str(results), cwd=tmp_path)
    assert built.returncode == 0, built.stderr
    documents = pd.read_parquet(results / "corpora/s800_species/documents.parquet")
    assert len(documents) == 800 and set(documents["split"]) == {"train", "dev", "test"}
    stats = run("corpus-stats", "--results", str(results), cwd=tmp_path)
    assert stats.returncode == 0, stats.stderr
    assert (results / "tables/corpus_stats.md").is_file()


def test_bad_config_exits_2_naming_the_key(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("tier: huge\n")
    done = run("check-config", str(Path(__file__).parents[2] / "config/config.yaml"), str(bad), cwd=tmp_path)
    assert done.returncode == 2
    assert "config key tier" in done.stderr


def test_one_transformer_run_without_snakemake(mirror, tmp_path):
    repo = Path(__file__).parents[2]
    config = ["--config", str(repo / "config/config.yaml"), "--config", str(repo / "config/tiers/tiny.yaml")]
    results = ["--results", str(tmp_path / "results")]
    for corpus in ("s800", "huner_splits", "huner_patches"):
        done = run(*config, "download", corpus, "--mirror", str(mirror), *results, cwd=tmp_path)
        assert done.returncode == 0, done.stderr
    steps = [("build-dataset", "s800_species"), ("wordpiece", "s800_species"),
             ("multitask-run", "s800_species", "--fraction", "0.5", "--seed", "2")]
    for step in steps:
        done = run(*config, *step, *results, cwd=tmp_path)
        assert done.returncode == 0, done.stderr
    assert "s800_species: test word F1" in done.stdout
    run_dir = tmp_path / "results/multitask/minilm/cli/s800_species/ablation0.5/seed2"
    best = json.loads((run_dir / "best.json").read_text())
    assert best["status"] == "trained" and best["settings"]["seed"] == 2
    assert best["data"]["s800_species"]["train_kept"] == best["data"]["s800_species"]["train_total"] // 2
    assert set(pd.read_parquet(run_dir / "epochs.parquet")["split"]) == {"dev", "test"}
    wrong = run(*config, "multitask-run", "s800_species", "--encoder", "biobert_vocab", *results,
                cwd=tmp_path)
    assert wrong.returncode == 2 and "no weights" in wrong.stderr
