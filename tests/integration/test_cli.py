"""The `mtaal` command line runs the corpus steps without Snakemake."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import yaml

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
    assert {k: best["identity"][k] for k in ("experiment", "group", "seed", "ablation_fraction", "tier")} == {
        "experiment": "stl", "group": "s800_species", "seed": 2, "ablation_fraction": 0.5, "tier": "tiny"}
    assert best["identity"]["entity_types"] == {"s800_species": "species"}
    assert best["data"]["s800_species"]["train_kept"] == best["data"]["s800_species"]["train_total"] // 2
    assert set(pd.read_parquet(run_dir / "epochs.parquet")["split"]) == {"dev", "test"}
    wrong = run(*config, "multitask-run", "s800_species", "--encoder", "biobert_vocab", *results,
                cwd=tmp_path)
    assert wrong.returncode == 2 and "no weights" in wrong.stderr


def test_every_step_names_its_missing_input_and_the_command_that_makes_it(tmp_path):
    results = tmp_path / "DIR"
    expected = {
        ("build-dataset", "ncbi_disease"): ["DIR/raw/ncbi_disease/download.json",
                                            "`mtaal download ncbi_disease"],
        ("mtaal-split", "ncbi_disease"): ["DIR/corpora/ncbi_disease/tokens.parquet",
                                          "`mtaal build-dataset ncbi_disease --results"],
        ("active-learn", "ncbi_disease"): ["DIR/corpora/ncbi_disease/mtaal_split.parquet",
                                           "`mtaal mtaal-split ncbi_disease --results"],
        ("wordpiece", "s800_species"): ["DIR/corpora/s800_species/tokens.parquet", "`mtaal build-dataset"],
        ("multitask-run", "s800_species"): ["DIR/wordpiece/minilm/s800_species.parquet", "`mtaal wordpiece"],
        ("corpus-stats",): ["DIR/corpora/*/summary.json", "`mtaal build-dataset"],
    }
    for step, needles in expected.items():
        done = run(*step, "--results", str(results), cwd=tmp_path)
        assert done.returncode == 2, (step, done.stderr)
        assert "Traceback" not in done.stderr
        for needle in needles:
            assert needle in done.stderr, (step, done.stderr)
    assert not results.exists()  # nothing half-made
    unknown = run("multitask-run", "cdr_chemical", "cdr_disease", cwd=tmp_path)
    assert unknown.returncode == 2 and "unknown dataset 'cdr_disease'" in unknown.stderr


def test_build_dataset_fetches_the_huner_patches_it_needs_from_the_same_mirror(mirror, tmp_path):
    done = run("download", "ncbi_disease", "--mirror", str(mirror), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    built = run("build-dataset", "ncbi_disease", cwd=tmp_path)
    assert built.returncode == 0, built.stderr
    patches = json.loads((tmp_path / "results/raw/huner_patches/download.json").read_text())
    assert patches["status"] == "ok" and Path(patches["mirror"]) == Path(mirror).resolve()
    assert not (tmp_path / "results/raw/huner_splits").exists()  # a release split needs no HUNER lists
    summary = json.loads((tmp_path / "results/corpora/ncbi_disease/summary.json").read_text())
    assert summary["documents"] == 792


def test_a_failed_download_exits_2_naming_the_url_and_records_nothing(tmp_path):
    import socket

    with socket.socket() as probe:  # a port nothing listens on: connection refused
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    registry = yaml.safe_load((Path(__file__).parents[2] / "config/corpora.yaml").read_text())
    entry = registry["corpora"]["ncbi_disease"]
    entry["files"] = "".join(f"{line.split()[0]} {line.split()[1]} http://127.0.0.1:{port}/{line.split()[0]}\n"
                             for line in entry["files"].splitlines())
    (tmp_path / "corpora.yaml").write_text(yaml.safe_dump(registry))
    (tmp_path / "offline.yaml").write_text(yaml.safe_dump({
        "corpus_registry": str(tmp_path / "corpora.yaml"),
        "downloads": {"timeout_s": 1, "attempts": 2, "backoff_s": 0.01},
    }))
    config = ["--config", str(Path(__file__).parents[2] / "config/config.yaml"), "--config",
              str(tmp_path / "offline.yaml")]
    done = subprocess.run([MTAAL, *config, "download", "ncbi_disease"], cwd=tmp_path, capture_output=True,
                          text=True, env={**os.environ, "MTAAL_CORPUS_MIRROR": ""})
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert f"http://127.0.0.1:{port}/LICENSE failed after 2 attempt(s)" in done.stderr
    assert "connection refused" in done.stderr and "What to do" in done.stderr
    assert not (tmp_path / "results/raw/ncbi_disease").exists() or not any(
        (tmp_path / "results/raw/ncbi_disease").rglob("*"))
